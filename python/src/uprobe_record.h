// UprobeRecord: one uprobe consumer registered from Python (Machine.uprobes.register or
// Machine.uretprobes.register). It owns the C++ UprobeConsumer (the engine keeps a pointer to
// it while registered, so the record sits at a fixed heap address) and the Python callables
// its C++ callbacks reach through the machine's single trampoline (PyMachine::trampoline).
//
// Ownership: shared by the machine (while registered: PyMachine::uprobes_) and by the Python
// handles (UprobeHandle), which keep counters readable after unregistering. While registered
// the record holds an inode reference (iget; iput on unregister). The machine unregisters
// every record before its C++ Machine goes (close(), GC, destruction). The py::objects are
// touched, copied and destroyed only with the GIL held.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "probes/uprobes/uprobe.h"

namespace probesim::mmu {
class Inode;
}

namespace probesim::python {

// How the consumer was registered (it only changes names and listings).
enum class UprobeKind : uint8_t { Uprobe, Uretprobe };

struct UprobeRecord {
  explicit UprobeRecord(UprobeKind k) : kind(k) {}
  UprobeRecord(const UprobeRecord&) = delete;
  UprobeRecord& operator=(const UprobeRecord&) = delete;

  bool registered() const { return uprobe != nullptr; }
  std::string_view kind_name() const { return kind == UprobeKind::Uprobe ? "uprobe" : "uretprobe"; }
  // "/path/prog:0x1040", Linux's uprobe_events spelling of (inode, offset).
  std::string where() const;

  UprobeKind kind;
  std::string name;     // the user's name, else the target as written ("probe_me+0x4")
  std::string path;     // as given to register()
  std::string target;   // "probe_me+0x4", or the offset in hex
  uint64_t offset = 0;  // file offset
  // The SDT semaphore: ref_ctr=<file offset> (ref_ctr_offset) or ref_ctr='symbol'
  // (ref_ctr_symbol, resolved at registration). 0 / empty: none.
  uint64_t ref_ctr_offset = 0;
  std::string ref_ctr_symbol;
  std::string inode_key, inode_name;  // for Inode views (InodeCache key, resolved path)
  mmu::Inode* inode = nullptr;        // counted reference while registered
  probes::Uprobe* uprobe = nullptr;   // while registered
  probes::UprobeConsumer consumer;    // handler/ret_handler/filter wired to the trampoline
  // Null objects: none given. filter may be replaced while registered (UprobeHandle.filter).
  pybind11::object handler, ret_handler, filter;
  // Each declares a Context parameter (takes_context).
  bool handler_ctx = false, ret_ctx = false, filter_ctx = false;
  // register(..., at=N): queued as kernel work for the machine's kworker, starting at N
  // scheduling steps; `pending` until it ran, then registered or `queue_error` says why not.
  std::optional<uint64_t> at;
  bool pending = false;
  std::string queue_error;
  // unregister(at=M): the kworker's uprobe_unregister is queued and has not finished (its work
  // keeps the record alive; the record stays listed, registered until the work's last step).
  bool unregistering = false;
  // Recorded runs: the trace header's entry of this queued registration ("uprobe PATH:T@N"),
  // which unregister(at=M) turns into "uprobe PATH:T@N-M", so `probesim replay` queues both.
  std::optional<size_t> trace_entry;
  // Registered at once before the machine ran: a recording keeps unregister(at=M) as
  // "uprobe PATH:T@now-M".
  bool before_run = false;
};

}  // namespace probesim::python
