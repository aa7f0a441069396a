// MachineState, the memory side of races (issue 15): an analysis run watches every user load
// and store (Cpu::set_access_watch), RaceWatch finds the conflicting accesses around each
// preemption, and memory_race says them for people, data addresses named by the program's
// symbol table.
#include <set>

#include "emu/machine_state.h"
#include "loader/elf_file.h"
#include "probesim/hex.h"

namespace probesim::emu {

namespace {

// The link-time address of file offset `off`: its PT_LOAD (or the one a page-aligned mapping
// of it starts in).
std::optional<uint64_t> link_address(const loader::ElfFile& elf, uint64_t off) {
  for (const loader::ElfSegment& s : elf.load_segments())
    if (off + kPageSize > s.offset && off < s.offset + s.filesz) return s.vaddr + off - s.offset;
  return std::nullopt;
}

}  // namespace

void MachineState::watch_memory() {
  if (race_watch_) return;
  race_watch_ = std::make_unique<RaceWatch>();
  for_each_process_engine([this](Cpu& c) { c.set_access_watch(this); });
}

void MachineState::on_access(uint64_t addr, uint32_t size, bool write, uint64_t pc) {
  if (current_ && race_watch_)
    race_watch_->access(current_->tid(), reinterpret_cast<uintptr_t>(&current_->proc().mm()), addr,
                        size, write, pc);
}

// For each file the task's process maps, the load bias from the file's lowest mapping; the
// symbol-table object covering the address in that file's memory image (.data, and .bss, which
// no file page holds).
std::string MachineState::symbolize_data(int tid, uint64_t addr) {
  Process* owner = process_of_tid(tid);
  if (!owner) return {};
  std::set<const mmu::Inode*> seen;
  for (const mmu::Vma* v : owner->mm().vmas()) {
    if (!v->vm_file || !seen.insert(v->vm_file).second) continue;
    auto elf = mapped_elf(*v);
    if (!elf) continue;
    std::optional<uint64_t> first = link_address(elf.value(), v->vm_pgoff << kPageShift);
    auto syms = elf->symbols();
    if (!first || !syms) continue;
    const uint64_t link = addr - (v->vm_start.value - *first);
    bool inside = false;
    for (const loader::ElfSegment& s : elf->load_segments())
      inside = inside || (link >= s.vaddr && link - s.vaddr < s.memsz);
    if (!inside) continue;
    for (const loader::ElfSymbol& s : *syms.value()) {
      constexpr uint8_t kSttObject = 1;
      const bool covers = link >= s.value && link - s.value < std::max<uint64_t>(s.size, 1);
      if (s.type != kSttObject || !covers) continue;
      return link == s.value ? s.name : s.name + "+" + hex(link - s.value);
    }
  }
  return {};
}

std::string MachineState::memory_race(int tid, uint64_t insns) {
  const RaceWatch::Conflict* c = race_watch_ ? race_watch_->conflict(tid, insns) : nullptr;
  if (!c) return {};
  // arm64's memory hooks see the block, not the instruction (Cpu's AccessWatch).
  const char* at = config_.arch == Arch::X86_64 ? " at " : " in the block at ";
  auto where = [&](const RaceWatch::Access& a) {
    std::string sym = symbolize_user(a.tid, a.pc);
    return "task " + std::to_string(a.tid) + at + hex(a.pc) + (sym.empty() ? "" : " <" + sym + ">");
  };
  std::string name = symbolize_data(tid, c->addr);
  std::string loc = (name.empty() ? "" : name + " ") + "(" + hex(c->addr) + ", " +
                    std::to_string(c->size) + " bytes)";
  return where(c->read) + " read " + loc + " before it was preempted; " + where(c->other) +
         " wrote it meanwhile; " + where(c->write) + " then overwrote it";
}

}  // namespace probesim::emu
