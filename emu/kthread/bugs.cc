#include "emu/kthread/bugs.h"

#include <algorithm>
#include <cerrno>

namespace probesim::emu {
namespace {

constexpr BugToggle kBugs[] = {
    {"uprobe_no_revalidate",
     "register_for_each_vma installs the breakpoint at the vaddr build_map_info found without "
     "re-validating the vma under mmap_lock (find_vma, same file, same offset): a munmap and "
     "mmap of another file in between get the breakpoint written into that file's page",
     "uprobes patch set v6 (Srikar Dronamraju, LKML 2011-11-10, \"Uprobes: register/unregister "
     "probes\", changelog item 6: \"validate the vma found by find_vma before "
     "inserting/removing the breakpoint\"); kept in kernel/events/uprobes.c "
     "register_for_each_vma since v3.5"},
    {"kprobe_unoptimize_flag_early",
     "unoptimize_kprobe clears KPROBE_FLAG_OPTIMIZED when it queues the probe for delayed "
     "unoptimizing, before the optimizer has put the text back: a CPU that hits the int3 "
     "written over the jump's first byte single-steps the first instruction and returns into "
     "the jump's rel32, still in the text (x86; arm64's B is one instruction)",
     "Linux commit f66c0447cca1 (Masami Hiramatsu, \"kprobes: Set unoptimized flag after "
     "unoptimizing code\", fixing 6274de4984a6 \"kprobes: Support delayed "
     "unoptimizing\"): the flag is cleared only after the code is completely unoptimized"},
    {"uprobe_no_dup_mmap_sem",
     "register_for_each_vma does not exclude fork (no dup_mmap_sem): a fork between "
     "build_map_info and the installs copies the parent's page before its breakpoint is "
     "written, and the child, not in the map_info list, is never probed (a missed breakpoint)",
     "commit 32cdba1e0541 (Oleg Nesterov, v3.8), \"uprobes: Use percpu_rw_semaphore to fix "
     "register/unregister vs dup_mmap() race\": percpu_down_write(dup_mmap_sem) in "
     "register_for_each_vma, percpu_down_read around dup_mmap; the race dates from "
     "268720903f87 \"uprobes: Rework register_for_each_vma() to make it O(n)\""},
};

}  // namespace

std::span<const BugToggle> bug_toggles() { return kBugs; }

Result<void> check_bug_names(const std::vector<std::string>& names) {
  for (const std::string& n : names) {
    auto it = std::find_if(std::begin(kBugs), std::end(kBugs),
                           [&](const BugToggle& b) { return n == b.name; });
    if (it != std::end(kBugs)) continue;
    std::string known;
    for (const BugToggle& b : kBugs) known += std::string(known.empty() ? "" : ", ") + b.name;
    return Error::make("unknown bug toggle '" + n + "' (known: " + known + ")", EINVAL);
  }
  return {};
}

}  // namespace probesim::emu
