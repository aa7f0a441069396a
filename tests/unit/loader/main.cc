// doctest main for the loader test executable (drop it if the unit tests share one main).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
