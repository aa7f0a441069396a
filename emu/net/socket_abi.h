// Socket ABI constants (include/linux/socket.h, include/uapi/asm-generic/socket.h, which
// x86-64 shares for SOL_SOCKET options, include/linux/net.h, include/uapi/linux/in.h).
#pragma once

#include <cstdint>

namespace probesim::emu {

constexpr int kAF_UNSPEC = 0, kAF_UNIX = 1, kAF_INET = 2, kAF_INET6 = 10;
constexpr int kSOCK_STREAM = 1, kSOCK_DGRAM = 2, kSOCK_SEQPACKET = 5;
constexpr int kSOCK_TYPE_MASK = 0xf;
constexpr uint32_t kSOCK_NONBLOCK = 04000, kSOCK_CLOEXEC = 02000000;
constexpr int kIPPROTO_TCP = 6, kIPPROTO_UDP = 17;

constexpr uint32_t kMSG_OOB = 0x1, kMSG_PEEK = 0x2, kMSG_CTRUNC = 0x8, kMSG_TRUNC = 0x20,
                   kMSG_DONTWAIT = 0x40, kMSG_EOR = 0x80, kMSG_WAITALL = 0x100,
                   kMSG_NOSIGNAL = 0x4000, kMSG_CMSG_CLOEXEC = 0x40000000;

constexpr int kSHUT_RD = 0, kSHUT_WR = 1, kSHUT_RDWR = 2;
// sk_shutdown bits
constexpr uint8_t kRcvShutdown = 1, kSendShutdown = 2, kShutdownMask = 3;

constexpr int kSOL_SOCKET = 1;
constexpr int kSO_REUSEADDR = 2, kSO_TYPE = 3, kSO_ERROR = 4, kSO_BROADCAST = 6,
              kSO_SNDBUF = 7, kSO_RCVBUF = 8, kSO_KEEPALIVE = 9, kSO_LINGER = 13,
              kSO_REUSEPORT = 15, kSO_PASSCRED = 16, kSO_PEERCRED = 17, kSO_ACCEPTCONN = 30,
              kSO_PROTOCOL = 38, kSO_DOMAIN = 39;
constexpr int kSCM_RIGHTS = 1, kSCM_CREDENTIALS = 2;

// net.core.wmem_default / rmem_default, SOCK_MIN_SNDBUF/RCVBUF (include/net/sock.h), and
// net.unix.max_dgram_qlen (net/unix/sysctl_net_unix.c).
constexpr int kDefaultSockBuf = 212992;
constexpr int kSockMinSndbuf = 4608, kSockMinRcvbuf = 2304;
constexpr int kMaxSockBuf = 212992;  // net.core.wmem_max / rmem_max
constexpr size_t kUnixMaxDgramQlen = 10;
constexpr int kSomaxconn = 4096;  // net.core.somaxconn

}  // namespace probesim::emu
