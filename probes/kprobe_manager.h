// KprobeManager: the kprobes engine (Linux kernel/kprobes.c + the arch hit handlers). It owns
// the probe table (one KprobeEntry per address; a second probe at an address turns the entry
// into an aggregate), the insn slot cache, the per-CPU hit state machine, and kretprobe
// instance bookkeeping. It patches text only through KernelMemory.
//
// Threading/ownership: single-threaded (the machine thread). Kprobe/Kretprobe objects are
// owned by the caller and referenced until unregistered. Mutators (register/unregister/
// enable/disable/arm/disarm) must never be called from inside a probe handler (asserted).
// The hit functions may nest (a handler that runs guest code on the same CPU): that is the
// recursion Linux counts in nmissed.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "probes/arch/kprobe_arch.h"
#include "probes/insn_slot_cache.h"
#include "probes/kernel_memory.h"
#include "probes/kprobe.h"
#include "probes/kprobe_entry.h"
#include "probes/kretprobe.h"
#include "probes/probe_context.h"
#include "probes/probe_costs.h"
#include "probes/regs.h"
#include "probes/symbol_source.h"

namespace probesim::probes {

constexpr unsigned kKprobeHashBits = 6;  // KPROBE_HASH_BITS: 64 buckets

struct KprobeConfig {
  uint32_t ncpus = 1;
  // x86: boost copies that can_boost allows (Linux without CONFIG_PREEMPTION). arm64: unused.
  bool boost = true;
  uint64_t clock_hz = kDefaultModelledClockHz;  // converts the cost table to cycles
  // debug.kprobes-optimization at start (Linux: on once init_optprobes ran).
  bool optimize = true;
  // OPTIMIZE_DELAY: 5 jiffies at HZ=250 (Debian's CONFIG_HZ), in virtual time.
  uint64_t optimize_delay_ns = 20'000'000;
  // kprobes_initialized at creation. false: the kernel is booting, register_kprobe makes early
  // kprobes until init_kprobes() (early_kprobes.cc).
  bool initialized = true;
  // THREAD_SIZE: kernel stacks are this many bytes and aligned to it (stack traces stay in
  // the one holding sp).
  uint64_t thread_size = 16384;
  // Scale of the modelled hit costs (1: Linux-like; 0: observer mode, hits charge nothing).
  double cost_scale = 1.0;
};

enum class HitDisposition : uint8_t {
  NotOurs,  // not a kprobe trap: deliver it as the OS would (SIGTRAP / oops)
  Handled,  // resume at regs.ip (write back regs.dirty())
  Fault,    // emulating the probed instruction faulted at fault_addr; regs.ip = the probe
  Bug,      // "Unrecoverable kprobe detected" (Linux BUG()): stop the machine
};

// What happened, for costs, traces and tests.
enum class HitKind : uint8_t {
  None,
  Stepped,          // pre handlers ran, ip = slot, a step trap will follow
  Boosted,          // pre handlers ran, ip = slot, the copy jumps back (no second trap)
  Emulated,         // pre handlers ran, instruction emulated, post handlers ran
  Skipped,          // a pre handler returned non-zero: no step, no post handler
  Missed,           // hit while another probe was running: nmissed++, no handlers
  StepDone,         // the step trap: post handlers ran
  KretprobeReturn,  // the trampoline: return handlers ran
  Stale,            // the breakpoint was removed meanwhile: re-execute the original
  Detour,           // int3 of a probe queued for optimization: pre handlers ran, ip = detour copy
  Optimized,        // optimized_callback from a detour buffer: pre handlers ran
};

struct HitResult {
  HitDisposition disposition = HitDisposition::NotOurs;
  HitKind kind = HitKind::None;
  Cycles cost{};           // modelled cost to charge to the CPU (probe_costs.h)
  GuestAddr fault_addr{};  // HitDisposition::Fault only
};

// A read-only view of one table entry (kprobes/list, tests, notebooks).
struct KprobeInfo {
  GuestAddr addr;
  bool aggregated = false;
  uint32_t flags = 0;
  bool armed = false;
  StepKind step = StepKind::Slot;
  GuestAddr slot{};
  bool boosted = false;
  std::vector<uint8_t> opcode;  // original bytes under the breakpoint
  std::vector<const Kprobe*> children;
  // optprobes: optimized = KPROBE_FLAG_OPTIMIZED (queued or jumped); jumped = `E9 rel32` is in
  // the text; opt_refusal = why it is not optimized (None when optimized).
  bool optimized = false;
  bool jumped = false;
  uint8_t poked = 0;  // text_poke_bp writes done towards the jump (0 none, 1 int3, 2 + tail)
  // Delayed unoptimizing (disabled, unregistered or sysctl off while the optimizer is kernel
  // work): on unoptimizing_list, the jump still in the text until the optimizer's steps.
  bool unoptimizing = false;
  bool unpoking = false;  // unoptimizing: the int3 is over the jump, its tail not back yet
  OptRefusal opt_refusal = OptRefusal::None;
  GuestAddr detour{};
  uint8_t opt_size = 0;                // bytes the jump replaces
  std::vector<uint8_t> detour_bytes;   // the detour buffer's contents
  bool early = false;  // registered before init_kprobes: its detour is a static early slot
};

class KprobeManager {
 public:
  KprobeManager(Arch arch, KernelMemory& mem, const SymbolSource& syms, KprobeConfig config = {});
  ~KprobeManager();
  KprobeManager(const KprobeManager&) = delete;
  KprobeManager& operator=(const KprobeManager&) = delete;

