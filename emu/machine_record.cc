// Record and replay on the machine (DESIGN.md "Determinism contract"): the recorder or the
// replayer sees every guest read of time and the end of every quantum, with a checkpoint (a
// digest of the task's user registers, and every so often of its process's writable memory).
#include <sys/mman.h>
#include <unicorn/unicorn.h>

#include <algorithm>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

#include "emu/machine_state.h"
#include "loader/elf_file.h"
#include "mmu/vm_flags.h"
#include "probesim/assert.h"

namespace probesim::emu {
namespace {

// The user registers a checkpoint covers, in digest order (the general registers; PC and SP
// separately).
constexpr int kX86Regs[] = {UC_X86_REG_RAX, UC_X86_REG_RBX, UC_X86_REG_RCX, UC_X86_REG_RDX,
                            UC_X86_REG_RSI, UC_X86_REG_RDI, UC_X86_REG_RBP, UC_X86_REG_R8,
                            UC_X86_REG_R9,  UC_X86_REG_R10, UC_X86_REG_R11, UC_X86_REG_R12,
                            UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15};
constexpr int kArm64Regs[] = {
    UC_ARM64_REG_X0,  UC_ARM64_REG_X1,  UC_ARM64_REG_X2,  UC_ARM64_REG_X3,  UC_ARM64_REG_X4,
    UC_ARM64_REG_X5,  UC_ARM64_REG_X6,  UC_ARM64_REG_X7,  UC_ARM64_REG_X8,  UC_ARM64_REG_X9,
    UC_ARM64_REG_X10, UC_ARM64_REG_X11, UC_ARM64_REG_X12, UC_ARM64_REG_X13, UC_ARM64_REG_X14,
    UC_ARM64_REG_X15, UC_ARM64_REG_X16, UC_ARM64_REG_X17, UC_ARM64_REG_X18, UC_ARM64_REG_X19,
    UC_ARM64_REG_X20, UC_ARM64_REG_X21, UC_ARM64_REG_X22, UC_ARM64_REG_X23, UC_ARM64_REG_X24,
    UC_ARM64_REG_X25, UC_ARM64_REG_X26, UC_ARM64_REG_X27, UC_ARM64_REG_X28, UC_ARM64_REG_X29,
    UC_ARM64_REG_X30};
static_assert(std::size(kArm64Regs) >= std::size(kX86Regs));

// A fast 64-bit digest (not cryptographic: it detects divergence, nothing adversarial).
struct Digest {
  uint64_t h = 0xcbf29ce484222325ull;
  void add(uint64_t v) {
    h ^= v;
    h *= 0x100000001b3ull;
    h ^= h >> 29;
  }
  void add(std::span<const uint8_t> bytes) {
    size_t i = 0;
    for (; i + 8 <= bytes.size(); i += 8) {
      uint64_t w;
      std::memcpy(&w, bytes.data() + i, 8);
      add(w);
    }
    for (; i < bytes.size(); ++i) add(bytes[i]);
  }
};

bool all_zero(const uint8_t* p, size_t n) {
  uint64_t acc = 0;
  for (size_t i = 0; i < n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    acc |= w;
  }
  return acc == 0;
}

// The non-zero pages of one VMA, by address. Pages the host never made resident (mincore) are
// still zero, so they are skipped without being read: untouched stacks and heaps cost nothing.
void digest_vma(Digest& m, const mmu::Mm& mm, const mmu::Vma& v) {
  const uint64_t pages = (v.vm_end.value - v.vm_start.value) >> kPageShift;
  constexpr uint64_t kBatch = 4096;
  std::vector<unsigned char> resident(kBatch);
  std::vector<uint8_t> copy(kPageSize);
  for (uint64_t first = 0; first < pages; first += kBatch) {
    const uint64_t n = std::min(kBatch, pages - first);
    uint8_t* host = v.anon ? v.anon->data() + v.anon_offset + (first << kPageShift) : nullptr;
    if (!host || ::mincore(host, n << kPageShift, resident.data()) != 0)
      std::fill(resident.begin(), resident.end(), 1);
    for (uint64_t i = 0; i < n; ++i) {
      if (!(resident[i] & 1)) continue;
      const uint64_t addr = v.vm_start.value + ((first + i) << kPageShift);
      const uint8_t* page = host ? host + (i << kPageShift) : copy.data();
      if (!host && !mm.peek(GuestAddr{addr}, copy.data(), kPageSize)) continue;
      if (all_zero(page, kPageSize)) continue;
      m.add(addr);
      m.add(std::span<const uint8_t>(page, kPageSize));
    }
  }
}

// Digest of the process's writable memory (the state a run computes, with registers).
uint64_t memory_digest(const mmu::Mm& mm) {
  Digest m;
  for (const mmu::Vma* v : mm.vmas())
    if (v->vm_flags & mmu::VM_WRITE) digest_vma(m, mm, *v);
  return m.h;
}

}  // namespace

Recorder& MachineState::start_recording(TraceHeader header) {
  PROBESIM_ASSERT_MSG(!tap_, "a machine records or replays once");
  recorder_ = std::make_unique<Recorder>(std::move(header));
  tap_ = recorder_.get();
  sched_.set_observer(recorder_.get());
  Recorder* r = recorder_.get();
  Vfs* vfs = vfs_.get();
  vfs_->set_open_observer([r, vfs](const std::string& guest_path) {
    r->file_read(guest_path, vfs->host().host_path(guest_path));
  });
  return *recorder_;
}

Replayer& MachineState::start_replay(Trace trace) {
  PROBESIM_ASSERT_MSG(!tap_, "a machine records or replays once");
  replayer_ = std::make_unique<Replayer>(std::move(trace));
  tap_ = replayer_.get();
  sched_.set_source(replayer_.get());
  for_each_process_engine([](Cpu& c) { c.set_sync_points(true); });  // any recorded stop
  return *replayer_;
}

const VirtualClock& MachineState::guest_clock() {
  VirtualClock& now = clock();
  if (!tap_) return now;
  seen_clock_ = VirtualClock(now.hz(), now.epoch_sec());
  seen_clock_.advance(Cycles{guest_cycles(now.cycles().value)});
  return seen_clock_;
}

uint64_t MachineState::guest_cycles(uint64_t now) {
  if (!tap_) return now;
  uint64_t v = tap_->time_read(current_, now);
  if (tap_->divergence()) stop_current();
  return v;
}

TraceCheckpoint MachineState::checkpoint(Task& t, bool memory) {
  UserRegs regs = user_regs(t);
  TraceCheckpoint c;
  c.tid = t.tid();
  c.insns = t.user_insns.value;
  c.pc = regs.pc();  // Cpu::pc(): past an x86 syscall instruction while in one
  // The general registers and sp: one batch read when the CPU holds the user registers (a
  // quantum ends in user mode), else from the saved pt_regs.
  const std::span<const int> gprs =
      config_.arch == Arch::X86_64 ? std::span<const int>(kX86Regs) : std::span<const int>(kArm64Regs);
  int ids[std::size(kArm64Regs) + 1];
  std::copy(gprs.begin(), gprs.end(), ids);
  ids[gprs.size()] = regs.cpu().info().reg_sp;
  const size_t n = gprs.size() + 1;
  uint64_t values[std::size(ids)];
  if (regs.in_kernel()) {
    for (size_t i = 0; i < n; ++i) values[i] = regs.reg(ids[i]);
  } else {
    regs.cpu().read_regs(std::span<const int>(ids, n), values);
  }
  Digest d;
  for (size_t i = 0; i < gprs.size(); ++i) d.add(values[i]);
  c.regs = d.h;
  c.sp = values[n - 1];
  if (memory) c.memory = memory_digest(t.proc().mm());
  return c;
}

void MachineState::tap_quantum_end(const Scheduler::Step& step, bool preempted) {
  Task& t = *step.task;
  Process& p = t.proc();
  std::optional<TraceCheckpoint> cp;
  if (t.state != TaskState::Dead && !p.exited() && p.cpu()) {
    cp = checkpoint(t, tap_->memory_digest_due());
    cp->decision = replayer_ ? replayer_->decisions_done() - 1
                             : recorder_->trace().decisions.size() - 1;
  }
  tap_->quantum_end(t, preempted, cp);
}

// The function around a user pc: the file VMA holding it, the PT_LOAD holding that file
// offset, and the .symtab symbol covering the link-time address.
Process* MachineState::process_of_tid(int tid) {
  for (auto& [pid, p] : procs_)
    for (auto& t : p->tasks())
      if (t->tid() == tid) return p.get();
  return nullptr;
}

Result<loader::ElfFile> MachineState::mapped_elf(const mmu::Vma& v) {
  const std::string& path = v.vm_file->name();
  std::ifstream f(vfs_->host().host_path(path), std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return loader::ElfFile::parse(path, std::move(bytes));
}

std::string MachineState::symbolize_user(int tid, uint64_t pc) {
  Process* owner = process_of_tid(tid);
  if (!owner) return {};
  const mmu::Vma* v = owner->mm().vma_at(GuestAddr{pc});
  if (!v || !v->vm_file) return {};
  const std::string& path = v->vm_file->name();
  auto elf = mapped_elf(*v);
  if (!elf) return path;
  uint64_t off = pc - v->vm_start.value + (v->vm_pgoff << kPageShift);
  std::optional<uint64_t> vaddr;
  for (const loader::ElfSegment& s : elf->load_segments())
    if (off >= s.offset && off < s.offset + s.filesz) vaddr = s.vaddr + (off - s.offset);
  auto syms = elf->symbols();
  if (!vaddr || !syms) return path;
  for (const loader::ElfSymbol& s : *syms.value()) {
    constexpr uint8_t kSttFunc = 2;
    if (s.type == kSttFunc && *vaddr >= s.value && *vaddr < s.value + std::max<uint64_t>(s.size, 1)) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "+%#llx", static_cast<unsigned long long>(*vaddr - s.value));
      return s.name + buf + " (" + path + ")";
    }
  }
  return path;
}

}  // namespace probesim::emu
