#include "emu/ipc/ipc_ids.h"

#include <algorithm>
#include <cerrno>

namespace probesim::emu {
namespace {

constexpr int kIpcmniShift = 15;                   // IPCMNI_SHIFT
constexpr int kIpcmni = 1 << kIpcmniShift;         // IPCMNI: 32768 ids per namespace
constexpr int kIpcMinCycle = 64;                   // ipc_min_cycle (RADIX_TREE_MAP_SIZE)
constexpr int kSeqMax = 0x7fffffff >> kIpcmniShift;  // ipcid_seq_max()

}  // namespace

// ipc_idr_alloc: idr_alloc_cyclic in [0, max_idx), from idr_next, wrapping once.
int IpcIds::alloc_idx() {
  const int in_use = static_cast<int>(by_idx_.size());
  const int max_idx = std::min(std::max(in_use * 3 / 2, kIpcMinCycle), kIpcmni);
  auto free_from = [&](int from) {
    for (int i = from; i < max_idx; ++i)
      if (!by_idx_.count(i)) return i;
    return -1;
  };
  int idx = free_from(std::min(next_, max_idx));
  if (idx < 0 && next_ > 0) idx = free_from(0);
  if (idx < 0) return -ENOSPC;
  next_ = idx + 1;
  if (idx <= last_idx_ && ++seq_ >= kSeqMax) seq_ = 0;
  last_idx_ = idx;
  return idx;
}

int64_t IpcIds::get(int32_t key, int flags,
                    const std::function<int64_t(std::unique_ptr<IpcObject>&)>& make,
                    const std::function<int64_t(IpcObject&)>& check) {
  if (key != kIpcPrivate) {
    auto it = by_key_.find(key);
    if (it != by_key_.end()) {
      if ((flags & kIpcCreat) && (flags & kIpcExcl)) return -EEXIST;
      IpcObject& obj = *by_idx_.at(it->second);
      if (int64_t err = check(obj); err < 0) return err;
      return obj.perm.id;
    }
    if (!(flags & kIpcCreat)) return -ENOENT;
  }
  std::unique_ptr<IpcObject> obj;
  if (int64_t err = make(obj); err < 0) return err;
  const int idx = alloc_idx();
  if (idx < 0) return -ENOSPC;
  obj->perm.key = key;
  obj->perm.mode = static_cast<uint32_t>(flags) & 0777;
  obj->perm.seq = static_cast<uint16_t>(seq_);
  obj->perm.id = (seq_ << kIpcmniShift) + idx;
  const int id = obj->perm.id;
  if (key != kIpcPrivate) by_key_[key] = idx;
  by_idx_[idx] = std::move(obj);
  return id;
}

IpcObject* IpcIds::find(int id) const {
  if (id < 0) return nullptr;
  auto it = by_idx_.find(id & (kIpcmni - 1));
  if (it == by_idx_.end() || it->second->perm.id != id) return nullptr;
  return it->second.get();
}

std::unique_ptr<IpcObject> IpcIds::remove(int id) {
  IpcObject* obj = find(id);
  if (obj == nullptr) return nullptr;
  forget_key(*obj);
  auto node = by_idx_.extract(id & (kIpcmni - 1));
  return std::move(node.mapped());
}

void IpcIds::forget_key(const IpcObject& obj) {
  auto it = by_key_.find(obj.perm.key);
  if (it != by_key_.end() && it->second == (obj.perm.id & (kIpcmni - 1))) by_key_.erase(it);
}

}  // namespace probesim::emu
