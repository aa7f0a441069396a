#include "loader/lief_symbols.h"

#include <LIEF/ELF.hpp>
#include <LIEF/exception.hpp>

#include "loader/loader_error.h"

namespace probesim::loader {
namespace {

void append(std::vector<ElfSymbol>& out, const LIEF::ELF::Symbol& s, bool dynamic) {
  if (s.name().empty()) return;
  out.push_back({s.name(), s.value(), s.size(), static_cast<uint8_t>(s.type()),
                 static_cast<uint8_t>(s.binding()), dynamic, s.shndx()});
}

}  // namespace

Result<std::vector<ElfSymbol>> read_lief_symbols(const std::string& name,
                                                 const std::vector<uint8_t>& bytes) {
  try {
    // COUNT_SECTION: size .dynsym from its section header (checked by us) rather than from
    // hash tables inside PT_DYNAMIC, which nothing validated.
    std::unique_ptr<LIEF::ELF::Binary> bin =
        LIEF::ELF::Parser::parse(bytes, name, LIEF::ELF::DYNSYM_COUNT_METHODS::COUNT_SECTION);
    if (!bin) return enoexec(name, "LIEF could not parse the file: symbols cannot be read");
    std::vector<ElfSymbol> out;
    for (const LIEF::ELF::Symbol& s : bin->static_symbols()) append(out, s, false);
    for (const LIEF::ELF::Symbol& s : bin->dynamic_symbols()) append(out, s, true);
    return out;
  } catch (const std::exception& e) {
    return enoexec(
        name, std::string("reading symbols failed (LIEF: ") + e.what() + "): the file is corrupt");
  } catch (...) {
    return enoexec(name, "reading symbols failed (LIEF threw): the file is corrupt");
  }
}

}  // namespace probesim::loader
