// UprobeManager: the breakpoint invariants checked at quiescent points (issue 16). They are
// reported, never asserted: the machine's bug toggles re-create kernel races that break them.
#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "probes/uprobes/uprobe_manager.h"

namespace probesim::probes {
namespace {

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%#" PRIx64, v);
  return buf;
}

uint64_t vaddr_to_offset(const mmu::Vma& v, GuestAddr vaddr) {
  return (v.vm_pgoff << kPageShift) + (vaddr - v.vm_start);
}

}  // namespace

std::vector<std::string> UprobeManager::check_breakpoints(std::span<const NamedMm> mms,
                                                          bool armed) const {
  std::vector<std::string> out;
  for (const NamedMm& m : mms) check_replaced_pages(m, out);
  if (!armed) return out;
  for (const auto& [key, u] : tree_) {
    bool filtered = std::any_of(u->consumers.begin(), u->consumers.end(),
                                [](const UprobeConsumer* c) { return bool(c->filter); });
    if (filtered) continue;
    for (const NamedMm& m : mms) check_armed(*u, m, out);
  }
  return out;
}

// A breakpoint instruction in a replaced page where the page cache has none must be a uprobe
// of that VMA's file at that offset.
void UprobeManager::check_replaced_pages(const NamedMm& m, std::vector<std::string>& out) const {
  const std::span<const uint8_t> swbp = arch_->swbp();
  std::vector<uint8_t> file(kPageSize);
  for (const mmu::Vma* v : m.mm->vmas()) {
    if (!v->vm_file || v->replaced.empty()) continue;
    for (const auto& [page, copy] : v->replaced) {
      const uint64_t page_off = vaddr_to_offset(*v, GuestAddr{page});
      std::fill(file.begin(), file.end(), 0);
      if (!v->vm_file->i_mapping().read(FileOffset{page_off}, file)) continue;
      for (uint64_t i = 0; i + swbp.size() <= kPageSize; i += swbp.size()) {
        const uint8_t* at = copy.data() + i;
        if (!std::equal(swbp.begin(), swbp.end(), at) ||
            std::equal(swbp.begin(), swbp.end(), file.data() + i))
          continue;
        if (find_uprobe(v->vm_file, page_off + i)) continue;
        out.push_back(m.name + ": a breakpoint at " + hex(page + i) + " in a replaced page of " +
                      v->vm_file->name() + " (file offset " + hex(page_off + i) +
                      "), where that file has no uprobe: left behind by an unregistration, or "
                      "written for another file");
      }
    }
  }
}

// Every VMA of m that maps u's (inode, offset) and passes valid_vma holds the breakpoint.
void UprobeManager::check_armed(const Uprobe& u, const NamedMm& m,
                                std::vector<std::string>& out) const {
  const std::span<const uint8_t> swbp = arch_->swbp();
  for (const mmu::Vma* v : m.mm->vmas()) {
    if (v->vm_file != u.inode || !uprobe_valid_vma(*v, true)) continue;
    const uint64_t first = vaddr_to_offset(*v, v->vm_start);
    if (u.offset.value < first || u.offset.value >= first + v->len()) continue;
    const GuestAddr vaddr = v->vm_start + (u.offset.value - first);
    uint8_t cur[8];
    if (!m.mm->peek(vaddr, cur, swbp.size())) continue;  // beyond EOF: nothing to arm
    if (std::equal(swbp.begin(), swbp.end(), cur)) continue;
    out.push_back(m.name + ": no breakpoint at " + hex(vaddr.value) + ", which maps " +
                  u.inode->name() + " at the probed offset " + hex(u.offset.value) +
                  ": a missed breakpoint");
  }
}

}  // namespace probesim::probes
