// UserSymbols: user-space addresses to "function+0xoff", through the ELF symbol table of the
// file a VMA maps (what bcc's sym(addr, pid) does with /proc/pid/maps and the ELF files).
// Each file's function and object symbols are read once (on first use, keyed by inode) and
// kept sorted; a file that is not an ELF (or has no symbols) symbolizes nothing.
//
// Ownership: held by PyMachine; used only with the GIL held (it caches host-side copies, it
// never keeps pointers into the model).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "loader/elf_file.h"
#include "mmu/vma.h"

namespace probesim::python {

// The symbol covering an address: its name, the address's offset into it, its size.
struct SymbolHit {
  std::string name;
  uint64_t offset = 0, size = 0;
};

class UserSymbols {
 public:
  // The symbol of the file v maps that covers addr (which v must contain), or nullopt.
  std::optional<SymbolHit> lookup(const mmu::Vma& v, uint64_t addr);
  // "name+0xoff" for addr inside v (which must contain it), or nullopt (anonymous memory,
  // no symbol covers it).
  std::optional<std::string> symbolize(const mmu::Vma& v, uint64_t addr);

 private:
  struct Sym {
    uint64_t start, size;
    std::string name;
  };
  struct FileSyms {
    std::vector<loader::ElfSegment> loads;  // PT_LOAD, for file offset -> link address
    std::vector<Sym> syms;                  // sorted by start
  };
  const FileSyms& file(mmu::Inode& inode);

  std::map<std::string, FileSyms> files_;  // by inode key
};

}  // namespace probesim::python
