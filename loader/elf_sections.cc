// validate_section_headers(): the section-header half of the gate in front of LIEF.
#include <elf.h>

#include <cstring>

#include "loader/elf_validate.h"
#include "loader/loader_error.h"

namespace probesim::loader {
namespace {

struct Sections {
  std::span<const uint8_t> file;
  std::vector<Elf64_Shdr> shdrs;
};

Error corrupt(const std::string& name, const std::string& what) {
  return enoexec(name, "section headers are corrupt (" + what +
                           "): symbols cannot be read; rebuild the file or strip it");
}

bool in_file(const Elf64_Shdr& s, uint64_t size) {
  return s.sh_type == SHT_NOBITS || (s.sh_offset <= size && s.sh_size <= size - s.sh_offset);
}

// A string table: inside the file (checked before) and NUL-terminated, so every string that
// starts inside it ends inside it.
bool good_strtab(const Sections& s, const Elf64_Shdr& st) {
  return st.sh_type == SHT_STRTAB && st.sh_size > 0 && s.file[st.sh_offset + st.sh_size - 1] == 0;
}

Result<void> check_symtab(const std::string& name, const Sections& s, size_t i) {
  const Elf64_Shdr& sh = s.shdrs[i];
  std::string what = "symbol table section " + std::to_string(i);
  if (sh.sh_entsize != sizeof(Elf64_Sym) || sh.sh_size % sizeof(Elf64_Sym) != 0)
    return corrupt(name, what + " has entry size " + std::to_string(sh.sh_entsize));
  if (sh.sh_link >= s.shdrs.size() || !good_strtab(s, s.shdrs[sh.sh_link]))
    return corrupt(
        name, what + " links to section " + std::to_string(sh.sh_link) + ", not a string table");
  const Elf64_Shdr& strtab = s.shdrs[sh.sh_link];
  for (uint64_t off = 0; off < sh.sh_size; off += sizeof(Elf64_Sym)) {
    Elf64_Sym sym;
    std::memcpy(&sym, s.file.data() + sh.sh_offset + off, sizeof sym);
    if (sym.st_name >= strtab.sh_size)
      return corrupt(name, what + " entry " + std::to_string(off / sizeof sym) +
                               " has a name outside its string table");
  }
  return {};
}

Result<Sections> read_table(const std::string& name, std::span<const uint8_t> b) {
  Elf64_Ehdr eh;
  std::memcpy(&eh, b.data(), sizeof eh);
  Sections s{b, {}};
  if (eh.e_shoff == 0) return s;  // no section headers: no symbols
  if (eh.e_shnum == 0 || eh.e_shstrndx == SHN_XINDEX)
    return corrupt(name, "extended section numbering is not supported");
  if (eh.e_shentsize != sizeof(Elf64_Shdr))
    return corrupt(name, "entry size " + std::to_string(eh.e_shentsize) + ", expected " +
                             std::to_string(sizeof(Elf64_Shdr)));
  uint64_t bytes = uint64_t{eh.e_shnum} * sizeof(Elf64_Shdr);
  if (eh.e_shoff > b.size() || bytes > b.size() - eh.e_shoff)
    return corrupt(name, "table at " + hex(eh.e_shoff) + " extends beyond the end of the file");
  s.shdrs.resize(eh.e_shnum);
  std::memcpy(s.shdrs.data(), b.data() + eh.e_shoff, bytes);
  if (eh.e_shstrndx >= eh.e_shnum)
    return corrupt(name, "e_shstrndx " + std::to_string(eh.e_shstrndx) + " out of range");
  return s;
}

}  // namespace

Result<void> validate_section_headers(const std::string& name, std::span<const uint8_t> b) {
  Sections s = PROBESIM_TRY(read_table(name, b));
  if (s.shdrs.empty()) return {};
  for (size_t i = 0; i < s.shdrs.size(); ++i)
    if (!in_file(s.shdrs[i], b.size()))
      return corrupt(name, "section " + std::to_string(i) + " extends beyond the end of the file");
  Elf64_Ehdr eh;
  std::memcpy(&eh, b.data(), sizeof eh);
  const Elf64_Shdr& shstr = s.shdrs[eh.e_shstrndx];
  if (eh.e_shstrndx != SHN_UNDEF && !good_strtab(s, shstr))
    return corrupt(
        name, "section-name table " + std::to_string(eh.e_shstrndx) + " is not a string table");
  for (size_t i = 0; i < s.shdrs.size(); ++i) {
    const Elf64_Shdr& sh = s.shdrs[i];
    if (eh.e_shstrndx != SHN_UNDEF && sh.sh_name >= shstr.sh_size)
      return corrupt(name, "section " + std::to_string(i) + " has a name outside the table");
    if (sh.sh_type == SHT_SYMTAB || sh.sh_type == SHT_DYNSYM)
      PROBESIM_TRY_VOID(check_symtab(name, s, i));
  }
  return {};
}

}  // namespace probesim::loader
