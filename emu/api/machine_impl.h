// Machine::Impl, the state behind the public Machine (include/probesim/machine.h), shared by
// the facade's .cc files (emu/machine.cc, emu/api/). Internal: only the library includes it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "emu/capture_sink.h"
#include "emu/machine_state.h"
#include "probesim/machine.h"

namespace probesim {

class FunctionStrace final : public emu::StraceSink {
 public:
  explicit FunctionStrace(std::function<void(const std::string&)> f) : f_(std::move(f)) {}
  void line(const std::string& text) override { f_(text); }

 private:
  std::function<void(const std::string&)> f_;
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
