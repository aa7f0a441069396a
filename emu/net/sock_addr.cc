#include "emu/net/sock_addr.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "emu/net/socket_abi.h"

namespace probesim::emu {
namespace {

constexpr size_t kSunPathOffset = 2, kSockaddrUnSize = 110;
constexpr size_t kSockaddrInSize = 16, kSockaddrIn6Size = 28;

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint16_t family_of(std::span<const uint8_t> raw) {
  return raw.size() >= 2 ? static_cast<uint16_t>(raw[0] | raw[1] << 8) : 0;
}

int decode_unix(std::span<const uint8_t> raw, SockAddr* out) {
  if (raw.size() <= kSunPathOffset || raw.size() > kSockaddrUnSize) return -EINVAL;
  if (family_of(raw) != kAF_UNIX) return -EINVAL;
  const auto* path = reinterpret_cast<const char*>(raw.data() + kSunPathOffset);
  const size_t n = raw.size() - kSunPathOffset;
  out->family = kAF_UNIX;
  out->unix_name = path[0] == '\0' ? std::string(path, n) : std::string(path, strnlen(path, n));
  return 0;
}

int decode_inet(int family, std::span<const uint8_t> raw, SockAddr* out) {
  const size_t need = family == kAF_INET ? kSockaddrInSize : 24;  // SIN6_LEN_RFC2133
  if (raw.size() < need) return -EINVAL;
  const uint16_t f = family_of(raw);
  // inet_bind/connect accept AF_UNSPEC only as INADDR_ANY (compatibility games).
  if (f != family && !(family == kAF_INET && f == kAF_UNSPEC)) return -EAFNOSUPPORT;
  out->family = family;
  out->port = be16(raw.data() + 2);
  if (family == kAF_INET) {
    std::memcpy(out->ip.data(), raw.data() + 4, 4);
  } else {
    std::memcpy(&out->flowinfo, raw.data() + 4, 4);
    std::memcpy(out->ip.data(), raw.data() + 8, 16);
    if (raw.size() >= kSockaddrIn6Size) std::memcpy(&out->scope_id, raw.data() + 24, 4);
  }
  if (f == kAF_UNSPEC && !is_any(*out)) return -EAFNOSUPPORT;
  return 0;
}

}  // namespace

int decode_sockaddr(int family, std::span<const uint8_t> raw, SockAddr* out) {
  if (family == kAF_UNIX) return decode_unix(raw, out);
  return decode_inet(family, raw, out);
}

std::vector<uint8_t> encode_sockaddr(const SockAddr& a, int family) {
  std::vector<uint8_t> out;
  if (family == kAF_UNIX) {
    // unix_getname: the family, then the name (a path with its NUL; abstract as bound).
    const size_t nul = !a.unix_name.empty() && !a.abstract() ? 1 : 0;
    out.assign(2 + a.unix_name.size() + nul, 0);
    out[0] = static_cast<uint8_t>(family);
    std::copy(a.unix_name.begin(), a.unix_name.end(), out.begin() + 2);
    return out;
  }
  out.assign(family == kAF_INET ? kSockaddrInSize : kSockaddrIn6Size, 0);
  out[0] = static_cast<uint8_t>(family);
  out[2] = static_cast<uint8_t>(a.port >> 8);
  out[3] = static_cast<uint8_t>(a.port);
  if (family == kAF_INET) {
    std::memcpy(out.data() + 4, a.ip.data(), 4);
  } else {
    std::memcpy(out.data() + 4, &a.flowinfo, 4);
    std::memcpy(out.data() + 8, a.ip.data(), 16);
    std::memcpy(out.data() + 24, &a.scope_id, 4);
  }
  return out;
}

bool is_loopback(const SockAddr& a) {
  if (a.family == kAF_INET) return a.ip[0] == 127;
  static constexpr std::array<uint8_t, 16> kV6Loopback{0, 0, 0, 0, 0, 0, 0, 0,
                                                       0, 0, 0, 0, 0, 0, 0, 1};
  static constexpr std::array<uint8_t, 16> kV4Mapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (a.ip == kV6Loopback) return true;
  return std::equal(kV4Mapped.begin(), kV4Mapped.begin() + 12, a.ip.begin()) && a.ip[12] == 127;
}

bool is_any(const SockAddr& a) {
  const size_t n = a.family == kAF_INET ? 4 : 16;
  return std::all_of(a.ip.begin(), a.ip.begin() + static_cast<long>(n),
                     [](uint8_t b) { return b == 0; });
}

SockAddr loopback_of(int family) {
  SockAddr a;
  a.family = family;
  if (family == kAF_INET) {
    a.ip[0] = 127;
    a.ip[3] = 1;
  } else {
    a.ip[15] = 1;
  }
  return a;
}

}  // namespace probesim::emu
