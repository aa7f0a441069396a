// Kprobe: one registered probe, shaped like Linux's struct kprobe (include/linux/kprobes.h).
// The caller owns it and must keep it alive, at a fixed address, from register_kprobe until
// unregister_kprobe returns (the manager keeps a non-owning pointer; the destructor checks).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "probes/regs.h"
#include "probesim/types.h"

namespace probesim::probes {

class KprobeManager;
class Kretprobe;

// KPROBE_FLAG_* (include/linux/kprobes.h).
constexpr uint32_t kKprobeFlagGone = 1;       // breakpoint's text went away (module/init free)
constexpr uint32_t kKprobeFlagDisabled = 2;   // registered but not armed
constexpr uint32_t kKprobeFlagOptimized = 4;  // replaced by a jump (optprobes; not yet used)
constexpr uint32_t kKprobeFlagFtrace = 8;     // uses ftrace (no ftrace sites in our image)

class Kprobe {
 public:
  // pre_handler: before the probed instruction. 0 = continue (step + post_handler); non-zero =
  // "I changed regs.ip", so the step and the post_handler are skipped.
  using PreHandler = std::function<int(Kprobe&, Regs&)>;
  // post_handler: after the step; flags is always 0 (Linux).
  using PostHandler = std::function<void(Kprobe&, Regs&, unsigned long flags)>;

  Kprobe() = default;
  ~Kprobe();
  Kprobe(const Kprobe&) = delete;
  Kprobe& operator=(const Kprobe&) = delete;

  // Where: exactly one of addr / symbol_name (+ offset) must be set, else -EINVAL. On success
  // addr holds the resolved address (Linux: so re-registering a symbol probe without clearing
  // addr fails with -EINVAL, as it does in the kernel).
  GuestAddr addr{};
  std::string symbol_name;
  uint64_t offset = 0;
  PreHandler pre_handler;
  PostHandler post_handler;
  uint32_t flags = 0;  // only kKprobeFlagDisabled may be passed to register_kprobe
  std::string name;    // a user tag shown nowhere by Linux; handy in tests and notebooks

  uint64_t nmissed = 0;  // hits whose handlers were skipped (recursion)
  uint64_t nhit = 0;     // hits whose handlers ran (probesim addition)

  bool registered() const { return owner_ != nullptr; }
  bool disabled() const { return (flags & (kKprobeFlagDisabled | kKprobeFlagGone)) != 0; }
  bool gone() const { return (flags & kKprobeFlagGone) != 0; }
  // Non-null when this is the entry probe of a kretprobe ("r" in kprobes/list).
  Kretprobe* kretprobe() const { return kretprobe_; }

 private:
  friend class KprobeManager;
  friend class Kretprobe;
  KprobeManager* owner_ = nullptr;
  Kretprobe* kretprobe_ = nullptr;
};

}  // namespace probesim::probes
