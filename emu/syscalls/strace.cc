#include "emu/syscalls/strace.h"

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "emu/exit_status.h"

namespace probesim::emu {
namespace {

struct FlagName {
  uint64_t bit;
  const char* name;
};

constexpr FlagName kOpenFlags[] = {
    {0100, "O_CREAT"},       {0200, "O_EXCL"},      {0400, "O_NOCTTY"},   {01000, "O_TRUNC"},
    {02000, "O_APPEND"},     {04000, "O_NONBLOCK"}, {010000, "O_DSYNC"},  {040000, "O_DIRECT"},
    {0200000, "O_DIRECTORY"}, {0400000, "O_NOFOLLOW"}, {01000000, "O_NOATIME"},
    {02000000, "O_CLOEXEC"}, {010000000, "O_PATH"},
};
constexpr FlagName kProt[] = {{1, "PROT_READ"}, {2, "PROT_WRITE"}, {4, "PROT_EXEC"}};
constexpr FlagName kMmapFlags[] = {
    {0x01, "MAP_SHARED"},     {0x02, "MAP_PRIVATE"},  {0x10, "MAP_FIXED"},
    {0x20, "MAP_ANONYMOUS"},  {0x100, "MAP_GROWSDOWN"}, {0x4000, "MAP_NORESERVE"},
    {0x8000, "MAP_POPULATE"}, {0x20000, "MAP_STACK"}, {0x100000, "MAP_FIXED_NOREPLACE"},
};

constexpr const char* kErrnoNames[] = {
    "0",       "EPERM",  "ENOENT", "ESRCH",   "EINTR",  "EIO",     "ENXIO",  "E2BIG",
    "ENOEXEC", "EBADF",  "ECHILD", "EAGAIN",  "ENOMEM", "EACCES",  "EFAULT", "ENOTBLK",
    "EBUSY",   "EEXIST", "EXDEV",  "ENODEV",  "ENOTDIR", "EISDIR", "EINVAL", "ENFILE",
    "EMFILE",  "ENOTTY", "ETXTBSY", "EFBIG",  "ENOSPC", "ESPIPE",  "EROFS",  "EMLINK",
    "EPIPE",   "EDOM",   "ERANGE", "EDEADLK", "ENAMETOOLONG", "ENOLCK", "ENOSYS", "ENOTEMPTY",
    "ELOOP"};

std::string flags(uint64_t v, std::span<const FlagName> table, const char* zero) {
  std::string s;
  for (const FlagName& f : table) {
    if (!(v & f.bit)) continue;
    if (!s.empty()) s += "|";
    s += f.name;
    v &= ~f.bit;
  }
  if (v != 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%#" PRIx64, v);
    if (!s.empty()) s += "|";
    s += buf;
  }
  return s.empty() ? zero : s;
}

std::string open_flags(uint64_t v) {
  static constexpr const char* kAcc[] = {"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"};
  std::string s = kAcc[v & 3];
  v &= ~3ull;
  if (v) {
    s += "|";
    s += flags(v, kOpenFlags, "0");
  }
  return s;
}

std::string quoted(SyscallContext& ctx, uint64_t addr) {
  if (addr == 0) return "NULL";
  auto r = ctx.read_path(GuestAddr{addr});
  if (!r) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%#" PRIx64, addr);
    return buf;
  }
  std::string s = "\"";
  const std::string& str = r.value();
  for (size_t i = 0; i < str.size() && i < 64; ++i) {
    unsigned char c = static_cast<unsigned char>(str[i]);
    if (c == '"' || c == '\\') s += '\\';
    if (c >= 0x20 && c < 0x7f) {
      s += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\%o", c);
      s += buf;
    }
  }
  s += str.size() > 64 ? "\"..." : "\"";
  return s;
}

std::string one_arg(SyscallContext& ctx, char f, uint64_t v) {
  char buf[48];
  switch (f) {
    case 'd': std::snprintf(buf, sizeof buf, "%d", static_cast<int>(v)); return buf;
    case 'l': std::snprintf(buf, sizeof buf, "%" PRId64, static_cast<int64_t>(v)); return buf;
    case 'u': std::snprintf(buf, sizeof buf, "%" PRIu64, v); return buf;
    case 'o': std::snprintf(buf, sizeof buf, "%#" PRIo64, v); return buf;
    case 's': return quoted(ctx, v);
    case 'F': return open_flags(v);
    case 'P': return v == 0 ? "PROT_NONE" : flags(v, kProt, "0");
    case 'M': return flags(v, kMmapFlags, "0");
    case 'S': return signal_name(static_cast<int>(v));
    case 'D':
      if (static_cast<int>(v) == -100) return "AT_FDCWD";
      std::snprintf(buf, sizeof buf, "%d", static_cast<int>(v));
      return buf;
    case 'p':
    case 'b':
      if (v == 0) return "NULL";
      [[fallthrough]];
    default: std::snprintf(buf, sizeof buf, "%#" PRIx64, v); return buf;
  }
}

}  // namespace

const char* errno_name(int err) {
  if (err >= 0 && err < static_cast<int>(std::size(kErrnoNames))) return kErrnoNames[err];
  return "E?";
}

std::string format_syscall(SyscallContext& ctx, const SyscallEntry* entry, const SyscallArgs& a,
                           int64_t ret, bool returned) {
  std::string s;
  char buf[96];
  if (entry) {
    s = std::string(entry->name) + "(";
    for (size_t i = 0; i < entry->args.size() && i < 6; ++i) {
      if (i) s += ", ";
      s += one_arg(ctx, entry->args[i], a.a[i]);
    }
  } else {
    std::snprintf(buf, sizeof buf, "syscall_%" PRIu64 "(%#" PRIx64 ", %#" PRIx64 ", %#" PRIx64,
                  a.nr, a.a[0], a.a[1], a.a[2]);
    s = buf;
  }
  s += ")";
  if (!returned) return s + " = ?";
  if (ret < 0 && ret > -4096) {
    int err = static_cast<int>(-ret);
    std::snprintf(buf, sizeof buf, " = -1 %s (%s)", errno_name(err), std::strerror(err));
  } else if (entry && entry->ret == 'x') {
    std::snprintf(buf, sizeof buf, " = %#" PRIx64, static_cast<uint64_t>(ret));
  } else {
    std::snprintf(buf, sizeof buf, " = %" PRId64, ret);
  }
  return s + buf;
}

}  // namespace probesim::emu
