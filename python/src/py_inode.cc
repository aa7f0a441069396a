#include "py_inode.h"

#include <pybind11/stl.h>

#include "convert.h"
#include "emu/api/snapshots.h"
#include "errors.h"
#include "py_machine.h"
#include "py_uprobes.h"
#include "views.h"

namespace py = pybind11;
using namespace pybind11::literals;

namespace probesim::python {

const mmu::Inode& PyInode::get(const char* what) const {
  const mmu::Inode* i = machine->state(what).inodes().find(key);
  if (!i) throw Error(std::string(what) + ": inode of " + name + " was evicted (nothing holds it)");
  return *i;
}

namespace {

std::vector<ImmapNode> i_mmap(const PyInode& inode) {
  emu::MachineState& s = inode.machine->state("Inode.i_mmap");
  std::vector<ImmapNode> out;
  for (const mmu::ImmapTree::NodeView& n : inode.get("Inode.i_mmap").i_mapping().i_mmap().nodes()) {
    out.push_back(ImmapNode{n.start, n.last, n.subtree_last, n.depth, n.red ? "red" : "black",
                                emu::vma_info(*n.vma, emu::pid_of(s, n.vma->vm_mm))});
  }
  return out;
}

uint64_t page_mapcount(const PyInode& inode, const py::int_& index) {
  return inode.get("Inode.page_mapcount")
      .i_mapping()
      .page_mapcount(PageIndex{to_u64(index, "index")});
}

bool page_uptodate(const PyInode& inode, const py::int_& index) {
  return inode.get("Inode.page_uptodate")
      .i_mapping()
      .page_uptodate(PageIndex{to_u64(index, "index")});
}

std::string repr(const PyInode& inode) {
  if (inode.machine->running()) return "<probesim.Inode " + inode.name + ">";
  const mmu::Inode* i = inode.machine->state("repr").inodes().find(inode.key);
  if (!i) return "<probesim.Inode " + inode.name + " (evicted)>";
  return "<probesim.Inode " + std::to_string(i->i_ino()) + " " + inode.name +
         " size=" + std::to_string(i->i_size()) +
         " nrpages=" + std::to_string(i->i_mapping().nrpages()) + ">";
}

}  // namespace

void bind_inode(py::module_& m) {
  py::class_<PyInode>(m, "Inode",
                      "A cached file (Linux's struct inode) with its page cache and i_mmap.")
      .def_property_readonly(
          "ino", [](const PyInode& i) { return i.get("Inode.ino").i_ino(); },
          "Inode number (deterministic: 1, 2, ... in order of first use).")
      .def_readonly("name", &PyInode::name,
                    "The file's guest path, symlinks resolved (as Process.exe and Vma.file).")
      .def_property_readonly(
          "size", [](const PyInode& i) { return i.get("Inode.size").i_size(); }, "i_size in bytes.")
      .def_property_readonly(
          "nrpages", [](const PyInode& i) { return i.get("Inode.nrpages").i_mapping().nrpages(); },
          "Pages of the page cache that are uptodate (read from the file).")
      .def_property_readonly(
          "i_count", [](const PyInode& i) { return i.get("Inode.i_count").i_count(); },
          "Reference count (each mapping VMA and open file holds one).")
      .def_property_readonly(
          "i_mmap", &i_mmap,
          "The i_mmap interval tree: every VMA mapping this file, in tree order, "
          "with interval, subtree_last, depth and color.")
      .def_property_readonly("uprobes", &inode_uprobes,
                             "The uprobes on this file (UprobeInfo), by offset: hits, consumers, "
                             "the original instruction and its XOL slot contents.")
      .def("page_mapcount", &page_mapcount, "index"_a,
           "How many VMAs map page-cache page `index` itself (not a private copy).")
      .def("page_uptodate", &page_uptodate, "index"_a, "True if page `index` is in the page cache.")
      .def(
          "__eq__",
          [](const PyInode& a, const PyInode& b) {
            return a.machine == b.machine && a.key == b.key;
          },
          py::is_operator())
      .def("__hash__", [](const PyInode& i) { return py::hash(py::str(i.key)); })
      .def("__repr__", &repr);
}

}  // namespace probesim::python
