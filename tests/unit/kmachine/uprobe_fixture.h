// uprobes on the running machine: registration by PATH:SYMBOL through the machine's inode
// cache, consumers that record what they see, and the ELF facts tests need.
#pragma once

#include <fstream>
#include <iterator>
#include <map>

#include "kmachine.h"
#include "loader/elf_file.h"
#include "probes/uprobes/uprobe_manager.h"
#include "probes/uprobes/uprobe_target.h"

namespace probesim::kmachine {

inline std::vector<uint8_t> host_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline loader::ElfFile elf_of(const std::string& path) {
  auto e = loader::ElfFile::parse(path, host_file(path));
  REQUIRE_MESSAGE(e.ok(), (e.ok() ? "" : e.error().message));
  return std::move(e).value();
}

// File offset of "symbol[+off]" in the program at `path`.
inline FileOffset file_offset(const std::string& path, const std::string& target) {
  auto spec = probes::parse_uprobe_spec(path + ":" + target);
  REQUIRE(spec.ok());
  auto off = probes::uprobe_file_offset(elf_of(path), spec.value());
  REQUIRE_MESSAGE(off.ok(), (off.ok() ? "" : off.error().message));
  return off.value();
}

// A registered uprobe (unregistered and the inode reference dropped on destruction).
struct UprobeReg {
  Machine& m;
  mmu::Inode* inode = nullptr;
  probes::Uprobe* u = nullptr;
  probes::UprobeConsumer c;
  UprobeReg(Machine& mm, const std::string& path, FileOffset off, probes::UprobeConsumer uc)
      : m(mm), c(std::move(uc)) {
    auto in = m.state().lookup_inode(path);
    REQUIRE_MESSAGE(in.ok(), (in.ok() ? "" : in.error().message));
    inode = in.value();
    auto r = m.state().uprobes().uprobe_register(*inode, off, c);
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    u = r.value();
  }
  ~UprobeReg() {
    if (u) m.state().uprobes().uprobe_unregister(u, c);
    m.state().inodes().iput(inode);
  }
  void unregister() {
    m.state().uprobes().uprobe_unregister(u, c);
    u = nullptr;
  }
};

inline int current_pid(Machine& m) {
  emu::Task* t = m.state().current_task();
  REQUIRE(t != nullptr);
  return t->proc().pid();
}

// Runs `argv` to completion on m; returns stdout + exit status.
inline std::pair<std::string, int> run_to_end(Machine& m, const std::vector<std::string>& argv) {
  auto pid = m.spawn(argv, {});
  REQUIRE_MESSAGE(pid.ok(), (pid.ok() ? "" : pid.error().message));
  REQUIRE(m.run());
  auto e = m.exit_of(pid.value());
  REQUIRE(e.has_value());
  return {m.captured_stdout(pid.value()), e->shell_status};
}

}  // namespace probesim::kmachine
