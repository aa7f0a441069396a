// The one table of struct pt_regs against CPU registers (X-macros). For each arch, every word
// of the part of pt_regs that probes::Regs covers, in order: its name (Linux's, as
// regs_query_register_offset spells it), its byte offset (guest/kernel/include/entry_abi.h,
// Linux's layouts) and the Unicorn register that holds it while the task runs, or -1 for
// words only pt_regs has (x86 orig_ax, cs, ss). probes::Regs index = offset / 8.
//
// Users expand it: probes/regs.cc (register names), emu/probe_regs.cc (probes::Regs <-> CPU),
// emu/user_regs.cc (a Unicorn register's pt_regs word), emu/kernel/kernel_entry.cc (HC_IRET)
// and the test harnesses. An expansion that uses the third column must include
// <unicorn/unicorn.h>; one that ignores it (probes/) needs no Unicorn.
// Usage: #define ROW(name, offset, uc_reg) ...; PROBESIM_PT_REGS_X86_64(ROW)
#pragma once

#include "guest/kernel/include/entry_abi.h"

#define PROBESIM_PT_REGS_X86_64(X)                 \
  X(r15, PTREGS_X86_64_R15, UC_X86_REG_R15)        \
  X(r14, PTREGS_X86_64_R14, UC_X86_REG_R14)        \
  X(r13, PTREGS_X86_64_R13, UC_X86_REG_R13)        \
  X(r12, PTREGS_X86_64_R12, UC_X86_REG_R12)        \
  X(bp, PTREGS_X86_64_BP, UC_X86_REG_RBP)          \
  X(bx, PTREGS_X86_64_BX, UC_X86_REG_RBX)          \
  X(r11, PTREGS_X86_64_R11, UC_X86_REG_R11)        \
  X(r10, PTREGS_X86_64_R10, UC_X86_REG_R10)        \
  X(r9, PTREGS_X86_64_R9, UC_X86_REG_R9)           \
  X(r8, PTREGS_X86_64_R8, UC_X86_REG_R8)           \
  X(ax, PTREGS_X86_64_AX, UC_X86_REG_RAX)          \
  X(cx, PTREGS_X86_64_CX, UC_X86_REG_RCX)          \
  X(dx, PTREGS_X86_64_DX, UC_X86_REG_RDX)          \
  X(si, PTREGS_X86_64_SI, UC_X86_REG_RSI)          \
  X(di, PTREGS_X86_64_DI, UC_X86_REG_RDI)          \
  X(orig_ax, PTREGS_X86_64_ORIG_AX, -1)            \
  X(ip, PTREGS_X86_64_IP, UC_X86_REG_RIP)          \
  X(cs, PTREGS_X86_64_CS, -1)                      \
  X(flags, PTREGS_X86_64_FLAGS, UC_X86_REG_RFLAGS) \
  X(sp, PTREGS_X86_64_SP, UC_X86_REG_RSP)          \
  X(ss, PTREGS_X86_64_SS, -1)

#define PROBESIM_PT_REGS_ARM64(X)                       \
  X(x0, PTREGS_ARM64_X(0), UC_ARM64_REG_X0)             \
  X(x1, PTREGS_ARM64_X(1), UC_ARM64_REG_X1)             \
  X(x2, PTREGS_ARM64_X(2), UC_ARM64_REG_X2)             \
  X(x3, PTREGS_ARM64_X(3), UC_ARM64_REG_X3)             \
  X(x4, PTREGS_ARM64_X(4), UC_ARM64_REG_X4)             \
  X(x5, PTREGS_ARM64_X(5), UC_ARM64_REG_X5)             \
  X(x6, PTREGS_ARM64_X(6), UC_ARM64_REG_X6)             \
  X(x7, PTREGS_ARM64_X(7), UC_ARM64_REG_X7)             \
  X(x8, PTREGS_ARM64_X(8), UC_ARM64_REG_X8)             \
  X(x9, PTREGS_ARM64_X(9), UC_ARM64_REG_X9)             \
  X(x10, PTREGS_ARM64_X(10), UC_ARM64_REG_X10)          \
  X(x11, PTREGS_ARM64_X(11), UC_ARM64_REG_X11)          \
  X(x12, PTREGS_ARM64_X(12), UC_ARM64_REG_X12)          \
  X(x13, PTREGS_ARM64_X(13), UC_ARM64_REG_X13)          \
  X(x14, PTREGS_ARM64_X(14), UC_ARM64_REG_X14)          \
  X(x15, PTREGS_ARM64_X(15), UC_ARM64_REG_X15)          \
  X(x16, PTREGS_ARM64_X(16), UC_ARM64_REG_X16)          \
  X(x17, PTREGS_ARM64_X(17), UC_ARM64_REG_X17)          \
  X(x18, PTREGS_ARM64_X(18), UC_ARM64_REG_X18)          \
  X(x19, PTREGS_ARM64_X(19), UC_ARM64_REG_X19)          \
  X(x20, PTREGS_ARM64_X(20), UC_ARM64_REG_X20)          \
  X(x21, PTREGS_ARM64_X(21), UC_ARM64_REG_X21)          \
  X(x22, PTREGS_ARM64_X(22), UC_ARM64_REG_X22)          \
  X(x23, PTREGS_ARM64_X(23), UC_ARM64_REG_X23)          \
  X(x24, PTREGS_ARM64_X(24), UC_ARM64_REG_X24)          \
  X(x25, PTREGS_ARM64_X(25), UC_ARM64_REG_X25)          \
  X(x26, PTREGS_ARM64_X(26), UC_ARM64_REG_X26)          \
  X(x27, PTREGS_ARM64_X(27), UC_ARM64_REG_X27)          \
  X(x28, PTREGS_ARM64_X(28), UC_ARM64_REG_X28)          \
  X(x29, PTREGS_ARM64_X(29), UC_ARM64_REG_X29)          \
  X(x30, PTREGS_ARM64_X(30), UC_ARM64_REG_X30)          \
  X(sp, PTREGS_ARM64_SP, UC_ARM64_REG_SP)               \
  X(pc, PTREGS_ARM64_PC, UC_ARM64_REG_PC)               \
  X(pstate, PTREGS_ARM64_PSTATE, UC_ARM64_REG_PSTATE)
