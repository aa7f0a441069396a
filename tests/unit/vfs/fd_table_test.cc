// FdTable rules: lowest free fd, shared open file descriptions, close-on-exec, RLIMIT_NOFILE.
#include <doctest/doctest.h>

#include <cerrno>

#include "emu/vfs/vfs_abi.h"
#include "vfs_test_util.h"

namespace probesim::emu::test {
namespace {

std::shared_ptr<File> open_file(VfsFixture& f, const std::string& path) {
  Result<std::shared_ptr<File>> r = f.vfs->open(f.caller(), "/", path, kO_RDONLY, 0);
  REQUIRE(r.ok());
  return *r;
}

}  // namespace

TEST_CASE("fds are allocated lowest free first") {
  VfsFixture f;
  f.tree.file("x", "");
  FdTable& t = f.fds;
  CHECK(t.install(open_file(f, "/x"), CloseOnExec::No) == 0);
  CHECK(t.install(open_file(f, "/x"), CloseOnExec::No) == 1);
  CHECK(t.install(open_file(f, "/x"), CloseOnExec::No) == 2);
  CHECK(t.close(1) == 0);
  CHECK(t.close(1) == -EBADF);
  CHECK(t.install(open_file(f, "/x"), CloseOnExec::No) == 1);
  CHECK(t.install(open_file(f, "/x"), CloseOnExec::No, 10) == 10);
  CHECK(t.open_fds() == std::vector<int>{0, 1, 2, 10});
}

TEST_CASE("dup'ed fds share the file offset") {
  VfsFixture f;
  f.tree.file("x", "0123456789");
  FdTable& t = f.fds;
  const int a = t.install(open_file(f, "/x"), CloseOnExec::No);
  const int b = t.dup(a, 0, CloseOnExec::No);
  const int c = t.dup_to(a, 7, CloseOnExec::No);
  CHECK(b == 1);
  CHECK(c == 7);
  uint8_t buf[4];
  CHECK(t.file(a)->read(buf) == 4);
  CHECK(t.file(b)->f_pos() == 4);
  CHECK(t.file(c)->read(buf) == 4);
  CHECK(buf[0] == '4');
  // An independent open has its own offset.
  const int d = t.install(open_file(f, "/x"), CloseOnExec::No);
  CHECK(t.file(d)->f_pos() == 0);
  CHECK(t.dup(99, 0, CloseOnExec::No) == -EBADF);
}

TEST_CASE("close-on-exec is per fd and close_on_exec drops only those fds") {
  VfsFixture f;
  f.tree.file("x", "");
  FdTable& t = f.fds;
  const int a = t.install(open_file(f, "/x"), CloseOnExec::Yes);
  const int b = t.dup(a, 0, CloseOnExec::No);
  CHECK(t.get_cloexec(a) == kFD_CLOEXEC);
  CHECK(t.get_cloexec(b) == 0);
  CHECK(t.set_cloexec(b, CloseOnExec::Yes) == 0);
  CHECK(t.set_cloexec(b, CloseOnExec::No) == 0);
  t.close_on_exec();
  CHECK(t.get(a) == nullptr);
  CHECK(t.get(b) != nullptr);
  CHECK(t.get_cloexec(a) == -EBADF);
}

TEST_CASE("RLIMIT_NOFILE bounds the table with EMFILE") {
  VfsFixture f;
  f.tree.file("x", "");
  FdTable& t = f.fds;
  std::shared_ptr<File> file = open_file(f, "/x");
  for (int i = 0; i < FdTable::kDefaultNofile; ++i) REQUIRE(t.install(file, CloseOnExec::No) == i);
  CHECK(t.install(file, CloseOnExec::No) == -EMFILE);
  CHECK(t.lowest_free() == -EMFILE);
  CHECK(t.dup(0, 0, CloseOnExec::No) == -EMFILE);
  CHECK(t.dup(0, FdTable::kDefaultNofile, CloseOnExec::No) == -EINVAL);
  CHECK(t.dup_to(0, FdTable::kDefaultNofile, CloseOnExec::No) == -EBADF);
  CHECK(t.close(500) == 0);
  CHECK(t.install(file, CloseOnExec::No) == 500);
}

TEST_CASE("copying a table (fork) shares the open files") {
  VfsFixture f;
  f.tree.file("x", "abcdef");
  f.fds.install(open_file(f, "/x"), CloseOnExec::Yes);
  FdTable child = f.fds;
  CHECK(child.get(0) == f.fds.get(0));
  CHECK(child.get_cloexec(0) == kFD_CLOEXEC);
  uint8_t buf[2];
  child.file(0)->read(buf);
  CHECK(f.fds.file(0)->f_pos() == 2);
  child.close(0);
  CHECK(f.fds.get(0) != nullptr);
}

}  // namespace probesim::emu::test
