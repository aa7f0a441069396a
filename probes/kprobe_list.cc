// debugfs kprobes/list (Linux show_kprobe_addr / report_probe): one line per probe, buckets in
// hash order, aggregate children in list order.
#include <cinttypes>
#include <cstdio>

#include "probes/kprobe_manager.h"

namespace probesim::probes {

std::string format_kprobe_list_line(GuestAddr addr, bool kretprobe, std::string_view sym,
                                    uint64_t offset, uint32_t probe_flags, uint32_t entry_flags) {
  char head[256];
  if (!sym.empty()) {
    // "%px  %s  %s+0x%x  %s " with modname NULL printed as " ".
    std::snprintf(head, sizeof head, "%016" PRIx64 "  %s  %.*s+0x%" PRIx64 "    ", addr.value,
                  kretprobe ? "r" : "k", static_cast<int>(sym.size()), sym.data(), offset);
  } else {
    std::snprintf(head, sizeof head, "%016" PRIx64 "  %s  0x%" PRIx64 " ", addr.value,
                  kretprobe ? "r" : "k", addr.value);
  }
  std::string line = head;
  const bool gone = probe_flags & kKprobeFlagGone;
  if (gone) line += "[GONE]";
  if ((probe_flags & kKprobeFlagDisabled) && !gone) line += "[DISABLED]";
  if (entry_flags & kKprobeFlagOptimized) line += "[OPTIMIZED]";
  if (entry_flags & kKprobeFlagFtrace) line += "[FTRACE]";
  line += "\n";
  return line;
}

std::string KprobeManager::list() const {
  std::string out;
  for (const auto& bucket : buckets_) {
    for (const KprobeEntry* e : bucket) {
      const auto fn = syms_.function_containing(e->addr);
      const std::string_view sym = fn ? std::string_view(fn->name) : std::string_view{};
      const uint64_t off = fn ? e->addr - fn->addr : 0;
      for (const Kprobe* k : e->children) {
        const uint32_t ef = e->flags() | (e->opt.flag ? kKprobeFlagOptimized : 0);
        out += format_kprobe_list_line(e->addr, k->kretprobe() != nullptr, sym, off, k->flags, ef);
      }
    }
  }
  return out;
}

}  // namespace probesim::probes
