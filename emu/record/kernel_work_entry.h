// A trace header's kernel work (TraceHeader::kernel_work, spelled as the CLI's --uprobe and
// --kprobe take it) for a probe's unregistration queued at M (issue 16), so that `probesim
// replay` queues the same work again and follows the recorded kworker turns:
// - registration queued at N: its entry "KIND TARGET@N" becomes "KIND TARGET@N-M";
// - registered at once before the run started: a new entry "KIND TARGET@now-M" (the replay
//   registers it at once before its run, then queues the unregistration at M);
// - registered at once after the run started: a replay cannot register it at that point, so
//   the unregistration is refused (EINVAL) rather than recorded into a trace that diverges.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "probesim/result.h"

namespace probesim::emu {

class Recorder;

// `entry`: the probe's entry, if any (set when a new one is added). `kind_target`: "uprobe
// /bin/x:main", "kprobe vfs_read+4". No recorder: nothing to do. Call before queueing the
// unregistration: on an error nothing was changed.
Result<void> record_unregister_at(Recorder* r, std::optional<size_t>& entry,
                                  const std::string& kind_target, bool registered_before_run,
                                  uint64_t at);

}  // namespace probesim::emu
