// SymbolSource: the kallsyms view the kprobes engine needs (implemented over the guest kernel
// image's symbol table; tests use a small map). All queries are pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "probesim/types.h"

namespace probesim::probes {

struct FunctionSymbol {
  std::string name;
  GuestAddr addr;     // start of the symbol
  uint64_t size = 0;  // bytes; the function is [addr, addr+size)
};

class SymbolSource {
 public:
  virtual ~SymbolSource() = default;

  // kallsyms_lookup_name: the text symbol with this exact name.
  virtual std::optional<FunctionSymbol> lookup(std::string_view name) const = 0;
  // kallsyms_lookup_size_offset: the function containing addr (start <= addr < start+size).
  virtual std::optional<FunctionSymbol> function_containing(GuestAddr addr) const = 0;
  // core_kernel_text: addr lies in the image's executable text.
  virtual bool is_kernel_text(GuestAddr addr) const = 0;
  // within_kprobe_blacklist: NOKPROBE functions, .kprobes.text, entry text, our trampolines.
  virtual bool is_blacklisted(GuestAddr addr) const = 0;
};

}  // namespace probesim::probes
