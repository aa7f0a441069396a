#include <cerrno>

#include "emu/machine_state.h"
#include "emu/process.h"
#include "emu/syscalls/syscall.h"

namespace probesim::emu {

Arch SyscallContext::arch() const { return machine_.arch(); }
mmu::Mm& SyscallContext::mm() { return proc_.mm(); }
FdTable& SyscallContext::fds() { return proc_.fds(); }
Vfs& SyscallContext::vfs() { return machine_.vfs(); }
mmu::InodeCache& SyscallContext::inodes() { return machine_.inodes(); }
const VirtualClock& SyscallContext::clock() { return machine_.guest_clock(); }
FsStruct& SyscallContext::fs() { return proc_.fs(); }
DeterministicRng& SyscallContext::rng() { return machine_.rng(); }
const std::string& SyscallContext::exe_path() { return proc_.exe_path; }
int SyscallContext::pid() { return proc_.pid(); }
UserRegs SyscallContext::regs() { return machine_.user_regs(task_); }

bool SyscallContext::access_ok(GuestAddr addr, uint64_t size) {
  return proc_.mm().access_ok(addr, size);
}

bool SyscallContext::read_user(GuestAddr src, void* dst, size_t n) {
  return access_ok(src, n) && proc_.mm().copy_from_user(dst, src, n);
}

bool SyscallContext::write_user(GuestAddr dst, const void* src, size_t n) {
  return access_ok(dst, n) && proc_.mm().copy_to_user(dst, src, n);
}

Result<std::string> SyscallContext::read_path(GuestAddr src) {
  constexpr size_t kPathMax = 4096;
  return proc_.mm().strncpy_from_user(src, kPathMax);
}

}  // namespace probesim::emu
