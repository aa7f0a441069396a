// The CLI's counting probes (--kprobe, --kretprobe, --uprobe, --uretprobe): registered before the run with C++
// handlers that only count, reported after it. They exist for quick looks and for bench/
// (the cost of an armed probe elsewhere, and of every hit). They are probesim/probes.h handles.
#pragma once

#include <cstdio>
#include <memory>
#include <vector>

#include "cli/run_options.h"
#include "probesim/machine.h"
#include "probesim/result.h"

namespace probesim::cli {

class CliProbes {
 public:
  // Registers every probe of `o`; the first failure is an error naming the probe.
  static Result<std::unique_ptr<CliProbes>> attach(Machine& m, const RunOptions& o);
  // For explore: uprobes ("SPEC", "SPEC@N" queued for the kworker at N scheduling steps,
  // "SPEC@N-M" unregistered by it at M) and kprobes (--kprobe's SPEC[@N[-M]]).
  static Result<std::unique_ptr<CliProbes>> attach_queued(Machine& m,
                                                          const std::vector<std::string>& uprobes,
                                                          const std::vector<std::string>& kprobes);
  // A replay: a trace header's kernel work entry ("uprobe SPEC@N[-M]", "uretprobe ..", "kprobe
  // SPEC@N[-M]"; N may be now), registered as the recorded run did. Entries added in the
  // header's order queue the kworker's work in the recorded order.
  Result<void> add_kernel_work(const std::string& entry);
  ~CliProbes();
  // One line per probe: "kprobe SPEC: hits N nmissed M".
  void report(FILE* out) const;

 private:
  struct Probes;
  explicit CliProbes(Machine& m);
  Result<void> add_uprobe(const std::string& spec, bool ret);
  Result<void> add_kprobe(const ProbeSpec& s);
  Machine& m_;
  std::unique_ptr<Probes> p_;
};

}  // namespace probesim::cli
