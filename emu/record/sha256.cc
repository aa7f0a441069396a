#include "emu/record/sha256.h"

// SHA256_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP, whose set-up costs a
// recorded run more than hashing its program (sha256.h).
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <cstdio>

#include "probesim/assert.h"

namespace probesim::emu {

// These calls fail only on a null context: an invariant.
Sha256::Sha256() : ctx_(std::make_unique<SHA256state_st>()) { PROBESIM_ASSERT(SHA256_Init(ctx_.get()) == 1); }

Sha256::~Sha256() = default;

void Sha256::update(std::span<const uint8_t> data) {
  PROBESIM_ASSERT(SHA256_Update(ctx_.get(), data.data(), data.size()) == 1);
}

Sha256Digest Sha256::finish() {
  Sha256Digest out;
  PROBESIM_ASSERT(SHA256_Final(out.data(), ctx_.get()) == 1);
  return out;
}

Sha256Digest sha256(std::span<const uint8_t> data) {
  Sha256 s;
  s.update(data);
  return s.finish();
}

std::string to_hex(std::span<const uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) out += kHex[b >> 4], out += kHex[b & 15];
  return out;
}

std::string sha256_file_hex(const std::string& host_path) {
  FILE* f = std::fopen(host_path.c_str(), "rb");
  if (!f) return {};
  Sha256 s;
  uint8_t buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.update(std::span<const uint8_t>(buf, n));
  bool bad = std::ferror(f);
  std::fclose(f);
  if (bad) return {};
  Sha256Digest d = s.finish();
  return to_hex(d);
}

}  // namespace probesim::emu
