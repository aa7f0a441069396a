// Hexadecimal text for messages, listings and traces: the one definition every layer uses.
#pragma once

#include <cstdint>
#include <string>

namespace probesim {

std::string hex(uint64_t v);             // "0x1f"; 0 is "0x0" (printf "0x%llx")
std::string hex(uint64_t v, int width);  // digits zero-padded to width: hex(0x1f, 4) = "0x001f"
std::string hex_digits(uint64_t v);      // no prefix: "1f"

}  // namespace probesim
