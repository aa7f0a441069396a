// SHA-256 (FIPS 180-4) of host bytes: the fingerprints a trace keeps of the program and of every
// file the guest read, so a replay can tell that its inputs changed. OpenSSL's libcrypto
// computes it (SHA-NI / ARMv8 SHA instructions where the host has them: ~5x a portable loop,
// which mattered because every recorded run hashes its program, and explore records each run).
// Through the SHA256_* functions, not EVP: OpenSSL 3's first EVP digest loads openssl.cnf and
// the default provider, ~0.9 ms per process (measured), 2% of a recorded racy run.
#pragma once

#include <array>
#include <memory>
#include <cstdint>
#include <span>
#include <string>

struct SHA256state_st;

namespace probesim::emu {

using Sha256Digest = std::array<uint8_t, 32>;

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::span<const uint8_t> data);
  Sha256Digest finish();  // the object is spent afterwards

 private:
  std::unique_ptr<SHA256state_st> ctx_;  // OpenSSL's SHA256_CTX
};

Sha256Digest sha256(std::span<const uint8_t> data);
std::string to_hex(std::span<const uint8_t> bytes);
// The digest of a host file; empty when it cannot be read.
std::string sha256_file_hex(const std::string& host_path);

}  // namespace probesim::emu
