// Guest kernel: kprobe traps (x86 int3, arm64 BRK #4 / #6 in kernel memory)
// handed to the kprobes engine with pt_regs-shaped registers (probe_regs.h), and kernel-mode
// faults (oops).
#include <bit>
#include <cstdio>
#include <cstring>
#include <span>
#include <vector>

#include "emu/kernel/guest_kernel.h"
#include "emu/cpu.h"
#include "emu/process.h"
#include "emu/signals.h"
#include "emu/virtual_clock.h"
#include "emu/probe_regs.h"
#include "probesim/assert.h"
#include "probesim/hex.h"

namespace probesim::emu {

probes::HitContext GuestKernel::hit_context() const {
  Task* t = host_.current();
  return probes::HitContext{probes::CpuId{static_cast<uint32_t>(hit_cpu())},
                            probes::TaskId{t ? static_cast<uint64_t>(t->tid()) : 0}};
}

// One trap in kernel memory: fill Regs from the CPU (one batch read), let the engine decide,
// write back what it changed (PC always: it resumes at regs.ip) and charge the modelled cost.
bool GuestKernel::kprobe_trap(Cpu& cpu) {
  GuestAddr insn_addr = arch_->trap_insn_addr(cpu.pc());
  KprobeTrap kind = arch_->kprobe_trap(insn_addr);
  if (kind == KprobeTrap::NotOurs) return false;  // user-mode int3/BRK: uprobes or SIGTRAP
  probes::Regs regs = read_probe_regs(cpu, RegsMode::Kernel);
  probes::HitContext ctx = hit_context();
  probes::HitResult r = kind == KprobeTrap::SingleStep ? kprobes_->on_ss_trap(ctx, regs)
                                                       : kprobes_->on_breakpoint(ctx, regs);
  if (r.disposition == probes::HitDisposition::NotOurs) return false;
  if (r.disposition != probes::HitDisposition::Handled) {
    // An emulated instruction faulted, or the engine found an unrecoverable state: an oops of
    // the running task (or of kernel_call), reported like a kernel fault at the probe.
    cpu.set_preemptible(true);
    oopses_.push_back(std::string(r.disposition == probes::HitDisposition::Bug
                                       ? "kernel BUG: unrecoverable kprobe"
                                       : "kernel fault emulating a probed instruction") +
                       " at " + space_->kallsyms().format(insn_addr));
    cpu.request_stop();
    if (Task* current = host_.current()) host_.kill_by_signal(current->proc(), kSigSegv, std::nullopt);
    return true;
  }
  write_probe_regs(cpu, regs);
  host_.cpu_clock(hit_cpu()).advance(r.cost);
  host_.cpu_clock(hit_cpu()).advance(observed_detour_cycles(cpu, insn_addr, r));
  cpu.set_preemptible(r.kind != probes::HitKind::Stepped);
  return true;
}

Cycles GuestKernel::observed_detour_cycles(Cpu& cpu, GuestAddr addr,
                                           const probes::HitResult& r) const {
  if (config_.probe_cost != 0 || r.kind != probes::HitKind::Detour) return Cycles{0};
  const std::optional<probes::KprobeInfo> info = kprobes_->info(addr);
  if (!info || info->opt_size == 0) return Cycles{0};
  std::vector<uint8_t> orig(info->opt_size + 15u);  // room for the last one's tail
  if (!kprobes_->read_original(addr, orig)) return Cycles{0};
  const CycleModel& m = cpu.cycle_model();
  return Cycles{m.original_cycles(addr.value, orig, info->opt_size) -
                m.original_cycles(addr.value, orig, 1)};
}

// optimized_callback(op, regs) from a detour, at the call site on its first instruction: the
// detour saved a struct pt_regs at regs. Handlers see it (ip = probe + 1); what they change in
// the GPRs and flags is written back, since the template restores those from the stack (ip,
// sp, cs, orig_ax are not restored). The hot path of an optimized hit: one copy in, the
// changed registers out.
void GuestKernel::optimized_callback(uint64_t op, GuestAddr regs_at) {
  const size_t n = probes::Regs::count(config_.arch);
  uint8_t* p = space_->host(regs_at, n * 8);
  if (!p) {
    oopses_.push_back("kernel oops: optimized_callback with pt_regs outside kernel memory");
    return;
  }
  probes::Regs regs(config_.arch);
  regs.load(p, n);
  probes::HitContext ctx = hit_context();
  log_early_hit(op);
  probes::HitResult r = kprobes_->optimized_callback(ctx, op, regs);
  for (uint64_t d = regs.dirty(); d != 0; d &= d - 1) {
    const unsigned i = static_cast<unsigned>(std::countr_zero(d));
    if (i >= n || !kprobes_->arch().optimized_restores(i)) continue;
    const uint64_t v = regs.get(i);
    std::memcpy(p + i * 8, &v, 8);
  }
  host_.cpu_clock(hit_cpu()).advance(r.cost);
}

void GuestKernel::optimized_callback_site(Cpu& cpu, void* self) {
  uint64_t a[2];
  cpu.read_regs(std::span<const int>(cpu.info().reg_args.data(), 2), a);
  static_cast<GuestKernel*>(self)->optimized_callback(a[0], GuestAddr{a[1]});
}

// A fault, trap or invalid instruction in kernel mode: Linux oopses and kills the task. The
// oops text is kept (GuestKernel::oopses) and the process dies of SIGSEGV with it.
void GuestKernel::oops(Process& p, Task& t, const CpuStop& stop) {
  Cpu& cpu = *p.cpu();
  cpu.set_preemptible(true);
  probes::Regs regs = read_probe_regs(cpu, RegsMode::Kernel);
  kprobes_->on_fault(probes::HitContext{probes::CpuId{static_cast<uint32_t>(hit_cpu())},
                                        probes::TaskId{static_cast<uint64_t>(t.tid())}},
                     regs);  // ends a single-step that faulted in its slot
  std::string what = stop.kind == StopKind::Fault    ? "unable to handle page fault for address " +
                                                           hex(stop.addr)
                     : stop.kind == StopKind::Interrupt ? "unexpected trap " + std::to_string(stop.intno)
                                                        : "invalid opcode";
  std::string text = "kernel oops: " + what + " at " + space_->kallsyms().format(GuestAddr{stop.pc}) +
                     " (pid " + std::to_string(p.pid()) + ", tid " + std::to_string(t.tid()) + ")";
  oopses_.push_back(text);
  GuestFault f{kSigSegv, kSiKernel, stop.addr, stop.pc, stop.pc_precise, text};
  host_.kill_by_signal(p, kSigSegv, f);
}

}  // namespace probesim::emu
