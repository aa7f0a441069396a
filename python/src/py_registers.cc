#include "py_registers.h"

#include <pybind11/stl.h>
#include <unicorn/unicorn.h>

#include <string>
#include <vector>

#include "convert.h"
#include "emu/user_regs.h"
#include "errors.h"
#include "guest/kernel/include/entry_abi.h"
#include "py_machine.h"

namespace py = pybind11;
using namespace pybind11::literals;

namespace probesim::python {
namespace {

// Only integer registers of at most 64 bits (Cpu::reg reads a uint64_t).
constexpr RegisterName kX86_64[] = {
    {"rax", UC_X86_REG_RAX},         {"rbx", UC_X86_REG_RBX},         {"rcx", UC_X86_REG_RCX},
    {"rdx", UC_X86_REG_RDX},         {"rsi", UC_X86_REG_RSI},         {"rdi", UC_X86_REG_RDI},
    {"rbp", UC_X86_REG_RBP},         {"rsp", UC_X86_REG_RSP},         {"r8", UC_X86_REG_R8},
    {"r9", UC_X86_REG_R9},           {"r10", UC_X86_REG_R10},         {"r11", UC_X86_REG_R11},
    {"r12", UC_X86_REG_R12},         {"r13", UC_X86_REG_R13},         {"r14", UC_X86_REG_R14},
    {"r15", UC_X86_REG_R15},         {"rip", UC_X86_REG_RIP},         {"eflags", UC_X86_REG_EFLAGS},
    {"fs_base", UC_X86_REG_FS_BASE}, {"gs_base", UC_X86_REG_GS_BASE}, {"pc", UC_X86_REG_RIP},
    {"sp", UC_X86_REG_RSP},
};

constexpr RegisterName kAArch64[] = {
    {"x0", UC_ARM64_REG_X0},     {"x1", UC_ARM64_REG_X1},
    {"x2", UC_ARM64_REG_X2},     {"x3", UC_ARM64_REG_X3},
    {"x4", UC_ARM64_REG_X4},     {"x5", UC_ARM64_REG_X5},
    {"x6", UC_ARM64_REG_X6},     {"x7", UC_ARM64_REG_X7},
    {"x8", UC_ARM64_REG_X8},     {"x9", UC_ARM64_REG_X9},
    {"x10", UC_ARM64_REG_X10},   {"x11", UC_ARM64_REG_X11},
    {"x12", UC_ARM64_REG_X12},   {"x13", UC_ARM64_REG_X13},
    {"x14", UC_ARM64_REG_X14},   {"x15", UC_ARM64_REG_X15},
    {"x16", UC_ARM64_REG_X16},   {"x17", UC_ARM64_REG_X17},
    {"x18", UC_ARM64_REG_X18},   {"x19", UC_ARM64_REG_X19},
    {"x20", UC_ARM64_REG_X20},   {"x21", UC_ARM64_REG_X21},
    {"x22", UC_ARM64_REG_X22},   {"x23", UC_ARM64_REG_X23},
    {"x24", UC_ARM64_REG_X24},   {"x25", UC_ARM64_REG_X25},
    {"x26", UC_ARM64_REG_X26},   {"x27", UC_ARM64_REG_X27},
    {"x28", UC_ARM64_REG_X28},   {"x29", UC_ARM64_REG_X29},
    {"x30", UC_ARM64_REG_X30},   {"sp", UC_ARM64_REG_SP},
    {"pc", UC_ARM64_REG_PC},     {"pstate", UC_ARM64_REG_PSTATE},
    {"nzcv", UC_ARM64_REG_NZCV}, {"tpidr_el0", UC_ARM64_REG_TPIDR_EL0},
    {"fp", UC_ARM64_REG_X29},    {"lr", UC_ARM64_REG_X30},
};

const RegisterName* lookup(Arch arch, std::string_view name) {
  for (const RegisterName& r : register_names(arch))
    if (r.name == name) return &r;
  return nullptr;
}

// Registers that stay in the CPU while a task is inside the guest kernel (the entry code never
// saves them in pt_regs): read from the engine or the saved context even then.
constexpr int kCpuKept[] = {UC_X86_REG_FS_BASE, UC_X86_REG_GS_BASE, UC_ARM64_REG_TPIDR_EL0,
                            UC_ARM64_REG_PSTATE};

bool cpu_kept(Arch arch, int uc_reg) {
  bool x86 = arch == Arch::X86_64;
  for (size_t i = 0; i < std::size(kCpuKept); ++i)
    if (kCpuKept[i] == uc_reg && (i < 2) == x86) return true;
  return false;
}

// Where the main thread's user-mode registers are (what ptrace would show):
// - in user mode: in the engine while the thread is resident, else in its saved context
//   (Process::switch_to moves them);
// - inside the guest kernel (a syscall, or a fresh task at ret_from_fork): general registers,
//   PC, SP and flags are the pt_regs at the top of its kernel stack (emu::UserRegs); the
//   registers the kernel never saves (kCpuKept) are still the CPU's.
struct RegisterFile {
  emu::Cpu& cpu;
  emu::CpuContext* saved;  // null: the engine holds them
  uint8_t* pt_regs;        // non-null: the thread is inside the kernel

