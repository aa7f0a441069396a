// Machine::Impl, the state behind the public Machine (include/probesim/machine.h), shared by
// the facade's .cc files (emu/machine.cc, emu/api/). Internal: only the library includes it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "emu/capture_sink.h"
#include "emu/lifecycle.h"
#include "emu/machine_state.h"
#include "probesim/machine.h"

namespace probesim {

class FunctionStrace final : public emu::StraceSink {
 public:
  FunctionStrace(std::function<void(const std::string&)> f, size_t string_size)
      : f_(std::move(f)), string_size_(string_size) {}
  void line(const std::string& text) override { f_(text); }
  size_t string_size() const override { return string_size_; }

 private:
  std::function<void(const std::string&)> f_;
  size_t string_size_;
};

// The public LifecycleObserver behind MachineState's (pids instead of model objects).
class LifecycleAdapter final : public emu::LifecycleObserver {
 public:
  probesim::LifecycleObserver* to = nullptr;
  void on_fork(emu::Process& parent, emu::Process& child) override {
    to->on_fork(parent.pid(), child.pid());
  }
  void on_exec(emu::Process& p) override { to->on_exec(p.pid()); }
  void on_exit(emu::Process& p) override { to->on_exit(p.pid()); }
  void on_signal(emu::Task& t, int sig) override { to->on_signal(t.proc().pid(), t.tid(), sig); }
};

struct Machine::Impl {
  Impl(emu::MachineConfig c, uint64_t limit) : state(std::move(c)), capture_limit(limit) {}
  emu::MachineState state;
  uint64_t capture_limit;
  struct Captured {
    std::shared_ptr<emu::CaptureSink> out, err;
  };
  std::map<int, Captured> captured;
  std::unique_ptr<FunctionStrace> strace;
  LifecycleAdapter lifecycle;
  // The sink of fd 1 or 2 of a captured pid, else null.
  const emu::CaptureSink* sink(int pid, int fd) const {
    auto it = captured.find(pid);
    if (it == captured.end() || (fd != 1 && fd != 2)) return nullptr;
    return fd == 1 ? it->second.out.get() : it->second.err.get();
  }
  int first_pid = -1;                 // the recorded / replayed process
  std::vector<std::string> warnings;  // replay: inputs that changed since recording
};

}  // namespace probesim
