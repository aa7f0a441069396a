// The file syscalls through the fake syscall harness: guest memory in, Linux results out.
#include <doctest/doctest.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "emu/syscalls/syscall_handlers.h"
#include "emu/vfs/vfs_abi.h"
#include "vfs_test_util.h"

namespace probesim::emu::test {
namespace {

constexpr uint64_t kAtFdcwd = static_cast<uint64_t>(int64_t{kAT_FDCWD});

int64_t open_at(FakeKernel& k, const std::string& path, uint64_t flags, uint64_t mode = 0644) {
  return k.call(sys_openat, {kAtFdcwd, k.put_string(path), flags, mode});
}

struct Dirent {
  uint64_t ino;
  int64_t off;
  uint8_t type;
  std::string name;
};

std::vector<Dirent> parse_dirents(const FakeKernel& k, uint64_t buf, int64_t n) {
  std::vector<Dirent> out;
  for (int64_t pos = 0; pos < n;) {
    const uint64_t at = buf + static_cast<uint64_t>(pos);
    const uint16_t reclen = k.get_u16(at + 16);
    REQUIRE(reclen % 8 == 0);
    const std::vector<uint8_t> rec = k.get(at, reclen);
    out.push_back(Dirent{k.get_u64(at), static_cast<int64_t>(k.get_u64(at + 8)), rec[18],
                         std::string(reinterpret_cast<const char*>(&rec[19]))});
    pos += reclen;
  }
  return out;
}

}  // namespace

TEST_CASE("getdents64 lists . and .. first, then names sorted, and resumes at d_off") {
  FakeKernel k;
  for (const char* n : {"cc", "a", "bbbbbbbbbbbbbbbbbbbbbbbbbbbb", "d"})
    k.tree.file(std::string("dir/") + n, "");
  k.tree.dir("dir/sub");
  const int64_t fd = open_at(k, "/dir", kO_RDONLY | kO_DIRECTORY);
  REQUIRE(fd >= 0);
  const uint64_t buf = k.alloc(64);
  std::vector<Dirent> all;
  for (;;) {
    const int64_t n = k.call(sys_getdents64, {static_cast<uint64_t>(fd), buf, 64});
    REQUIRE(n >= 0);
    if (n == 0) break;
    for (Dirent& d : parse_dirents(k, buf, n)) all.push_back(d);
  }
  std::vector<std::string> names;
  for (const Dirent& d : all) names.push_back(d.name);
  CHECK(names ==
        std::vector<std::string>{".", "..", "a", "bbbbbbbbbbbbbbbbbbbbbbbbbbbb", "cc", "d", "sub"});
  CHECK(all.back().type == 4);  // DT_DIR
  CHECK(all[2].type == 8);      // DT_REG
  // Resume right after "a" using its cookie.
  CHECK(k.call(sys_lseek, {static_cast<uint64_t>(fd), static_cast<uint64_t>(all[2].off),
                           kSEEK_SET}) == all[2].off);
  const int64_t n = k.call(sys_getdents64, {static_cast<uint64_t>(fd), buf, 64});
  REQUIRE(n > 0);
  CHECK(parse_dirents(k, buf, n).front().name == "bbbbbbbbbbbbbbbbbbbbbbbbbbbb");
  // d_ino agrees with stat.
  const uint64_t st = k.alloc(144);
  REQUIRE(k.call(sys_stat, {k.put_string("/dir/a"), st}) == 0);
  CHECK(k.get_u64(st + 8) == all[2].ino);
  // A buffer too small for the next record is EINVAL.
  k.call(sys_lseek, {static_cast<uint64_t>(fd), 0, kSEEK_SET});
  CHECK(k.call(sys_getdents64, {static_cast<uint64_t>(fd), buf, 10}) == -EINVAL);
  CHECK(k.call(sys_getdents64, {99, buf, 64}) == -EBADF);
}

TEST_CASE("getdents64 on a non-directory is ENOTDIR and read on a directory EISDIR") {
  FakeKernel k;
  k.tree.file("f", "data");
  k.tree.dir("d");
  const int64_t f = open_at(k, "/f", kO_RDONLY);
  const int64_t d = open_at(k, "/d", kO_RDONLY);
  const uint64_t buf = k.alloc(64);
  CHECK(k.call(sys_getdents64, {static_cast<uint64_t>(f), buf, 64}) == -ENOTDIR);
  CHECK(k.call(sys_read, {static_cast<uint64_t>(d), buf, 64}) == -EISDIR);
  CHECK(k.call(sys_write, {static_cast<uint64_t>(f), buf, 1}) == -EBADF);
  CHECK(open_at(k, "/d", kO_WRONLY) == -EISDIR);
  CHECK(open_at(k, "/f", kO_RDONLY | kO_DIRECTORY) == -ENOTDIR);
}

TEST_CASE("stat syscalls write the guest arch's struct stat") {
  for (Arch arch : {Arch::X86_64, Arch::AArch64}) {
    CAPTURE(arch_name(arch));
    FakeKernel k(arch);
    k.tree.file("f", std::string(1234, 'x'), 0640);
    const uint64_t st = k.alloc(256);
    const size_t mode_off = arch == Arch::X86_64 ? 24 : 16;
    REQUIRE(k.call(sys_newfstatat, {kAtFdcwd, k.put_string("/f"), st, 0}) == 0);
    CHECK(k.get_u32(st + mode_off) == (S_IFREG | 0640));
    CHECK(k.get_u64(st + 48) == 1234);
    const int64_t fd = open_at(k, "/f", kO_RDONLY);
    const uint64_t st2 = k.alloc(256);
    REQUIRE(k.call(sys_newfstatat,
                   {static_cast<uint64_t>(fd), k.put_string(""), st2, kAT_EMPTY_PATH}) == 0);
    CHECK(k.get(st, 144) == k.get(st2, 144));
    REQUIRE(k.call(sys_fstat, {static_cast<uint64_t>(fd), st2}) == 0);
    CHECK(k.get(st, 144) == k.get(st2, 144));
    CHECK(k.call(sys_newfstatat, {kAtFdcwd, k.put_string(""), st, 0}) == -ENOENT);
    CHECK(k.call(sys_newfstatat, {kAtFdcwd, k.put_string("/f"), st, 0x8000}) == -EINVAL);
    CHECK(k.call(sys_newfstatat, {kAtFdcwd, k.put_string("/f"), 8, 0}) == -EFAULT);
    const uint64_t sx = k.alloc(256);
    REQUIRE(k.call(sys_statx, {kAtFdcwd, k.put_string("/f"), 0, kSTATX_BASIC_STATS, sx}) == 0);
    CHECK(k.get_u16(sx + 28) == (S_IFREG | 0640));
    CHECK(k.get_u64(sx + 40) == 1234);
  }
}

TEST_CASE("lstat sees the link, stat its target") {
  FakeKernel k;
  k.tree.file("target", "abc");
  k.tree.symlink("link", "target");
  const uint64_t st = k.alloc(144);
  REQUIRE(k.call(sys_lstat, {k.put_string("/link"), st}) == 0);
  CHECK((k.get_u32(st + 24) & S_IFMT) == S_IFLNK);
  CHECK(k.get_u64(st + 48) == 6);  // strlen("target")
  REQUIRE(k.call(sys_stat, {k.put_string("/link"), st}) == 0);
  CHECK((k.get_u32(st + 24) & S_IFMT) == S_IFREG);
}

TEST_CASE("/dev/null, /dev/zero and /dev/urandom behave like Linux, urandom from the seed") {
  FakeKernel k1, k2;
  const uint64_t buf1 = k1.alloc(32), buf2 = k2.alloc(32);
  const int64_t null_fd = open_at(k1, "/dev/null", kO_RDWR);
  CHECK(k1.call(sys_read, {static_cast<uint64_t>(null_fd), buf1, 32}) == 0);
  CHECK(k1.call(sys_write, {static_cast<uint64_t>(null_fd), buf1, 32}) == 32);
  k1.put(buf1, std::vector<uint8_t>(32, 0x55).data(), 32);
  const int64_t zero_fd = open_at(k1, "/dev/zero", kO_RDONLY);
  CHECK(k1.call(sys_read, {static_cast<uint64_t>(zero_fd), buf1, 32}) == 32);
  CHECK(k1.get(buf1, 32) == std::vector<uint8_t>(32, 0));
  const int64_t r1 = open_at(k1, "/dev/urandom", kO_RDONLY);
  const int64_t r2 = open_at(k2, "/dev/urandom", kO_RDONLY);
  CHECK(k1.call(sys_read, {static_cast<uint64_t>(r1), buf1, 32}) == 32);
  CHECK(k2.call(sys_read, {static_cast<uint64_t>(r2), buf2, 32}) == 32);
  CHECK(k1.get(buf1, 32) == k2.get(buf2, 32));
  CHECK(k1.get(buf1, 32) != std::vector<uint8_t>(32, 0));
  const uint64_t st = k1.alloc(144);
  REQUIRE(k1.call(sys_stat, {k1.put_string("/dev/urandom"), st}) == 0);
  CHECK((k1.get_u32(st + 24) & S_IFMT) == S_IFCHR);
  CHECK(k1.get_u64(st + 40) == ((1 << 8) | 9));
  CHECK(k1.names("/dev") == std::vector<std::string>{"fd", "null", "random", "shm", "stderr",
                                                     "stdin", "stdout", "tty", "urandom", "zero"});
}

TEST_CASE("/dev/tty is ENXIO and no fd is a terminal") {
  FakeKernel k;
  k.tree.file("f", "");
  CHECK(open_at(k, "/dev/tty", kO_RDWR) == -ENXIO);
  k.fds.install(k.vfs->make_console(kO_RDWR | kO_LARGEFILE, "pipe:[1]", nullptr, nullptr),
                CloseOnExec::No);
  const int64_t f = open_at(k, "/f", kO_RDONLY);
  const uint64_t arg = k.alloc(64);
  for (uint64_t fd : {uint64_t{0}, static_cast<uint64_t>(f)}) {
    CHECK(k.call(sys_ioctl, {fd, kTCGETS, arg}) == -ENOTTY);
    CHECK(k.call(sys_ioctl, {fd, kTIOCGWINSZ, arg}) == -ENOTTY);
  }
  CHECK(k.call(sys_ioctl, {static_cast<uint64_t>(f), kFIOCLEX, 0}) == 0);
  CHECK(k.fds.get_cloexec(static_cast<int>(f)) == kFD_CLOEXEC);
  CHECK(k.call(sys_ioctl, {55, kTCGETS, arg}) == -EBADF);
}

TEST_CASE("/proc/self/exe and /proc/self/fd/N are links to the exe and open files") {
  FakeKernel k;
  k.tree.file("bin/prog",
              "\x7f"
              "ELF");
  const uint64_t buf = k.alloc(256);
  const int64_t n = k.call(sys_readlink, {k.put_string("/proc/self/exe"), buf, 256});
  REQUIRE(n == 9);
  CHECK(std::string(reinterpret_cast<const char*>(k.get(buf, 9).data()), 9) ==
        "/bin/prog");
  CHECK(k.call(sys_readlink, {k.put_string("/proc/self/exe"), buf, 4}) == 4);  // truncated
  CHECK(k.call(sys_readlink, {k.put_string("/proc/self/exe"), buf, 0}) == -EINVAL);
  CHECK(k.call(sys_readlinkat, {kAtFdcwd, k.put_string("/proc/7/exe"), buf, 256}) == 9);
  CHECK(k.call(sys_readlink, {k.put_string("/proc/8/exe"), buf, 256}) == -ENOENT);
  // Following the link opens the executable.
  const int64_t exe_fd = open_at(k, "/proc/self/exe", kO_RDONLY);
  REQUIRE(exe_fd >= 0);
  CHECK(k.call(sys_read, {static_cast<uint64_t>(exe_fd), buf, 16}) == 4);
  const std::string fd_link = "/proc/self/fd/" + std::to_string(exe_fd);
  CHECK(k.call(sys_readlink, {k.put_string(fd_link), buf, 256}) == 9);
  CHECK(k.names("/proc/self/fd") == std::vector<std::string>{std::to_string(exe_fd)});
  CHECK(k.call(sys_readlink, {k.put_string("/bin/prog"), buf, 256}) == -EINVAL);
}

TEST_CASE("readv and writev scatter and gather in iovec order") {
  FakeKernel k;
  const int64_t fd = open_at(k, "/out", kO_CREAT | kO_RDWR);
  REQUIRE(fd >= 0);
  const uint64_t iov = k.alloc(48);
  const uint64_t s1 = k.put_string("hello "), s2 = k.put_string("world");
  const uint64_t w[] = {s1, 6, 0, 0, s2, 5};
  k.put(iov, w, sizeof w);
  CHECK(k.call(sys_writev, {static_cast<uint64_t>(fd), iov, 3}) == 11);
  CHECK(k.read_all("/out") == "hello world");
  k.call(sys_lseek, {static_cast<uint64_t>(fd), 0, kSEEK_SET});
  const uint64_t d1 = k.alloc(4), d2 = k.alloc(16);
  const uint64_t r[] = {d1, 4, d2, 16};
  k.put(iov, r, sizeof r);
  CHECK(k.call(sys_readv, {static_cast<uint64_t>(fd), iov, 2}) == 11);
  CHECK(k.get(d1, 4) == std::vector<uint8_t>{'h', 'e', 'l', 'l'});
  CHECK(k.get(d2, 7) == std::vector<uint8_t>{'o', ' ', 'w', 'o', 'r', 'l', 'd'});
  CHECK(k.call(sys_readv, {static_cast<uint64_t>(fd), iov, 1025}) == -EINVAL);
  CHECK(k.call(sys_writev, {static_cast<uint64_t>(fd), 8, 1}) == -EFAULT);
}

TEST_CASE("fcntl reports and changes flags in the guest arch's encoding") {
  FakeKernel k(Arch::AArch64);
  k.tree.dir("d");
  const int64_t fd = open_at(k, "/d", 040000 /* arm64 O_DIRECTORY */ | 02000000 /* O_CLOEXEC */);
  REQUIRE(fd >= 0);
  const uint64_t u = static_cast<uint64_t>(fd);
  CHECK(k.call(sys_fcntl, {u, kF_GETFD, 0}) == kFD_CLOEXEC);
  CHECK(k.call(sys_fcntl, {u, kF_GETFL, 0}) == (040000 | 0400000));  // O_DIRECTORY|O_LARGEFILE
  CHECK(k.call(sys_fcntl, {u, kF_SETFL, kO_NONBLOCK | kO_WRONLY}) == 0);
  CHECK(k.call(sys_fcntl, {u, kF_GETFL, 0}) == (040000 | 0400000 | kO_NONBLOCK));
  CHECK(k.call(sys_fcntl, {u, kF_DUPFD, 10}) == 10);
  CHECK(k.call(sys_fcntl, {u, kF_DUPFD_CLOEXEC, 0}) == fd + 1);
  CHECK(k.call(sys_fcntl, {10, kF_GETFD, 0}) == 0);
  CHECK(k.call(sys_fcntl, {u, 9999, 0}) == -EINVAL);
  CHECK(k.call(sys_dup3, {u, u, 0}) == -EINVAL);
  CHECK(k.call(sys_dup3, {u, 20, 02000000}) == 20);
  CHECK(k.fds.get_cloexec(20) == kFD_CLOEXEC);
  CHECK(k.call(sys_dup2, {u, u}) == fd);
  CHECK(k.call(sys_dup2, {77, 78}) == -EBADF);
}

TEST_CASE("chdir, fchdir, getcwd and dirfd-relative openat") {
  FakeKernel k;
  k.tree.file("a/b/f", "found");
  const uint64_t buf = k.alloc(64);
  CHECK(k.call(sys_chdir, {k.put_string("a/b")}) == 0);
  CHECK(k.call(sys_getcwd, {buf, 64}) == 5);
  CHECK(std::string(reinterpret_cast<const char*>(k.get(buf, 5).data())) == "/a/b");
  CHECK(k.call(sys_getcwd, {buf, 4}) == -ERANGE);
  CHECK(k.call(sys_chdir, {k.put_string("f")}) == -ENOTDIR);
  CHECK(k.read_all("f") == "found");
  const int64_t a = open_at(k, "/a", kO_RDONLY | kO_PATH);
  REQUIRE(a >= 0);
  const int64_t f =
      k.call(sys_openat, {static_cast<uint64_t>(a), k.put_string("b/f"), kO_RDONLY, 0});
  REQUIRE(f >= 0);
  CHECK(k.call(sys_read, {static_cast<uint64_t>(a), buf, 1}) == -EBADF);  // O_PATH: no data
  CHECK(k.call(sys_fchdir, {static_cast<uint64_t>(a)}) == 0);
  CHECK(k.fs.cwd == "/a");
  CHECK(k.call(sys_openat, {static_cast<uint64_t>(f), k.put_string("x"), kO_RDONLY, 0}) ==
        -ENOTDIR);
  CHECK(k.call(sys_openat, {555, k.put_string("x"), kO_RDONLY, 0}) == -EBADF);
  CHECK(k.call(sys_openat, {555, k.put_string("/a/b/f"), kO_RDONLY, 0}) >= 0);  // absolute
}

TEST_CASE("console fds write to the sink and read from the source") {
  FakeKernel k;
  auto out = std::make_shared<StringSink>();
  auto in = std::make_shared<StringSource>("typed\n");
  k.fds.install(k.vfs->make_console(kO_RDONLY, "stdin", in, nullptr), CloseOnExec::No);
  k.fds.install(k.vfs->make_console(kO_WRONLY, "stdout", nullptr, out), CloseOnExec::No);
  const uint64_t buf = k.alloc(16);
  CHECK(k.call(sys_read, {0, buf, 16}) == 6);
  CHECK(k.call(sys_read, {0, buf, 16}) == 0);
  CHECK(k.call(sys_write, {1, k.put_string("printed"), 7}) == 7);
  CHECK(out->data() == "printed");
  CHECK(k.call(sys_lseek, {1, 0, kSEEK_CUR}) == -ESPIPE);
  CHECK(k.call(sys_write, {0, buf, 1}) == -EBADF);
  const uint64_t st = k.alloc(144);
  REQUIRE(k.call(sys_fstat, {1, st}) == 0);
  CHECK((k.get_u32(st + 24) & S_IFMT) == S_IFIFO);
}

TEST_CASE("unlinkat, mkdirat, renameat and umask through the syscalls") {
  FakeKernel k;
  k.tree.file("old", "x");
  CHECK(k.call(sys_umask, {077}) == 022);
  CHECK(k.call(sys_mkdirat, {kAtFdcwd, k.put_string("/newdir"), 0777}) == 0);
  const uint64_t st = k.alloc(144);
  REQUIRE(k.call(sys_stat, {k.put_string("/newdir"), st}) == 0);
  CHECK(k.get_u32(st + 24) == (S_IFDIR | 0700));
  CHECK(k.call(sys_unlinkat, {kAtFdcwd, k.put_string("/newdir"), 0}) == -EISDIR);
  CHECK(k.call(sys_unlinkat, {kAtFdcwd, k.put_string("/newdir"), kAT_REMOVEDIR}) == 0);
  CHECK(k.call(sys_unlinkat, {kAtFdcwd, k.put_string("/old"), 0x1}) == -EINVAL);
  CHECK(k.call(sys_renameat, {kAtFdcwd, k.put_string("/old"), kAtFdcwd, k.put_string("/new")}) ==
        0);
  CHECK(k.read_all("/new") == "x");
  CHECK(k.call(sys_rmdir, {k.put_string("/new")}) == -ENOTDIR);
  CHECK(k.call(sys_access, {k.put_string("/new"), kR_OK | kW_OK}) == 0);
  CHECK(k.call(sys_access, {k.put_string("/new"), kX_OK}) == -EACCES);
  CHECK(k.call(sys_access, {k.put_string("/new"), 8}) == -EINVAL);
}

TEST_CASE("pread/pwrite/lseek/ftruncate/sendfile on regular files") {
  FakeKernel k;
  k.tree.file("src", "0123456789");
  const int64_t src = open_at(k, "/src", kO_RDONLY);
  const int64_t dst = open_at(k, "/dst", kO_CREAT | kO_RDWR);
  const uint64_t s = static_cast<uint64_t>(src), d = static_cast<uint64_t>(dst);
  const uint64_t buf = k.alloc(16);
  CHECK(k.call(sys_pread64, {s, buf, 3, 5}) == 3);
  CHECK(k.get(buf, 3) == std::vector<uint8_t>{'5', '6', '7'});
  CHECK(k.call(sys_lseek, {s, 0, kSEEK_CUR}) == 0);
  CHECK(k.call(sys_pread64, {s, buf, 3, static_cast<uint64_t>(-1)}) == -EINVAL);
  CHECK(k.call(sys_lseek, {s, static_cast<uint64_t>(-2), kSEEK_END}) == 8);
  CHECK(k.call(sys_lseek, {s, 0, 7}) == -EINVAL);
  const uint64_t off = k.alloc(8);
  const int64_t two = 2;
  k.put(off, &two, 8);
  CHECK(k.call(sys_sendfile, {d, s, off, 5}) == 5);
  CHECK(k.get_u64(off) == 7);
  CHECK(k.call(sys_lseek, {s, 0, kSEEK_CUR}) == 8);  // unchanged with an offset pointer
  CHECK(k.call(sys_sendfile, {d, s, 0, 100}) == 2);  // from f_pos 8 to EOF
  CHECK(k.read_all("/dst") == "2345689");
  CHECK(k.call(sys_ftruncate, {d, 3}) == 0);
  CHECK(k.read_all("/dst") == "234");
  CHECK(k.call(sys_ftruncate, {s, 3}) == -EINVAL);  // not open for writing
  CHECK(k.call(sys_pwrite64, {d, k.put_string("Z"), 1, 10}) == 1);
  CHECK(k.read_all("/dst") == std::string("234\0\0\0\0\0\0\0Z", 11));
  CHECK(k.call(sys_fsync, {d}) == 0);
  CHECK(k.call(sys_close, {d}) == 0);
  CHECK(k.call(sys_close, {d}) == -EBADF);
}

}  // namespace probesim::emu::test

