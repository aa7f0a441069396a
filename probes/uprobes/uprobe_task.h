// Per-mm and per-task uprobes state (Linux's xol_area / mm->uprobes_state + MMF_* flags, and
// struct uprobe_task / return_instance). Owned by the UprobeManager.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "probesim/types.h"

namespace probesim::mmu {
class Mm;
}

namespace probesim::probes {

struct Uprobe;

// The "[uprobes]" page of one mm. Slot 0 holds the uretprobe trampoline.
struct XolArea {
  GuestAddr vaddr;
  std::vector<bool> bitmap;  // slot in use
  uint64_t slot_bytes = 0;
};

struct MmUprobeState {
  bool has_uprobes = false;  // MMF_HAS_UPROBES: some breakpoint may be installed
  bool recalc = false;       // MMF_RECALC_UPROBES: has_uprobes may be stale
  std::optional<XolArea> xol;
  // delayed_uprobe_list's entries of this mm: uprobes armed here whose reference counter was
  // not mapped yet; uprobe_mmap of a mapping that holds it applies the +1 (registration order).
  std::vector<Uprobe*> delayed_ref_ctr;
};

struct ReturnConsumer {
  uint64_t id;      // UprobeConsumer::id
  uint64_t cookie;  // from its handler, passed to its ret_handler
};

// A hijacked return (struct return_instance). Holds a reference on `uprobe`.
struct ReturnInstance {
  Uprobe* uprobe = nullptr;
  GuestAddr func;            // the probe address
  uint64_t stack = 0;        // sp at the probe
  GuestAddr orig_ret_vaddr;  // the real return address
  bool chained = false;      // same frame as the next-older instance (its address was hijacked)
  std::vector<ReturnConsumer> consumers;
};

struct ReturnInstanceInfo {
  GuestAddr func, orig_ret_vaddr;
  uint64_t stack;
  bool chained;
};

enum class UtaskState : uint8_t { Running, Sstep };  // UTASK_RUNNING / UTASK_SSTEP

struct UprobeTask {
  UtaskState state = UtaskState::Running;
  mmu::Mm* mm = nullptr;            // the task's mm at its last hit
  Uprobe* active_uprobe = nullptr;  // holds a reference while stepping
  GuestAddr vaddr, xol_vaddr;       // the probe, and the slot being stepped
  uint64_t saved = 0;               // arch state saved by pre_xol (x86 scratch register)
  std::vector<ReturnInstance> return_instances;  // back() = head (newest)
};

// Counts a user handler call in the manager's in_handler_ depth, also when the handler throws
// (the machine then stops cleanly; mutators assert the depth is 0).
class HandlerScope {
 public:
  explicit HandlerScope(int& depth) : depth_(depth) { ++depth_; }
  ~HandlerScope() { --depth_; }
  HandlerScope(const HandlerScope&) = delete;
  HandlerScope& operator=(const HandlerScope&) = delete;

 private:
  int& depth_;
};

}  // namespace probesim::probes
