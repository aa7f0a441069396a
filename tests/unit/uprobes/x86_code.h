// A page of x86-64 code with one instruction of each class uprobes treats differently, at
// known offsets. Page 1 of the file (offset 0x1000) is data that the RIP-relative operands
// point at.
#pragma once

#include <cstdint>
#include <vector>

namespace probesim::probes::test::x86code {

constexpr uint64_t kPushRbp = 0x00;    // 55
constexpr uint64_t kMovRsp = 0x01;     // 48 89 e5            mov %rsp,%rbp
constexpr uint64_t kMovRip = 0x04;     // 48 8b 05 f5 0f 00 00 mov 0xff5(%rip),%rax (-> 0x1000)
constexpr uint64_t kCall = 0x0b;       // e8 10 00 00 00      call 0x20
constexpr uint64_t kJe = 0x10;         // 74 05               je 0x17
constexpr uint64_t kRet = 0x12;        // c3
constexpr uint64_t kInt3 = 0x13;       // cc                  (the program's own trap)
constexpr uint64_t kHlt = 0x14;        // f4                  (not in good_insns_64)
constexpr uint64_t kSyscall = 0x15;    // 0f 05               (not in good_2byte_insns)
constexpr uint64_t kCsPrefix = 0x17;   // 2e 48 89 c0         (bad prefix)
constexpr uint64_t kNop = 0x1b;        // 90
constexpr uint64_t kNop2 = 0x1c;       // 90
constexpr uint64_t kCallMem = 0x20;    // ff 15 da 0f 00 00   call *0xfda(%rip) (-> 0x1000)
constexpr uint64_t kCallReg = 0x26;    // ff d0               call *%rax
constexpr uint64_t kPushR15 = 0x28;    // 41 57
constexpr uint64_t kLoop = 0x2a;       // e2 fe               loop 0x2a
constexpr uint64_t kMovRsiRip = 0x2c;  // 48 89 35 cd 0f 00 00 mov %rsi,0xfcd(%rip)
constexpr uint64_t kAdd = 0x33;        // 48 83 c0 01         add $1,%rax
constexpr uint64_t kJmpTable = 0x37;   // ff 24 c5 00 10 40 00 jmp *0x401000(,%rax,8)
constexpr uint64_t kRetImm = 0x3e;     // c2 08 00            ret $8
constexpr uint64_t kJmp = 0x41;        // eb f0               jmp 0x33
constexpr uint64_t kJe32 = 0x43;       // 0f 84 00 01 00 00   je 0x149
constexpr uint64_t kLeaRbx = 0x49;     // 48 8d 1d b0 0f 00 00 lea 0xfb0(%rip),%rbx
constexpr uint64_t kIn = 0x50;         // e4 60               in $0x60,%al
constexpr uint64_t kVex = 0x52;        // c5 fa 7f 05 a6 0f 00 00 vmovdqu %xmm0,0xfa6(%rip)
constexpr uint64_t kBad = 0x5a;        // 06                  (invalid in 64-bit mode)

inline std::vector<uint8_t> page() {
  return {0x55, 0x48, 0x89, 0xe5, 0x48, 0x8b, 0x05, 0xf5, 0x0f, 0x00, 0x00, 0xe8, 0x10,
          0x00, 0x00, 0x00, 0x74, 0x05, 0xc3, 0xcc, 0xf4, 0x0f, 0x05, 0x2e, 0x48, 0x89,
          0xc0, 0x90, 0x90, 0x90, 0x90, 0x90, 0xff, 0x15, 0xda, 0x0f, 0x00, 0x00, 0xff,
          0xd0, 0x41, 0x57, 0xe2, 0xfe, 0x48, 0x89, 0x35, 0xcd, 0x0f, 0x00, 0x00, 0x48,
          0x83, 0xc0, 0x01, 0xff, 0x24, 0xc5, 0x00, 0x10, 0x40, 0x00, 0xc2, 0x08, 0x00,
          0xeb, 0xf0, 0x0f, 0x84, 0x00, 0x01, 0x00, 0x00, 0x48, 0x8d, 0x1d, 0xb0, 0x0f,
          0x00, 0x00, 0xe4, 0x60, 0xc5, 0xfa, 0x7f, 0x05, 0xa6, 0x0f, 0x00, 0x00, 0x06};
}

}  // namespace probesim::probes::test::x86code
