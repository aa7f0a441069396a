// KernelArch: what the guest kernel does differently on each architecture, behind one
// interface (as Linux's arch/ and dynarmic's backends): the CPU state boot programs, user
// pt_regs and per-CPU state, the kernel_call ABI, the syscall instruction's entry, the return
// to user mode, and how a trap is told apart. GuestKernel (emu/kernel/) holds one and never
// branches on Arch itself. Implementations: arch/x86_64/kernel_x86_64.cc,
// arch/arm64/kernel_arm64.cc (each cites the Linux code it models).
//
// An instance belongs to one GuestKernel and its KernelSpace (which outlives it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "emu/cpu.h"
#include "emu/kernel/kernel_space.h"
#include "probesim/types.h"

namespace probesim::emu {

// What a CPU exception is, for the guest kernel.
enum class KernelTrap {
  NotOurs,     // the instruction's usual fault or signal (no hypercall, no kernel breakpoint)
  Hypercall,   // from kernel text: on_hypercall
  Eret,        // arm64 hvc #1 in kernel text: the return to user mode
  Breakpoint,  // x86 int3 / arm64 BRK: the kprobes engine first, then uprobes
};

// A breakpoint trap in kernel memory, as the kprobes engine takes it.
enum class KprobeTrap { NotOurs, Breakpoint, SingleStep };

class KernelArch {
 public:
  static std::unique_ptr<KernelArch> create(Arch arch, KernelSpace& space);
  virtual ~KernelArch() = default;

  // struct pt_regs: its size and where the syscall's original first argument / number is.
  virtual size_t pt_regs_size() const = 0;
  virtual size_t orig_ret_offset() const = 0;

  // Boot: symbols the arch needs (before start_kernel); the CPU state boot programmed, read
  // from the boot engine once boot is done and written into every engine made after it.
  virtual void setup(int cpus) = 0;
  virtual void save_boot_state(Cpu& boot) = 0;
  virtual void load_boot_state(Cpu& engine) const = 0;

  virtual bool in_kernel_mode(Cpu& cpu) const = 0;
  // A fresh user pt_regs at `regs` (PC and SP set by the caller): user mode's flags and
  // segments; the CPU in kernel mode, about to run ret_from_fork.
  virtual void init_user_regs(GuestAddr regs, Cpu& cpu) = 0;
  // A task with kernel stack top `kstack_top` goes on logical CPU `logical_cpu`.
  virtual void put_on_cpu(GuestAddr kstack_top, Cpu& cpu, int logical_cpu) = 0;
  // kernel_call: the C calling convention's arguments, the target for the trampoline
  // (x86 r11, arm64 x16), kernel mode, no caller frame record, this CPU's per-CPU base.
  virtual void set_call_registers(Cpu& cpu, GuestAddr target, std::span<const uint64_t> args,
                                  int logical_cpu) = 0;

  // The user syscall instruction's architectural effect (Linux: the CPU's, before entry_*).
  virtual void syscall_entry(Cpu& cpu) = 0;
  // Classifies exception `intno`. A hypercall from user code is NotOurs (x86: PC moves back
  // to the int, so the #GP is reported there).
  virtual KernelTrap classify_trap(Cpu& cpu, uint32_t intno) = 0;
  virtual void hypercall_args(Cpu& cpu, uint64_t args[6]) const = 0;
  // Ends a hypercall that returns `ret` (and moves PC past it where the CPU did not).
  virtual void hypercall_return(Cpu& cpu, uint64_t ret) = 0;
  // Runs the hypercall again when the task resumes (a restarted syscall).
  virtual void restart_hypercall(Cpu& cpu) = 0;
  // Arch-only hypercalls (x86 HC_IRET): true if `nr` was one and is done; false + `oops`
  // set when its arguments are bad.
  virtual bool arch_hypercall(Cpu& cpu, uint64_t nr, const uint64_t* args, const char*& oops) = 0;
  virtual void eret(Cpu& cpu) = 0;  // arm64 hvc #1: PC = ELR_EL1, PSTATE = SPSR_EL1

  // The address of the breakpoint instruction that trapped with PC `pc`, and what it is.
  virtual GuestAddr trap_insn_addr(uint64_t pc) const = 0;
  virtual KprobeTrap kprobe_trap(GuestAddr insn_addr) const = 0;

 protected:
  explicit KernelArch(KernelSpace& space) : space_(space) {}
  KernelSpace& space_;
};

std::unique_ptr<KernelArch> make_kernel_arch_x86_64(KernelSpace& space);
std::unique_ptr<KernelArch> make_kernel_arch_arm64(KernelSpace& space);

}  // namespace probesim::emu
