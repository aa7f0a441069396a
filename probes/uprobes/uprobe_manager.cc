// UprobeManager: the uprobes tree, uprobe lifetime, per-mm/per-task state lookups,
// introspection and verify. Registration is in uprobe_register.cc, hits in uprobe_hit.cc,
// return probes in uretprobe.cc.
#include "probes/uprobes/uprobe_manager.h"

#include <algorithm>
#include <cstring>

#include "mmu/inode_cache.h"
#include "mmu/vm_flags.h"
#include "probesim/assert.h"
#include "probesim/hex.h"

namespace probesim::probes {

bool uprobe_valid_vma(const mmu::Vma& vma, bool is_register) {
  using namespace mmu;
  const uint32_t mask = VM_HUGETLB | VM_MAYEXEC | VM_MAYSHARE | (is_register ? VM_WRITE : VM_NONE);
  return vma.vm_file && (vma.vm_flags & mask) == VM_MAYEXEC;
}

UprobeManager::UprobeManager(Arch arch, UprobeHost& host, UprobeConfig config)
    : arch_kind_(arch), host_(host), config_(config), arch_(UprobeArch::create(arch)) {}

UprobeManager::~UprobeManager() {
  for (auto& [key, u] : tree_) u->inode->cache().iput(u->inode);
  for (auto& u : retired_) u->inode->cache().iput(u->inode);
}

void UprobeManager::assert_not_in_handler(const char* what) const {
  PROBESIM_ASSERT_MSG(in_handler_ == 0, std::string(what) + " called from inside a uprobe handler");
}

Uprobe* UprobeManager::find_uprobe(const mmu::Inode* inode, uint64_t offset) const {
  auto it = tree_.find(Key{inode->i_ino(), offset});
  return it == tree_.end() || it->second->inode != inode ? nullptr : it->second.get();
}

// alloc_uprobe + prepare_uprobe: the instruction is copied from the page cache and analysed
// once, when the uprobe is created. An existing uprobe is reused only with the same reference
// counter (insert_uprobe's ref_ctr_mismatch_warn: EINVAL).
Result<Uprobe*> UprobeManager::alloc_uprobe(mmu::Inode& inode, FileOffset offset,
                                            uint64_t ref_ctr_offset) {
  if (Uprobe* u = find_uprobe(&inode, offset.value)) {
    if (u->ref_ctr_offset == ref_ctr_offset) return u;
    printk("ref_ctr_offset mismatch. inode: " + hex(inode.i_ino()) + " offset: " +
           hex(offset.value) + " ref_ctr_offset(old): " + hex(u->ref_ctr_offset) +
           " ref_ctr_offset(new): " + hex(ref_ctr_offset));
    return Error::make("uprobe_register: the uprobe at " + inode.name() + ":" + hex(offset.value) +
                           " exists with another reference counter offset",
                       EINVAL);
  }
  auto u = std::make_unique<Uprobe>();
  std::vector<uint8_t> code(arch_->insn_bytes());
  const Result<size_t> n = inode.i_mapping().read(offset, code);
  if (!n || *n == 0) return Error::make("uprobe: nothing to read at the probed offset", EIO);
  code.resize(*n);
  if (arch_->is_trap_insn(code)) {
    return Error::make("uprobe: a trap instruction is already at the probed offset", kEnotsupp);
  }
  u->arch = PROBESIM_TRY(arch_->analyze(code, GuestAddr{offset.value}));
  u->inode = inode.cache().iget(&inode);
  u->offset = offset;
  u->ref_ctr_offset = ref_ctr_offset;
  u->in_tree = true;
  Uprobe* raw = u.get();
  tree_.emplace(Key{inode.i_ino(), offset.value}, std::move(u));
  return raw;
}

// put_uprobe: the last reference of a uprobe out of the tree frees it (and its inode ref).
void UprobeManager::put_uprobe(Uprobe* u) {
  PROBESIM_ASSERT(u->ref > 0);
  if (--u->ref > 0 || u->in_tree) return;
  auto it = std::find_if(retired_.begin(), retired_.end(), [&](auto& p) { return p.get() == u; });
  PROBESIM_ASSERT(it != retired_.end());
  mmu::Inode* inode = u->inode;
  forget_delayed(u);
  retired_.erase(it);
  inode->cache().iput(inode);
}

const MmUprobeState* UprobeManager::find_state(const mmu::Mm& mm) const {
  auto it = mms_.find(&mm);
  return it == mms_.end() ? nullptr : &it->second;
}

UprobeTask& UprobeManager::utask(TaskId task, mmu::Mm& mm) {
  UprobeTask& ut = utasks_[task];
  ut.mm = &mm;
  return ut;
}

UprobeTask* UprobeManager::find_utask(TaskId task) {
  auto it = utasks_.find(task);
  return it == utasks_.end() ? nullptr : &it->second;
}

const UprobeTask* UprobeManager::find_utask(TaskId task) const {
  auto it = utasks_.find(task);
  return it == utasks_.end() ? nullptr : &it->second;
}

Cycles UprobeManager::cost(UprobePath path) const {
  return scale_cycles(uprobe_path_cycles(arch_kind_, path, config_.clock_hz), config_.cost_scale);
}

std::vector<UprobeInfo> UprobeManager::uprobes_of(const mmu::Inode& inode) const {
  std::vector<UprobeInfo> out;
  for_each_in_range(&inode, 0, ~uint64_t{0}, [&](const Uprobe* u) {
    UprobeInfo info{u,
                    inode.i_ino(),
                    u->offset,
                    u->ref_ctr_offset,
                    u->ref,
                    u->nhit,
                    u->arch.emulate,
                    std::vector<uint8_t>(u->arch.insn.begin(), u->arch.insn.begin() + u->arch.len),
                    u->arch.ixol,
                    {}};
    for (const UprobeConsumer* c : u->consumers) {
      info.consumers.push_back(
          {c->id, bool(c->handler), bool(c->ret_handler), bool(c->filter), c->nhit, c->nret});
    }
    out.push_back(std::move(info));
  });
  return out;
}

bool UprobeManager::read_original(const mmu::Mm& mm, GuestAddr addr, std::span<uint8_t> out) const {
  if (!mm.peek(addr, out.data(), out.size())) return false;
  const auto swbp = arch_->swbp();
  const uint64_t end = addr.value + out.size();
  for (const mmu::Vma* v : mm.vmas()) {
    if (!v->vm_file || v->vm_end.value <= addr.value || v->vm_start.value >= end) continue;
    const uint64_t base = (v->vm_pgoff << kPageShift) - v->vm_start.value;  // vaddr -> offset
    const uint64_t lo = std::max(addr.value, v->vm_start.value) + base;
    const uint64_t hi = std::min(end, v->vm_end.value) + base - 1;
    for_each_in_range(v->vm_file, lo, hi, [&](const Uprobe* u) {
      const uint64_t at = u->offset.value - base;  // the probe's vaddr
      if (at + swbp.size() > end) return;
      uint8_t* p = out.data() + (at - addr.value);
      if (std::equal(swbp.begin(), swbp.end(), p)) std::memcpy(p, u->arch.insn.data(), swbp.size());
    });
  }
  return true;
}

MmUprobeFlags UprobeManager::mm_flags(const mmu::Mm& mm) const {
  const MmUprobeState* st = find_state(mm);
  return st ? MmUprobeFlags{st->has_uprobes, st->recalc} : MmUprobeFlags{};
}

std::optional<GuestAddr> UprobeManager::xol_vaddr(const mmu::Mm& mm) const {
  const MmUprobeState* st = find_state(mm);
  if (!st || !st->xol) return std::nullopt;
  return st->xol->vaddr;
}

std::optional<GuestAddr> UprobeManager::xol_slot(TaskId task) const {
  const UprobeTask* ut = find_utask(task);
  if (!ut || ut->state != UtaskState::Sstep) return std::nullopt;
  return ut->xol_vaddr;
}

std::vector<ReturnInstanceInfo> UprobeManager::return_instances(TaskId task) const {
  std::vector<ReturnInstanceInfo> out;
  const UprobeTask* ut = find_utask(task);
  if (!ut) return out;
  for (auto it = ut->return_instances.rbegin(); it != ut->return_instances.rend(); ++it) {
    out.push_back({it->func, it->orig_ret_vaddr, it->stack, it->chained});
  }
  return out;
}

void UprobeManager::verify() const {
  std::unordered_map<const Uprobe*, int> refs;
  for (const auto& [task, ut] : utasks_) {
    PROBESIM_ASSERT((ut.state == UtaskState::Sstep) == (ut.active_uprobe != nullptr));
    if (ut.active_uprobe) ++refs[ut.active_uprobe];
    for (const ReturnInstance& ri : ut.return_instances) ++refs[ri.uprobe];
    PROBESIM_ASSERT(ut.return_instances.size() <= kMaxUretprobeDepth);
  }
  for (const auto& [key, u] : tree_) {
    PROBESIM_ASSERT(u->in_tree && !u->consumers.empty());
    PROBESIM_ASSERT(key == Key(u->inode->i_ino(), u->offset.value));
    for (const UprobeConsumer* c : u->consumers) PROBESIM_ASSERT(c->uprobe == u.get());
    PROBESIM_ASSERT_MSG(u->ref == static_cast<int>(u->consumers.size()) + refs[u.get()],
                        "uprobe refcount != consumers + steps + return instances");
  }
  for (const auto& u : retired_) {
    PROBESIM_ASSERT(!u->in_tree && u->consumers.empty() && u->ref > 0);
    PROBESIM_ASSERT_MSG(u->ref == refs[u.get()], "retired uprobe refcount mismatch");
  }
  for (const auto& [mm, st] : mms_) {
    if (!st.xol) continue;
    PROBESIM_ASSERT(!st.xol->bitmap.empty() && st.xol->bitmap[0]);  // slot 0: trampoline
    const mmu::Vma* v = mm->vma_at(st.xol->vaddr);
    PROBESIM_ASSERT_MSG(v && v->name == "[uprobes]", "XOL area VMA is gone");
  }
}

}  // namespace probesim::probes
