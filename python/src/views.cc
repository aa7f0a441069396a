#include "views.h"

#include <pybind11/stl.h>

#include <cstdio>

#include "pickle_fields.h"
#include "probesim/machine.h"
#include "probesim/hex.h"

namespace py = pybind11;
using namespace pybind11::literals;

namespace probesim::python {
namespace {

std::string fault_repr(const Fault& f) {
  return "Fault(signo=" + std::to_string(f.signo) + ", addr=" + hex(f.addr) + ", pc=" + hex(f.pc) +
         ", what='" + f.what + "')";
}

void bind_vma(py::module_& m) {
  py::class_<VmaInfo>(m, "Vma", "A snapshot of one mapping (Linux's vm_area_struct).")
      .def_readonly("start", &VmaInfo::start, "vm_start (inclusive).")
      .def_readonly("end", &VmaInfo::end, "vm_end (exclusive).")
      .def_readonly("pgoff", &VmaInfo::pgoff, "vm_pgoff: file page of start (anon: start >> 12).")
      .def_readonly("vm_flags", &VmaInfo::vm_flags, "Raw VM_* flags.")
      .def_readonly("flags", &VmaInfo::flags, "Permissions as in /proc/pid/maps, e.g. 'r-xp'.")
      .def_readonly("file", &VmaInfo::file, "Path of the mapped file (symlinks resolved), or None.")
      .def_readonly("ino", &VmaInfo::ino, "Inode number of the mapped file, or None.")
      .def_readonly("name", &VmaInfo::name, "'[stack]', '[heap]', ... or ''.")
      .def_readonly("private_copy", &VmaInfo::private_copy,
                    "True if backed by private frames (anonymous, or a COW'd file mapping).")
      .def_readonly("pid", &VmaInfo::pid, "The process whose mm holds this VMA.")
      .def_property_readonly(
          "size", [](const VmaInfo& v) { return v.end - v.start; }, "end - start, in bytes.")
      .def("__contains__", [](const VmaInfo& v, uint64_t a) { return v.start <= a && a < v.end; })
      .def("__repr__", &vma_repr);
}

void bind_page_info(py::module_& m) {
  py::class_<PageInfo>(m, "PageInfo", "Where the bytes of one guest page live.")
      .def_readonly("addr", &PageInfo::addr, "First address of the page.")
      .def_readonly("kind", &PageInfo::kind,
                    "'page-cache frame' (the file's shared page), 'private copy' (a COW'd file "
                    "page of this mm only) or 'anonymous'.")
      .def_readonly("ino", &PageInfo::ino, "Inode of the mapped file, or None.")
      .def_readonly("index", &PageInfo::index, "File page index, or None for anonymous memory.")
      .def_readonly("mapcount", &PageInfo::mapcount,
                    "Page-cache frames: how many VMAs (all mms) map this frame itself; else None.")
      .def_readonly("vma", &PageInfo::vma, "The VMA containing the page.")
      .def("__str__", [](const PageInfo& p) { return p.kind; })
      .def("__repr__", [](const PageInfo& p) {
        return "PageInfo(" + hex(p.addr) + ", '" + p.kind + "'" +
               (p.index ? ", index=" + std::to_string(*p.index) : "") + ")";
      });
}

void bind_immap_node(py::module_& m) {
  py::class_<ImmapNode>(m, "ImmapNode", "One node of a file's i_mmap interval tree.")
      .def_readonly("start", &ImmapNode::start, "First file page (vm_pgoff).")
      .def_readonly("last", &ImmapNode::last, "Last file page (closed interval).")
      .def_property_readonly(
          "interval", [](const ImmapNode& n) { return py::make_tuple(n.start, n.last); },
          "(start, last): the closed file-page interval, the tree's key.")
      .def_readonly("subtree_last", &ImmapNode::subtree_last,
                    "rb_subtree_last: the largest interval end in this node's subtree.")
      .def_readonly("depth", &ImmapNode::depth, "Depth in the tree (root 0).")
      .def_readonly("color", &ImmapNode::color, "'red' or 'black'.")
      .def_readonly("vma", &ImmapNode::vma, "The VMA this node is embedded in.")
      .def("__repr__", [](const ImmapNode& n) {
        return "ImmapNode([" + std::to_string(n.start) + ", " + std::to_string(n.last) +
               "], subtree_last=" + std::to_string(n.subtree_last) +
               ", depth=" + std::to_string(n.depth) + ", " + n.color +
               ", pid=" + std::to_string(n.vma.pid) + ")";
      });
}

void bind_sched_event(py::module_& m) {
  py::class_<SchedEvent>(m, "SchedEvent", "One scheduling decision of the machine.")
      .def_readonly("cpu", &SchedEvent::cpu, "Logical CPU.")
      .def_readonly("tid", &SchedEvent::tid, "The task (thread id).")
      .def_readonly("reason", &SchedEvent::reason, "'pick', 'preempt', 'block', 'wake' or 'idle'.")
      .def_readonly("insns", &SchedEvent::insns, "The task's instruction count then.")
      .def_readonly("time_ns", &SchedEvent::time_ns, "The CPU's virtual time then (ns).")
      .def(
          "__eq__",
          [](const SchedEvent& a, const SchedEvent& b) {
            return a.cpu == b.cpu && a.tid == b.tid && a.reason == b.reason && a.insns == b.insns &&
                   a.time_ns == b.time_ns;
          },
          py::is_operator())
      .def("__repr__", [](const SchedEvent& e) {
        return "SchedEvent(cpu=" + std::to_string(e.cpu) + ", tid=" + std::to_string(e.tid) +
               ", '" + e.reason + "', insns=" + std::to_string(e.insns) +
               ", time_ns=" + std::to_string(e.time_ns) + ")";
      });
}

void bind_exit(py::module_& m) {
  py::class_<Fault>(m, "Fault", "The guest fault that killed a process (a value, never raised).")
      .def_readonly("signo", &Fault::signo, "Signal delivered (11 = SIGSEGV, ...).")
      .def_readonly("si_code", &Fault::si_code, "siginfo si_code (SEGV_MAPERR 1, ...).")
      .def_readonly("addr", &Fault::addr, "si_addr: the faulting address.")
      .def_readonly("pc", &Fault::pc, "PC of the faulting instruction.")
      .def_readonly("pc_precise", &Fault::pc_precise, "False if pc was recovered by decoding.")
      .def_readonly("what", &Fault::what, "E.g. 'read of unmapped memory'.")
      .def("__repr__", &fault_repr);
  py::class_<ProcessExit>(m, "ProcessExit", "How a process ended.")
      .def_readonly("signaled", &ProcessExit::signaled, "True if killed by a signal.")
      .def_readonly("code", &ProcessExit::code, "Exit status (when not signaled).")
      .def_readonly("signo", &ProcessExit::signo, "Terminating signal (when signaled).")
      .def_readonly("core_dumped", &ProcessExit::core_dumped, "Core dump flag of the status.")
      .def_readonly("shell_status", &ProcessExit::shell_status, "code, or 128 + signo.")
      .def_readonly("description", &ProcessExit::description, "E.g. 'exited with status 0'.")
      .def_readonly("fault", &ProcessExit::fault, "The Fault that killed it, or None.")
      .def("__repr__", [](const ProcessExit& e) { return "ProcessExit('" + e.description + "')"; });
}

}  // namespace

std::string vma_repr(const VmaInfo& v) {
  std::string s = "<Vma " + hex(v.start) + "-" + hex(v.end) + " " + v.flags +
                  " pgoff=" + std::to_string(v.pgoff);
  if (v.file) s += " " + *v.file;
  if (!v.name.empty()) s += " " + v.name;
  if (v.file && v.private_copy) s += " (private copy)";
  return s + ">";
}

void bind_views(py::module_& m) {
  bind_vma(m);
  bind_page_info(m);
  bind_immap_node(m);
  bind_exit(m);
  bind_sched_event(m);
  def_pickle(m, "Vma",
             pickle_members(&VmaInfo::start, &VmaInfo::end, &VmaInfo::pgoff, &VmaInfo::vm_flags,
                            &VmaInfo::flags, &VmaInfo::file, &VmaInfo::ino, &VmaInfo::name,
                            &VmaInfo::private_copy, &VmaInfo::pid));
  def_pickle(m, "PageInfo",
             pickle_members(&PageInfo::addr, &PageInfo::kind, &PageInfo::ino, &PageInfo::index,
                            &PageInfo::mapcount, &PageInfo::vma));
  def_pickle(m, "ImmapNode",
             pickle_members(&ImmapNode::start, &ImmapNode::last, &ImmapNode::subtree_last,
                            &ImmapNode::depth, &ImmapNode::color, &ImmapNode::vma));
  def_pickle(m, "Fault",
             pickle_members(&Fault::signo, &Fault::si_code, &Fault::addr, &Fault::pc,
                            &Fault::pc_precise, &Fault::what));
  def_pickle(m, "ProcessExit",
             pickle_members(&ProcessExit::signaled, &ProcessExit::code, &ProcessExit::signo,
                            &ProcessExit::core_dumped, &ProcessExit::shell_status,
                            &ProcessExit::description, &ProcessExit::fault));
  def_pickle(m, "SchedEvent",
             pickle_members(&SchedEvent::cpu, &SchedEvent::tid, &SchedEvent::reason,
                            &SchedEvent::insns, &SchedEvent::time_ns));
}

}  // namespace probesim::python
