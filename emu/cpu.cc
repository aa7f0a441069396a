#include "emu/cpu.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <string>
#include <utility>

#include "emu/insn_policy.h"
#include "emu/probe_regs.h"
#include "emu/uc_phys.h"
#include "emu/uc_regions.h"
#include "emu/virtual_clock.h"
#include "emu/x86_fpu.h"
#include "mmu/host_window.h"
#include "probesim/assert.h"

namespace probesim::emu {
namespace {

// Unicorn runs until PC equals `until`; no guest can execute at this (non-canonical,
// misaligned) address, so runs end only through our stops.
constexpr uint64_t kNoUntil = ~0ull;
constexpr uint32_t kCodeBufferBytes = 128u << 20;  // each engine's translation cache (Cpu::init)
// A narrow memory hook makes Unicorn's translator sync the PC before every memory access, so
// the PC seen in the fault hook is exact (without it, the PC is the block start). It costs
// ~13 ns per guest load or store (docs/unicorn.md), so it is armed only on request.
constexpr uint64_t kPcSyncHookAddr = 1;
constexpr uint32_t kArm64CpacrFpen = 3u << 20;
// A private page of every arm64 engine, outside any address an mm can map (above the user
// half), holding `clrex`: running it is the only way Unicorn 2.0.1 offers to clear the
// exclusive monitor (no register exposes it).
constexpr uint64_t kArm64StubPage = 0xffffffffffff0000ull;
constexpr uint32_t kArm64Clrex = 0xd503305f;
// The signal return trampoline (the vDSO's __kernel_rt_sigreturn): mov x8, #139; svc #0.
constexpr uint32_t kArm64Sigreturn[2] = {0xd2801168, 0xd4000001};

uint32_t uc_prot(uint32_t vm_prot) {
  uint32_t p = 0;
  if (vm_prot & 0x1) p |= UC_PROT_READ;
  if (vm_prot & 0x2) p |= UC_PROT_WRITE;
  if (vm_prot & 0x4) p |= UC_PROT_EXEC;
  return p;
}

mmu::Access access_of(uc_mem_type t) {
  switch (t) {
    case UC_MEM_WRITE_UNMAPPED:
    case UC_MEM_WRITE_PROT:
      return mmu::Access::Write;
    case UC_MEM_FETCH_UNMAPPED:
    case UC_MEM_FETCH_PROT:
      return mmu::Access::Exec;
    default:
      return mmu::Access::Read;
  }
}

// Capstone x86 64-bit general register -> Unicorn's; -1 for others.
int x86_uc_reg(unsigned cs_reg) {
  static constexpr std::pair<unsigned, int> kMap[] = {
      {X86_REG_RAX, UC_X86_REG_RAX}, {X86_REG_RBX, UC_X86_REG_RBX}, {X86_REG_RCX, UC_X86_REG_RCX},
      {X86_REG_RDX, UC_X86_REG_RDX}, {X86_REG_RSI, UC_X86_REG_RSI}, {X86_REG_RDI, UC_X86_REG_RDI},
      {X86_REG_RBP, UC_X86_REG_RBP}, {X86_REG_RSP, UC_X86_REG_RSP}, {X86_REG_R8, UC_X86_REG_R8},
      {X86_REG_R9, UC_X86_REG_R9},   {X86_REG_R10, UC_X86_REG_R10}, {X86_REG_R11, UC_X86_REG_R11},
      {X86_REG_R12, UC_X86_REG_R12}, {X86_REG_R13, UC_X86_REG_R13}, {X86_REG_R14, UC_X86_REG_R14},
      {X86_REG_R15, UC_X86_REG_R15}};
  for (auto [cs, uc] : kMap)
    if (cs == cs_reg) return uc;
  return -1;
}

int arm64_uc_reg(unsigned cs_reg) {
  if (cs_reg >= ARM64_REG_X0 && cs_reg <= ARM64_REG_X28)
    return UC_ARM64_REG_X0 + static_cast<int>(cs_reg - ARM64_REG_X0);
  if (cs_reg == ARM64_REG_X29) return UC_ARM64_REG_X29;
  if (cs_reg == ARM64_REG_X30) return UC_ARM64_REG_X30;
  if (cs_reg == ARM64_REG_SP) return UC_ARM64_REG_SP;
  return -1;
}

}  // namespace

Cpu::Cpu(const ArchInfo& info, VirtualClock& clock, SyscallSink& sink)
    : info_(info), clock_(&clock), sink_(sink), model_(info.arch) {}

Cpu::~Cpu() {
  if (uc_) uc_close(uc_);
}

Result<std::unique_ptr<Cpu>> Cpu::create(Arch arch, VirtualClock& clock, SyscallSink& sink,
                                         std::span<const FixedMapping> fixed) {
  std::unique_ptr<Cpu> cpu(new Cpu(arch_info(arch), clock, sink));
  PROBESIM_TRY_VOID(cpu->init());
  // The regions max_map_count leaves aside: these, the stub, and one run past the limit.
  PROBESIM_ASSERT(fixed.size() + 2 <= uc_regions::kReserved);
  for (const FixedMapping& m : fixed) {
    cpu->count_region();
    cpu->check(uc_mem_map_ptr(cpu->uc_, cpu->phys(m.start.value), m.len, uc_prot(m.prot), m.host),
               "map fixed region");
  }
  return cpu;
}

void Cpu::check(uc_err e, const char* what) const {
  PROBESIM_ASSERT_MSG(e == UC_ERR_OK, std::string(what) + ": " + uc_strerror(e));
}

Result<void> Cpu::init() {
  uc_err e = uc_open(info_.uc_arch_id, info_.uc_mode_id, &uc_);
  if (e != UC_ERR_OK)
    return Error::make(std::string("cannot create a Unicorn engine: ") + uc_strerror(e));
  // Before anything initialises the engine. Unicorn's default code buffer is 1 GiB, and every
  // flush memsets all of it (flush_translations); Debian's python3 importing json, re and
  // collections translates 16-32 MiB (measured: 2.3 s with 8 MiB, 1.2 s with 16, 0.96 s with
  // 32, 64, 256 or 1024), so 128 MiB leaves room; a full buffer is flushed and refilled.
  check(uc_ctl_set_tcg_buffer_size(uc_, kCodeBufferBytes), "tcg buffer size");
  uc_hook h;
  check(uc_hook_add(uc_, &h, UC_HOOK_BLOCK, reinterpret_cast<void*>(&Cpu::on_block), this, 1, 0),
        "hook block");
  check(uc_hook_add(uc_, &h, UC_HOOK_INTR, reinterpret_cast<void*>(&Cpu::on_intr), this, 1, 0),
        "hook intr");
  check(uc_hook_add(uc_, &h, UC_HOOK_MEM_INVALID, reinterpret_cast<void*>(&Cpu::on_mem_invalid),
                    this, 1, 0),
        "hook mem invalid");
  check(uc_hook_add(uc_, &h, UC_HOOK_INSN_INVALID,
                    reinterpret_cast<void*>(&Cpu::on_invalid_insn), this, 1, 0),
        "hook insn invalid");
  // Runs end through our stops, and at the exits set_exits() registers (uc_emu_start's `until`
  // is then ignored).
  check(uc_ctl_exits_enable(uc_), "enable exits");
  init_mmu();
  if (info_.arch == Arch::X86_64) {
    check(uc_hook_add(uc_, &h, UC_HOOK_INSN, reinterpret_cast<void*>(&Cpu::on_x86_syscall), this,
                      1, 0, UC_X86_INS_SYSCALL),
          "hook syscall");
    x86_fpu_ = std::make_unique<X86Fpu>(uc_);
    x86_fpu_->enable_os_support();
    x86_fpu_->init_state();
  } else {
    check(uc_hook_add(uc_, &h, UC_HOOK_INSN, reinterpret_cast<void*>(&Cpu::on_arm64_mrs), this, 1,
                      0, UC_ARM64_INS_MRS),
          "hook mrs");
    uint64_t cpacr = kArm64CpacrFpen;
    check(uc_reg_write(uc_, UC_ARM64_REG_CPACR_EL1, &cpacr), "cpacr");
    count_region();
    check(uc_mem_map(uc_, kArm64StubPage, kPageSize, UC_PROT_READ | UC_PROT_EXEC), "stub map");
    check(uc_mem_write(uc_, kArm64StubPage, &kArm64Clrex, sizeof kArm64Clrex), "stub write");
    check(uc_mem_write(uc_, kArm64StubPage + kSigreturnStubOffset, kArm64Sigreturn,
                       sizeof kArm64Sigreturn),
          "sigreturn stub write");
  }
  set_exits();
  return {};
}

// Both arches run in UC_TLB_VIRTUAL mode with on_tlb_fill as their MMU, and map the
// HostWindow (when the host granted it) once, at kWindowPhys, for the data runs.
void Cpu::init_mmu() {
  check(uc_ctl_tlb_mode(uc_, UC_TLB_VIRTUAL), "virtual tlb mode");
  uc_hook h;
  check(uc_hook_add(uc_, &h, UC_HOOK_TLB_FILL, reinterpret_cast<void*>(&Cpu::on_tlb_fill), this,
                    1, 0),
        "hook tlb fill");
  mmu::HostWindow* w = mmu::HostWindow::get();
  if (!w) return;
  count_region();
  check(uc_mem_map_ptr(uc_, kWindowPhys, w->size(), UC_PROT_READ | UC_PROT_WRITE, w->data()),
        "map host window");
  window_ = true;
}

uint64_t Cpu::reg(int uc_reg) const {
  uint64_t v = 0;
  check(uc_reg_read(uc_, uc_reg, &v), "reg read");
  return v;
}

void Cpu::set_reg(int uc_reg, uint64_t value) { check(uc_reg_write(uc_, uc_reg, &value), "reg write"); }

void Cpu::read_regs(std::span<const int> ids, uint64_t* out) const {
  void* ptrs[64];
  PROBESIM_ASSERT(ids.size() <= 64);
  for (size_t i = 0; i < ids.size(); ++i) ptrs[i] = &out[i];
  check(uc_reg_read_batch(uc_, const_cast<int*>(ids.data()), ptrs, static_cast<int>(ids.size())),
        "reg read batch");
}

void Cpu::write_regs(std::span<const int> ids, const uint64_t* in) {
  void* ptrs[64];
  PROBESIM_ASSERT(ids.size() <= 64);
  for (size_t i = 0; i < ids.size(); ++i) ptrs[i] = const_cast<uint64_t*>(&in[i]);
  check(uc_reg_write_batch(uc_, const_cast<int*>(ids.data()), ptrs, static_cast<int>(ids.size())),
        "reg write batch");
}

uint64_t Cpu::msr(uint32_t id) const {
  uc_x86_msr m{id, 0};
  check(uc_reg_read(uc_, UC_X86_REG_MSR, &m), "msr read");
  return m.value;
}

void Cpu::set_msr(uint32_t id, uint64_t value) {
  uc_x86_msr m{id, value};
  check(uc_reg_write(uc_, UC_X86_REG_MSR, &m), "msr write");
}

// SPSR_EL1: op0=3 op1=0 CRn=4 CRm=0 op2=0.
uint64_t Cpu::spsr_el1() const {
  uc_arm64_cp_reg r{4, 0, 3, 0, 0, 0};
  check(uc_reg_read(uc_, UC_ARM64_REG_CP_REG, &r), "spsr read");
  return r.val;
}

void Cpu::set_spsr_el1(uint64_t value) {
  uc_arm64_cp_reg r{4, 0, 3, 0, 0, value};
  check(uc_reg_write(uc_, UC_ARM64_REG_CP_REG, &r), "spsr write");
}

void Cpu::reg128(int uc_reg, uint8_t out[16]) const {
  check(uc_reg_read(uc_, uc_reg, out), "reg128 read");
}

void Cpu::set_reg128(int uc_reg, const uint8_t in[16]) {
  check(uc_reg_write(uc_, uc_reg, in), "reg128 write");
}

// Inside the x86 syscall hook Unicorn's RIP is the syscall instruction and it adds 2 after the
// hook; the sink sees (and sets) the PC after the syscall, as Linux's pt_regs->ip.
uint64_t Cpu::pc() const { return reg(info_.reg_pc) + (in_x86_syscall_ ? 2 : 0); }

void Cpu::set_pc(uint64_t pc) { set_reg(info_.reg_pc, pc - (in_x86_syscall_ ? 2 : 0)); }

void Cpu::request_stop() {
  if (!stop_recorded_) {
    stop_recorded_ = true;
    stop_ = CpuStop{.kind = StopKind::Requested};
  }
  uc_emu_stop(uc_);
}

void Cpu::store_exception(std::exception_ptr e) {
  if (!pending_) pending_ = e;
  stop_recorded_ = true;
  stop_ = CpuStop{.kind = StopKind::Requested};
  uc_emu_stop(uc_);
}

// Arms or removes the PC-sync hook; every translation goes, since the hook changes the code
// Unicorn generates for memory accesses.
void Cpu::apply_precise_faults() {
  // arm64: the hook does not sync PC (measured on 2.1.1), decoding is all there is.
  if (info_.arch != Arch::X86_64 || precise_wanted_ == (pc_sync_hook_ != 0)) return;
  if (precise_wanted_) {
    check(uc_hook_add(uc_, &pc_sync_hook_, UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE,
                      reinterpret_cast<void*>(&Cpu::on_mem_sync), this, kPcSyncHookAddr,
                      kPcSyncHookAddr),
          "hook pc sync");
  } else {
    check(uc_hook_del(uc_, pc_sync_hook_), "unhook pc sync");
    pc_sync_hook_ = 0;
  }
  flush_translations();
}

// Unicorn's tb_flush memsets the whole code buffer (1 GiB by default; tcg_region_assign in
// 2.1.1), and those pages stay resident: a flush costs an engine 1 GiB of host memory. An
// engine that has translated nothing (every block it ran is in the cycle model's cache, which
// a flush or an invalidation empties with the translations) has nothing to drop.
bool Cpu::flush_translations() {
  if (model_.cached_blocks() == 0) return false;
  check(uc_ctl_flush_tb(uc_), "flush tb");
  return true;
}

void Cpu::set_access_watch(AccessWatch* w) {
  access_watch_ = w;
  if ((w != nullptr) == (access_hook_ != 0)) return;
  if (w) {
    check(uc_hook_add(uc_, &access_hook_, UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE,
                      reinterpret_cast<void*>(&Cpu::on_mem_watch), this, 1, 0),
          "hook access watch");
  } else {
    check(uc_hook_del(uc_, access_hook_), "unhook access watch");
    access_hook_ = 0;
  }
  flush_translations();  // translations made without the hook lack its calls
}

void Cpu::on_mem_watch(uc_engine*, uc_mem_type type, uint64_t addr, int size, int64_t,
                       void* self) noexcept {
  auto* c = static_cast<Cpu*>(self);
  if (c->in_stub_ || !c->access_watch_) return;
  try {
    const uint64_t pc = c->pc();
    if (addr >= kWindowPhys) {  // memory hooks see physical addresses: a data run's, back to its va
      auto run = std::find_if(c->data_runs_.begin(), c->data_runs_.end(),
                              [&](const auto& r) { return addr - r.second.paddr < r.second.len; });
      if (run == c->data_runs_.end()) return;
      addr = run->first + (addr - run->second.paddr);
    } else {
      addr = c->virt(addr);
    }
    if (!c->counted(pc) || pc >= c->info_.task_size || addr >= c->info_.task_size) return;
    c->access_watch_->on_access(addr, static_cast<uint32_t>(size), type == UC_MEM_WRITE, pc);
  } catch (...) {
    c->store_exception(std::current_exception());
  }
}

CpuStop Cpu::run(InsnCount budget, uint64_t sync_budget) {
  apply_precise_faults();
  stop_at_ = steps() + std::min<uint64_t>(budget.value, ~uint64_t{0} - steps());
  sync_budget_ = sync_budget;
  quantum_syncs_ = 0;
  run_start_steps_ = steps();
  last_step_insns_ = insns_;
  overdue_since_ = ~0ull;
  ScopedAssertContext context([this] { return describe_guest(); });
  for (;;) {
    stop_recorded_ = false;
    retranslate_ = false;
    stop_ = CpuStop{};
    denied_fill_.reset();
    uc_err e = uc_emu_start(uc_, pc(), kNoUntil, 0, 0);
    if (pending_) {
      std::exception_ptr p = pending_;
      pending_ = nullptr;
      std::rethrow_exception(p);
    }
    if (retranslate_) continue;  // an exit now stands in front of a translator abort
    if (stop_recorded_) {
      stop_.uc_error = e;
      return stop_;
    }
    if (e == UC_ERR_EXCEPTION && denied_fill_) {
      // A denied TLB fill: Unicorn restored the exact PC of the faulting instruction.
      CpuStop s = *denied_fill_;
      s.pc = s.access == mmu::Access::Exec ? s.addr : pc();
      s.uc_error = e;
      return s;
    }
    if (!at_stale_exit()) return finish_unhooked(e);
  }
}

// Unicorn ended without any of our hooks deciding: an instruction it could not run, one of our
// exits (a translator abort), or an engine failure.
CpuStop Cpu::finish_unhooked(int uc_error) {
  std::optional<StopKind> kind = unhooked_stop_kind(uc_error);
  PROBESIM_ASSERT_MSG(kind.has_value(), "uc_emu_start failed: " + engine_error_text(uc_error));
  return CpuStop{.kind = *kind, .pc = pc(), .uc_error = uc_error};
}

namespace {

// uc_emu_start's errors that no hook turned into a stop. Linux reports an instruction the CPU
// cannot execute as SIGILL at it (x86 #UD: do_error_trap ILL_ILLOPN; arm64: do_undefinstr),
// so those become InvalidInsn: UC_ERR_OK (the run ended at one of our exits, in front of an
// instruction the translator would abort on), UC_ERR_INSN_INVALID, and UC_ERR_EXCEPTION (a CPU
// exception Unicorn could not deliver). Memory errors always pass through on_mem_invalid, so
// one without a recorded stop is our bug, as are the engine's own failures (every other error).
constexpr uc_err kGuestInsnErrors[] = {UC_ERR_OK, UC_ERR_INSN_INVALID, UC_ERR_EXCEPTION};

}  // namespace

std::optional<StopKind> unhooked_stop_kind(int uc_error) {
  for (uc_err e : kGuestInsnErrors)
    if (e == uc_error) return StopKind::InvalidInsn;
  return std::nullopt;
}

std::string engine_error_text(int uc_error) {
  return uc_strerror(static_cast<uc_err>(uc_error));
}

void Cpu::note_syscall() {
  syscall_trail_[syscalls_noted_++ % kSyscallTrail] =
      SyscallNote{tid_, reg(info_.reg_syscall_nr), pc()};
}

std::string Cpu::describe_guest() const {
  char line[96];
  std::string out = "guest: tid " + std::to_string(tid_) + ", " +
                    std::string(info_.uname_machine) + " engine";
  std::snprintf(line, sizeof line, ", pc 0x%" PRIx64 "\nregisters:", pc());
  out += line;
  probes::Regs regs = read_probe_regs(const_cast<Cpu&>(*this), RegsMode::User);
  regs.set_ip(GuestAddr{pc()});  // inside the x86 syscall hook RIP is still the instruction
  for (unsigned i = 0; i < probes::Regs::count(info_.arch); ++i) {
    std::snprintf(line, sizeof line, "%s %-6.*s 0x%016" PRIx64, i % 4 == 0 ? "\n " : "",
                  static_cast<int>(probes::Regs::name_of(info_.arch, i).size()),
                  probes::Regs::name_of(info_.arch, i).data(), regs.get(i));
    out += line;
  }
  uint64_t first = syscalls_noted_ > kSyscallTrail ? syscalls_noted_ - kSyscallTrail : 0;
  out += "\nlast syscalls on this engine (oldest first):";
  if (first == syscalls_noted_) out += " none";
  for (uint64_t i = first; i < syscalls_noted_; ++i) {
    const SyscallNote& n = syscall_trail_[i % kSyscallTrail];
    std::snprintf(line, sizeof line, "\n  tid %d nr %" PRIu64 " at pc 0x%" PRIx64, n.tid, n.nr,
                  n.pc);
    out += line;
  }
  if (recent_events_) out += "\n" + recent_events_();
  return out;
}

// True when emulation stopped at an exit whose translator-abort instruction is no longer there
// (the code changed): the exit is dropped and the caller runs on.
bool Cpu::at_stale_exit() {
  uint64_t at = pc();
  if (!abort_exits_.count(at)) return false;
  uint8_t code[kMaxInsnBytes];
  size_t n = code_window(at, code);
  if (aborts_translator(info_.arch, std::span<const uint8_t>(code, n))) return false;
  abort_exits_.erase(at);
  set_exits();
  invalidate_code(GuestAddr{at}, 1);
  return true;
}

CpuContext::~CpuContext() { uc_context_free(ctx_); }

std::unique_ptr<CpuContext> Cpu::new_context() {
  uc_context* ctx = nullptr;
  check(uc_context_alloc(uc_, &ctx), "context alloc");
  return std::unique_ptr<CpuContext>(new CpuContext(ctx));
}

void Cpu::save(CpuContext& ctx) { check(uc_context_save(uc_, ctx.ctx_), "context save"); }

void Cpu::restore(const CpuContext& ctx) {
  check(uc_context_restore(uc_, ctx.ctx_), "context restore");
  uncharged_resume_ = kNoResume;  // another task's continuation is charged in full
  if (info_.arch == Arch::AArch64) clear_exclusive_monitor();
}

// Runs the one-instruction clrex stub with the budget hook disarmed; registers other than PC
// are untouched and PC is put back.
void Cpu::clear_exclusive_monitor() {
  uint64_t pc_saved = reg(info_.reg_pc);
  uint64_t stop_at = stop_at_;
  stop_at_ = ~0ull;
  in_stub_ = true;
  check(uc_emu_start(uc_, kArm64StubPage, kArm64StubPage + 4, 0, 0), "clrex stub");
  in_stub_ = false;
  stop_at_ = stop_at;
  set_reg(info_.reg_pc, pc_saved);
}

uint64_t Cpu::context_reg(const CpuContext& ctx, int uc_reg) const {
  uint64_t v = 0;
  check(uc_context_reg_read(ctx.ctx_, uc_reg, &v), "context reg read");
  return v;
}

void Cpu::set_context_reg(CpuContext& ctx, int uc_reg, uint64_t value) {
  check(uc_context_reg_write(ctx.ctx_, uc_reg, &value), "context reg write");
}

bool Cpu::read_mem(GuestAddr addr, void* out, size_t n) const {
  auto* dst = static_cast<uint8_t*>(out);
  while (n > 0) {  // piece by piece: a data run's bytes are at its window address
    uint64_t start = 0, pa = phys(addr.value);
    size_t piece = n;
    if (const DataRun* r = data_run(addr.value, &start)) {
      pa = r->paddr + (addr.value - start);
      piece = std::min<uint64_t>(n, start + r->len - addr.value);
    } else if (auto next = data_runs_.upper_bound(addr.value); next != data_runs_.end()) {
      piece = std::min<uint64_t>(n, next->first - addr.value);
    }
    if (uc_mem_read(uc_, pa, dst, piece) != UC_ERR_OK) return false;
    dst += piece;
    addr = addr + piece;
    n -= piece;
  }
  return true;
}

uint64_t Cpu::phys(uint64_t va) const {
  return info_.arch == Arch::X86_64 ? x86_phys::phys(va) : va;
}

uint64_t Cpu::virt(uint64_t pa) const {
  return info_.arch == Arch::X86_64 ? x86_phys::virt(pa) : pa;
}

// The MMU. A data run (is_data_run) is translated into the host window with its own
// protections; everything else keeps the identity map (x86: emu/uc_phys.h's, with the
// non-canonical hole denied) with RWX, the Unicorn regions' protections being checked on the
// physical side. A denial records a fault, delivered when uc_emu_start returns
// UC_ERR_EXCEPTION (a mere probe returns false silently); Unicorn then has the exact PC.
bool Cpu::on_tlb_fill(uc_engine*, uint64_t va, uc_mem_type type, uc_tlb_entry* e,
                      void* self) noexcept {
  auto* c = static_cast<Cpu*>(self);
  if (!c->data_runs_.empty())
    if (std::optional<bool> done = c->fill_data_run(va, type, e)) return *done;
  if (c->info_.arch == Arch::AArch64) {
    e->paddr = va;
    e->perms = UC_PROT_ALL;
    return true;
  }
  if (x86_phys::fill(va, e)) return true;
  c->deny_fill(va, type);
  return false;
}

// nullopt if va lies in no data run; else whether the fill was granted (denied: a fault).
std::optional<bool> Cpu::fill_data_run(uint64_t va, uc_mem_type type, uc_tlb_entry* e) {
  uint64_t start = 0;
  const DataRun* r = data_run(va, &start);
  if (!r) return std::nullopt;
  const uint32_t need = type == UC_MEM_WRITE ? 0x2 : type == UC_MEM_FETCH ? 0x4 : 0x1;
  if (!(r->prot & need)) {
    deny_fill(va, type);
    return false;
  }
  e->paddr = r->paddr + (va - start);
  e->perms = static_cast<::uc_prot>(uc_prot(r->prot));
  return true;
}

void Cpu::deny_fill(uint64_t va, uc_mem_type type) {
  denied_fill_ = CpuStop{.kind = StopKind::Fault,
                         .access = type == UC_MEM_WRITE   ? mmu::Access::Write
                                   : type == UC_MEM_FETCH ? mmu::Access::Exec
                                                          : mmu::Access::Read,
                         .addr = va};
}

const Cpu::DataRun* Cpu::data_run(uint64_t va, uint64_t* start) const {
  auto it = data_runs_.upper_bound(va);
  if (it == data_runs_.begin()) return nullptr;
  --it;
  if (va - it->first >= it->second.len) return nullptr;
  *start = it->first;
  return &it->second;
}

// A run goes to the window when it is accessible, not executable, and its host memory lies
// in the window.
bool Cpu::is_data_run(uint64_t start, uint64_t len, const uint8_t* host, uint32_t prot) const {
  (void)start;
  mmu::HostWindow* w = window_ ? mmu::HostWindow::get() : nullptr;
  return w && (prot & 0x7) && !(prot & 0x4) && w->contains(host, len);
}

// Every cached translation goes (Unicorn 2.1.1 has no per-page flush in its API); the
// translated blocks stay, found again by physical address.
void Cpu::flush_tlb() { check(uc_ctl_flush_tlb(uc_), "flush tlb"); }

void Cpu::invalidate_code(GuestAddr addr, uint64_t len) {
  if (len == 0) return;
  // Data runs hold no translated code (their fill denies fetches), and uc_ctl_remove_cache
  // translates the range's first page with a fetch fill, which a data run would deny by
  // raising a guest exception out of the uc_ctl call: they are skipped.
  for (uint64_t at = addr.value, end = addr.value + len; at < end;) {
    uint64_t start = 0, piece = end - at;
    if (const DataRun* r = data_run(at, &start)) {
      at = std::min(end, start + r->len);
      continue;
    }
    if (auto next = data_runs_.upper_bound(at); next != data_runs_.end())
      piece = std::min(piece, next->first - at);
    check(uc_ctl_remove_cache(uc_, at, at + piece), "remove cache");
    at += piece;
  }
  model_.invalidate(addr.value, len);
  forget_emulated_sites(addr.value, len);
}

void Cpu::on_unmap(GuestAddr start, uint64_t len) {
  if (inaccessible_runs_.erase(start.value)) return;  // never realized (on_map)
  if (data_runs_.erase(start.value)) {
    flush_tlb();
    return;
  }
  check(uc_mem_unmap(uc_, start.value, len), "mem unmap");
  --regions_;
  model_.invalidate(start.value, len);
  forget_emulated_sites(start.value, len);
  auto run = user_exec_.find(start.value);
  if (run == user_exec_.end()) return;
  if (run->second.smc_hook) check(uc_hook_del(uc_, run->second.smc_hook), "unhook smc");
  user_exec_.erase(run);
}

void Cpu::reset_fp_state() {
  if (x86_fpu_) {
    x86_fpu_->init_state();
    return;
  }
  set_reg(UC_ARM64_REG_FPCR, 0);
  set_reg(UC_ARM64_REG_FPSR, 0);
  const uint8_t zero[16] = {};
  for (int i = 0; i < 32; ++i) set_reg128(UC_ARM64_REG_V0 + i, zero);
}

// User code (below TASK_SIZE) is guarded; the kernel areas and probesim's stub are our own code.
bool Cpu::user_exec(uint64_t start, uint32_t prot) const {
  return (prot & 0x4) && start < info_.task_size;
}

void Cpu::on_map(GuestAddr start, uint64_t len, uint8_t* host, uint32_t prot) {
  // PROT_NONE runs (reservations, guard pages) stay out of Unicorn: an access faults as unmapped
  // and the Mm classifies it (SEGV_ACCERR), and unmapping costs nothing. Unicorn's unmap flushes
  // per page, so a 256 GiB reservation took seconds.
  if ((prot & 0x7) == 0) {
    inaccessible_runs_.insert(start.value);
    return;
  }
  if (is_data_run(start.value, len, host, prot)) {
    const uint64_t paddr =
        kWindowPhys + static_cast<uint64_t>(host - mmu::HostWindow::get()->data());
    data_runs_.emplace(start.value, DataRun{len, paddr, prot});
    flush_tlb();  // a translation cached for this range (unmapped before) must go
    return;
  }
  uint32_t p = uc_prot(prot);
  if (user_exec(start.value, prot)) {
    p &= ~UC_PROT_EXEC;
    ExecRun& run = user_exec_[start.value] = ExecRun{len, 0, {}};
    // Unicorn drops translations written to only in regions it may execute: do it here.
    if (prot & 0x2)
      check(uc_hook_add(uc_, &run.smc_hook, UC_HOOK_MEM_WRITE,
                        reinterpret_cast<void*>(&Cpu::on_smc_write), this, start.value,
                        start.value + len - 1),
            "hook smc");
  }
  count_region();
  check(uc_mem_map_ptr(uc_, start.value, len, p, host), "mem map ptr");
  // Translations of code previously mapped here (same addresses, other bytes) must go.
  if (prot & 0x4) invalidate_code(start, len);
}

// Unicorn aborts the host at its region ceiling (uc_regions.h); the Mm's max_map_count keeps
// every mm below it, so reaching it here is probesim's bug, reported with the guest's state.
void Cpu::count_region() {
  PROBESIM_ASSERT_MSG(regions_ < uc_regions::limit(info_.arch),
                      "Unicorn region ceiling reached (" + std::to_string(regions_) +
                          " regions): the mm's max_map_count should have refused this mapping");
  ++regions_;
}

Cpu::ExecRun* Cpu::exec_run(uint64_t addr) {
  auto it = user_exec_.upper_bound(addr);
  if (it == user_exec_.begin()) return nullptr;
  --it;
  return addr - it->first < it->second.len ? &it->second : nullptr;
}

// Up to kMaxInsnBytes of code from addr (fewer where the mapping ends).
size_t Cpu::code_window(uint64_t addr, uint8_t* out) const {
  size_t n = kMaxInsnBytes;
  while (n > 0 && uc_mem_read(uc_, phys(addr), out, n) != UC_ERR_OK) --n;
  return n;
}

// A fetch by the translator from guarded code: nullopt if addr is not user code (a real fetch
// fault); false if an instruction that would abort the translator starts inside [addr,
// addr+size): an exit goes in front of it and the translation is abandoned (run() starts it
// again, and it then ends at the exit); true otherwise. An exit inside another instruction is
// harmless: Unicorn checks exits only where an instruction starts.
std::optional<bool> Cpu::guard_fetch(uint64_t addr, int size) {
  ExecRun* run = exec_run(addr);
  if (!run) return std::nullopt;
  if (run->smc_hook) run->code_pages.insert(addr & ~(kPageSize - 1));
  for (uint64_t a = addr; a < addr + static_cast<uint64_t>(size); ++a) {
    if (abort_exits_.count(a)) continue;
    uint8_t code[kMaxInsnBytes];
    size_t n = code_window(a, code);
    if (!aborts_translator(info_.arch, std::span<const uint8_t>(code, n))) continue;
    abort_exits_.insert(a);
    set_exits();
    retranslate_ = true;
    return false;
  }
  return true;
}

void Cpu::set_exits() {
  std::vector<uint64_t> exits(abort_exits_.begin(), abort_exits_.end());
  if (info_.arch == Arch::AArch64) exits.push_back(kArm64StubPage + 4);  // after the clrex
  check(uc_ctl_set_exits(uc_, exits.data(), exits.size()), "set exits");
}

// Records the block's emulated sites; true when a site got its code hook just now (the block
// must then be translated again to include it).
bool Cpu::hook_emulated_sites(const BlockCost& cost) {
  bool added = false;
  for (const EmulatedSite& site : cost.emulated) {
    sites_[site.addr] = site;
    if (!hooked_sites_.insert(site.addr).second) continue;
    uc_hook h;
    check(uc_hook_add(uc_, &h, UC_HOOK_CODE, reinterpret_cast<void*>(&Cpu::on_emulated_insn), this,
                      site.addr, site.addr),
          "hook emulated insn");
    check(uc_ctl_remove_cache(uc_, site.addr, site.addr + 1), "remove cache");
    added = true;
  }
  return added;
}

// After an emulated instruction: Unicorn continues at `next` as a new block, whose
// instructions were charged with the current block unless `next` is past its end.
void Cpu::resume_after_site(uint64_t next) {
  if (next < block_end_) uncharged_resume_ = next;
  set_pc(next);
}

// ---- Scheduling points inside blocks (run()'s contract).

void Cpu::set_sync_points(bool on) {
  if (on == sync_points_) return;
  sync_points_ = on;
  if (on && flush_translations()) model_.invalidate(0, ~uint64_t{0});
}

// A code hook at each atomic (syscalls have theirs already); true when one was added.
bool Cpu::hook_sync_sites(const BlockCost& cost) {
  bool added = false;
  for (const SyncSite& site : cost.sync) {
    if (site.kind != SyncKind::Atomic || !sync_hooked_.insert(site.addr).second) continue;
    uc_hook h;
    check(uc_hook_add(uc_, &h, UC_HOOK_CODE, reinterpret_cast<void*>(&Cpu::on_sync_insn), this,
                      site.addr, site.addr),
          "hook sync insn");
    check(uc_ctl_remove_cache(uc_, site.addr, site.addr + 1), "remove cache");
    added = true;
  }
  return added;
}

// Instructions from the scheduling point at `addr` to the end of the running user block
// (charged already, not yet run); none when `addr` is not a point of that block (a stale hook,
// code that changed, an uncounted block).
std::optional<uint32_t> Cpu::block_rest(uint64_t addr) const {
  if (!cur_block_user_ || scope_ != StepScope::User) return std::nullopt;
  const BlockCost* cost = model_.lookup(cur_block_addr_, cur_block_size_);
  if (!cost) return std::nullopt;
  for (const SyncSite& site : cost->sync)
    if (site.addr == addr && site.index < cost->insns) return cost->insns - site.index;
  return std::nullopt;
}

// At an atomic or syscall (at `site`) `rest` instructions before the end of the charged block:
// true when the quantum ends in front of it. The rest of the block has not run: its
// instructions and cycles are taken back (it runs later as a block of its own, charged then).
bool Cpu::sync_point(uint64_t site, uint32_t rest) {
  const uint64_t at = steps() - rest;
  const bool due = at >= stop_at_ || (sync_budget_ && quantum_syncs_ + 1 >= sync_budget_);
  if (due && at > run_start_steps_ && preemptible_ && !stop_recorded_) {
    insns_ -= rest;
    user_insns_ -= rest;
    const uint64_t floor = time_read_clock_ == clock_ ? time_read_at_ : 0;
    clock_->give_back(Cycles{rest_cycles(site)}, Cycles{floor});
    stop_recorded_ = true;
    stop_ = CpuStop{.kind = StopKind::Budget, .sync_point = true};
    return true;
  }
  ++quantum_syncs_;
  ++sync_ops_;
  return false;
}

// The cycles the running user block was charged for its instructions from `site` (one of
// them) to its end: decoded as on_block costed them (observer mode: the program's bytes).
uint64_t Cpu::rest_cycles(uint64_t site) const {
  const uint64_t end = cur_block_addr_ + cur_block_size_;
  std::vector<uint8_t> code(end - site);
  if (uc_mem_read(uc_, phys(site), code.data(), code.size()) != UC_ERR_OK) return 0;
  const std::vector<uint8_t> original = observed_code(site, code);
  return model_.original_cycles(site, original.empty() ? code : original, code.size());
}

// In the syscall hook (PC after the instruction): true when the quantum ends in front of it,
// PC back at it, the syscall not taken.
bool Cpu::syscall_sync_point() {
  const uint64_t insn = pc() - info_.syscall_insn_len;
  std::optional<uint32_t> rest = block_rest(insn);
  if (!rest || !sync_point(insn, *rest)) return false;
  set_pc(insn);
  return true;
}

bool Cpu::breakpoint_sync_point(GuestAddr bp, OriginalCode& code) {
  const uint64_t bp_len = info_.arch == Arch::X86_64 ? 1 : 4;  // int3 / BRK
  if (!sync_points_ || !cur_block_user_ || scope_ != StepScope::User ||
      bp.value + bp_len != cur_block_addr_ + cur_block_size_) {
    return false;
  }
  auto [it, fresh] = breakpoint_sync_.try_emplace(bp.value, SyncKind::None);
  if (fresh) {
    uint8_t insn[16] = {};
    size_t n = sizeof insn;  // x86's longest instruction fits; near a mapping's end, 4 bytes
    bool read = code.original_code(bp.value, std::span(insn, n));
    if (!read) read = code.original_code(bp.value, std::span(insn, n = 4));
    cs_insn* decoded = nullptr;
    if (read && cs_disasm(model_.capstone(), insn, n, bp.value, 1, &decoded) == 1) {
      it->second = sync_kind(info_.arch, *decoded);
    }
    if (decoded) cs_free(decoded, 1);
  }
  if (it->second == SyncKind::None || !sync_point(bp.value, 1)) return false;
  set_pc(bp.value);
  return true;
}

void Cpu::add_call_site(uint64_t addr, uint32_t insn_size, CallSite fn, void* ctx) {
  call_sites_.push_back(CallSiteEntry{addr, insn_size, fn, ctx});
}

// From on_block, for a block that will run. A stop fn asks for would leave the block unrun
// (a stop in a block hook), and the resumed run would call fn again: so the run stops after
// the site's nop, inside the block already charged.
void Cpu::run_call_site(const CallSiteEntry& site) {
  site.fn(*this, site.ctx);
  if (!stop_recorded_) return;
  resume_after_site(site.addr + site.insn_size);  // a PC write cancels the stop: stop again
  uc_emu_stop(uc_);
}

void Cpu::on_sync_insn(uc_engine* uc, uint64_t addr, uint32_t, void* self) noexcept {
  auto* c = static_cast<Cpu*>(self);
  if (c->in_stub_ || !c->sync_points_) return;
  try {
    std::optional<uint32_t> rest = c->block_rest(addr);
    if (!rest || !c->sync_point(addr, *rest)) return;
    c->set_reg(c->info_.reg_pc, addr);  // a PC write cancels a stop: the stop comes after it
    uc_emu_stop(uc);
  } catch (...) {
    c->store_exception(std::current_exception());
  }
}

void Cpu::forget_emulated_sites(uint64_t start, uint64_t len) {
  auto in_range = [&](const auto& s) { return s.first >= start && s.first - start < len; };
  if (!breakpoint_sync_.empty()) std::erase_if(breakpoint_sync_, in_range);
  if (sites_.empty()) return;
  std::erase_if(sites_, in_range);
}

// The budget check comes first: after uc_emu_stop in a block hook Unicorn does not execute the
// block (measured: charging it anyway made the instruction count depend on the quantum size),
// so a stopped block is charged when it really runs, at the start of the next quantum. Only
// blocks that are steps (StepScope) can end a quantum; a stretch of kMaxUncountedRun other
// instructions (a guest kernel gone astray) ends it anyway, so the machine never hangs.
void Cpu::on_block(uc_engine* uc, uint64_t addr, uint32_t size, void* self) noexcept {
  auto* c = static_cast<Cpu*>(self);
  if (c->in_stub_) return;  // probesim's own stub code is neither counted nor charged
  try {
    // A non-preemptible window (a kprobe single-step) lasts a few instructions; a broken one
    // (a handler sent the CPU elsewhere) must not keep the quantum from ending.
    constexpr uint64_t kMaxNonPreemptible = 100'000;
    constexpr uint64_t kMaxUncountedRun = 50'000'000;
    const bool user = c->counted(addr);
    const bool step = c->scope_ == StepScope::Anywhere || user;
    bool stop = false;
    if (step) {
      const bool resumed_past_probe = addr == c->no_stop_at_;
      c->no_stop_at_ = kNoResume;
      if (c->steps() >= c->stop_at_ && !resumed_past_probe) {
        if (c->overdue_since_ == ~0ull) c->overdue_since_ = c->insns_;
        stop = c->preemptible_ || c->insns_ >= c->overdue_since_ + kMaxNonPreemptible;
      }
      c->last_step_insns_ = c->insns_;
    } else {
      stop = c->insns_ >= c->last_step_insns_ + kMaxUncountedRun;
    }
    if (stop) {
      if (!c->stop_recorded_) {
        c->stop_recorded_ = true;
        c->stop_ = CpuStop{.kind = StopKind::Budget};
      }
      // With any code hook armed (emulated sites), Unicorn 2.1 does not put the PC back at a
      // block it leaves on an exit request (cpu-exec.c cpu_tb_exec: !HOOK_EXISTS(UC_HOOK_CODE)),
      // so RIP could be a stale mid-block value: set it to this unexecuted block. A PC write
      // cancels a stop, so the stop comes after it.
      if (!c->hooked_sites_.empty() || !c->sync_hooked_.empty()) c->set_reg(c->info_.reg_pc, addr);
      uc_emu_stop(uc);
      return;
    }
    const BlockCost* cost = c->model_.lookup(addr, size);
    if (!cost) {
      std::vector<uint8_t> code(size);
      if (uc_mem_read(uc, c->phys(addr), code.data(), size) != UC_ERR_OK) code.clear();
      const bool kernel = static_cast<int64_t>(addr) < 0;
      const bool charged = !(c->observer_ && kernel && c->observer_->probe_code(addr));
      cost = &c->model_.block(addr, code, c->observed_code(addr, code), charged);
      const bool sync_added = c->sync_points_ && c->hook_sync_sites(*cost);
      if ((!cost->emulated.empty() && c->hook_emulated_sites(*cost)) || sync_added) {
        // Retranslate this block with the emulation hooks in place, without charging it.
        c->set_pc(addr);
        return;
      }
    }
    c->block_end_ = addr + size;
    c->cur_block_addr_ = addr, c->cur_block_size_ = size, c->cur_block_user_ = user;
    if (addr == c->uncharged_resume_) {  // the rest of a block charged in full already
      c->uncharged_resume_ = kNoResume;
      return;
    }
    c->insns_ += cost->insns;
    if (user) c->user_insns_ += cost->insns;
    if (c->observer_ && !user && static_cast<int64_t>(addr) >= 0) return;  // XOL: probe-owned
    c->clock_->advance(Cycles{cost->cycles});
    for (const CallSiteEntry& site : c->call_sites_)
      if (site.addr == addr) c->run_call_site(site);
  } catch (...) {
    c->store_exception(std::current_exception());
  }
}

// Observer mode: the bytes the program or the kernel sees at a block, with room for an x86
// instruction that continues past a breakpoint at the block's end; empty when they are what
// Unicorn runs.
std::vector<uint8_t> Cpu::observed_code(uint64_t addr, std::span<const uint8_t> code) const {
  constexpr size_t kMaxInsnTail = 15;  // x86's longest instruction
  if (!observer_ || code.empty()) return {};
  std::vector<uint8_t> out(code.size() + kMaxInsnTail);
  if (!observer_->original_code(addr, out)) {
    out.resize(code.size());
    if (!observer_->original_code(addr, out)) return {};
  }
  if (std::equal(code.begin(), code.end(), out.begin())) return {};
  return out;
}

uint64_t Cpu::guest_cycles() {
  uint64_t now = clock_->cycles().value;
  time_read_clock_ = clock_, time_read_at_ = now;
  return time_source_ ? time_source_->guest_cycles(now) : now;
}

// A PC write inside a hook makes Unicorn restart at the new PC and forget an earlier
// uc_emu_stop (measured: an exit_group followed by a PC write kept running), so a stop
// requested by the sink is re-issued after it returns.
void Cpu::on_x86_syscall(uc_engine* uc, void* self) noexcept {
  auto* c = static_cast<Cpu*>(self);
  c->in_x86_syscall_ = true;
  try {
    if (c->sync_points_ && c->syscall_sync_point()) {
      c->in_x86_syscall_ = false;
      uc_emu_stop(uc);
      return;
    }
    c->note_syscall();
    c->sink_.on_syscall(*c);
  } catch (...) {
    c->store_exception(std::current_exception());
  }
  c->in_x86_syscall_ = false;
  if (c->stop_recorded_) uc_emu_stop(uc);
}

void Cpu::on_intr(uc_engine* uc, uint32_t intno, void* self) noexcept {
  auto* c = static_cast<Cpu*>(self);
  try {
    constexpr uint32_t kArm64ExcpSwi = 2;
    if (c->info_.arch == Arch::AArch64 && intno == kArm64ExcpSwi) {
      if (c->sync_points_ && c->syscall_sync_point()) {
        uc_emu_stop(uc);
        return;
      }
      c->note_syscall();
      c->sink_.on_syscall(*c);  // PC already points after the svc
      if (c->stop_recorded_) uc_emu_stop(uc);  // see on_x86_syscall
      return;
    }
    if (c->stop_recorded_) return;
    if (c->sink_.on_trap(*c, intno)) {
      if (c->stop_recorded_) uc_emu_stop(uc);  // a PC write cancels an earlier stop
      return;
    }
    c->stop_recorded_ = true;
    c->stop_ = CpuStop{.kind = StopKind::Interrupt, .intno = intno, .pc = c->pc()};
    // QEMU raises EXCP_DATA_ABORT itself only for alignment faults (page faults come through
    // the memory hooks): its address is the access's, decoded at the exact PC.
    constexpr uint32_t kArm64ExcpDataAbort = 4;
    if (c->info_.arch == Arch::AArch64 && intno == kArm64ExcpDataAbort)
      c->stop_.addr = c->access_address_at(c->stop_.pc);
    uc_emu_stop(uc);
  } catch (...) {
    c->store_exception(std::current_exception());
  }
}

bool Cpu::on_mem_invalid(uc_engine* uc, uc_mem_type type, uint64_t addr, int size, int64_t,
                         void* self) noexcept {
  auto* c = static_cast<Cpu*>(self);
  try {
    if (type == UC_MEM_FETCH_PROT && !c->stop_recorded_)  // user addresses: physical == virtual
      if (std::optional<bool> ok = c->guard_fetch(addr, size)) return *ok;
    if (c->stop_recorded_) return false;
    addr = c->virt(addr);  // memory hooks see physical addresses
    CpuStop s{.kind = StopKind::Fault, .access = access_of(type), .addr = addr};
    if (s.access == mmu::Access::Exec) {
      s.pc = addr;
    } else if (c->pc_sync_hook_) {
      s.pc = c->pc();
    } else {
      s.pc = c->recover_fault_pc(c->pc(), addr, &s.pc_precise);
    }
    c->stop_recorded_ = true;
    c->stop_ = s;
    uc_emu_stop(uc);
  } catch (...) {
    c->store_exception(std::current_exception());
  }
  return false;
}

bool Cpu::on_invalid_insn(uc_engine* uc, void* self) noexcept {
  auto* c = static_cast<Cpu*>(self);
  if (!c->stop_recorded_) {
    c->stop_recorded_ = true;
    c->stop_ = CpuStop{.kind = StopKind::InvalidInsn, .pc = c->pc()};
  }
  uc_emu_stop(uc);
  return false;
}

uint32_t Cpu::on_arm64_mrs(uc_engine*, uc_arm64_reg reg, const uc_arm64_cp_reg* cp,
                           void* self) noexcept {
  auto* c = static_cast<Cpu*>(self);
  // Generic timer registers: op0=3 op1=3 CRn=14 CRm=0; op2 0 = CNTFRQ, 1 = CNTPCT, 2 = CNTVCT.
  if (cp->op0 != 3 || cp->op1 != 3 || cp->crn != 14 || cp->crm != 0 || cp->op2 > 2) return 0;
  try {
    uint64_t v = Cpu::kArm64CntFreq;
    if (cp->op2 != 0) {
      VirtualClock seen(c->clock_->hz(), c->clock_->epoch_sec());
      seen.advance(Cycles{c->guest_cycles()});
      unsigned __int128 ns = seen.monotonic_ns();
      v = static_cast<uint64_t>(ns * Cpu::kArm64CntFreq / 1'000'000'000u);
    }
    c->set_reg(reg, v);
  } catch (...) {
    c->store_exception(std::current_exception());
  }
  return 1;
}

void Cpu::on_emulated_insn(uc_engine*, uint64_t addr, uint32_t size, void* self) noexcept {
  auto* c = static_cast<Cpu*>(self);
  try {
    auto site = c->sites_.find(addr);
    if (site == c->sites_.end()) return;  // stale hook: other code lives here now
    if (c->user_site(addr, size, site->second)) return;
    EmulatedKind kind = site->second.kind;
    if (kind != EmulatedKind::Rdtsc) {
      uint8_t last = 0;  // a host x87 operation is selected by the instruction's last byte
      if (kind == EmulatedKind::FpuHostX87 && !c->read_mem(GuestAddr{addr + size - 1}, &last, 1))
        return;
      if (c->x86_fpu_->at_site(kind, last)) c->resume_after_site(addr + size);
      return;
    }
    // rdtsc (0f 31, 2 bytes) / rdtscp (0f 01 f9, 3 bytes): the TSC is the cycle counter. The
    // length comes from the bytes: Unicorn's CPU model lacks rdtscp and reports the unpatched
    // placeholder size 0xf1f1f1f1 for it (its translator takes the #UD path).
    uint8_t op[3] = {};
    const bool rdtscp = c->read_mem(GuestAddr{addr}, op, sizeof op) && op[0] == 0x0f &&
                        op[1] == 0x01 && op[2] == 0xf9;
    uint64_t tsc = c->guest_cycles();
    c->set_reg(UC_X86_REG_RAX, tsc & 0xffffffffu);
    c->set_reg(UC_X86_REG_RDX, tsc >> 32);
    if (rdtscp) c->set_reg(UC_X86_REG_RCX, c->tsc_aux_);  // IA32_TSC_AUX
    c->resume_after_site(addr + (rdtscp ? 3 : 2));
  } catch (...) {
    c->store_exception(std::current_exception());
  }
}

// UserTrap: the trap Linux user mode takes at this instruction, which Unicorn never executes
// (after a code hook that stops, the TB exits before the instruction; PC stays at it).
// UserNop: continue after it. False for the other kinds.
bool Cpu::user_site(uint64_t addr, uint32_t size, const EmulatedSite& site) {
  if (site.kind == EmulatedKind::UserNop) {
    resume_after_site(addr + size);
    return true;
  }
  if (site.kind != EmulatedKind::UserTrap) return false;
  if (!stop_recorded_) {
    stop_recorded_ = true;
    stop_ = CpuStop{.kind = StopKind::Interrupt, .intno = site.intno, .pc = addr};
  }
  uc_emu_stop(uc_);
  return true;
}

// A guest store into writable user code: translations of that page go (what Unicorn does
// itself for regions it may execute; guarded runs are not such regions).
void Cpu::on_smc_write(uc_engine*, uc_mem_type, uint64_t addr, int size, int64_t,
                       void* self) noexcept {
  auto* c = static_cast<Cpu*>(self);
  try {
    ExecRun* run = c->exec_run(addr);
    if (!run) return;
    uint64_t last = addr + static_cast<uint64_t>(size) - 1;
    for (uint64_t page = addr & ~(kPageSize - 1); page <= last; page += kPageSize)
      if (run->code_pages.erase(page))
        c->invalidate_code(GuestAddr{page}, kPageSize);  // translated again when it runs
  } catch (...) {
    c->store_exception(std::current_exception());
  }
}

// Data faults without the PC-sync hook: Unicorn reports the PC of the block start, but general
// registers are exact at the faulting instruction (docs/unicorn.md). Decode the block and pick
// the first instruction whose memory access, computed from the current registers, lies within
// 64 bytes below the fault address: explicit operands (x86: segment + base + index*scale + disp,
// RIP-relative; arm64: base + disp) and x86's implicit stack and string accesses. An earlier
// instruction whose address registers changed since can still match: that is why a process
// with a SIGSEGV/SIGBUS handler runs with the hook (set_precise_faults). Falls back to the
// block start (pc_precise = false).
uint64_t Cpu::recover_fault_pc(uint64_t block_pc, uint64_t addr, bool* precise) const {
  uint8_t code[512];
  size_t n = sizeof code;
  while (n > 0 && uc_mem_read(uc_, phys(block_pc), code, n) != UC_ERR_OK) n /= 2;
  csh cs = const_cast<CycleModel&>(model_).capstone();
  cs_insn* insn = cs_malloc(cs);
  const uint8_t* p = code;
  uint64_t a = block_pc;
  uint64_t found = 0;
  auto near = [addr](uint64_t ea) { return addr >= ea && addr - ea < 64; };
  while (n > 0 && !found && cs_disasm_iter(cs, &p, &n, &a, insn)) {
    for (uint64_t ea : access_candidates(*insn)) {
      if (near(ea)) {
        found = insn->address;
        break;
      }
    }
  }
  cs_free(insn, 1);
  *precise = found != 0;
  return found ? found : block_pc;
}

uint64_t Cpu::access_address_at(uint64_t pc) const {
  uint8_t code[16];
  size_t n = sizeof code;
  if (uc_mem_read(uc_, phys(pc), code, n) != UC_ERR_OK) return 0;
  csh cs = const_cast<CycleModel&>(model_).capstone();
  cs_insn* insn = cs_malloc(cs);
  const uint8_t* p = code;
  uint64_t a = pc;
  uint64_t out = 0;
  if (cs_disasm_iter(cs, &p, &n, &a, insn)) {
    auto eas = access_candidates(*insn);
    if (!eas.empty()) out = eas.front();
  }
  cs_free(insn, 1);
  return out;
}

namespace {

// Instructions whose implicit read is at the top of the stack, [rsp, rsp + 8) and up.
bool x86_reads_stack_top(unsigned id) {
  static constexpr unsigned kIds[] = {X86_INS_POP,  X86_INS_POPFQ, X86_INS_RET,
                                      X86_INS_RETF, X86_INS_RETFQ, X86_INS_IRETQ};
  for (unsigned k : kIds)
    if (k == id) return true;
  return false;
}

}  // namespace

// The addresses `insn` may access, from the current registers (see recover_fault_pc).
std::vector<uint64_t> Cpu::access_candidates(const cs_insn& insn) const {
  std::vector<uint64_t> out;
  if (info_.arch == Arch::AArch64) {
    const cs_arm64& d = insn.detail->arm64;
    for (uint8_t i = 0; i < d.op_count; ++i) {
      if (d.operands[i].type != ARM64_OP_MEM) continue;
      int r = arm64_uc_reg(d.operands[i].mem.base);
      if (r >= 0) out.push_back(reg(r) + static_cast<int64_t>(d.operands[i].mem.disp));
    }
    return out;
  }
  const cs_x86& d = insn.detail->x86;
  for (uint8_t i = 0; i < d.op_count; ++i) {
    const cs_x86_op& op = d.operands[i];
    if (op.type != X86_OP_MEM) continue;
    uint64_t ea = static_cast<uint64_t>(op.mem.disp);
    if (op.mem.base == X86_REG_RIP) {
      ea += insn.address + insn.size;
    } else if (op.mem.base != X86_REG_INVALID) {
      int r = x86_uc_reg(op.mem.base);
      if (r < 0) continue;
      ea += reg(r);
    }
    if (op.mem.index != X86_REG_INVALID) {
      int r = x86_uc_reg(op.mem.index);
      if (r < 0) continue;
      ea += reg(r) * static_cast<uint64_t>(op.mem.scale);
    }
    if (op.mem.segment == X86_REG_FS) ea += reg(UC_X86_REG_FS_BASE);
    if (op.mem.segment == X86_REG_GS) ea += reg(UC_X86_REG_GS_BASE);
    out.push_back(ea);
  }
  // Implicit accesses: the stack (push/call/enter below rsp; pop/ret read [rsp, rsp + 8)) and
  // string instructions.
  if (x86_reads_stack_top(insn.id)) out.push_back(reg(UC_X86_REG_RSP));
  for (uint8_t i = 0; i < insn.detail->regs_read_count; ++i) {
    uint16_t r = insn.detail->regs_read[i];
    if (r == X86_REG_RSP) out.push_back(reg(UC_X86_REG_RSP) - 64);
    if (r == X86_REG_RBP) out.push_back(reg(UC_X86_REG_RBP));
    if (r == X86_REG_RSI) out.push_back(reg(UC_X86_REG_RSI));
    if (r == X86_REG_RDI) out.push_back(reg(UC_X86_REG_RDI));
  }
  return out;
}

}  // namespace probesim::emu
