// UprobeManager: the uprobes engine (Linux kernel/events/uprobes.c, v6.14 semantics), one per
// machine. It owns the uprobes tree (ordered by (inode number, offset)), the per-mm state
// (MMF_HAS_UPROBES, MMF_RECALC_UPROBES, the "[uprobes]" XOL area) and the per-task state
// (the active out-of-line step, the uretprobe return-instance stack). It reads and writes
// guest memory only through mmu::Mm (breakpoints go into replaced pages:
// Mm::write_private_page) and asks the integrator to drop cached translations through
// UprobeHost.
//
// Threading/ownership: machine thread only. UprobeConsumers are owned by the caller and must
// outlive their registration. The Inodes and Mms passed in must outlive their use here: an
// Mm's state goes with uprobe_clear_state, a task's with uprobe_free_utask. Mutators
// (register/unregister/apply and the mm hooks) must not be called from inside a handler
// (asserted).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mmu/inode.h"
#include "mmu/mm.h"
#include "probes/probe_context.h"
#include "probes/probe_costs.h"
#include "probes/regs.h"
#include "probes/uprobes/uprobe.h"
#include "probes/uprobes/uprobe_arch.h"
#include "probes/uprobes/uprobe_costs.h"
#include "probes/uprobes/uprobe_task.h"
#include "probesim/result.h"

namespace probesim::probes {

// Implemented by the machine.
class UprobeHost {
 public:
  virtual ~UprobeHost() = default;
  // Guest code at [addr, addr+len) of mm changed (a breakpoint armed or disarmed, an XOL slot
  // filled): drop every cached translation of it in mm's CPU engine (if it has one) before
  // mm executes its next instruction. Run changes also arrive through MmObserver.
  virtual void invalidate(mmu::Mm& mm, GuestAddr addr, uint64_t len) = 0;
};

struct UprobeConfig {
  uint64_t clock_hz = kDefaultModelledClockHz;  // converts the cost table to cycles
  double cost_scale = 1.0;  // 1: Linux-like hit costs; 0: observer mode (hits charge nothing)
};

enum class UprobeDisposition : uint8_t {
  NotOurs,  // not a uprobe trap: deliver SIGTRAP as Linux would
  Handled,  // resume at regs.ip (write back regs.dirty())
  Fault,    // emulating the probed insn faulted at fault_addr; regs.ip = the probe: SIGSEGV
  Sigill,   // the trampoline was hit with no return instance: SIGILL
};

enum class UprobeHitKind : uint8_t {
  None,
  Emulated,         // handlers ran, the instruction was emulated/simulated (or skipped)
  Stepped,          // handlers ran, ip = the XOL slot; a step trap follows
  StepDone,         // the step trap: ip = after the original instruction
  Restarted,        // no uprobe (raced with unregister, or vma gone): ip = bp, re-execute
  UretprobeReturn,  // the trampoline: ret_handlers ran, ip = the real return address
};

struct UprobeHitResult {
  UprobeDisposition disposition = UprobeDisposition::NotOurs;
  UprobeHitKind kind = UprobeHitKind::None;
  Cycles cost{};           // modelled cost to charge (uprobe_costs.h)
  GuestAddr fault_addr{};  // UprobeDisposition::Fault only
  // ip continues inside the block of the unprobed program that held the probed instruction
  // (after its out-of-line step, or its emulation when it is no branch): no block boundary.
  bool mid_block = false;
};

// Introspection views.
struct UprobeConsumerInfo {
  uint64_t id;
  bool has_handler, has_ret_handler, has_filter;
  uint64_t nhit, nret;
};
struct UprobeInfo {
  const Uprobe* uprobe;
  uint64_t ino;
  FileOffset offset;
  uint64_t ref_ctr_offset;  // 0 = none
  int ref;
  uint64_t nhit;
  bool emulated;                              // skip_sstep (no XOL step)
  std::vector<uint8_t> insn;                  // the original instruction bytes
  std::vector<uint8_t> ixol;                  // the XOL slot contents (empty when emulated)
  std::vector<UprobeConsumerInfo> consumers;  // newest first
};
struct MmUprobeFlags {
  bool has_uprobes = false;  // MMF_HAS_UPROBES
  bool recalc = false;       // MMF_RECALC_UPROBES
};

class UprobeManager {
 public:
  static constexpr unsigned kMaxUretprobeDepth = 64;  // MAX_URETPROBE_DEPTH

  UprobeManager(Arch arch, UprobeHost& host, UprobeConfig config = {});
  ~UprobeManager();
  UprobeManager(const UprobeManager&) = delete;
  UprobeManager& operator=(const UprobeManager&) = delete;

