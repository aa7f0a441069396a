// Cpu: one Unicorn engine bound to one address space (mm). The ONLY code in probesim that
// calls uc_* (docs/conventions.md §7). It
//  - realizes the mm in Unicorn (it is the mm's MmObserver: one uc_mem_map_ptr region per run),
//  - runs a quantum with a block-hook instruction budget and uc_emu_stop (never count=),
//  - charges every executed block's modelled cycles (CycleModel) to the virtual clock,
//  - hands syscalls to a SyscallSink inside the hook (fast path), and turns every other guest
//    event (interrupt, fault, invalid instruction) into a CpuStop value.
// Exception firewall: hook trampolines are noexcept; the first exception thrown by a sink is
// stored, emulation stops, and run() rethrows it after uc_emu_start returned.
#pragma once

#include <unicorn/unicorn.h>

#include <array>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "emu/arch_info.h"
#include "emu/cycle_model.h"
#include "mmu/mm.h"
#include "probesim/result.h"
#include "probesim/types.h"

namespace probesim::emu {

class VirtualClock;
class Cpu;
class X86Fpu;

// Saved register state of one task (uc_context). Created by the Cpu of the task's mm; restoring
// it into an engine of another arch is impossible by construction (Unicorn would not check:
// docs/stack-facts.md gotcha 7), since a task never leaves its mm's Cpu.
class CpuContext {
 public:
  ~CpuContext();
  CpuContext(const CpuContext&) = delete;
  CpuContext& operator=(const CpuContext&) = delete;

