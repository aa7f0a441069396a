// Unit tests of the raw-Unicorn peer (bench/raw/): ELF validation, the initial stack, the
// minimal syscall layer and whole runs of tiny hand-assembled static programs.
#include <doctest/doctest.h>
#include <elf.h>

#include <cerrno>
#include <cstring>

#include "bench/raw/initial_stack.h"
#include "bench/raw/raw_machine.h"
#include "bench/raw/raw_syscalls.h"
#include "bench/raw/static_elf.h"

using namespace probesim;
using namespace probesim::bench;

namespace {

constexpr uint64_t kBase = 0x400000;
constexpr uint64_t kCodeOff = 0x100;

// A one-PT_LOAD static executable whose code starts at file offset 0x100.
std::vector<uint8_t> make_elf(uint16_t machine, uint16_t type, const std::vector<uint8_t>& code,
                              bool with_interp = false) {
  std::vector<uint8_t> f(kCodeOff + code.size(), 0);
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_type = type;
  eh.e_machine = machine;
  eh.e_entry = kBase + kCodeOff;
  eh.e_phoff = sizeof eh;
  eh.e_phentsize = sizeof(Elf64_Phdr);
  eh.e_phnum = with_interp ? 2 : 1;
  std::memcpy(f.data(), &eh, sizeof eh);
  Elf64_Phdr ph{};
  ph.p_type = PT_LOAD;
  ph.p_vaddr = kBase;
  ph.p_filesz = f.size();
  ph.p_memsz = f.size() + 0x2000;  // some bss
  std::memcpy(f.data() + sizeof eh, &ph, sizeof ph);
  if (with_interp) {
    ph.p_type = PT_INTERP;
    std::memcpy(f.data() + sizeof eh + sizeof ph, &ph, sizeof ph);
  }
  std::memcpy(f.data() + kCodeOff, code.data(), code.size());
  return f;
}

std::vector<uint8_t> arm64_code(std::initializer_list<uint32_t> words) {
  std::vector<uint8_t> out(words.size() * 4);
  std::memcpy(out.data(), std::data(words), out.size());
  return out;
}

// mov edi, 42; mov eax, 231 (exit_group); syscall
const std::vector<uint8_t> kX86Exit42 = {0xbf, 42, 0, 0, 0, 0xb8, 231, 0, 0, 0, 0x0f, 0x05};
// movz x0, #42; movz x8, #94 (exit_group); svc #0
const std::vector<uint8_t> kArm64Exit42 = arm64_code({0xd2800540, 0xd2800bc8, 0xd4000001});

struct Engine {
  uc_engine* uc = nullptr;
  explicit Engine(Arch arch) {
    const ArchAbi& abi = abi_for(arch);
    REQUIRE(uc_open(abi.unicorn_arch, abi.unicorn_mode, &uc) == UC_ERR_OK);
  }
  ~Engine() { uc_close(uc); }
  bool mapped(uint64_t addr) {
    uint8_t b;
    return uc_mem_read(uc, addr, &b, 1) == UC_ERR_OK;
  }
};

SyscallArgs call(uint64_t nr, std::array<uint64_t, 6> a = {}) {
  return SyscallArgs{nr, a};
}

}  // namespace

TEST_CASE("StaticElf rejects a non-ELF file with a message naming it") {
  auto r = StaticElf::parse({'h', 'e', 'l', 'l', 'o'}, "notes.txt");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("notes.txt") != std::string::npos);
  CHECK(r.error().message.find("not an ELF") != std::string::npos);
}

TEST_CASE("StaticElf rejects dynamically linked programs (PT_INTERP)") {
  auto r = StaticElf::parse(make_elf(EM_X86_64, ET_EXEC, kX86Exit42, true), "dyn");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("PT_INTERP") != std::string::npos);
}

TEST_CASE("StaticElf rejects unsupported machines") {
  CHECK_FALSE(StaticElf::parse(make_elf(EM_RISCV, ET_EXEC, kX86Exit42), "rv").ok());
}

