// The exceptions probesim._core raises (CONVENTIONS.md §6b: bad input becomes one Python
// exception type at the edge, carrying the C++ message). Guest faults are never exceptions:
// they are values on the Process (Process.exit.fault).
//   probesim.Error        base of everything probesim raises itself (also: machine busy)
//   probesim.BadProgram   spawn: missing file, not an ELF, wrong architecture, dynamic program
//   probesim.BadArgument  a bad value passed to the API (unknown arch, unmapped address, ...)
// (probesim.BadProbe joins them when probes exist.)
#pragma once

#include <pybind11/pybind11.h>

#include <stdexcept>
#include <string>
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

// Registers the hierarchy in `m` (base first: pybind11 tries later translators first).
void bind_errors(pybind11::module_& m);

// The value of r, or throws E with the C++ error message.
template <class E, class T>
T unwrap(Result<T> r) {
  if (!r.ok()) throw E(r.error().message);
  return std::move(r).value();
}

}  // namespace probesim::python
