// PyMachine: probesim.Machine, the Python face of probesim::Machine.
//
// Threading contract: every method runs with the GIL held. run() releases the GIL while the
// machine emulates and sets running_ meanwhile; any query made then (from a callback on the
// emulation thread or from another Python thread) raises probesim.Error instead of touching
// state the emulation thread owns. Python callbacks (today: strace) are called only through
// call_python(), the single trampoline: it takes the GIL, and a Python exception becomes the
// pending exception that run() raises after the current quantum (the machine stays
// consistent: the exception never unwinds through emulation). Ctrl-C is polled between
// quanta (should_stop) and surfaces the same way, as KeyboardInterrupt.
//
// Ownership: held by shared_ptr; every Process/Mm/Registers/Inode handle keeps its machine
// alive. The machine owns the C++ Machine and the Python callables it was given.
#pragma once

#include <pybind11/pybind11.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "disassembler.h"
#include "emu/machine_state.h"
#include "probesim/machine.h"
#include "py_inode.h"
#include "py_process.h"

namespace probesim::python {

class PyMachine : public std::enable_shared_from_this<PyMachine> {
 public:
  static std::shared_ptr<PyMachine> create(const std::string& arch, const pybind11::int_& seed,
                                           const std::filesystem::path& root,
                                           const pybind11::int_& quantum, int cpus,
                                           const std::string& sched);
  PyMachine(std::unique_ptr<Machine> machine, Options options);
  PyMachine(const PyMachine&) = delete;
  PyMachine& operator=(const PyMachine&) = delete;

  // The machine's state for a query named `what`; raises Error while run() is executing.
  emu::MachineState& state(const char* what);
  Machine& machine(const char* what);
  const Options& options() const { return options_; }
  std::string arch_name() const { return std::string(probesim::arch_name(options_.arch)); }
  std::string sched_name() const;

  PyProcess spawn(const pybind11::object& argv, const pybind11::object& env,
                  const pybind11::bytes& stdin_data, const std::filesystem::path& cwd);
  bool run(const std::optional<pybind11::int_>& until);
  bool running() const { return running_; }
  std::vector<PyProcess> processes();
  PyProcess process(int pid);
  void set_strace(pybind11::object fn);
  Stats stats(const char* what) { return machine(what).stats(); }
  pybind11::dict stats_dict();
  std::vector<PyInode> inodes();
  std::optional<PyInode> find_inode(const std::string& name);
  std::vector<SchedEvent> schedule_log() { return machine("schedule_log").schedule_log(); }
  std::vector<int> blocked_tids() { return machine("blocked_tids").blocked_tids(); }
  std::vector<Insn> disassemble(int pid, const pybind11::int_& addr, size_t count);
  std::string repr() const;

 private:
  friend class RunningScope;
  bool all_exited();
  bool should_stop();  // emulation thread, between quanta
  template <class F>
  void call_python(const char* what, F&& f) noexcept;
  void raise_pending();

  std::unique_ptr<Machine> machine_;
  Options options_;
  Disassembler disasm_;
  bool running_ = false;
  // The first Python exception raised during run() (callback or Ctrl-C). Written only on the
  // emulation thread while running_, read by run() after emulation returned.
  std::optional<pybind11::error_already_set> pending_;
  pybind11::object strace_;
};

void bind_machine(pybind11::module_& m);

}  // namespace probesim::python
