// exec_elf(): VMAs as Linux's load_elf_binary() creates them (text from the page cache, data
// a private copy, bss anonymous, [stack]) and the initial stack read back from guest memory.
#include "loader/exec.h"

#include <doctest/doctest.h>
#include <elf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "mmu/mm.h"
#include "mmu/vm_flags.h"
#include "tests/unit/loader/crafted_elf.h"
#include "tests/unit/loader/exec_fixture.h"
#include "tests/unit/loader/guest_files.h"
#include "tests/unit/loader/stack_decoder.h"

namespace probesim::loader {
namespace {

using test::CraftedElf;
using test::DecodedStack;
using test::Exec;
using test::guest_exec;
using test::kA64Top;
using test::kX86Top;
using test::layout_for;

uint32_t vm_prot(const ElfSegment& s) {
  return ((s.flags & PF_R) ? mmu::VM_READ : 0) | ((s.flags & PF_W) ? mmu::VM_WRITE : 0) |
         ((s.flags & PF_X) ? mmu::VM_EXEC : 0);
}

// Every PT_LOAD of `elf` (mapped from `inode` at `bias`): read-only parts map the page-cache
// frames, writable parts are private copies holding the file bytes then zeros, bss is
// anonymous and zero.
void check_file_segments(const Exec& e, const ElfFile& elf, mmu::Inode* inode, uint64_t bias) {
  const std::vector<uint8_t>& file = elf.bytes();
  for (const ElfSegment& s : elf.load_segments()) {
    uint64_t addr = bias + s.vaddr;
    const mmu::Vma* v = e.mm->vma_at(GuestAddr{addr});
    REQUIRE(v != nullptr);
    CHECK((v->vm_flags & mmu::VM_RWX) == vm_prot(s));
    CHECK(v->vm_file == inode);
    CHECK(v->vm_pgoff == page_align_down(s.offset) >> kPageShift);
    if (!(s.flags & PF_W)) {
      CHECK_FALSE(v->private_copy());
      CHECK(v->host_ptr(GuestAddr{addr}) ==
            inode->i_mapping().base() + s.offset);  // the page-cache frame itself
    } else {
      CHECK(v->private_copy());
    }
    CHECK(e.read(addr, s.filesz) ==
          std::vector<uint8_t>(file.begin() + s.offset, file.begin() + s.offset + s.filesz));
    if (s.memsz > s.filesz && (s.flags & PF_W)) {
      uint64_t zero_from = addr + s.filesz, zero_to = page_align_up(addr + s.memsz);
      auto z = e.read(zero_from, zero_to - zero_from);
      CHECK(std::all_of(z.begin(), z.end(), [](uint8_t b) { return b == 0; }));
      const mmu::Vma* bss = e.mm->vma_at(GuestAddr{page_align_up(zero_from)});
      if (page_align_up(zero_from) < zero_to) {
        REQUIRE(bss != nullptr);
        CHECK(bss->vm_file == nullptr);
      }
    }
  }
}

void check_segments(const Exec& e, const ExecImage& img) {
  check_file_segments(e, *e.elf, e.inode, img.load_bias.value);
}

void check_stack_vma(const Exec& e, const ExecImage& img) {
  const mmu::Vma* st = e.mm->vma_at(img.sp);
  REQUIRE(st != nullptr);
  CHECK(st->name == "[stack]");
  CHECK(st->vm_end == img.stack_top);
  CHECK(st->vm_start == img.stack_top - e.params.stack_size);
  CHECK((st->vm_flags & mmu::VM_RWX) == (mmu::VM_READ | mmu::VM_WRITE));
  CHECK((st->vm_flags & mmu::VM_GROWSDOWN) != 0);
  CHECK(st->vm_file == nullptr);
}

// argc/argv/envp/auxv read back through the mm; AT_RANDOM and AT_PHDR point at the real bytes.
void check_stack_contents(const Exec& e, const ExecImage& img) {
  CHECK(img.sp.value % 16 == 0);
  DecodedStack d = DecodedStack::decode(e.peek(), img.sp.value);
  CHECK(d.argc == e.params.argv.size());
  CHECK(d.argv == e.params.argv);
  CHECK(d.envp == e.params.envp);
  CHECK(d.auxv == img.auxv);
  CHECK(d.aux(AT_ENTRY) == img.load_bias.value + e.elf->entry());
  CHECK(d.aux(AT_PHDR) == img.phdr.value);
  CHECK(d.aux(AT_PHNUM) == e.elf->phnum());
  auto rnd = e.read(d.aux(AT_RANDOM), 16);
  CHECK(std::equal(rnd.begin(), rnd.end(), e.params.at_random.begin()));
  CHECK(DecodedStack::string_at(e.peek(), d.aux(AT_EXECFN)) == e.params.execfn);
  CHECK(DecodedStack::string_at(e.peek(), d.aux(AT_PLATFORM)) == arch_name(e.elf->arch()));
  const auto& f = e.elf->bytes();
  size_t n = size_t{e.elf->phnum()} * sizeof(Elf64_Phdr);
  REQUIRE(img.phdr.value != 0);
  CHECK(e.read(img.phdr.value, n) ==
        std::vector<uint8_t>(f.begin() + e.elf->phoff(), f.begin() + e.elf->phoff() + n));
  CHECK(img.arg_start.value == d.argv_ptrs.front());
  CHECK(img.env_start.value == d.envp_ptrs.front());
}

void check_exec(const Exec& e, const ExecImage& img) {
  check_segments(e, img);
  check_stack_vma(e, img);
  check_stack_contents(e, img);
  uint64_t end = 0;
  for (const ElfSegment& s : e.elf->load_segments()) end = std::max(end, s.vaddr + s.memsz);
  CHECK(img.start_brk.value == page_align_up(img.load_bias.value + end));
  CHECK(e.mm->start_brk() == img.start_brk);
  CHECK(img.entry.value == img.load_bias.value + e.elf->entry());
}

TEST_CASE("exec of static glibc x86_64: text shares the page cache, data private, bss, stack") {
  Exec e = guest_exec("hello-x64-static");
  ExecImage img = e.run();
  CHECK(img.load_bias.value == 0);
  check_exec(e, img);
  // i_mmap holds exactly the file-backed VMAs.
  size_t file_vmas = 0;
  for (const mmu::Vma* v : e.mm->vmas()) file_vmas += v->vm_file == e.inode;
  CHECK(e.inode->i_mapping().i_mmap().size() == file_vmas);
}

TEST_CASE("exec of static-pie x86_64 loads at the ASLR-off base 0x555555554000") {
  Exec e = guest_exec("hello-x64-spie");
  ExecImage img = e.run();
  CHECK(img.load_bias.value == 0x555555554000);
  check_exec(e, img);
}

TEST_CASE("exec of static glibc aarch64 maps its 64 KiB-aligned segments") {
  Exec e = guest_exec("hello-a64-static");
  ExecImage img = e.run();
  check_exec(e, img);
}

TEST_CASE("exec of static-pie aarch64 loads at 0xaaaaaaaa0000") {
  Exec e = guest_exec("hello-a64-spie");
  ExecImage img = e.run();
  CHECK(img.load_bias.value == 0xaaaaaaaa0000);
  check_exec(e, img);
}

TEST_CASE("exec of static musl x86_64 works (musl needs AT_PHDR)") {
  Exec e = guest_exec("hello-x64-musl");
  check_exec(e, e.run());
}

TEST_CASE("two processes exec'ing one file share the text frames but not the data") {
  std::vector<uint8_t> bytes = test::read_host_file(test::guest_path("hello-x64-static"));
  Exec a("/guest/hello", bytes);
  ExecImage ia = a.run();
  mmu::Mm mm2(layout_for(Arch::X86_64));
  Result<ExecImage> ib = exec_elf(mm2, a.inode, *a.elf, a.params);
  REQUIRE(ib.ok());
  mm2.verify();
  for (const ElfSegment& s : a.elf->load_segments()) {
    GuestAddr at{s.vaddr};
    bool same = a.mm->vma_at(at)->host_ptr(at) == mm2.vma_at(at)->host_ptr(at);
    CHECK(same == !(s.flags & PF_W));
  }
  size_t file_vmas = 0;
  for (const mmu::Vma* v : a.mm->vmas()) file_vmas += v->vm_file == a.inode;
  for (const mmu::Vma* v : mm2.vmas()) file_vmas += v->vm_file == a.inode;
  CHECK(a.inode->i_mapping().i_mmap().size() == file_vmas);
  CHECK(ia.entry == ib->entry);
}

TEST_CASE("padzero hides the file bytes after filesz in the last data page") {
  for (bool with_inode : {true, false}) {
    CAPTURE(with_inode);
    Exec e("/crafted", CraftedElf::minimal().bytes(), with_inode);
    ExecImage img = e.run();
    CHECK(e.read(CraftedElf::kData + 0xff, 1)[0] == 0xAB);
    auto tail = e.read(CraftedElf::kData + 0x100, 0x3000 - 0x100);
    CHECK(std::all_of(tail.begin(), tail.end(), [](uint8_t b) { return b == 0; }));
    const mmu::Vma* bss = e.mm->vma_at(GuestAddr{CraftedElf::kData + 0x1000});
    REQUIRE(bss != nullptr);
    CHECK(bss->vm_start.value == CraftedElf::kData + 0x1000);
    CHECK(bss->vm_end.value == CraftedElf::kData + 0x3000);
    CHECK(e.mm->start_brk().value == CraftedElf::kData + 0x3000);
    CHECK(img.phdr.value == CraftedElf::kText + 64);
    if (with_inode) {  // the page cache still holds the file's bytes
      auto pc = e.inode->i_mapping().find_or_read_page(PageIndex{2});
      REQUIRE(pc.ok());
      CHECK((*pc)[0x100] == 0xEE);
    }
  }
}

TEST_CASE("exec without an inode maps anonymous copies of the file bytes") {
  Exec e("/guest/hello", test::read_host_file(test::guest_path("hello-x64-static")), false);
  ExecImage img = e.run();
  for (const mmu::Vma* v : e.mm->vmas()) CHECK(v->vm_file == nullptr);
  check_stack_contents(e, img);
  const ElfSegment text = e.elf->load_segments()[1];
  CHECK(e.read(text.vaddr, 64) == std::vector<uint8_t>(e.elf->bytes().begin() + text.offset,
                                                       e.elf->bytes().begin() + text.offset + 64));
}

// load_elf_binary() with PT_INTERP, ASLR off: a PIE at ELF_ET_DYN_BASE, brk after it, the
// ET_DYN interpreter where get_unmapped_area(0, its span) puts it (right below mmap_base), the
// first instruction its entry, AT_BASE its load address, AT_ENTRY/AT_PHDR the program's.
void check_dynamic_exec(Exec& e, const ExecImage& img) {
  REQUIRE(e.elf->interpreter().has_value());
  check_segments(e, img);
  check_stack_vma(e, img);
  check_stack_contents(e, img);
  const ElfFile& in = *e.interp_elf;
  std::vector<ElfSegment> loads = in.load_segments();
  uint64_t span = page_align_up(loads.back().vaddr + loads.back().memsz);
  CHECK(img.interp_base.value == e.mm->layout().mmap_base.value - span);
  check_file_segments(e, in, e.interp_inode, img.interp_base.value);
  CHECK(img.entry.value == img.interp_base.value + in.entry());
  DecodedStack d = DecodedStack::decode(e.peek(), img.sp.value);
  CHECK(d.aux(AT_BASE) == img.interp_base.value);
  CHECK(d.aux(AT_ENTRY) == img.load_bias.value + e.elf->entry());
  uint64_t end = 0;
  for (const ElfSegment& s : e.elf->load_segments()) end = std::max(end, s.vaddr + s.memsz);
  CHECK(e.mm->start_brk().value == page_align_up(img.load_bias.value + end));
}

TEST_CASE("exec of a dynamic PIE maps ld.so below mmap_base and passes AT_BASE") {
  Exec e = guest_exec("hello-x64-dyn");
  e.set_interp("/lib64/ld-linux-x86-64.so.2");
  ExecImage img = e.run();
  CHECK(img.load_bias.value == 0x555555554000);
  check_dynamic_exec(e, img);
}

TEST_CASE("exec of a dynamic ET_EXEC maps it at its link address and ld.so below mmap_base") {
  Exec e = guest_exec("hello-x64-dyn-nopie");
  CHECK_FALSE(e.elf->is_dyn());
  e.set_interp("/lib64/ld-linux-x86-64.so.2");
  ExecImage img = e.run();
  CHECK(img.load_bias.value == 0);
  check_dynamic_exec(e, img);
}

TEST_CASE("exec of a dynamic aarch64 PIE maps ld-linux-aarch64 and passes AT_BASE") {
  Exec e = guest_exec("hello-a64-dyn");
  e.set_interp(PROBESIM_AARCH64_SYSROOT "/lib/ld-linux-aarch64.so.1");
  ExecImage img = e.run();
  CHECK(img.load_bias.value == 0xaaaaaaaa0000);
  check_dynamic_exec(e, img);
}

TEST_CASE("exec of a PT_INTERP program without its interpreter is ENOEXEC and maps nothing") {
  Exec e = guest_exec("hello-x64-dyn");
  Result<ExecImage> r = e.try_run();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().err == ENOEXEC);
  CHECK(r.error().message.find("no interpreter was given") != std::string::npos);
  CHECK(e.mm->vma_count() == 0);
}

TEST_CASE("an interpreter of another machine is ELIBBAD and maps nothing") {
  Exec e = guest_exec("hello-x64-dyn");
  e.set_interp(PROBESIM_AARCH64_SYSROOT "/lib/ld-linux-aarch64.so.1");
  Result<ExecImage> r = e.try_run();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().err == ELIBBAD);
  CHECK(r.error().message.find("/guest/hello-x64-dyn: its program interpreter") == 0);
  CHECK(r.error().message.find("ld-linux-aarch64.so.1 is an aarch64 file") != std::string::npos);
  CHECK(e.mm->vma_count() == 0);
}

