#include "py_kernel.h"

#include <pybind11/stl.h>

#include <algorithm>
#include <cstdio>
#include <tuple>

#include "convert.h"
#include "errors.h"
#include "pickle_fields.h"
#include "py_machine.h"
#include "py_mm.h"

namespace py = pybind11;
using namespace pybind11::literals;

namespace probesim::python {
namespace {

constexpr uint64_t kMaxRead = uint64_t{16} << 20;  // one read() call at most

// Bytes of [addr, addr + n): current (breakpoints included) or original (under breakpoints).
// Empty optional if any byte is not kernel memory.
std::optional<std::string> read_bytes(const Machine& m, GuestAddr addr, uint64_t n,
                                      bool original) {
  std::string buf(n, '\0');
  auto span = std::span<uint8_t>(reinterpret_cast<uint8_t*>(buf.data()), n);
  if (!m.read_kernel(addr.value, span, original)) return std::nullopt;
  return buf;
}

py::bytes read(const PyKernel& self, py::handle where, const py::int_& n_obj, bool original) {
  const char* what = original ? "Kernel.read_original" : "Kernel.read";
  Machine& k = self.get(what);
  GuestAddr addr = self.resolve(where, what);
  uint64_t n = to_u64(n_obj, "n");
  if (n > kMaxRead) throw BadArgument(std::string(what) + ": at most 16 MiB per call");
  auto bytes = read_bytes(k, addr, n, original);
  if (!bytes)
    throw BadArgument(std::string(what) + ": [" + hex_addr(addr.value) + ", " +
                      hex_addr(addr.value + n) + ") is not all kernel memory");
  return py::bytes(*bytes);
}

// Kernel.read_str: the C string at `where`, as Mm.read_str (page by page: kernel areas are
// page-granular).
py::str read_str(const PyKernel& self, py::handle where, const py::int_& max_obj) {
  const char* what = "Kernel.read_str";
  Machine& k = self.get(what);
  GuestAddr addr = self.resolve(where, what);
  uint64_t max = to_u64(max_obj, "max");
  if (max > kMaxRead) throw BadArgument("Kernel.read_str: max is at most 16 MiB");
  std::string out;
  for (uint64_t done = 0; done < max;) {
    uint64_t a = addr.value + done;
    uint64_t piece = std::min(max - done, kPageSize - (a & (kPageSize - 1)));
    auto bytes = read_bytes(k, GuestAddr{a}, piece, false);
    if (!bytes) {
      if (done == 0)
        throw BadArgument(std::string(what) + ": " + hex_addr(addr.value) +
                          " is not kernel memory");
      break;
    }
    size_t nul = bytes->find('\0');
    out += bytes->substr(0, nul);
    if (nul != std::string::npos) break;
    done += piece;
  }
  return to_str(out);
}

// The longest readable prefix of [addr, addr + want), halving on failure (listings only).
std::string readable_prefix(const Machine& k, GuestAddr addr, uint64_t want, bool original) {
  for (; want > 0; want /= 2)
    if (auto b = read_bytes(k, addr, want, original)) return *b;
  return {};
}

std::vector<Insn> disassemble(const PyKernel& self, py::handle where,
                              const std::optional<size_t>& count, bool original) {
  Machine& k = self.get("Kernel.disassemble");
  GuestAddr addr = self.resolve(where, "Kernel.disassemble");
  const Disassembler& d = self.machine->disassembler();
  uint64_t want = 0;
  size_t n = count.value_or(SIZE_MAX);
  if (count) {
    want = std::min<uint64_t>(*count, 1u << 16) * d.max_insn_len();
  } else {  // the rest of the function holding addr
    auto hit = k.kernel_symbol_at(addr.value);
    if (!hit)
      throw BadArgument("Kernel.disassemble: no symbol holds " + hex_addr(addr.value) +
                        ": pass count=");
    want = hit->symbol.size - hit->offset;
  }
  std::string code = readable_prefix(k, addr, want, original);
  return d.disassemble(
      addr.value,
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(code.data()), code.size()), n);
}

InsnSlots insn_slots(const PyKernel& self) {
  return self.get("Kernel.insn_slots").kprobe_insn_slots();
}

void bind_snapshots(py::module_& m) {
  py::class_<KernelSymbol>(m, "KernelSymbol", "One kallsyms entry of the guest kernel.")
      .def_readonly("name", &KernelSymbol::name, "The symbol name.")
      .def_property_readonly(
          "addr", [](const KernelSymbol& s) { return s.addr; }, "Start address.")
      .def_readonly("size", &KernelSymbol::size, "ELF st_size (0: a linker marker).")
      .def_property_readonly(
          "type", [](const KernelSymbol& s) { return std::string(1, s.type); },
          "nm letter: T/t text, R/r rodata, D/d data, B/b bss.")
      .def("__repr__", [](const KernelSymbol& s) {
        return "<KernelSymbol " + hex_addr(s.addr) + " " + std::string(1, s.type) + " " +
               s.name + " size=" + std::to_string(s.size) + ">";
      });
  py::class_<InsnSlot>(m, "InsnSlot", "One kprobe instruction slot and its bytes now.")
      .def_readonly("addr", &InsnSlot::addr, "The slot address.")
      .def_readonly("state", &InsnSlot::state, "'clean' (free), 'used' or 'dirty'.")
      .def_property_readonly(
          "bytes", [](const InsnSlot& s) { return py::bytes(s.bytes); }, "slot_size bytes.")
      .def("__repr__", [](const InsnSlot& s) {
        return "<InsnSlot " + hex_addr(s.addr) + " " + s.state + ">";
      });
  py::class_<InsnSlots>(m, "InsnSlots",
                            "The kprobe insn slot cache (kprobe_insn_cache), a snapshot.")
      .def_readonly("pages", &InsnSlots::pages, "Slot pages, newest first.")
      .def_readonly("slot_size", &InsnSlots::slot_size, "Bytes per slot (x86 16, arm64 8).")
      .def_readonly("slots_per_page", &InsnSlots::slots_per_page, "Slots in one page.")
      .def_readonly("nr_garbage", &InsnSlots::nr_garbage, "Dirty slots awaiting collection.")
      .def_readonly("slots", &InsnSlots::slots, "Every slot of every page, page by page.")
      .def_property_readonly(
          "used",
          [](const InsnSlots& v) {
            std::vector<InsnSlot> out;
            std::copy_if(v.slots.begin(), v.slots.end(), std::back_inserter(out),
                         [](const InsnSlot& s) { return s.state == "used"; });
            return out;
          },
          "The slots holding a probe's copy.");
}

void bind_symbols(py::class_<PyKernel>& c) {
  c.def_property_readonly(
       "symbols",
       [](const PyKernel& self) { return self.get("Kernel.symbols").kernel_symbols(); },
       "Every kallsyms entry, by ascending address.")
      .def(
          "lookup",
          [](const PyKernel& self, const std::string& name) {
            auto s = self.get("Kernel.lookup").kernel_symbol(name);
            if (!s) throw BadArgument("Kernel.lookup: no kernel symbol '" + name + "'");
            return std::make_tuple(s->addr, s->size);
          },
          "name"_a, "(addr, size) of a kernel symbol (kallsyms_lookup_name).")
      .def(
          "symbol_at",
          [](const PyKernel& self, const py::int_& addr) {
            return self.get("Kernel.symbol_at").kernel_symbolize(to_u64(addr, "addr"));
          },
          "addr"_a, "'function+0x4' for an address inside a kernel symbol, else None.")
      .def(
          "address",
          [](const PyKernel& self, py::handle where) {
            return self.resolve(where, "Kernel.address").value;
          },
          "where"_a, "The address of 'symbol[+offset]' (an int is returned as is).")
      .def_property_readonly(
          "blacklist",
          [](const PyKernel& self) {
            std::vector<std::tuple<uint64_t, uint64_t, std::string>> out;
            for (const auto& e : self.get("Kernel.blacklist").kprobe_blacklist())
              out.emplace_back(e.start, e.end, e.name);
            return out;
          },
          "The kprobe blacklist (debugfs kprobes/blacklist): (start, end, function) tuples.");
}

void bind_memory(py::class_<PyKernel>& c) {
  c.def(
       "read",
       [](const PyKernel& s, py::handle w, const py::int_& n) { return read(s, w, n, false); },
       "where"_a, "n"_a,
       "n bytes of kernel memory at an address or 'symbol[+offset]', as the CPU sees them "
       "(breakpoints included).")
      .def("read_str", &read_str, "where"_a, "max"_a = 4096,
           "The C string at `where` in kernel memory: bytes up to the first NUL, at most `max`, "
           "stopping early at the end of kernel memory (BadArgument if `where` is not kernel "
           "memory).")
      .def(
          "read_original",
          [](const PyKernel& s, py::handle w, const py::int_& n) { return read(s, w, n, true); },
          "where"_a, "n"_a, "As read(), with the original bytes under kprobe breakpoints.")
      .def("disassemble", &disassemble, "where"_a, "count"_a = py::none(), py::kw_only(),
           "original"_a = false,
           "Capstone listing of kernel code at an address or 'symbol[+offset]': `count` "
           "instructions, or (None) the rest of the function. original=True lists the bytes "
           "under breakpoints instead of the breakpoints.")
      .def_property_readonly("insn_slots", &insn_slots,
                             "The kprobe insn slot pages and every slot's state and bytes.");
}

}  // namespace

