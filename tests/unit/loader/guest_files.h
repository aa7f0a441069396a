// Paths and bytes of the static guests built by tests/unit/loader/CMakeLists.txt.
#pragma once

#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#ifndef PROBESIM_LOADER_GUEST_DIR
#error "PROBESIM_LOADER_GUEST_DIR must name the directory of the built loader test guests"
#endif

namespace probesim::loader::test {

inline std::string guest_path(const std::string& file) {
  return std::string(PROBESIM_LOADER_GUEST_DIR) + "/" + file;
}

inline std::vector<uint8_t> read_host_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot open " << path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace probesim::loader::test
