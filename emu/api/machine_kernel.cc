// Machine's guest-kernel views (include/probesim/kernel.h) over KernelSpace and kallsyms.
#include <cstdio>

#include "emu/api/machine_impl.h"
#include "probes/insn_slot_cache.h"
#include "probes/kallsyms.h"
#include "probes/kprobe_manager.h"

namespace probesim {
namespace {

KernelSymbol to_public(const probes::KernelSymbol& s) {
  return KernelSymbol{s.name, s.addr.value, s.size, s.type};
}

constexpr const char* kSlotStateNames[] = {"clean", "dirty", "used"};  // SlotState order

}  // namespace

std::vector<std::string> Machine::kernel_boot_log() const {
  const emu::GuestKernel* k = impl_->state.kernel();
  return k ? k->boot_log() : std::vector<std::string>{};
}

std::string Machine::kernel_panic() const {
  const emu::GuestKernel* k = impl_->state.kernel();
  return k ? k->panic() : std::string();
}

std::vector<KernelSymbol> Machine::kernel_symbols() const {
  std::vector<KernelSymbol> out;
  if (const emu::GuestKernel* k = impl_->state.kernel())
    for (const probes::KernelSymbol& s : k->space().kallsyms().symbols()) out.push_back(to_public(s));
  return out;
}

std::optional<KernelSymbol> Machine::kernel_symbol(const std::string& name) const {
  const emu::GuestKernel* k = impl_->state.kernel();
  const probes::KernelSymbol* s = k ? k->space().kallsyms().find(name) : nullptr;
  if (!s) return std::nullopt;
  return to_public(*s);
}

std::optional<KernelSymbolOffset> Machine::kernel_symbol_at(uint64_t addr) const {
  const emu::GuestKernel* k = impl_->state.kernel();
  if (!k) return std::nullopt;
  auto hit = k->space().kallsyms().lookup(GuestAddr{addr});
  if (!hit) return std::nullopt;
  return KernelSymbolOffset{to_public(*hit->sym), hit->offset};
}

std::optional<std::string> Machine::kernel_symbolize(uint64_t addr) const {
  auto hit = kernel_symbol_at(addr);
  if (!hit) return std::nullopt;
  char off[24];
  std::snprintf(off, sizeof off, "+0x%llx", static_cast<unsigned long long>(hit->offset));
  return hit->symbol.name + off;
}

std::vector<KprobeBlacklistEntry> Machine::kprobe_blacklist() const {
  std::vector<KprobeBlacklistEntry> out;
  if (const emu::GuestKernel* k = impl_->state.kernel())
    for (const probes::BlacklistEntry& e : k->space().kallsyms().blacklist())
      out.push_back(KprobeBlacklistEntry{e.start.value, e.end.value, e.name});
  return out;
}

bool Machine::read_kernel(uint64_t addr, std::span<uint8_t> out, bool original) const {
  emu::GuestKernel* k = impl_->state.kernel();
  if (!k) return false;
  return original ? k->kprobes().read_original(GuestAddr{addr}, out)
                  : k->space().read(GuestAddr{addr}, out);
}

InsnSlots Machine::kprobe_insn_slots() const {
  InsnSlots v;
  emu::GuestKernel* k = impl_->state.kernel();
  if (!k) return v;
  const probes::InsnSlotCache& c = k->kprobes().insn_slots();
  v.slot_size = c.insn_size();
  v.slots_per_page = c.slots_per_page();
  v.nr_garbage = c.nr_garbage();
  for (GuestAddr page : c.pages()) {
    v.pages.push_back(page.value);
    for (uint64_t i = 0; i < v.slots_per_page; ++i) {
      GuestAddr slot = page + i * v.slot_size;
      auto state = c.state(slot);
      std::string bytes(v.slot_size, '\0');
      if (!read_kernel(slot.value, {reinterpret_cast<uint8_t*>(bytes.data()), bytes.size()}))
        bytes.clear();
      v.slots.push_back({slot.value, state ? kSlotStateNames[static_cast<int>(*state)] : "?",
                         std::move(bytes)});
    }
  }
  return v;
}

}  // namespace probesim