namespace probesim::emu::test {

TEST_CASE("opening /dev/stdout or /proc/self/fd/N reopens the open file itself") {
  FakeKernel k;
  auto out = std::make_shared<StringSink>();
  k.fds.install(k.vfs->make_console(kO_RDONLY, "pipe:[0]", nullptr, nullptr), CloseOnExec::No);
  k.fds.install(k.vfs->make_console(kO_WRONLY, "pipe:[1]", nullptr, out), CloseOnExec::No);
  const int64_t fd = open_at(k, "/dev/stdout", kO_WRONLY);
  REQUIRE(fd >= 0);
  CHECK(k.call(sys_write, {static_cast<uint64_t>(fd), k.put_string("via link"), 8}) == 8);
  CHECK(out->data() == "via link");
  // A regular file reached through its fd link stays reachable after unlink.
  const int64_t tmp = open_at(k, "/tmpfile", kO_CREAT | kO_RDWR);
  k.call(sys_write, {static_cast<uint64_t>(tmp), k.put_string("kept"), 4});
  REQUIRE(k.call(sys_unlink, {k.put_string("/tmpfile")}) == 0);
  const std::string link = "/proc/self/fd/" + std::to_string(tmp);
  CHECK(k.read_all(link) == "kept");
  const uint64_t st = k.alloc(144);
  REQUIRE(k.call(sys_stat, {k.put_string("/dev/stdout"), st}) == 0);
  CHECK((k.get_u32(st + 24) & S_IFMT) == S_IFIFO);
  CHECK(k.call(sys_readlink, {k.put_string("/dev/stdout"), k.alloc(64), 64}) ==
        static_cast<int64_t>(std::string("/proc/self/fd/1").size()));
}

TEST_CASE("O_CREAT follows a dangling symlink and creates its target") {
  FakeKernel k;
  k.tree.dir("real");
  k.tree.symlink("dangling", "real/made");
  const int64_t fd = open_at(k, "/dangling", kO_CREAT | kO_WRONLY);
  REQUIRE(fd >= 0);
  CHECK(k.names("/real") == std::vector<std::string>{"made"});
  CHECK(open_at(k, "/dangling", kO_CREAT | kO_EXCL | kO_WRONLY) == -EEXIST);
  CHECK(open_at(k, "/dangling", kO_RDONLY | kO_NOFOLLOW) == -ELOOP);
  CHECK(open_at(k, "/newdir/", kO_CREAT | kO_WRONLY) == -EISDIR);
  CHECK(open_at(k, "/real/made/x", kO_CREAT | kO_WRONLY) == -ENOTDIR);
}

TEST_CASE("statfs, fstatfs and utimensat") {
  FakeKernel k;
  k.tree.file("f", "");
  const uint64_t buf = k.alloc(120);
  REQUIRE(k.call(sys_statfs, {k.put_string("/f"), buf}) == 0);
  CHECK(k.get_u64(buf) == 0x794c7630);  // overlayfs
  REQUIRE(k.call(sys_statfs, {k.put_string("/proc/self"), buf}) == 0);
  CHECK(k.get_u64(buf) == 0x9fa0);
  const int64_t fd = open_at(k, "/f", kO_RDWR);
  REQUIRE(k.call(sys_fstatfs, {static_cast<uint64_t>(fd), buf}) == 0);
  CHECK(k.get_u64(buf + 8) == 4096);
  const uint64_t times = k.alloc(32);
  const int64_t t[4] = {11, 0, 22, kUTIME_OMIT};
  k.put(times, t, sizeof t);
  CHECK(k.call(sys_utimensat, {static_cast<uint64_t>(fd), 0, times, 0}) == 0);
  const uint64_t st = k.alloc(144);
  REQUIRE(k.call(sys_fstat, {static_cast<uint64_t>(fd), st}) == 0);
  CHECK(k.get_u64(st + 72) == 11);
  CHECK(k.call(sys_utimensat, {kAtFdcwd, 0, times, 0}) == -EFAULT);
  const int64_t bad[4] = {0, 1'000'000'000, 0, 0};
  k.put(times, bad, sizeof bad);
  CHECK(k.call(sys_utimensat, {kAtFdcwd, k.put_string("/f"), times, 0}) == -EINVAL);
}

}  // namespace probesim::emu::test