  // ---- registration (Linux errno in Error::err). uprobe_register: EINVAL no handler /
  // offset beyond i_size / misaligned / consumer already registered, EIO nothing to read,
  // 524 (ENOTSUPP) a trap instruction already there or an instruction XOL cannot handle,
  // ENOEXEC undecodable (x86), EINVAL rejected (arm64). The instruction is analysed here,
  // from the page cache (Linux defers it to the first install; we report it at once).
  // Then every mm mapping the page (i_mmap stabbing query) whose filter wants it is armed.
  // ref_ctr_offset (0 = none): the SDT semaphore, a short at that file offset; EINVAL when
  // odd, or when the uprobe at (inode, offset) exists with another one. Arming a breakpoint
  // in an mm adds 1 to it there (in the writable private mapping of the file holding it, or
  // later, when such a mapping appears), disarming subtracts 1 (uprobe_ref_ctr.cc).
  Result<Uprobe*> uprobe_register(mmu::Inode& inode, FileOffset offset, UprobeConsumer& uc,
                                  uint64_t ref_ctr_offset = 0);
  // uprobe_unregister_nosync + _sync: removes uc; breakpoints go from every mm that no
  // remaining consumer wants (the private page is dropped when identical to the file page).
  void uprobe_unregister(Uprobe* uprobe, UprobeConsumer& uc);
  // uprobe_apply: re-runs install (add) or removal for uc after its filter changed.
  Result<void> uprobe_apply(Uprobe* uprobe, UprobeConsumer& uc, bool add);

  // ---- registration as steps (the machine's kworker runs them between scheduling points,
  // Linux's uprobe_register split where it takes and drops sleeping locks). uprobe_register
  // is prepare + register_for_each_vma(build_map_info, then register_one for each entry).
  struct MapInfo {
    mmu::Mm* mm;
    GuestAddr vaddr;
  };
  // Everything before register_for_each_vma: the checks, alloc_uprobe (uprobes_treelock) and
  // consumer_add. On a later failure the caller undoes it with uprobe_unregister.
  Result<Uprobe*> uprobe_register_prepare(mmu::Inode& inode, FileOffset offset, UprobeConsumer& uc,
                                          uint64_t ref_ctr_offset = 0);
  // build_map_info: the (mm, vaddr) of every VMA of the inode's i_mmap tree that maps the
  // probed page and is valid_vma (the caller holds i_mmap_rwsem for read).
  std::vector<MapInfo> build_map_info(const Uprobe* u, bool is_register);
  // The re-validation under mmap_lock (seed 000, Linux register_for_each_vma): mm's VMA at
  // vaddr is still valid_vma, of u's file, and vaddr still maps u's offset.
  bool map_info_valid(const Uprobe* u, const MapInfo& mi, bool is_register) const;
  // One entry of a registration (the caller holds mi.mm's mmap_lock for write): install if
  // uc's filter wants mm. `revalidate` false re-creates the bug fixed in v6 of the uprobes
  // patch set (seed 000, changelog item 6): the breakpoint goes to whatever maps vaddr now.
  Result<void> register_one(Uprobe* u, UprobeConsumer& uc, const MapInfo& mi, bool revalidate);
  // Unregistration as steps (uprobe_unregister_nosync): consumer_del (under register_rwsem),
  // build_map_info(u, false), unregister_one per entry, then uprobe_unregister_finish. The
  // caller's reference (the consumer's) keeps u alive until finish.
  void uprobe_unregister_prepare(Uprobe* u, UprobeConsumer& uc);
  // One entry (the caller holds mi.mm's mmap_lock for write): if the vma still maps u's offset
  // and no remaining consumer wants mm, the breakpoint goes.
  void unregister_one(Uprobe* u, const MapInfo& mi);
  // Out of the tree with its last consumer; drops the consumer's reference.
  void uprobe_unregister_finish(Uprobe* u);

  // ---- invariants at a quiescent point (no registration between its steps), as messages,
  // empty when they hold; never asserts (a race the model re-creates breaks them).
  // Each of `mms` (the live address spaces): (a) every breakpoint in a replaced page of a file
  // VMA sits at an offset of a uprobe of that VMA's file ("no replaced page belongs to a vma
  // of another file"); (b) every VMA that maps a probed (inode, offset) and passes valid_vma
  // holds the breakpoint there when the uprobe's consumers have no filter (filters are
  // callbacks: the check never calls them).
  struct NamedMm {
    const mmu::Mm* mm;
    std::string name;  // for messages ("pid 101")
  };
  // `armed` false checks (a) only (it holds at every moment, also between a registration's
  // steps).
  std::vector<std::string> check_breakpoints(std::span<const NamedMm> mms, bool armed) const;

