#include "bench/raw/raw_syscalls.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace probesim::bench {
namespace {

// Linux UAPI values, identical on x86-64 and arm64 (asm-generic/mman-common.h, asm/prctl.h).
constexpr uint64_t kMapFixed = 0x10;
constexpr uint64_t kMapAnonymous = 0x20;
constexpr uint64_t kArchSetFs = 0x1002;
constexpr uint64_t kArchGetFs = 0x1003;
constexpr uint64_t kMaxSyscallNr = 512;
constexpr uint64_t kBrkLimit = uint64_t{1} << 30;  // heap may grow 1 GiB past start_brk
constexpr uint64_t kIovMax = 1024;                 // Linux UIO_MAXIOV
constexpr uint64_t kPathMax = 4096;

int64_t err(int e) {
  return -static_cast<int64_t>(e);
}

}  // namespace

// Syscall numbers: arch/x86/entry/syscalls/syscall_64.tbl and include/uapi/asm-generic/unistd.h.
const RawSyscalls::Row RawSyscalls::kTable[] = {
    {"write", 1, 64, &RawSyscalls::sys_write},
    {"writev", 20, 66, &RawSyscalls::sys_writev},
    {"exit", 60, 93, &RawSyscalls::sys_exit_group},  // single-threaded: exit == exit_group
    {"exit_group", 231, 94, &RawSyscalls::sys_exit_group},
    {"brk", 12, 214, &RawSyscalls::sys_brk},
    {"mmap", 9, 222, &RawSyscalls::sys_mmap},
    {"munmap", 11, 215, &RawSyscalls::sys_munmap},
    {"mprotect", 10, 226, &RawSyscalls::sys_mprotect},
    {"arch_prctl", 158, -1, &RawSyscalls::sys_arch_prctl},
    {"openat", 257, 56, &RawSyscalls::sys_openat},
    {"open", 2, -1, &RawSyscalls::sys_open},
    {"close", 3, 57, &RawSyscalls::sys_close},
};

RawSyscalls::RawSyscalls(uc_engine* uc, const ArchAbi& abi, GuestAddr brk_start)
    : uc_(uc),
      abi_(abi),
      by_nr_(kMaxSyscallNr, nullptr),
      brk_start_(brk_start.value),
      brk_(brk_start.value),
      brk_mapped_end_(brk_start.value),
      mmap_next_(abi.mmap_base) {
  for (const Row& row : kTable) {
    int nr = abi.arch == Arch::X86_64 ? row.nr_x86_64 : row.nr_aarch64;
    if (nr >= 0) by_nr_[static_cast<size_t>(nr)] = &row;
  }
}

int64_t RawSyscalls::dispatch(const SyscallArgs& args) {
  count_++;
  const Row* row = args.nr < by_nr_.size() ? by_nr_[args.nr] : nullptr;
  if (row == nullptr) {
    unknown_[args.nr]++;
    return err(ENOSYS);
  }
  return (this->*(row->handler))(args);
}

int64_t RawSyscalls::write_out(uint64_t fd, uint64_t buf, uint64_t len) {
  if (null_fds_.count(fd)) return static_cast<int64_t>(len);
  if (fd != 1 && fd != 2) return err(EBADF);
  std::vector<uint8_t> chunk(std::min<uint64_t>(len, 1 << 16));
  uint64_t done = 0;
  while (done < len) {
    uint64_t n = std::min<uint64_t>(len - done, chunk.size());
    if (uc_mem_read(uc_, buf + done, chunk.data(), n) != UC_ERR_OK)
      return done ? static_cast<int64_t>(done) : err(EFAULT);
    for (uint64_t off = 0; off < n;) {
      ssize_t w = ::write(static_cast<int>(fd), chunk.data() + off, n - off);
      if (w <= 0) return done + off ? static_cast<int64_t>(done + off) : err(EIO);
      off += static_cast<uint64_t>(w);
    }
    done += n;
  }
  return static_cast<int64_t>(done);
}

int64_t RawSyscalls::sys_write(const SyscallArgs& a) {
  return write_out(a.a[0], a.a[1], a.a[2]);
}

int64_t RawSyscalls::sys_writev(const SyscallArgs& a) {
  if (a.a[2] > kIovMax) return err(EINVAL);
  std::vector<uint64_t> iov(a.a[2] * 2);
  if (!iov.empty() && uc_mem_read(uc_, a.a[1], iov.data(), iov.size() * 8) != UC_ERR_OK)
    return err(EFAULT);
  int64_t total = 0;
  for (size_t i = 0; i < iov.size(); i += 2) {
    int64_t r = write_out(a.a[0], iov[i], iov[i + 1]);
    if (r < 0) return total ? total : r;
    total += r;
  }
  return total;
}

