// The Python face of kprobes and kretprobes:
//   PyKprobes / PyKretprobes   Machine.kprobes / Machine.kretprobes: register, list, arm,
//                              disarm, info, costs (views holding their machine, like Process)
//   PyKprobeHandle / PyKretprobeHandle   what register() returns: counters (hits, nmissed),
//                              enable / disable / unregister
//   KprobeInfoView             Kprobes.info(addr): one probe table entry, a snapshot
// Handles hold their ProbeRecord (so counters stay readable after unregistering) and only a
// weak_ptr to the machine: a handle never keeps a machine alive, and once the machine is
// closed or collected its probes are unregistered and enable()/disable() raise Error.
#pragma once

#include <pybind11/pybind11.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "probe_record.h"

namespace probesim::python {

class PyMachine;

struct ProbeHandle {
  std::weak_ptr<PyMachine> machine;
  std::shared_ptr<ProbeRecord> rec;

  // The machine, or Error naming `what` when it is gone.
  std::shared_ptr<PyMachine> lock(const char* what) const;
};
struct PyKprobeHandle : ProbeHandle {};
struct PyKretprobeHandle : ProbeHandle {};

struct PyKprobes {
  std::shared_ptr<PyMachine> machine;
};
struct PyKretprobes {
  std::shared_ptr<PyMachine> machine;
};

struct KprobeInfoView {
  uint64_t addr = 0;
  std::optional<std::string> symbol;  // "vfs_read+0x0"
  bool aggregated = false, armed = false, boosted = false;
  std::vector<std::string> flags;  // "GONE", "DISABLED", "OPTIMIZED", "FTRACE"
  std::string step;                // "slot" (out-of-line copy) or "emulate"
  std::optional<uint64_t> slot;
  std::string opcode;     // original bytes under the breakpoint
  pybind11::list probes;  // handles, in the order their handlers run
  // optprobes
  bool optimized = false, jumped = false;
  unsigned poked = 0;
  bool unpoking = false;
  bool unoptimizing = false;
  std::optional<std::string> opt_refusal, opt_refusal_text;
  std::optional<uint64_t> detour;
  std::string detour_bytes;
  unsigned opt_size = 0;
};

// The Python handle of a record (KprobeHandle or KretprobeHandle by its kind).
pybind11::object handle_of(const std::shared_ptr<PyMachine>& m,
                           const std::shared_ptr<ProbeRecord>& rec);

void bind_probe_handles(pybind11::module_& m);  // probe_handles.cc
void bind_kprobes(pybind11::module_& m);        // handles, managers, KprobeInfo

}  // namespace probesim::python