TEST_CASE("StaticElf finds AT_PHDR inside the PT_LOAD that maps e_phoff, biased for static-pie") {
  auto exec = StaticElf::parse(make_elf(EM_X86_64, ET_EXEC, kX86Exit42), "exec");
  REQUIRE(exec.ok());
  CHECK(exec->phdr() == GuestAddr{kBase + sizeof(Elf64_Ehdr)});
  CHECK(exec->entry() == GuestAddr{kBase + kCodeOff});
  CHECK(exec->image_start() == GuestAddr{kBase});
  CHECK(exec->image_end() == GuestAddr{kBase + 0x3000});
  auto pie = StaticElf::parse(make_elf(EM_AARCH64, ET_DYN, kArm64Exit42), "pie");
  REQUIRE(pie.ok());
  CHECK(pie->bias() == abi_for(Arch::AArch64).pie_bias);
  CHECK(pie->entry() == GuestAddr{pie->bias() + kBase + kCodeOff});
}

TEST_CASE("InitialStack lays out argc, argv, envp, auxv and strings with a 16-byte aligned sp") {
  StackSpec spec{
      GuestAddr{0x7000000}, {"prog", "arg1"}, {"K=V"}, {{AT_PAGESZ, 4096}}, {}, "x86_64"};
  spec.random[0] = 0xab;
  InitialStack st = InitialStack::build(spec);
  CHECK(st.sp().value % 16 == 0);
  CHECK(st.sp().value + st.bytes().size() == 0x7000000);
  auto word = [&](size_t i) {
    uint64_t w;
    std::memcpy(&w, st.bytes().data() + i * 8, 8);
    return w;
  };
  auto str = [&](uint64_t addr) {
    return std::string(reinterpret_cast<const char*>(st.bytes().data() + (addr - st.sp().value)));
  };
  CHECK(word(0) == 2);
  CHECK(str(word(1)) == "prog");
  CHECK(str(word(2)) == "arg1");
  CHECK(word(3) == 0);
  CHECK(str(word(4)) == "K=V");
  CHECK(word(5) == 0);
  CHECK(word(6) == AT_PAGESZ);
  CHECK(word(7) == 4096);
  CHECK(word(8) == AT_RANDOM);
  CHECK(st.bytes()[word(9) - st.sp().value] == 0xab);
  CHECK(word(10) == AT_PLATFORM);
  CHECK(str(word(11)) == "x86_64");
  CHECK(word(12) == AT_EXECFN);
  CHECK(str(word(13)) == "prog");
  CHECK(word(14) == AT_NULL);
}

TEST_CASE("RawSyscalls returns -ENOSYS for unimplemented syscalls and counts them") {
  Engine e(Arch::X86_64);
  RawSyscalls sys(e.uc, abi_for(Arch::X86_64), GuestAddr{0x600000});
  CHECK(sys.dispatch(call(318)) == -ENOSYS);  // getrandom
  CHECK(sys.dispatch(call(318)) == -ENOSYS);
  CHECK(sys.dispatch(call(100000)) == -ENOSYS);
  CHECK(sys.unknown().at(318) == 2);
  CHECK(sys.count() == 3);
}

TEST_CASE("RawSyscalls brk grows with zeroed pages and ignores out-of-range requests") {
  Engine e(Arch::AArch64);
  RawSyscalls sys(e.uc, abi_for(Arch::AArch64), GuestAddr{0x600000});
  constexpr uint64_t kBrk = 214;
  CHECK(sys.dispatch(call(kBrk, {0})) == 0x600000);
  CHECK(sys.dispatch(call(kBrk, {0x601800})) == 0x601800);
  CHECK(e.mapped(0x601fff));
  uint8_t junk = 0x55;
  REQUIRE(uc_mem_write(e.uc, 0x601000, &junk, 1) == UC_ERR_OK);
  CHECK(sys.dispatch(call(kBrk, {0x600000})) == 0x600000);  // shrink unmaps
  CHECK_FALSE(e.mapped(0x601000));
  CHECK(sys.dispatch(call(kBrk, {0x602000})) == 0x602000);
  uint8_t got = 1;
  REQUIRE(uc_mem_read(e.uc, 0x601000, &got, 1) == UC_ERR_OK);
  CHECK(got == 0);
  CHECK(sys.dispatch(call(kBrk, {0x100})) == 0x602000);
}