int64_t RawSyscalls::sys_exit_group(const SyscallArgs& a) {
  exited_ = true;
  exit_code_ = static_cast<int>(a.a[0] & 0xff);
  uc_emu_stop(uc_);  // cannot fail while emulation runs; the hook returns right after
  return 0;
}

// Linux sys_brk: an out-of-range request returns the unchanged break. Growth maps fresh
// (zeroed) pages; shrinking unmaps, so memory handed out again is zero as glibc assumes.
int64_t RawSyscalls::sys_brk(const SyscallArgs& a) {
  uint64_t want = a.a[0];
  if (want < brk_start_ || want > brk_start_ + kBrkLimit) return static_cast<int64_t>(brk_);
  uint64_t want_end = page_align_up(want);
  if (want_end > brk_mapped_end_) {
    if (uc_mem_map(uc_, brk_mapped_end_, want_end - brk_mapped_end_, UC_PROT_ALL) != UC_ERR_OK)
      return static_cast<int64_t>(brk_);
  } else if (want_end < brk_mapped_end_) {
    if (uc_mem_unmap(uc_, want_end, brk_mapped_end_ - want_end) != UC_ERR_OK)
      return static_cast<int64_t>(brk_);
  }
  brk_mapped_end_ = want_end;
  brk_ = want;
  return static_cast<int64_t>(brk_);
}

// Anonymous, non-fixed mappings only: a bump allocator above abi.mmap_base, zeroed. RWX
// whatever `prot` says, because mprotect is a no-op; measured: the protection does not change
// store cost in 2.0.1 (every guest store takes the notdirty slow path, unicorn issue #1970).
int64_t RawSyscalls::sys_mmap(const SyscallArgs& a) {
  uint64_t len = page_align_up(a.a[1]);
  uint64_t flags = a.a[3];
  if (!(flags & kMapAnonymous) || (flags & kMapFixed)) return err(ENOSYS);
  if (len == 0) return err(EINVAL);
  uint64_t addr = mmap_next_;
  if (uc_mem_map(uc_, addr, len, UC_PROT_ALL) != UC_ERR_OK) return err(ENOMEM);
  mmap_next_ += len;
  return static_cast<int64_t>(addr);
}

int64_t RawSyscalls::sys_munmap(const SyscallArgs& a) {
  if (!page_aligned(a.a[0]) || a.a[1] == 0) return err(EINVAL);
  if (uc_mem_unmap(uc_, a.a[0], page_align_up(a.a[1])) != UC_ERR_OK) return err(EINVAL);
  return 0;
}

int64_t RawSyscalls::sys_mprotect(const SyscallArgs&) {
  return 0;
}

int64_t RawSyscalls::sys_arch_prctl(const SyscallArgs& a) {
  uint64_t fs = a.a[1];
  if (a.a[0] == kArchSetFs)
    return uc_reg_write(uc_, UC_X86_REG_FS_BASE, &fs) == UC_ERR_OK ? 0 : err(EINVAL);
  if (a.a[0] != kArchGetFs) return err(EINVAL);
  if (uc_reg_read(uc_, UC_X86_REG_FS_BASE, &fs) != UC_ERR_OK) return err(EINVAL);
  return uc_mem_write(uc_, a.a[1], &fs, sizeof fs) == UC_ERR_OK ? 0 : err(EFAULT);
}

bool RawSyscalls::read_path(uint64_t addr, std::string& out) {
  for (uint64_t i = 0; i < kPathMax; i++) {
    char c;
    if (uc_mem_read(uc_, addr + i, &c, 1) != UC_ERR_OK) return false;
    if (c == '\0') return true;
    out.push_back(c);
  }
  return false;
}

// Only "/dev/null" exists; dirfd is irrelevant for an absolute path.
int64_t RawSyscalls::sys_openat(const SyscallArgs& a) {
  std::string path;
  if (!read_path(a.a[1], path)) return err(EFAULT);
  if (path != "/dev/null") return err(ENOENT);
  null_fds_.insert(next_fd_);
  return static_cast<int64_t>(next_fd_++);
}

int64_t RawSyscalls::sys_open(const SyscallArgs& a) {
  SyscallArgs at = a;
  at.a = {static_cast<uint64_t>(-100), a.a[0], a.a[1], a.a[2], 0, 0};  // AT_FDCWD
  return sys_openat(at);
}

int64_t RawSyscalls::sys_close(const SyscallArgs& a) {
  if (null_fds_.erase(a.a[0]) || a.a[0] <= 2) return 0;
  return err(EBADF);
}

}  // namespace probesim::bench
