// KprobeArch: the per-architecture half of kprobes (Linux arch/*/kernel/probes): breakpoint
// encoding, decoding and classifying the probed instruction, the out-of-line slot contents,
// emulation/simulation of instructions that cannot run from a slot, and the return-address
// hijack of kretprobes. Stateless apart from the decoder handle; the manager owns the policy.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "probes/kernel_memory.h"
#include "probes/optprobe.h"
#include "probes/regs.h"
#include "probes/symbol_source.h"
#include "probesim/result.h"
#include "probesim/types.h"

namespace probesim::probes {

// Reads ORIGINAL text: bytes under breakpoints are recovered (recover_probed_instruction).
using TextReader = std::function<bool(GuestAddr, std::span<uint8_t>)>;

// How a probed instruction is executed after the pre handlers.
enum class StepKind : uint8_t {
  Slot,     // copied to an insn slot and run there, followed by a trap (or a jmp back if boosted)
  Emulate,  // x86 emulated / arm64 simulated as register math inside the first trap
};

// Linux's struct arch_specific_insn (x86) / arch_probe_insn (arm64), plus the decode results.
struct ArchInsn {
  StepKind step = StepKind::Slot;
  bool needs_slot = true;  // x86: always (Linux allocates one even for emulated insns)
  bool boostable = false;  // x86: can_boost and room for `jmp back` (whether to boost is policy)
  uint8_t disp_offset = 0; // x86: offset of a RIP-relative disp32 to rebase (0 = none)
  uint8_t len = 0;         // bytes of the probed instruction
  std::array<uint8_t, 16> bytes{};  // the original instruction bytes
  uint8_t op = 0;     // per-arch emulation op (index into the arch's table); 0 = none
  uint8_t cond = 0;   // x86 jcc condition / loop type
  uint8_t reg = 0;    // x86 indirect-branch register (Linux addrmode order)
  uint8_t asize = 0;  // x86 address size in bits (loop/jcxz)
  int64_t rel = 0;    // x86 branch displacement, ret imm16
};

struct EmulateResult {
  bool ok = true;
  GuestAddr fault_addr{};  // when !ok: the memory access that failed (registers untouched)
};

class KprobeArch {
 public:
  virtual ~KprobeArch() = default;
  static std::unique_ptr<KprobeArch> create(Arch arch);

  virtual Arch arch() const = 0;
  virtual std::span<const uint8_t> breakpoint() const = 0;  // x86 CC; arm64 BRK #4
  virtual size_t opcode_size() const = 0;                   // bytes the breakpoint replaces
  virtual size_t insn_slot_size() const = 0;                // MAX_INSN_SIZE in bytes
  // The probed address of a breakpoint trap (x86: ip - 1; arm64: pc).
  virtual GuestAddr probe_address(const Regs& regs) const = 0;

  // arch_prepare_kprobe minus the slot: boundary/alignment checks and classification.
  // Errors (err): EILSEQ not an instruction boundary, EINVAL unaligned / undecodable / unsafe,
  // EOPNOTSUPP an instruction Linux refuses to probe.
  virtual Result<ArchInsn> prepare(GuestAddr addr, const TextReader& text,
                                   const SymbolSource& syms) const = 0;
  // Classifies the single instruction at the start of `code` as if probed at addr (no
  // boundary check; the differential tests use this directly).
  virtual Result<ArchInsn> analyze(GuestAddr addr, std::span<const uint8_t> code) const = 0;
  // Bytes to write at `slot` for the instruction probed at `addr`: the copy (x86 RIP-relative
  // disp32 rebased) followed by the step trap, or by `jmp addr+len` when `boosted` (x86 only,
  // requires insn.boostable). EINVAL: the rebased displacement does not fit.
  virtual Result<std::vector<uint8_t>> slot_contents(const ArchInsn& insn, GuestAddr addr,
                                                     GuestAddr slot, bool boosted) const = 0;
  // Runs a StepKind::Emulate instruction probed at addr; ip/pc ends at the next instruction.
  virtual EmulateResult emulate(const ArchInsn& insn, GuestAddr addr, Regs& regs,
                                KernelMemory& mem) const = 0;

