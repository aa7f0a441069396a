// Credential rules (emu/cred.h, kernel/sys.c): what root and non-root callers may set.
#include <doctest/doctest.h>

#include <cerrno>

#include "emu/cred.h"

namespace probesim::emu {
namespace {

Ids ids(uint32_t r, uint32_t e, uint32_t s, uint32_t fs) {
  return Ids{r, e, s, fs};
}

}  // namespace

TEST_CASE("setuid: root sets all four ids, others only the effective one to real or saved") {
  Ids root;
  CHECK(set_id(root, true, 1000) == 0);
  CHECK(root == ids(1000, 1000, 1000, 1000));
  Ids u = ids(100, 200, 0, 200);
  CHECK(set_id(u, false, 300) == -EPERM);
  CHECK(u == ids(100, 200, 0, 200));
  CHECK(set_id(u, false, 0) == 0);
  CHECK(u == ids(100, 0, 0, 0));
  CHECK(set_id(u, true, kNoId) == -EINVAL);
}

TEST_CASE("setreuid: the saved id follows a new real id or an effective id other than real") {
  Ids u = ids(100, 100, 0, 100);
  CHECK(set_re_id(u, false, kNoId, 100) == 0);
  CHECK(u == ids(100, 100, 0, 100));  // effective = real: saved stays
  CHECK(set_re_id(u, false, kNoId, 0) == 0);
  CHECK(u == ids(100, 0, 0, 0));
  CHECK(set_re_id(u, true, 300, kNoId) == 0);
  CHECK(u == ids(300, 0, 0, 0));
  Ids v = ids(1, 2, 3, 2);
  CHECK(set_re_id(v, false, 3, kNoId) == -EPERM);  // the real id may not become the saved one
  CHECK(set_re_id(v, false, 2, 3) == 0);
  CHECK(v == ids(2, 3, 3, 3));
}

TEST_CASE("setresuid: unprivileged callers pick among the current ids, a no-op keeps fsuid") {
  Ids u = ids(100, 200, 0, 200);
  CHECK(set_res_id(u, false, 7, kNoId, kNoId) == -EPERM);
  CHECK(set_res_id(u, false, 200, 100, kNoId) == 0);
  CHECK(u == ids(200, 100, 0, 100));
  CHECK(set_fs_id(u, false, 0) == 100);  // the saved uid: allowed
  CHECK(set_res_id(u, false, kNoId, kNoId, kNoId) == 0);
  CHECK(u.fs == 0);
  CHECK(set_res_id(u, false, kNoId, 100, kNoId) == 0);  // euid unchanged but fsuid differs
  CHECK(u.fs == 100);
}

TEST_CASE("setfsuid returns the old fs id and refuses ids the caller does not hold") {
  Ids u = ids(1, 2, 3, 2);
  CHECK(set_fs_id(u, false, 9) == 2);
  CHECK(u.fs == 2);
  CHECK(set_fs_id(u, false, 3) == 2);
  CHECK(u.fs == 3);
  CHECK(set_fs_id(u, false, kNoId) == 3);
  CHECK(set_fs_id(u, true, 9) == 3);
  CHECK(u.fs == 9);
}

TEST_CASE("execve sets the saved and fs ids to the effective ones, AT_SECURE if e != r") {
  Cred c;
  c.uid = ids(0, 2000, 3000, 5);
  c.gid = ids(1, 1, 4, 4);
  c.on_exec();
  CHECK(c.uid == ids(0, 2000, 2000, 2000));
  CHECK(c.gid == ids(1, 1, 1, 1));
  CHECK(c.secure_exec());
  CHECK_FALSE(c.capable());
}

}  // namespace probesim::emu
