#include "handler_context.h"

#include <pybind11/stl.h>

#include <limits>

#include "errors.h"
#include "probes/trace_events/trace_record.h"

using namespace pybind11::literals;

namespace py = pybind11;

namespace probesim::python {
namespace {

// Positional parameters of a signature: how many it requires, how many it names, whether it
// has *args, whether it has a keyword-only parameter without a default, and whether the
// parameter after the usual ones is the context's.
struct Arity {
  size_t required = 0, named = 0;
  bool var_positional = false, required_keyword = false;
  bool ctx_slot = false;  // the parameter after the usual ones is required, or named ctx
};

// base: how many usual arguments (to judge the parameter after them).
std::optional<Arity> arity_of(const py::object& fn, size_t base) {
  py::module_ inspect = py::module_::import("inspect");
  py::object sig;
  try {
    sig = inspect.attr("signature")(fn);
  } catch (py::error_already_set& e) {
    if (e.matches(PyExc_ValueError) || e.matches(PyExc_TypeError)) return std::nullopt;
    throw;
  }
  py::object param = inspect.attr("Parameter");
  py::object empty = param.attr("empty");
  const py::object positional_only = param.attr("POSITIONAL_ONLY"),
                   positional_or_keyword = param.attr("POSITIONAL_OR_KEYWORD"),
                   var_positional = param.attr("VAR_POSITIONAL"),
                   keyword_only = param.attr("KEYWORD_ONLY");
  Arity a;
  for (py::handle p : sig.attr("parameters").attr("values")()) {
    py::object kind = p.attr("kind");
    bool has_default = !py::object(p.attr("default")).is(empty);
    if (kind.equal(positional_only) || kind.equal(positional_or_keyword)) {
      if (a.named == base) a.ctx_slot = !has_default || py::str(p.attr("name")).equal(py::str("ctx"));
      ++a.named;
      if (!has_default) ++a.required;
    } else if (kind.equal(var_positional)) {
      a.var_positional = true;
    } else if (kind.equal(keyword_only) && !has_default) {
      a.required_keyword = true;
    }
  }
  return a;
}

std::string describe_arity(const Arity& a) {
  if (a.required_keyword) return "it requires a keyword-only argument";
  std::string n = std::to_string(a.required);
  if (a.var_positional) return "it requires at least " + n + " positional arguments";
  if (a.required == a.named) return "it takes " + n + " positional arguments";
  return "it takes " + n + " to " + std::to_string(a.named) + " positional arguments";
}

std::string with_ctx(const char* shape) {
  std::string s(shape);  // "(regs)" -> "(regs, ctx)"
  return s.substr(0, s.size() - 1) + ", ctx)";
}

}  // namespace

bool takes_context(const py::object& fn, size_t base, const std::string& who, const char* shape) {
  std::optional<Arity> a = arity_of(fn, base);
  if (!a) return false;
  auto callable_with = [&](size_t n) {
    return !a->required_keyword && a->required <= n && (a->named >= n || a->var_positional);
  };
  bool with_ctx_arg = a->ctx_slot && callable_with(base + 1);
  if (!with_ctx_arg && !callable_with(base))
    throw py::type_error(who + " must take " + shape + " or " + with_ctx(shape) + "; " +
                         describe_arity(*a));
  return with_ctx_arg;
}

void set_trace_site(const py::object& ctx, std::string event, std::string location,
                    const char* flags) {
  PyContext& c = ctx.cast<PyContext&>();
  c.trace_event = std::move(event);
  c.trace_location = std::move(location);
  c.trace_flags = flags;
}

namespace {

// Context.trace_line(**fields): probes/trace_events' formatter, the one tracefs uses.
std::string trace_line(const PyContext& c, const py::kwargs& fields) {
  if (c.trace_event.empty())
    throw Error("Context.trace_line: this context describes no probe hit (a filter, or "
                "Machine.current outside a handler)");
  trace_events::TraceRecord r;
  r.comm = c.pid ? c.comm : "<idle>";
  r.pid = c.tid;
  r.cpu = c.cpu;
  r.flags = c.trace_flags;
  r.ts_ns = c.time_ns;
  r.event = c.trace_event;
  r.location = c.trace_location;
  for (auto [name, value] : fields)
    r.fields.emplace_back(py::str(name), py::str(value));
  return trace_events::format_trace_line(r);
}

}  // namespace

void bind_context(py::module_& m) {
  py::class_<PyContext>(
      m, "Context",
      "Who hit a probe, where and when: passed to handlers and filters that declare one more "
      "parameter after their usual arguments (pre(regs, ctx), handler(ri, regs, ctx), "
      "ret_handler(func, regs, ctx), filter(mm, ctx)), and returned by Machine.current. A "
      "snapshot taken when the handler was entered.")
      .def_readonly("pid", &PyContext::pid,
                    "Process id of the current task (Linux's current->tgid); 0 in "
                    "Machine.kernel_call, which runs as no task. For a filter: the process "
                    "whose Mm is offered.")
      .def_readonly("tid", &PyContext::tid, "Thread id of the current task (current->pid).")
      .def_readonly("comm", &PyContext::comm,
                    "Command name of the process (current->comm); 'swapper/N' with no task.")
      .def_readonly("cpu", &PyContext::cpu, "The logical CPU (smp_processor_id()).")
      .def_readonly("cycles", &PyContext::cycles,
                    "That CPU's modelled cycle counter now (what latency is measured in).")
      .def_readonly("time_ns", &PyContext::time_ns,
                    "That CPU's virtual monotonic time in ns (ktime_get_ns).")
      .def_readonly("mm", &PyContext::mm, "The process's Mm, or None with no task.")
      .def_readonly("probe", &PyContext::probe,
                    "The handle of the probe whose handler or filter runs (KprobeHandle, "
                    "KretprobeHandle or UprobeHandle); None for Machine.current outside one.")
      .def_readonly("entry_cycles", &PyContext::entry_cycles,
                    "In kretprobe and uretprobe return handlers (and kretprobe entry "
                    "handlers): `cycles` when the function was entered; else None.")
      .def(
          "kernel_stack",
          [](const PyContext& c, size_t max) { return c.stacks->kernel_stack(max); },
          "max"_a = StackSource::kMaxFrames,
          "The kernel stack trace of a kprobe/kretprobe hit, innermost first, as Linux's "
          "stack_trace_save_regs(regs) gives it: the first frame is regs.ip (in a return "
          "handler the real return address), then the return address of each frame "
          "(frame-pointer walk over the task's kernel stack), the real return address in "
          "place of the kretprobe trampoline. [] for uprobe hits and filters. Call it inside "
          "the handler (then the result is kept).")
      .def(
          "user_stack",
          [](const PyContext& c, size_t max) { return c.stacks->user_stack(max); },
          "max"_a = StackSource::kMaxFrames,
          "The user stack trace of the current task, innermost first: its user pc (a "
          "kprobe hit: where the syscall was made), then frame records by frame pointer; "
          "code without frame pointers gets a bounded scan of the stack for return "
          "addresses after call instructions (frames with reliable=False). [] with no task. "
          "Call it inside the handler (then the result is kept).")
      .def("trace_line", &trace_line,
           "The hit as an ftrace line, the format /sys/kernel/tracing/trace prints a dynamic "
           "event in (the same formatter): '<comm>-<tid> [<cpu>] <flags> <secs>.<usecs>: "
           "<probe name>: (<location>) name=value ...', one name=value per keyword argument "
           "(its str()), in order; location as Linux's kprobe/kretprobe/uprobe events print "
           "it ('vfs_read+0x0/0x90', 'ksys_read+0x3c/0x90 <- vfs_read', '0x401126'). Error "
           "for a context with no hit (filters, Machine.current outside a handler).")
      .def("__repr__", [](const PyContext& c) {
        return "<probesim.Context pid=" + std::to_string(c.pid) + " tid=" +
               std::to_string(c.tid) + " comm=" + c.comm + " cpu=" + std::to_string(c.cpu) +
               " cycles=" + std::to_string(c.cycles) + ">";
      });
}

}  // namespace probesim::python
