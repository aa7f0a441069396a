// Regs: the trapping CPU's registers in Linux pt_regs shape (x86_64 struct pt_regs order;
// arm64 struct user_pt_regs order: x0..x30, sp, pc, pstate). A plain value: the integrator
// fills it from the CPU before a hit and writes back the registers marked dirty afterwards.
// Handlers read and write it exactly like pt_regs (regs->ip, regs->ax, regs->regs[30]...).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

#include "probesim/types.h"

namespace probesim::probes {

// x86_64 struct pt_regs order (arch/x86/include/asm/ptrace.h).
enum class X86Reg : uint8_t {
  r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di, orig_ax, ip, cs, flags, sp,
  ss, kCount
};

// arm64 user_pt_regs order: x0..x30 are indices 0..30.
enum class Arm64Reg : uint8_t { sp = 31, pc = 32, pstate = 33, kCount = 34 };

constexpr uint64_t kX86FlagsIF = 1u << 9;
constexpr uint64_t kArm64DaifMask = 0x3c0;  // PSTATE.{D,A,I,F}

class Regs {
 public:
  static constexpr size_t kMaxRegs = 34;

  explicit Regs(Arch arch) : arch_(arch) {}

  Arch arch() const { return arch_; }
  static size_t count(Arch arch);
  // regs_query_register_offset: index of a Linux register name ("ax", "di", "ip", "x0", "pc",
  // "sp", ...), or nullopt.
  static std::optional<unsigned> index_of(Arch arch, std::string_view name);
  static std::string_view name_of(Arch arch, unsigned index);

  // By Linux name (fetch-args, notebooks): nullopt / false for an unknown name.
  std::optional<uint64_t> get(std::string_view name) const;
  bool set(std::string_view name, uint64_t v);

  uint64_t get(unsigned index) const { return r_[index]; }
  void set(unsigned index, uint64_t v) {
    r_[index] = v;
    dirty_ |= uint64_t{1} << index;
  }
  uint64_t get(X86Reg r) const { return r_[static_cast<unsigned>(r)]; }
  void set(X86Reg r, uint64_t v) { set(static_cast<unsigned>(r), v); }
  uint64_t x(unsigned n) const { return r_[n]; }  // arm64 x0..x30
  void set_x(unsigned n, uint64_t v) { set(n, v); }

  // instruction_pointer / kernel_stack_pointer / flags (x86 flags, arm64 pstate).
  GuestAddr ip() const { return GuestAddr{r_[ip_index()]}; }
  void set_ip(GuestAddr a) { set(ip_index(), a.value); }
  uint64_t sp() const { return r_[sp_index()]; }
  void set_sp(uint64_t v) { set(sp_index(), v); }
  uint64_t flags() const { return r_[flags_index()]; }
  // The frame pointer (x86 bp, arm64 x29): the frame record chain starts there.
  uint64_t frame_pointer() const;
  void set_flags(uint64_t v) { set(flags_index(), v); }
  // regs_return_value / regs_get_kernel_argument (x86: di si dx cx r8 r9; arm64: x0..x7).
  uint64_t return_value() const;
  std::optional<uint64_t> kernel_argument(unsigned n) const;

  // Registers 0..n-1 from n host-order words (a struct pt_regs the guest saved), as read: not
  // marked dirty.
  void load(const uint8_t* words, size_t n) { std::memcpy(r_.data(), words, n * sizeof r_[0]); }

  // Registers written since construction or the last clear_dirty(); bit i = index i.
  uint64_t dirty() const { return dirty_; }
  void clear_dirty() { dirty_ = 0; }
  bool operator==(const Regs& o) const { return arch_ == o.arch_ && r_ == o.r_; }

 private:
  unsigned ip_index() const;
  unsigned sp_index() const;
  unsigned flags_index() const;

  Arch arch_;
  std::array<uint64_t, kMaxRegs> r_{};
  uint64_t dirty_ = 0;
};

}  // namespace probesim::probes
