// ElfFile: a validated, immutable 64-bit little-endian ELF image (x86_64 or aarch64).
//
// parse() checks every header the loader relies on with <elf.h> BEFORE any of it reaches
// LIEF (LIEF 0.9 can crash on malformed input): ELF header, program headers, PT_LOAD
// segments, PT_INTERP. Section headers are only needed for symbols and are checked lazily
// by symbols(). Every error names the file, the problem and what to do; errno is ENOEXEC
// (ENOENT for a missing symbol).
//
// parse() accepts any well-formed ET_EXEC/ET_DYN, including dynamically linked programs
// and shared libraries (so `path:symbol` probes can read their symbols). Whether the file
// can be run by probesim is check_executable(); exec_elf() calls it.
//
// Not thread-safe: symbols() fills a cache on first use.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "probesim/result.h"
#include "probesim/types.h"

namespace probesim::loader {

// One program header, as in the file (p_type, p_flags = PF_R/PF_W/PF_X, ...).
struct ElfSegment {
  uint32_t type, flags;
  uint64_t offset, vaddr, filesz, memsz, align;
};

// One symbol of .symtab or .dynsym. value is the link-time value (for ET_DYN add the load
// bias to get a run-time address). type/bind are STT_* / STB_*.
struct ElfSymbol {
  std::string name;
  uint64_t value, size;
  uint8_t type, bind;
  bool dynamic;    // from .dynsym
  uint16_t shndx;  // section index; SHN_UNDEF (0) for an undefined (imported) symbol
};

class ElfFile {
 public:
  // name is what error messages call the file (the guest path); bytes is the whole file.
  static Result<ElfFile> parse(std::string name, std::vector<uint8_t> bytes);
  // parse() + check_executable(): for the exec path.
  static Result<ElfFile> parse_executable(std::string name, std::vector<uint8_t> bytes);

  ElfFile(ElfFile&&) noexcept;
  ElfFile& operator=(ElfFile&&) noexcept;
  ElfFile(const ElfFile&) = delete;
  ElfFile& operator=(const ElfFile&) = delete;
  ~ElfFile();

  // Can probesim start this file as a program? Rejects an entry point outside every
  // executable PT_LOAD. ENOEXEC. (A PT_INTERP program also needs its interpreter: exec_elf.)
  Result<void> check_executable() const;

  const std::string& name() const { return name_; }
  Arch arch() const { return arch_; }
  uint16_t e_type() const { return e_type_; }
  bool is_dyn() const;  // ET_DYN: static-pie, PIE or shared object
  uint64_t entry() const { return entry_; }
  uint64_t phoff() const { return phoff_; }
  uint16_t phentsize() const { return phentsize_; }
  uint16_t phnum() const { return phnum_; }
  const std::vector<ElfSegment>& segments() const { return segments_; }  // all, file order
  std::vector<ElfSegment> load_segments() const;  // PT_LOAD only, ascending vaddr
  std::optional<std::string> interpreter() const { return interpreter_; }  // PT_INTERP
  // Largest power-of-two PT_LOAD p_align, at least the page size (Linux's
  // maximum_alignment()).
  uint64_t max_align() const;
  // Link-time address of the program headers in memory: PT_PHDR's vaddr, else the address
  // of e_phoff inside the PT_LOAD whose file bytes contain it; nullopt if not loaded.
  std::optional<uint64_t> phdr_vaddr() const;

  // Symbols of .symtab then .dynsym (file order; nameless entries dropped). Read with LIEF on
  // first use, after the section headers were checked; any LIEF failure is an Error.
  Result<const std::vector<ElfSymbol>*> symbols() const;
  // The first defined (shndx != SHN_UNDEF) symbol called name; .symtab wins over .dynsym.
  Result<ElfSymbol> find_symbol(std::string_view name) const;
  // File offset of a link-time address, via the PT_LOAD whose file bytes contain it.
  Result<FileOffset> vaddr_to_offset(uint64_t vaddr) const;
  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  ElfFile() = default;
  struct SymbolCache;

  std::string name_;
  std::vector<uint8_t> bytes_;
  Arch arch_ = Arch::X86_64;
  uint16_t e_type_ = 0;
  uint64_t entry_ = 0, phoff_ = 0;
  uint16_t phentsize_ = 0, phnum_ = 0;
  std::vector<ElfSegment> segments_;
  std::optional<std::string> interpreter_;
  mutable std::unique_ptr<SymbolCache> symbols_;  // filled by symbols()
};

}  // namespace probesim::loader
