// KprobeHitScope: the scope of one kprobe hit inside KprobeManager (kprobe_hit.cc,
// kprobe_optimizer.cc). Internal to probes/.
#pragma once

#include <exception>

#include "probes/kprobe_manager.h"

namespace probesim::probes {

// Scope of one hit: publishes the context (the kretprobe entry handler needs the task) and, if
// a handler throws, puts the CPU state back so the machine can stop cleanly.
class KprobeHitScope {
 public:
  KprobeHitScope(KprobeManager& m, HitContext ctx)
      : m_(m), saved_ctx_(m.hit_ctx_), kcb_(m.ctlblk(ctx.cpu)), saved_kcb_(kcb_),
        depth_(m.in_handler_) {
    m_.hit_ctx_ = ctx;
  }
  ~KprobeHitScope() {
    m_.hit_ctx_ = saved_ctx_;
    if (std::uncaught_exceptions() > 0) {
      kcb_ = saved_kcb_;
      m_.in_handler_ = depth_;
    }
  }
  KprobeCtlblk& kcb() { return kcb_; }

 private:
  KprobeManager& m_;
  HitContext saved_ctx_;
  KprobeCtlblk& kcb_;
  KprobeCtlblk saved_kcb_;
  int depth_;
};

}  // namespace probesim::probes
