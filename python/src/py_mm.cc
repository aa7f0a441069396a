#include "py_mm.h"

#include <pybind11/stl.h>

#include <algorithm>
#include <cstdio>
#include <span>

#include "convert.h"
#include "emu/api/snapshots.h"
#include "errors.h"
#include "mmu/inode.h"
#include "probesim/assert.h"
#include "py_machine.h"
#include "views.h"
#include "probesim/hex.h"

namespace py = pybind11;
using namespace pybind11::literals;

namespace probesim::python {
namespace {

constexpr uint64_t kMaxAccess = uint64_t{64} << 20;  // one read()/write() call at most

std::string range_text(uint64_t addr, uint64_t n, int pid) {
  return "[" + hex_addr(addr) + ", " + hex_addr(addr + n) + ") of pid " + std::to_string(pid);
}

// Snapshots through the public API (probesim/inspect.h); the process exists (never removed).
template <class T>
T snapshot(Result<T> r) {
  PROBESIM_ASSERT(r.ok());
  return std::move(r).value();
}

std::vector<VmaInfo> vmas(const PyMm& mm) {
  return snapshot(mm.proc.machine->handler_machine("Mm.vmas").vmas(mm.proc.pid));
}

std::optional<VmaInfo> vma_at(const PyMm& mm, const py::int_& addr) {
  Machine& m = mm.proc.machine->handler_machine("Mm.vma_at");
  return snapshot(m.vma_at(mm.proc.pid, GuestAddr{to_u64(addr, "addr")}));
}

py::bytes read(const PyMm& mm, const py::int_& addr_obj, const py::int_& n_obj) {
  emu::Process& p = mm.proc.view("Mm.read");
  uint64_t addr = to_u64(addr_obj, "addr");
  uint64_t n = to_u64(n_obj, "n");
  if (n > kMaxAccess) throw BadArgument("Mm.read: at most 64 MiB per call");
  std::string buf(n, '\0');
  if (!p.mm().peek(GuestAddr{addr}, buf.data(), n))
    throw BadArgument("Mm.read: " + range_text(addr, n, p.pid()) + " is not all mapped");
  return py::bytes(buf);
}

// Translations of the written code must go (DESIGN.md: code patching always invalidates):
// in this process, and in every process mapping the same page-cache frames when the write
// went to the page cache (MAP_SHARED).
void invalidate_written(emu::MachineState& s, emu::Process& p, uint64_t addr, uint64_t n) {
  if (p.cpu()) p.cpu()->invalidate_code(GuestAddr{addr}, n);
  const mmu::Vma* v = p.mm().vma_at(GuestAddr{addr});
  if (!v || !v->vm_file || v->private_copy()) return;
  uint64_t off = (v->vm_pgoff << kPageShift) + (addr - v->vm_start.value);
  uint64_t first = off >> kPageShift, last = (off + n - 1) >> kPageShift;
  v->vm_file->i_mapping().i_mmap().for_each_overlap(first, last, [&](mmu::Vma* o) {
    emu::Process* owner = s.process(emu::pid_of(s, o->vm_mm));
    if (o == v || o->private_copy() || !owner || !owner->cpu()) return;
    uint64_t lo = std::max(off, o->vm_pgoff << kPageShift);
    uint64_t hi = std::min(off + n, (o->vm_pgoff << kPageShift) + o->len());
    uint64_t va = o->vm_start.value + (lo - (o->vm_pgoff << kPageShift));
    owner->cpu()->invalidate_code(GuestAddr{va}, hi - lo);
  });
}

void write(const PyMm& mm, const py::int_& addr_obj, const py::buffer& data) {
  emu::MachineState& s = mm.proc.machine->state("Mm.write");
  emu::Process& p = mm.proc.get("Mm.write");
  uint64_t addr = to_u64(addr_obj, "addr");
  py::buffer_info info = data.request();
  uint64_t n = static_cast<uint64_t>(info.size * info.itemsize);
  if (n > kMaxAccess) throw BadArgument("Mm.write: at most 64 MiB per call");
  if (n == 0) return;
  // Page by page, so that a write crossing VMAs invalidates each piece's own mappers.
  for (uint64_t done = 0; done < n;) {
    uint64_t a = addr + done;
    uint64_t piece = std::min(n - done, kPageSize - (a & (kPageSize - 1)));
    if (!p.mm().poke(GuestAddr{a}, static_cast<const uint8_t*>(info.ptr) + done, piece))
      throw BadArgument("Mm.write: " + range_text(a, n - done, p.pid()) + " is not all mapped (" +
                        std::to_string(done) + " bytes were written)");
    invalidate_written(s, p, a, piece);
    done += piece;
  }
}

// Mm.read_str: the bytes from addr up to the first NUL (excluded), at most max_obj of them,
// stopping early at the first byte that cannot be read (strncpy_from_user without the fault).
py::str read_str(const PyMm& mm, const py::int_& addr_obj, const py::int_& max_obj) {
  emu::Process& p = mm.proc.view("Mm.read_str");
  uint64_t addr = to_u64(addr_obj, "addr");
  uint64_t max = to_u64(max_obj, "max");
  if (max > kMaxAccess) throw BadArgument("Mm.read_str: max is at most 64 MiB");
  std::string out;
  uint64_t done = 0;
  while (done < max) {
    uint64_t a = addr + done;
    uint64_t piece = std::min(max - done, kPageSize - (a & (kPageSize - 1)));
    size_t at = out.size();
    out.resize(at + piece);
    if (!p.mm().peek(GuestAddr{a}, out.data() + at, piece)) {
      out.resize(at);
      if (done == 0)
        throw BadArgument("Mm.read_str: " + hex_addr(addr) + " is not mapped in pid " +
                          std::to_string(p.pid()));
      break;
    }
    if (size_t nul = out.find('\0', at); nul != std::string::npos) {
      out.resize(nul);
      break;
    }
    done += piece;
  }
  return to_str(out);
}

// How read_struct decodes: a ctypes type (it has from_buffer_copy: Structure, Union, Array, a
// simple type), else a struct.Struct or a struct-module format string.
bool is_ctypes_type(const py::object& fmt) {
  return PyType_Check(fmt.ptr()) && py::hasattr(fmt, "from_buffer_copy");
}

py::object struct_of(const py::object& fmt) {
  py::module_ st = py::module_::import("struct");
  if (py::isinstance(fmt, st.attr("Struct"))) return fmt;
  if (!py::isinstance<py::str>(fmt) && !py::isinstance<py::bytes>(fmt))
    throw py::type_error(
        "Mm.read_struct: fmt is a struct format (str, struct.Struct) or a "
        "ctypes type (a Structure subclass, c_uint32 * 4, ...), got " +
        std::string(py::repr(fmt)));
  try {
    return st.attr("Struct")(fmt);
  } catch (py::error_already_set& e) {
    if (!e.matches(st.attr("error"))) throw;
    throw BadArgument("Mm.read_struct: bad struct format " + std::string(py::repr(fmt)) + ": " +
                      std::string(py::str(e.value())));
  }
}

// Mm.read_struct: sizeof(fmt) bytes at addr, decoded (a tuple, or a ctypes instance).
py::object read_struct(const PyMm& mm, const py::int_& addr, const py::object& fmt) {
  if (is_ctypes_type(fmt)) {
    py::int_ size = py::module_::import("ctypes").attr("sizeof")(fmt);
    return fmt.attr("from_buffer_copy")(read(mm, addr, size));
  }
  py::object st = struct_of(fmt);
  return st.attr("unpack")(read(mm, addr, py::int_(st.attr("size"))));
}

PageInfo page_info(const PyMm& mm, const py::int_& addr_obj) {
  Machine& m = mm.proc.machine->handler_machine("Mm.page_info");
  uint64_t addr = to_u64(addr_obj, "addr");
  auto vma = snapshot(m.vma_at(mm.proc.pid, GuestAddr{addr}));
  if (!vma)
    throw BadArgument("Mm.page_info: " + hex_addr(addr) + " is not mapped in pid " +
                      std::to_string(mm.proc.pid));
  return snapshot(m.page(mm.proc.pid, GuestAddr{addr}));
}

py::bytes read_original(const PyMm& mm, const py::int_& addr_obj, const py::int_& n_obj) {
  emu::Process& p = mm.proc.view("Mm.read_original");
  uint64_t addr = to_u64(addr_obj, "addr");
  uint64_t n = to_u64(n_obj, "n");
  if (n > kMaxAccess) throw BadArgument("Mm.read_original: at most 64 MiB per call");
  std::string buf(n, '\0');
  auto out = std::span<uint8_t>(reinterpret_cast<uint8_t*>(buf.data()), n);
  if (!mm.proc.machine->handler_state("Mm.read_original")
           .uprobes()
           .read_original(p.mm(), GuestAddr{addr}, out))
    throw BadArgument("Mm.read_original: " + range_text(addr, n, p.pid()) + " is not all mapped");
  return py::bytes(buf);
}

struct PageStateName {
  mmu::PageState state;
  const char* name;
};
constexpr PageStateName kPageStates[] = {
    {mmu::PageState::Unmapped, "unmapped"},        {mmu::PageState::Anonymous, "anonymous"},
    {mmu::PageState::PageCache, "page-cache"},     {mmu::PageState::ReplacedPage, "replaced"},
    {mmu::PageState::PrivateCopy, "private-copy"},
};

std::string page_state(const PyMm& mm, const py::int_& addr) {
  mmu::PageState st =
      mm.proc.view("Mm.page_state").mm().page_state(GuestAddr{to_u64(addr, "addr")});
  for (const PageStateName& n : kPageStates)
    if (n.state == st) return n.name;
  PROBESIM_ASSERT(false);  // every PageState has a name in kPageStates
  return {};
}

std::optional<uint64_t> xol_vaddr(const PyMm& mm) {
  emu::Process& p = mm.proc.view("Mm.xol_vaddr");
  auto v = mm.proc.machine->handler_state("Mm.xol_vaddr").uprobes().xol_vaddr(p.mm());
  if (!v) return std::nullopt;
  return v->value;
}

bool has_uprobes(const PyMm& mm) {
  emu::Process& p = mm.proc.view("Mm.has_uprobes");
  return mm.proc.machine->handler_state("Mm.has_uprobes").uprobes().mm_flags(p.mm()).has_uprobes;
}

py::dict mm_stats(const PyMm& mm) {
  const mmu::Mm::Stats& s = mm.proc.view("Mm.stats").mm().stats();
  return py::dict("private_copies"_a = s.private_copies, "merges"_a = s.merges,
                  "splits"_a = s.splits, "replaced_pages"_a = s.replaced_pages,
                  "dropped_pages"_a = s.dropped_pages);
}

}  // namespace

std::string hex_addr(uint64_t addr) { return hex(addr); }

std::vector<uint8_t> peek_prefix(const mmu::Mm& mm, uint64_t addr, uint64_t n) {
  std::vector<uint8_t> out(n);
  if (mm.peek(GuestAddr{addr}, out.data(), n)) return out;
  uint64_t got = 0;
  while (got < n) {
    uint64_t piece = std::min(n - got, kPageSize - ((addr + got) & (kPageSize - 1)));
    if (!mm.peek(GuestAddr{addr + got}, out.data() + got, piece)) break;
    got += piece;
  }
  out.resize(got);
  return out;
}

void bind_mm(py::module_& m) {
  py::class_<PyMm>(m, "Mm", "A process's address space (Linux's mm_struct), as the model holds it.")
      .def_property_readonly(
          "pid", [](const PyMm& mm) { return mm.proc.pid; }, "Owner's pid.")
      .def_property_readonly("vmas", &vmas, "The VMAs in address order (snapshots).")
      .def("vma_at", &vma_at, "addr"_a, "The VMA containing addr, or None.")
      .def("read", &read, "addr"_a, "n"_a,
           "Read n bytes at addr (ignores protections; BadArgument if any byte is unmapped).")
      .def("write", &write, "addr"_a, "data"_a,
           "Write bytes at addr, as a debugger does (ignores protections). Writing a private "
           "file mapping first gives this mm a private copy (COW); the page cache stays intact.")
      .def("read_str", &read_str, "addr"_a, "max"_a = 4096,
           "The C string at addr: bytes up to the first NUL, at most `max`, stopping early at "
           "unmapped memory (BadArgument if addr itself is unmapped); invalid UTF-8 shows as "
           "\\xNN escapes.")
      .def("read_struct", &read_struct, "addr"_a, "fmt"_a,
           "Read and decode a structure at addr: fmt is a struct-module format ('<IIQ', or a "
           "struct.Struct; returns the unpacked tuple) or a ctypes type (a Structure subclass, "
           "an array type such as c_uint64 * 4; returns an instance holding a copy). "
           "BadArgument if any byte is unmapped or the format is bad.")
      .def("read_original", &read_original, "addr"_a, "n"_a,
           "As read(), with the original instruction bytes under uprobe breakpoints (what the "
           "program's file holds there).")
      .def("page_info", &page_info, "addr"_a,
           "Where the page holding addr lives: 'page-cache frame', 'private copy' or 'anonymous'.")
      .def("page_state", &page_state, "addr"_a,
           "What backs the page holding addr: 'page-cache' (the file's frame, shared with every "
           "process mapping it), 'replaced' (this process's own copy of that one page: a uprobe "
           "breakpoint is or was there), 'private-copy' (the whole mapping was copied: written "
           "or writable), 'anonymous' or 'unmapped'.")
      .def_property_readonly("xol_vaddr", &xol_vaddr,
                             "Start of the [uprobes] XOL area (created at the first uprobe hit "
                             "that steps out of line, or a uretprobe), or None.")
      .def_property_readonly("has_uprobes", &has_uprobes,
                             "MMF_HAS_UPROBES: a uprobe breakpoint may be installed here.")
      .def_property_readonly(
          "start_brk",
          [](const PyMm& mm) { return mm.proc.view("Mm.start_brk").mm().start_brk().value; },
          "Start of the heap (brk area).")
      .def_property_readonly(
          "brk", [](const PyMm& mm) { return mm.proc.view("Mm.brk").mm().cur_brk().value; },
          "Current program break.")
      .def_property_readonly("stats", &mm_stats,
                             "Counters of the model: private_copies, merges, splits, "
                             "replaced_pages and dropped_pages (uprobes' single-page copies).")
      .def("__repr__", [](const PyMm& mm) {
        return "<probesim.Mm of pid " + std::to_string(mm.proc.pid) + ">";
      });
}

}  // namespace probesim::python
