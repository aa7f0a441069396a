// Reference execution for the differential tests: a bare Unicorn engine that only ever steps
// one instruction at a time (count=1; one mode per engine, docs/stack-facts.md §2), over a few
// mapped windows. Plus SparseMemory, a KernelMemory over a copy of the same windows, for the
// engine's emulation to run against.
#pragma once

#include <unicorn/unicorn.h>

#include <cstring>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "emu/uc_phys.h"
#include "probes/kernel_memory.h"
#include "probes/regs.h"

namespace probesim::probes::test {

// Guest memory as plain host pages: readable/writable where mapped, nothing else.
class SparseMemory final : public KernelMemory {
 public:
  void map(uint64_t base, size_t size) {
    for (uint64_t p = base; p < base + size; p += kPageSize) pages_[p].assign(kPageSize, 0);
  }
  bool read(GuestAddr a, std::span<uint8_t> out) const override {
    for (size_t i = 0; i < out.size(); ++i) {
      auto it = pages_.find(page_align_down(a.value + i));
      if (it == pages_.end()) return false;
      out[i] = it->second[(a.value + i) & (kPageSize - 1)];
    }
    return true;
  }
  bool write(GuestAddr a, std::span<const uint8_t> in) override {
    for (size_t i = 0; i < in.size(); ++i) {
      if (!pages_.count(page_align_down(a.value + i))) return false;
    }
    for (size_t i = 0; i < in.size(); ++i) {
      pages_[page_align_down(a.value + i)][(a.value + i) & (kPageSize - 1)] = in[i];
    }
    return true;
  }
  bool write_text(GuestAddr a, std::span<const uint8_t> in) override { return write(a, in); }
  Result<GuestAddr> alloc_insn_page() override { return Error::make("no insn pages here"); }
  void free_insn_page(GuestAddr) override {}
  const std::map<uint64_t, std::vector<uint8_t>>& pages() const { return pages_; }

 private:
  std::map<uint64_t, std::vector<uint8_t>> pages_;
};

class RawCpu {
 public:
  explicit RawCpu(Arch arch) : arch_(arch) {
    const uc_err e = arch == Arch::X86_64 ? uc_open(UC_ARCH_X86, UC_MODE_64, &uc_)
                                          : uc_open(UC_ARCH_ARM64, UC_MODE_ARM, &uc_);
    if (e != UC_ERR_OK) throw std::runtime_error("uc_open");
    if (arch == Arch::X86_64) check(emu::x86_phys::install(uc_));  // kernel addresses
  }
  ~RawCpu() { uc_close(uc_); }
  RawCpu(const RawCpu&) = delete;
  RawCpu& operator=(const RawCpu&) = delete;

  void map(uint64_t base, size_t size) {
    check(uc_mem_map(uc_, phys(base), size, UC_PROT_ALL));
    windows_.emplace_back(base, size);
  }
  void write(uint64_t a, const void* p, size_t n) {
    check(uc_mem_write(uc_, phys(a), p, n));
    check(uc_ctl_remove_cache(uc_, a, a + n));
  }
  void read(uint64_t a, void* p, size_t n) { check(uc_mem_read(uc_, phys(a), p, n)); }
  uint64_t phys(uint64_t va) const { return arch_ == Arch::X86_64 ? emu::x86_phys::phys(va) : va; }
  // Copies every mapped window into `mem` (same addresses).
  void snapshot(SparseMemory& mem) {
    std::vector<uint8_t> buf;
    for (auto [base, size] : windows_) {
      buf.resize(size);
      read(base, buf.data(), size);
      mem.map(base, size);
      mem.write(GuestAddr{base}, buf);
    }
  }
  void set_regs(const Regs& r) {
    for (unsigned i = 0; i < Regs::count(arch_); ++i) {
      const int id = uc_reg(i);
      if (id < 0) continue;
      uint64_t v = r.get(i);
      check(uc_reg_write(uc_, id, &v));
    }
  }
  Regs regs() {
    Regs r(arch_);
    for (unsigned i = 0; i < Regs::count(arch_); ++i) {
      const int id = uc_reg(i);
      if (id < 0) continue;
      uint64_t v = 0;
      check(uc_reg_read(uc_, id, &v));
      r.set(i, v);
    }
    r.clear_dirty();
    return r;
  }
  // Executes `count` instructions from regs.ip. A branch to unmapped memory completes (the
  // failure is fetching the next instruction), so UC_ERR_FETCH_UNMAPPED is not an error.
  void step(Regs& r, size_t count = 1) {
    set_regs(r);
    const uc_err e = uc_emu_start(uc_, r.ip().value, 0, 0, count);
    // A branch to an unmapped target (or, x86, a non-canonical one: a denied TLB fill) ends
    // the step with PC at the target, which is all the differential tests compare.
    if (e != UC_ERR_FETCH_UNMAPPED && e != UC_ERR_EXCEPTION) check(e);
    r = regs();
  }

 private:
  int uc_reg(unsigned i) const {
    static constexpr int kX86[] = {
        UC_X86_REG_R15, UC_X86_REG_R14, UC_X86_REG_R13, UC_X86_REG_R12, UC_X86_REG_RBP,
        UC_X86_REG_RBX, UC_X86_REG_R11, UC_X86_REG_R10, UC_X86_REG_R9,  UC_X86_REG_R8,
        UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RSI, UC_X86_REG_RDI,
        -1,             UC_X86_REG_RIP, -1,             UC_X86_REG_EFLAGS, UC_X86_REG_RSP, -1};
    if (arch_ == Arch::X86_64) return kX86[i];
    if (i <= 28) return UC_ARM64_REG_X0 + static_cast<int>(i);
    if (i == 29) return UC_ARM64_REG_X29;
    if (i == 30) return UC_ARM64_REG_X30;
    if (i == 31) return UC_ARM64_REG_SP;
    if (i == 32) return UC_ARM64_REG_PC;
    return UC_ARM64_REG_PSTATE;
  }
  static void check(uc_err e) {
    if (e != UC_ERR_OK) throw std::runtime_error(std::string("unicorn: ") + uc_strerror(e));
  }

  Arch arch_;
  uc_engine* uc_ = nullptr;
  std::vector<std::pair<uint64_t, size_t>> windows_;
};

// Registers compared by name in failure messages.
inline std::string regs_diff(const Regs& want, const Regs& got) {
  std::string out;
  for (unsigned i = 0; i < Regs::count(want.arch()); ++i) {
    if (want.get(i) == got.get(i)) continue;
    char buf[96];
    std::snprintf(buf, sizeof buf, " %s: want 0x%llx got 0x%llx;",
                  std::string(Regs::name_of(want.arch(), i)).c_str(),
                  static_cast<unsigned long long>(want.get(i)),
                  static_cast<unsigned long long>(got.get(i)));
    out += buf;
  }
  return out;
}

}  // namespace probesim::probes::test
