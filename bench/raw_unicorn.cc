// raw_unicorn: the benchmark floor. Runs a static x86-64/AArch64 Linux ELF directly on
// Unicorn 2.0.1 with the minimal syscall set (bench/raw/raw_syscalls.h) and nothing else.
//
//   raw_unicorn [--count] [--verbose] [--env K=V]... [--] PROGRAM [ARGS...]
//
// The guest's stdout/stderr are this process's. Exit status: the guest's exit code; 125 when
// the program cannot be loaded or emulation fails (the message is on stderr).
// --count   also count executed instructions (UC_HOOK_CODE on all code; slow) and print
//           "instructions: N" on stderr after the guest exits.
// --verbose print the syscall total and every unimplemented syscall number on stderr.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bench/raw/raw_machine.h"
#include "bench/raw/static_elf.h"

namespace {

using probesim::bench::CountMode;
using probesim::bench::RawMachine;
using probesim::bench::RunOutcome;
using probesim::bench::StaticElf;

constexpr int kToolFailure = 125;

struct Options {
  CountMode count = CountMode::Off;
  bool verbose = false;
  std::vector<std::string> envp;
  std::vector<std::string> argv;  // argv[0] is the program path
};

int usage() {
  std::fprintf(stderr,
               "usage: raw_unicorn [--count] [--verbose] [--env K=V]... [--] PROGRAM [ARGS...]\n");
  return kToolFailure;
}

// Returns false on a malformed command line.
bool parse_options(int argc, char** argv, Options& o) {
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    std::string a = argv[i];
    if (a == "--") {
      i++;
      break;
    }
    if (a == "--count")
      o.count = CountMode::On;
    else if (a == "--verbose")
      o.verbose = true;
    else if (a == "--env" && i + 1 < argc)
      o.envp.push_back(argv[++i]);
    else
      return false;
  }
  for (; i < argc; i++) o.argv.push_back(argv[i]);
  return !o.argv.empty();
}

void report(const Options& o, const RunOutcome& out) {
  if (o.count == CountMode::On)
    std::fprintf(stderr, "instructions: %llu\n",
                 static_cast<unsigned long long>(out.instructions.value));
  if (!o.verbose) return;
  std::fprintf(stderr, "syscalls: %llu\n", static_cast<unsigned long long>(out.syscalls));
  for (const auto& [nr, n] : out.unknown_syscalls)
    std::fprintf(stderr, "unimplemented syscall %llu: %llu calls -> -ENOSYS\n",
                 static_cast<unsigned long long>(nr), static_cast<unsigned long long>(n));
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse_options(argc, argv, o)) return usage();
  auto elf = StaticElf::load(o.argv[0]);
  if (!elf) {
    std::fprintf(stderr, "raw_unicorn: %s\n", elf.error().message.c_str());
    return kToolFailure;
  }
  auto machine = RawMachine::create(*elf, o.argv, o.envp, o.count);
  if (!machine) {
    std::fprintf(stderr, "raw_unicorn: %s\n", machine.error().message.c_str());
    return kToolFailure;
  }
  auto out = (*machine)->run();
  std::fflush(stdout);
  if (!out) {
    std::fprintf(stderr, "raw_unicorn: %s: %s\n", o.argv[0].c_str(), out.error().message.c_str());
    return kToolFailure;
  }
  report(o, *out);
  return out->exit_code;
}