 private:
  friend class Cpu;
  explicit CpuContext(uc_context* ctx) : ctx_(ctx) {}
  uc_context* ctx_;
};

enum class StopKind {
  Budget,        // the instruction budget ran out
  Requested,     // a sink asked to stop (exit, exec, block)
  Interrupt,     // a CPU exception other than syscall: int3/BRK, #DE, UDEF...
  Fault,         // an access to unmapped or forbidden memory
  InvalidInsn,   // Unicorn could not decode/execute the instruction
};

struct CpuStop {
  StopKind kind = StopKind::Budget;
  uint32_t intno = 0;          // Interrupt: Unicorn's intno (x86 vector / arm64 EXCP_*)
  mmu::Access access = mmu::Access::Read;  // Fault
  uint64_t addr = 0;           // Fault: the faulting data/fetch address; arm64 data abort
                               // (Interrupt, EXCP_DATA_ABORT): the decoded access address
  uint64_t pc = 0;             // PC of the faulting/trapping instruction (see pc_precise)
  bool pc_precise = true;      // arm64 data faults: PC recovered by decoding (see cpu.cc)
  int uc_error = 0;            // what uc_emu_start returned for this stop (a uc_err; 0: OK)
  bool sync_point = false;     // Budget: ended in front of a scheduling point (PC at it)
};

// uc_emu_start's error as text, e.g. "Invalid instruction (UC_ERR_INSN_INVALID)".
std::string engine_error_text(int uc_error);
// What a stop that no hook recorded becomes, by uc_emu_start's error (cpu.cc's table):
// InvalidInsn where the guest's instruction could not run (Linux: SIGILL), nullopt for an
// engine failure (no memory, a bad mapping or argument...), which is probesim's bug: run()
// asserts, naming the error.
std::optional<StopKind> unhooked_stop_kind(int uc_error);

// Observer mode (Machine probe_cost 0): probes leave no trace in the cycles. A block is costed
// as the program (or the kernel) sees it: the instructions under a breakpoint or an optprobe's
// jump, not the breakpoint or the jump. Probe-owned code is not charged: in user space the
// uncounted range (uprobes' XOL slots and trampoline), in the kernel what probe_code() names.
class OriginalCode {
 public:
  virtual ~OriginalCode() = default;
  // The bytes at [addr, addr + out.size()) as the program sees them; false if unreadable.
  virtual bool original_code(uint64_t addr, std::span<uint8_t> out) = 0;
  // Kernel code only probes run (kprobe slots and detours, the kretprobe trampoline...).
  virtual bool probe_code(uint64_t addr) = 0;
};

// Where guest-visible reads of the cycle counter (x86 rdtsc, arm64 cntvct_el0/cntpct_el0) get
// their value: the machine records them, or feeds recorded ones back during a replay.
class GuestTimeSource {
 public:
  virtual ~GuestTimeSource() = default;
  // `now` is the running CPU's cycle counter; returns the cycles the guest sees.
  virtual uint64_t guest_cycles(uint64_t now) = 0;
};

// Watches the user-mode loads and stores of user memory (analysis runs: the conflicting
// accesses around a race's preemption, MachineState::watch_memory).
class AccessWatch {
 public:
  virtual ~AccessWatch() = default;
  // `pc`: the accessing instruction on x86; on arm64 (whose memory hooks do not sync PC) the
  // start of its block.
  virtual void on_access(uint64_t addr, uint32_t size, bool write, uint64_t pc) = 0;
};

// Which executed instructions are scheduling steps (they count towards the quantum budget, and
// a quantum can end before any block of them). User: user-mode instructions outside the
// uncounted range (uprobes' XOL area), so the count is the same with or without probes: the
// guest kernel is not preemptible (Linux's PREEMPT_NONE) and a quantum ends at the first user
// block at or past its budget. Anywhere: every instruction (the kernel-only engine).
enum class StepScope { User, Anywhere };

// Receives syscalls and traps inside the Unicorn hooks. The sink reads/writes registers through
// the Cpu and may call request_stop(). It must not map/unmap Unicorn memory except through the Mm.
class SyscallSink {
 public:
  virtual ~SyscallSink() = default;
  // The user syscall instruction (x86 `syscall`: pc() is after it; arm64 `svc`: PC after it).
  virtual void on_syscall(Cpu& cpu) = 0;
  // Any other CPU exception (x86 vector / arm64 EXCP_*: 1 UDEF incl. hvc, 7 BRK) with PC as
  // Unicorn reports it (x86 int n / int3: after it; arm64: at it). True: handled here (the
  // sink moved PC or requested a stop); false: it becomes a CpuStop of kind Interrupt.
  virtual bool on_trap(Cpu& cpu, uint32_t intno) {
    (void)cpu;
    (void)intno;
    return false;
  }
};

// A range every engine of the machine maps at creation, onto host memory that outlives the
// engine (the guest kernel's areas). prot: VM_READ 1 | VM_WRITE 2 | VM_EXEC 4.
struct FixedMapping {
  GuestAddr start;
  uint64_t len;
  uint8_t* host;
  uint32_t prot;
};

class Cpu final : public mmu::MmObserver {
 public:
  // arm64: the address of the rt_sigreturn trampoline every engine carries (in its private
  // stub page, like the vDSO's sigtramp: glibc on arm64 does not pass SA_RESTORER).
  static constexpr uint64_t kSigreturnStubOffset = 16;
  static constexpr uint64_t kArm64SigreturnTrampoline = 0xffffffffffff0000ull + kSigreturnStubOffset;
  // arm64 generic timer: CNTFRQ_EL0 is 1 GHz, the frequency Armv8.6 (FEAT_ECV) fixes, so
  // cntvct_el0 reads the virtual clock's monotonic nanoseconds exactly and the vDSO's time
  // equals the syscalls' (guest/vdso/vdso_abi.h).
  static constexpr uint64_t kArm64CntFreq = 1'000'000'000;
  static Result<std::unique_ptr<Cpu>> create(Arch arch, VirtualClock& clock, SyscallSink& sink,
                                             std::span<const FixedMapping> fixed = {});
  ~Cpu() override;
  Cpu(const Cpu&) = delete;
  Cpu& operator=(const Cpu&) = delete;

  Arch arch() const { return info_.arch; }
  const ArchInfo& info() const { return info_; }

  uint64_t reg(int uc_reg) const;
  void set_reg(int uc_reg, uint64_t value);
  // Many registers in one call (uc_reg_read_batch): the probe hit path.
  void read_regs(std::span<const int> ids, uint64_t* out) const;
  void write_regs(std::span<const int> ids, const uint64_t* in);
  // x86 model-specific registers (LSTAR, KERNEL_GS_BASE...).
  uint64_t msr(uint32_t id) const;
  void set_msr(uint32_t id, uint64_t value);
  // arm64 SPSR_EL1 (Unicorn exposes it only as a system register).
  uint64_t spsr_el1() const;
  void set_spsr_el1(uint64_t value);
  // Wide registers (x86 XMM, arm64 V): 16 bytes.
  void reg128(int uc_reg, uint8_t out[16]) const;
  void set_reg128(int uc_reg, const uint8_t in[16]);
  uint64_t pc() const;
  void set_pc(uint64_t pc);

