// The probe API: kprobes and kretprobes on guest kernel functions, uprobes and uretprobes on
// program files (Linux's semantics, probes/README.md), with C++ handlers. Register through
// Machine (machine.h); each registration returns a handle that owns the probe:
//
//   auto kp = m->register_kprobe({.symbol = "ksys_write",
//                                 .pre = [](ProbeHit& h) { return h.regs.argument(0), 0; }});
//   m->run();
//   kp.value()->hits();
//
// Handles must be destroyed (or unregistered) before their Machine; destroying a registered
// handle unregisters it. Handlers run inside the machine's CPU hook: they may read the
// Machine's snapshots (inspect.h) but not change it (run, spawn, register...), and never throw.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "probesim/pt_regs.h"
#include "probesim/result.h"
#include "probesim/types.h"

namespace probesim {

// What a handler is handed: pt_regs, and who hit the probe when.
struct ProbeHit {
  PtRegs regs;
  int pid = 0;  // current->tgid (0: no task, e.g. Machine::kernel_call)
  int tid = 0;  // current->pid
  int cpu = 0;  // the logical CPU (smp_processor_id())
  uint64_t cycles = 0;  // that CPU's cycle counter
  // Return handlers: the probed function's address and the real return address (regs.ip()).
  GuestAddr func{};
  GuestAddr ret_addr{};
  // kretprobes: this instance's data_size bytes, shared by its entry and return handlers.
  std::span<uint8_t> data;
};

// Handler return values, as Linux's.
//  kprobe pre: 0 continue (step, then post); non-zero: "I changed regs.ip", no step, no post.
//  kretprobe entry: non-zero: do not hook this return.
//  uprobe handler: 0, kUprobeHandlerRemove (breakpoint leaves this mm) or kUprobeHandlerIgnore.
using ProbeHandler = std::function<int(ProbeHit&)>;
using ProbeNotifier = std::function<void(ProbeHit&)>;
inline constexpr int kUprobeHandlerRemove = 1;  // UPROBE_HANDLER_REMOVE
inline constexpr int kUprobeHandlerIgnore = 2;  // UPROBE_HANDLER_IGNORE

// Where: `symbol` (+ `offset`) as kallsyms names it, or `addr` (exactly one), else EINVAL.
struct KprobeSpec {
  std::string symbol;
  uint64_t offset = 0;
  GuestAddr addr{};
  ProbeHandler pre;    // empty: counts only
  ProbeNotifier post;  // after the single step (a probe with one is never optimized)
  bool disabled = false;  // registered but not armed (KPROBE_FLAG_DISABLED)
  std::string name;       // shown in messages; default the symbol or address
  // Queue the registration as kernel work for the kworker, starting at this many scheduling
  // steps (the CLI's --kprobe SPEC@N, Python's at=N): register_kprobe's steps (the breakpoint
  // is its own text_poke under text_mutex) and, from then on, the optimizer's text_poke_bp
  // writes interleave with the CPUs. While recording it goes into the trace as "kprobe LABEL"
  // (default SYMBOL[+OFF]@N or ADDR@N).
  std::optional<uint64_t> at;
  std::string label;
};

// A return probe: `symbol` (+ `offset`) or `addr` must be a function entry.
struct KretprobeSpec {
  std::string symbol;
  uint64_t offset = 0;
  GuestAddr addr{};
  ProbeNotifier handler;      // at return (regs.ip() = the real return address)
  ProbeHandler entry_handler;  // at entry
  int maxactive = 0;           // instances in flight; <= 0: Linux's default
  size_t data_size = 0;        // bytes of ProbeHit::data per instance
  bool disabled = false;
  std::string name;
};

// "PATH:SYMBOL[+OFF]" or "PATH:OFFSET" (uprobe_events syntax); PATH is a guest path.
struct UserProbeSpec {
  std::string target;
  ProbeHandler handler;       // at the breakpoint; empty with ret_handler: none
  ProbeNotifier ret_handler;  // set: a uretprobe (target must be a function entry)
  // Queue the registration as kernel work for the kworker, starting at this many scheduling
  // steps (the CLI's SPEC@N, Python's at=N) instead of registering now.
  std::optional<uint64_t> at;
  // A queued registration while recording goes into the trace as "uprobe LABEL" (or
  // "uretprobe LABEL"); default TARGET@N. UprobeHandle::unregister_at(M) appends "-M".
  std::string label;
};

class KprobeHandle {
 public:
  struct Impl;
  explicit KprobeHandle(std::unique_ptr<Impl> impl);
  ~KprobeHandle();  // unregisters
  KprobeHandle(const KprobeHandle&) = delete;
  KprobeHandle& operator=(const KprobeHandle&) = delete;

