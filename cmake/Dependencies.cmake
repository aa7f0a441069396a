# Third-party dependencies. Everything comes from Debian packages (scripts/install-deps.sh):
# LIEF, doctest and pybind11 from the host's release; Unicorn >= 2.1.1 and Capstone 5 from
# Debian 13. On Debian 12 install-deps.sh unpacks those two into PROBESIM_DEPS_PREFIX (never into
# the system); on Debian 13 the system's packages serve. docs/unicorn.md says why 2.1.1 is needed.
set(PROBESIM_DEPS_PREFIX "${PROJECT_SOURCE_DIR}/.deps/prefix" CACHE PATH
    "Where scripts/install-deps.sh unpacked Debian 13's Unicorn and Capstone")
set(_probesim_dep_hints "${PROBESIM_DEPS_PREFIX}/usr/include")
set(_probesim_lib_hints "${PROBESIM_DEPS_PREFIX}/usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}"
                        "${PROBESIM_DEPS_PREFIX}/usr/lib")

# probesim_find_dep(<target> <header> <library> <version macro prefix> <minimum version>)
# Prefers the project prefix, falls back to the system; the version is read from the header so
# an old system copy can never be picked up silently.
function(probesim_find_dep target header lib macro minimum)
  string(TOUPPER ${lib} up)
  find_path(${up}_INCLUDE_DIR ${header} PATHS ${_probesim_dep_hints} NO_DEFAULT_PATH)
  find_path(${up}_INCLUDE_DIR ${header})
  find_library(${up}_LIBRARY NAMES ${lib} PATHS ${_probesim_lib_hints} NO_DEFAULT_PATH)
  find_library(${up}_LIBRARY NAMES ${lib})
  if(NOT ${up}_INCLUDE_DIR OR NOT ${up}_LIBRARY)
    message(FATAL_ERROR "probesim: ${lib} not found. Run scripts/install-deps.sh "
                        "(it fetches Debian 13's package into ${PROBESIM_DEPS_PREFIX}).")
  endif()
  file(STRINGS "${${up}_INCLUDE_DIR}/${header}" defs REGEX "#define ${macro}_(MAJOR|MINOR|PATCH|EXTRA) ")
  set(parts "")
  foreach(part MAJOR MINOR PATCH)
    string(REGEX MATCH "${macro}_${part} +([0-9]+)" m "${defs}")
    if(m)
      list(APPEND parts ${CMAKE_MATCH_1})
    endif()
  endforeach()
  list(JOIN parts "." version)
  if(version VERSION_LESS minimum)
    message(FATAL_ERROR "probesim: ${lib} ${version} at ${${up}_LIBRARY} is too old (need >= "
            "${minimum}). Run scripts/install-deps.sh: on Debian 12 it unpacks Debian 13's "
            "package into ${PROBESIM_DEPS_PREFIX}; or pass -DPROBESIM_DEPS_PREFIX=<prefix>.")
  endif()
  message(STATUS "probesim: ${lib} ${version}: ${${up}_LIBRARY}")
  add_library(${target} UNKNOWN IMPORTED GLOBAL)
  set_target_properties(${target} PROPERTIES IMPORTED_LOCATION "${${up}_LIBRARY}"
                        INTERFACE_INCLUDE_DIRECTORIES "${${up}_INCLUDE_DIR}")
endfunction()

probesim_find_dep(probesim::unicorn unicorn/unicorn.h unicorn UC_API 2.1.1)
probesim_find_dep(probesim::capstone capstone/capstone.h capstone CS_API 5.0)

# Debian's liblief-dev 0.9 ships no CMake or pkg-config metadata.
find_path(LIEF_INCLUDE_DIR LIEF/LIEF.hpp REQUIRED)
find_library(LIEF_LIBRARY NAMES LIEF REQUIRED)
add_library(LIEF::LIEF UNKNOWN IMPORTED)
set_target_properties(LIEF::LIEF PROPERTIES IMPORTED_LOCATION "${LIEF_LIBRARY}"
                      INTERFACE_INCLUDE_DIRECTORIES "${LIEF_INCLUDE_DIR}")

find_package(doctest 2.4 REQUIRED CONFIG)
include(doctest)
