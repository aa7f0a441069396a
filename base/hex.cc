#include "probesim/hex.h"

#include <cstdio>

namespace probesim {

std::string hex(uint64_t v) { return hex(v, 0); }

std::string hex(uint64_t v, int width) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "0x%0*llx", width, static_cast<unsigned long long>(v));
  return buf;
}

std::string hex_digits(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace probesim
