#include "probes/uprobes/uprobe_target.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <set>
#include <tuple>

namespace probesim::probes {
namespace {

bool parse_number(std::string_view s, uint64_t& out) {
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
    base = 16;
  }
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return ec == std::errc() && p == s.data() + s.size();
}

Error bad(std::string_view spec, const char* why) {
  return Error::make("uprobe target '" + std::string(spec) + "': " + why +
                         " (expected PATH:OFFSET or PATH:SYMBOL[+OFFSET])",
                     EINVAL);
}

}  // namespace

Result<UprobeSpec> parse_uprobe_spec(std::string_view spec) {
  const size_t colon = spec.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return bad(spec, "no PATH:");
  UprobeSpec out;
  out.path = std::string(spec.substr(0, colon));
  std::string_view target = spec.substr(colon + 1);
  if (target.empty()) return bad(spec, "nothing after ':'");
  if (target[0] >= '0' && target[0] <= '9') {
    if (!parse_number(target, out.offset)) return bad(spec, "malformed offset");
    return out;
  }
  const size_t plus = target.find('+');
  out.symbol = std::string(target.substr(0, plus));
  if (out.symbol.empty()) return bad(spec, "empty symbol");
  if (plus != std::string_view::npos && !parse_number(target.substr(plus + 1), out.offset)) {
    return bad(spec, "malformed +offset");
  }
  return out;
}

Result<FileOffset> uprobe_file_offset(const loader::ElfFile& elf, const UprobeSpec& spec) {
  if (spec.symbol.empty()) return FileOffset{spec.offset};
  const loader::ElfSymbol sym = PROBESIM_TRY(elf.find_symbol(spec.symbol));
  if (sym.size != 0 && spec.offset >= sym.size) {
    return Error::make("uprobe target " + spec.symbol + "+" + std::to_string(spec.offset) +
                           " is beyond the symbol's " + std::to_string(sym.size) + " bytes",
                       EINVAL);
  }
  Result<FileOffset> off = elf.vaddr_to_offset(sym.value + spec.offset);
  if (!off) return Error::make(off.error().message, EINVAL);
  return off;
}

Result<std::vector<FileFunction>> file_functions(const loader::ElfFile& elf) {
  constexpr uint8_t kSttFunc = 2, kSttGnuIfunc = 10;
  const std::vector<loader::ElfSymbol>* syms = PROBESIM_TRY(elf.symbols());
  std::vector<FileFunction> out;
  std::set<std::string_view> seen;
  for (const loader::ElfSymbol& s : *syms) {
    if ((s.type != kSttFunc && s.type != kSttGnuIfunc) || s.shndx == 0) continue;
    if (!seen.insert(s.name).second) continue;  // .symtab first: its symbol is the one used
    if (Result<FileOffset> at = elf.vaddr_to_offset(s.value))
      out.push_back(FileFunction{s.name, at.value().value, s.size});
  }
  std::sort(out.begin(), out.end(), [](const FileFunction& a, const FileFunction& b) {
    return std::tie(a.offset, a.name) < std::tie(b.offset, b.name);
  });
  return out;
}

Result<void> check_function_entry(const loader::ElfFile& elf, const UprobeSpec& spec,
                                  FileOffset off) {
  const std::string target = spec.symbol.empty() ? std::to_string(spec.offset)
                                                 : spec.symbol + "+" + std::to_string(spec.offset);
  if (!spec.symbol.empty() && spec.offset != 0)
    return Error::make("a uretprobe must be on a function entry: " + target +
                           " is not (drop the +OFFSET)",
                       EINVAL);
  if (!spec.symbol.empty()) return {};
  constexpr uint8_t kSttFunc = 2;
  Result<const std::vector<loader::ElfSymbol>*> syms = elf.symbols();
  if (!syms) return {};  // no readable symbol table: nothing to check against
  bool any_function = false;
  for (const loader::ElfSymbol& s : *syms.value()) {
    if (s.type != kSttFunc || s.shndx == 0) continue;
    any_function = true;
    Result<FileOffset> at = elf.vaddr_to_offset(s.value);
    if (at && at.value() == off) return {};
  }
  if (!any_function) return {};
  return Error::make("a uretprobe must be on a function entry: no function of " + spec.path +
                         " starts at file offset " + std::to_string(spec.offset),
                     EINVAL);
}

}  // namespace probesim::probes
