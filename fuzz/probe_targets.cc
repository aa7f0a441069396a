// Fuzz target: the probe target parsers behind the CLI and Python: kprobe "SYM[+OFF]" / ADDR
// (cli::parse_probe_spec) and uprobe "PATH:SYM[+OFF]" / "PATH:OFFSET"
// (probes::parse_uprobe_spec, which Python's uprobes.register also uses), and the resolution of
// a parsed uprobe target in an ELF file (probes::uprobe_file_offset) against this very binary.
// Checks what a successful parse promises, besides never crashing.
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "cli/run_options.h"
#include "loader/elf_file.h"
#include "probes/uprobes/uprobe_target.h"

using namespace probesim;

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

// This executable as an ELF file: real symbols and segments to resolve against.
const loader::ElfFile* self_elf() {
  static std::unique_ptr<loader::ElfFile> elf = [] {
    std::ifstream f("/proc/self/exe", std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    Result<loader::ElfFile> r = loader::ElfFile::parse("/proc/self/exe", std::move(bytes));
    return r.ok() ? std::make_unique<loader::ElfFile>(std::move(r).value()) : nullptr;
  }();
  return elf.get();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  Result<cli::ProbeSpec> k = cli::parse_probe_spec("--kprobe", text);
  if (k.ok()) {
    require(k.value().text == text);
    require(k.value().symbol.empty() || k.value().addr == 0);
  }
  Result<probes::UprobeSpec> u = probes::parse_uprobe_spec(text);
  if (u.ok()) {
    require(!u.value().path.empty());
    require(text.find(':') != std::string::npos);
    if (const loader::ElfFile* elf = self_elf()) (void)probes::uprobe_file_offset(*elf, u.value());
  }
  return 0;
}
