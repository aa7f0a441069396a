// PyInode: probesim.Inode, a handle on one cached inode (its page cache and i_mmap tree).
// The handle holds the inode cache key, not a pointer: every access looks the inode up
// again, and raises probesim.Error if it was evicted meanwhile.
#pragma once

#include <pybind11/pybind11.h>

#include <memory>
#include <string>

#include "mmu/inode.h"

namespace probesim::python {

class PyMachine;

struct PyInode {
  std::shared_ptr<PyMachine> machine;
  std::string key;
  std::string name;  // for messages once evicted

  const mmu::Inode& get(const char* what) const;
};

void bind_inode(pybind11::module_& m);

}  // namespace probesim::python