  // ---- registration (Linux errno in Error::err: EINVAL, ENOENT, EILSEQ, E2BIG, ENOMEM,
  // EOPNOTSUPP). Errors leave the probe unregistered.
  Result<void> register_kprobe(Kprobe& p);
  void unregister_kprobe(Kprobe& p);
  // register_kprobe in two steps, for kernel work that other CPUs interleave with
  // (emu/kthread/kprobe_register_work.h). _prepare does everything but the text write: the
  // entry is in the table, unarmed (arm_pending), so no CPU can hit it yet. _arm then writes the
  // breakpoint (__arm_kprobe under text_mutex), prepares the detour and queues the probe for
  // the optimizer; a probe unregistered or re-armed in between is left alone. A probe joining
  // an address that already has one is complete after _prepare (register_aggr_kprobe).
  Result<void> register_kprobe_prepare(Kprobe& p);
  Result<void> register_kprobe_arm(Kprobe& p);
  // Registers in order; on the first failure unregisters the ones already registered.
  Result<void> register_kprobes(std::span<Kprobe* const> kps);
  void unregister_kprobes(std::span<Kprobe* const> kps);
  Result<void> register_kretprobe(Kretprobe& rp);
  void unregister_kretprobe(Kretprobe& rp);
  Result<void> register_kretprobes(std::span<Kretprobe* const> rps);
  void unregister_kretprobes(std::span<Kretprobe* const> rps);
  Result<void> disable_kprobe(Kprobe& p);
  Result<void> enable_kprobe(Kprobe& p);
  // debugfs kprobes/enabled: arm_all_kprobes / disarm_all_kprobes; "1/y/Y" or "0/n/N".
  Result<void> arm_all_kprobes();
  Result<void> disarm_all_kprobes();
  Result<void> write_enabled(std::string_view value);
  bool all_disarmed() const { return all_disarmed_; }
  // Text [start, start+len) went away (init memory, a module): its probes become GONE, their
  // slots are freed, and the text is not written (kill_kprobe).
  void kill_kprobes_in_range(GuestAddr start, uint64_t len);

  // ---- kretprobe trampoline: the integrator names the image's `__kretprobe_trampoline`. Its
  // first instruction must trap: if it is not already the breakpoint, the engine writes one
  // (a hidden probe: never listed, never disarmed, refuses normal probes).
  Result<void> set_kretprobe_trampoline(GuestAddr tramp);
  GuestAddr kretprobe_trampoline() const { return trampoline_; }
  // kprobe_flush_task: recycles a dead task's pending kretprobe instances.
  void flush_task(TaskId task);
  size_t pending_instances(TaskId task) const;

