// A minimal CPU for the uprobes tests: one reference Unicorn engine (tests/support/uc_engine.h)
// per mmu::Mm, realized through the MmObserver contract exactly as emu/cpu.cc does (one
// uc_mem_map_ptr region per run, so a replaced page is its own region), with traps routed to
// the UprobeManager the way the machine will: x86 int3 -> on_breakpoint; arm64 BRK #5 ->
// on_breakpoint, BRK #6 -> on_ss_trap; registers written back only where the engine marked
// them dirty.
#pragma once

#include <doctest/doctest.h>
#include <unicorn/unicorn.h>

#include <cstring>
#include <exception>
#include <initializer_list>
#include <map>
#include <string>

#include "mmu/mm.h"
#include "probes/arch/arm64/arm64_insn.h"
#include "probes/uprobes/uprobe_manager.h"
#include "support/uc_engine.h"

namespace probesim::probes::test {

class UcMm final : public mmu::MmObserver {
 public:
  UcMm(Arch arch, mmu::Mm& mm) : arch_(arch), mm_(mm), engine_(arch), uc_(engine_.get()) {
    engine_.hook(UC_HOOK_INTR, reinterpret_cast<void*>(&on_intr), this);
    mm_.set_observer(this);
  }
  ~UcMm() override { mm_.set_observer(nullptr); }
  UcMm(const UcMm&) = delete;
  UcMm& operator=(const UcMm&) = delete;

  // Observer calls must not throw through the Mm: a failure is recorded and fails call().
  void on_unmap(GuestAddr start, uint64_t len) override {
    ok_ = ok_ && engine_.unmap(start.value, len) == UC_ERR_OK;
  }
  void on_map(GuestAddr start, uint64_t len, uint8_t* host, uint32_t prot) override {
    const uint32_t p = ((prot & 1) ? UC_PROT_READ : 0) | ((prot & 2) ? UC_PROT_WRITE : 0) |
                       ((prot & 4) ? UC_PROT_EXEC : 0);
    ok_ = ok_ && engine_.map_ptr(start.value, len, p, host) == UC_ERR_OK;
    if (prot & 4) invalidate(start, len);
  }
  void invalidate(GuestAddr addr, uint64_t len) {
    ok_ = ok_ && engine_.remove_cache(addr.value, len) == UC_ERR_OK;
  }

  // Calls fn(args...) with the stack at sp_top and returns rax / x0; the call "returns" to
  // `stop` (a mapped address). Fails the test on any unhandled trap or emulator error.
  uint64_t call(GuestAddr fn, std::initializer_list<uint64_t> args, uint64_t sp_top, GuestAddr stop,
                UprobeManager* mgr, TaskId task) {
    REQUIRE(ok_);
    Regs r = regs();
    unsigned n = 0;
    for (uint64_t a : args) {
      if (arch_ == Arch::X86_64)
        r.set(n++ == 0 ? X86Reg::di : X86Reg::si, a);
      else
        r.set_x(n++, a);
    }
    if (arch_ == Arch::X86_64) {
      r.set_sp(sp_top - 8);
      REQUIRE(mm_.copy_to_user(GuestAddr{sp_top - 8}, &stop.value, 8));
    } else {
      r.set_sp(sp_top);
      r.set_x(30, stop.value);
    }
    r.set_ip(fn);
    set_regs(r, false);
    mgr_ = mgr;
    ctx_ = HitContext{CpuId{0}, task};
    error_.clear();
    const uc_err err = uc_emu_start(uc_, fn.value, stop.value, 0, 5'000'000);
    if (caught_) std::rethrow_exception(std::exchange(caught_, nullptr));
    INFO(error_);
    REQUIRE(error_.empty());
    REQUIRE(err == UC_ERR_OK);
    const Regs out = regs();
    REQUIRE(out.ip() == stop);
    return out.return_value();
  }
  uint64_t traps() const { return traps_; }
  uint64_t probe_cycles() const { return cycles_; }

 private:
  Regs regs() const { return engine_.regs(); }
  void set_regs(const Regs& r, bool dirty_only) { engine_.set_regs(r, dirty_only); }
  static void on_intr(uc_engine* uc, uint32_t intno, void* user) noexcept {
    auto* self = static_cast<UcMm*>(user);
    try {
      self->trap(intno);
    } catch (...) {
      if (!self->caught_) self->caught_ = std::current_exception();
      uc_emu_stop(uc);
    }
  }
  void trap(uint32_t intno) {
    ++traps_;
    Regs r = regs();
    UprobeHitResult res;
    if (mgr_ && arch_ == Arch::X86_64 && intno == 3) res = mgr_->on_breakpoint(ctx_, mm_, r);
    if (mgr_ && arch_ == Arch::AArch64 && intno == 7) {
      uint32_t word = 0;
      mm_.peek(r.ip(), &word, 4);
      const int imm = arm64::brk_imm(word);
      if (imm == 5) res = mgr_->on_breakpoint(ctx_, mm_, r);
      if (imm == 6) res = mgr_->on_ss_trap(ctx_, mm_, r);
    }
    cycles_ += res.cost.value;
    if (res.disposition != UprobeDisposition::Handled) {
      error_ = "unhandled trap " + std::to_string(intno) + " at 0x" + std::to_string(r.ip().value) +
               " disposition " + std::to_string(static_cast<int>(res.disposition));
      uc_emu_stop(uc_);
      return;
    }
    set_regs(r, true);
  }

  Arch arch_;
  mmu::Mm& mm_;
  probesim::test::UcEngine engine_;
  uc_engine* uc_;  // engine_'s
  bool ok_ = true;
  UprobeManager* mgr_ = nullptr;
  HitContext ctx_{};
  std::string error_;
  std::exception_ptr caught_;
  uint64_t traps_ = 0, cycles_ = 0;
};

// UprobeHost over the engines of the test: invalidation goes to the mm's engine.
struct UcHost final : UprobeHost {
  std::map<const mmu::Mm*, UcMm*> cpus;
  void invalidate(mmu::Mm& mm, GuestAddr addr, uint64_t len) override {
    auto it = cpus.find(&mm);
    if (it != cpus.end()) it->second->invalidate(addr, len);
  }
};

}  // namespace probesim::probes::test
