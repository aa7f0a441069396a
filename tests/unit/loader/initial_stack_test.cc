// InitialStack: Linux's initial stack layout (fs/exec.c + create_elf_tables), decoded back
// from the built bytes without any mmu.
#include "loader/initial_stack.h"

#include <doctest/doctest.h>
#include <elf.h>

#include <cerrno>
#include <cstring>

#include "tests/unit/loader/stack_decoder.h"

namespace probesim::loader {
namespace {

using test::DecodedStack;

constexpr uint64_t kTop = 0x7ffffffff000;

ExecParams params() {
  ExecParams p;
  p.argv = {"prog", "-x", "arg three"};
  p.envp = {"A=1", "HOME=/root"};
  p.execfn = "/bin/prog";
  for (int i = 0; i < 16; ++i) p.at_random[i] = static_cast<uint8_t>(0xa0 + i);
  p.hwcap = 0x178bfbff;
  p.hwcap2 = 2;
  p.platform = "x86_64";
  p.uid = 1000, p.euid = 1001, p.gid = 100, p.egid = 101;
  p.stack_top = GuestAddr{kTop};
  return p;
}

const AuxvImage kImage{GuestAddr{0x400040}, 4, GuestAddr{0x401000}};

InitialStack build(const ExecParams& p) {
  Result<InitialStack> s = InitialStack::build(p, Arch::X86_64, kImage);
  REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error().message));
  return std::move(s).value();
}

test::PeekFn peek_of(const InitialStack& s) {
  return [&s](uint64_t at, void* dst, size_t n) {
    if (at < s.low().value || at + n > kTop) return false;
    std::memcpy(dst, s.bytes().data() + (at - s.low().value), n);
    return true;
  };
}

TEST_CASE("strings sit below an 8-byte end marker: execfn, envp, then argv with argv[0] lowest") {
  ExecParams p = params();
  InitialStack s = build(p);
  DecodedStack d = DecodedStack::decode(peek_of(s), s.sp().value);
  CHECK(DecodedStack::word(peek_of(s), kTop - 8) == 0);
  CHECK(s.execfn().value == kTop - 8 - (p.execfn.size() + 1));
  CHECK(DecodedStack::string_at(peek_of(s), s.execfn().value) == p.execfn);
  REQUIRE(d.envp_ptrs.size() == 2);
  REQUIRE(d.argv_ptrs.size() == 3);
  CHECK(d.envp_ptrs[1] + p.envp[1].size() + 1 == s.execfn().value);
  CHECK(d.envp_ptrs[0] + p.envp[0].size() + 1 == d.envp_ptrs[1]);
  CHECK(d.argv_ptrs[2] + p.argv[2].size() + 1 == d.envp_ptrs[0]);
  CHECK(d.argv_ptrs[1] + p.argv[1].size() + 1 == d.argv_ptrs[2]);
  CHECK(d.argv_ptrs[0] + p.argv[0].size() + 1 == d.argv_ptrs[1]);
  CHECK(s.arg_start().value == d.argv_ptrs[0]);
  CHECK(s.arg_end().value == d.envp_ptrs[0]);
  CHECK(s.env_end() == s.execfn());
}

TEST_CASE("sp is 16-byte aligned and points at argc, argv, NULL, envp, NULL, auxv") {
  ExecParams p = params();
  InitialStack s = build(p);
  CHECK(s.sp().value % 16 == 0);
  CHECK(s.low() == s.sp());
  CHECK(s.bytes().size() == kTop - s.sp().value);
  DecodedStack d = DecodedStack::decode(peek_of(s), s.sp().value);
  CHECK(d.argc == 3);
  CHECK(d.argv == p.argv);
  CHECK(d.envp == p.envp);
  CHECK(d.auxv == s.auxv());
}

TEST_CASE("platform string and AT_RANDOM bytes sit below the 16-byte aligned strings") {
  ExecParams p = params();
  InitialStack s = build(p);
  DecodedStack d = DecodedStack::decode(peek_of(s), s.sp().value);
  uint64_t platform = (s.arg_start().value & ~uint64_t{15}) - (p.platform.size() + 1);
  CHECK(d.aux(AT_PLATFORM) == platform);
  CHECK(DecodedStack::string_at(peek_of(s), platform) == "x86_64");
  CHECK(d.aux(AT_RANDOM) == platform - 16);
  CHECK(s.random().value == platform - 16);
  uint8_t rnd[16];
  REQUIRE(peek_of(s)(d.aux(AT_RANDOM), rnd, 16));
  CHECK(std::memcmp(rnd, p.at_random.data(), 16) == 0);
  CHECK(d.auxv_end <= d.aux(AT_RANDOM));
  CHECK(d.aux(AT_RANDOM) - d.auxv_end < 16);  // only STACK_ROUND padding in between
}