  // Calls fn(*this, ctx) each time a block starting at `addr` is about to run, from the block
  // hook every block already takes: no trap, no exit, no code hook (any code hook would make
  // Unicorn leave a stale PC at every stop; cpu_tb_exec). So `addr` must only be entered by a
  // jump or call (a block always starts there), and its instruction, `insn_size` bytes, must
  // do nothing (a nop). fn may read and write registers other than the PC and guest memory; a
  // stop it requests ends the run after that nop (a resumed run does not call fn again). For
  // the guest kernel's optimized_callback (emu/kernel/kernel_boot.cc).
  using CallSite = void (*)(Cpu& cpu, void* ctx);
  void add_call_site(uint64_t addr, uint32_t insn_size, CallSite fn, void* ctx);

  // Run from the current PC until `budget` more steps (see StepScope) have executed or something
  // stops the CPU. Rethrows a stored sink exception. While it runs, an assert failure prints
  // describe_guest() (the assert context, include/probesim/assert.h).
  // With scheduling points on (set_sync_points), the quantum ends at the first scheduling point
  // at or past the budget: a user block's start, or an atomic or syscall instruction inside a
  // block (the quantum then ends in front of it, and the retired counts and cycles are exact:
  // the rest of the block, charged with its start, is given back and charged when it runs).
  // `sync_budget` (0: none) also ends it in front of the sync_budget-th atomic or syscall of
  // the quantum; never in front of the very first instruction of a quantum (it is where the
  // task was picked, so it always makes progress).
  CpuStop run(InsnCount budget, uint64_t sync_budget = 0);
  // For that context: the task whose registers are in the engine (-1: none, the default) and a
  // source of the machine's recent scheduler events (may be empty).
  void set_assert_info(int tid, std::function<std::string()> recent_events) {
    tid_ = tid;
    recent_events_ = std::move(recent_events);
  }
  // Where the guest is: task, PC, registers, the last kSyscallTrail syscalls this engine took
  // (oldest first) and the recent scheduler events.
  std::string describe_guest() const;
  static constexpr size_t kSyscallTrail = 16;
  // From inside a sink: stop after the current instruction.
  void request_stop();
  // False while a kprobe single-step is in flight (Linux runs it with preemption off): the
  // budget then never ends a quantum, so per-CPU probe state never crosses a task switch.
  void set_preemptible(bool on) { preemptible_ = on; }
  // Exact PCs for data faults: a process that handles SIGSEGV or SIGBUS needs them (its
  // handler sees the PC). x86 then arms the PC-sync memory hook (~13 ns per access); otherwise,
  // and always on arm64 (where the hook does not sync PC), the PC is recovered by decoding,
  // which costs nothing until a fault. Takes effect at the next run().
  void set_precise_faults(bool on) { precise_wanted_ = on; }
  // From inside a hook: end the quantum as if the budget ran out (at the next block boundary
  // where the CPU is preemptible). A Budget stop, so nothing is lost.
  void end_quantum() { stop_at_ = steps(); }
  void set_step_scope(StepScope s) { scope_ = s; }
  // Scheduling points at atomics and syscalls (see run()); turning them on re-decodes every
  // block, so atomics decoded before get their code hooks.
  void set_sync_points(bool on);
  bool sync_points() const { return sync_points_; }
  // From the trap hook of a uprobe's breakpoint at `bp` (x86 int3, arm64 BRK; either ends the
  // running block): when the program's instruction under it (`code` reads it) is a scheduling
  // point (an atomic, SyncKind), the quantum may end in front of the breakpoint as in front of
  // that instruction (run()'s rule). True then: PC is back at bp, the probe is not hit, and the
  // breakpoint traps again when the task runs next. So a probe on an atomic keeps the
  // scheduling point at the same retired count (a replay's decision there still holds).
  bool breakpoint_sync_point(GuestAddr bp, OriginalCode& code);
  // Atomic and syscall instructions retired in user mode (each a scheduling point).
  uint64_t sync_ops() const { return sync_ops_; }
  // Instructions in [start, start+len) are not steps (uprobes' XOL area of this engine's mm).
  void set_uncounted(GuestAddr start, uint64_t len) {
    uncounted_start_ = start.value;
    uncounted_len_ = len;
  }
  void set_time_source(GuestTimeSource* t) { time_source_ = t; }
  void set_observer(OriginalCode* o) { observer_ = o; }  // null: probes cost what they execute
  // Every user-mode access to user memory goes to `w` (null: none, the default): a memory hook
  // that costs tens of ns per access while set.
  void set_access_watch(AccessWatch* w);
  // Observer mode: an out-of-line step just resumed the program at `addr`, the middle of one of
  // its blocks (the breakpoint split it). The block Unicorn starts there is no block boundary
  // of the unprobed program, so the quantum may not end in front of it.
  void resume_past_probe(uint64_t addr) { no_stop_at_ = addr; }
  // x86 IA32_TSC_AUX, what rdtscp returns in ecx: Linux's vdso_encode_cpunode(cpu, node),
  // node << 12 | cpu, of the logical CPU running the engine (set per quantum).
  void set_tsc_aux(uint32_t v) { tsc_aux_ = v; }