  // ---- optprobes (kprobe_optimizer.cc). The integrator names the image's optimized_callback
  // (the detour buffers call it; the integrator calls optimized_callback() from it) and supplies virtual time and the
  // synchronize_rcu_tasks check (is any CPU or preempted task executing in [addr, addr+len)).
  void set_optimized_callback(GuestAddr callback) { opt_callback_ = callback; }
  using Clock = std::function<Cycles()>;
  using PcInRange = std::function<bool(GuestAddr addr, uint64_t len)>;
  void set_optimizer_hooks(Clock now, PcInRange pc_in_range);
  // debug.kprobes-optimization: off unoptimizes every probe now; on queues every optimizable
  // probe (proc_kprobes_optimization_handler).
  void set_optimization(bool on);
  bool optimization() const { return allow_optimization_; }
  // The delayed kprobe_optimizer: runs when `now` reached its due time (the integrator calls
  // this between quanta and before kernel calls).
  void run_optimizer_if_due(Cycles now);
  // wait_for_kprobe_optimizer: run the queued work now.
  void wait_for_optimizer();
  // The optimizer as kernel work (Linux: kprobe_optimizer is a delayed work item on a
  // kworker). With `queue` set, a due optimizer is handed to it (run_optimizer_if_due calls
  // it once per round) instead of running in place; the work then takes optimizer_batch() and
  // runs text_poke_bp's writes for each probe as separate steps (optimizer_poke), so CPUs run
  // between them. wait_for_optimizer still runs everything at once.
  void set_optimizer_work(std::function<void()> queue) { queue_optimizer_ = std::move(queue); }
  bool optimizer_as_work() const { return static_cast<bool>(queue_optimizer_); }
  // do_optimize_kprobes' list: the probes queued now (the due time is cleared).
  std::vector<GuestAddr> optimizer_batch();
  // text_poke_bp(addr, jmp, 5): the int3 at the first byte, then (after synchronize_rcu_tasks
  // and text_poke_sync) the rel32 tail, then the E9 opcode. arm64 writes its B at Opcode.
  enum class PokeStep : uint8_t { Int3, Tail, Opcode };
  // One step for the probe at addr, in order. False: the probe no longer waits for this step
  // (unregistered, unoptimized, or already jumped), or, at Tail, a CPU or task is executing
  // inside the range or the probe's slot: it stays queued for the next round.
  bool optimizer_poke(GuestAddr addr, PokeStep step);
  // Linux's delayed unoptimizing (kernel/kprobes.c unoptimize_kprobe(p, false) and the
  // optimizer's do_unoptimize_kprobes), in use while the optimizer is kernel work: disabling
  // (disable_kprobe, unregister_kprobe) a jump-optimized probe puts it on unoptimizing_list
  // and kicks the optimizer; the jump stays in the text meanwhile, and a CPU that takes it runs
  // no handler of the disabled probe (optimized_callback). An unregistered probe's entry stays
  // in the table, unused (no children), until the optimizer frees it; a registration at its
  // address reuses it (reuse_unused_kprobe), as does enabling a queued probe (the jump is kept).
  // Global disarm and the other callers unoptimize at once (force). Without kernel work every
  // unoptimizing is immediate.
  //
  // unoptimize_all_kprobes as kernel work: kprobes_allow_optimization off, probes not jumped
  // yet leave optimizing_list now, the jump-optimized ones join unoptimizing_list; returns
  // unoptimizer_batch(flag_early).
  std::vector<GuestAddr> unoptimize_all_batch(bool flag_early);
  // do_unoptimize_kprobes' list: the probes on unoptimizing_list now (each leaves it with its
  // Tail step). KPROBE_FLAG_OPTIMIZED stays set until the tail is back (Linux f66c0447cca1),
  // so a CPU that hits the int3 in between still goes through the detour's copy. flag_early
  // (bug toggle kprobe_unoptimize_flag_early) clears it here: such a CPU then steps the first
  // instruction and returns into the rel32 still in the text.
  std::vector<GuestAddr> unoptimizer_batch(bool flag_early);
  // (A forced unoptimizing of a queued probe writes the text at once and leaves the rest to the
  // batch: Linux's freeing_list.) arch_unoptimize_kprobe's writes as steps: the int3 over the
  // E9, then (text_poke_sync) the saved tail; then Disarm, arch_disarm_kprobe of a probe
  // disabled meanwhile (the original opcode), which also frees an unused entry (once no CPU is
  // stepping it). unoptimize_next: the step the probe at addr waits for, if any; unoptimize_poke
  // runs it, false (nothing done) when the probe does not wait for that step.
  enum class UnpokeStep : uint8_t { Int3, Tail, Disarm };
  std::optional<UnpokeStep> unoptimize_next(GuestAddr addr) const;
  bool unoptimize_poke(GuestAddr addr, UnpokeStep step);
  size_t unoptimizing_count() const { return unoptimizing_list_.size(); }
  bool unoptimizer_due() const { return !unoptimizing_list_.empty() || !freeing_list_.empty(); }
  std::optional<Cycles> optimizer_due() const { return optimizer_due_; }
  // OPTIMIZE_DELAY (a constant in Linux; tests and notebooks shorten it to see the optimizer
  // race with CPUs in a short run). Applies to the next kick.
  void set_optimize_delay_ns(uint64_t ns) { config_.optimize_delay_ns = ns; }
  size_t optimizing_count() const { return optimizing_list_.size(); }
  // optimized_callback(op, regs): op is the detour buffer's address. regs as saved by the
  // template; handlers see ip = addr + 1. The caller writes back GPRs and flags.
  HitResult optimized_callback(HitContext ctx, uint64_t op, Regs& regs);
  const InsnSlotCache* optinsn_slots() const { return optinsn_slots_.get(); }
  // The probe whose detour buffer is `op`, if any (what a hit of optimized_callback is for).
  std::optional<GuestAddr> optprobe_addr(uint64_t op) const;

