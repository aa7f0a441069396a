#include "loader/elf_file.h"

#include <elf.h>

#include <algorithm>
#include <bit>
#include <iterator>

#include "loader/elf_validate.h"
#include "loader/lief_symbols.h"
#include "loader/loader_error.h"

namespace probesim::loader {

// The result of the first symbols() call, kept for every later call (errors included).
struct ElfFile::SymbolCache {
  Result<std::vector<ElfSymbol>> result;
};

ElfFile::ElfFile(ElfFile&&) noexcept = default;
ElfFile& ElfFile::operator=(ElfFile&&) noexcept = default;
ElfFile::~ElfFile() = default;

Result<ElfFile> ElfFile::parse(std::string name, std::vector<uint8_t> bytes) {
  ElfHeaders h = PROBESIM_TRY(validate_elf_headers(name, bytes));
  ElfFile f;
  f.name_ = std::move(name);
  f.bytes_ = std::move(bytes);
  f.arch_ = h.arch;
  f.e_type_ = h.e_type;
  f.entry_ = h.entry;
  f.phoff_ = h.phoff;
  f.phentsize_ = h.phentsize;
  f.phnum_ = h.phnum;
  f.segments_ = std::move(h.segments);
  f.interpreter_ = std::move(h.interpreter);
  return f;
}

Result<ElfFile> ElfFile::parse_executable(std::string name, std::vector<uint8_t> bytes) {
  ElfFile f = PROBESIM_TRY(parse(std::move(name), std::move(bytes)));
  PROBESIM_TRY_VOID(f.check_executable());
  return f;
}

Result<void> ElfFile::check_executable() const {
  for (const ElfSegment& s : segments_)
    if (s.type == PT_LOAD && (s.flags & PF_X) && entry_ >= s.vaddr && entry_ < s.vaddr + s.memsz)
      return {};
  return enoexec(name_, "entry point " + hex(entry_) +
                            " is outside every executable PT_LOAD segment: the file is corrupt");
}

bool ElfFile::is_dyn() const {
  return e_type_ == ET_DYN;
}

std::vector<ElfSegment> ElfFile::load_segments() const {
  std::vector<ElfSegment> out;
  std::copy_if(segments_.begin(), segments_.end(), std::back_inserter(out),
               [](const ElfSegment& s) { return s.type == PT_LOAD; });
  return out;  // validate_elf_headers() guarantees ascending vaddr
}

uint64_t ElfFile::max_align() const {
  uint64_t align = kPageSize;
  for (const ElfSegment& s : segments_)
    if (s.type == PT_LOAD && std::has_single_bit(s.align)) align = std::max(align, s.align);
  return align;
}

std::optional<uint64_t> ElfFile::phdr_vaddr() const {
  for (const ElfSegment& s : segments_)
    if (s.type == PT_PHDR) return s.vaddr;
  for (const ElfSegment& s : segments_)
    if (s.type == PT_LOAD && s.offset <= phoff_ && phoff_ - s.offset < s.filesz)
      return s.vaddr + (phoff_ - s.offset);
  return std::nullopt;
}

Result<FileOffset> ElfFile::vaddr_to_offset(uint64_t vaddr) const {
  for (const ElfSegment& s : segments_) {
    if (s.type != PT_LOAD || vaddr < s.vaddr || vaddr - s.vaddr >= s.memsz) continue;
    if (vaddr - s.vaddr < s.filesz) return FileOffset{s.offset + (vaddr - s.vaddr)};
    return Error::make(name_ + ": address " + hex(vaddr) +
                           " is in the zero-filled (bss) part of a PT_LOAD segment: it has no "
                           "bytes in the file",
                       ENOEXEC);
  }
  return Error::make(name_ + ": address " + hex(vaddr) + " is not inside any PT_LOAD segment",
                     ENOEXEC);
}

Result<const std::vector<ElfSymbol>*> ElfFile::symbols() const {
  if (!symbols_) {
    Result<void> ok = validate_section_headers(name_, bytes_);
    // Brace initialization: clang 14 (the fuzzing build) has no parenthesized aggregate init.
    symbols_.reset(new SymbolCache{ok ? read_lief_symbols(name_, bytes_)
                                      : Result<std::vector<ElfSymbol>>(ok.error())});
  }
  if (!symbols_->result) return symbols_->result.error();
  return &symbols_->result.value();
}

Result<ElfSymbol> ElfFile::find_symbol(std::string_view name) const {
  const std::vector<ElfSymbol>* syms = PROBESIM_TRY(symbols());
  for (const ElfSymbol& s : *syms)
    if (s.name == name && s.shndx != SHN_UNDEF) return s;
  std::string why = syms->empty() ? " (the file has no symbol table: it is stripped)" : "";
  return Error::make(name_ + ": no symbol '" + std::string(name) + "'" + why +
                         "; check the name with `nm` or probe an address instead",
                     ENOENT);
}

}  // namespace probesim::loader
