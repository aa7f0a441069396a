#include "probes/regs.h"

#include <span>

#include "probes/arch/pt_regs_table.h"

namespace probesim::probes {
namespace {

// Linux's regoffset tables (arch/x86/kernel/ptrace.c, arch/arm64/kernel/ptrace.c): the
// names of pt_regs' words in order (arch/pt_regs_table.h), so index = byte offset / 8.
#define PROBESIM_REG_NAME(name, offset, uc_reg) #name,
constexpr std::string_view kX86Names[] = {PROBESIM_PT_REGS_X86_64(PROBESIM_REG_NAME)};
constexpr std::string_view kArm64Names[] = {PROBESIM_PT_REGS_ARM64(PROBESIM_REG_NAME)};
#undef PROBESIM_REG_NAME
#define PROBESIM_REG_OFFSET(name, offset, uc_reg) (offset),
constexpr int kX86Offsets[] = {PROBESIM_PT_REGS_X86_64(PROBESIM_REG_OFFSET)};
constexpr int kArm64Offsets[] = {PROBESIM_PT_REGS_ARM64(PROBESIM_REG_OFFSET)};
#undef PROBESIM_REG_OFFSET
constexpr bool word_order(std::span<const int> offsets) {
  for (size_t i = 0; i < offsets.size(); ++i)
    if (offsets[i] != static_cast<int>(i * 8)) return false;
  return true;
}
static_assert(word_order(kX86Offsets) && word_order(kArm64Offsets));
static_assert(std::size(kX86Names) == static_cast<size_t>(X86Reg::kCount));
static_assert(std::size(kArm64Names) == static_cast<size_t>(Arm64Reg::kCount));

constexpr X86Reg kX86Args[] = {X86Reg::di, X86Reg::si, X86Reg::dx,
                               X86Reg::cx, X86Reg::r8, X86Reg::r9};

std::span<const std::string_view> names(Arch arch) {
  if (arch == Arch::X86_64) return kX86Names;
  return kArm64Names;
}

}  // namespace

size_t Regs::count(Arch arch) { return names(arch).size(); }

std::optional<unsigned> Regs::index_of(Arch arch, std::string_view name) {
  const auto table = names(arch);
  for (unsigned i = 0; i < table.size(); ++i) {
    if (table[i] == name) return i;
  }
  return std::nullopt;
}

std::string_view Regs::name_of(Arch arch, unsigned index) {
  const auto table = names(arch);
  return index < table.size() ? table[index] : std::string_view{};
}

std::optional<uint64_t> Regs::get(std::string_view name) const {
  const auto i = index_of(arch_, name);
  if (!i) return std::nullopt;
  return r_[*i];
}

bool Regs::set(std::string_view name, uint64_t v) {
  const auto i = index_of(arch_, name);
  if (!i) return false;
  set(*i, v);
  return true;
}

unsigned Regs::ip_index() const {
  return arch_ == Arch::X86_64 ? static_cast<unsigned>(X86Reg::ip)
                               : static_cast<unsigned>(Arm64Reg::pc);
}
unsigned Regs::sp_index() const {
  return arch_ == Arch::X86_64 ? static_cast<unsigned>(X86Reg::sp)
                               : static_cast<unsigned>(Arm64Reg::sp);
}
unsigned Regs::flags_index() const {
  return arch_ == Arch::X86_64 ? static_cast<unsigned>(X86Reg::flags)
                               : static_cast<unsigned>(Arm64Reg::pstate);
}

uint64_t Regs::frame_pointer() const {
  return arch_ == Arch::X86_64 ? get(X86Reg::bp) : r_[29];
}

uint64_t Regs::return_value() const {
  return arch_ == Arch::X86_64 ? get(X86Reg::ax) : r_[0];
}

std::optional<uint64_t> Regs::kernel_argument(unsigned n) const {
  if (arch_ == Arch::X86_64) {
    if (n >= std::size(kX86Args)) return std::nullopt;
    return get(kX86Args[n]);
  }
  if (n >= 8) return std::nullopt;
  return r_[n];
}

}  // namespace probesim::probes
