// The booted guest kernel as values: kallsyms entries, the kprobe blacklist and the kprobe
// instruction slot cache (Linux's kprobe_insn_cache). Read through Machine (machine.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace probesim {

// One kallsyms entry.
struct KernelSymbol {
  std::string name;
  uint64_t addr = 0;
  uint64_t size = 0;  // ELF st_size (0 for linker markers)
  char type = '?';    // nm letter: T/t text, R/r rodata, D/d data, B/b bss (upper = global)
};

// A sized symbol holding an address, and the address's offset into it.
struct KernelSymbolOffset {
  KernelSymbol symbol;
  uint64_t offset = 0;
};

// debugfs kprobes/blacklist: [start, end) of function `name` refuses kprobes.
struct KprobeBlacklistEntry {
  uint64_t start = 0, end = 0;
  std::string name;
};

struct InsnSlot {
  uint64_t addr = 0;
  std::string state;  // "clean" (free), "dirty" or "used"
  std::string bytes;  // slot_size bytes as they are in guest memory now
};

// The insn slot cache: pages newest first (Linux's list order) and every slot of each page.
struct InsnSlots {
  std::vector<uint64_t> pages;
  uint64_t slot_size = 0, slots_per_page = 0, nr_garbage = 0;
  std::vector<InsnSlot> slots;
};

}  // namespace probesim