  // ---- hooks the machine calls (mmap_lock held, no handler running)
  // A new mapping of a file (mmap, exec's segments; NOT fork's copies): arm the uprobes in
  // its range that some consumer wants for mm.
  void uprobe_mmap(mmu::Mm& mm, const mmu::Vma& vma);
  void uprobe_mmap_all(mmu::Mm& mm);  // every file VMA of mm (after exec)
  // Before [start, end) of vma is unmapped: marks mm for recalculation if it held probes.
  void uprobe_munmap(mmu::Mm& mm, const mmu::Vma& vma, GuestAddr start, GuestAddr end);
  // fork's dup_mmap, after Mm::dup: the child inherits the flags (breakpoints came with the
  // copied pages; the XOL area is VM_DONTCOPY).
  void uprobe_dup_mmap(const mmu::Mm& oldmm, mmu::Mm& newmm);
  // A new task. A real fork (!same_mm) of a parent with pending return instances gets a copy
  // of them and an XOL area at the parent's address, so it can return through the trampoline.
  Result<void> uprobe_copy_process(TaskId parent, TaskId child, mmu::Mm& child_mm, bool same_mm);
  void uprobe_clear_state(const mmu::Mm& mm);  // the mm dies (exit, exec): forget it
  void uprobe_free_utask(TaskId task);         // the task exits or execs

  // ---- hits. regs: the trapping registers (x86 ip after the int3, arm64 pc at the BRK).
  // x86 int3 (probe, XOL step end, trampoline) and arm64 BRK #5 (probe, trampoline).
  UprobeHitResult on_breakpoint(HitContext ctx, mmu::Mm& mm, Regs& regs);
  // arm64 BRK #6 after an XOL copy (x86 steps end in on_breakpoint; calling this is fine too).
  UprobeHitResult on_ss_trap(HitContext ctx, mmu::Mm& mm, Regs& regs);
  // A fault (or a signal that must be delivered) while the task is stepping an XOL copy:
  // aborts the step, regs.ip = the probe address, so the signal is reported there. True if
  // the task was stepping.
  bool on_fault(HitContext ctx, mmu::Mm& mm, Regs& regs);

  // ---- introspection
  std::vector<UprobeInfo> uprobes_of(const mmu::Inode& inode) const;  // by offset
  size_t count() const { return tree_.size(); }
  // Bytes as the program sees them, with the original instructions under our breakpoints.
  bool read_original(const mmu::Mm& mm, GuestAddr addr, std::span<uint8_t> out) const;
  MmUprobeFlags mm_flags(const mmu::Mm& mm) const;
  std::optional<GuestAddr> xol_vaddr(const mmu::Mm& mm) const;
  std::optional<GuestAddr> xol_slot(TaskId task) const;  // the slot of an active step
  std::vector<ReturnInstanceInfo> return_instances(TaskId task) const;  // head first
  Cycles cost(UprobePath path) const;
  // Kernel messages (Linux's pr_warn of uprobes.c, e.g. "ref_ctr going negative...").
  void set_printk(std::function<void(const std::string&)> fn) { printk_ = std::move(fn); }
  struct Stats {
    uint64_t map_info = 0;               // (mm, vaddr) pairs found by register_for_each_vma
    uint64_t installs = 0, removes = 0;  // breakpoint bytes written / restored
    uint64_t depth_skipped = 0;          // uretprobes not armed because depth reached 64
  };
  const Stats& stats() const { return stats_; }
  const UprobeArch& arch() const { return *arch_; }
  // Asserts refcounts (ref = consumers + active steps + return instances), tree membership,
  // consumer back-links and XOL slot accounting.
  void verify() const;

 private:
  using Key = std::pair<uint64_t, uint64_t>;  // (i_ino, offset): deterministic order

