# Our own code builds with -Wall -Wextra (and -Werror unless PROBESIM_WERROR is OFF, as for
# `pip install .`); third-party headers are SYSTEM includes.
# -Wno-restrict: GCC 12 reports false -Wrestrict positives inside libstdc++'s std::string
# concatenation at -O3 (GCC bug 105651), which would break Release builds of correct code.
function(probesim_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-missing-field-initializers
                                           $<$<BOOL:${PROBESIM_WERROR}>:-Werror>
                                           $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>)
endfunction()

# probesim_library(name SOURCES...): one static library per subsystem, includes rooted at
# the repository (docs/conventions.md §1: #include "mmu/vma_tree.h"). Only include/ (the public
# API) is exported; a target that reaches into the tree says so with probesim_internals, and
# cmake/include_rules.txt (ctest lint.includes) says which folders each folder may include.
function(probesim_library name)
  add_library(${name} STATIC ${ARGN})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}
                             PUBLIC ${PROJECT_SOURCE_DIR}/include)
  probesim_warnings(${name})
endfunction()

# probesim_internals(target): includes rooted at the repository for a target that is not a
# probesim_library (tools, tests, benchmarks, the CLI's own headers).
function(probesim_internals target)
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR})
endfunction()
