// UprobeManager: registration (uprobe_register / uprobe_unregister / uprobe_apply,
// register_for_each_vma over the i_mmap tree), breakpoint install/remove through replaced
// pages, and the mm hooks (uprobe_mmap, uprobe_munmap, dup, clear state).
#include <algorithm>
#include <cerrno>

#include "mmu/address_space.h"
#include "mmu/vm_flags.h"
#include "probes/uprobes/uprobe_manager.h"
#include "probesim/assert.h"

namespace probesim::probes {
namespace {

uint64_t vaddr_to_offset(const mmu::Vma& v, GuestAddr vaddr) {
  return (v.vm_pgoff << kPageShift) + (vaddr - v.vm_start);
}

GuestAddr offset_to_vaddr(const mmu::Vma& v, uint64_t offset) {
  return v.vm_start + (offset - (v.vm_pgoff << kPageShift));
}

}  // namespace

Result<Uprobe*> UprobeManager::uprobe_register(mmu::Inode& inode, FileOffset offset,
                                               UprobeConsumer& uc, uint64_t ref_ctr_offset) {
  Uprobe* u = PROBESIM_TRY(uprobe_register_prepare(inode, offset, uc, ref_ctr_offset));
  Result<void> r = register_for_each_vma(u, &uc);
  if (!r) {
    uprobe_unregister(u, uc);
    return r.take_error();
  }
  return u;
}

Result<Uprobe*> UprobeManager::uprobe_register_prepare(mmu::Inode& inode, FileOffset offset,
                                                       UprobeConsumer& uc,
                                                       uint64_t ref_ctr_offset) {
  assert_not_in_handler("uprobe_register");
  if (!uc.handler && !uc.ret_handler) {
    return Error::make("uprobe_register: the consumer has neither handler nor ret_handler", EINVAL);
  }
  if (uc.uprobe) return Error::make("uprobe_register: the consumer is already registered", EINVAL);
  if (offset.value > inode.i_size()) {
    return Error::make("uprobe_register: offset beyond the end of " + inode.name(), EINVAL);
  }
  if (offset.value % arch_->swbp().size()) {
    return Error::make("uprobe_register: offset not aligned to the breakpoint size", EINVAL);
  }
  if (ref_ctr_offset % sizeof(int16_t)) {
    return Error::make("uprobe_register: reference counter offset not aligned to a short", EINVAL);
  }
  Uprobe* u = PROBESIM_TRY(alloc_uprobe(inode, offset, ref_ctr_offset));
  u->consumers.insert(u->consumers.begin(), &uc);  // consumer_add: at the head
  uc.id = ++next_consumer_id_;
  uc.uprobe = u;
  ++u->ref;
  return u;
}

void UprobeManager::uprobe_unregister(Uprobe* u, UprobeConsumer& uc) {
  uprobe_unregister_prepare(u, uc);
  Result<void> r = register_for_each_vma(u, nullptr);
  PROBESIM_ASSERT_MSG(r.ok(), "removing breakpoints cannot fail");
  uprobe_unregister_finish(u);
}

void UprobeManager::uprobe_unregister_prepare(Uprobe* u, UprobeConsumer& uc) {
  assert_not_in_handler("uprobe_unregister");
  PROBESIM_ASSERT_MSG(uc.uprobe == u && u->in_tree, "unregistering a consumer not registered here");
  auto it = std::find(u->consumers.begin(), u->consumers.end(), &uc);
  PROBESIM_ASSERT(it != u->consumers.end());
  u->consumers.erase(it);  // consumer_del
  uc.uprobe = nullptr;
}

void UprobeManager::unregister_one(Uprobe* u, const MapInfo& mi) {
  assert_not_in_handler("register_for_each_vma");
  if (!map_info_valid(u, mi, false)) return;  // the mapping changed since the query
  const MmUprobeState* st = find_state(*mi.mm);
  if (st && st->has_uprobes && !filter_chain(u, *mi.mm)) remove_breakpoint(u, *mi.mm, mi.vaddr);
}

void UprobeManager::uprobe_unregister_finish(Uprobe* u) {
  assert_not_in_handler("uprobe_unregister");
  if (u->consumers.empty()) {  // out of the tree; freed when the last reference goes
    auto node = tree_.extract(Key{u->inode->i_ino(), u->offset.value});
    PROBESIM_ASSERT(!node.empty());
    u->in_tree = false;
    retired_.push_back(std::move(node.mapped()));
  }
  put_uprobe(u);
}

Result<void> UprobeManager::uprobe_apply(Uprobe* u, UprobeConsumer& uc, bool add) {
  assert_not_in_handler("uprobe_apply");
  if (uc.uprobe != u) return Error::make("uprobe_apply: consumer not registered here", ENOENT);
  return register_for_each_vma(u, add ? &uc : nullptr);
}

bool UprobeManager::filter_chain(const Uprobe* u, const mmu::Mm& mm) const {
  for (UprobeConsumer* c : u->consumers) {
    if (!c->filter || c->filter(*c, mm)) return true;
  }
  return false;
}

std::vector<UprobeManager::MapInfo> UprobeManager::build_map_info(const Uprobe* u,
                                                                   bool is_register) {
  const uint64_t offset = u->offset.value;
  std::vector<MapInfo> info;
  for (mmu::Vma* v : u->inode->i_mapping().i_mmap().stab(PageIndex{offset >> kPageShift})) {
    if (uprobe_valid_vma(*v, is_register)) info.push_back({v->vm_mm, offset_to_vaddr(*v, offset)});
  }
  stats_.map_info += info.size();
  return info;
}

bool UprobeManager::map_info_valid(const Uprobe* u, const MapInfo& mi, bool is_register) const {
  const mmu::Vma* v = mi.mm->vma_at(mi.vaddr);
  return v && uprobe_valid_vma(*v, is_register) && v->vm_file == u->inode &&
         vaddr_to_offset(*v, mi.vaddr) == u->offset.value;
}

Result<void> UprobeManager::register_one(Uprobe* u, UprobeConsumer& uc, const MapInfo& mi,
                                         bool revalidate) {
  assert_not_in_handler("register_for_each_vma");
  if (revalidate && !map_info_valid(u, mi, true)) return {};  // the mapping changed
  if (uc.filter && !uc.filter(uc, *mi.mm)) return {};
  return install_breakpoint(u, *mi.mm, mi.vaddr);
}

// register_for_each_vma: a stabbing query on the inode's i_mmap tree (build_map_info), then
// each (mm, vaddr) is re-validated against that mm's current VMA before writing.
Result<void> UprobeManager::register_for_each_vma(Uprobe* u, UprobeConsumer* uc) {
  const bool is_register = uc != nullptr;
  std::vector<MapInfo> info = build_map_info(u, is_register);
  Result<void> err;
  for (const MapInfo& mi : info) {
    if (!is_register) {
      unregister_one(u, mi);
    } else if (err && map_info_valid(u, mi, true)) {  // else the mapping changed since the query
      err = register_one(u, *uc, mi, true);
    }
  }
  return err;
}

Result<void> UprobeManager::install_breakpoint(Uprobe* u, mmu::Mm& mm, GuestAddr vaddr) {
  MmUprobeState& st = state(mm);
  const bool first = !st.has_uprobes;
  st.has_uprobes = true;  // before the write: a task may hit it at once
  Result<void> r = write_opcode(u, mm, vaddr, true);
  if (r) {
    st.recalc = false;
  } else if (first) {
    st.has_uprobes = false;
  }
  return r;
}

void UprobeManager::remove_breakpoint(Uprobe* u, mmu::Mm& mm, GuestAddr vaddr) {
  state(mm).recalc = true;
  Result<void> r = write_opcode(u, mm, vaddr, false);
  (void)r;  // the page may be gone (beyond EOF after a truncate): nothing to restore
}

// uprobe_write_opcode: verify_opcode (a breakpoint already there / already gone is done),
// then the reference counter moves (a failure leaves the instruction as it is), then the write
// goes into this mm's replaced page; restoring drops that page when it is identical to the
// page cache again.
Result<void> UprobeManager::write_opcode(Uprobe* u, mmu::Mm& mm, GuestAddr vaddr,
                                         bool is_register) {
  const auto swbp = arch_->swbp();
  uint8_t cur[8];
  if (!mm.peek(vaddr, cur, swbp.size())) {
    return Error::make("uprobe: the probed page is not mapped", EFAULT);
  }
  const bool is_swbp = std::equal(swbp.begin(), swbp.end(), cur);
  if (is_register == is_swbp) return {};
  const std::span<const uint8_t> bytes =
      is_register ? swbp : std::span<const uint8_t>(u->arch.insn.data(), swbp.size());
  if (u->ref_ctr_offset) PROBESIM_TRY_VOID(update_ref_ctr(u, mm, is_register ? 1 : -1));
  if (Result<void> w = mm.write_private_page(vaddr, bytes); !w) {
    if (is_register && u->ref_ctr_offset) (void)update_ref_ctr(u, mm, -1);  // revert
    return w;
  }
  if (!is_register) mm.drop_identical_page(vaddr);
  host_.invalidate(mm, vaddr, swbp.size());
  ++(is_register ? stats_.installs : stats_.removes);
  return {};
}

void UprobeManager::uprobe_mmap(mmu::Mm& mm, const mmu::Vma& vma) {
  assert_not_in_handler("uprobe_mmap");
  if (tree_.empty()) return;
  if (vma.vm_file && (vma.vm_flags & (mmu::VM_WRITE | mmu::VM_SHARED)) == mmu::VM_WRITE) {
    delayed_ref_ctr_inc(mm, vma);
  }
  if (!uprobe_valid_vma(vma, true)) return;
  const uint64_t first = vaddr_to_offset(vma, vma.vm_start);
  std::vector<Uprobe*> list;  // build_probe_list
  for_each_in_range(vma.vm_file, first, first + vma.len() - 1,
                    [&](Uprobe* u) { list.push_back(u); });
  for (Uprobe* u : list) {
    if (!filter_chain(u, mm)) continue;
    Result<void> r = install_breakpoint(u, mm, offset_to_vaddr(vma, u->offset.value));
    (void)r;  // errors are ignored, as Linux does (e.g. a probe beyond a shorter file's EOF)
  }
}

void UprobeManager::uprobe_mmap_all(mmu::Mm& mm) {
  for (const mmu::Vma* v : mm.vmas()) uprobe_mmap(mm, *v);
}

void UprobeManager::uprobe_munmap(mmu::Mm& mm, const mmu::Vma& vma, GuestAddr start,
                                  GuestAddr end) {
  assert_not_in_handler("uprobe_munmap");
  if (tree_.empty() || !uprobe_valid_vma(vma, false) || start >= end) return;
  auto it = mms_.find(&mm);
  if (it == mms_.end() || !it->second.has_uprobes || it->second.recalc) return;
  const uint64_t first = vaddr_to_offset(vma, start);
  bool probed = false;
  for_each_in_range(vma.vm_file, first, first + (end - start) - 1, [&](Uprobe*) { probed = true; });
  if (probed) it->second.recalc = true;
}

// mmf_recalc_uprobes: clears MMF_HAS_UPROBES when no VMA of mm maps a probed offset.
void UprobeManager::mmf_recalc_uprobes(mmu::Mm& mm) {
  MmUprobeState& st = state(mm);
  st.recalc = false;
  for (const mmu::Vma* v : mm.vmas()) {
    if (!uprobe_valid_vma(*v, false)) continue;
    const uint64_t first = vaddr_to_offset(*v, v->vm_start);
    bool probed = false;
    for_each_in_range(v->vm_file, first, first + v->len() - 1, [&](Uprobe*) { probed = true; });
    if (probed) return;
  }
  st.has_uprobes = false;
}

// unapply_uprobe: every handler asked for removal and no consumer wants this mm.
void UprobeManager::unapply_uprobe(Uprobe* u, mmu::Mm& mm) {
  for (const mmu::Vma* v : mm.vmas()) {
    if (!uprobe_valid_vma(*v, false) || v->vm_file != u->inode) continue;
    const uint64_t first = vaddr_to_offset(*v, v->vm_start);
    if (u->offset.value < first || u->offset.value >= first + v->len()) continue;
    remove_breakpoint(u, mm, offset_to_vaddr(*v, u->offset.value));
  }
}

void UprobeManager::uprobe_dup_mmap(const mmu::Mm& oldmm, mmu::Mm& newmm) {
  const MmUprobeState* old = find_state(oldmm);
  if (!old || !old->has_uprobes) return;
  MmUprobeState& st = state(newmm);
  st.has_uprobes = true;
  st.recalc = true;
}

void UprobeManager::uprobe_clear_state(const mmu::Mm& mm) {
  for (auto& [task, ut] : utasks_) {
    PROBESIM_ASSERT_MSG(ut.mm != &mm || ut.state == UtaskState::Running,
                        "an mm dies while one of its tasks is stepping a uprobe");
  }
  mms_.erase(&mm);
}

}  // namespace probesim::probes
