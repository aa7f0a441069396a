// The tests' reference Unicorn harness: one bare engine opened for an Arch, as emu::Cpu opens
// its engines (x86-64 in virtual-TLB mode with the kernel-address map of emu/uc_phys.h), taking
// guest virtual addresses everywhere, checking every uc_* call (a failure throws
// std::runtime_error naming the call), and holding the tests' one pt_regs <-> Unicorn register
// table (probes::Regs order). The harnesses build on it: probes/raw_cpu.h (single steps),
// probes/uc_machine.cc (kprobes over a flat image), uprobes/uc_mm.h (an mm realized as emu::Cpu
// does) and kernel/kernel_harness.cc (the guest kernel image).
#pragma once

#include <unicorn/unicorn.h>

#include <cstdint>
#include <iterator>
#include <stdexcept>
#include <string>

#include "emu/uc_phys.h"
#include "probes/regs.h"
#include "probesim/types.h"

namespace probesim::test {

class UcEngine {
 public:
  explicit UcEngine(Arch arch) : arch_(arch) {
    const bool x86 = arch == Arch::X86_64;
    check(uc_open(x86 ? UC_ARCH_X86 : UC_ARCH_ARM64, x86 ? UC_MODE_64 : UC_MODE_ARM, &uc_),
          "uc_open");
    if (x86) check(emu::x86_phys::install(uc_), "virtual tlb");
  }
  ~UcEngine() { uc_close(uc_); }
  UcEngine(const UcEngine&) = delete;
  UcEngine& operator=(const UcEngine&) = delete;

  uc_engine* get() const { return uc_; }
  Arch arch() const { return arch_; }

  // A failed uc_* call is a broken harness or test, never an expected outcome.
  static void check(uc_err e, const char* what) {
    if (e != UC_ERR_OK) throw std::runtime_error(std::string(what) + ": " + uc_strerror(e));
  }

  // Memory hooks, uc_mem_* and regions see physical addresses (docs/unicorn.md); these map.
  uint64_t phys(uint64_t va) const { return arch_ == Arch::X86_64 ? emu::x86_phys::phys(va) : va; }
  void map(uint64_t va, uint64_t size, uint32_t prot = UC_PROT_ALL) {
    check(uc_mem_map(uc_, phys(va), size, prot), "uc_mem_map");
  }
  uc_err map_ptr(uint64_t va, uint64_t size, uint32_t prot, void* host) {
    return uc_mem_map_ptr(uc_, phys(va), size, prot, host);
  }
  uc_err unmap(uint64_t va, uint64_t size) { return uc_mem_unmap(uc_, phys(va), size); }
  void write(uint64_t va, const void* p, size_t n) {
    check(uc_mem_write(uc_, phys(va), p, n), "uc_mem_write");
  }
  void read(uint64_t va, void* p, size_t n) const {
    check(uc_mem_read(uc_, phys(va), p, n), "uc_mem_read");
  }
  // Translations of [va, va+len) go (code hooks and the translation cache use virtual ones).
  uc_err remove_cache(uint64_t va, uint64_t len) {
    return uc_ctl_remove_cache(uc_, va, va + len);
  }
  // Hooks over every address.
  void hook(int type, void* callback, void* user) {
    uc_hook h;
    check(uc_hook_add(uc_, &h, type, callback, user, 1, 0), "uc_hook_add");
  }
  void hook_insn(int insn, void* callback, void* user) {
    uc_hook h;
    check(uc_hook_add(uc_, &h, UC_HOOK_INSN, callback, user, 1, 0, insn), "uc_hook_add insn");
  }

  uint64_t reg(int id) const {
    uint64_t v = 0;
    check(uc_reg_read(uc_, id, &v), "uc_reg_read");
    return v;
  }
  void set_reg(int id, uint64_t v) { check(uc_reg_write(uc_, id, &v), "uc_reg_write"); }

  // pt_regs index (probes::Regs order) -> Unicorn register; -1: not a CPU register (x86
  // orig_ax, cs, ss).
  static int uc_reg(Arch arch, unsigned index) {
    static constexpr int kX86[] = {
        UC_X86_REG_R15, UC_X86_REG_R14, UC_X86_REG_R13, UC_X86_REG_R12, UC_X86_REG_RBP,
        UC_X86_REG_RBX, UC_X86_REG_R11, UC_X86_REG_R10, UC_X86_REG_R9,  UC_X86_REG_R8,
        UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RSI, UC_X86_REG_RDI,
        -1,             UC_X86_REG_RIP, -1,             UC_X86_REG_RFLAGS, UC_X86_REG_RSP,
        -1};
    static constexpr int kArm64Rest[] = {UC_ARM64_REG_X29, UC_ARM64_REG_X30, UC_ARM64_REG_SP,
                                         UC_ARM64_REG_PC, UC_ARM64_REG_PSTATE};
    if (arch == Arch::X86_64) return index < std::size(kX86) ? kX86[index] : -1;
    if (index <= 28) return UC_ARM64_REG_X0 + static_cast<int>(index);
    return index - 29 < std::size(kArm64Rest) ? kArm64Rest[index - 29] : -1;
  }
  probes::Regs regs() const {
    probes::Regs r(arch_);
    for (unsigned i = 0; i < probes::Regs::count(arch_); ++i)
      if (int id = uc_reg(arch_, i); id >= 0) r.set(i, reg(id));
    r.clear_dirty();
    return r;
  }
  // All registers, or only those the Regs marks dirty (what a probe handler changed).
  void set_regs(const probes::Regs& r, bool dirty_only = false) {
    for (unsigned i = 0; i < probes::Regs::count(arch_); ++i) {
      const int id = uc_reg(arch_, i);
      if (id < 0 || (dirty_only && !(r.dirty() & (uint64_t{1} << i)))) continue;
      set_reg(id, r.get(i));
    }
  }

 private:
  Arch arch_;
  uc_engine* uc_ = nullptr;
};

}  // namespace probesim::test
