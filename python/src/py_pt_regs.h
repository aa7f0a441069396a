// The arguments a Python probe handler receives, as views on the emulation thread's state:
//   PyPtRegs             probesim.PtRegs: Linux's struct pt_regs of the trapping CPU
//                        (probes::Regs), read and written by Linux name (regs.ax, regs.di,
//                        regs.x0, regs.pc) and arch-neutral aliases (ip, sp, return_value);
//   PyKretprobeInstance  probesim.KretprobeInstance: ret_addr, task, entry_cycles, and data (a
//                        bytearray of data_size bytes carried from the entry handler to the
//                        return handler).
// Lifetime: both are valid only while the handler they were passed to runs (the C++ objects
// live in the hit's stack frame). HandlerViews expires them when the handler returns; a later
// use raises probesim.Error. Register writes reach the CPU when the handler returns; data is
// copied into a bytearray on first use and written back then (its size must not change).
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <optional>

#include "probes/kretprobe.h"
#include "probes/regs.h"

namespace probesim::python {

class PyPtRegs {
 public:
  explicit PyPtRegs(probes::Regs* regs) : regs_(regs) {}
  // The live registers; raises Error naming `what` once the handler returned.
  probes::Regs& regs(const char* what) const;
  void expire() { regs_ = nullptr; }

 private:
  probes::Regs* regs_;
};

class PyKretprobeInstance {
 public:
  PyKretprobeInstance(probes::KretprobeInstance* ri, std::optional<uint64_t> entry_cycles)
      : ri_(ri), entry_cycles_(entry_cycles) {}
  probes::KretprobeInstance& instance(const char* what) const;
  // Always known: every kretprobe with a handler stamps its instances at entry.
  uint64_t entry_cycles(const char* what) const;
  // The per-instance scratch as a bytearray (created on first use, then the same object).
  pybind11::object data();
  // Writes data back (raises ValueError if its size changed) and expires the view.
  void finish();
  void expire() { ri_ = nullptr; }

 private:
  probes::KretprobeInstance* ri_;
  std::optional<uint64_t> entry_cycles_;  // the hit CPU's cycles when the function was entered
  pybind11::object data_;  // null until data() is first called
};

// The Python arguments of one handler call; expires them (and writes kretprobe data back)
// when finish() is called or, failing that, on destruction. Needs the GIL throughout.
class HandlerViews {
 public:
  HandlerViews(probes::Regs& regs, probes::KretprobeInstance* ri,
               std::optional<uint64_t> entry_cycles = std::nullopt);
  ~HandlerViews();
  HandlerViews(const HandlerViews&) = delete;
  HandlerViews& operator=(const HandlerViews&) = delete;

  pybind11::object& regs() { return regs_obj_; }
  pybind11::object& instance() { return ri_obj_; }  // None for kprobe handlers
  void finish();                                    // may raise (kretprobe data resized)

 private:
  pybind11::object regs_obj_, ri_obj_;
  PyPtRegs* regs_ = nullptr;
  PyKretprobeInstance* ri_ = nullptr;
};

void bind_pt_regs(pybind11::module_& m);

}  // namespace probesim::python
