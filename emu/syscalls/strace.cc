#include "emu/syscalls/strace.h"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "emu/exit_status.h"
#include "emu/task.h"
#include "mmu/mm.h"

namespace probesim::emu {
namespace {

struct FlagName {
  uint64_t bit;
  const char* name;
};

// open(2) flags: the generic values (include/uapi/asm-generic/fcntl.h), then each arch's own
// (arch/x86/include/uapi/asm/fcntl.h is the generic file; arm64's overrides four). Multi-bit
// names come before their parts (O_SYNC = __O_SYNC | O_DSYNC).
constexpr FlagName kOpenFlagsX86[] = {
    {0100, "O_CREAT"},          {0200, "O_EXCL"},          {0400, "O_NOCTTY"},
    {01000, "O_TRUNC"},         {02000, "O_APPEND"},       {04000, "O_NONBLOCK"},
    {04010000, "O_SYNC"},       {010000, "O_DSYNC"},       {020000, "O_ASYNC"},
    {040000, "O_DIRECT"},       {0100000, "O_LARGEFILE"},  {020200000, "O_TMPFILE"},
    {0200000, "O_DIRECTORY"},   {0400000, "O_NOFOLLOW"},   {01000000, "O_NOATIME"},
    {02000000, "O_CLOEXEC"},    {010000000, "O_PATH"},
};
constexpr FlagName kOpenFlagsArm64[] = {
    {0100, "O_CREAT"},          {0200, "O_EXCL"},          {0400, "O_NOCTTY"},
    {01000, "O_TRUNC"},         {02000, "O_APPEND"},       {04000, "O_NONBLOCK"},
    {04010000, "O_SYNC"},       {010000, "O_DSYNC"},       {020000, "O_ASYNC"},
    {040000, "O_DIRECTORY"},    {0100000, "O_NOFOLLOW"},   {020040000, "O_TMPFILE"},
    {0200000, "O_DIRECT"},      {0400000, "O_LARGEFILE"},  {01000000, "O_NOATIME"},
    {02000000, "O_CLOEXEC"},    {010000000, "O_PATH"},
};
constexpr FlagName kProt[] = {{1, "PROT_READ"}, {2, "PROT_WRITE"}, {4, "PROT_EXEC"}};
// mmap(2) flags after the type (include/uapi/linux/mman.h, asm-generic/mman-common.h; the
// same on x86_64 and arm64 but MAP_32BIT, x86_64 only).
constexpr FlagName kMmapFlags[] = {
    {0x10, "MAP_FIXED"},        {0x20, "MAP_ANONYMOUS"},   {0x40, "MAP_32BIT"},
    {0x100, "MAP_GROWSDOWN"},   {0x800, "MAP_DENYWRITE"},  {0x1000, "MAP_EXECUTABLE"},
    {0x2000, "MAP_LOCKED"},     {0x4000, "MAP_NORESERVE"}, {0x8000, "MAP_POPULATE"},
    {0x10000, "MAP_NONBLOCK"},  {0x20000, "MAP_STACK"},    {0x40000, "MAP_HUGETLB"},
    {0x80000, "MAP_SYNC"},      {0x100000, "MAP_FIXED_NOREPLACE"},
};
// The mapping type in the low bits (MAP_TYPE 0x0f), printed first as strace does.
constexpr const char* kMapTypes[] = {"0", "MAP_SHARED", "MAP_PRIVATE", "MAP_SHARED_VALIDATE"};

constexpr const char* kErrnoNames[] = {
    "0",       "EPERM",  "ENOENT", "ESRCH",   "EINTR",  "EIO",     "ENXIO",  "E2BIG",
    "ENOEXEC", "EBADF",  "ECHILD", "EAGAIN",  "ENOMEM", "EACCES",  "EFAULT", "ENOTBLK",
    "EBUSY",   "EEXIST", "EXDEV",  "ENODEV",  "ENOTDIR", "EISDIR", "EINVAL", "ENFILE",
    "EMFILE",  "ENOTTY", "ETXTBSY", "EFBIG",  "ENOSPC", "ESPIPE",  "EROFS",  "EMLINK",
    "EPIPE",   "EDOM",   "ERANGE", "EDEADLK", "ENAMETOOLONG", "ENOLCK", "ENOSYS", "ENOTEMPTY",
    "ELOOP"};

std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%#" PRIx64, v);
  return buf;
}

std::string flags(uint64_t v, std::span<const FlagName> table, const char* zero) {
  std::string s;
  for (const FlagName& f : table) {
    if ((v & f.bit) != f.bit) continue;
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

std::string open_flags(uint64_t v, Arch arch) {
  static constexpr const char* kAcc[] = {"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"};
  std::string s = kAcc[v & 3];
  v &= ~3ull;
  if (v) {
    s += "|";
    s += arch == Arch::AArch64 ? flags(v, kOpenFlagsArm64, "0") : flags(v, kOpenFlagsX86, "0");
  }
  return s;
}

std::string mmap_flags(uint64_t v) {
  std::string s = (v & 0xf) < std::size(kMapTypes) ? kMapTypes[v & 0xf] : hex(v & 0xf);
  if (v & ~uint64_t{0xf}) s += "|" + flags(v & ~uint64_t{0xf}, kMmapFlags, "0");
  return s;
}

// strace's string_quote (util.c): \" \\ \f \n \r \t \v escaped, printable ASCII as is, other
// bytes in octal (three digits when an octal digit follows, so the escape stays unambiguous);
// `cut`: more bytes followed, shown as "..." after the closing quote.
std::string quote_bytes(std::string_view bytes, bool cut) {
  struct Escape {
    char c;
    const char* text;
  };
  static constexpr Escape kEscapes[] = {{'"', "\\\""}, {'\\', "\\\\"}, {'\f', "\\f"},
                                        {'\n', "\\n"}, {'\r', "\\r"},  {'\t', "\\t"},
                                        {'\v', "\\v"}};
  std::string s = "\"";
  for (size_t i = 0; i < bytes.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(bytes[i]);
    const Escape* e = std::find_if(std::begin(kEscapes), std::end(kEscapes),
                                   [&](const Escape& x) { return x.c == static_cast<char>(c); });
    if (e != std::end(kEscapes)) {
      s += e->text;
    } else if (c >= 0x20 && c < 0x7f) {
      s += static_cast<char>(c);
    } else {
      bool digit_next = i + 1 < bytes.size() && bytes[i + 1] >= '0' && bytes[i + 1] <= '7';
      char buf[8];
      std::snprintf(buf, sizeof buf, digit_next ? "\\%03o" : "\\%o", c);
      s += buf;
    }
  }
  return s + (cut ? "\"..." : "\"");
}

std::string quoted(SyscallContext& ctx, uint64_t addr) {
  if (addr == 0) return "NULL";
  auto r = ctx.read_path(GuestAddr{addr});
  if (!r) return hex(addr);
  const std::string& str = r.value();
  return quote_bytes(std::string_view(str).substr(0, 64), str.size() > 64);
}

// A buffer of n bytes at addr as strace -s shows it: at most string_size bytes, quoted; its
// address when it cannot be read (peek: printing never faults pages in).
std::string buffer(SyscallContext& ctx, uint64_t addr, uint64_t n, size_t string_size) {
  if (addr == 0) return "NULL";
  std::string bytes(std::min<uint64_t>(n, string_size), '\0');
  if (!ctx.mm().peek(GuestAddr{addr}, bytes.data(), bytes.size())) return hex(addr);
  return quote_bytes(bytes, n > bytes.size());
}

// clone(2)'s flags (include/uapi/linux/sched.h), the exit signal in the low byte (CSIGNAL).
constexpr FlagName kCloneFlags[] = {
    {0x100, "CLONE_VM"},
    {0x200, "CLONE_FS"},
    {0x400, "CLONE_FILES"},
    {0x800, "CLONE_SIGHAND"},
    {0x1000, "CLONE_PIDFD"},
    {0x2000, "CLONE_PTRACE"},
    {0x4000, "CLONE_VFORK"},
    {0x8000, "CLONE_PARENT"},
    {0x10000, "CLONE_THREAD"},
    {0x20000, "CLONE_NEWNS"},
    {0x40000, "CLONE_SYSVSEM"},
    {0x80000, "CLONE_SETTLS"},
    {0x100000, "CLONE_PARENT_SETTID"},
    {0x200000, "CLONE_CHILD_CLEARTID"},
    {0x400000, "CLONE_DETACHED"},
    {0x800000, "CLONE_UNTRACED"},
    {0x1000000, "CLONE_CHILD_SETTID"},
    {0x2000000, "CLONE_NEWCGROUP"},
    {0x4000000, "CLONE_NEWUTS"},
    {0x8000000, "CLONE_NEWIPC"},
    {0x10000000, "CLONE_NEWUSER"},
    {0x20000000, "CLONE_NEWPID"},
    {0x40000000, "CLONE_NEWNET"},
    {0x80000000, "CLONE_IO"},
};
constexpr uint64_t kCsignal = 0xff;

std::string clone_flags(uint64_t v) {
  std::string s = (v & ~kCsignal) ? flags(v & ~kCsignal, kCloneFlags, "0") : "";
  if (v & kCsignal) s += (s.empty() ? "" : "|") + std::string(signal_name(static_cast<int>(v & kCsignal)));
  return s.empty() ? "0" : s;
}

std::string one_arg(SyscallContext& ctx, char f, uint64_t v) {
  char buf[48];
  switch (f) {
    case 'd': std::snprintf(buf, sizeof buf, "%d", static_cast<int>(v)); return buf;
    case 'l': std::snprintf(buf, sizeof buf, "%" PRId64, static_cast<int64_t>(v)); return buf;
    case 'u': std::snprintf(buf, sizeof buf, "%" PRIu64, v); return buf;
    case 'o': std::snprintf(buf, sizeof buf, "%#" PRIo64, v); return buf;
    case 's': return quoted(ctx, v);
    case 'F': return open_flags(v, ctx.arch());
    case 'P': return v == 0 ? "PROT_NONE" : flags(v, kProt, "0");
    case 'M': return mmap_flags(v);
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

namespace {

// strace's clone decoder (clone.c): child_stack, flags, then parent_tid (the tid stored there,
// after the call), tls and child_tidptr only when the flags use them. Argument order:
// x86_64 clone(flags, stack, ptid, ctid, tls); arm64 (CLONE_BACKWARDS) (flags, stack, ptid,
// tls, ctid).
std::string clone_args(SyscallContext& ctx, const SyscallArgs& a, bool returned) {
  constexpr uint64_t kParentSettid = 0x100000, kChildCleartid = 0x200000,
                     kChildSettid = 0x1000000, kSettls = 0x80000;
  const uint64_t fl = a.a[0];
  const bool x86 = ctx.arch() == Arch::X86_64;
  const uint64_t ptid = a.a[2], ctid = x86 ? a.a[3] : a.a[4], tls = x86 ? a.a[4] : a.a[3];
  std::string s = "child_stack=" + (a.a[1] ? hex(a.a[1]) : std::string("NULL")) +
                  ", flags=" + clone_flags(fl);
  if (fl & kParentSettid) {
    int32_t tid = 0;
    bool read = returned && ctx.mm().peek(GuestAddr{ptid}, &tid, sizeof tid);
    s += ", parent_tid=" + (read ? "[" + std::to_string(tid) + "]" : hex(ptid));
  }
  if (fl & kSettls) s += ", tls=" + hex(tls);
  if (fl & (kChildSettid | kChildCleartid)) s += ", child_tidptr=" + hex(ctid);
  return s;
}

// Syscalls strace prints with their own decoder instead of one format character per argument.
struct CustomFormat {
  std::string_view name;
  std::string (*args)(SyscallContext&, const SyscallArgs&, bool returned);
};
constexpr CustomFormat kCustomFormats[] = {{"clone", clone_args}};

// Argument i of a table-formatted syscall. 'b': a buffer the guest filled, of the next
// argument's size; 'B': a buffer the kernel filled, of the return value's size (shown after
// a successful call, else its address).
std::string arg_text(SyscallContext& ctx, const SyscallEntry& e, const SyscallArgs& a, size_t i,
                     int64_t ret, bool returned, const StraceStyle& style) {
  const char f = e.args[i];
  const uint64_t v = a.a[i];
  if (f == 'b') return buffer(ctx, v, i + 1 < 6 ? a.a[i + 1] : 0, style.string_size);
  if (f == 'B') {
    if (returned && ret >= 0) return buffer(ctx, v, static_cast<uint64_t>(ret), style.string_size);
    return v ? hex(v) : "NULL";
  }
  return one_arg(ctx, f, v);
}

// open/openat's mode is printed only when the flags use it (O_CREAT or O_TMPFILE: the
// __O_TMPFILE bit, 020000000 on x86_64 and arm64), as strace does.
bool shows_arg(const SyscallEntry& e, const SyscallArgs& a, size_t i) {
  constexpr uint64_t kOCreat = 0100, kOTmpfileBit = 020000000;
  if (e.args[i] != 'o' || i == 0 || e.args[i - 1] != 'F') return true;
  return (a.a[i - 1] & (kOCreat | kOTmpfileBit)) != 0;
}

std::string call_text(SyscallContext& ctx, const SyscallEntry* entry, const SyscallArgs& a,
                      int64_t ret, bool returned, const StraceStyle& style) {
  char buf[96];
  if (!entry) {
    std::snprintf(buf, sizeof buf, "syscall_%" PRIu64 "(%#" PRIx64 ", %#" PRIx64 ", %#" PRIx64,
                  a.nr, a.a[0], a.a[1], a.a[2]);
    return buf;
  }
  std::string s = std::string(entry->name) + "(";
  for (const CustomFormat& c : kCustomFormats)
    if (c.name == entry->name) return s + c.args(ctx, a, returned);
  for (size_t i = 0; i < entry->args.size() && i < 6; ++i) {
    if (!shows_arg(*entry, a, i)) break;
    if (i) s += ", ";
    s += arg_text(ctx, *entry, a, i, ret, returned, style);
  }
  return s;
}

}  // namespace

std::string format_syscall(SyscallContext& ctx, const SyscallEntry* entry, const SyscallArgs& a,
                           int64_t ret, bool returned, const StraceStyle& style) {
  char buf[96];
  std::string s;
  if (style.pid_prefix) {  // strace -f's printleader: "[pid %5u] "
    std::snprintf(buf, sizeof buf, "[pid %5d] ", ctx.task().tid());
    s = buf;
  }
  s += call_text(ctx, entry, a, ret, returned, style) + ")";
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
