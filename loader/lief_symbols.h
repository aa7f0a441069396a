// The only loader code that touches LIEF: reading .symtab and .dynsym.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "loader/elf_file.h"
#include "probesim/result.h"

namespace probesim::loader {

// Symbols of .symtab then .dynsym, nameless entries dropped. Precondition: the bytes passed
// validate_elf_headers() and validate_section_headers(). Every LIEF exception (and a null
// parse) becomes an ENOEXEC Error naming the file.
Result<std::vector<ElfSymbol>> read_lief_symbols(const std::string& name,
                                                 const std::vector<uint8_t>& bytes);

}  // namespace probesim::loader
