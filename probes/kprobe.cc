#include "probes/kprobe.h"

#include "probesim/assert.h"

namespace probesim::probes {

Kprobe::~Kprobe() {
  PROBESIM_ASSERT_MSG(owner_ == nullptr,
                      "kprobe '" + name + "' destroyed while registered: unregister it first");
}

}  // namespace probesim::probes
