// SHA-256 (FIPS 180-4) of host bytes: the fingerprints a trace keeps of the program and of every
// file the guest read, so a replay can tell that its inputs changed.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace probesim::emu {

using Sha256Digest = std::array<uint8_t, 32>;

class Sha256 {
 public:
  Sha256();
  void update(std::span<const uint8_t> data);
  Sha256Digest finish();  // the object is spent afterwards

 private:
  void block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t used_ = 0;
  uint64_t bits_ = 0;
};

Sha256Digest sha256(std::span<const uint8_t> data);
std::string to_hex(std::span<const uint8_t> bytes);
// The digest of a host file; empty when it cannot be read.
std::string sha256_file_hex(const std::string& host_path);

}  // namespace probesim::emu
