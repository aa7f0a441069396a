// `probesim explore --dask ADDRESS`: the search runs on a Dask distributed cluster through the
// Python package's driver (python/probesim/explore_dask.py), which the CLI runs as
// `$PROBESIM_PYTHON -m probesim.explore_dask` (default python3). The workers run batches of
// consecutive runs with this very CLI (`explore --from S --runs N --no-shrink`, in this cwd,
// with the guest environment spelled out); the driver keeps the lowest failing run, as a
// serial search finds it, and writes its trace.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "cli/explore_options.h"
#include "probesim/result.h"

namespace probesim::cli {

// Runs o.first_run .. o.first_run + o.runs - 1 of the calibrated `strategy` on the cluster at
// o.dask. Returns the first failing run (its trace written to `part`), or nullopt when none
// failed; an error when the driver cannot run (no Python with probesim and dask.distributed,
// the scheduler unreachable) or a batch failed.
Result<std::optional<uint64_t>> dask_search(const ExploreOptions& o, Arch arch, const std::string& strategy,
                                            const std::string& part);

}  // namespace probesim::cli
