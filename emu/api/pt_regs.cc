// PtRegs (include/probesim/pt_regs.h) over probes::Regs.
#include "probesim/pt_regs.h"

#include "probes/regs.h"

namespace probesim {

Arch PtRegs::arch() const { return r_->arch(); }
size_t PtRegs::count() const { return probes::Regs::count(r_->arch()); }
std::string_view PtRegs::name_of(unsigned index) const {
  return index < count() ? probes::Regs::name_of(r_->arch(), index) : std::string_view{};
}
std::optional<unsigned> PtRegs::index_of(std::string_view name) const {
  return probes::Regs::index_of(r_->arch(), name);
}
std::optional<uint64_t> PtRegs::get(std::string_view name) const { return r_->get(name); }
bool PtRegs::set(std::string_view name, uint64_t value) { return r_->set(name, value); }
uint64_t PtRegs::get(unsigned index) const { return r_->get(index); }
void PtRegs::set(unsigned index, uint64_t value) { r_->set(index, value); }
GuestAddr PtRegs::ip() const { return r_->ip(); }
void PtRegs::set_ip(GuestAddr ip) { r_->set_ip(ip); }
uint64_t PtRegs::sp() const { return r_->sp(); }
uint64_t PtRegs::flags() const { return r_->flags(); }
uint64_t PtRegs::return_value() const { return r_->return_value(); }
std::optional<uint64_t> PtRegs::argument(unsigned n) const { return r_->kernel_argument(n); }

}  // namespace probesim
