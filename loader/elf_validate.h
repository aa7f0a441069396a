// Raw ELF header validation with <elf.h>: the gate in front of LIEF (see elf_file.h).
// Pure functions over the file's bytes; every Error names the file and carries ENOEXEC.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "loader/elf_file.h"
#include "probesim/result.h"
#include "probesim/types.h"

namespace probesim::loader {

// What validate_elf_headers() extracted; every field was checked against the file size.
struct ElfHeaders {
  Arch arch;
  uint16_t e_type;
  uint64_t entry, phoff;
  uint16_t phentsize, phnum;
  std::vector<ElfSegment> segments;        // every program header, file order
  std::optional<std::string> interpreter;  // PT_INTERP contents without the NUL
};

// ELF header + program headers: magic, class, data, version, type, machine, phentsize,
// phnum, phdrs inside the file, PT_LOAD sanity (inside the file, filesz <= memsz, no
// address overflow, vaddr == offset mod page, ascending and non-overlapping), PT_INTERP.
Result<ElfHeaders> validate_elf_headers(const std::string& name, std::span<const uint8_t> bytes);

// Section header table and the symbol-table sections LIEF will read: entry size, table
// inside the file, every non-NOBITS section inside the file, symbol tables well formed and
// linked to a string table. Precondition: validate_elf_headers() succeeded.
Result<void> validate_section_headers(const std::string& name, std::span<const uint8_t> bytes);

// Linux's load_elf_phdrs() rejects a program header table larger than ELF_MIN_ALIGN (one
// 4 KiB page): 4096 / sizeof(Elf64_Phdr) = 73 entries.
constexpr uint16_t kMaxPhnum = 73;

}  // namespace probesim::loader