  // ---- early kprobes (early_kprobes.cc; seed 002). Until init_kprobes, register_kprobe
  // installs each probe as a branch into a static slot of the image's pool (the integrator
  // names it: base, bytes per slot, CONFIG_NR_EARLY_KPROBES_SLOTS) and keeps it on the early
  // list; init_kprobes converts them into ordinary kprobes and sets kprobes_initialized.
  void set_early_kprobe_slots(GuestAddr base, size_t stride, size_t count);
  size_t early_slots_free() const;
  bool kprobes_initialized() const { return initialized_; }
  size_t init_kprobes();  // returns how many early kprobes it converted
  // Where the engine's kernel log lines go (pr_err of the early path).
  void set_printk(std::function<void(const std::string&)> fn) { printk_ = std::move(fn); }

  // ---- hits (from the CPU's trap hooks). regs: the trapping registers, x86 ip after the int3,
  // arm64 pc at the BRK. On Handled the caller resumes at regs.ip.
  HitResult on_breakpoint(HitContext ctx, Regs& regs);  // x86 int3 (both kinds), arm64 BRK #4
  HitResult on_ss_trap(HitContext ctx, Regs& regs);     // arm64 BRK #6 (x86: via on_breakpoint)
  // kprobe_fault_handler: the step faulted in the slot and the fault is not being retried.
  // Moves ip back to the probe and ends the step; true if it was a kprobe step.
  bool on_fault(HitContext ctx, Regs& regs);

  // ---- stack traces (stacktrace.cc)
  // stack_trace_save_regs(regs): at most `max` return addresses, innermost first; the first
  // is regs.ip. Linux's frame-pointer unwinder over the THREAD_SIZE stack holding regs.sp:
  // frame records (fp, return address) are followed from the frame pointer while they stay
  // inside that stack and move toward its top, and each return address is kernel text. A
  // caller the frame records do not show yet (a probe at a function's first instructions or
  // its `ret`) comes from the stack top or the link register (KprobeArch::
  // unframed_return_address). A return address that is the kretprobe trampoline is replaced
  // by the task's real one (ARCH_CORRECT_STACKTRACE_ON_KRETPROBE: kretprobe_find_ret_addr).
  std::vector<GuestAddr> stack_trace_save_regs(TaskId task, const Regs& regs, size_t max) const;
  // __kretprobe_find_ret_addr: the real return address behind the next trampoline address an
  // unwinder meets going outward; `cur` counts the task's instances consumed (start at 0).
  // Instances whose saved address is itself the trampoline (a second kretprobe on the same
  // function) are passed over. The trampoline's address when none is left.
  GuestAddr kretprobe_find_ret_addr(TaskId task, size_t& cur) const;

