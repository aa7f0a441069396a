// Test helpers for tests/unit/vfs: a temporary host tree to use as the guest root, a Vfs
// fixture around it, and a syscall harness (FakeKernel) that runs the sys_* handlers with a
// real SyscallContext: a MachineState (no guest kernel, no engines) over the tree and one
// Process, not scheduled, whose mm has 1 MiB of anonymous memory at kBase.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "emu/deterministic_rng.h"
#include "emu/machine_state.h"
#include "emu/process.h"
#include "emu/syscalls/syscall.h"
#include "emu/vfs/caller.h"
#include "emu/vfs/fd_table.h"
#include "emu/vfs/fs_struct.h"
#include "emu/vfs/vfs.h"
#include "emu/virtual_clock.h"
#include "mmu/inode_cache.h"

namespace probesim::emu::test {

// A fresh host directory <tmp>/root (the guest root) inside <tmp> (the "outside" that no
// guest path may reach). Removed with everything in it on destruction.
class HostTree {
 public:
  HostTree();
  ~HostTree();
  HostTree(const HostTree&) = delete;
  HostTree& operator=(const HostTree&) = delete;

  const std::string& root() const { return root_; }
  const std::string& outside() const { return top_; }
  std::string host(const std::string& rel) const { return root_ + "/" + rel; }

  void file(const std::string& rel, const std::string& content, mode_t mode = 0644);
  void dir(const std::string& rel);
  void symlink(const std::string& rel, const std::string& target);
  void hardlink(const std::string& rel, const std::string& existing);
  std::string read(const std::string& rel) const;
  struct stat lstat(const std::string& rel) const;

 private:
  std::string top_;
  std::string root_;
};

// open + read a whole file through the Vfs as caller c ("" on error); a directory listing
// without . and .. (REQUIREs success).
std::string read_all(Vfs& vfs, const Caller& c, const std::string& path);
std::vector<std::string> names(Vfs& vfs, const Caller& c, const std::string& dir);

// A Vfs over a HostTree plus one process's state, for tests that call the Vfs directly.
struct VfsFixture {
  VfsFixture();
  Caller caller() const { return Caller{fs, &fds, exe, pid}; }
  std::string read_all(const std::string& path);           // open + read via the Vfs; "" on error
  std::vector<std::string> names(const std::string& dir);  // listing without . and ..

  HostTree tree;
  mmu::InodeCache inodes;
  VirtualClock clock;
  DeterministicRng rng{1234};
  std::unique_ptr<Vfs> vfs;
  FsStruct fs;
  FdTable fds;
  std::string exe = "/bin/prog";
  int pid = 7;
};

// The syscall harness. Handlers see the machine's Vfs (root = tree) and the process's fd table,
// cwd and memory; fds / fs / vfs name the same objects for the tests.
struct FakeKernel {
  static constexpr uint64_t kBase = 0x10000;
  static constexpr uint64_t kSize = 1 << 20;

  explicit FakeKernel(Arch a = Arch::X86_64);
  ~FakeKernel();
  SyscallContext context();
  int64_t call(SyscallFn fn, std::initializer_list<uint64_t> args);
  Caller caller() const;
  std::string read_all(const std::string& path);           // open + read via the Vfs; "" on error
  std::vector<std::string> names(const std::string& dir);  // listing without . and ..

  uint64_t alloc(uint64_t n);                 // zeroed guest memory (bump allocator)
  uint64_t put_string(const std::string& s);  // NUL-terminated copy in guest memory
  void put(uint64_t addr, const void* data, uint64_t n);
  std::vector<uint8_t> get(uint64_t addr, uint64_t n) const;
  uint64_t get_u64(uint64_t addr) const;
  uint32_t get_u32(uint64_t addr) const;
  uint16_t get_u16(uint64_t addr) const;

  HostTree tree;
  Arch arch;
  std::unique_ptr<MachineState> machine;
  std::unique_ptr<Process> proc;
  Vfs* vfs;
  FdTable& fds;
  FsStruct& fs;
  uint64_t brk = kBase;
};

}  // namespace probesim::emu::test
