// PyKernel: probesim.Kernel (Machine.kernel), a view of the booted guest kernel: boot log,
// kallsyms, kernel memory (current bytes, breakpoints included, and the original bytes under
// them), Capstone listings, the kprobe blacklist, oopses, and the kprobe insn slot pages.
// Like every handle it holds its machine and looks everything up on each access; reads are
// allowed inside a probe handler on the emulation thread (PyMachine::handler_state).
// Snapshots (KernelSymbol, InsnSlots, InsnSlot) copy what they show.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "emu/kernel/guest_kernel.h"
#include "probes/kallsyms.h"
#include "probesim/types.h"

namespace probesim::python {

class PyMachine;

struct PyKernel {
  std::shared_ptr<PyMachine> machine;

  emu::GuestKernel& get(const char* what) const;
  // An int address, or "symbol[+offset]" resolved through kallsyms (BadArgument if unknown).
  GuestAddr resolve(pybind11::handle where, const char* what) const;
};

// One kprobe instruction slot (Linux's kprobe_insn_cache slot) and its current bytes.
struct InsnSlotView {
  uint64_t addr = 0;
  std::string state;  // "clean", "dirty" or "used"
  std::string bytes;  // slot_size bytes as they are in guest memory now
};

// The insn slot cache: pages newest first (Linux's list order) and every slot of each page.
struct InsnSlotsView {
  std::vector<uint64_t> pages;
  uint64_t slot_size = 0, slots_per_page = 0, nr_garbage = 0;
  std::vector<InsnSlotView> slots;
};

// "vfs_read+0x4" for an address inside a sized symbol, else nullopt.
std::optional<std::string> symbol_offset(const probes::Kallsyms& syms, GuestAddr addr);

void bind_kernel(pybind11::module_& m);

}  // namespace probesim::python