  const std::string& name() const;
  GuestAddr addr() const;  // the resolved address
  uint64_t hits() const;     // hits whose handlers ran (kretprobe: returns handled)
  uint64_t nmissed() const;  // Linux's nmissed (kretprobe: no free instance)
  bool registered() const;
  // A queued registration (KprobeSpec::at): pending() until the kworker ran its first steps;
  // then registered() or error() says why not.
  bool pending() const;
  std::optional<Error> error() const;
  bool enabled() const;
  // The optimizer's jump (x86 `E9 rel32`, arm64 `B imm26`) is in the text at addr(): hits go
  // through the detour, no trap (a probe only queued for it shows [OPTIMIZED] in kprobes/list
  // but still traps).
  bool jump_optimized() const;
  Result<void> enable();   // enable_kprobe; EINVAL when not registered
  Result<void> disable();  // disable_kprobe
  void unregister();       // idempotent; a pending registration is unregistered when done
  // unregister_kprobe as kernel work from `at` scheduling steps on (the CLI's --kprobe
  // SPEC@N-M): the kworker disables and unlinks the probe (a jump-optimized one waits for the
  // optimizer's delayed unoptimizing, so CPUs keep running through the jump meanwhile), then
  // synchronize_rcu. registered() until then. EINVAL: a kretprobe, not registered nor pending,
  // or `at` before a queued registration's start; EBUSY: already queued.
  Result<void> unregister_at(uint64_t at);
  bool unregister_pending() const;

 private:
  std::unique_ptr<Impl> impl_;
};

// kretprobes share the handle type: hits() counts handled returns.
using KretprobeHandle = KprobeHandle;

class UprobeHandle {
 public:
  struct Impl;
  explicit UprobeHandle(std::unique_ptr<Impl> impl);
  ~UprobeHandle();  // unregisters
  UprobeHandle(const UprobeHandle&) = delete;
  UprobeHandle& operator=(const UprobeHandle&) = delete;

  const std::string& target() const;
  FileOffset offset() const;  // the file offset of the breakpoint
  bool is_return() const;
  uint64_t hits() const;      // handler calls while enabled
  uint64_t ret_hits() const;  // ret_handler calls while enabled
  // A queued registration (at=N): pending() until the kworker ran it; then registered() or
  // error() says why not.
  bool pending() const;
  bool registered() const;
  std::optional<Error> error() const;
  bool enabled() const;
  // Disabled: the handlers are not called and the breakpoints leave every mm (uprobe_apply
  // with a filter that wants none); enable() puts them back. EINVAL when not registered.
  Result<void> enable();
  Result<void> disable();
  void unregister();  // idempotent; EBUSY-free: a pending registration is unregistered when done
  // uprobe_unregister as kernel work from `at` scheduling steps on (the CLI's --uprobe
  // SPEC@N-M): the kworker takes register_rwsem, drops the consumer, builds the map_info list
  // (is_register=false) under i_mmap_rwsem, then per mm takes mmap_write_lock, re-validates
  // the vma and removes the breakpoint where no consumer wants it. registered() until then.
  // EINVAL: not registered nor pending, or `at` before a queued registration's start; EBUSY:
  // already queued. A queued registration's trace entry becomes TARGET@N-M.
  Result<void> unregister_at(uint64_t at);
  bool unregister_pending() const;

 private:
  std::unique_ptr<Impl> impl_;
};

// An early kprobe (Options::early_kprobes): registered during boot, or why not.
struct EarlyKprobeInfo {
  std::string spec;
  int err = 0;  // 0: registered
  std::string error;
  uint64_t hits = 0;
  uint64_t nmissed = 0;
};

}  // namespace probesim
