// SockAddr: a socket address in one form for every family probesim models, with Linux's
// decoding checks (unix_validate_addr / unix_mkname, inet_bind / inet_stream_connect's length
// and family checks) and encoding (unix_getname, inet_getname, inet6_getname).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace probesim::emu {

struct SockAddr {
  int family = 0;              // 0 (AF_UNSPEC): no address
  std::string unix_name;       // AF_UNIX: a path, or an abstract name (first byte '\0')
  std::array<uint8_t, 16> ip{};  // AF_INET: the first 4 bytes; AF_INET6: all 16
  uint16_t port = 0;           // host byte order
  uint32_t flowinfo = 0, scope_id = 0;  // AF_INET6

  bool abstract() const { return !unix_name.empty() && unix_name[0] == '\0'; }
  bool operator==(const SockAddr&) const = default;
};

// sockaddr bytes -> SockAddr for a socket of `family`: 0 or -EINVAL / -EAFNOSUPPORT.
// AF_UNIX: 2 < len <= 110 (a bare family is not an address: -EINVAL here; autobind is the
// caller's), a filesystem name ends at the first NUL.
int decode_sockaddr(int family, std::span<const uint8_t> raw, SockAddr* out);
// SockAddr -> the bytes getsockname/getpeername/accept/recvfrom report (length = size()).
std::vector<uint8_t> encode_sockaddr(const SockAddr& a, int family);

// Loopback facts of a machine whose only interface is lo: 127.0.0.0/8 and ::1 are local;
// the unspecified address (0.0.0.0, ::) binds to all of them.
bool is_loopback(const SockAddr& a);
bool is_any(const SockAddr& a);
SockAddr loopback_of(int family);  // 127.0.0.1 or ::1, port 0

}  // namespace probesim::emu
