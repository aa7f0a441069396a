// Helpers for the public API's tests: these tests include only include/probesim/ headers, as
// an embedder would (the CLI and the Python module are such embedders).
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "probesim/machine.h"

namespace probesim::api_test {

inline constexpr Arch kArches[] = {Arch::X86_64, Arch::AArch64};

inline std::string guest(Arch a, const std::string& name) {
  return std::string(PROBESIM_GUEST_DIR) + (a == Arch::X86_64 ? "/x86_64-glibc/" : "/aarch64-glibc/") +
         name;
}

inline std::unique_ptr<Machine> boot(Arch arch, bool kernel = true) {
  auto m = Machine::create(Options{.arch = arch, .seed = 1, .kernel = kernel});
  REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.error().message));
  return std::move(m.value());
}

template <class T>
T must(Result<T> r) {
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  return std::move(r).value();
}

inline uint64_t call(Machine& m, const std::string& fn, const std::vector<uint64_t>& args) {
  return must(m.kernel_call(fn, args));
}

// Spawns argv, runs to the end; (stdout, shell status).
inline std::pair<std::string, int> run_to_end(Machine& m, const std::vector<std::string>& argv) {
  int pid = must(m.spawn(argv, {}));
  REQUIRE(m.run());
  auto e = m.exit_of(pid);
  REQUIRE(e.has_value());
  return {m.captured_stdout(pid), e->shell_status};
}

}  // namespace probesim::api_test
