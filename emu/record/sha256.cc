#include "emu/record/sha256.h"

#include <openssl/evp.h>

#include <cstdio>

#include "probesim/assert.h"

namespace probesim::emu {

// EVP failures mean a broken libcrypto (the digest is always available): an invariant.
Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  PROBESIM_ASSERT(ctx_ != nullptr && EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) == 1);
}

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }

void Sha256::update(std::span<const uint8_t> data) {
  PROBESIM_ASSERT(EVP_DigestUpdate(ctx_, data.data(), data.size()) == 1);
}

Sha256Digest Sha256::finish() {
  Sha256Digest out;
  unsigned int n = 0;
  PROBESIM_ASSERT(EVP_DigestFinal_ex(ctx_, out.data(), &n) == 1 && n == out.size());
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
