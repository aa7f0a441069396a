// The exceptions probesim._core raises (CONVENTIONS.md §6b: bad input becomes one Python
// exception type at the edge, carrying the C++ message). Guest faults are never exceptions:
// they are values on the Process (Process.exit.fault).
//   probesim.Error              base of everything probesim raises itself (also: machine busy)
//   probesim.BadProgram         spawn: missing file, not an ELF, wrong architecture, dynamic
//   probesim.BadArgument        a bad value passed to the API (unknown arch, unmapped address)
//   probesim.BadProbe           a probe the kernel refused (register_kprobe's -errno)
//   probesim.KernelCallError    kernel_call failed: unknown symbol, too many arguments, oops
//   probesim.ProbeHandlerError  a Python probe handler raised; the original is __cause__
//   probesim.KernelPanic        the guest kernel panicked: spawn, run and kernel_call refuse
// BadProbe and KernelCallError carry the Linux errno: `.errno` (int) and `.errno_name`
// ("EINVAL"), and their message starts with the errno name.
#pragma once

#include <pybind11/pybind11.h>

#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "probesim/result.h"

namespace probesim::python {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct BadProgram : Error {
  using Error::Error;
};
struct BadArgument : Error {
  using Error::Error;
};
struct KernelPanic : Error {
  using Error::Error;
};

// An error with a Linux errno (positive; 0 when the C++ side gave none).
struct ErrnoError : Error {
  ErrnoError(std::string message, int errno_value) : Error(std::move(message)), err(errno_value) {}
  int err;
};
struct BadProbe : ErrnoError {
  using ErrnoError::ErrnoError;
};
struct KernelCallError : ErrnoError {
  using ErrnoError::ErrnoError;
};

// Registers the hierarchy in `m` (base first: pybind11 tries later translators first).
void bind_errors(pybind11::module_& m);

// Linux's name of an errno value ("EINVAL"), or "errno <n>".
std::string errno_name(int err);

// probesim.ProbeHandlerError(message) with attributes probe and handler, and `cause` as its
// __cause__ (raise ... from cause). Needs the GIL.
pybind11::object make_probe_handler_error(const std::string& message, const std::string& probe,
                                          const std::string& handler, pybind11::handle cause);

// The value of r, or throws E with the C++ error message.
template <class E, class T>
T unwrap(Result<T> r) {
  if (!r.ok()) throw E(r.error().message);
  if constexpr (!std::is_void_v<T>) return std::move(r).value();
}

// As unwrap, for errno-carrying errors: the message is "<what>: <ENAME>: <C++ message>".
template <class E, class T>
T unwrap_errno(Result<T> r, const std::string& what) {
  if (!r.ok()) {
    const probesim::Error& e = r.error();
    throw E(what + ": " + errno_name(e.err) + ": " + e.message, e.err);
  }
  if constexpr (!std::is_void_v<T>) return std::move(r).value();
}

}  // namespace probesim::python
