// DecodedStack: reads a Linux initial stack back (argc, argv, envp, auxv) through a peek
// function, the way a libc's _start would.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace probesim::loader::test {

using PeekFn = std::function<bool(uint64_t addr, void* dst, size_t n)>;

struct DecodedStack {
  uint64_t argc = 0;
  std::vector<uint64_t> argv_ptrs, envp_ptrs;
  std::vector<std::string> argv, envp;
  std::vector<std::pair<uint64_t, uint64_t>> auxv;  // including the AT_NULL pair
  uint64_t auxv_end = 0;                            // first byte after AT_NULL

  static uint64_t word(const PeekFn& peek, uint64_t at) {
    uint64_t v = 0;
    REQUIRE(peek(at, &v, sizeof v));
    return v;
  }

  static std::string string_at(const PeekFn& peek, uint64_t at) {
    std::string s;
    for (char c;; ++at) {
      REQUIRE(peek(at, &c, 1));
      if (c == 0) return s;
      s += c;
      REQUIRE(s.size() < (1u << 20));
    }
  }

  uint64_t aux(uint64_t type) const {
    for (auto [t, v] : auxv)
      if (t == type) return v;
    FAIL("auxv has no entry " << type);
    return 0;
  }

  static DecodedStack decode(const PeekFn& peek, uint64_t sp) {
    DecodedStack d;
    uint64_t at = sp;
    d.argc = word(peek, at);
    at += 8;
    for (uint64_t p; (p = word(peek, at)) != 0; at += 8) d.argv_ptrs.push_back(p);
    at += 8;
    for (uint64_t p; (p = word(peek, at)) != 0; at += 8) d.envp_ptrs.push_back(p);
    at += 8;
    for (;; at += 16) {
      d.auxv.emplace_back(word(peek, at), word(peek, at + 8));
      if (d.auxv.back().first == 0) break;
      REQUIRE(d.auxv.size() < 64);
    }
    d.auxv_end = at + 16;
    for (uint64_t p : d.argv_ptrs) d.argv.push_back(string_at(peek, p));
    for (uint64_t p : d.envp_ptrs) d.envp.push_back(string_at(peek, p));
    return d;
  }
};

}  // namespace probesim::loader::test
