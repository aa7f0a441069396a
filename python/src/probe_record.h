// ProbeRecord: one kprobe or kretprobe registered from Python. It owns the C++ probe (the
// engine keeps a non-owning pointer while it is registered, so the record sits at a fixed
// heap address) and the Python handlers its C++ handlers call through the machine's single
// trampoline (PyMachine::call_handler).
//
// Ownership: shared by the machine (while registered: PyMachine::probes_) and by the Python
// handles (KprobeHandle / KretprobeHandle), which keep counters readable after unregistering.
// The machine unregisters every record it holds before its C++ Machine goes (close(), GC,
// destruction) and then drops the handlers. Handlers are py::objects: touched, copied and
// destroyed only with the GIL held (every owner of a record is a Python object or the
// machine, both destroyed under the GIL).
#pragma once

#include <pybind11/pybind11.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "probes/kprobe.h"
#include "probes/kretprobe.h"

namespace probesim::python {

enum class ProbeKind : uint8_t { Kprobe, Kretprobe };

// Which handler of a record: kprobe pre/post, kretprobe entry/handler (return).
enum class HandlerSlot : uint8_t { First = 0, Second = 1 };

struct ProbeRecord {
  explicit ProbeRecord(ProbeKind k) : kind(k) {}
  ProbeRecord(const ProbeRecord&) = delete;
  ProbeRecord& operator=(const ProbeRecord&) = delete;

  // Linux's probe: the kprobe itself, or the kretprobe's entry kprobe (rp.kp).
  probes::Kprobe& entry_probe() { return kind == ProbeKind::Kprobe ? kp : rp.kp; }
  const probes::Kprobe& entry_probe() const { return kind == ProbeKind::Kprobe ? kp : rp.kp; }
  bool registered() const { return entry_probe().registered(); }
  // The register() keyword of a handler: "pre"/"post" (kprobe), "entry"/"handler" (kretprobe).
  std::string_view handler_name(HandlerSlot s) const {
    static constexpr std::string_view kNames[2][2] = {{"pre", "post"}, {"entry", "handler"}};
    return kNames[static_cast<int>(kind)][static_cast<int>(s)];
  }
  // How messages call it: "pre handler", "return handler".
  std::string_view handler_text(HandlerSlot s) const {
    static constexpr std::string_view kText[2][2] = {{"pre handler", "post handler"},
                                                     {"entry handler", "return handler"}};
    return kText[static_cast<int>(kind)][static_cast<int>(s)];
  }
  std::string_view kind_name() const { return kind == ProbeKind::Kprobe ? "kprobe" : "kretprobe"; }

  ProbeKind kind;
  std::string name;   // the user's name, else the target as written ("vfs_read+0x4")
  std::string where;  // where it landed: "vfs_read+0x4" (kallsyms), or the hex address
  // kprobe: {pre, post}; kretprobe: {entry, handler}. Null: no handler (None).
  std::array<pybind11::object, 2> handlers;
  std::array<bool, 2> with_ctx{};  // the handler declares a Context parameter (takes_context)
  probes::Kprobe kp;     // ProbeKind::Kprobe only
  probes::Kretprobe rp;  // ProbeKind::Kretprobe only
  // register(at=N): queued as kernel work (the work keeps the record alive); pending until the
  // kworker ran it, then registered or queue_error says why not. orphaned: the machine
  // released its probes meanwhile, so the completion unregisters it again.
  std::optional<uint64_t> at;
  bool pending = false;
  bool orphaned = false;
  std::optional<std::string> queue_error;
  // unregister(at=N): the kworker's unregister_kprobe is queued and has not finished (the
  // record keeps its handlers until the machine releases it: the probe is never hit again).
  bool unregistering = false;
  // Recorded runs: the trace header's entry of this queued registration ("kprobe SPEC@N"),
  // which unregister(at=M) turns into "kprobe SPEC@N-M", so `probesim replay` queues both.
  std::optional<size_t> trace_entry;
  // Registered at once: how --kprobe names its target, and whether the machine had not run
  // yet (a recording then keeps unregister(at=M) as "kprobe TARGET@now-M").
  std::string target_text;
  bool before_run = false;
};

}  // namespace probesim::python