TEST_CASE("exec with argv too large for the stack is E2BIG and maps nothing") {
  Exec e("/crafted", CraftedElf::minimal().bytes());
  e.params.stack_size = 1 << 20;
  e.params.argv.assign(3, std::string(100000, 'z'));
  Result<ExecImage> r = exec_elf(*e.mm, e.inode, *e.elf, e.params);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().err == E2BIG);
  CHECK(e.mm->vma_count() == 0);
}

TEST_CASE("a segment over the stack or beyond the task size is EINVAL") {
  Exec e("/crafted", CraftedElf::minimal().bytes());
  e.params.stack_top = GuestAddr{0x404000};
  e.params.stack_size = 0x4000;
  Result<ExecImage> r = exec_elf(*e.mm, e.inode, *e.elf, e.params);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().err == EINVAL);
  CHECK(r.error().message.find("overlaps the stack") != std::string::npos);

  CraftedElf high = CraftedElf::minimal();
  high.ph[1].p_vaddr = high.ph[1].p_paddr = kX86Top - 0x1000;
  Exec h("/crafted-high", high.bytes());
  r = exec_elf(*h.mm, h.inode, *h.elf, h.params);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().err == EINVAL);
  CHECK(r.error().message.find("beyond the user address space") != std::string::npos);
}

TEST_CASE("the ET_DYN load bias is 2/3 of the task size, aligned to the largest p_align") {
  CraftedElf c = CraftedElf::minimal();
  Result<ElfFile> exec_file = ElfFile::parse("exec", c.bytes());
  REQUIRE(exec_file.ok());
  CHECK(elf_load_bias(*exec_file, kX86Top).value == 0);
  c.eh.e_type = ET_DYN;
  Result<ElfFile> dyn = ElfFile::parse("dyn", c.bytes());
  REQUIRE(dyn.ok());
  CHECK(elf_load_bias(*dyn, task_size(Arch::X86_64)).value == 0x555555554000);
  CHECK(elf_load_bias(*dyn, task_size(Arch::AArch64)).value == 0xaaaaaaaaa000);
  c.ph[0].p_align = c.ph[1].p_align = 0x10000;
  Result<ElfFile> dyn64k = ElfFile::parse("dyn64k", c.bytes());
  REQUIRE(dyn64k.ok());
  CHECK(elf_load_bias(*dyn64k, task_size(Arch::AArch64)).value == 0xaaaaaaaa0000);
}

}  // namespace
}  // namespace probesim::loader