  bool from_pt_regs(int uc_reg) const {
    return pt_regs && (!saved || !cpu_kept(cpu.arch(), uc_reg));
  }
  uint64_t get(int uc_reg) const {
    if (from_pt_regs(uc_reg)) return emu::UserRegs(cpu, pt_regs).reg(uc_reg);
    return saved ? cpu.context_reg(*saved, uc_reg) : cpu.reg(uc_reg);
  }
  void set(int uc_reg, uint64_t v) {
    if (from_pt_regs(uc_reg))
      emu::UserRegs(cpu, pt_regs).set_reg(uc_reg, v);
    else if (saved)
      cpu.set_context_reg(*saved, uc_reg, v);
    else
      cpu.set_reg(uc_reg, v);
  }
};

// The host bytes of t's user pt_regs if t is inside the guest kernel, else null.
uint8_t* kernel_pt_regs(emu::MachineState& s, emu::Task& t, emu::Cpu& cpu, emu::CpuContext* saved) {
  const emu::GuestKernel* k = s.kernel();
  if (!k) return nullptr;
  int pc_reg = cpu.info().reg_pc;
  uint64_t pc = saved ? cpu.context_reg(*saved, pc_reg) : cpu.reg(pc_reg);
  if (!k->space().contains(GuestAddr{pc})) return nullptr;
  uint64_t size = s.arch() == Arch::X86_64 ? PTREGS_X86_64_SIZE : PTREGS_ARM64_SIZE;
  return k->space().host(t.kstack_top - size, size);
}

RegisterFile registers_of(const PyRegisters& regs, const char* what) {
  emu::Process& p = regs.proc.get(what);
  emu::Task& t = p.main_task();
  if (!p.cpu())
    throw Error(std::string(what) + ": pid " + std::to_string(p.pid()) +
                " has exited: its registers are gone (its mm stays for inspection)");
  if (t.state == emu::TaskState::Dead)
    throw Error(std::string(what) + ": the main thread of pid " + std::to_string(p.pid()) +
                " has exited (other threads' registers are not exposed yet)");
  bool resident = p.resident() == &t || !t.context;
  emu::CpuContext* saved = resident ? nullptr : t.context.get();
  emu::MachineState& s = regs.proc.machine->state(what);
  return RegisterFile{*p.cpu(), saved, kernel_pt_regs(s, t, *p.cpu(), saved)};
}

int reg_of(const PyRegisters& regs, const std::string& name) {
  const RegisterName* r = lookup(regs.proc.machine->options().arch, name);
  if (!r)
    throw py::attribute_error("no register '" + name + "' on " + regs.proc.machine->arch_name());
  return r->uc_reg;
}

uint64_t get(const PyRegisters& regs, const std::string& name) {
  int uc_reg = reg_of(regs, name);
  return registers_of(regs, "Registers").get(uc_reg);
}

void set(const PyRegisters& regs, const std::string& name, const py::int_& value) {
  int uc_reg = reg_of(regs, name);
  uint64_t v = to_u64(value, name.c_str());
  registers_of(regs, "Registers").set(uc_reg, v);
}

std::vector<std::string> names(const PyRegisters& regs) {
  std::vector<std::string> out;
  for (const RegisterName& r : register_names(regs.proc.machine->options().arch))
    out.emplace_back(r.name);
  return out;
}

py::dict as_dict(const PyRegisters& regs) {
  RegisterFile file = registers_of(regs, "Registers.as_dict");
  py::dict d;
  for (const RegisterName& r : register_names(regs.proc.machine->options().arch))
    d[py::str(std::string(r.name))] = file.get(r.uc_reg);
  return d;
}

}  // namespace

std::span<const RegisterName> register_names(Arch arch) {
  if (arch == Arch::X86_64) return kX86_64;
  return kAArch64;
}

void bind_registers(py::module_& m) {
  py::class_<PyRegisters>(
      m, "Registers",
      "A stopped process's user-mode registers as attributes (regs.rip, regs.x0, regs.pc), "
      "as ptrace shows them (inside a syscall: the pt_regs the kernel saved). Readable and "
      "writable between runs while the process is alive.")
      .def("__getattr__", &get, "name"_a)
      .def("__setattr__", &set, "name"_a, "value"_a)
      .def("__dir__",
           [](const PyRegisters& r) {
             std::vector<std::string> out = names(r);
             out.insert(out.end(), {"as_dict", "names"});
             return out;
           })
      .def_property_readonly("names", &names, "Register names of this arch (aliases last).")
      .def("as_dict", &as_dict, "All registers as {name: value}.")
      .def("__repr__", [](const PyRegisters& r) {
        return "<probesim.Registers of pid " + std::to_string(r.proc.pid) + ">";
      });
}

}  // namespace probesim::python
