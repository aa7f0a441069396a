// Fixtures for kprobes on the running machine (the guest kernel booted by Machine, probes
// registered on Machine::state().kprobes(), hits from kernel_call and from real programs).
#pragma once

#include <capstone/capstone.h>
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "emu/machine_state.h"
#include "probes/kprobe.h"
#include "probes/kprobe_manager.h"
#include "probes/kretprobe.h"
#include "probesim/machine.h"

namespace probesim::kmachine {

inline constexpr Arch kArches[] = {Arch::X86_64, Arch::AArch64};

inline std::string guest(Arch a, const std::string& name) {
  return std::string(PROBESIM_GUEST_DIR) + (a == Arch::X86_64 ? "/x86_64-glibc/" : "/aarch64-glibc/") + name;
}

// A directory like tests/e2e's fixture (fileio's argument), under the build tree; `name`
// keeps test cases that ctest runs in parallel apart.
inline std::string fixture_dir(const std::string& name) {
  namespace fs = std::filesystem;
  fs::path root = fs::path(PROBESIM_GUEST_DIR) / ".." / "kmachine_fixtures" / name;
  fs::remove_all(root);
  fs::create_directories(root / "sub");
  auto put = [&](const fs::path& p, const std::string& text) { std::ofstream(p) << text; };
  put(root / "hello.txt", "hello fixture\n");
  put(root / "lines.txt", "alpha\nbeta\ngamma\ndelta\n");
  std::string data(10000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 31 + 7) % 251);
  put(root / "data.bin", data);
  put(root / "sub" / "nested.txt", "nested file\n");
  fs::create_symlink("hello.txt", root / "link");
  return fs::canonical(root).string();
}

inline std::unique_ptr<Machine> boot(Arch arch, bool boost = true, int cpus = 1) {
  auto m = Machine::create(Options{.arch = arch, .seed = 1, .cpus = cpus, .kprobe_boost = boost});
  REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.error().message));
  return std::move(m.value());
}

inline probes::KprobeManager& kprobes(Machine& m) {
  probes::KprobeManager* k = m.state().kprobes();
  REQUIRE(k != nullptr);
  return *k;
}

// `n` bytes of kernel text at `a`, as the CPUs see them.
inline std::vector<uint8_t> text(Machine& m, GuestAddr a, size_t n) {
  std::vector<uint8_t> v(n);
  REQUIRE(m.state().kernel()->space().read(a, v));
  return v;
}

// The registered kprobe at `a` (the test fails without one).
inline probes::KprobeInfo info_of(Machine& m, GuestAddr a) {
  auto i = kprobes(m).info(a);
  REQUIRE(i.has_value());
  return *i;
}

inline const probes::KernelSymbol& ksym(Machine& m, const std::string& name) {
  const probes::KernelSymbol* s = m.state().kernel()->space().kallsyms().find(name);
  REQUIRE_MESSAGE(s != nullptr, "no kernel symbol " << name);
  return *s;
}

inline uint64_t call(Machine& m, const std::string& fn, const std::vector<uint64_t>& args) {
  auto r = m.kernel_call(fn, args);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  return r.value();
}

// Every instruction start of function `name` (Capstone over its original bytes).
inline std::vector<GuestAddr> insn_boundaries(Machine& m, const std::string& name) {
  const probes::KernelSymbol& s = ksym(m, name);
  std::vector<uint8_t> code(s.size);
  REQUIRE(kprobes(m).read_original(s.addr, code));
  bool x86 = m.arch() == Arch::X86_64;
  csh cs;
  REQUIRE(cs_open(x86 ? CS_ARCH_X86 : CS_ARCH_ARM64, x86 ? CS_MODE_64 : CS_MODE_ARM, &cs) == CS_ERR_OK);
  cs_insn* insn = nullptr;
  size_t n = cs_disasm(cs, code.data(), code.size(), s.addr.value, 0, &insn);
  std::vector<GuestAddr> out;
  for (size_t i = 0; i < n; ++i) out.push_back(GuestAddr{insn[i].address});
  cs_free(insn, n);
  cs_close(&cs);
  REQUIRE_MESSAGE(!out.empty(), "cannot decode " << name);
  return out;
}

// A Kprobe (owned) at each address, registered; unregistered on destruction.
struct ProbeSet {
  Machine& m;
  std::vector<std::unique_ptr<probes::Kprobe>> kps;
  explicit ProbeSet(Machine& mm) : m(mm) {}
  ~ProbeSet() {
    for (auto& k : kps)
      if (k->registered()) kprobes(m).unregister_kprobe(*k);
  }
  // Registers a counting probe at a; returns the registration result.
  Result<void> add(GuestAddr a) {
    auto k = std::make_unique<probes::Kprobe>();
    k->addr = a;
    k->pre_handler = [](probes::Kprobe&, probes::Regs&) { return 0; };
    k->post_handler = [](probes::Kprobe&, probes::Regs&, unsigned long) {};
    auto r = kprobes(m).register_kprobe(*k);
    if (r) kps.push_back(std::move(k));
    return r;
  }
};

// The n-th C argument of a kernel function at its entry.
inline uint64_t arg(const probes::Regs& r, unsigned n) { return r.kernel_argument(n).value(); }

}  // namespace probesim::kmachine