TEST_CASE("auxv entries follow create_elf_tables order and values") {
  ExecParams p = params();
  InitialStack s = build(p);
  const std::vector<uint64_t> order = {AT_HWCAP,  AT_PAGESZ, AT_CLKTCK,   AT_PHDR,   AT_PHENT,
                                       AT_PHNUM,  AT_BASE,   AT_FLAGS,    AT_ENTRY,  AT_UID,
                                       AT_EUID,   AT_GID,    AT_EGID,     AT_SECURE, AT_RANDOM,
                                       AT_HWCAP2, AT_EXECFN, AT_PLATFORM, AT_NULL};
  std::vector<uint64_t> keys;
  for (auto [k, v] : s.auxv()) keys.push_back(k);
  CHECK(keys == order);
  DecodedStack d = DecodedStack::decode(peek_of(s), s.sp().value);
  CHECK(d.aux(AT_HWCAP) == p.hwcap);
  CHECK(d.aux(AT_PAGESZ) == 4096);
  CHECK(d.aux(AT_CLKTCK) == 100);
  CHECK(d.aux(AT_PHDR) == 0x400040);
  CHECK(d.aux(AT_PHENT) == 56);
  CHECK(d.aux(AT_PHNUM) == 4);
  CHECK(d.aux(AT_BASE) == 0);
  CHECK(d.aux(AT_FLAGS) == 0);
  CHECK(d.aux(AT_ENTRY) == 0x401000);
  CHECK(d.aux(AT_UID) == 1000);
  CHECK(d.aux(AT_EUID) == 1001);
  CHECK(d.aux(AT_GID) == 100);
  CHECK(d.aux(AT_EGID) == 101);
  CHECK(d.aux(AT_SECURE) == 0);
  CHECK(d.aux(AT_HWCAP2) == 2);
  CHECK(d.aux(AT_EXECFN) == s.execfn().value);
}

TEST_CASE("a minimal stack has the exact Linux addresses") {
  ExecParams p;
  p.argv = {"a"};
  p.execfn = "/a";
  p.platform = "x86_64";
  p.stack_top = GuestAddr{kTop};
  InitialStack s = build(p);
  // top-8 marker; "/a" at ..ff5; "a" at ..ff3; align 16 -> ..ff0; "x86_64" at ..fe9;
  // random at ..fd9; 19 auxv pairs + argc + argv,NULL + NULL = 42 words -> ..e89 -> ..e80.
  CHECK(s.execfn().value == kTop - 0xb);
  CHECK(s.arg_start().value == kTop - 0xd);
  CHECK(s.random().value == kTop - 0x27);
  CHECK(s.sp().value == kTop - 0x180);
}

TEST_CASE("an empty argv becomes one empty argv[0], as Linux 5.18+") {
  ExecParams p = params();
  p.argv.clear();
  InitialStack s = build(p);
  DecodedStack d = DecodedStack::decode(peek_of(s), s.sp().value);
  CHECK(d.argc == 1);
  REQUIRE(d.argv.size() == 1);
  CHECK(d.argv[0].empty());
}

TEST_CASE("the platform defaults to the architecture name") {
  ExecParams p = params();
  p.platform.clear();
  Result<InitialStack> s = InitialStack::build(p, Arch::AArch64, kImage);
  REQUIRE(s.ok());
  DecodedStack d = DecodedStack::decode(peek_of(*s), s->sp().value);
  CHECK(DecodedStack::string_at(peek_of(*s), d.aux(AT_PLATFORM)) == "aarch64");
}

TEST_CASE("a string longer than MAX_ARG_STRLEN is E2BIG") {
  ExecParams p = params();
  p.argv.push_back(std::string(131071, 'x'));  // 131072 with its NUL: allowed
  CHECK(InitialStack::build(p, Arch::X86_64, kImage).ok());
  p.envp.push_back(std::string(131072, 'y'));
  Result<InitialStack> s = InitialStack::build(p, Arch::X86_64, kImage);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().err == E2BIG);
  CHECK(s.error().message.find("/bin/prog: an envp string is 131073 bytes") == 0);
}

TEST_CASE("argv and envp beyond a quarter of the stack are E2BIG") {
  ExecParams p = params();
  for (int i = 0; i < 3; ++i) p.argv.push_back(std::string(100000, 'a'));
  CHECK(InitialStack::build(p, Arch::X86_64, kImage).ok());  // 8 MiB stack: 2 MiB allowed
  p.stack_size = 1 << 20;                                    // 1 MiB stack: 256 KiB allowed
  Result<InitialStack> s = InitialStack::build(p, Arch::X86_64, kImage);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().err == E2BIG);
  CHECK(s.error().message.find("argv/envp strings take") != std::string::npos);
}

TEST_CASE("bad stack parameters are EINVAL") {
  ExecParams p = params();
  p.stack_top = GuestAddr{kTop + 8};
  Result<InitialStack> s = InitialStack::build(p, Arch::X86_64, kImage);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().err == EINVAL);
}

}  // namespace
}  // namespace probesim::loader
