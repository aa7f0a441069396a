// IpcIds: one System V IPC id space (ipc/util.c's struct ipc_ids): objects by id and by key.
// Ids are Linux's: idx + seq * 32768 (IPCMNI_SHIFT 15), idx allocated cyclically below
// max(in_use * 3/2, 64) as ipc_idr_alloc does, seq bumped whenever the index wraps — so the
// same program gets the same ids on every run. An id whose object was removed (or whose seq is
// stale) finds nothing: the caller says EINVAL (ipc_obtain_object_check); a task that was
// waiting on the removed object gets EIDRM from whoever removed it.
//
// Who may touch what: IPC syscall handlers and process exit, on the emulation thread. Owns its
// objects (unique_ptr); Task pointers inside them are non-owning and compared only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>

namespace probesim::emu {

// struct kern_ipc_perm: key, owner and creator, mode (the low 9 bits), and the object's id.
struct IpcPerm {
  int32_t key = 0;
  uint32_t uid = 0, gid = 0, cuid = 0, cgid = 0;
  uint32_t mode = 0;
  int id = 0;
  uint16_t seq = 0;
};

class IpcObject {
 public:
  virtual ~IpcObject() = default;
  IpcPerm perm;
  int64_t ctime = 0;  // last change (creation, IPC_SET), seconds of the virtual realtime clock
};

inline constexpr int kIpcPrivate = 0;
inline constexpr int kIpcCreat = 01000, kIpcExcl = 02000, kIpcNowait = 04000;
inline constexpr int kIpcRmid = 0, kIpcSet = 1, kIpcStat = 2, kIpcInfo = 3;

class IpcIds {
 public:
  // ipcget: key IPC_PRIVATE always makes a new object; otherwise the object with that key
  // (EEXIST with IPC_CREAT|IPC_EXCL, then `check`: -errno or 0), or a new one with IPC_CREAT
  // (ENOENT without). `make` builds a new object (-errno: none). Returns the id or -errno.
  int64_t get(int32_t key, int flags, const std::function<int64_t(std::unique_ptr<IpcObject>&)>& make,
              const std::function<int64_t(IpcObject&)>& check);
  IpcObject* find(int id) const;  // null: no such id (EINVAL)
  // ipc_rmid: the id and key go; the object is returned to the caller (who wakes its waiters).
  std::unique_ptr<IpcObject> remove(int id);
  // IPC_RMID of a shm segment still attached: the key is free for new segments.
  void forget_key(const IpcObject& obj);
  template <class F> void for_each(F f) const {
    for (const auto& [idx, obj] : by_idx_) f(*obj);
  }

 private:
  int alloc_idx();

  std::map<int, std::unique_ptr<IpcObject>> by_idx_;
  std::map<int32_t, int> by_key_;  // key -> idx
  int next_ = 0;                   // idr_next: where the cyclic search starts
  int last_idx_ = -1;
  int seq_ = 0;
};

}  // namespace probesim::emu
