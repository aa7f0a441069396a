#include "loader/exec.h"

#include <elf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "loader/initial_stack.h"
#include "loader/loader_error.h"
#include "mmu/mm.h"
#include "mmu/vm_flags.h"
#include "probesim/assert.h"

namespace probesim::loader {
namespace {

using mmu::kMapAnonymous;
using mmu::kMapFixed;
using mmu::kMapGrowsdown;
using mmu::kMapPrivate;

struct ProtBit {
  uint32_t pf;
  int prot;
};
constexpr ProtBit kProtBits[] = {
    {PF_R, mmu::kProtRead}, {PF_W, mmu::kProtWrite}, {PF_X, mmu::kProtExec}};

int segment_prot(const ElfSegment& s) {
  int prot = 0;
  for (const ProtBit& b : kProtBits)
    if (s.flags & b.pf) prot |= b.prot;
  return prot;
}

// A PT_LOAD placed at its run-time address: [start, end) are the page-aligned bounds of its
// whole memory image; addr/file_end/mem_end are byte addresses.
struct Placed {
  size_t index;  // program header index, as in the ElfFile's messages
  const ElfSegment* seg;
  uint64_t addr, file_end, mem_end, start, end;
};

std::vector<Placed> place_segments(const ElfFile& elf, uint64_t bias) {
  std::vector<Placed> out;
  for (size_t i = 0; i < elf.segments().size(); ++i) {
    const ElfSegment& s = elf.segments()[i];
    if (s.type != PT_LOAD) continue;
    uint64_t addr = bias + s.vaddr;
    out.push_back({i, &s, addr, addr + s.filesz, addr + s.memsz, page_align_down(addr),
                   page_align_up(addr + s.memsz)});
  }
  return out;
}

// load_elf_binary's start_code/end_code/start_data/end_data over the placed PT_LOADs.
void set_code_data_bounds(ExecImage& img, const std::vector<Placed>& segs) {
  uint64_t start_code = ~0ull, end_code = 0, start_data = 0, end_data = 0;
  for (const Placed& s : segs) {
    const bool exec = (s.seg->flags & PF_X) != 0;
    if (exec) start_code = std::min(start_code, s.addr);
    if (exec) end_code = std::max(end_code, s.file_end);
    start_data = std::max(start_data, s.addr);
    end_data = std::max(end_data, s.file_end);
  }
  img.start_code = GuestAddr{start_code == ~0ull ? 0 : start_code};
  img.end_code = GuestAddr{end_code};
  img.start_data = GuestAddr{start_data};
  img.end_data = GuestAddr{end_data};
}

// Linux's load_elf_binary() checks (EINVAL) plus: nothing may land on the stack.
Result<void> check_placement(const ElfFile& elf, const std::vector<Placed>& segs,
                             const mmu::MmLayout& layout, const ExecParams& p) {
  uint64_t stack_lo = p.stack_top.value - p.stack_size;
  for (const Placed& s : segs) {
    std::string what = "PT_LOAD segment " + std::to_string(s.index) + " at [" + hex(s.start) +
                       ", " + hex(s.end) + ")";
    if (s.end > layout.task_size.value || s.end < s.start)
      return Error::make(elf.name() + ": " + what + " ends beyond the user address space (" +
                             hex(layout.task_size.value) + ")",
                         EINVAL);
    if (s.start < layout.mmap_min_addr.value && s.seg->memsz != 0)
      return Error::make(elf.name() + ": " + what + " starts below vm.mmap_min_addr (" +
                             hex(layout.mmap_min_addr.value) + "): relink it at a higher address",
                         EPERM);
    if (s.start < p.stack_top.value && stack_lo < s.end)
      return Error::make(elf.name() + ": " + what + " overlaps the stack [" + hex(stack_lo) + ", " +
                             hex(p.stack_top.value) + ")",
                         EINVAL);
  }
  return {};
}

Error map_failed(const ElfFile& elf, const std::string& what, int64_t rc) {
  return Error::make(
      elf.name() + ": mapping " + what + " failed (errno " + std::to_string(-rc) + ")",
      static_cast<int>(-rc));
}

// elf_map(): the file-backed part, [start, page_align_up(file_end)), from the page-aligned
// file offset. Without an inode: anonymous memory filled with the same file bytes.
Result<void> map_file_part(mmu::Mm& mm, mmu::Inode* file, const ElfFile& elf, const Placed& s) {
  uint64_t len = page_align_up(s.file_end) - s.start;
  uint64_t off = s.seg->offset - (s.addr - s.start);
  int prot = segment_prot(*s.seg);
  int64_t rc = file ? mm.mmap(GuestAddr{s.start}, len, prot, kMapPrivate | kMapFixed, file,
                              FileOffset{off}, mmu::FileMode::ReadOnly)
                    : mm.mmap(GuestAddr{s.start}, len, prot,
                              kMapPrivate | kMapFixed | kMapAnonymous, nullptr, FileOffset{0});
  if (rc < 0) return map_failed(elf, "PT_LOAD segment " + std::to_string(s.index), rc);
  if (!file) {
    uint64_t n = std::min<uint64_t>(len, elf.bytes().size() - off);
    PROBESIM_ASSERT(mm.poke(GuestAddr{s.start}, elf.bytes().data() + off, n));
  }
  return {};
}

// elf_load(): map the file part, padzero() the rest of its last page (only if writable:
// Linux's clear_user fails on a read-only page and the error is ignored), and map the
// remaining memsz as anonymous memory with the segment's protection (Linux: vm_brk_flags,
// which makes it read-write whatever the segment says; bss is in RW segments anyway).
Result<void> load_segment(mmu::Mm& mm, mmu::Inode* file, const ElfFile& elf, const Placed& s) {
  uint64_t zero_start = s.start;
  if (s.seg->filesz != 0) {
    PROBESIM_TRY_VOID(map_file_part(mm, file, elf, s));
    zero_start = s.file_end;
    bool writable = s.seg->flags & PF_W;
    if (s.seg->memsz > s.seg->filesz && writable && !page_aligned(zero_start)) {
      std::vector<uint8_t> zeros(page_align_up(zero_start) - zero_start, 0);
      PROBESIM_ASSERT(mm.poke(GuestAddr{zero_start}, zeros.data(), zeros.size()));
    }
  }
  if (s.seg->memsz <= s.seg->filesz) return {};
  uint64_t bss = page_align_up(zero_start);
  if (s.end <= bss) return {};
  int64_t rc = mm.mmap(GuestAddr{bss}, s.end - bss, segment_prot(*s.seg),
                       kMapPrivate | kMapFixed | kMapAnonymous, nullptr, FileOffset{0});
  if (rc < 0) return map_failed(elf, "the bss of PT_LOAD segment " + std::to_string(s.index), rc);
  return {};
}

// The [stack] VMA: anonymous, read-write, grows down (Linux's VM_STACK_FLAGS).
Result<void> map_stack(mmu::Mm& mm, const ElfFile& elf, const ExecParams& p) {
  GuestAddr lo = p.stack_top - p.stack_size;
  int64_t rc =
      mm.mmap(lo, p.stack_size, mmu::kProtRead | mmu::kProtWrite,
              kMapPrivate | kMapFixed | kMapAnonymous | kMapGrowsdown, nullptr, FileOffset{0});
  if (rc < 0) return map_failed(elf, "the stack", rc);
  return mm.set_vma_name(lo, "[stack]");
}

// The PT_LOADs of one file at `bias`, checked then mapped.
Result<std::vector<Placed>> load_file(mmu::Mm& mm, mmu::Inode* file, const ElfFile& elf,
                                      uint64_t bias, const ExecParams& p) {
  std::vector<Placed> segs = place_segments(elf, bias);
  PROBESIM_TRY_VOID(check_placement(elf, segs, mm.layout(), p));
  for (const Placed& s : segs) PROBESIM_TRY_VOID(load_segment(mm, file, elf, s));
  return segs;
}

// load_elf_interp()'s load address: 0 for ET_EXEC; for ET_DYN, where elf_map() of the first
// PT_LOAD with the whole span (total_mapping_size) and no MAP_FIXED lands, i.e. what
// get_unmapped_area(0, span) returns (top-down below mmap_base with ASLR off), minus the
// first segment's page-aligned vaddr. Found by mapping and unmapping the span.
Result<uint64_t> interp_bias(mmu::Mm& mm, const ElfFile& interp) {
  if (!interp.is_dyn()) return uint64_t{0};
  std::vector<ElfSegment> loads = interp.load_segments();
  if (loads.empty()) return enoexec(interp.name(), "the interpreter has no PT_LOAD segment");
  uint64_t lo = page_align_down(loads.front().vaddr);
  uint64_t span = page_align_up(loads.back().vaddr + loads.back().memsz) - lo;
  int64_t at = mm.mmap(GuestAddr{0}, span, mmu::kProtNone, kMapPrivate | kMapAnonymous, nullptr,
                       FileOffset{0});
  if (at < 0) return map_failed(interp, "the interpreter (" + hex(span) + " bytes)", at);
  PROBESIM_ASSERT(mm.munmap(GuestAddr{static_cast<uint64_t>(at)}, span) == 0);
  return static_cast<uint64_t>(at) - lo;
}

}  // namespace

GuestAddr elf_load_bias(const ElfFile& elf, uint64_t task_size) {
  if (!elf.is_dyn()) return GuestAddr{0};
  uint64_t base = page_align_down(2 * task_size / 3);  // task_size < 2^63: no overflow
  return GuestAddr{base & ~(elf.max_align() - 1)};
}

Result<void> check_interpreter(const ElfFile& interp, const ElfFile& program) {
  if (interp.arch() != program.arch())
    return Error::make(program.name() + ": its program interpreter " + interp.name() +
                           " is an " + std::string(arch_name(interp.arch())) + " file, the program " +
                           std::string(arch_name(program.arch())) + " (elf_check_arch)",
                       ELIBBAD);
  return {};
}

Result<ExecImage> exec_elf(mmu::Mm& mm, mmu::Inode* file, const ElfFile& elf, const ExecParams& p,
                           const Interp* interp) {
  PROBESIM_TRY_VOID(elf.check_executable());
  if (elf.interpreter() && !interp)
    return enoexec(elf.name(), "dynamically linked (interpreter " + *elf.interpreter() +
                                   ") but no interpreter was given to the loader");
  if (interp) PROBESIM_TRY_VOID(check_interpreter(*interp->elf, elf));
  GuestAddr bias = elf_load_bias(elf, mm.layout().task_size.value);
  std::optional<uint64_t> phdr = elf.phdr_vaddr();
  // AT_SYSINFO_EHDR's placeholder counts the entry in the first build's layout.
  AuxvImage aux{GuestAddr{phdr ? bias.value + *phdr : 0}, elf.phnum(),
                GuestAddr{bias.value + elf.entry()}, GuestAddr{0}, GuestAddr{p.vdso ? 1u : 0u}};
  // Checks argv/envp/stack parameters (E2BIG, EINVAL) before anything is mapped; rebuilt
  // below once AT_BASE and AT_SYSINFO_EHDR are known (the layout does not depend on their
  // values).
  PROBESIM_TRY_VOID(InitialStack::build(p, elf.arch(), aux));
  PROBESIM_TRY_VOID(check_placement(elf, place_segments(elf, bias.value), mm.layout(), p));

  PROBESIM_TRY_VOID(map_stack(mm, elf, p));
  std::vector<Placed> segs = PROBESIM_TRY(load_file(mm, file, elf, bias.value, p));
  uint64_t brk = 0;
  for (const Placed& s : segs) brk = std::max(brk, s.mem_end);
  GuestAddr start_brk{page_align_up(brk)};
  mm.set_brk_base(start_brk);
  GuestAddr entry = aux.entry;
  if (interp) {
    uint64_t ibias = PROBESIM_TRY(interp_bias(mm, *interp->elf));
    PROBESIM_TRY_VOID(load_file(mm, interp->file, *interp->elf, ibias, p));
    aux.base = GuestAddr{ibias};
    entry = GuestAddr{ibias + interp->elf->entry()};
  }
  if (p.vdso) aux.sysinfo_ehdr = PROBESIM_TRY(map_vdso(mm, *p.vdso));  // ARCH_SETUP_ADDITIONAL_PAGES
  InitialStack stack = PROBESIM_TRY(InitialStack::build(p, elf.arch(), aux));
  PROBESIM_ASSERT(mm.poke(stack.low(), stack.bytes().data(), stack.bytes().size()));

  ExecImage img{entry,
                stack.sp(),
                bias,
                aux.base,
                aux.sysinfo_ehdr,
                aux.phdr,
                start_brk,
                p.stack_top,
                stack.auxv(),
                stack.arg_start(),
                stack.arg_end(),
                stack.arg_end(),
                stack.env_end(),
                GuestAddr{},
                GuestAddr{},
                GuestAddr{},
                GuestAddr{}};
  set_code_data_bounds(img, segs);
  return img;
}

}  // namespace probesim::loader
