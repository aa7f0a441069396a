// UprobeManager: return probes (Linux prepare_uretprobe, cleanup_return_instances,
// handle_trampoline, handle_uretprobe_chain) and the per-task lifecycle
// (uprobe_copy_process, uprobe_free_utask).
#include <algorithm>

#include "probes/uprobes/uprobe_manager.h"
#include "probes/uprobes/user_memory.h"
#include "probesim/assert.h"

namespace probesim::probes {

// prepare_uretprobe: the return address (x86 [sp], arm64 x30) is replaced by the trampoline
// (slot 0 of the XOL area). A frame whose return address is already the trampoline is
// "chained" to the previous instance and inherits its real return address.
void UprobeManager::prepare_uretprobe(Uprobe* u, UprobeTask& ut, mmu::Mm& mm, Regs& regs,
                                      std::vector<ReturnConsumer> consumers) {
  Result<XolArea*> area = get_xol_area(mm);
  if (!area) return;
  if (ut.return_instances.size() >= kMaxUretprobeDepth) {
    ++stats_.depth_skipped;  // "uprobe: omit uretprobe due to call depth"
    return;
  }
  const GuestAddr tramp = area.value()->vaddr;
  MmUserMemory mem(mm);
  const std::optional<GuestAddr> orig = arch_->hijack_return_addr(tramp, regs, mem);
  if (!orig) return;
  const bool chained = *orig == tramp;
  cleanup_return_instances(ut, chained, regs);
  GuestAddr real = *orig;
  if (chained) {
    if (ut.return_instances.empty()) return;  // "unable to find previous return instance"
    real = ut.return_instances.back().orig_ret_vaddr;
  }
  ++u->ref;
  ut.return_instances.push_back(
      ReturnInstance{u, regs.ip(), regs.sp(), real, chained, std::move(consumers)});
}

// Drops the instances of frames that are gone without returning (longjmp): their stack
// pointer is below the current one.
void UprobeManager::cleanup_return_instances(UprobeTask& ut, bool chained, const Regs& regs) {
  const RpCheck ctx = chained ? RpCheck::ChainCall : RpCheck::Call;
  while (!ut.return_instances.empty() &&
         !arch_->is_alive(ut.return_instances.back().stack, ctx, regs)) {
    Uprobe* u = ut.return_instances.back().uprobe;
    ut.return_instances.pop_back();
    put_uprobe(u);
  }
}

// handle_trampoline: pops the head chain (the instances sharing one frame). The chain is
// valid if the next older instance is still alive; otherwise the head was abandoned by a
// longjmp: it is dropped without handlers and the next chain is tried.
UprobeHitResult UprobeManager::handle_trampoline(UprobeTask* ut, Regs& regs) {
  if (!ut || ut->return_instances.empty()) {
    return result(UprobeDisposition::Sigill, UprobeHitKind::None, UprobePath::UretprobeReturn);
  }
  auto& ris = ut->return_instances;
  bool valid = false;
  while (!valid && !ris.empty()) {
    size_t head_chain = ris.size() - 1;  // the chain: [head_chain, size)
    while (head_chain > 0 && ris[head_chain].chained) --head_chain;
    valid = head_chain == 0 || arch_->is_alive(ris[head_chain - 1].stack, RpCheck::Ret, regs);
    regs.set_ip(ris.back().orig_ret_vaddr);
    while (ris.size() > head_chain) {
      ReturnInstance ri = std::move(ris.back());
      ris.pop_back();  // not pending any more before its handlers run
      if (valid) handle_uretprobe_chain(ri, regs);
      put_uprobe(ri.uprobe);
    }
  }
  return result(UprobeDisposition::Handled, UprobeHitKind::UretprobeReturn,
                UprobePath::UretprobeReturn);
}

// ret_handlers of the consumers that armed this instance and are still registered.
void UprobeManager::handle_uretprobe_chain(const ReturnInstance& ri, Regs& regs) {
  const std::vector<UprobeConsumer*> consumers = ri.uprobe->consumers;
  for (UprobeConsumer* c : consumers) {
    auto it = std::find_if(ri.consumers.begin(), ri.consumers.end(),
                           [&](const ReturnConsumer& rc) { return rc.id == c->id; });
    if (it == ri.consumers.end() || !c->ret_handler) continue;
    uint64_t cookie = it->cookie;
    HandlerScope scope(in_handler_);
    ++c->nret;
    c->ret_handler(*c, ri.func, regs, cookie);
  }
}

Result<void> UprobeManager::uprobe_copy_process(TaskId parent, TaskId child, mmu::Mm& child_mm,
                                                bool same_mm) {
  assert_not_in_handler("uprobe_copy_process");
  uprobe_free_utask(child);
  const UprobeTask* p = find_utask(parent);
  if (same_mm || !p || p->return_instances.empty()) return {};
  const MmUprobeState* pst = find_state(*p->mm);
  PROBESIM_ASSERT_MSG(pst && pst->xol, "return instances without an XOL area");
  PROBESIM_TRY_VOID(get_xol_area(child_mm, pst->xol->vaddr));  // dup_xol_work
  UprobeTask& c = utask(child, child_mm);
  c.return_instances = p->return_instances;
  for (ReturnInstance& ri : c.return_instances) ++ri.uprobe->ref;
  return {};
}

void UprobeManager::uprobe_free_utask(TaskId task) {
  UprobeTask* ut = find_utask(task);
  if (!ut) return;
  if (ut->state == UtaskState::Sstep) end_step(*ut);
  for (ReturnInstance& ri : ut->return_instances) put_uprobe(ri.uprobe);
  utasks_.erase(task);
}

}  // namespace probesim::probes
