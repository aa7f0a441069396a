#include "errors.h"

namespace py = pybind11;

namespace probesim::python {

void bind_errors(py::module_& m) {
  auto& base = py::register_exception<Error>(m, "Error", PyExc_Exception);
  base.doc() = "Base class of the exceptions probesim raises (guest faults are values, not these).";
  auto& bad_program = py::register_exception<BadProgram>(m, "BadProgram", base);
  bad_program.doc() =
      "spawn() could not load the program: missing, not an ELF, wrong architecture or dynamic. "
      "The message names the file.";
  auto& bad_argument = py::register_exception<BadArgument>(m, "BadArgument", base);
  bad_argument.doc() = "A bad value was passed to the API (unknown arch, unmapped address, ...).";
}

}  // namespace probesim::python
