// KprobeManager: kretprobes (Linux register_kretprobe, pre_handler_kretprobe,
// __kretprobe_trampoline_handler, kprobe_flush_task) with a per-task LIFO instance list.
#include <algorithm>
#include <cerrno>

#include "probes/kprobe_manager.h"
#include "probesim/assert.h"

namespace probesim::probes {

Result<void> KprobeManager::set_kretprobe_trampoline(GuestAddr tramp) {
  assert_not_in_handler("set_kretprobe_trampoline");
  PROBESIM_ASSERT_MSG(trampoline_.value == 0, "the kretprobe trampoline is set once");
  if (get_kprobe(tramp)) return Error::make("a kprobe is registered on the trampoline", EINVAL);
  const auto bp = arch_->breakpoint();
  if (!mem_.read(tramp, std::span<uint8_t>(trampoline_opcode_.data(), bp.size()))) {
    return Error::make("kretprobe trampoline is not readable", EINVAL);
  }
  if (!std::equal(bp.begin(), bp.end(), trampoline_opcode_.begin())) {
    if (!mem_.write_text(tramp, bp)) return Error::make("cannot arm the trampoline", EINVAL);
    trampoline_written_ = true;
  }
  trampoline_ = tramp;
  return {};
}

Result<void> KprobeManager::register_kretprobe(Kretprobe& rp) {
  assert_not_in_handler("register_kretprobe");
  PROBESIM_ASSERT_MSG(trampoline_.value != 0, "register_kretprobe before set_kretprobe_trampoline");
  // kprobe_on_func_entry: the resolved address must be a function's first instruction.
  auto addr = kprobe_addr(rp.kp);
  if (!addr) return addr.take_error();
  const auto fn = syms_.function_containing(*addr);
  if (!fn || fn->addr != *addr) {
    return Error::make("kretprobe must be on a function entry (offset 0)", EINVAL);
  }
  if (rp.kp.owner_ != nullptr) return Error::make("kretprobe is already registered", EINVAL);
  // kretprobe_blacklist (x86: __switch_to switches stacks under the hijacked return).
  if (arch_kind_ == Arch::X86_64) {
    if (auto sw = syms_.lookup("__switch_to"); sw && sw->addr == *addr) {
      return Error::make("__switch_to is in the kretprobe blacklist", EINVAL);
    }
  }
  if (rp.data_size > Kretprobe::kMaxDataSize) {
    return Error::make("kretprobe data_size exceeds KRETPROBE_MAX_DATA_SIZE", E2BIG);
  }
  if (rp.maxactive > Kretprobe::kMaxActive) {
    return Error::make("kretprobe maxactive " + std::to_string(rp.maxactive) +
                           " exceeds KRETPROBE_MAXACTIVE_MAX (" +
                           std::to_string(Kretprobe::kMaxActive) + ")",
                       E2BIG);
  }
  rp.kp.pre_handler = [this, &rp](Kprobe&, Regs& regs) { return pre_handler_kretprobe(rp, regs); };
  rp.kp.post_handler = nullptr;
  if (rp.maxactive <= 0) rp.maxactive = static_cast<int>(std::max<uint32_t>(10, 2 * config_.ncpus));
  rp.holder_ = std::make_shared<KretprobeHolder>(&rp, static_cast<size_t>(rp.maxactive),
                                                 rp.data_size);
  rp.nmissed = 0;
  if (auto r = register_kprobe(rp.kp); !r) {
    rp.holder_->rp = nullptr;
    rp.holder_.reset();
    return r;
  }
  return {};
}

void KprobeManager::unregister_kretprobe(Kretprobe& rp) {
  unregister_kprobe(rp.kp);
  if (rp.holder_) {
    rp.holder_->rp = nullptr;  // in-flight instances still repair their return, silently
    rp.holder_.reset();
  }
}

Result<void> KprobeManager::register_kretprobes(std::span<Kretprobe* const> rps) {
  if (rps.empty()) return Error::make("register_kretprobes of an empty array", EINVAL);
  for (size_t i = 0; i < rps.size(); ++i) {
    if (auto r = register_kretprobe(*rps[i]); !r) {
      unregister_kretprobes(rps.first(i));
      return r;
    }
  }
  return {};
}

void KprobeManager::unregister_kretprobes(std::span<Kretprobe* const> rps) {
  for (Kretprobe* rp : rps) unregister_kretprobe(*rp);
}

// pre_handler_kretprobe: take an instance (none: nmissed), run entry_handler (non-zero: give
// it back, no return hook), hijack the return address, push on the task's list.
int KprobeManager::pre_handler_kretprobe(Kretprobe& rp, Regs& regs) {
  KretprobeInstance* ri = rp.holder_->get();
  if (!ri) {
    ++rp.nmissed;
    return 0;
  }
  ri->task = hit_ctx_.task;
  if (rp.entry_handler && rp.entry_handler(*ri, regs) != 0) {
    rp.holder_->put(ri);
    return 0;
  }
  const auto h = arch_->hijack_return(regs, mem_, trampoline_);
  if (!h) {
    rp.holder_->put(ri);
    ++rp.nmissed;
    return 0;
  }
  ri->ret_addr = h->ret_addr;
  ri->fp = h->fp;
  kretprobe_instances_[hit_ctx_.task].push_back(InstanceRef{rp.holder_, ri});
  return 0;
}

// The trampoline trapped: the function returned. Under kprobe_busy, find the real return
// address (instances above it are chained kretprobes on the same frame whose saved address
// is the trampoline itself), run each handler newest-first with regs.ip = the real address,
// recycle the instances, and resume there.
HitResult KprobeManager::kretprobe_trampoline_handler(KprobeCtlblk& kcb, Regs& regs) {
  auto it = kretprobe_instances_.find(hit_ctx_.task);
  if (it == kretprobe_instances_.end() || it->second.empty()) return {};
  auto& list = it->second;
  size_t first = list.size();  // index of the instance holding the real return address
  while (first > 0 && list[first - 1].ri->ret_addr == trampoline_) --first;
  if (first == 0) return {};
  --first;
  const GuestAddr correct = list[first].ri->ret_addr;
  const GuestAddr frame = arch_->trampoline_frame(regs);

  const KprobeCtlblk saved = kcb;  // kprobe_busy_begin
  kcb.current = &busy_entry_;
  kcb.status = KprobeStatus::HitActive;
  arch_->return_to(regs, correct);
  while (list.size() > first) {
    InstanceRef ref = std::move(list.back());
    list.pop_back();
    Kretprobe* rp = ref.ri->rp();
    if (rp && rp->handler && ref.ri->fp == frame) {
      ref.ri->ret_addr = correct;
      ++in_handler_;
      rp->handler(*ref.ri, regs);
      --in_handler_;
    }
    ref.holder->put(ref.ri);
  }
  kcb = saved;  // kprobe_busy_end
  if (list.empty()) kretprobe_instances_.erase(it);
  arch_->return_to(regs, correct);  // handlers cannot redirect the return
  return {HitDisposition::Handled, HitKind::KretprobeReturn, cost(ProbePath::KretprobeReturn)};
}

void KprobeManager::flush_task(TaskId task) {
  auto it = kretprobe_instances_.find(task);
  if (it == kretprobe_instances_.end()) return;
  for (auto& ref : it->second) ref.holder->put(ref.ri);
  kretprobe_instances_.erase(it);
}

size_t KprobeManager::pending_instances(TaskId task) const {
  auto it = kretprobe_instances_.find(task);
  return it == kretprobe_instances_.end() ? 0 : it->second.size();
}

}  // namespace probesim::probes
