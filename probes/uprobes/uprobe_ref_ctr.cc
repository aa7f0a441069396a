// SDT reference counters ("USDT semaphores"), Linux kernel/events/uprobes.c since v4.20:
// a uprobe registered with ref_ctr_offset keeps, in every mm where its breakpoint is armed, a
// short at that file offset raised by one, so that the program can test whether anyone
// probes it (STAP_PROBE's semaphore). The counter lives in a writable private mapping of the
// same file (the .probes section sits in the data segment); when none is mapped yet, the
// increment waits in the mm's delayed list and uprobe_mmap applies it.
#include <algorithm>
#include <cerrno>

#include "mmu/vm_flags.h"
#include "probes/uprobes/uprobe_manager.h"
#include "probesim/hex.h"

namespace probesim::probes {
namespace {

// valid_ref_ctr_vma: a writable private mapping of u's file that contains the counter.
bool valid_ref_ctr_vma(const Uprobe& u, const mmu::Vma& v) {
  using namespace mmu;
  if (!u.ref_ctr_offset || v.vm_file != u.inode) return false;
  if ((v.vm_flags & (VM_WRITE | VM_SHARED)) != VM_WRITE) return false;
  const uint64_t first = v.vm_pgoff << kPageShift;
  return u.ref_ctr_offset >= first && u.ref_ctr_offset - first < v.len();
}

GuestAddr ref_ctr_vaddr(const Uprobe& u, const mmu::Vma& v) {
  return v.vm_start + (u.ref_ctr_offset - (v.vm_pgoff << kPageShift));
}

const mmu::Vma* find_ref_ctr_vma(const Uprobe& u, const mmu::Mm& mm) {
  for (const mmu::Vma* v : mm.vmas())
    if (valid_ref_ctr_vma(u, *v)) return v;
  return nullptr;
}

}  // namespace

void UprobeManager::printk(const std::string& line) const {
  if (printk_) printk_(line);
}

// __update_ref_ctr: the short at vaddr += d, written as the kernel does (FOLL_FORCE into this
// mm's private copy); a value that would go negative is left alone: EINVAL.
Result<void> UprobeManager::poke_ref_ctr(const Uprobe& u, mmu::Mm& mm, GuestAddr vaddr, int d) {
  int16_t v = 0;
  if (!mm.peek(vaddr, &v, sizeof v)) {
    return Error::make("uprobe: the reference counter at " + hex(vaddr.value) + " is unreadable",
                       EFAULT);
  }
  if (v + d < 0) {
    printk("ref_ctr going negative. vaddr: " + hex(vaddr.value) + ", curr val: " +
           std::to_string(v) + ", delta: " + std::to_string(d));
    return Error::make("uprobe: the reference counter of " + u.inode->name() + ":" +
                           hex(u.offset.value) + " would go negative",
                       EINVAL);
  }
  v = static_cast<int16_t>(v + d);
  if (!mm.poke(vaddr, &v, sizeof v)) {
    return Error::make("uprobe: the reference counter at " + hex(vaddr.value) + " is unwritable",
                       EFAULT);
  }
  return {};
}

// update_ref_ctr: +1 when a breakpoint goes in, -1 when it comes out. Without a mapping of
// the counter, +1 is remembered (once per (uprobe, mm)) and -1 forgets that.
Result<void> UprobeManager::update_ref_ctr(Uprobe* u, mmu::Mm& mm, int d) {
  if (const mmu::Vma* v = find_ref_ctr_vma(*u, mm)) {
    Result<void> r = poke_ref_ctr(*u, mm, ref_ctr_vaddr(*u, *v), d);
    if (!r) {
      printk(std::string("ref_ctr ") + (d > 0 ? "increment" : "decrement") +
             " failed for inode: " + hex(u->inode->i_ino()) + " offset: " + hex(u->offset.value) +
             " ref_ctr_offset: " + hex(u->ref_ctr_offset));
    }
    if (d > 0) return r;
    std::erase(state(mm).delayed_ref_ctr, u);
    return r;
  }
  std::vector<Uprobe*>& delayed = state(mm).delayed_ref_ctr;
  if (d < 0) {
    std::erase(delayed, u);
  } else if (std::find(delayed.begin(), delayed.end(), u) == delayed.end()) {
    delayed.push_back(u);
  }
  return {};
}

// delayed_ref_ctr_inc: vma is a new writable private file mapping of mm; every delayed
// counter it holds gets its +1 now.
void UprobeManager::delayed_ref_ctr_inc(mmu::Mm& mm, const mmu::Vma& vma) {
  auto it = mms_.find(&mm);
  if (it == mms_.end() || !it->second.has_uprobes) return;
  std::vector<Uprobe*>& delayed = it->second.delayed_ref_ctr;
  for (size_t i = 0; i < delayed.size();) {
    Uprobe* u = delayed[i];
    if (!valid_ref_ctr_vma(*u, vma)) {
      ++i;
      continue;
    }
    if (Result<void> r = poke_ref_ctr(*u, mm, ref_ctr_vaddr(*u, vma), 1); !r) {
      printk("Failed to update ref_ctr of inode: " + hex(u->inode->i_ino()) +
             " offset: " + hex(u->offset.value) + " ref_ctr_offset: " + hex(u->ref_ctr_offset));
    }
    delayed.erase(delayed.begin() + static_cast<std::ptrdiff_t>(i));
  }
}

void UprobeManager::forget_delayed(const Uprobe* u) {
  for (auto& [mm, st] : mms_) std::erase(st.delayed_ref_ctr, u);  // order-independent
}

}  // namespace probesim::probes
