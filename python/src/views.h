// The bindings of the value snapshots handed to Python (probesim/inspect.h: a Vma, a page's
// backing, an i_mmap node) and of ProcessExit, Fault and SchedEvent.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <optional>
#include <string>

#include "probesim/inspect.h"

namespace probesim::python {

std::string vma_repr(const VmaInfo& v);

// Binds Vma, PageInfo, ImmapNode, ProcessExit, Fault and SchedEvent.
void bind_views(pybind11::module_& m);

}  // namespace probesim::python
