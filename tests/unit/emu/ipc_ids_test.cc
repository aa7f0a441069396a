// System V IPC ids (emu/ipc/ipc_ids.h): Linux's idx + seq * 32768 scheme, keys, ipcget errors.
#include <doctest/doctest.h>

#include <cerrno>
#include <memory>

#include "emu/ipc/ipc_ids.h"

using namespace probesim::emu;

namespace {
int64_t make(std::unique_ptr<IpcObject>& out) {
  out = std::make_unique<IpcObject>();
  return 0;
}
int64_t ok(IpcObject&) { return 0; }
int64_t get(IpcIds& ids, int key, int flags = kIpcCreat | 0600) {
  return ids.get(key, flags, make, ok);
}
}  // namespace

TEST_CASE("ipc ids: indexes are allocated cyclically and a wrap bumps the sequence") {
  IpcIds ids;
  CHECK(get(ids, kIpcPrivate) == 0);
  CHECK(get(ids, kIpcPrivate) == 1);
  CHECK(get(ids, kIpcPrivate) == 2);
  REQUIRE(ids.remove(0) != nullptr);
  CHECK(get(ids, kIpcPrivate) == 3);  // idr_alloc_cyclic goes on from the last index
  // With few objects in use the cycle is ipc_min_cycle (64) indexes long.
  for (int id : {1, 2, 3}) REQUIRE(ids.remove(id) != nullptr);
  for (int i = 4; i < 64; ++i) {
    CHECK(get(ids, kIpcPrivate) == i);
    REQUIRE(ids.remove(i) != nullptr);
  }
  CHECK(get(ids, kIpcPrivate) == 32768 + 0);  // wrapped to index 0: seq 1
  CHECK(ids.find(0) == nullptr);              // the old id of index 0 is stale
  CHECK(ids.find(32768) != nullptr);
  CHECK(ids.find(-1) == nullptr);
}

TEST_CASE("ipc ids: keys find their object, IPC_CREAT|IPC_EXCL, missing keys and removal") {
  IpcIds ids;
  const int64_t id = get(ids, 42);
  CHECK(get(ids, 42, 0) == id);
  CHECK(get(ids, 42, kIpcCreat | kIpcExcl) == -EEXIST);
  CHECK(get(ids, 43, 0) == -ENOENT);
  CHECK(ids.find(static_cast<int>(id))->perm.mode == 0600);
  ids.remove(static_cast<int>(id));
  CHECK(get(ids, 42, 0) == -ENOENT);
  CHECK(get(ids, 42) == 1);
}
