// Reference execution for the differential tests: the reference Unicorn harness stepping only
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

#include "probes/kernel_memory.h"
#include "probes/regs.h"
#include "support/uc_engine.h"

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

// Single steps on the reference harness (tests/support/uc_engine.h).
class RawCpu {
 public:
  explicit RawCpu(Arch arch) : uc_(arch) {}

  void map(uint64_t base, size_t size) {
    uc_.map(base, size);
    windows_.emplace_back(base, size);
  }
  void write(uint64_t a, const void* p, size_t n) {
    uc_.write(a, p, n);
    probesim::test::UcEngine::check(uc_.remove_cache(a, n), "remove_cache");
  }
  void read(uint64_t a, void* p, size_t n) { uc_.read(a, p, n); }
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
  void set_regs(const Regs& r) { uc_.set_regs(r); }
  Regs regs() { return uc_.regs(); }
  // Executes `count` instructions from regs.ip. A branch to unmapped memory completes (the
  // failure is fetching the next instruction), so UC_ERR_FETCH_UNMAPPED is not an error.
  void step(Regs& r, size_t count = 1) {
    set_regs(r);
    const uc_err e = uc_emu_start(uc_.get(), r.ip().value, 0, 0, count);
    // A branch to an unmapped target (or, x86, a non-canonical one: a denied TLB fill) ends
    // the step with PC at the target, which is all the differential tests compare.
    if (e != UC_ERR_FETCH_UNMAPPED && e != UC_ERR_EXCEPTION)
      probesim::test::UcEngine::check(e, "uc_emu_start");
    r = regs();
  }

 private:
  probesim::test::UcEngine uc_;
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