TEST_CASE("RawSyscalls anonymous mmap is a bump allocator and munmap unmaps") {
  Engine e(Arch::X86_64);
  const ArchAbi& abi = abi_for(Arch::X86_64);
  RawSyscalls sys(e.uc, abi, GuestAddr{0x600000});
  constexpr uint64_t kMapPrivAnon = 0x22;
  int64_t a = sys.dispatch(call(9, {0, 100, 3, kMapPrivAnon, static_cast<uint64_t>(-1), 0}));
  int64_t b = sys.dispatch(call(9, {0, 0x3000, 3, kMapPrivAnon, static_cast<uint64_t>(-1), 0}));
  CHECK(static_cast<uint64_t>(a) == abi.mmap_base);
  CHECK(static_cast<uint64_t>(b) == abi.mmap_base + 0x1000);
  CHECK(e.mapped(static_cast<uint64_t>(b) + 0x2fff));
  CHECK(sys.dispatch(call(9, {0, 0x1000, 3, 0x02, 3, 0})) == -ENOSYS);  // file-backed
  CHECK(sys.dispatch(call(11, {static_cast<uint64_t>(a), 0x1000})) == 0);
  CHECK_FALSE(e.mapped(static_cast<uint64_t>(a)));
}

TEST_CASE("RawSyscalls opens only /dev/null, whose writes succeed without output") {
  Engine e(Arch::X86_64);
  RawSyscalls sys(e.uc, abi_for(Arch::X86_64), GuestAddr{0x600000});
  REQUIRE(uc_mem_map(e.uc, 0x10000, 0x1000, UC_PROT_ALL) == UC_ERR_OK);
  const char path[] = "/dev/null";
  const char other[] = "/etc/passwd";
  REQUIRE(uc_mem_write(e.uc, 0x10000, path, sizeof path) == UC_ERR_OK);
  REQUIRE(uc_mem_write(e.uc, 0x10100, other, sizeof other) == UC_ERR_OK);
  constexpr uint64_t kAtFdcwd = static_cast<uint64_t>(-100);
  CHECK(sys.dispatch(call(257, {kAtFdcwd, 0x10100, 1})) == -ENOENT);
  int64_t fd = sys.dispatch(call(257, {kAtFdcwd, 0x10000, 1}));
  CHECK(fd == 3);
  CHECK(sys.dispatch(call(1, {static_cast<uint64_t>(fd), 0x10000, 16})) == 16);
  CHECK(sys.dispatch(call(1, {9, 0x10000, 16})) == -EBADF);
  CHECK(sys.dispatch(call(3, {static_cast<uint64_t>(fd)})) == 0);
  CHECK(sys.dispatch(call(1, {static_cast<uint64_t>(fd), 0x10000, 16})) == -EBADF);
}

TEST_CASE("RawSyscalls arch_prctl(ARCH_SET_FS) sets the FS base") {
  Engine e(Arch::X86_64);
  RawSyscalls sys(e.uc, abi_for(Arch::X86_64), GuestAddr{0x600000});
  CHECK(sys.dispatch(call(158, {0x1002, 0x12345000})) == 0);
  uint64_t fs = 0;
  REQUIRE(uc_reg_read(e.uc, UC_X86_REG_FS_BASE, &fs) == UC_ERR_OK);
  CHECK(fs == 0x12345000);
}

TEST_CASE("RawMachine runs a static program to exit_group and counts its instructions") {
  for (auto [machine, code] :
       {std::pair{EM_X86_64, kX86Exit42}, std::pair{EM_AARCH64, kArm64Exit42}}) {
    auto elf = StaticElf::parse(make_elf(machine, ET_EXEC, code), "exit42");
    REQUIRE(elf.ok());
    for (CountMode mode : {CountMode::Off, CountMode::On}) {
      auto m = RawMachine::create(*elf, {"exit42"}, {}, mode);
      REQUIRE(m.ok());
      auto out = (*m)->run();
      REQUIRE(out.ok());
      CHECK(out->exit_code == 42);
      CHECK(out->syscalls == 1);
      CHECK(out->instructions.value == (mode == CountMode::On ? 3 : 0));
    }
  }
}

TEST_CASE("RawMachine reports a guest fault as an Error, not an exit") {
  // mov eax, 0x1000; jmp rax  -> instruction fetch from an unmapped page
  auto elf =
      StaticElf::parse(make_elf(EM_X86_64, ET_EXEC, {0xb8, 0, 0x10, 0, 0, 0xff, 0xe0}), "fault");
  REQUIRE(elf.ok());
  auto m = RawMachine::create(*elf, {"fault"}, {}, CountMode::Off);
  REQUIRE(m.ok());
  auto out = (*m)->run();
  REQUIRE_FALSE(out.ok());
  INFO(out.error().message);
  CHECK(out.error().message.find("FETCH_UNMAPPED") != std::string::npos);
}
