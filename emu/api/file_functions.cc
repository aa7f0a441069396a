// probesim::file_functions (include/probesim/file_functions.h): reads the host file, parses it
// as the loader does and lists what probes::file_functions finds.
#include "probesim/file_functions.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "loader/elf_file.h"
#include "probes/uprobes/uprobe_target.h"

namespace probesim {

Result<std::vector<FileFunction>> file_functions(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Error::make("cannot read " + path + ": " + std::strerror(errno), errno);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  loader::ElfFile elf = PROBESIM_TRY(loader::ElfFile::parse(path, std::move(bytes)));
  return probes::file_functions(elf);
}

}  // namespace probesim
