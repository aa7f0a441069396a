// The Python face of uprobes and uretprobes:
//   PyUprobes, PyUretprobes   Machine.uprobes / Machine.uretprobes: register,
//                      probes, and on Machine.uprobes the engine's costs, stats and per-task
//                      return instances (views holding their machine, like Process)
//   PyUprobeHandle     what register() returns: counters (hits, ret_hits), the target, the
//                      filter (settable, then apply()), map_info(), unregister()
//   UprobeInfoView     Inode.uprobes: one struct uprobe (per (inode, offset)), a snapshot
//   ReturnInstanceView Uprobes.return_instances(tid): one hijacked return, a snapshot
// Handles hold their UprobeRecord (counters stay readable after unregistering) and only a
// weak_ptr to the machine: a handle never keeps a machine alive; once the machine is closed or
// collected its uprobes are unregistered and apply() raises.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "py_inode.h"
#include "uprobe_record.h"

namespace probesim::python {

class PyMachine;

struct PyUprobeHandle {
  std::weak_ptr<PyMachine> machine;
  std::shared_ptr<UprobeRecord> rec;

  // The machine, or Error naming `what` when it is gone.
  std::shared_ptr<PyMachine> lock(const char* what) const;
};

struct PyUprobes {
  std::shared_ptr<PyMachine> machine;
  static constexpr UprobeKind kind = UprobeKind::Uprobe;
};
struct PyUretprobes {
  std::shared_ptr<PyMachine> machine;
  static constexpr UprobeKind kind = UprobeKind::Uretprobe;
};

struct UprobeInfoView {
  uint64_t ino = 0, offset = 0;
  uint64_t hits = 0;  // breakpoint hits of this uprobe (every consumer)
  int ref = 0;
  std::string step;                // "xol" (stepped out of line) or "emulate"
  std::string insn;                // the original instruction bytes
  std::optional<std::string> xol;  // what an XOL slot holds for a step; None when emulated
  pybind11::list consumers;        // UprobeHandle (or None: not registered from Python)
};

struct ReturnInstanceView {
  uint64_t func = 0, orig_ret_vaddr = 0, stack = 0;
  bool chained = false;
};

// Inode.uprobes: the uprobes on this file, by offset.
std::vector<UprobeInfoView> inode_uprobes(const PyInode& inode);

void bind_uprobe_views(pybind11::module_& m);  // UprobeHandle, UprobeInfo, ReturnInstance
void bind_uprobes(pybind11::module_& m);       // Uprobes, Uretprobes

}  // namespace probesim::python
