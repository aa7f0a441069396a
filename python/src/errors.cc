#include "errors.h"

#include <cstring>

namespace py = pybind11;

namespace probesim::python {
namespace {

// Tags for exception types raised only from Python objects (never thrown in C++).
struct ProbeHandlerErrorTag {};

// The Python types, created once by bind_errors (module lifetime: never freed).
PyObject* g_bad_probe = nullptr;
PyObject* g_kernel_call_error = nullptr;
PyObject* g_probe_handler_error = nullptr;

// Raises `type`(message) with .errno and .errno_name set.
void set_errno_error(PyObject* type, const ErrnoError& e) {
  py::object exc = py::reinterpret_borrow<py::object>(type)(e.what());
  exc.attr("errno") = e.err;
  exc.attr("errno_name") = e.err ? errno_name(e.err) : std::string();
  PyErr_SetObject(type, exc.ptr());
}

}  // namespace

std::string errno_name(int err) {
  const char* name = err > 0 ? strerrorname_np(err) : nullptr;  // glibc >= 2.32: "EINVAL"
  return name ? name : "errno " + std::to_string(err);
}

void bind_errors(py::module_& m) {
  auto& base = py::register_exception<Error>(m, "Error", PyExc_Exception);
  base.doc() = "Base class of the exceptions probesim raises (guest faults are values, not these).";
  auto& bad_program = py::register_exception<BadProgram>(m, "BadProgram", base);
  bad_program.doc() =
      "spawn() could not load the program: missing, not an ELF, wrong architecture or dynamic. "
      "The message names the file.";
  auto& bad_argument = py::register_exception<BadArgument>(m, "BadArgument", base);
  bad_argument.doc() = "A bad value was passed to the API (unknown arch, unmapped address, ...).";
  auto& panic = py::register_exception<KernelPanic>(m, "KernelPanic", base);
  panic.doc() =
      "The guest kernel panicked (Machine.kernel.panic has its message): the machine is dead. "
      "The call that panicked and every later spawn(), run() and kernel_call() raise this.";

  // Never freed: the module's types live as long as the interpreter.
  auto& bad_probe = *new py::exception<BadProbe>(m, "BadProbe", base);
  bad_probe.doc() =
      "The kernel refused a probe (register_kprobe's -errno): .errno and .errno_name "
      "('EINVAL', 'ENOENT', 'EILSEQ', ...) say why, as Linux would.";
  auto& kernel_call_error = *new py::exception<KernelCallError>(m, "KernelCallError", base);
  kernel_call_error.doc() =
      "Machine.kernel_call failed: unknown symbol (ENOENT), more than six arguments (E2BIG), "
      "or the call oopsed (EFAULT, with the oops text). Carries .errno and .errno_name.";
  auto& handler_error = *new py::exception<ProbeHandlerErrorTag>(m, "ProbeHandlerError", base);
  handler_error.doc() =
      "A Python probe handler raised: the run stopped at the next preemptible point. "
      ".probe names the probe, .handler the handler ('pre', 'post', 'entry', 'handler'); "
      "the original exception is __cause__.";
  g_bad_probe = bad_probe.ptr();
  g_kernel_call_error = kernel_call_error.ptr();
  g_probe_handler_error = handler_error.ptr();

  // Later translators are tried first: this one sees the errno-carrying errors.
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const BadProbe& e) {
      set_errno_error(g_bad_probe, e);
    } catch (const KernelCallError& e) {
      set_errno_error(g_kernel_call_error, e);
    }
  });
}

py::object make_probe_handler_error(const std::string& message, const std::string& probe,
                                    const std::string& handler, py::handle cause) {
  py::object exc = py::reinterpret_borrow<py::object>(g_probe_handler_error)(message);
  exc.attr("probe") = probe;
  exc.attr("handler") = handler;
  // PyException_SetCause steals the reference and sets __suppress_context__ (raise from).
  PyException_SetCause(exc.ptr(), py::reinterpret_borrow<py::object>(cause).release().ptr());
  return exc;
}

}  // namespace probesim::python
