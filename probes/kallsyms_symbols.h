// KallsymsSymbols: the kprobes engine's SymbolSource over the guest kernel image's Kallsyms
// (lookup by name, the function containing an address, kernel text, the blacklist).
// Non-owning: the Kallsyms must outlive it.
#pragma once

#include "probes/kallsyms.h"
#include "probes/symbol_source.h"

namespace probesim::probes {

class KallsymsSymbols final : public SymbolSource {
 public:
  explicit KallsymsSymbols(const Kallsyms& kallsyms) : k_(kallsyms) {}

  std::optional<FunctionSymbol> lookup(std::string_view name) const override;
  std::optional<FunctionSymbol> function_containing(GuestAddr addr) const override;
  bool is_kernel_text(GuestAddr addr) const override { return k_.is_kernel_text(addr); }
  bool is_blacklisted(GuestAddr addr) const override { return k_.within_kprobe_blacklist(addr); }

 private:
  const Kallsyms& k_;
};

}  // namespace probesim::probes
