// Guest kernel: boot, engines, starting tasks and putting them on CPUs
// (docs/guest-kernel.md "The model's contract": mapping and boot, starting user tasks).
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <span>
#include <utility>

#include "emu/kernel/guest_kernel.h"
#include "emu/process.h"
#include "emu/virtual_clock.h"
#include "guest/kernel/include/entry_abi.h"
#include "guest/kernel/include/hypercall_abi.h"
#include "probesim/assert.h"

namespace probesim::emu {
namespace {

constexpr uint64_t kBootBudget = 10'000'000;  // boot is a few thousand instructions

}  // namespace

GuestKernel::GuestKernel(KernelConfig config, KernelHost& host)
    : config_(std::move(config)), host_(host) {}

// The engines go with the kernel: text the kprobes engine restores while it is torn down
// needs no flushing of them (and some are gone already).
GuestKernel::~GuestKernel() {
  if (space_) space_->invalidate = nullptr;
}

// Loads the image, sets up kprobes (not initialized yet: early kprobes are branches until
// init_kprobes reports; the kretprobe trampoline is the image's), and runs start_kernel on the
// kernel engine up to rest_init's HC_RUN_INIT.
Result<void> GuestKernel::boot() {
  space_ = PROBESIM_TRY(KernelSpace::create(config_.arch));
  KernelSpace& ks = *space_;
  ks.invalidate = [this](GuestAddr a, uint64_t len) {
    for_each_engine([&](Cpu& cpu) { cpu.invalidate_code(a, len); });
  };
  arch_ = KernelArch::create(config_.arch, ks);
  arch_->setup(config_.cpus);
  ret_from_fork_ = ks.sym("ret_from_fork");
  call_trampoline_ = ks.sym("probesim_kernel_call_trampoline");
  call_stack_ = PROBESIM_TRY(ks.alloc_stack());
  PROBESIM_TRY_VOID(create_kprobes());
  engine_ = PROBESIM_TRY(Cpu::create(config_.arch, host_.cpu_clock(0), host_.engine_sink(), ks.regions()));
  Cpu& e = *engine_;
  add_call_sites(e);
  e.set_step_scope(StepScope::Anywhere);  // kernel-only engine: its budget counts everything
  e.set_pc(ks.entry().value);
  CpuStop stop = e.run(InsnCount{kBootBudget});
  if (!panic_.empty()) return Error::make("guest kernel panic during boot: " + panic_, EIO);
  if (!run_init_)
    return Error::make("guest kernel boot did not reach rest_init (stopped at " +
                           ks.kallsyms().format(GuestAddr{stop.pc ? stop.pc : e.pc()}) + ")",
                       EIO);
  arch_->save_boot_state(e);
  return {};
}

// The kprobes engine, before start_kernel: kprobes_initialized is false until init_kprobes.
Result<void> GuestKernel::create_kprobes() {
  KernelSpace& ks = *space_;
  probes::KprobeConfig kc{static_cast<uint32_t>(config_.cpus), config_.kprobe_boost,
                          config_.cpu_hz, config_.kprobe_optimization};
  kc.initialized = false;
  kc.cost_scale = config_.probe_cost;
  kc.optimize_delay_ns = config_.optimize_delay_ns;
  kprobes_ = std::make_unique<probes::KprobeManager>(config_.arch, ks, ks.symbols(), kc);
  PROBESIM_TRY_VOID(kprobes_->set_kretprobe_trampoline(ks.sym("__kretprobe_trampoline")));
  if (const probes::KernelSymbol* cb = ks.kallsyms().find("optimized_callback"))
    kprobes_->set_optimized_callback(cb->addr);
  kprobes_->set_optimizer_hooks(
      [this] { return host_.now_clock().cycles(); },
      [this](GuestAddr a, uint64_t len) { return host_.any_task_pc_in(a, len); });
  return prepare_early_kprobes();
}

Result<std::unique_ptr<Cpu>> GuestKernel::new_engine() {
  auto cpu = PROBESIM_TRY(Cpu::create(config_.arch, host_.cpu_clock(0), host_.engine_sink(),
                                      space_->regions()));
  arch_->load_boot_state(*cpu);
  add_call_sites(*cpu);
  return cpu;
}

// Optimized hits: optimized_callback (guest/kernel/arch/*/kernel/kprobes/opt.c), entered only
// by the detours' call, starts with a nop that is a call site on every engine, so the kprobes
// engine runs from the block hook, with no trap or exit.
void GuestKernel::add_call_sites(Cpu& cpu) {
  static constexpr uint8_t kX86Nop5[] = {0x0f, 0x1f, 0x44, 0x00, 0x00};  // nopl 0x0(%rax,%rax,1)
  static constexpr uint8_t kArm64Nop[] = {0x1f, 0x20, 0x03, 0xd5};       // nop
  const std::span<const uint8_t> nop = config_.arch == Arch::X86_64 ? std::span<const uint8_t>(kX86Nop5)
                                                                     : std::span<const uint8_t>(kArm64Nop);
  const probes::KernelSymbol* cb = space_->kallsyms().find("optimized_callback");
  PROBESIM_ASSERT_MSG(cb, "the kernel image has no optimized_callback");
  const uint8_t* at = space_->host(cb->addr, nop.size());
  PROBESIM_ASSERT_MSG(at && std::equal(nop.begin(), nop.end(), at),
                      "optimized_callback does not start with its call site's nop");
  cpu.add_call_site(cb->addr.value, static_cast<uint32_t>(nop.size()),
                    &GuestKernel::optimized_callback_site, this);
}

// Every engine that maps the kernel areas: the kernel engine, the engines of nested
// kernel_calls and every process's. A kernel text write must reach each of them (docs/stack-facts.md
// gotcha 3: a translated block never sees host writes), whichever ran the code last.
void GuestKernel::for_each_engine(const std::function<void(Cpu&)>& fn) {
  if (engine_) fn(*engine_);
  for (auto& e : nested_engines_)
    if (e) fn(*e);
  host_.for_each_process_engine(fn);
}

GuestAddr GuestKernel::pt_regs_of(const Task& t) const {
  return t.kstack_top - arch_->pt_regs_size();
}

UserRegs GuestKernel::entry_user_regs(Task& t) {
  return UserRegs(*t.proc().cpu(), space_->host(pt_regs_of(t), 8));
}

bool GuestKernel::in_kernel_mode(Cpu& cpu) const {
  return arch_->in_kernel_mode(cpu);
}

bool GuestKernel::owns_stop(Cpu& cpu, const CpuStop& stop) const {
  return space_->contains(GuestAddr{stop.pc}) || in_kernel_mode(cpu);
}

Result<void> GuestKernel::start_user_task(Task& t, Cpu& cpu, uint64_t entry, uint64_t sp) {
  t.kstack_top = PROBESIM_TRY(space_->alloc_stack());
  reset_user_regs(t, cpu, entry, sp);
  return {};
}

// A fresh user pt_regs (entry, sp, user flags) at the top of t's kernel stack, and the CPU in
// kernel mode at ret_from_fork, which returns to it (docs/guest-kernel.md "Starting user tasks").
void GuestKernel::reset_user_regs(Task& t, Cpu& cpu, uint64_t entry, uint64_t sp) {
  KernelSpace& ks = *space_;
  GuestAddr regs = pt_regs_of(t);
  std::memset(ks.host(regs, t.kstack_top.value - regs.value), 0, t.kstack_top.value - regs.value);
  UserRegs u(cpu, ks.host(regs, 8));
  u.set_pc(entry);
  u.set_reg(cpu.info().reg_sp, sp);
  arch_->init_user_regs(regs, cpu);
  cpu.set_reg(cpu.info().reg_sp, regs.value);
  cpu.set_pc(ret_from_fork_.value);
}

bool GuestKernel::child_regs(Task& parent, Task& child, CpuContext& ctx, uint64_t stack) {
  KernelSpace& ks = *space_;
  Cpu& pcpu = *parent.proc().cpu();
  const ArchInfo& info = pcpu.info();
  auto top = ks.alloc_stack();
  if (!top) return false;
  child.kstack_top = top.value();
  size_t size = child.kstack_top.value - pt_regs_of(child).value;
  std::memcpy(ks.host(pt_regs_of(child), size), ks.host(pt_regs_of(parent), size), size);
  UserRegs u(pcpu, ks.host(pt_regs_of(child), size));
  u.set_reg(info.reg_ret, 0);
  if (stack) u.set_reg(info.reg_sp, stack);
  pcpu.set_context_reg(ctx, info.reg_pc, ret_from_fork_.value);
  pcpu.set_context_reg(ctx, info.reg_sp, pt_regs_of(child).value);
  return true;
}

void GuestKernel::release_task(Task& t) {
  if (!t.kstack_top.value) return;
  kprobes_->flush_task(probes::TaskId{static_cast<uint64_t>(t.tid())});
  space_->free_stack(t.kstack_top);
  t.kstack_top = GuestAddr{0};
}

// Per-CPU state of the task about to run on logical CPU `logical_cpu` (docs/guest-kernel.md: write
// it whenever a task is put on a CPU).
void GuestKernel::put_on_cpu(Task& t, Cpu& cpu, int logical_cpu) {
  arch_->put_on_cpu(t.kstack_top, cpu, logical_cpu);
}

}  // namespace probesim::emu
