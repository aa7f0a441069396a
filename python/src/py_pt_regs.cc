#include "py_pt_regs.h"

#include <pybind11/stl.h>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convert.h"
#include "errors.h"
#include "probesim/assert.h"
#include "py_mm.h"

namespace py = pybind11;
using namespace pybind11::literals;

namespace probesim::python {
namespace {

using probes::Arm64Reg;
using probes::Regs;
using probes::X86Reg;

constexpr unsigned idx(X86Reg r) {
  return static_cast<unsigned>(r);
}
constexpr unsigned idx(Arm64Reg r) {
  return static_cast<unsigned>(r);
}

// Names beyond Linux's regoffset table (probes/regs.cc): arch-neutral spellings.
struct RegAlias {
  std::string_view name;
  Arch arch;
  unsigned index;
};
constexpr RegAlias kAliases[] = {
    {"pc", Arch::X86_64, idx(X86Reg::ip)},
    {"return_value", Arch::X86_64, idx(X86Reg::ax)},  // regs_return_value()
    {"ip", Arch::AArch64, idx(Arm64Reg::pc)},         // instruction_pointer()
    {"fp", Arch::AArch64, 29},
    {"lr", Arch::AArch64, 30},
    {"return_value", Arch::AArch64, 0},
};

constexpr int64_t kMaxErrno = 4095;  // include/linux/err.h MAX_ERRNO

std::optional<unsigned> reg_index(Arch arch, std::string_view name) {
  if (auto i = Regs::index_of(arch, name)) return i;
  for (const RegAlias& a : kAliases)
    if (a.arch == arch && a.name == name) return a.index;
  return std::nullopt;
}

unsigned checked_index(const Regs& r, const std::string& name) {
  auto i = reg_index(r.arch(), name);
  if (!i)
    throw py::attribute_error("no register '" + name + "' in " + std::string(arch_name(r.arch())) +
                              " pt_regs");
  return *i;
}

std::vector<std::string> names(Arch arch) {
  std::vector<std::string> out;
  for (unsigned i = 0; i < Regs::count(arch); ++i) out.emplace_back(Regs::name_of(arch, i));
  return out;
}

// regs.<name> reads and writes, and regs.arg(n).
void bind_regs_by_name(py::class_<PyPtRegs>& c) {
  c.def("__getattr__",
        [](const PyPtRegs& self, const std::string& name) {
          const Regs& r = self.regs("PtRegs");
          return r.get(checked_index(r, name));
        })
      .def("__setattr__",
           [](PyPtRegs& self, const std::string& name, py::handle value) {
             Regs& r = self.regs("PtRegs");
             unsigned i = checked_index(r, name);
             r.set(i, to_word(value, ("register " + name).c_str()));
           })
      .def(
          "arg",
          [](const PyPtRegs& self, unsigned n) {
            auto v = self.regs("PtRegs.arg").kernel_argument(n);
            if (!v)
              throw py::index_error("arg(" + std::to_string(n) + "): no such argument register");
            return *v;
          },
          "n"_a,
          "The n-th C argument at a function's entry (regs_get_kernel_argument: x86 di si dx "
          "cx r8 r9, aarch64 x0..x7).")
      .def_property_readonly(
          "return_value_signed",
          [](const PyPtRegs& self) {
            return static_cast<int64_t>(self.regs("PtRegs.return_value_signed").return_value());
          },
          "regs_return_value() as a signed 64-bit int (-2 for -ENOENT).")
      .def_property_readonly(
          "errno",
          [](const PyPtRegs& self) {
            auto v = static_cast<int64_t>(self.regs("PtRegs.errno").return_value());
            return v < 0 && v >= -kMaxErrno ? -v : 0;
          },
          "The errno a return value carries (IS_ERR_VALUE: -4095..-1 gives 1..4095), else 0.");
}

// names, as_dict(), dir() and repr().
void bind_regs_listing(py::class_<PyPtRegs>& c) {
  c.def_property_readonly(
       "names", [](const PyPtRegs& self) { return names(self.regs("PtRegs").arch()); },
       "Linux's register names of this arch, in pt_regs order.")
      .def(
          "as_dict",
          [](const PyPtRegs& self) {
            const Regs& r = self.regs("PtRegs.as_dict");
            py::dict d;
            for (unsigned i = 0; i < Regs::count(r.arch()); ++i)
              d[py::str(std::string(Regs::name_of(r.arch(), i)))] = r.get(i);
            return d;
          },
          "Every register as {Linux name: value}.")
      .def("__dir__",
           [](const PyPtRegs& self) {
             Arch a = self.regs("PtRegs").arch();
             std::vector<std::string> out = names(a);
             for (const RegAlias& al : kAliases)
               if (al.arch == a) out.emplace_back(al.name);
             out.insert(out.end(), {"arg", "as_dict", "errno", "names", "return_value_signed"});
             return out;
           })
      .def("__repr__", [](const PyPtRegs& self) {
        const Regs& r = self.regs("PtRegs");
        return "<probesim.PtRegs " + std::string(arch_name(r.arch())) +
               " ip=" + hex_addr(r.ip().value) + ">";
      });
}

void bind_regs_class(py::module_& m) {
  py::class_<PyPtRegs> c(
      m, "PtRegs",
      "The trapping CPU's registers in a probe handler (Linux's struct pt_regs): read and "
      "write them by Linux name (regs.ax, regs.di, regs.ip, regs.x0, regs.pc, regs.sp) or "
      "with the aliases ip, pc, sp, return_value (and fp, lr on aarch64). Writes take effect "
      "when the handler returns. Valid only during the handler call it was passed to.");
  bind_regs_by_name(c);
  bind_regs_listing(c);
}

void bind_instance_class(py::module_& m) {
  py::class_<PyKretprobeInstance>(
      m, "KretprobeInstance",
      "One in-flight return probe activation (Linux's struct kretprobe_instance), passed to "
      "kretprobe entry and return handlers. Valid only during that handler call.")
      .def_property_readonly(
          "ret_addr",
          [](const PyKretprobeInstance& self) {
            return self.instance("KretprobeInstance.ret_addr").ret_addr.value;
          },
          "The real return address (the return handler's regs.ip is the same).")
      .def_property_readonly(
          "task",
          [](const PyKretprobeInstance& self) {
            return self.instance("KretprobeInstance.task").task.value;
          },
          "The tid of the task that called the function (0: Machine.kernel_call).")
      .def_property_readonly(
          "entry_cycles",
          [](const PyKretprobeInstance& self) {
            return self.entry_cycles("KretprobeInstance.entry_cycles");
          },
          "The cycle counter (Context.cycles) when the function was entered: the return "
          "handler's ctx.cycles - ri.entry_cycles is the call's latency in cycles.")
      .def_property_readonly("data", &PyKretprobeInstance::data,
                             "data_size bytes of per-instance scratch as a bytearray: what the "
                             "entry handler writes, the return handler reads (size is fixed).");
}

}  // namespace

probes::Regs& PyPtRegs::regs(const char* what) const {
  if (!regs_)
    throw Error(std::string(what) +
                ": these registers belonged to a probe hit that is over (a PtRegs is valid only "
                "inside the handler call it was passed to)");
  return *regs_;
}

probes::KretprobeInstance& PyKretprobeInstance::instance(const char* what) const {
  if (!ri_)
    throw Error(std::string(what) +
                ": this kretprobe instance is only valid inside the handler call it was passed to");
  return *ri_;
}

uint64_t PyKretprobeInstance::entry_cycles(const char* what) const {
  instance(what);
  PROBESIM_ASSERT(entry_cycles_.has_value());
  return *entry_cycles_;
}

py::object PyKretprobeInstance::data() {
  probes::KretprobeInstance& ri = instance("KretprobeInstance.data");
  if (!data_) {
    auto bytes = ri.data();
    data_ = py::reinterpret_steal<py::object>(PyByteArray_FromStringAndSize(
        reinterpret_cast<const char*>(bytes.data()), static_cast<Py_ssize_t>(bytes.size())));
    if (!data_) throw py::error_already_set();
  }
  return data_;
}

void PyKretprobeInstance::finish() {
  if (ri_ && data_) {
    auto bytes = ri_->data();
    Py_ssize_t n = PyByteArray_Size(data_.ptr());
    if (n != static_cast<Py_ssize_t>(bytes.size())) {
      ri_ = nullptr;
      throw py::value_error("KretprobeInstance.data must keep its " + std::to_string(bytes.size()) +
                            " bytes (data_size), got " + std::to_string(n));
    }
    std::copy_n(PyByteArray_AsString(data_.ptr()), n, reinterpret_cast<char*>(bytes.data()));
  }
  ri_ = nullptr;
}

HandlerViews::HandlerViews(probes::Regs& regs, probes::KretprobeInstance* ri,
                           std::optional<uint64_t> entry_cycles) {
  regs_obj_ = py::cast(PyPtRegs(&regs));
  regs_ = regs_obj_.cast<PyPtRegs*>();
  if (ri) {
    ri_obj_ = py::cast(PyKretprobeInstance(ri, entry_cycles));
    ri_ = ri_obj_.cast<PyKretprobeInstance*>();
  } else {
    ri_obj_ = py::none();
  }
}

void HandlerViews::finish() {
  if (regs_) regs_->expire();
  regs_ = nullptr;
  PyKretprobeInstance* ri = ri_;
  ri_ = nullptr;
  if (ri) ri->finish();
}

HandlerViews::~HandlerViews() {
  if (regs_) regs_->expire();
  if (ri_) ri_->expire();
}

void bind_pt_regs(py::module_& m) {
  bind_regs_class(m);
  bind_instance_class(m);
}

}  // namespace probesim::python
