// PyContext (probesim.Context): who hit a probe, where and when, handed to probe handlers and
// uprobe filters that declare a parameter for it, and returned by Machine.current.
//
// The one signature style (checked at registration by takes_context): a handler receives its
// usual arguments, then the context as one more positional argument if it declares one:
//   kprobe pre/post        (regs)       or (regs, ctx)
//   kretprobe entry/handler (ri, regs)  or (ri, regs, ctx)
//   uprobe handler          (regs)      or (regs, ctx)
//   uprobe ret_handler      (func, regs) or (func, regs, ctx)
//   uprobe filter           (mm)        or (mm, ctx)
// "Declares one" means: its next positional parameter has no default, or is named ctx
// (`lambda regs, n=n:` keeps Python's default-argument idiom; `def f(regs, ctx=None)` gets a
// context). A handler taking only *args gets the usual arguments; one that requires more than
// one extra argument, or cannot take the usual ones, is refused with TypeError.
//
// A context is a snapshot taken when the handler is entered (its values never change), plus
// the live Mm view of the process and the probe's handle.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <optional>
#include <memory>
#include <string>

#include "py_stacktrace.h"

namespace probesim::python {

struct PyContext {
  int pid = 0;  // current->tgid (0: Machine.kernel_call, which runs as no task)
  int tid = 0;  // current->pid
  int cpu = 0;  // logical CPU (smp_processor_id())
  std::string comm;
  uint64_t cycles = 0;   // that CPU's cycle counter (its virtual clock)
  uint64_t time_ns = 0;  // that CPU's monotonic virtual time (ktime_get_ns)
  pybind11::object mm;     // probesim.Mm or None
  pybind11::object probe;  // the probe's handle, or None (Machine.current outside handlers)
  std::optional<uint64_t> entry_cycles;  // return handlers: `cycles` at the function's entry
  std::shared_ptr<StackSource> stacks;   // kernel_stack() / user_stack(); never null
  // trace_line(): the hit as a dynamic event of tracefs would show it; event empty when the
  // context describes no hit (a filter, Machine.current outside a handler).
  std::string trace_event, trace_location, trace_flags;
};

// Trace flags columns (as emu/tracefs): kprobe handlers run with interrupts masked (the
// trap), uprobe handlers in task context.
inline constexpr const char* kKprobeTraceFlags = "d....";
inline constexpr const char* kUprobeTraceFlags = ".....";

// Makes the Context `ctx` describe the hit of probe `event` at `location` ("vfs_read+0x0/0x40",
// "ret+0x5/0x10 <- vfs_read", "0x401000", "0x401020 <- 0x401000"), for trace_line().
void set_trace_site(const pybind11::object& ctx, std::string event, std::string location,
                    const char* flags);

// Whether `fn` declares a parameter for the context after its `base` usual arguments (see
// the header). TypeError naming `who` ("kprobe 'vfs_read': the pre handler") and `shape`
// ("(regs)") when it cannot be called in either form. Callables without an inspectable
// signature (some builtins) get the usual arguments only.
bool takes_context(const pybind11::object& fn, size_t base, const std::string& who,
                   const char* shape);

void bind_context(pybind11::module_& m);

}  // namespace probesim::python
