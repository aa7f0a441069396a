// PtRegs: the registers of the CPU that hit a probe, in Linux's pt_regs shape (x86_64 struct
// pt_regs order; arm64 user_pt_regs: x0..x30, sp, pc, pstate), for the length of one handler
// call (Linux's `struct pt_regs *regs`). Writes go back to the CPU when the handler returns.
// Register names are Linux's (regs_query_register_offset): "ax", "di", "ip", "x0", "pc", "sp".
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "probesim/types.h"

namespace probesim {

namespace probes {
class Regs;
}

class PtRegs {
 public:
  // For the library: a view of the engine's registers (valid while the handler runs).
  explicit PtRegs(probes::Regs& regs) : r_(&regs) {}

  Arch arch() const;
  size_t count() const;                          // registers of this arch's pt_regs
  std::string_view name_of(unsigned index) const;  // "" past count()
  std::optional<unsigned> index_of(std::string_view name) const;
  // By Linux name: nullopt / false for an unknown name.
  std::optional<uint64_t> get(std::string_view name) const;
  bool set(std::string_view name, uint64_t value);
  // By pt_regs index. Precondition: index < count().
  uint64_t get(unsigned index) const;
  void set(unsigned index, uint64_t value);

  GuestAddr ip() const;  // instruction_pointer
  void set_ip(GuestAddr ip);
  uint64_t sp() const;     // kernel_stack_pointer / user_stack_pointer
  uint64_t flags() const;  // x86 flags, arm64 pstate
  uint64_t return_value() const;  // regs_return_value (ax / x0)
  // regs_get_kernel_argument: x86 di si dx cx r8 r9; arm64 x0..x7. nullopt past the last.
  std::optional<uint64_t> argument(unsigned n) const;

  probes::Regs& engine_regs() const { return *r_; }  // for the library and bindings

 private:
  probes::Regs* r_;
};

}  // namespace probesim
