// ElfFile on real binaries: static glibc (x86_64, aarch64), static-pie, musl, a dynamic PIE
// and /bin/busybox (stripped).
#include <doctest/doctest.h>
#include <elf.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "loader/elf_file.h"
#include "tests/unit/loader/guest_files.h"

namespace probesim::loader {
namespace {

using test::guest_path;
using test::read_host_file;

ElfFile parse_guest(const std::string& file) {
  Result<ElfFile> f = ElfFile::parse("/guest/" + file, read_host_file(guest_path(file)));
  REQUIRE_MESSAGE(f.ok(), (f.ok() ? "" : f.error().message));
  return std::move(f).value();
}

// The file bytes at a symbol's address.
std::vector<uint8_t> symbol_bytes(const ElfFile& f, const std::string& name, size_t n) {
  Result<ElfSymbol> s = f.find_symbol(name);
  REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error().message));
  Result<FileOffset> off = f.vaddr_to_offset(s->value);
  REQUIRE(off.ok());
  REQUIRE(off->value + n <= f.bytes().size());
  return {f.bytes().begin() + off->value, f.bytes().begin() + off->value + n};
}

// What every hello guest must satisfy: runnable, `main` a defined global function inside an
// executable segment, and the data symbols' file bytes hold their initial values.
void check_hello(const ElfFile& f) {
  CHECK(f.check_executable().ok());
  CHECK_FALSE(f.interpreter().has_value());
  Result<ElfSymbol> main_sym = f.find_symbol("main");
  REQUIRE(main_sym.ok());
  CHECK(main_sym->type == STT_FUNC);
  CHECK(main_sym->bind == STB_GLOBAL);
  CHECK_FALSE(main_sym->dynamic);
  CHECK(main_sym->size > 0);
  bool in_text = false;
  for (const ElfSegment& s : f.load_segments())
    in_text |=
        (s.flags & PF_X) && main_sym->value >= s.vaddr && main_sym->value < s.vaddr + s.filesz;
  CHECK(in_text);
  const char greeting[] = "probesim-loader-test";
  auto g = symbol_bytes(f, "loader_greeting", sizeof greeting);
  CHECK(std::memcmp(g.data(), greeting, sizeof greeting) == 0);
  auto c = symbol_bytes(f, "loader_counter", 4);
  CHECK(c == std::vector<uint8_t>{0x34, 0x12, 0x5a, 0x5a});
  Result<ElfSymbol> bss = f.find_symbol("loader_bss");
  REQUIRE(bss.ok());
  CHECK(bss->size == 100000);
  CHECK_FALSE(f.vaddr_to_offset(bss->value + 50000).ok());  // zero-filled: not in the file
  CHECK(f.phnum() == f.segments().size());
  CHECK(f.phentsize() == sizeof(Elf64_Phdr));
}

TEST_CASE("static glibc x86_64: ET_EXEC, entry in text, symbols land on their bytes") {
  ElfFile f = parse_guest("hello-x64-static");
  CHECK(f.arch() == Arch::X86_64);
  CHECK(f.e_type() == ET_EXEC);
  CHECK(f.max_align() == 0x1000);
  CHECK(f.load_segments().front().vaddr == 0x400000);
  CHECK(f.phdr_vaddr() == 0x400000 + f.phoff());
  check_hello(f);
  CHECK(f.find_symbol("_start")->value == f.entry());
}

TEST_CASE("static-pie x86_64: ET_DYN without interpreter is executable") {
  ElfFile f = parse_guest("hello-x64-spie");
  CHECK(f.arch() == Arch::X86_64);
  CHECK(f.e_type() == ET_DYN);
  CHECK(f.is_dyn());
  CHECK(f.load_segments().front().vaddr == 0);
  check_hello(f);
}

TEST_CASE("static glibc aarch64: EM_AARCH64 with 64 KiB segment alignment") {
  ElfFile f = parse_guest("hello-a64-static");
  CHECK(f.arch() == Arch::AArch64);
  CHECK(f.e_type() == ET_EXEC);
  CHECK(f.max_align() == 0x10000);
  check_hello(f);
}

TEST_CASE("static musl x86_64 parses and its symbols land on their bytes") {
  ElfFile f = parse_guest("hello-x64-musl");
  CHECK(f.arch() == Arch::X86_64);
  check_hello(f);
}

TEST_CASE("a dynamic PIE parses with its interpreter and .dynsym and is executable") {
  ElfFile f = parse_guest("hello-x64-dyn");
  REQUIRE(f.interpreter().has_value());
  CHECK(f.interpreter()->find("ld-linux") != std::string::npos);
  CHECK(f.check_executable().ok());
  auto syms = f.symbols();
  REQUIRE(syms.ok());
  bool dyn_printf = false;
  for (const ElfSymbol& s : **syms)
    dyn_printf |= s.dynamic && s.name.rfind("printf", 0) == 0 && s.shndx == SHN_UNDEF;
  CHECK(dyn_printf);
  CHECK(f.find_symbol("main").ok());
  Result<ElfSymbol> printf_sym = f.find_symbol("printf");  // only undefined entries
  REQUIRE_FALSE(printf_sym.ok());
  CHECK(printf_sym.error().err == ENOENT);
}

TEST_CASE("stripped /bin/busybox parses and find_symbol reports the missing symbol table") {
  Result<ElfFile> f = ElfFile::parse("/bin/busybox", read_host_file("/bin/busybox"));
  REQUIRE(f.ok());
  CHECK(f->arch() == Arch::X86_64);
  CHECK(f->check_executable().ok());
  Result<ElfSymbol> s = f->find_symbol("main");
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().err == ENOENT);
  CHECK(s.error().message.find("/bin/busybox: no symbol 'main'") == 0);
}

}  // namespace
}  // namespace probesim::loader