  // Task switching on this engine (tasks of one mm share it). save() captures the registers
  // currently in the engine; restore() loads a task's registers (and clears the arm64
  // exclusive monitor, so LDXR/STXR never pair across tasks).
  std::unique_ptr<CpuContext> new_context();
  void save(CpuContext& ctx);
  void restore(const CpuContext& ctx);
  uint64_t context_reg(const CpuContext& ctx, int uc_reg) const;
  void set_context_reg(CpuContext& ctx, int uc_reg, uint64_t value);
  // The clock the next run() charges (each logical CPU has its own).
  void set_clock(VirtualClock& clock) { clock_ = &clock; }

  // Memory access through Unicorn (debugger-style, ignores protections).
  bool read_mem(GuestAddr addr, void* out, size_t n) const;

  // Code at [addr, addr+len) changed: drop Unicorn's translations and our block costs.
  void invalidate_code(GuestAddr addr, uint64_t len);

  // The x87/SSE additions of an x86 engine (x86_fpu.h); null on arm64.
  X86Fpu* x86_fpu() { return x86_fpu_.get(); }
  // execve: the FP/SIMD state Linux gives a new program (x86: init_fpstate; arm64:
  // fpsimd_flush_thread: FPCR, FPSR and V0-V31 zero).
  void reset_fp_state();

  InsnCount insns() const { return InsnCount{insns_}; }
  // User-mode instructions outside the uncounted range: the probe-invariant retired count.
  InsnCount user_insns() const { return InsnCount{user_insns_}; }
  CycleModel& cycle_model() { return model_; }

  // MmObserver: realization of the mm in Unicorn.
  void on_unmap(GuestAddr start, uint64_t len) override;
  void on_map(GuestAddr start, uint64_t len, uint8_t* host, uint32_t prot) override;

 private:
  Cpu(const ArchInfo& info, VirtualClock& clock, SyscallSink& sink);
  Result<void> init();
  void init_mmu();
  // Where engines map the HostWindow: above every identity-mapped address (x86_64: user space
  // and uc_phys.h's kernel alias [2^48, 2^49); arm64: 48-bit user and the kernel's 0xffff...
  // lie elsewhere) and within x86_64's 52 physical address bits.
  static constexpr uint64_t kWindowPhys = uint64_t{1} << 50;
  void check(uc_err e, const char* what) const;  // our bug if a uc_* call fails
  void store_exception(std::exception_ptr e);
  uint64_t recover_fault_pc(uint64_t block_pc, uint64_t addr, bool* precise) const;
  bool hook_emulated_sites(const BlockCost& cost);
  bool hook_sync_sites(const BlockCost& cost);
  std::optional<uint32_t> block_rest(uint64_t addr) const;
  bool sync_point(uint64_t site, uint32_t rest);
  uint64_t rest_cycles(uint64_t site) const;
  bool syscall_sync_point();
  void forget_emulated_sites(uint64_t start, uint64_t len);
  std::vector<uint64_t> access_candidates(const cs_insn& insn) const;
  std::vector<uint8_t> observed_code(uint64_t addr, std::span<const uint8_t> code) const;
  // The first memory operand address of the instruction at pc (0 when none decodes).
  uint64_t access_address_at(uint64_t pc) const;
  void apply_precise_faults();
  bool flush_translations();  // false: nothing was translated
  void resume_after_site(uint64_t next);
  void clear_exclusive_monitor();
  // Unicorn's physical address of a guest virtual one and back (see cpu.cc, kX86KernelAlias).
  uint64_t phys(uint64_t va) const;
  uint64_t virt(uint64_t pa) const;
  uint64_t steps() const { return scope_ == StepScope::User ? user_insns_ : insns_; }
  bool counted(uint64_t addr) const {
    return static_cast<int64_t>(addr) >= 0 && addr - uncounted_start_ >= uncounted_len_;
  }
  uint64_t guest_cycles();
  void note_syscall();
  CpuStop finish_unhooked(int uc_error);

