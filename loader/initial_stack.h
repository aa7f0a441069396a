// InitialStack: the bytes of a new program's stack, laid out exactly as Linux's fs/exec.c
// (copy_string_kernel/copy_strings) and fs/binfmt_elf.c create_elf_tables() with ASLR off.
// Pure computation: exec_elf() pokes bytes() at low() into the [stack] VMA.
//
// From stack_top down:
//   8-byte end marker (zero)            <- bprm->p = vm_end - sizeof(void *)
//   execfn string                       <- AT_EXECFN
//   envp strings (envp[envc-1] highest), argv strings (argv[0] lowest = arg_start)
//   (align down to 16: arch_align_stack)
//   platform string                     <- AT_PLATFORM
//   16 AT_RANDOM bytes                  <- AT_RANDOM
//   (padding)
//   argc, argv[], NULL, envp[], NULL, auxv pairs, AT_NULL pair   <- sp, 16-byte aligned
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "loader/exec.h"
#include "probesim/result.h"
#include "probesim/types.h"

namespace probesim::loader {

// What the auxv needs from the mapped image (run-time addresses).
struct AuxvImage {
  GuestAddr phdr;      // AT_PHDR
  uint64_t phnum = 0;  // AT_PHNUM
  GuestAddr entry;     // AT_ENTRY
  GuestAddr base;      // AT_BASE: the interpreter's load address, 0 without one
  GuestAddr sysinfo_ehdr;  // AT_SYSINFO_EHDR: the vDSO's start; 0: no vDSO, no entry
};

class InitialStack {
 public:
  // Linux's limits (bprm_stack_limits, MAX_ARG_STRLEN): the argument and environment strings
  // plus their pointers get max(min(stack_size / 4, 6 MiB), 128 KiB); one string at most
  // 128 KiB. Beyond either: E2BIG. Also E2BIG if the whole layout exceeds stack_size.
  static Result<InitialStack> build(const ExecParams& p, Arch arch, const AuxvImage& img);

  GuestAddr sp() const { return sp_; }
  GuestAddr low() const { return sp_; }                         // lowest byte of bytes()
  const std::vector<uint8_t>& bytes() const { return bytes_; }  // [low(), stack_top)
  const std::vector<std::pair<uint64_t, uint64_t>>& auxv() const { return auxv_; }
  GuestAddr arg_start() const { return arg_start_; }
  GuestAddr arg_end() const { return arg_end_; }  // == env_start
  GuestAddr env_end() const { return env_end_; }
  GuestAddr random() const { return random_; }  // AT_RANDOM
  GuestAddr execfn() const { return execfn_; }  // AT_EXECFN

 private:
  InitialStack() = default;
  void put(GuestAddr at, const void* src, size_t n);
  void put_word(GuestAddr at, uint64_t v) { put(at, &v, sizeof v); }
  void put_string(GuestAddr at, const std::string& s);  // up to its first NUL, plus NUL
  void write(const ExecParams& p, const std::vector<std::string>& argv,
             const std::string& platform);

  GuestAddr top_, sp_, arg_start_, arg_end_, env_end_, random_, execfn_, platform_;
  std::vector<uint64_t> arg_ptrs_, env_ptrs_;
  std::vector<uint8_t> bytes_;
  std::vector<std::pair<uint64_t, uint64_t>> auxv_;
};

}  // namespace probesim::loader
