// ElfFile::parse() rejects each malformed header with a message naming the file and the
// problem (ENOEXEC), on files crafted from a valid minimal ELF.
#include <doctest/doctest.h>

#include <cerrno>
#include <string>

#include "loader/elf_file.h"
#include "tests/unit/loader/crafted_elf.h"

namespace probesim::loader {
namespace {

using test::CraftedElf;

const std::string kName = "/bin/crafted";

// The error of parsing bytes; fails the test if parsing succeeded.
Error parse_error(std::vector<uint8_t> bytes) {
  Result<ElfFile> r = ElfFile::parse(kName, std::move(bytes));
  REQUIRE_FALSE(r.ok());
  return r.error();
}

void check_error(const Error& e, const std::string& problem) {
  INFO("message: " << e.message);
  CHECK(e.message.rfind(kName + ": ", 0) == 0);
  CHECK(e.message.find(problem) != std::string::npos);
  CHECK(e.err == ENOEXEC);
}

Error exec_check_error(const CraftedElf& c) {
  Result<ElfFile> f = ElfFile::parse(kName, c.bytes());
  REQUIRE(f.ok());
  Result<void> r = f->check_executable();
  REQUIRE_FALSE(r.ok());
  Result<ElfFile> g = ElfFile::parse_executable(kName, c.bytes());
  REQUIRE_FALSE(g.ok());
  CHECK(g.error().message == r.error().message);
  return r.error();
}

TEST_CASE("a well-formed minimal ELF parses and its headers read back") {
  Result<ElfFile> f = ElfFile::parse(kName, CraftedElf::minimal().bytes());
  REQUIRE(f.ok());
  CHECK(f->arch() == Arch::X86_64);
  CHECK(f->e_type() == ET_EXEC);
  CHECK_FALSE(f->is_dyn());
  CHECK(f->entry() == CraftedElf::kEntry);
  CHECK(f->phoff() == 64);
  CHECK(f->phentsize() == 56);
  CHECK(f->phnum() == 2);
  REQUIRE(f->segments().size() == 2);
  CHECK(f->segments()[1].memsz == CraftedElf::kDataMemsz);
  CHECK_FALSE(f->interpreter().has_value());
  CHECK(f->max_align() == 0x1000);
  CHECK(f->phdr_vaddr() == CraftedElf::kText + 64);
  CHECK(f->check_executable().ok());
}

TEST_CASE("an empty file is not an ELF file") {
  check_error(parse_error({}), "not an ELF file (empty file)");
}

TEST_CASE("bad magic is reported with the bytes found") {
  auto b = CraftedElf::minimal().bytes();
  b[3] = 0;
  check_error(parse_error(b), "not an ELF file (bad magic 7f 45 4c 00)");
}

TEST_CASE("a script is not an ELF file and the message says to run its interpreter") {
  std::string s = "#!/bin/sh\necho hi\n";
  Error e = parse_error({s.begin(), s.end()});
  check_error(e, "not an ELF file (bad magic 23 21 2f 62)");
  CHECK(e.message.find("script") != std::string::npos);
}

TEST_CASE("a truncated ELF header reports its size and the size needed") {
  auto b = CraftedElf::minimal().bytes();
  b.resize(12);
  check_error(parse_error(b), "truncated ELF header (12 bytes, need 64)");
  b.resize(3);
  check_error(parse_error(b), "truncated ELF header (3 bytes, need 64)");
}

TEST_CASE("32-bit ELF (ELFCLASS32) is rejected") {
  auto c = CraftedElf::minimal();
  c.eh.e_ident[EI_CLASS] = ELFCLASS32;
  check_error(parse_error(c.bytes()),
              "32-bit ELF (ELFCLASS32) is not supported: probesim runs "
              "64-bit x86_64 and aarch64 programs");
}

TEST_CASE("big-endian ELF is rejected") {
  auto c = CraftedElf::minimal();
  c.eh.e_ident[EI_DATA] = ELFDATA2MSB;
  check_error(parse_error(c.bytes()), "big-endian ELF (ELFDATA2MSB) is not supported");
}

TEST_CASE("a bad ELF version is rejected") {
  auto c = CraftedElf::minimal();
  c.eh.e_ident[EI_VERSION] = 7;
  check_error(parse_error(c.bytes()), "unsupported ELF version 7");
}

TEST_CASE("an unsupported machine is named with its number") {
  auto c = CraftedElf::minimal();
  c.eh.e_machine = EM_RISCV;
  check_error(parse_error(c.bytes()), "ELF machine EM_RISCV (243) is not supported");
  c.eh.e_machine = 9999;
  check_error(parse_error(c.bytes()), "ELF machine EM_9999 (9999) is not supported");
}

TEST_CASE("aarch64 is accepted as Arch::AArch64") {
  auto c = CraftedElf::minimal();
  c.eh.e_machine = EM_AARCH64;
  Result<ElfFile> f = ElfFile::parse(kName, c.bytes());
  REQUIRE(f.ok());
  CHECK(f->arch() == Arch::AArch64);
}

TEST_CASE("ET_REL and ET_CORE cannot be executed and the message says why") {
  auto c = CraftedElf::minimal();
  c.eh.e_type = ET_REL;
  check_error(parse_error(c.bytes()),
              "ELF type ET_REL (relocatable object) cannot be executed; "
              "link it into an executable");
  c.eh.e_type = ET_CORE;
  check_error(parse_error(c.bytes()), "ELF type ET_CORE (core dump) cannot be executed");
}

TEST_CASE("a wrong program header entry size is rejected") {
  auto c = CraftedElf::minimal();
  c.eh.e_phentsize = 32;
  check_error(parse_error(c.bytes()), "program header entry size 32 (expected 56 for ELF64)");
}

TEST_CASE("zero program headers are rejected") {
  auto c = CraftedElf::minimal();
  c.keep_phnum = true;
  check_error(parse_error(c.bytes()), "no program headers (e_phnum 0)");
}

TEST_CASE("more program headers than Linux accepts are rejected") {
  auto c = CraftedElf::minimal();
  c.eh.e_phnum = 74;
  check_error(parse_error(c.bytes()),
              "too many program headers (e_phnum 74, Linux accepts at "
              "most 73)");
}

TEST_CASE("program headers beyond the end of the file are rejected") {
  auto c = CraftedElf::minimal();
  c.eh.e_phoff = 0x2ff0;
  check_error(parse_error(c.bytes()),
              "program headers (offset 0x2ff0, 2 x 56 bytes) extend "
              "beyond the end of the file (12288 bytes)");
  c.eh.e_phoff = ~uint64_t{0} - 0x100;  // offset + size overflows
  check_error(parse_error(c.bytes()), "extend beyond the end of the file");
}

TEST_CASE("a PT_LOAD segment beyond the end of the file is rejected") {
  auto c = CraftedElf::minimal();
  c.ph[1].p_filesz = 0x1100;
  c.ph[1].p_memsz = 0x3000;
  check_error(parse_error(c.bytes()),
              "PT_LOAD segment 1 (offset 0x2000, filesz 0x1100) extends "
              "beyond the end of the file (12288 bytes)");
}

TEST_CASE("a PT_LOAD segment with filesz > memsz is rejected") {
  auto c = CraftedElf::minimal();
  c.ph[1].p_memsz = 0x80;
  check_error(parse_error(c.bytes()), "PT_LOAD segment 1 has filesz 0x100 > memsz 0x80");
}

TEST_CASE("a PT_LOAD segment wrapping around the address space is rejected") {
  auto c = CraftedElf::minimal();
  c.ph[1].p_vaddr = ~uint64_t{0} - 0xfff;
  check_error(parse_error(c.bytes()),
              "PT_LOAD segment 1 (vaddr 0xfffffffffffff000, memsz "
              "0x3000) wraps around the address space");
}

TEST_CASE("a PT_LOAD whose vaddr and offset disagree modulo the page size is rejected") {
  auto c = CraftedElf::minimal();
  c.ph[1].p_vaddr += 0x10;
  check_error(parse_error(c.bytes()),
              "PT_LOAD segment 1 vaddr and offset disagree modulo the "
              "page size");
}

TEST_CASE("a file without PT_LOAD is rejected") {
  auto c = CraftedElf::minimal();
  c.ph[0].p_type = PT_NOTE;
  c.ph[1].p_type = PT_NOTE;
  check_error(parse_error(c.bytes()), "no PT_LOAD segment");
}

TEST_CASE("overlapping PT_LOAD segments are rejected") {
  auto c = CraftedElf::minimal();
  c.ph[0].p_filesz = c.ph[0].p_memsz = 0x2008;
  check_error(parse_error(c.bytes()),
              "PT_LOAD segments 0 and 1 overlap ([0x400000, 0x402008) "
              "and [0x402000, 0x405000))");
}

TEST_CASE("PT_LOAD segments out of vaddr order are rejected") {
  auto c = CraftedElf::minimal();
  std::swap(c.ph[0], c.ph[1]);
  check_error(parse_error(c.bytes()), "PT_LOAD segments 0 and 1 are not in ascending vaddr order");
}

TEST_CASE("a PT_INTERP that is not a NUL-terminated path is rejected") {
  auto c = CraftedElf::minimal();
  c.add_interp("/lib/ld.so");
  c.ph[0].p_filesz -= 1;  // drop the NUL
  check_error(parse_error(c.bytes()),
              "PT_INTERP (offset 0x800, filesz 0xa) is not a "
              "NUL-terminated path");
}

TEST_CASE("a dynamically linked executable parses and is executable (given its interpreter)") {
  auto c = CraftedElf::minimal();
  c.add_interp("/lib64/ld-linux-x86-64.so.2");
  Result<ElfFile> f = ElfFile::parse(kName, c.bytes());
  REQUIRE(f.ok());
  CHECK(f->interpreter() == "/lib64/ld-linux-x86-64.so.2");
  CHECK(f->check_executable().ok());
}

TEST_CASE("an entry point outside every executable PT_LOAD cannot be executed") {
  auto c = CraftedElf::minimal();
  c.eh.e_entry = CraftedElf::kData + 8;  // inside the RW- segment
  check_error(exec_check_error(c), "entry point 0x402008 is outside every executable PT_LOAD");
  c.eh.e_entry = 0x10;
  check_error(exec_check_error(c), "entry point 0x10 is outside every executable PT_LOAD");
}

TEST_CASE("vaddr_to_offset maps file bytes and rejects bss and unmapped addresses") {
  Result<ElfFile> f = ElfFile::parse(kName, CraftedElf::minimal().bytes());
  REQUIRE(f.ok());
  CHECK(f->vaddr_to_offset(CraftedElf::kEntry)->value == 0x1000);
  CHECK(f->vaddr_to_offset(CraftedElf::kData + 0xff)->value == 0x20ff);
  Result<FileOffset> bss = f->vaddr_to_offset(CraftedElf::kData + 0x100);
  REQUIRE_FALSE(bss.ok());
  CHECK(bss.error().message.find("bss") != std::string::npos);
  CHECK_FALSE(f->vaddr_to_offset(0x1234).ok());
}

TEST_CASE("a file without section headers has no symbols and find_symbol says so") {
  Result<ElfFile> f = ElfFile::parse(kName, CraftedElf::minimal().bytes());
  REQUIRE(f.ok());
  auto syms = f->symbols();
  REQUIRE(syms.ok());
  CHECK((*syms)->empty());
  Result<ElfSymbol> s = f->find_symbol("main");
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().err == ENOENT);
  CHECK(s.error().message == kName +
                                 ": no symbol 'main' (the file has no symbol table: it is "
                                 "stripped); check the name with `nm` or probe an address "
                                 "instead");
}

TEST_CASE("corrupt section headers make symbols() an error, not a crash") {
  auto c = CraftedElf::minimal();
  c.eh.e_shoff = 0x2f00;
  c.eh.e_shnum = 10;  // 640 bytes: beyond the end of the file
  c.eh.e_shentsize = sizeof(Elf64_Shdr);
  Result<ElfFile> f = ElfFile::parse(kName, c.bytes());
  REQUIRE(f.ok());  // sections do not matter for loading
  auto syms = f->symbols();
  REQUIRE_FALSE(syms.ok());
  check_error(syms.error(), "section headers are corrupt (table at 0x2f00 extends beyond the end");
  CHECK_FALSE(f->symbols().ok());  // cached
}

}  // namespace
}  // namespace probesim::loader