Machine& PyKernel::get(const char* what) const {
  Machine& m = machine->handler_machine(what);
  if (!m.has_kernel()) throw Error(std::string(what) + ": this machine runs without a guest kernel");
  return m;
}

GuestAddr PyKernel::resolve(py::handle where, const char* what) const {
  ProbeTarget t = to_probe_target(where, what);
  if (t.symbol.empty()) return GuestAddr{t.addr};
  auto s = get(what).kernel_symbol(t.symbol);
  if (!s) throw BadArgument(std::string(what) + ": no kernel symbol '" + t.symbol + "'");
  return GuestAddr{s->addr + t.offset};
}

void bind_kernel(py::module_& m) {
  bind_snapshots(m);
  def_pickle(m, "KernelSymbol",
             pickle_members(&KernelSymbol::name, &KernelSymbol::addr, &KernelSymbol::size,
                            &KernelSymbol::type));
  def_pickle(m, "InsnSlot", pickle_members(&InsnSlot::addr, &InsnSlot::state, &InsnSlot::bytes));
  def_pickle(m, "InsnSlots",
             pickle_members(&InsnSlots::pages, &InsnSlots::slot_size, &InsnSlots::slots_per_page,
                            &InsnSlots::nr_garbage, &InsnSlots::slots));
  py::class_<PyKernel> c(m, "Kernel",
                         "The guest kernel of a Machine (Machine.kernel): kallsyms, memory, "
                         "listings, blacklist, oopses and kprobe insn slots.");
  c.def_property_readonly(
       "boot_log", [](const PyKernel& self) { return self.get("Kernel.boot_log").kernel_boot_log(); },
       "The boot functions that reported, in order (start_kernel ... rest_init).")
      .def_property_readonly(
          "oopses", [](const PyKernel& self) { return self.get("Kernel.oopses").kernel_oopses(); },
          "Kernel-mode faults so far (each killed its task or failed its kernel_call).")
      .def_property_readonly(
          "panic",
          [](const PyKernel& self) { return self.get("Kernel.panic").kernel_panic(); },
          "The panic message ('' if the kernel did not panic).")
      .def("__repr__", [](const PyKernel& self) {
        return "<probesim.Kernel of " + self.machine->arch_name() + " machine>";
      });
  bind_symbols(c);
  bind_memory(c);
}

}  // namespace probesim::python