  // tree and lifetime (uprobe_manager.cc)
  Uprobe* find_uprobe(const mmu::Inode* inode, uint64_t offset) const;
  template <class F>
  void for_each_in_range(const mmu::Inode* inode, uint64_t first, uint64_t last, F&& f) const;
  Result<Uprobe*> alloc_uprobe(mmu::Inode& inode, FileOffset offset, uint64_t ref_ctr_offset);
  void put_uprobe(Uprobe* u);
  MmUprobeState& state(const mmu::Mm& mm) { return mms_[&mm]; }
  const MmUprobeState* find_state(const mmu::Mm& mm) const;
  void assert_not_in_handler(const char* what) const;
  // registration (uprobe_register.cc)
  Result<void> register_for_each_vma(Uprobe* u, UprobeConsumer* uc);
  Result<void> install_breakpoint(Uprobe* u, mmu::Mm& mm, GuestAddr vaddr);
  void remove_breakpoint(Uprobe* u, mmu::Mm& mm, GuestAddr vaddr);
  Result<void> write_opcode(Uprobe* u, mmu::Mm& mm, GuestAddr vaddr, bool is_register);
  bool filter_chain(const Uprobe* u, const mmu::Mm& mm) const;
  void mmf_recalc_uprobes(mmu::Mm& mm);
  void unapply_uprobe(Uprobe* u, mmu::Mm& mm);
  // SDT reference counters (uprobe_ref_ctr.cc)
  Result<void> update_ref_ctr(Uprobe* u, mmu::Mm& mm, int d);
  Result<void> poke_ref_ctr(const Uprobe& u, mmu::Mm& mm, GuestAddr vaddr, int d);
  void delayed_ref_ctr_inc(mmu::Mm& mm, const mmu::Vma& vma);
  void forget_delayed(const Uprobe* u);  // every mm's entries of u (the uprobe goes)
  void printk(const std::string& line) const;
  // invariants (uprobe_invariants.cc)
  void check_replaced_pages(const NamedMm& m, std::vector<std::string>& out) const;
  void check_armed(const Uprobe& u, const NamedMm& m, std::vector<std::string>& out) const;
  // hits (uprobe_hit.cc)
  UprobeHitResult handle_swbp(HitContext ctx, mmu::Mm& mm, Regs& regs);
  UprobeHitResult no_uprobe(mmu::Mm& mm, GuestAddr bp, const mmu::Vma* vma, Regs& regs);
  void handler_chain(Uprobe* u, UprobeTask& ut, mmu::Mm& mm, Regs& regs);
  UprobeHitResult pre_ssout(Uprobe* u, UprobeTask& ut, mmu::Mm& mm, GuestAddr bp, Regs& regs);
  UprobeHitResult handle_singlestep(UprobeTask& ut, Regs& regs);
  void end_step(UprobeTask& ut);
  Result<XolArea*> get_xol_area(mmu::Mm& mm, std::optional<GuestAddr> at = std::nullopt);
  UprobeTask& utask(TaskId task, mmu::Mm& mm);
  UprobeTask* find_utask(TaskId task);
  const UprobeTask* find_utask(TaskId task) const;
  UprobeHitResult result(UprobeDisposition d, UprobeHitKind k, UprobePath path) const;
  // uretprobes (uretprobe.cc)
  void prepare_uretprobe(Uprobe* u, UprobeTask& ut, mmu::Mm& mm, Regs& regs,
                         std::vector<ReturnConsumer> consumers);
  void cleanup_return_instances(UprobeTask& ut, bool chained, const Regs& regs);
  UprobeHitResult handle_trampoline(UprobeTask* ut, Regs& regs);
  void handle_uretprobe_chain(const ReturnInstance& ri, Regs& regs);

  Arch arch_kind_;
  UprobeHost& host_;
  UprobeConfig config_;
  std::unique_ptr<UprobeArch> arch_;
  // uprobes_tree: the uprobes with consumers. Mutated only by register/unregister.
  std::map<Key, std::unique_ptr<Uprobe>> tree_;
  // Uprobes out of the tree but still referenced by a step or a return instance.
  std::vector<std::unique_ptr<Uprobe>> retired_;
  std::unordered_map<const mmu::Mm*, MmUprobeState> mms_;  // lookups only (never iterated
                                                           // for behaviour: host order)
  std::unordered_map<TaskId, UprobeTask> utasks_;
  uint64_t next_consumer_id_ = 0;
  int in_handler_ = 0;  // depth of user handler calls (mutators assert 0)
  Stats stats_;
  std::function<void(const std::string&)> printk_;
};

// Calls f(Uprobe*) for each uprobe of inode with offset in [first, last], ascending
// (find_node_in_range + rb_prev/rb_next walk).
template <class F>
void UprobeManager::for_each_in_range(const mmu::Inode* inode, uint64_t first, uint64_t last,
                                      F&& f) const {
  for (auto it = tree_.lower_bound(Key{inode->i_ino(), first});
       it != tree_.end() && it->first.first == inode->i_ino() && it->first.second <= last; ++it) {
    f(it->second.get());
  }
}

// valid_vma (v6): file-backed, may-exec, private, not hugetlb; registering also needs !write.
bool uprobe_valid_vma(const mmu::Vma& vma, bool is_register);

}  // namespace probesim::probes
