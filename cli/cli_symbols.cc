#include "cli/cli_symbols.h"

#include <cinttypes>
#include <cstdio>
#include <string>

#include "probesim/file_functions.h"
#include "probesim/machine.h"

namespace probesim::cli {
namespace {

constexpr const char* kSymbolsUsage =
    "usage: probesim symbols --kernel [--arch x86_64|aarch64]\n"
    "       probesim symbols PATH\n";

// "ADDRESS NAME" per probe-able function of the guest kernel of `arch`, by address.
int kernel_symbols(Arch arch) {
  auto m = Machine::create(Options{.arch = arch});
  if (!m) {
    std::fprintf(stderr, "probesim: %s\n", m.error().message.c_str());
    return 126;
  }
  for (const std::string& fn : m.value()->probeable_functions()) {
    std::optional<KernelSymbol> s = m.value()->kernel_symbol(fn);
    if (s) std::printf("%016" PRIx64 " %s\n", s->addr, fn.c_str());
  }
  return 0;
}

// "0xOFFSET SIZE NAME" per function of the ELF file at `path`.
int file_symbols(const std::string& path) {
  Result<std::vector<FileFunction>> fns = file_functions(path);
  if (!fns) {
    std::fprintf(stderr, "probesim: symbols: %s\n", fns.error().message.c_str());
    return 1;
  }
  for (const FileFunction& f : fns.value())
    std::printf("0x%" PRIx64 " %" PRIu64 " %s\n", f.offset, f.size, f.name.c_str());
  return 0;
}

}  // namespace

int symbols_command(int argc, char** argv) {
  bool kernel = false;
  Arch arch = Arch::X86_64;
  std::string path;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--kernel") {
      kernel = true;
    } else if (a == "--arch" && i + 1 < argc &&
               (std::string(argv[i + 1]) == "x86_64" || std::string(argv[i + 1]) == "aarch64")) {
      arch = std::string(argv[++i]) == "x86_64" ? Arch::X86_64 : Arch::AArch64;
    } else if (path.empty() && !a.empty() && a[0] != '-') {
      path = a;
    } else {
      std::fprintf(stderr, "probesim: symbols: bad argument '%s'\n%s", a.c_str(), kSymbolsUsage);
      return 2;
    }
  }
  if (kernel == !path.empty()) {
    std::fputs(kSymbolsUsage, stderr);
    return 2;
  }
  return kernel ? kernel_symbols(arch) : file_symbols(path);
}

}  // namespace probesim::cli
