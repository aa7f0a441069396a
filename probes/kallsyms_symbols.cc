#include "probes/kallsyms_symbols.h"

namespace probesim::probes {

std::optional<FunctionSymbol> KallsymsSymbols::lookup(std::string_view name) const {
  const KernelSymbol* s = k_.find(name);
  if (!s || !k_.is_kernel_text(s->addr)) return std::nullopt;  // kprobes probe text only
  return FunctionSymbol{s->name, s->addr, s->size};
}

std::optional<FunctionSymbol> KallsymsSymbols::function_containing(GuestAddr addr) const {
  std::optional<SymbolOffset> so = k_.lookup(addr);
  if (!so || !so->sym) return std::nullopt;
  return FunctionSymbol{so->sym->name, so->sym->addr, so->sym->size};
}

}  // namespace probesim::probes
