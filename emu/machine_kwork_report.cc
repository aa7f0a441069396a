// MachineState, kernel work side (issue 16): races named in kernel terms. Guest syscalls that
// change an address space while the kworker has work queued are logged with the kworker's
// step count then; a preemption of (or by) the kworker is told as "task 100 munmap()ed
// [a, b) between build_map_info and mmap_write_lock at 0x.. of task 2 kworker/0:1
// (uprobe_register(..))"; in kprobe work (text pokes racing with CPUs executing the text),
// the task that ran instead: "task 101 ran between text_poke breakpoint over the jump at 0x..
// <ksys_write+0x0/0x18> and text_poke original tail at .. of task 2 kworker/0:1 (..)".
#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "emu/machine_state.h"
#include "mmu/inode.h"
#include "mmu/mm.h"

namespace probesim::emu {
namespace {

// A kworker step counts as this many retired instructions (machine_kwork.cc).
constexpr uint64_t kStepInsns = 1000;
constexpr uint64_t kCloneVm = 0x100;  // include/uapi/linux/sched.h
constexpr size_t kShownOps = 4;       // syscalls named per race; the rest are counted

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

std::string range(uint64_t start, uint64_t len) {
  const uint64_t end = (start + len + kPageSize - 1) & ~(kPageSize - 1);
  return "[" + hex(start) + ", " + hex(end) + ")";
}

struct Call {
  SyscallContext& ctx;
  const SyscallArgs& a;
  int64_t ret;
};

std::string fmt_mmap(Call c) {
  const uint64_t at = static_cast<uint64_t>(c.ret);
  std::string s = "mmap()ed " + range(at, c.a.a[1]);
  const mmu::Vma* v = c.ctx.mm().vma_at(GuestAddr{at});
  if (v && v->vm_file)
    s += " of " + v->vm_file->name() + " at offset " +
         hex((v->vm_pgoff << kPageShift) + (at - v->vm_start.value));
  return s;
}
std::string fmt_munmap(Call c) { return "munmap()ed " + range(c.a.a[0], c.a.a[1]); }
std::string fmt_mprotect(Call c) { return "mprotect()ed " + range(c.a.a[0], c.a.a[1]); }
std::string fmt_madvise(Call c) { return "madvise()d " + range(c.a.a[0], c.a.a[1]); }
std::string fmt_mremap(Call c) {
  return "mremap()ed " + range(c.a.a[0], c.a.a[1]) + " to " +
         range(static_cast<uint64_t>(c.ret), c.a.a[2]);
}
std::string fmt_brk(Call c) { return "brk()ed to " + hex(static_cast<uint64_t>(c.ret)); }
std::string fmt_fork(Call c) { return "fork()ed pid " + std::to_string(c.ret); }
std::string fmt_clone(Call c) {
  if (c.a.a[0] & kCloneVm) return "clone()d task " + std::to_string(c.ret);  // shares the mm
  return "fork()ed pid " + std::to_string(c.ret) + " (clone)";
}

// The syscalls that change an address space (they take mmap_lock for write; fork copies one
// under dup_mmap_sem), and how a report names what each did.
struct RacingFormat {
  std::string_view name;
  std::string (*fmt)(Call);
};
constexpr RacingFormat kRacingFormats[] = {
    {"mmap", fmt_mmap},         {"munmap", fmt_munmap}, {"mprotect", fmt_mprotect},
    {"madvise", fmt_madvise},   {"mremap", fmt_mremap}, {"brk", fmt_brk},
    {"fork", fmt_fork},         {"vfork", fmt_fork},    {"clone", fmt_clone},
};

// The kworker's kprobe works, as their describe() begins (emu/kthread/kprobe_work.h).
constexpr std::string_view kKprobeWorks[] = {"register_kprobe(", "unregister_kprobe(",
                                             "kprobe_optimizer", "unoptimize_all_kprobes"};

// "build_map_info of uprobe_register(x)" -> {"build_map_info", "uprobe_register(x)"}.
std::pair<std::string, std::string> split_step(std::string what) {
  constexpr std::string_view kBlocked = " (blocked)";
  if (what.ends_with(kBlocked)) what.resize(what.size() - kBlocked.size());
  const size_t of = what.find(" of ");
  if (of == std::string::npos) return {what, ""};
  return {what.substr(0, of), what.substr(of + 4)};
}

}  // namespace

void MachineState::note_racing_syscall(SyscallContext& ctx, const SyscallArgs& a,
                                       std::string_view name, int64_t ret) {
  if (ret < 0 || !kworker_->front() || racing_syscalls_.size() >= kMaxRacingSyscalls) return;
  for (const RacingFormat& f : kRacingFormats) {
    if (f.name != name) continue;
    racing_syscalls_.push_back({ctx.task().tid(), kworker_->steps, f.fmt(Call{ctx, a, ret})});
    return;
  }
}

namespace {

// "task 100 munmap()ed [..), mmap()ed [..) of F at offset 0x0; task 101 ..." (consecutive
// syscalls of one task grouped). Of more than kShownOps, the first and last kShownOps / 2 are
// named (the last ones left the mappings as the kworker finds them) and the rest counted.
std::string name_syscalls(const std::vector<const MachineState::RacingSyscall*>& ops) {
  std::string s;
  int tid = -1;
  const size_t n = ops.size(), half = kShownOps / 2;
  for (size_t i = 0; i < n; ++i) {
    if (n > kShownOps && i >= half && i < n - half) {
      if (i == half) s += ", .. (" + std::to_string(n - kShownOps) + " more) ..";
      continue;
    }
    if (ops[i]->tid != tid) {
      s += (s.empty() ? "task " : "; task ") + std::to_string(ops[i]->tid) + " ";
      tid = ops[i]->tid;
    } else {
      s += ", ";
    }
    s += ops[i]->what;
  }
  return s;
}

}  // namespace

std::string MachineState::kernel_race(int tid, uint64_t insns, int next_tid, uint64_t next_from,
                                      uint64_t next_until) const {
  if (!kworker_ || (tid != KernelThread::kPid && next_tid != KernelThread::kPid)) return "";
  const std::string kw = "task " + std::to_string(KernelThread::kPid) + " " +
                         kworker_->comm();
  // The step with index i that completed (the last entry: blocked attempts come first).
  auto step = [&](uint64_t i) -> std::pair<std::string, std::string> {
    const KernelStep* found = nullptr;
    for (const KernelStep& k : kernel_steps_)
      if (k.index == i) found = &k;
    return found ? split_step(found->what) : std::pair<std::string, std::string>{};
  };
  if (tid == KernelThread::kPid) {  // preempted between steps k-1 and k
    const uint64_t k = insns / kStepInsns;
    std::vector<const RacingSyscall*> ops;
    for (const RacingSyscall& r : racing_syscalls_)
      if (r.kworker_steps == k && r.tid != KernelThread::kPid) ops.push_back(&r);
    auto [before, work] = k ? step(k - 1) : std::pair<std::string, std::string>{};
    auto [after, next_work] = step(k);
    std::string between = before.empty() ? "before " + after
                          : after.empty() ? "after " + before
                                          : "between " + before + " and " + after;
    const std::string& w = work.empty() ? next_work : work;
    // Kprobe work's text pokes race with CPUs executing that text, not with mapping changes:
    // the task that ran instead is named.
    const bool pokes = std::any_of(std::begin(kKprobeWorks), std::end(kKprobeWorks),
                                   [&w](std::string_view k) { return w.starts_with(k); });
    std::string s = !ops.empty()             ? name_syscalls(ops) + " "
                    : pokes && next_tid > 0 ? "task " + std::to_string(next_tid) + " ran "
                                            : "no other task changed a mapping ";
    return s + between + " of " + kw + " (" + w + ")";
  }
  // The kworker ran steps [next_from, next_until) / kStepInsns while task `tid` was preempted.
  const uint64_t first = next_from / kStepInsns, end = next_until / kStepInsns;
  if (end <= first) return kw + " ran no step of its work while task " + std::to_string(tid) +
                           " was preempted";
  auto [from_step, work] = step(first);
  auto [to_step, to_work] = step(end - 1);
  std::string s = kw + " ran " + from_step + (end - first > 1 ? " .. " + to_step : "") + " of " +
                  work + " while task " + std::to_string(tid) + " was preempted";
  const RacingSyscall* last = nullptr;  // the preempted task's last change before that
  for (const RacingSyscall& r : racing_syscalls_)
    if (r.tid == tid && r.kworker_steps <= first) last = &r;
  return last ? s + " (after it " + last->what + ")" : s;
}

}  // namespace probesim::emu