  // Translation guard (insn_policy.h): user code is realized without UC_PROT_EXEC, so every
  // byte Unicorn's translator fetches from it comes to on_mem_invalid first.
  struct ExecRun {
    uint64_t len;
    uc_hook smc_hook;               // writable runs: self-modifying code (0: none)
    std::set<uint64_t> code_pages;  // writable runs: pages Unicorn translated from
  };
  bool user_exec(uint64_t start, uint32_t prot) const;
  ExecRun* exec_run(uint64_t addr);
  std::optional<bool> guard_fetch(uint64_t addr, int size);
  size_t code_window(uint64_t addr, uint8_t* out) const;
  void set_exits();
  bool at_stale_exit();
  bool user_site(uint64_t addr, uint32_t size, const EmulatedSite& site);

  static void on_block(uc_engine* uc, uint64_t addr, uint32_t size, void* self) noexcept;
  static void on_x86_syscall(uc_engine* uc, void* self) noexcept;
  static void on_intr(uc_engine* uc, uint32_t intno, void* self) noexcept;
  static bool on_mem_invalid(uc_engine* uc, uc_mem_type type, uint64_t addr, int size,
                             int64_t value, void* self) noexcept;
  static void on_mem_sync(uc_engine*, uc_mem_type, uint64_t, int, int64_t, void*) noexcept {}
  static void on_mem_watch(uc_engine* uc, uc_mem_type type, uint64_t addr, int size, int64_t,
                           void* self) noexcept;
  static uint32_t on_arm64_mrs(uc_engine* uc, uc_arm64_reg reg, const uc_arm64_cp_reg* cp,
                               void* self) noexcept;
  static void on_emulated_insn(uc_engine* uc, uint64_t addr, uint32_t size, void* self) noexcept;
  static void on_sync_insn(uc_engine* uc, uint64_t addr, uint32_t size, void* self) noexcept;
  static bool on_invalid_insn(uc_engine* uc, void* self) noexcept;
  static void on_smc_write(uc_engine* uc, uc_mem_type type, uint64_t addr, int size,
                           int64_t value, void* self) noexcept;
  static bool on_tlb_fill(uc_engine* uc, uint64_t va, uc_mem_type type, uc_tlb_entry* e,
                          void* self) noexcept;
  std::optional<bool> fill_data_run(uint64_t va, uc_mem_type type, uc_tlb_entry* e);
  void deny_fill(uint64_t va, uc_mem_type type);

