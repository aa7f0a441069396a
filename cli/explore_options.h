// Parsing of `probesim explore ...` (pure; unit-tested in tests/unit/cli).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "probesim/result.h"
#include "probesim/types.h"

namespace probesim::cli {

inline constexpr const char* kExploreUsage =
    "usage: probesim explore [--strategy random|pct:D[:STEPS[:POINTS]]|bounded:K[:STEPS[:TASKS[:POINTS]]]]\n"
    "                        [--runs N] [--from RUN] [--seed N] [--jobs N | --dask ADDRESS]\n"
    "                        [--until 'exit!=0' | --until-stdout REGEX | --until-signal |\n"
    "                         --until-deadlock | --until-invariant] [--save TRACE] [--no-shrink]\n"
    "                        [--uprobe PATH:SYM[@N[-M]]]... [--kprobe SYM[+OFF][@N[-M]]]...\n"
    "                        [--bug NAME]... [--optimize-delay DURATION]\n"
    "                        [--arch A] [--root DIR] [--cpus N] [--quantum N]\n"
    "                        [--env-clear] [--env K=V]...\n"
    "                        -- PROGRAM [ARGS...]\n";

struct ExploreOptions {
  std::string strategy = "pct:2";
  uint64_t runs = 1000;
  uint64_t first_run = 0;  // --from: resume a search at this run index
  uint64_t seed = 0;
  unsigned jobs = 1;
  // --dask: the Dask scheduler's address; the search runs on that cluster's workers through
  // the Python package's driver (python -m probesim.explore_dask, cli/explore_dask.cc).
  std::string dask;
  // Invariant: a kernel invariant broke (Machine::invariant_violations, issue 16).
  enum class Until { ExitNonZero, Stdout, Signal, Deadlock, Invariant } until = Until::ExitNonZero;
  std::string stdout_regex;
  std::string save;  // default ./probesim-failure-<seed>-<run>.trace
  bool shrink = true;
  std::optional<Arch> arch;
  std::string root = "/";
  uint64_t cpus = 2;
  uint64_t quantum = 1'000'000;
  bool env_clear = false;  // the guest starts with only the --env entries
  std::vector<std::string> env;
  std::vector<std::string> uprobes;  // counting uprobes, SPEC, SPEC@N or SPEC@N-M (kernel work)
  std::vector<std::string> kprobes;  // counting kprobes, SPEC, SPEC@N or SPEC@N-M (as run's)
  std::vector<std::string> bugs;     // bug toggles (--bug)
  uint64_t optimize_delay_ns = 20'000'000;  // --optimize-delay: OPTIMIZE_DELAY (as run's)
  std::vector<std::string> argv;
};

Result<ExploreOptions> parse_explore_options(int argc, const char* const* argv);

// The flags and program of one batch of `o`'s search run elsewhere (a Dask worker): the full
// `strategy` (calibrated), seed, condition, probes, bugs, `arch`, machine, the guest environment
// `env` spelled out (--env-clear --env K=V...), so that the batch does not depend on the
// worker's own environment. Without --runs/--from/--save/--jobs/--dask/--no-shrink.
std::vector<std::string> batch_arguments(const ExploreOptions& o, Arch arch, const std::string& strategy,
                                         const std::vector<std::string>& env);

}  // namespace probesim::cli
