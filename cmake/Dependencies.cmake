# Third-party dependencies, all from Debian 12 packages (see ../shared/research/stack-facts.md §0).
find_package(PkgConfig REQUIRED)
pkg_check_modules(UNICORN REQUIRED IMPORTED_TARGET unicorn)
pkg_check_modules(CAPSTONE REQUIRED IMPORTED_TARGET capstone)

# Debian's liblief-dev 0.9 ships no CMake or pkg-config metadata.
find_path(LIEF_INCLUDE_DIR LIEF/LIEF.hpp REQUIRED)
find_library(LIEF_LIBRARY NAMES LIEF REQUIRED)
add_library(LIEF::LIEF UNKNOWN IMPORTED)
set_target_properties(LIEF::LIEF PROPERTIES IMPORTED_LOCATION "${LIEF_LIBRARY}"
                      INTERFACE_INCLUDE_DIRECTORIES "${LIEF_INCLUDE_DIR}")

find_package(doctest 2.4 REQUIRED CONFIG)
include(doctest)