  // ---- inspection
  bool read_original(GuestAddr addr, std::span<uint8_t> out) const;  // bytes under breakpoints
  // Kernel code only probes run: the insn and optinsn slot pages (is_kprobe_insn_slot,
  // is_kprobe_optinsn_slot), the early-kprobe slot pool, the kretprobe trampoline and
  // optimized_callback (observer mode does not charge it).
  bool is_probe_code(GuestAddr addr) const;
  std::optional<KprobeInfo> info(GuestAddr addr) const;
  std::vector<GuestAddr> addresses() const;  // table order (kprobes/list order)
  std::string list() const;                  // debugfs kprobes/list
  bool kprobe_running(CpuId cpu) const { return ctlblk(cpu).current != nullptr; }
  // A CPU is still stepping the copy of an unregistered probe (its entry is retired, freed when
  // the CPU is done): what unregister_kprobes' synchronize_rcu waits for.
  bool stepping_unregistered() const;
  KprobeStatus status(CpuId cpu) const { return ctlblk(cpu).status; }
  const InsnSlotCache& insn_slots() const { return *slots_; }
  InsnSlotCache& insn_slots() { return *slots_; }
  const KprobeArch& arch() const { return *arch_; }
  // A path's modelled cycles at config().clock_hz scaled by cost_scale (computed once: a hit
  // asks on every pass).
  Cycles cost(ProbePath path) const { return path_cost_[static_cast<size_t>(path)]; }
  const KprobeConfig& config() const { return config_; }

 private:
  friend class KprobeHitScope;
  // table (kprobe_manager.cc)
  KprobeEntry* get_kprobe(GuestAddr addr) const;
  void hash_insert(KprobeEntry* e);
  void hash_remove(KprobeEntry* e);
  Result<void> arm_kprobe(KprobeEntry& e);
  void disarm_kprobe(KprobeEntry& e);
  TextReader original_text() const;
  KprobeCtlblk& ctlblk(CpuId cpu);
  const KprobeCtlblk& ctlblk(CpuId cpu) const;
  bool referenced_by_cpu(const KprobeEntry* e) const;
  void retire(std::unique_ptr<KprobeEntry> e);
  void reap_retired();
  void assert_not_in_handler(const char* what) const;
  // registration (kprobe_register.cc)
  Result<GuestAddr> kprobe_addr(const Kprobe& p) const;
  Result<void> check_address_safe(GuestAddr addr) const;
  Result<void> prepare_entry(KprobeEntry& e, const Kprobe& first);
  void remove_slot(KprobeEntry& e);
  void unboost(KprobeEntry& e);
  Result<void> register_aggr_kprobe(KprobeEntry& ap, Kprobe& p);
  Result<KprobeEntry*> disable_locked(Kprobe& p);
  KprobeEntry* valid_entry_of(const Kprobe& p) const;
  // optprobes (kprobe_optimizer.cc)
  void try_to_optimize_kprobe(KprobeEntry& e);
  OptRefusal optimize_check(const KprobeEntry& e) const;
  void optimize_kprobe(KprobeEntry& e);
  // Force: the text goes back now (force_unoptimize_kprobe). Delayed: a jump-optimized probe
  // joins unoptimizing_list (only while the optimizer is kernel work; else as Force).
  enum class Unoptimize : uint8_t { Force, Delayed };
  void unoptimize_kprobe(KprobeEntry& e, Unoptimize how = Unoptimize::Force);
  void queue_unoptimizing(KprobeEntry& e);
  void dequeue_unoptimizing(KprobeEntry& e);
  void unoptimize_now(GuestAddr addr);
  void free_unused(KprobeEntry& e);
  void remove_optimized_kprobe(KprobeEntry& e);
  void kill_optimized_kprobe(KprobeEntry& e);
  KprobeEntry* get_optimized_kprobe(GuestAddr addr) const;
  void kick_kprobe_optimizer();
  void kprobe_optimizer();
  bool poke_tail(KprobeEntry& e);
  void poke_done(KprobeEntry& e);
  bool tail_written(const KprobeEntry& e) const { return e.opt.jumped || e.opt.poked == 2; }
  size_t jump_tail() const;
  void arch_unoptimize_kprobe(KprobeEntry& e);
  bool has_post_handler(const KprobeEntry& e) const;
  void opt_pre_handler(KprobeEntry& e, KprobeCtlblk& kcb, Regs& regs);
  void fill_opt_info(const KprobeEntry& e, KprobeInfo& i) const;
  // early kprobes (early_kprobes.cc)
  Result<void> register_early_kprobe(Kprobe& p);
  Result<void> check_early_kprobe(const Kprobe& p) const;
  Result<OptPrep> prepare_early_jump(const KprobeEntry& e) const;
  Result<void> install_early_kprobe(KprobeEntry& e, GuestAddr slot);
  std::optional<GuestAddr> alloc_early_slot();
  void free_early_slot(GuestAddr slot);
  void printk(const std::string& line) const;
  // hits (kprobe_hit.cc)
  int call_pre_handlers(KprobeEntry& e, KprobeCtlblk& kcb, Regs& regs);
  void call_post_handlers(KprobeEntry& e, KprobeCtlblk& kcb, Regs& regs);
  void inc_nmissed(KprobeEntry& e);
  HitResult setup_singlestep(KprobeEntry& e, KprobeCtlblk& kcb, Regs& regs, bool reenter);
  HitResult reenter_kprobe(KprobeEntry& e, KprobeCtlblk& kcb, Regs& regs);
  HitResult finish_step(KprobeCtlblk& kcb, Regs& regs);
  void post_process(KprobeEntry& e, KprobeCtlblk& kcb, Regs& regs);
  HitResult handle_stale(GuestAddr addr, Regs& regs) const;
  // kretprobes (kretprobe_manager.cc)
  int pre_handler_kretprobe(Kretprobe& rp, Regs& regs);
  HitResult kretprobe_trampoline_handler(KprobeCtlblk& kcb, Regs& regs);

