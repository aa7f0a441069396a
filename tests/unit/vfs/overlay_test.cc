// The overlay: guest writes, creations, deletions and renames never reach the host, and the
// guest sees a merged, name-sorted tree.
#include <doctest/doctest.h>

#include <cerrno>
#include <cstring>

#include "emu/vfs/vfs_abi.h"
#include "vfs_test_util.h"

namespace probesim::emu::test {
namespace {

std::shared_ptr<File> open_ok(VfsFixture& f, const std::string& path, uint32_t flags,
                              uint32_t mode = 0644) {
  Result<std::shared_ptr<File>> r = f.vfs->open(f.caller(), "/", path, flags, mode);
  REQUIRE_MESSAGE(r.ok(), path);
  return *r;
}

int64_t write_str(File& file, const std::string& s) {
  return file.write(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

int err_of(const Result<void>& r) {
  return r ? 0 : r.error().err;
}

}  // namespace

TEST_CASE("guest writes to a host file never touch the host") {
  VfsFixture f;
  f.tree.file("etc/conf", "original");
  const struct stat before = f.tree.lstat("etc/conf");
  std::shared_ptr<File> file = open_ok(f, "/etc/conf", kO_RDWR);
  CHECK(write_str(*file, "CHANGED!") == 8);
  CHECK(write_str(*file, " and more") == 9);
  CHECK(file->truncate(4) == 0);
  file.reset();
  CHECK(f.read_all("/etc/conf") == "CHAN");  // the copy-up survives close (dirty, pinned)
  const struct stat after = f.tree.lstat("etc/conf");
  CHECK(f.tree.read("etc/conf") == "original");
  CHECK(after.st_size == before.st_size);
  CHECK(after.st_mtim.tv_sec == before.st_mtim.tv_sec);
  CHECK(after.st_mtim.tv_nsec == before.st_mtim.tv_nsec);
}

TEST_CASE("copy-up keeps the content the guest did not overwrite") {
  VfsFixture f;
  std::string big(3 * 4096 + 100, 'a');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  f.tree.file("data", big);
  std::shared_ptr<File> file = open_ok(f, "/data", kO_WRONLY);
  const std::string patch = "XYZ";
  CHECK(file->pwrite(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(patch.data()), 3),
                     4096 + 10) == 3);
  file.reset();
  std::string expect = big;
  expect.replace(4096 + 10, 3, patch);
  CHECK(f.read_all("/data") == expect);
  CHECK(f.tree.read("data") == big);
}

TEST_CASE("O_TRUNC and O_APPEND act on the guest's copy only") {
  VfsFixture f;
  f.tree.file("log", "host-line\n");
  open_ok(f, "/log", kO_WRONLY | kO_TRUNC);
  CHECK(f.read_all("/log") == "");
  std::shared_ptr<File> app = open_ok(f, "/log", kO_WRONLY | kO_APPEND);
  write_str(*app, "one\n");
  app->set_f_pos(0);
  write_str(*app, "two\n");
  CHECK(f.read_all("/log") == "one\ntwo\n");
  CHECK(f.tree.read("log") == "host-line\n");
}

TEST_CASE("created files live in the overlay and read back") {
  VfsFixture f;
  f.tree.dir("tmp");
  f.fs.umask = 022;
  std::shared_ptr<File> file = open_ok(f, "/tmp/new.txt", kO_CREAT | kO_WRONLY | kO_EXCL, 0666);
  CHECK(write_str(*file, "hello overlay") == 13);
  CHECK(f.read_all("/tmp/new.txt") == "hello overlay");
  Result<KStat> st = f.vfs->stat(f.caller(), "/", "/tmp/new.txt", Follow::Yes);
  REQUIRE(st.ok());
  CHECK(st->mode == (S_IFREG | 0644));
  CHECK(st->size == 13);
  CHECK(st->mtime.sec == VirtualClock::kDefaultEpoch);
  CHECK(f.vfs->open(f.caller(), "/", "/tmp/new.txt", kO_CREAT | kO_EXCL, 0).error().err == EEXIST);
  CHECK(::access(f.tree.host("tmp/new.txt").c_str(), F_OK) != 0);
}

TEST_CASE("unlinking a host file leaves a whiteout, the host file stays") {
  VfsFixture f;
  f.tree.file("a", "A");
  f.tree.file("b", "B");
  CHECK(err_of(f.vfs->unlink(f.caller(), "/", "/a")) == 0);
  CHECK(f.vfs->stat(f.caller(), "/", "/a", Follow::No).error().err == ENOENT);
  CHECK(f.names("/") == std::vector<std::string>{"b", "dev", "proc", "sys"});
  CHECK(f.tree.read("a") == "A");
  CHECK(err_of(f.vfs->unlink(f.caller(), "/", "/a")) == ENOENT);
  // Re-creating the name gives a new, empty file.
  open_ok(f, "/a", kO_CREAT | kO_WRONLY);
  CHECK(f.read_all("/a") == "");
}

TEST_CASE("listings merge host and overlay entries, minus whiteouts, sorted by name") {
  VfsFixture f;
  f.tree.file("d/zeta", "");
  f.tree.file("d/alpha", "");
  f.tree.file("d/mid", "");
  open_ok(f, "/d/beta", kO_CREAT | kO_WRONLY);
  REQUIRE(f.vfs->mkdir(f.caller(), "/", "/d/omega", 0755).ok());
  REQUIRE(f.vfs->unlink(f.caller(), "/", "/d/mid").ok());
  CHECK(f.names("/d") == std::vector<std::string>{"alpha", "beta", "omega", "zeta"});
  Result<std::vector<DirEntry>> l = f.vfs->list(f.caller(), "/", "/d");
  REQUIRE(l.ok());
  CHECK((*l)[0].name == ".");
  CHECK((*l)[1].name == "..");
}

TEST_CASE("rmdir of a host directory then mkdir gives an opaque directory") {
  VfsFixture f;
  f.tree.file("d/x", "");
  CHECK(f.vfs->rmdir(f.caller(), "/", "/d").error().err == ENOTEMPTY);
  REQUIRE(f.vfs->unlink(f.caller(), "/", "/d/x").ok());
  REQUIRE(f.vfs->rmdir(f.caller(), "/", "/d").ok());
  CHECK(f.vfs->stat(f.caller(), "/", "/d", Follow::Yes).error().err == ENOENT);
  REQUIRE(f.vfs->mkdir(f.caller(), "/", "/d", 0700).ok());
  CHECK(f.names("/d").empty());
  CHECK(f.vfs->stat(f.caller(), "/", "/d/x", Follow::Yes).error().err == ENOENT);
  CHECK(f.tree.read("d/x").empty());
  CHECK(f.vfs->rmdir(f.caller(), "/", "/d/.").error().err == EINVAL);
  CHECK(f.vfs->rmdir(f.caller(), "/", "/").error().err == EBUSY);
  CHECK(f.vfs->mkdir(f.caller(), "/", "/d", 0700).error().err == EEXIST);
}

TEST_CASE("rename moves files and overlay trees, host directories are EXDEV") {
  VfsFixture f;
  f.tree.file("src", "payload");
  f.tree.dir("hostdir");
  REQUIRE(f.vfs->rename(f.caller(), "/", "/src", "/", "/dst").ok());
  CHECK(f.read_all("/dst") == "payload");
  CHECK(f.vfs->stat(f.caller(), "/", "/src", Follow::No).error().err == ENOENT);
  CHECK(f.tree.read("src") == "payload");
  CHECK(f.vfs->rename(f.caller(), "/", "/hostdir", "/", "/moved").error().err == EXDEV);
  REQUIRE(f.vfs->mkdir(f.caller(), "/", "/g", 0755).ok());
  open_ok(f, "/g/inner", kO_CREAT | kO_WRONLY);
  REQUIRE(f.vfs->rename(f.caller(), "/", "/g", "/", "/h").ok());
  CHECK(f.names("/h") == std::vector<std::string>{"inner"});
  CHECK(f.vfs->rename(f.caller(), "/", "/h", "/", "/h/sub").error().err == EINVAL);
  CHECK(f.vfs->rename(f.caller(), "/", "/dst", "/", "/h").error().err == EISDIR);
}

TEST_CASE("an open file survives unlink of its name") {
  VfsFixture f;
  std::shared_ptr<File> file = open_ok(f, "/scratch", kO_CREAT | kO_RDWR);
  write_str(*file, "still here");
  REQUIRE(f.vfs->unlink(f.caller(), "/", "/scratch").ok());
  CHECK(file->stat().nlink == 0);
  uint8_t buf[32] = {};
  CHECK(file->pread(buf, 0) == 10);
  CHECK(std::memcmp(buf, "still here", 10) == 0);
}

TEST_CASE("hard links share one inode and one page cache") {
  VfsFixture f;
  f.tree.file("one", "shared");
  f.tree.hardlink("two", "one");
  Result<KStat> a = f.vfs->stat(f.caller(), "/", "/one", Follow::Yes);
  Result<KStat> b = f.vfs->stat(f.caller(), "/", "/two", Follow::Yes);
  REQUIRE((a.ok() && b.ok()));
  CHECK(a->ino == b->ino);
  std::shared_ptr<File> w = open_ok(f, "/one", kO_WRONLY);
  write_str(*w, "SH");
  CHECK(f.read_all("/two") == "SHared");
}

TEST_CASE("inode numbers are deterministic and stable across lookups") {
  VfsFixture f;
  f.tree.file("x", "");
  Result<KStat> a = f.vfs->stat(f.caller(), "/", "/x", Follow::Yes);
  Result<KStat> b = f.vfs->stat(f.caller(), "/", "/x", Follow::Yes);
  REQUIRE((a.ok() && b.ok()));
  CHECK(a->ino == b->ino);
  CHECK(a->ino < 100);  // allocated by the InodeCache, not the host's st_ino
  CHECK(a->dev == kRootFsDev);
}

TEST_CASE("chmod and utimensat change the guest's attributes only") {
  VfsFixture f;
  f.tree.file("script", "#!/bin/sh\n", 0644);
  CHECK(f.vfs->access(f.caller(), "/", "/script", kX_OK, Follow::Yes).error().err == EACCES);
  REQUIRE(f.vfs->chmod(f.caller(), "/", "/script", 0755).ok());
  CHECK(f.vfs->access(f.caller(), "/", "/script", kX_OK, Follow::Yes).ok());
  const Timespec t[2] = {{100, 5}, {200, kUTIME_OMIT}};
  REQUIRE(f.vfs->utimens(f.caller(), "/", "/script", t, Follow::Yes).ok());
  Result<KStat> st = f.vfs->stat(f.caller(), "/", "/script", Follow::Yes);
  REQUIRE(st.ok());
  CHECK(st->mode == (S_IFREG | 0755));
  CHECK(st->atime.sec == 100);
  CHECK(st->atime.nsec == 5);
  CHECK((f.tree.lstat("script").st_mode & 07777) == 0644);
}

TEST_CASE("symlinks are overlay objects holding their target, the host gets none") {
  VfsFixture f;
  f.tree.file("target", "data");
  REQUIRE(f.vfs->symlink(f.caller(), "target", "/", "/ln").ok());
  CHECK(f.vfs->readlink(f.caller(), "/", "/ln").value() == "target");
  Result<KStat> l = f.vfs->stat(f.caller(), "/", "/ln", Follow::No);
  REQUIRE(l.ok());
  CHECK(l->mode == (S_IFLNK | 0777));
  CHECK(l->size == 6);
  CHECK(f.read_all("/ln") == "data");
  CHECK(err_of(f.vfs->symlink(f.caller(), "x", "/", "/ln")) == EEXIST);
  CHECK(err_of(f.vfs->symlink(f.caller(), "", "/", "/empty")) == ENOENT);
  CHECK(err_of(f.vfs->symlink(f.caller(), "x", "/", "/new/")) == ENOENT);
  struct stat st;
  CHECK(::lstat(f.tree.host("ln").c_str(), &st) != 0);
}

TEST_CASE("chown sets the guest's owner, drops set-id bits and bumps ctime, host untouched") {
  VfsFixture f;
  f.tree.file("prog", "", 06755);
  f.tree.dir("d");
  f.clock.advance(Cycles{1'000'000});
  REQUIRE(f.vfs->chmod(f.caller(), "/", "/d", 06755).ok());
  const Result<KStat> before = f.vfs->stat(f.caller(), "/", "/prog", Follow::Yes);
  f.clock.advance(Cycles{1'000'000});
  REQUIRE(f.vfs->chown(f.caller(), "/", "/prog", 1000, kNoId, Follow::Yes).ok());
  REQUIRE(f.vfs->chown(f.caller(), "/", "/d", 5, 6, Follow::Yes).ok());
  const Result<KStat> st = f.vfs->stat(f.caller(), "/", "/prog", Follow::Yes);
  REQUIRE((before.ok() && st.ok()));
  CHECK(st->uid == 1000);
  CHECK(st->gid == before->gid);
  CHECK((st->mode & 07777) == 0755);
  CHECK(st->ctime.nsec != before->ctime.nsec);
  const Result<KStat> d = f.vfs->stat(f.caller(), "/", "/d", Follow::Yes);
  CHECK((d->mode & 07777) == 06755);
  CHECK(d->uid == 5);
  CHECK((f.tree.lstat("prog").st_mode & 07777) == 06755);
}

TEST_CASE("created objects are owned by the caller's fs ids") {
  VfsFixture f;
  Cred cred;
  cred.uid.fs = 42;
  cred.gid.fs = 43;
  Caller c = f.caller();
  c.cred = &cred;
  REQUIRE(f.vfs->mkdir(c, "/", "/mine", 0755).ok());
  REQUIRE(f.vfs->symlink(c, "mine", "/", "/mylink").ok());
  CHECK(f.vfs->stat(c, "/", "/mine", Follow::Yes)->uid == 42);
  CHECK(f.vfs->stat(c, "/", "/mylink", Follow::No)->gid == 43);
}

}  // namespace probesim::emu::test
