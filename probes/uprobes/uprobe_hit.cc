// UprobeManager: the hit path (Linux uprobe_pre_sstep_notifier -> handle_swbp,
// handler_chain, pre_ssout, handle_singlestep, the XOL area and its slots).
#include <algorithm>
#include <cerrno>
#include <exception>

#include "mmu/vm_flags.h"
#include "probes/uprobes/uprobe_manager.h"
#include "probes/uprobes/user_memory.h"
#include "probesim/assert.h"

namespace probesim::probes {

UprobeHitResult UprobeManager::result(UprobeDisposition d, UprobeHitKind k, UprobePath path) const {
  return UprobeHitResult{d, k, cost(path), {}};
}

UprobeHitResult UprobeManager::on_breakpoint(HitContext ctx, mmu::Mm& mm, Regs& regs) {
  UprobeTask* ut = find_utask(ctx.task);
  if (arch_kind_ == Arch::X86_64 && ut && ut->state == UtaskState::Sstep &&
      arch_->is_ss_trap(ut->active_uprobe->arch, ut->xol_vaddr, regs)) {
    return handle_singlestep(*ut, regs);  // x86: the int3 after the copy (arm64: BRK #6)
  }
  const MmUprobeState* st = find_state(mm);
  const bool pending = ut && !ut->return_instances.empty();
  if ((!st || !st->has_uprobes) && !pending) return {};  // not ours: SIGTRAP
  const GuestAddr bp = arch_->swbp_addr(regs);
  if (st && st->xol && bp == st->xol->vaddr) return handle_trampoline(ut, regs);
  return handle_swbp(ctx, mm, regs);
}

UprobeHitResult UprobeManager::on_ss_trap(HitContext ctx, mmu::Mm&, Regs& regs) {
  UprobeTask* ut = find_utask(ctx.task);
  if (!ut || ut->state != UtaskState::Sstep ||
      !arch_->is_ss_trap(ut->active_uprobe->arch, ut->xol_vaddr, regs)) {
    return {};
  }
  return handle_singlestep(*ut, regs);
}

bool UprobeManager::on_fault(HitContext ctx, mmu::Mm&, Regs& regs) {
  UprobeTask* ut = find_utask(ctx.task);
  if (!ut || ut->state != UtaskState::Sstep) return false;
  arch_->abort_xol(ut->active_uprobe->arch, ut->vaddr, regs, ut->saved);  // ip = the probe
  end_step(*ut);
  return true;
}

// handle_swbp: find the uprobe by vma -> (inode, offset); handlers see ip = the probe.
UprobeHitResult UprobeManager::handle_swbp(HitContext ctx, mmu::Mm& mm, Regs& regs) {
  const GuestAddr bp = arch_->swbp_addr(regs);
  const mmu::Vma* vma = mm.vma_at(bp);
  Uprobe* u = nullptr;
  if (vma && uprobe_valid_vma(*vma, false)) {
    u = find_uprobe(vma->vm_file, (vma->vm_pgoff << kPageShift) + (bp - vma->vm_start));
  }
  if (!u) return no_uprobe(mm, bp, vma, regs);
  regs.set_ip(bp);
  ++u->nhit;
  UprobeTask& ut = utask(ctx.task, mm);
  handler_chain(u, ut, mm, regs);
  // A handler that moved ip takes execution elsewhere: the instruction is not run.
  if (regs.ip() != bp)
    return result(UprobeDisposition::Handled, UprobeHitKind::Emulated, UprobePath::Trap);
  if (!u->arch.emulate) return pre_ssout(u, ut, mm, bp, regs);
  MmUserMemory mem(mm);
  const EmulateResult er = arch_->emulate(u->arch, bp, regs, mem);
  UprobeHitResult r = result(er.ok ? UprobeDisposition::Handled : UprobeDisposition::Fault,
                             UprobeHitKind::Emulated, UprobePath::Trap);
  r.fault_addr = er.fault_addr;
  r.mid_block = er.ok && !u->arch.branch;
  return r;
}

// No uprobe at bp: the program's own trap instruction gets SIGTRAP; otherwise the breakpoint
// raced with unregister (or the vma went away) and the instruction is restarted.
UprobeHitResult UprobeManager::no_uprobe(mmu::Mm& mm, GuestAddr bp, const mmu::Vma* vma,
                                         Regs& regs) {
  bool is_swbp = false;
  if (vma) {
    uint8_t cur[8];
    const size_t n = arch_->swbp().size();
    is_swbp = mm.peek(bp, cur, n) && arch_->is_trap_insn(std::span<const uint8_t>(cur, n));
  }
  if (const MmUprobeState* st = find_state(mm); st && st->recalc) mmf_recalc_uprobes(mm);
  if (is_swbp) return {};
  regs.set_ip(bp);
  return result(UprobeDisposition::Handled, UprobeHitKind::Restarted, UprobePath::Trap);
}

// handler_chain: every consumer, newest first. Return instances are collected for consumers
// with a ret_handler whose handler did not return REMOVE or IGNORE; if every handler asked
// for REMOVE and no consumer wants this mm any more, the breakpoint leaves this mm.
void UprobeManager::handler_chain(Uprobe* u, UprobeTask& ut, mmu::Mm& mm, Regs& regs) {
  std::vector<ReturnConsumer> ret;
  bool remove = true;
  const std::vector<UprobeConsumer*> consumers = u->consumers;  // handlers cannot mutate it
  for (UprobeConsumer* c : consumers) {
    int rc = 0;
    uint64_t cookie = 0;
    if (c->handler) {
      HandlerScope scope(in_handler_);
      ++c->nhit;
      rc = c->handler(*c, regs, cookie);
      PROBESIM_ASSERT_MSG(rc >= 0 && rc <= UPROBE_HANDLER_IGNORE, "bad uprobe handler return");
    }
    remove = remove && rc == UPROBE_HANDLER_REMOVE;
    if (c->ret_handler && rc != UPROBE_HANDLER_REMOVE && rc != UPROBE_HANDLER_IGNORE) {
      ret.push_back({c->id, cookie});
    }
  }
  if (!ret.empty()) prepare_uretprobe(u, ut, mm, regs, std::move(ret));
  if (remove && !consumers.empty() && !filter_chain(u, mm)) unapply_uprobe(u, mm);
}

// pre_ssout: a slot of this mm's XOL area gets the copy; ip = the slot. No XOL area or no
// free slot: restart at bp (Linux loops the same way; another task frees its slot first).
UprobeHitResult UprobeManager::pre_ssout(Uprobe* u, UprobeTask& ut, mmu::Mm& mm, GuestAddr bp,
                                         Regs& regs) {
  PROBESIM_ASSERT_MSG(ut.state == UtaskState::Running,
                      "a breakpoint hit while the task is stepping an XOL copy");
  Result<XolArea*> area = get_xol_area(mm);
  auto free_slot = area ? std::find(area.value()->bitmap.begin(), area.value()->bitmap.end(), false)
                        : std::vector<bool>::iterator{};
  if (!area || free_slot == area.value()->bitmap.end()) {
    return result(UprobeDisposition::Handled, UprobeHitKind::Restarted, UprobePath::Trap);
  }
  XolArea& xa = *area.value();
  *free_slot = true;
  const GuestAddr xol = xa.vaddr + (free_slot - xa.bitmap.begin()) * xa.slot_bytes;
  std::vector<uint8_t> cur(u->arch.ixol.size());
  PROBESIM_ASSERT(mm.peek(xol, cur.data(), cur.size()));
  if (cur != u->arch.ixol) {  // arch_uprobe_copy_ixol (skipped when identical, as arm64)
    PROBESIM_ASSERT(mm.poke(xol, u->arch.ixol.data(), u->arch.ixol.size()));
    host_.invalidate(mm, xol, u->arch.ixol.size());
  }
  ut.saved = arch_->pre_xol(u->arch, bp, xol, regs);
  ut.state = UtaskState::Sstep;
  ut.active_uprobe = u;
  ++u->ref;
  ut.vaddr = bp;
  ut.xol_vaddr = xol;
  return result(UprobeDisposition::Handled, UprobeHitKind::Stepped, UprobePath::Trap);
}

UprobeHitResult UprobeManager::handle_singlestep(UprobeTask& ut, Regs& regs) {
  arch_->post_xol(ut.active_uprobe->arch, ut.vaddr, regs, ut.saved);
  end_step(ut);
  // Instructions that transfer control are emulated, never stepped: ip is the next one.
  UprobeHitResult r = result(UprobeDisposition::Handled, UprobeHitKind::StepDone,
                             UprobePath::SingleStep);
  r.mid_block = true;
  return r;
}

// xol_free_insn_slot + put_uprobe of the active uprobe.
void UprobeManager::end_step(UprobeTask& ut) {
  auto it = mms_.find(ut.mm);
  if (it != mms_.end() && it->second.xol) {
    XolArea& xa = *it->second.xol;
    const uint64_t slot = (ut.xol_vaddr - xa.vaddr) / xa.slot_bytes;
    PROBESIM_ASSERT(slot > 0 && slot < xa.bitmap.size() && xa.bitmap[slot]);
    xa.bitmap[slot] = false;
  }
  Uprobe* u = ut.active_uprobe;
  ut.active_uprobe = nullptr;
  ut.state = UtaskState::Running;
  put_uprobe(u);
}

// get_xol_area / __create_xol_area: one "[uprobes]" page, as high as possible (hint
// TASK_SIZE - PAGE_SIZE, else mmap_base), or at `at` (a forked child returning through the parent's
// trampoline). Slot 0 is reserved for the uretprobe trampoline.
Result<XolArea*> UprobeManager::get_xol_area(mmu::Mm& mm, std::optional<GuestAddr> at) {
  MmUprobeState& st = state(mm);
  if (st.xol) return &*st.xol;
  using namespace mmu;
  GuestAddr hint = at ? *at : mm.layout().task_size - kPageSize;
  // Under the stack (the usual case), go just above the top-down mmap area instead: a page
  // placed there never moves the program's later mmaps, so a probed run lays out memory as an
  // unprobed one (probes are transparent; replays with probes added stay exact).
  if (!at && mm.vma_at(hint)) hint = mm.layout().mmap_base;
  const GuestAddr vaddr = PROBESIM_TRY(mm.install_special_mapping(
      hint, kPageSize, VM_EXEC | VM_MAYEXEC | VM_DONTCOPY | VM_IO, "[uprobes]"));
  if (at && vaddr != *at) {
    PROBESIM_ASSERT(mm.munmap(vaddr, kPageSize) == 0);
    return Error::make("uprobes: the child's XOL area cannot be placed at the parent's", ENOMEM);
  }
  XolArea xa{vaddr, std::vector<bool>(kPageSize / arch_->xol_slot_bytes(), false),
             arch_->xol_slot_bytes()};
  xa.bitmap[0] = true;
  const std::vector<uint8_t> tramp = arch_->trampoline();
  PROBESIM_ASSERT(mm.poke(vaddr, tramp.data(), tramp.size()));
  host_.invalidate(mm, vaddr, tramp.size());
  st.xol = std::move(xa);
  return &*st.xol;
}

}  // namespace probesim::probes
