// RawMachine: the raw-Unicorn benchmark peer. One Unicorn engine, one RWX region over all
// PT_LOADs, an 8 MiB stack with argc/argv/envp/auxv, RawSyscalls for the kernel. In the
// timed mode the only hooks are the syscall hook (x86 UC_HOOK_INSN syscall, arm64 svc via
// UC_HOOK_INTR) and an interrupt hook that stops on any other exception; CountMode::On adds
// a whole-range UC_HOOK_CODE that counts executed instructions (≈10x slower; calibration).
// Emulation always uses uc_emu_start(entry, 0, 0, 0): count = 0 (docs/stack-facts.md gotcha 1).
//
// Ownership: owns the engine (uc_close in the destructor) and the RawSyscalls that borrows
// it. Hooks receive `this`, so a RawMachine never moves (created behind a unique_ptr).
#pragma once

#include <unicorn/unicorn.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/raw/raw_syscalls.h"
#include "bench/raw/static_elf.h"
#include "probesim/result.h"
#include "probesim/types.h"

namespace probesim::bench {

enum class CountMode { Off, On };

struct RunOutcome {
  int exit_code = 0;
  InsnCount instructions;  // 0 unless CountMode::On
  uint64_t syscalls = 0;
  std::map<uint64_t, uint64_t> unknown_syscalls;  // nr -> -ENOSYS returns
};

class RawMachine {
 public:
  static constexpr uint64_t kStackSize = uint64_t{8} << 20;

  static Result<std::unique_ptr<RawMachine>> create(const StaticElf& elf,
                                                    const std::vector<std::string>& argv,
                                                    const std::vector<std::string>& envp,
                                                    CountMode count);
  ~RawMachine();
  RawMachine(const RawMachine&) = delete;
  RawMachine& operator=(const RawMachine&) = delete;

  // Runs from the entry point until exit/exit_group. Call at most once. A guest that stops
  // without exiting (fault, unexpected trap) is an Error naming the PC.
  Result<RunOutcome> run();

 private:
  RawMachine(const ArchAbi& abi, GuestAddr entry) : abi_(abi), entry_(entry) {}
  Result<void> map_image(const StaticElf& elf);
  Result<void> map_stack(const StaticElf& elf, const std::vector<std::string>& argv,
                         const std::vector<std::string>& envp);
  Result<void> install_hooks(CountMode count);
  void handle_syscall() noexcept;
  void fail(std::string message) noexcept;
  uint64_t pc() const;

  static void on_x86_syscall(uc_engine* uc, void* self) noexcept;
  static void on_interrupt(uc_engine* uc, uint32_t intno, void* self) noexcept;
  static void on_code(uc_engine* uc, uint64_t addr, uint32_t size, void* self) noexcept;

  uc_engine* uc_ = nullptr;  // owned
  const ArchAbi& abi_;
  GuestAddr entry_;
  std::unique_ptr<RawSyscalls> syscalls_;
  uint64_t insns_ = 0;
  std::optional<std::string> error_;  // first failure seen inside a hook
};

}  // namespace probesim::bench