  // setup_singlestep: masks interrupts (x86 IF, arm64 DAIF), sets ip = slot, and returns the
  // state leave_slot must restore.
  virtual uint64_t enter_slot(GuestAddr slot, Regs& regs) const = 0;
  // Is a trap at this ip the end-of-slot trap of a step that started at `slot`?
  virtual bool is_step_trap(GuestAddr slot, const Regs& regs) const = 0;
  // resume_singlestep / post_kprobe_handler: restores the saved state, ip = addr + len.
  virtual void leave_slot(const ArchInsn& insn, GuestAddr addr, Regs& regs,
                          uint64_t saved) const = 0;

  // arch_prepare_kretprobe: replaces the return address with `tramp`. Returns the real return
  // address and the frame (x86: the stack slot holding it; arm64: sp), or nullopt if the stack
  // could not be accessed.
  struct Hijack {
    GuestAddr ret_addr;
    GuestAddr fp;
  };
  virtual std::optional<Hijack> hijack_return(Regs& regs, KernelMemory& mem,
                                              GuestAddr tramp) const = 0;
  // The frame pointer an instance must match when the trampoline traps.
  virtual GuestAddr trampoline_frame(const Regs& regs) const = 0;
  // Leaves the trampoline to the real return address (arm64 also restores x30, as Linux's
  // trampoline does with `mov lr, x0`).
  virtual void return_to(Regs& regs, GuestAddr ret_addr) const = 0;

  // ---- stack traces (probes/stacktrace.cc). The return address into the caller of the
  // function starting at `fn` while it is about to run the instruction at `at` (regs.ip, or
  // the probe's address when a kprobe trapped there) without a frame record of its own
  // (before its prologue set the frame pointer, at its `ret`, or a frameless leaf near its
  // start): a frame-pointer walk from regs would skip that caller (Linux's ORC unwinder knows
  // it; its frame-pointer one does not). nullopt when the frame record is set up, or when the
  // instructions before ip do not show where the address is. `text` reads original bytes.
  virtual std::optional<GuestAddr> unframed_return_address(GuestAddr fn, GuestAddr at,
                                                           const Regs& regs,
                                                           const TextReader& text,
                                                           const KernelMemory& mem) const = 0;

  // ---- optprobes (arch/x86/kernel/kprobes/opt.c; arm64 beyond mainline: arm64_optprobe.cc).
  // Arches without them return 0 / OptRefusal::NoArchSupport.
  // Bytes per detour buffer (MAX_OPTINSN_SIZE); 0: this arch has no optprobes.
  virtual size_t optinsn_slot_size() const { return 0; }
  // can_optimize + the copy checks of copy_optimized_instructions, without a slot.
  virtual OptPrep prepare_optimized(GuestAddr addr, const TextReader& text,
                                    const SymbolSource& syms) const;
  // The detour buffer at `slot` for the probe at addr: template (pt_regs on the stack, arg1 =
  // `op`, call `callback`, restore), the copied instructions relocated, jump to addr + size.
  // EINVAL (with the refusal in the message) when something is out of rel32 range.
  virtual Result<std::vector<uint8_t>> detour_contents(const OptPrep& prep, GuestAddr addr,
                                                       GuestAddr slot, uint64_t op,
                                                       GuestAddr callback) const;
  // Offset in the detour of the copied instructions (TMPL_END_IDX): where an int3 hit of a
  // probe queued for optimization continues (setup_detour_execution).
  virtual size_t detour_copy_offset() const { return 0; }
  // The jump written over the probe: x86 `E9 rel32` (5 bytes), arm64 `B imm26` (4).
  virtual std::vector<uint8_t> optimized_jump(GuestAddr addr, GuestAddr slot) const;
  virtual size_t optimized_jump_size() const { return 5; }
  // optimized_callback's view of regs: x86 ip = addr + 1 (as if the int3 trapped), orig_ax = -1;
  // arm64 pc = addr (as at the BRK).
  virtual void optimized_regs(GuestAddr addr, Regs& regs) const;
  // Does the detour restore pt_regs index `index` from the frame (so a handler's change to it
  // takes effect)?
  virtual bool optimized_restores(unsigned) const { return false; }
};

}  // namespace probesim::probes
