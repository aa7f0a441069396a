// UprobeArch: the per-architecture half of uprobes (Linux arch/x86/kernel/uprobes.c,
// arch/arm64/kernel/probes/uprobes.c): breakpoint encodings, instruction analysis, the XOL
// slot contents, emulation/simulation of instructions that cannot run from a slot, and the
// return-address hijack. Stateless; the UprobeManager owns the policy.
//
// Single-step model (our choice, like kprobes' v6 x86 model): the slot holds the copied
// instruction followed by a trap, [insn][int3] on x86-64 and [insn][BRK #6] on arm64, instead
// of the trap flag / hardware single-step. On x86 every instruction that changes ip (ret,
// indirect call/jmp, loop/jcxz, besides Linux's emulated rel branches) is therefore emulated.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "probes/arch/kprobe_arch.h"
#include "probes/kernel_memory.h"
#include "probes/regs.h"
#include "probesim/result.h"
#include "probesim/types.h"

namespace probesim::probes {

constexpr int kEnotsupp = 524;  // Linux's kernel-internal ENOTSUPP

// Linux's struct arch_uprobe, plus what our emulation needs.
struct ArchUprobe {
  std::array<uint8_t, 16> insn{};  // original bytes from the page cache (MAX_UINSN_BYTES)
  uint8_t len = 0;                 // length of the probed instruction
  bool emulate = false;            // skip_sstep: done as register math in the trap
  bool branch = false;             // an `emulate` insn that transfers control (taken or not);
                                   // x86 push, nop, arm64 adr/adrp, ldr literal, nop only compute
  std::vector<uint8_t> ixol;       // slot contents when stepped: [copy][trap]
  ArchInsn op;                     // emulation descriptor (kprobes' tables), op.op != 0
  uint8_t uop = 0;                 // x86 uprobes-only emulation (X86UprobeOp), 0 = none
  uint8_t fixups = 0;              // x86 UPROBE_FIX_* bits
  int8_t scratch = -1;             // x86 RIP-relative scratch register (pt_regs index)
  // x86 memory-indirect call/jmp: target = [base + index * scale + disp] (base -1 = none,
  // kRipBase = rip of the next instruction).
  int8_t mem_base = -1, mem_index = -1;
  uint8_t mem_scale = 1;
  int64_t mem_disp = 0;
};

constexpr int8_t kRipBase = 100;
constexpr uint8_t UPROBE_FIX_IP = 0x01;
constexpr uint8_t UPROBE_FIX_CALL = 0x02;
constexpr uint8_t UPROBE_FIX_SETF = 0x04;
constexpr uint8_t UPROBE_FIX_RIP_SI = 0x08;
constexpr uint8_t UPROBE_FIX_RIP_DI = 0x10;
constexpr uint8_t UPROBE_FIX_RIP_BX = 0x20;

// arch_uretprobe_is_alive contexts.
enum class RpCheck : uint8_t { Call, ChainCall, Ret };

class UprobeArch {
 public:
  virtual ~UprobeArch() = default;
  static std::unique_ptr<UprobeArch> create(Arch arch);

  virtual Arch arch() const = 0;
  virtual std::span<const uint8_t> swbp() const = 0;  // UPROBE_SWBP_INSN: CC / BRK #5
  virtual size_t insn_bytes() const = 0;              // bytes copied for analysis: 16 / 4
  virtual size_t xol_slot_bytes() const = 0;          // UPROBE_XOL_SLOT_BYTES: 128 / 8
  virtual bool is_trap_insn(std::span<const uint8_t> code) const = 0;
  // uprobe_get_swbp_addr: x86 ip - 1, arm64 pc.
  virtual GuestAddr swbp_addr(const Regs& regs) const = 0;
  // Slot 0 of the XOL page: the uretprobe trampoline (the breakpoint itself).
  virtual std::vector<uint8_t> trampoline() const = 0;

  // arch_uprobe_analyze_insn on `code` (the page-cache bytes at the probe, truncated at EOF).
  // Errors carry Linux's errno: ENOEXEC undecodable, kEnotsupp (524) refused instruction or
  // prefix, EINVAL (arm64) rejected / unaligned.
  virtual Result<ArchUprobe> analyze(std::span<const uint8_t> code, GuestAddr vaddr) const = 0;
  // arch_uprobe_skip_sstep for an `emulate` probe: the instruction's effect on regs/memory,
  // ip ends at the next instruction. !ok: a memory access failed (regs untouched).
  virtual EmulateResult emulate(const ArchUprobe& au, GuestAddr vaddr, Regs& regs,
                                KernelMemory& mem) const = 0;
  // arch_uprobe_pre_xol: ip = xol; returns the state post_xol/abort_xol restore.
  virtual uint64_t pre_xol(const ArchUprobe& au, GuestAddr vaddr, GuestAddr xol,
                           Regs& regs) const = 0;
  // Is a trap at this ip the end-of-slot trap of a step started at xol?
  virtual bool is_ss_trap(const ArchUprobe& au, GuestAddr xol, const Regs& regs) const = 0;
  // arch_uprobe_post_xol: fix ip (and scratch) after the copy ran; ip -> vaddr + len.
  virtual void post_xol(const ArchUprobe& au, GuestAddr vaddr, Regs& regs,
                        uint64_t saved) const = 0;
  // arch_uprobe_abort_xol: the copy faulted; ip -> vaddr (the fault is reported there).
  virtual void abort_xol(const ArchUprobe& au, GuestAddr vaddr, Regs& regs,
                         uint64_t saved) const = 0;

  // arch_uretprobe_hijack_return_addr: the real return address (== tramp when already
  // hijacked: chained), after redirecting it to tramp; nullopt if the stack is inaccessible.
  virtual std::optional<GuestAddr> hijack_return_addr(GuestAddr tramp, Regs& regs,
                                                      KernelMemory& mem) const = 0;
  virtual bool is_alive(uint64_t ri_stack, RpCheck ctx, const Regs& regs) const = 0;
};

}  // namespace probesim::probes
