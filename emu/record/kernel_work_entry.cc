#include "emu/record/kernel_work_entry.h"

#include <cerrno>

#include "emu/record/recorder.h"

namespace probesim::emu {

Result<void> record_unregister_at(Recorder* r, std::optional<size_t>& entry,
                                  const std::string& kind_target, bool registered_before_run,
                                  uint64_t at) {
  if (!r) return {};
  std::vector<std::string>& work = r->trace().header.kernel_work;
  const std::string m = "-" + std::to_string(at);
  if (entry && *entry < work.size()) {
    work[*entry] += m;
    return {};
  }
  if (!registered_before_run)
    return Error::make(kind_target + ": registered at once after the run started, so a "
                       "recording cannot replay its unregistration at " + std::to_string(at) +
                       " (the replay registers probes before its run): register it before the "
                       "run or as kernel work (at=N)", EINVAL);
  entry = work.size();
  work.push_back(kind_target + "@now" + m);
  return {};
}

}  // namespace probesim::emu
