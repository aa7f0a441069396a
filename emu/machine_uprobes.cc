// MachineState, uprobes side: the UprobeHost (translation invalidation), the mm hooks the
// engine needs (mmap, munmap; exec/fork/exit hooks sit in machine_process.cc and
// machine_state.cc), and user-mode breakpoint traps (x86 int3, arm64 BRK #5 / #6) handed to
// probes::UprobeManager with pt_regs-shaped registers.
#include <cerrno>
#include <cstring>

#include "emu/machine_state.h"
#include "emu/probe_regs.h"
#include "emu/vfs/caller.h"
#include "probes/kprobe_manager.h"
#include "loader/elf_file.h"
#include "probesim/assert.h"

namespace probesim::emu {

namespace {

constexpr uint32_t kX86Int3 = 3, kArm64Bkpt = 7;
constexpr uint32_t kArm64BrkUprobe = 5, kArm64BrkSingleStep = 6;
constexpr int kSegvMaperr = 1, kIllIllopc = 1;

probes::HitContext hit_context(int cpu, const Task& t) {
  return {probes::CpuId{static_cast<uint32_t>(cpu)}, probes::TaskId{static_cast<uint64_t>(t.tid())}};
}

}  // namespace

void MachineState::invalidate(mmu::Mm& mm, GuestAddr addr, uint64_t len) {
  if (auto* cpu = dynamic_cast<Cpu*>(mm.observer())) cpu->invalidate_code(addr, len);
}

Result<mmu::Inode*> MachineState::lookup_inode(const std::string& path) {
  if (path == Vdso::kName && vdso_) return inodes_->iget(vdso_->inode());
  FsStruct fs;
  auto file = PROBESIM_TRY(vfs_->open_exec(Caller{fs, nullptr, {}, 0}, fs.cwd, path));
  mmu::Inode* inode = file->inode();
  if (!inode) return Error::make(path + ": not a regular file", EINVAL);
  inodes_->iget(inode);
  return inode;
}

Result<FileOffset> MachineState::uprobe_offset(mmu::Inode& inode, const probes::UprobeSpec& spec) {
  if (spec.symbol.empty()) return FileOffset{spec.offset};
  std::vector<uint8_t> bytes = PROBESIM_TRY(inode.i_mapping().read_all());
  loader::ElfFile elf = PROBESIM_TRY(loader::ElfFile::parse(spec.path, std::move(bytes)));
  return probes::uprobe_file_offset(elf, spec);
}

void MachineState::uprobe_mmap(mmu::Mm& mm, GuestAddr vma_start) {
  if (const mmu::Vma* v = mm.vma_at(vma_start)) uprobes_->uprobe_mmap(mm, *v);
}

void MachineState::uprobe_munmap(mmu::Mm& mm, GuestAddr start, uint64_t len) {
  GuestAddr end = start + page_align_up(len);
  for (const mmu::Vma* v : mm.vmas())
    if (v->vm_start < end && v->vm_end > start && v->vm_file)
      uprobes_->uprobe_munmap(mm, *v, std::max(start, v->vm_start), std::min(end, v->vm_end));
}

bool MachineState::uprobe_stepping(const Task& t) const {
  return uprobes_->xol_slot(probes::TaskId{static_cast<uint64_t>(t.tid())}).has_value();
}

// A fault or a signal while t steps an XOL copy: the step is abandoned and the task's PC goes
// back to the probe address, where Linux reports it.
void MachineState::uprobe_abort_step(Task& t) {
  Cpu& cpu = *t.proc().cpu();
  probes::Regs regs = read_probe_regs(cpu, RegsMode::User);
  if (uprobes_->on_fault(hit_context(sched_.running_cpu(), t), t.proc().mm(), regs))
    write_probe_regs(cpu, regs);
}

// A user-mode int3 / BRK: ours if the engine says so; otherwise the caller turns it into
// SIGTRAP. Emulation faults and a stray trampoline hit become the signals Linux sends.
bool MachineState::uprobe_trap(Cpu& cpu, uint32_t intno) {
  if (!current_) return false;
  bool x86 = config_.arch == Arch::X86_64;
  if ((x86 && intno != kX86Int3) || (!x86 && intno != kArm64Bkpt)) return false;
  // A breakpoint on an atomic is a scheduling point as the atomic is (Cpu::breakpoint_sync_point):
  // a quantum that ends there ends before the probe is hit. (x86: PC is past the int3.)
  const GuestAddr bp{x86 ? cpu.pc() - 1 : cpu.pc()};
  if (cpu.sync_points() && cpu.breakpoint_sync_point(bp, *this)) return true;
  Task& t = *current_;
  Process& p = t.proc();
  probes::Regs regs = read_probe_regs(cpu, RegsMode::User);
  probes::HitContext ctx = hit_context(sched_.running_cpu(), t);
  probes::UprobeHitResult r;
  if (x86) {
    r = uprobes_->on_breakpoint(ctx, p.mm(), regs);
  } else {
    uint32_t insn = 0;
    if (!p.mm().peek(GuestAddr{cpu.pc()}, &insn, 4)) return false;  // XOL pages are exec-only
    uint32_t imm = (insn >> 5) & 0xffff;
    if (imm == kArm64BrkUprobe)
      r = uprobes_->on_breakpoint(ctx, p.mm(), regs);
    else if (imm == kArm64BrkSingleStep)
      r = uprobes_->on_ss_trap(ctx, p.mm(), regs);
    else
      return false;
  }
  if (r.disposition == probes::UprobeDisposition::NotOurs) return false;
  write_probe_regs(cpu, regs);
  // Out-of-line steps and the uretprobe trampoline are no scheduling steps: the retired count
  // stays what it is without probes (Cpu::set_uncounted).
  if (std::optional<GuestAddr> xol = uprobes_->xol_vaddr(p.mm())) cpu.set_uncounted(*xol, kPageSize);
  sched_.now_clock().advance(r.cost);
  if (config_.probe_cost == 0 && r.mid_block) cpu.resume_past_probe(regs.ip().value);
  if (r.disposition == probes::UprobeDisposition::Handled) return true;
  bool segv = r.disposition == probes::UprobeDisposition::Fault;
  GuestFault f{segv ? kSigSegv : kSigIll, segv ? kSegvMaperr : kIllIllopc,
               segv ? r.fault_addr.value : regs.ip().value, regs.ip().value, true,
               segv ? "fault in an instruction emulated for a uprobe"
                    : "uretprobe trampoline hit with no return pending"};
  ++stats_.faults;
  handle_fault_signal(p, t, f);
  cpu.request_stop();
  return true;
}

// Observer mode's view of the code being costed (Cpu::set_observer).
bool MachineState::original_code(uint64_t addr, std::span<uint8_t> out) {
  if (static_cast<int64_t>(addr) < 0)
    return kprobes() && kprobes()->read_original(GuestAddr{addr}, out);
  Task* t = current_task();
  return t && uprobes_->read_original(t->proc().mm(), GuestAddr{addr}, out);
}

bool MachineState::probe_code(uint64_t addr) {
  return kprobes() && kprobes()->is_probe_code(GuestAddr{addr});
}

}  // namespace probesim::emu
