// exec_elf(): Linux's load_elf_binary(): map the PT_LOAD segments into a fresh mmu::Mm like
// elf_map()/elf_load(), set the brk base, map the "[stack]" VMA, map the program interpreter
// (PT_INTERP) like load_elf_interp(), and write the initial stack exactly as fs/exec.c +
// create_elf_tables().
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "loader/elf_file.h"
#include "loader/vdso.h"
#include "probesim/result.h"
#include "probesim/types.h"

namespace probesim::mmu {
class Mm;
class Inode;
}  // namespace probesim::mmu

namespace probesim::loader {

struct ExecParams {
  std::vector<std::string> argv, envp;  // an empty argv becomes {""}, as Linux >= 5.18 does
  std::string execfn;                   // AT_EXECFN string (the path as given to execve)
  std::array<uint8_t, 16> at_random{};  // from the machine seed (caller's job)
  uint64_t hwcap = 0, hwcap2 = 0;
  std::string platform;  // AT_PLATFORM; empty: arch_name(elf.arch())
  uint32_t uid = 0, euid = 0, gid = 0, egid = 0;
  bool secure = false;
  uint64_t clktck = 100;
  GuestAddr stack_top;            // page aligned; [stack] VMA = [top - size, top)
  uint64_t stack_size = 8 << 20;  // page aligned; also RLIMIT_STACK for the E2BIG rule
  const VdsoImage* vdso = nullptr;  // mapped after the interpreter (AT_SYSINFO_EHDR); null: none
};

// The program interpreter named by PT_INTERP, opened from the guest root by the caller
// (open_exec) and parsed. file may be null, as exec_elf's.
struct Interp {
  mmu::Inode* file = nullptr;
  const ElfFile* elf = nullptr;
};

struct ExecImage {
  GuestAddr entry;        // where the first instruction runs: the interpreter's entry when
                          // there is one, else e_entry + load_bias
  GuestAddr sp;           // points at argc, 16-byte aligned
  GuestAddr load_bias;    // 0 for ET_EXEC
  GuestAddr interp_base;  // AT_BASE: the interpreter's load address; 0 without one
  GuestAddr vdso;         // AT_SYSINFO_EHDR: [vdso]'s start; 0 without one
  GuestAddr phdr;       // AT_PHDR (0 if the program headers are not loaded)
  GuestAddr start_brk;  // page aligned end of the highest segment
  GuestAddr stack_top;
  std::vector<std::pair<uint64_t, uint64_t>> auxv;  // as written, AT_NULL last
  // mm->arg_start/arg_end/env_start/env_end (for /proc/pid/cmdline and environ).
  GuestAddr arg_start, arg_end, env_start, env_end;
  // mm->start_code/end_code/start_data/end_data as load_elf_binary sets them from the
  // program's PT_LOADs (/proc/pid/stat): the lowest PF_X p_vaddr and the highest PF_X
  // p_vaddr + p_filesz; the highest p_vaddr and p_vaddr + p_filesz of any; plus the bias.
  GuestAddr start_code, end_code, start_data, end_data;
};

// Linux's TASK_SIZE for a 64-bit task: x86_64 0x7ffffffff000 (4-level paging),
// aarch64 0x1000000000000 (48-bit VA).
constexpr uint64_t task_size(Arch arch) {
  return arch == Arch::X86_64 ? 0x7ffffffff000ull : 0x1000000000000ull;
}

// Deterministic ET_DYN load bias of a program (Linux's ELF_ET_DYN_BASE with ASLR off):
// page_align_down(2 * task_size / 3) aligned down to max_align(). x86_64: 0x555555554000;
// aarch64 with 64 KiB alignment: 0xaaaaaaaa0000. ET_EXEC: 0.
GuestAddr elf_load_bias(const ElfFile& elf, uint64_t task_size);

// load_elf_binary()'s check of an interpreter file before anything is mapped: ELIBBAD for
// another machine (elf_check_arch). ElfFile::parse already admits only ET_EXEC and ET_DYN.
Result<void> check_interpreter(const ElfFile& interp, const ElfFile& program);

// Map elf (whose bytes are `file`'s contents) into mm and build the initial stack. A program
// with PT_INTERP needs `interp` (checked with check_interpreter): it is mapped like
// load_elf_interp() does with ASLR off, an ET_DYN one where get_unmapped_area(0, its whole
// span) puts it (top-down below mmap_base), and the auxv gets AT_BASE.
// Preconditions: mm is fresh (no VMAs in the way). file may be null: the segments are then
// anonymous memory filled from elf.bytes() (no page-cache sharing).
// Errors: ENOEXEC (check_executable, PT_INTERP without interp), ELIBBAD (a bad interpreter),
// E2BIG (argv/envp too large for the stack), EINVAL (a segment outside the user address
// space or over the stack, bad stack parameters), or the errno of a failing mm.mmap. On error
// mm may hold a partial image (Linux: past the point of no return the task is killed); the
// caller discards it.
Result<ExecImage> exec_elf(mmu::Mm& mm, mmu::Inode* file, const ElfFile& elf, const ExecParams& p,
                           const Interp* interp = nullptr);

}  // namespace probesim::loader
