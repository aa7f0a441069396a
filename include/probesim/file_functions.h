// The functions of an ELF file as uprobes name them: PATH:name, or PATH:0xOFFSET with the file
// offset (`probesim symbols PATH`, perf probe -x PATH -F).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "probesim/result.h"

namespace probesim {

struct FileFunction {
  std::string name;
  uint64_t offset = 0;  // file offset: the OFFSET of PATH:OFFSET
  uint64_t size = 0;    // st_size (0: unknown)
};

// The defined function symbols (STT_FUNC, STT_GNU_IFUNC) of the host file at `path` whose
// address lies in a loaded segment, by offset then name, each name once (the symbol
// PATH:name resolves to). Errors name the file: unreadable (its errno), not ELF (ENOEXEC).
Result<std::vector<FileFunction>> file_functions(const std::string& path);

}  // namespace probesim
