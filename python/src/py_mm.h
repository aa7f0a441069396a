// PyMm: probesim.Mm, a handle on one process's address space (the model, not Unicorn):
// VMAs, privileged reads and writes (the debugger's view: protections are ignored, mappings
// are required), and where each page's bytes live (page cache, a uprobe's replaced page, a
// private copy). read() shows memory as it is (uprobe breakpoints included, as
// /proc/pid/mem); read_original() shows the bytes under them. Read-only queries also work
// inside probe handlers and uprobe filters; write() does not.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <vector>

#include "mmu/mm.h"
#include "py_process.h"

namespace probesim::python {

struct PyMm {
  PyProcess proc;
};

// The bytes of [addr, addr+n) up to the first one that cannot be read (unmapped or beyond
// the end of a mapped file).
std::vector<uint8_t> peek_prefix(const mmu::Mm& mm, uint64_t addr, uint64_t n);
std::string hex_addr(uint64_t addr);

void bind_mm(pybind11::module_& m);

}  // namespace probesim::python
