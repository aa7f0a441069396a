// The fast-mode cycle model (docs/design.md "Cycle model"): every executed basic block is charged
// the sum of its instructions' modelled latencies. Costs come from per-arch data tables
// (cycle_tables.cc, with sources) by instruction class. A block is decoded with Capstone once,
// on first execution, and the result is cached until the code in its range changes
// (invalidate()). Capstone costs ~1 us per instruction, so nothing here runs per instruction.
#pragma once

#include <capstone/capstone.h>

#include <cstdint>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "probesim/types.h"

namespace probesim::emu {

enum class InsnClass : uint8_t {
  Alu, Mul, Div, Load, Store, Branch, CallRet, FpSimd, FpDiv, StringOp, Syscall, Atomic, Nop,
  kCount
};

struct ClassCost {
  InsnClass cls;
  uint16_t cycles;
  std::string_view name;
};

// Per-arch table, indexed by InsnClass (cycle_tables.cc states the sources).
std::span<const ClassCost> class_costs(Arch arch);

// Instructions the Cpu handles in a code hook before Unicorn runs them.
enum class EmulatedKind : uint8_t {
  None,
  Rdtsc,       // rdtsc/rdtscp: emulated (Unicorn would read the host TSC); PC moves past
  FpuFold,     // reads or loads FSW/MXCSR flags: X86Fpu folds the pending flags first
  FpuHostX87,  // an x87 transcendental/remainder: X86Fpu runs it on the host x87
  FpuDivide,   // an x87 division: X86Fpu discounts the divide-by-zero flag QEMU sets for 0/0
  UserTrap,    // user code Linux cannot run there (insn_policy.h): the trap `intno`, unexecuted
  UserNop,     // arm64 wfi/wfe at EL0: PC moves past (Unicorn at EL1 would halt)
};

struct EmulatedSite {
  uint64_t addr;
  EmulatedKind kind;
  uint32_t intno = 0;  // UserTrap: Unicorn's intno of the trap (x86 vector / arm64 EXCP_*)
  bool operator==(const EmulatedSite&) const = default;
};

// Scheduling points inside a block (emu/sched/README.md): the instructions before which a
// strategy may end a quantum besides the block's start.
enum class SyncKind : uint8_t {
  None,
  Atomic,   // x86 lock-prefixed, xchg with memory, cmpxchg*; arm64 ld/st exclusive, LSE atomics
  Syscall,  // x86 syscall, arm64 svc (futex operations are syscalls)
};
// Classified from the decoded instruction (insn_classify.cc's tables), once per block.
SyncKind sync_kind(Arch arch, const cs_insn& insn);

struct SyncSite {
  uint64_t addr;
  uint32_t index;  // instructions of the block before it
  SyncKind kind;
  bool operator==(const SyncSite&) const = default;
};

struct BlockCost {
  uint32_t insns = 0;
  uint32_t cycles = 0;
  // Instructions the machine emulates or completes around Unicorn. Rare; usually empty.
  std::vector<EmulatedSite> emulated;
  // Scheduling points in user code (atomics, syscalls), in address order. Usually empty.
  std::vector<SyncSite> sync;
};

class CycleModel {
 public:
  explicit CycleModel(Arch arch);
  ~CycleModel();
  CycleModel(const CycleModel&) = delete;
  CycleModel& operator=(const CycleModel&) = delete;

  // The cost of the block of `code` (guest bytes) starting at `addr`. Cached by address.
  // `original` (observer mode), when given: the bytes the program sees from addr (breakpoints
  // replaced by their instructions, possibly longer than code); the cycles are then those of
  // the original instructions that start inside the block. `charged` false (observer mode's
  // probe-owned kernel code): the block costs no cycles (its instructions still count).
  const BlockCost& block(uint64_t addr, std::span<const uint8_t> code,
                         std::span<const uint8_t> original = {}, bool charged = true);
  // Fast path: the cached cost or null. Direct-mapped front cache over the hash map.
  const BlockCost* lookup(uint64_t addr, uint32_t size) const;
  // Forget every block overlapping [start, start+len) (code changed or was unmapped).
  void invalidate(uint64_t start, uint64_t len);

  // The cycles of the instructions of `original` (decoded from addr) that start inside
  // [addr, addr + size).
  uint64_t original_cycles(uint64_t addr, std::span<const uint8_t> original, uint32_t size) const;
  InsnClass classify(const cs_insn& insn) const;
  csh capstone() const { return cs_; }
  size_t cached_blocks() const { return blocks_.size(); }

 private:
  struct Key {
    uint64_t addr;
    uint32_t size;
  };
  BlockCost decode(uint64_t addr, std::span<const uint8_t> code) const;

  Arch arch_;
  uint64_t task_size_;  // user code lies below it (ArchInfo::task_size)
  csh cs_ = 0;
  std::span<const ClassCost> costs_;
  std::unordered_map<uint64_t, std::pair<uint32_t, BlockCost>> blocks_;  // addr -> (size, cost)
  static constexpr size_t kFrontSize = 4096;
  struct FrontEntry {
    uint64_t addr = ~0ull;
    uint32_t size = 0;
    const BlockCost* cost = nullptr;
  };
  mutable std::vector<FrontEntry> front_;
};

}  // namespace probesim::emu
