// Probe targets: "PATH:OFFSET" (uprobe_events syntax, decimal or 0x hex) or
// "PATH:SYMBOL[+OFF]", the symbol looked up in the file's .symtab, then .dynsym, and turned
// into a file offset through the PT_LOAD segment holding it. The same offset then works for
// every process mapping the file, wherever it is mapped.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "loader/elf_file.h"
#include "probesim/file_functions.h"
#include "probesim/result.h"
#include "probesim/types.h"

namespace probesim::probes {

struct UprobeSpec {
  std::string path;
  std::string symbol;   // empty: `offset` is the file offset
  uint64_t offset = 0;  // file offset, or the byte offset from the symbol
};

// Splits at the last ':'. EINVAL when the path or the target is missing or malformed.
Result<UprobeSpec> parse_uprobe_spec(std::string_view spec);
// The file offset of spec in elf: ENOENT unknown symbol, EINVAL offset outside the symbol
// (when its size is known) or not inside a loaded segment's file bytes.
Result<FileOffset> uprobe_file_offset(const loader::ElfFile& elf, const UprobeSpec& spec);
// A uretprobe hijacks the return address, so it must be on a function's first instruction
// (Linux: kretprobes check kprobe_on_func_entry; a uretprobe elsewhere corrupts the stack).
// EINVAL for SYMBOL+OFF with OFF != 0, and for a file offset at which no STT_FUNC symbol of
// elf starts (a file without function symbols cannot be checked: accepted).
Result<void> check_function_entry(const loader::ElfFile& elf, const UprobeSpec& spec,
                                  FileOffset off);

// The defined STT_FUNC and STT_GNU_IFUNC symbols of elf whose address lies in a loaded
// segment's file bytes, by file offset then name; a name is listed once (.symtab's symbol, as
// uprobe_file_offset resolves it). Empty for a file without symbols; an Error if LIEF fails.
Result<std::vector<FileFunction>> file_functions(const loader::ElfFile& elf);

}  // namespace probesim::probes
