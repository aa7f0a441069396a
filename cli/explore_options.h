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
    "                        [--runs N] [--from RUN] [--seed N] [--jobs N]\n"
    "                        [--until 'exit!=0' | --until-stdout REGEX | --until-signal |\n"
    "                         --until-deadlock | --until-invariant] [--save TRACE] [--no-shrink]\n"
    "                        [--uprobe PATH:SYM[@N]]... [--bug NAME]...\n"
    "                        [--arch A] [--root DIR] [--cpus N] [--quantum N]\n"
    "                        [--env-clear] [--env K=V]...\n"
    "                        -- PROGRAM [ARGS...]\n";

struct ExploreOptions {
  std::string strategy = "pct:2";
  uint64_t runs = 1000;
  uint64_t first_run = 0;  // --from: resume a search at this run index
  uint64_t seed = 0;
  unsigned jobs = 1;
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
  std::vector<std::string> uprobes;  // counting uprobes, SPEC or SPEC@N (queued kernel work)
  std::vector<std::string> bugs;     // bug toggles (--bug)
  std::vector<std::string> argv;
};

Result<ExploreOptions> parse_explore_options(int argc, const char* const* argv);

}  // namespace probesim::cli