  struct InstanceRef {
    std::shared_ptr<KretprobeHolder> holder;
    KretprobeInstance* ri = nullptr;
  };

  Arch arch_kind_;
  KernelMemory& mem_;
  const SymbolSource& syms_;
  KprobeConfig config_;
  std::unique_ptr<KprobeArch> arch_;
  std::unique_ptr<InsnSlotCache> slots_;

  // kprobe_table: ownership by address; buckets give Linux's listing order (hash_ptr, 6 bits,
  // head insertion). Mutated only by the registration functions.
  std::map<uint64_t, std::unique_ptr<KprobeEntry>> entries_;
  std::array<std::vector<KprobeEntry*>, 1u << kKprobeHashBits> buckets_;
  // Entries unregistered while a CPU was still inside their step; freed when no CPU is.
  std::vector<std::unique_ptr<KprobeEntry>> retired_;
  bool all_disarmed_ = false;

  std::vector<KprobeCtlblk> cpus_;  // per-CPU state, index = CpuId
  KprobeEntry busy_entry_;          // kprobe_busy: the dummy "running" probe
  int in_handler_ = 0;              // depth of user handler calls (mutators assert 0)
  HitContext hit_ctx_{};            // the hit being processed (kretprobe entry needs the task)

  GuestAddr trampoline_{};
  bool trampoline_written_ = false;
  std::array<uint8_t, 4> trampoline_opcode_{};
  std::unordered_map<TaskId, std::vector<InstanceRef>> kretprobe_instances_;  // back = head

  // optprobes: kprobe_optinsn_slots (null: the arch has none), optimizing_list, the delayed
  // work's due time, detour address -> entry (optimized_callback's op).
  std::unique_ptr<InsnSlotCache> optinsn_slots_;
  GuestAddr opt_callback_{};
  bool allow_optimization_ = true;  // kprobes_allow_optimization
  std::array<Cycles, static_cast<size_t>(ProbePath::kCount)> path_cost_{};
  std::vector<KprobeEntry*> optimizing_list_;
  std::vector<KprobeEntry*> unoptimizing_list_;  // delayed unoptimizing (opt.unopt_queued)
  std::vector<GuestAddr> freeing_list_;  // forced off unoptimizing_list: disarm/free pending
  std::optional<Cycles> optimizer_due_;
  Clock now_;
  PcInRange pc_in_range_;
  std::unordered_map<uint64_t, KprobeEntry*> by_detour_;
  std::function<void()> queue_optimizer_;  // set_optimizer_work

  // early kprobes: kprobes_initialized, early_kprobe_hlist (newest first; entries_ owns
  // them), the static slot pool (a slot is in use iff early_used_[i]).
  bool initialized_ = true;
  std::vector<KprobeEntry*> early_list_;
  GuestAddr early_pool_{};
  size_t early_stride_ = 0;
  std::vector<bool> early_used_;
  std::function<void(const std::string&)> printk_;
};

// "%px  %s  %s+0x%x  %s " + [GONE][DISABLED][OPTIMIZED][FTRACE] (kprobes/list report_probe).
std::string format_kprobe_list_line(GuestAddr addr, bool kretprobe, std::string_view sym,
                                    uint64_t offset, uint32_t probe_flags, uint32_t entry_flags);

// hash_ptr(addr, KPROBE_HASH_BITS): Linux's golden-ratio bucket of an address.
unsigned kprobe_hash(GuestAddr addr);

}  // namespace probesim::probes