  const ArchInfo& info_;
  VirtualClock* clock_;
  SyscallSink& sink_;
  CycleModel model_;
  uc_engine* uc_ = nullptr;
  uint64_t insns_ = 0;
  uint64_t user_insns_ = 0;
  uint64_t last_step_insns_ = 0;  // insns_ at the last block that was a step
  uint64_t stop_at_ = 0;          // in steps()
  uint64_t overdue_since_ = ~0ull;  // insns_ when a non-preemptible stretch passed stop_at_
  StepScope scope_ = StepScope::User;
  uint64_t uncounted_start_ = 0, uncounted_len_ = 0;
  GuestTimeSource* time_source_ = nullptr;
  OriginalCode* observer_ = nullptr;
  uint32_t tsc_aux_ = 0;
  bool stop_recorded_ = false;
  bool in_x86_syscall_ = false;
  bool in_stub_ = false;
  bool preemptible_ = true;
  bool precise_wanted_ = false;
  uc_hook pc_sync_hook_ = 0;  // armed while precise faults are on
  AccessWatch* access_watch_ = nullptr;
  uc_hook access_hook_ = 0;  // armed while access_watch_ is set
  CpuStop stop_;
  std::optional<CpuStop> denied_fill_;  // a denied TLB fill of this run
  std::exception_ptr pending_;
  // Emulated instructions by address (a code hook at each; a hook whose address is no longer
  // in sites_ is stale: the code there changed), and the addresses that have a hook.
  std::unordered_map<uint64_t, EmulatedSite> sites_;
  std::unordered_set<uint64_t> hooked_sites_;
  struct CallSiteEntry {
    uint64_t addr;
    uint32_t insn_size;
    CallSite fn;
    void* ctx;
  };
  std::vector<CallSiteEntry> call_sites_;  // add_call_site's (one or two: a linear scan)
  void run_call_site(const CallSiteEntry& site);
  // The end of the block running now, and the address where a site that moved PC past
  // itself resumes inside that already charged block (the continuation Unicorn translates
  // as a block of its own must not be charged twice); kNoResume when none.
  static constexpr uint64_t kNoResume = ~0ull;
  uint64_t block_end_ = 0;
  uint64_t uncharged_resume_ = kNoResume;
  uint64_t no_stop_at_ = kNoResume;  // resume_past_probe's address, until the next step block
  // Scheduling points (set_sync_points): the user block running now (its cost has the sites),
  // the atomics with a code hook, and this quantum's state.
  bool sync_points_ = false;
  uint64_t cur_block_addr_ = 0;
  uint32_t cur_block_size_ = 0;
  bool cur_block_user_ = false;
  std::unordered_set<uint64_t> sync_hooked_;
  std::unordered_map<uint64_t, SyncKind> breakpoint_sync_;  // by breakpoint address, until the code changes
  const VirtualClock* time_read_clock_ = nullptr;  // the clock of the last guest time read,
  uint64_t time_read_at_ = 0;                       // and its cycles then (give_back's floor)
  uint64_t sync_ops_ = 0;
  uint64_t sync_budget_ = 0;     // this quantum's (0: none)
  uint64_t quantum_syncs_ = 0;   // atomics and syscalls this quantum retired
  uint64_t run_start_steps_ = 0;
  std::unique_ptr<X86Fpu> x86_fpu_;
  std::map<uint64_t, ExecRun> user_exec_;  // guarded runs by start (on_map / on_unmap)
  std::set<uint64_t> inaccessible_runs_;   // PROT_NONE runs left out of Unicorn, by start
  // Unicorn regions this engine holds (fixed, stub, window, realized runs): below
  // uc_regions::limit.
  uint64_t regions_ = 0;
  // Runs whose host memory lies in the HostWindow (mapped once per engine at kWindowPhys) and
  // that cannot be executed: they have no region of their own; the TLB fill translates them to
  // the window and grants their protections, so their number is not bounded by Unicorn's
  // region ceiling. Executable runs stay regions (the translation guard and the SMC hooks
  // work on regions). By start; `paddr` is the window's physical address of the run's start.
  struct DataRun {
    uint64_t len;
    uint64_t paddr;
    uint32_t prot;
  };
  std::map<uint64_t, DataRun> data_runs_;
  bool window_ = false;  // the HostWindow is mapped
  bool is_data_run(uint64_t start, uint64_t len, const uint8_t* host, uint32_t prot) const;
  // The data run containing va and its start; null if none.
  const DataRun* data_run(uint64_t va, uint64_t* start) const;
  void flush_tlb();
  void count_region();  // before each uc_mem_map*: asserts the ceiling is not reached
  std::set<uint64_t> abort_exits_;         // Unicorn exits in front of translator aborts
  bool retranslate_ = false;               // a guarded fetch stopped the translation
  // The assert context (set_assert_info, note_syscall): a ring of the last syscalls.
  struct SyscallNote {
    int tid;
    uint64_t nr;
    uint64_t pc;
  };
  int tid_ = -1;
  std::function<std::string()> recent_events_;
  std::array<SyscallNote, kSyscallTrail> syscall_trail_{};
  uint64_t syscalls_noted_ = 0;
};

}  // namespace probesim::emu
