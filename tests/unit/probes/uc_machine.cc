#include "uc_machine.h"

#include <doctest/doctest.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "guest_code.inc"
#include "probes/arch/arm64/arm64_insn.h"

namespace probesim::probes::test {
namespace {

constexpr uint64_t kRegionSize = 0x10000;
constexpr uint64_t kInsnAreaSize = 0x100000;
constexpr uint64_t kBlockBudget = 2'000'000;

void check(uc_err e, const char* what) { probesim::test::UcEngine::check(e, what); }

std::span<const guest::GuestSym> guest_syms(Arch arch) {
  if (arch == Arch::X86_64) return guest::kX86Syms;
  return guest::kArm64Syms;
}

}  // namespace

Layout layout_for(Arch arch) {
  if (arch == Arch::X86_64) {
    return {GuestAddr{guest::kX86Base}, 0x1000, GuestAddr{0xffffffffa0000000},
            GuestAddr{0xffffc90000000000}, GuestAddr{guest::kX86Base + 0xf000}};
  }
  return {GuestAddr{guest::kArm64Base}, 0x1000, GuestAddr{0xffff800008000000},
          GuestAddr{0xffff800020000000}, GuestAddr{guest::kArm64Base + 0xf000}};
}

// ---- TestSymbols

TestSymbols::TestSymbols(Arch arch) : layout_(layout_for(arch)) {
  for (const auto& s : guest_syms(arch)) {
    syms_[s.name] = FunctionSymbol{s.name, GuestAddr{s.addr}, s.size};
  }
}

std::optional<FunctionSymbol> TestSymbols::lookup(std::string_view name) const {
  auto it = syms_.find(name);
  if (it == syms_.end()) return std::nullopt;
  return it->second;
}

std::optional<FunctionSymbol> TestSymbols::function_containing(GuestAddr addr) const {
  if (!is_kernel_text(addr)) return std::nullopt;
  for (const auto& [name, s] : syms_) {
    if (s.addr <= addr && addr.value < s.addr.value + s.size) return s;
  }
  return std::nullopt;
}

bool TestSymbols::is_kernel_text(GuestAddr addr) const {
  return addr >= layout_.text && addr.value < layout_.text.value + layout_.text_size;
}

bool TestSymbols::is_blacklisted(GuestAddr addr) const {
  const auto fn = function_containing(addr);
  return fn && blacklist_.count(fn->name) != 0;
}

void TestSymbols::blacklist(std::string_view function) { blacklist_.emplace(function); }

GuestAddr TestSymbols::addr(std::string_view name) const {
  auto s = lookup(name);
  REQUIRE_MESSAGE(s.has_value(), "no guest symbol ", std::string(name));
  return s->addr;
}

uint64_t TestSymbols::size(std::string_view name) const {
  auto s = lookup(name);
  REQUIRE(s.has_value());
  return s->size;
}

// ---- UcMachine

UcMachine::UcMachine(Arch arch, int engines) : arch_(arch), layout_(layout_for(arch)) {
  engines_.resize(static_cast<size_t>(engines));
  for (int i = 0; i < engines; ++i) {
    Engine& e = engines_[static_cast<size_t>(i)];
    e.self = this;
    e.index = i;
    e.engine = std::make_unique<probesim::test::UcEngine>(arch);
    e.uc = e.engine->get();
    e.engine->hook(UC_HOOK_INTR, reinterpret_cast<void*>(&on_intr), &e);
    e.engine->hook(UC_HOOK_BLOCK, reinterpret_cast<void*>(&on_block), &e);
  }
  map(layout_.text, kRegionSize);
  map(layout_.insn_area, kInsnAreaSize);
  map(layout_.stack, kRegionSize);
}

UcMachine::~UcMachine() = default;

void UcMachine::map(GuestAddr base, size_t size) {
  Region r{base, size, std::make_unique<uint8_t[]>(size)};
  std::memset(r.mem.get(), 0, size);
  for (auto& e : engines_)
    check(e.engine->map_ptr(base.value, size, UC_PROT_ALL, r.mem.get()), "uc_mem_map_ptr");
  regions_.push_back(std::move(r));
}

void UcMachine::load_guest_image() {
  std::span<const uint8_t> img = arch_ == Arch::X86_64 ? std::span<const uint8_t>(guest::kX86Image)
                                                       : std::span<const uint8_t>(guest::kArm64Image);
  REQUIRE(img.size() <= kRegionSize);
  REQUIRE(write_text(layout_.text, img));
}

const UcMachine::Region* UcMachine::region_of(GuestAddr addr, size_t len) const {
  for (const auto& r : regions_) {
    if (addr >= r.base && addr.value + len <= r.base.value + r.size) return &r;
  }
  return nullptr;
}

uint8_t* UcMachine::host(GuestAddr addr, size_t len) {
  const Region* r = region_of(addr, len);
  return r ? r->mem.get() + (addr - r->base) : nullptr;
}

bool UcMachine::read(GuestAddr addr, std::span<uint8_t> out) const {
  const Region* r = region_of(addr, out.size());
  if (!r) return false;
  std::memcpy(out.data(), r->mem.get() + (addr - r->base), out.size());
  return true;
}

bool UcMachine::write(GuestAddr addr, std::span<const uint8_t> bytes) {
  uint8_t* p = host(addr, bytes.size());
  if (!p) return false;
  std::memcpy(p, bytes.data(), bytes.size());
  return true;
}

bool UcMachine::write_text(GuestAddr addr, std::span<const uint8_t> bytes) {
  if (!write(addr, bytes)) return false;
  ++text_writes_;
  for (auto& e : engines_) {
    check(uc_ctl_remove_cache(e.uc, addr.value, addr.value + bytes.size()), "remove_cache");
  }
  return true;
}

Result<GuestAddr> UcMachine::alloc_insn_page() {
  uint64_t page;
  if (!free_pages_.empty()) {
    page = free_pages_.back();
    free_pages_.pop_back();
  } else {
    if (next_page_ + kPageSize > kInsnAreaSize) return Error::make("insn area full", ENOMEM);
    page = layout_.insn_area.value + next_page_;
    next_page_ += kPageSize;
  }
  std::memset(host(GuestAddr{page}, kPageSize), 0, kPageSize);
  live_pages_.insert(page);
  return GuestAddr{page};
}

void UcMachine::free_insn_page(GuestAddr page) {
  REQUIRE(live_pages_.erase(page.value) == 1);
  free_pages_.push_back(page.value);
}

Regs UcMachine::read_regs(int engine) const {
  return engines_[static_cast<size_t>(engine)].engine->regs();
}

void UcMachine::write_regs(const Regs& regs, int engine, bool dirty_only) {
  engines_[static_cast<size_t>(engine)].engine->set_regs(regs, dirty_only);
}

void UcMachine::on_block(uc_engine* uc, uint64_t addr, uint32_t, void* user) noexcept {
  auto& e = *static_cast<Engine*>(user);
  if (addr == e.stop) {
    uc_emu_stop(uc);
    return;
  }
  if (++e.blocks > kBlockBudget && e.outcome && e.outcome->ok) {
    e.outcome->ok = false;
    e.outcome->error = "block budget exhausted (runaway guest)";
    uc_emu_stop(uc);
  }
}

void UcMachine::on_intr(uc_engine* uc, uint32_t intno, void* user) noexcept {
  auto& e = *static_cast<Engine*>(user);
  try {
    e.self->handle_trap(e, intno);
  } catch (...) {
    if (!e.error) e.error = std::current_exception();
    uc_emu_stop(uc);
  }
}

// Routes a trap like the machine's Cpu will: x86 int3 -> on_breakpoint; arm64 BRK #4 ->
// on_breakpoint, BRK #6 -> on_ss_trap. Anything not handled stops the run as an error.
void UcMachine::handle_trap(Engine& e, uint32_t intno) {
  Regs regs = read_regs(e.index);
  HitResult hr;
  if (e.mgr && arch_ == Arch::X86_64 && intno == 3) {
    hr = e.mgr->on_breakpoint(e.ctx, regs);
  } else if (e.mgr && arch_ == Arch::AArch64 && intno == 7) {
    uint8_t b[4];
    uint32_t word = 0;
    if (read(regs.ip(), b)) std::memcpy(&word, b, 4);
    const int imm = arm64::brk_imm(word);
    if (imm == 4) hr = e.mgr->on_breakpoint(e.ctx, regs);
    if (imm == 6) hr = e.mgr->on_ss_trap(e.ctx, regs);
  }
  ++e.outcome->traps;
  e.outcome->probe_cycles += hr.cost.value;
  if (hr.disposition != HitDisposition::Handled) {
    e.outcome->ok = false;
    char msg[128];
    std::snprintf(msg, sizeof msg, "unhandled trap intno=%u at ip=0x%llx disposition=%d", intno,
                  static_cast<unsigned long long>(regs.ip().value),
                  static_cast<int>(hr.disposition));
    e.outcome->error = msg;
    uc_emu_stop(e.uc);
    return;
  }
  write_regs(regs, e.index, /*dirty_only=*/true);
}

RunOutcome UcMachine::run(Regs& regs, GuestAddr stop, KprobeManager* mgr, HitContext ctx,
                          int engine) {
  Engine& e = engines_[static_cast<size_t>(engine)];
  // Save the engine's run state: a handler may run guest code on another engine (nesting).
  RunOutcome outcome;
  auto* saved_outcome = e.outcome;
  auto* saved_mgr = e.mgr;
  const HitContext saved_ctx = e.ctx;
  const uint64_t saved_stop = e.stop;
  e.stop = stop.value;
  e.mgr = mgr;
  e.ctx = ctx;
  e.outcome = &outcome;
  e.blocks = 0;
  write_regs(regs, engine);
  const uc_err err = uc_emu_start(e.uc, regs.ip().value, stop.value, 0, 0);
  regs = read_regs(engine);
  e.outcome = saved_outcome;
  e.mgr = saved_mgr;
  e.ctx = saved_ctx;
  e.stop = saved_stop;
  if (e.error) {
    auto ex = e.error;
    e.error = nullptr;
    std::rethrow_exception(ex);
  }
  if (err != UC_ERR_OK && outcome.ok) {
    outcome.ok = false;
    outcome.error = std::string("uc_emu_start: ") + uc_strerror(err);
  }
  if (outcome.ok && regs.ip() != stop) {
    outcome.ok = false;
    outcome.error = "stopped before the stop address";
  }
  return outcome;
}

Regs UcMachine::call_regs(GuestAddr fn, std::initializer_list<uint64_t> args, int engine) {
  Regs regs = read_regs(engine);
  const uint64_t top = layout_.stack.value + kRegionSize - 256;
  unsigned n = 0;
  for (uint64_t a : args) {
    if (arch_ == Arch::X86_64) {
      static constexpr X86Reg kArgs[] = {X86Reg::di, X86Reg::si, X86Reg::dx,
                                         X86Reg::cx, X86Reg::r8, X86Reg::r9};
      regs.set(kArgs[n++], a);
    } else {
      regs.set_x(n++, a);
    }
  }
  if (arch_ == Arch::X86_64) {
    const uint64_t sp = top - 8;  // entry: sp % 16 == 8, [sp] = return address
    uint8_t b[8];
    std::memcpy(b, &layout_.stop.value, 8);
    REQUIRE(write(GuestAddr{sp}, b));
    regs.set_sp(sp);
    regs.set_flags(0x202);
  } else {
    regs.set_sp(top);
    regs.set_x(30, layout_.stop.value);
    regs.set_flags(0x3c5);  // EL1h, DAIF masked (Unicorn's reset state)
  }
  regs.set_ip(fn);
  return regs;
}

uint64_t UcMachine::call(GuestAddr fn, std::initializer_list<uint64_t> args, KprobeManager* mgr,
                         HitContext ctx, int engine, RunOutcome* outcome, Regs* regs_out) {
  Regs regs = call_regs(fn, args, engine);
  RunOutcome o = run(regs, layout_.stop, mgr, ctx, engine);
  if (outcome) *outcome = o;
  else REQUIRE_MESSAGE(o.ok, o.error);
  if (regs_out) *regs_out = regs;
  return regs.return_value();
}

}  // namespace probesim::probes::test
