// KernelHarness: runs the guest kernel image (vmprobesim) in the reference Unicorn engine
// (tests/support/uc_engine.h) and plays the model's side of docs/guest-kernel.md: the user
// syscall instruction's emulation, the hypercalls (x86_64 int $0xe9, arm64 hvc #0), ERET
// (arm64 hvc #1) and HC_IRET (x86_64). Tests use it to prove the image's contract before the
// machine integrates it; it is test code and may call uc_* directly.
//
// Memory: the image's PT_LOADs at their link addresses, kStacks kernel stacks (THREAD_SIZE,
// THREAD_SIZE-aligned) above the image, a user code page and a user stack.
// Exceptions thrown by callbacks (doctest REQUIRE) are stored, emulation stops, and the run
// method rethrows them.
#pragma once

#include <unicorn/unicorn.h>

#include <array>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "guest/kernel/include/entry_abi.h"
#include "guest/kernel/include/hypercall_abi.h"
#include "loader/elf_file.h"
#include "probes/kallsyms.h"
#include "probesim/types.h"
#include "support/uc_engine.h"

namespace probesim::kernel_test {

inline constexpr Arch kArches[] = {Arch::X86_64, Arch::AArch64};

// The Unicorn register id of arch a (the two enums differ in type).
inline int arch_reg(Arch a, int x86_reg, int arm64_reg) {
  return a == Arch::X86_64 ? x86_reg : arm64_reg;
}

// Why a run ended.
enum class Stop { None, UserDone, RunInit, KernelCallDone, Panic, TaskExited };

struct HypercallRecord {
  uint64_t nr;
  std::array<uint64_t, 6> args;
};

// HC_SYSCALL as the model sees it: nr, the six-argument block, the pt_regs address.
struct SyscallRequest {
  uint64_t nr;
  std::array<uint64_t, 6> args;
  GuestAddr regs;
};

// The fake model: the syscall result, or nullopt when the task exits (never returns).
using SyscallModel = std::function<std::optional<int64_t>(const SyscallRequest&)>;

// The built image of an arch (PROBESIM_KERNEL_IMAGE_DIR/<arch>/vmprobesim); REQUIREs it.
loader::ElfFile load_kernel_image(Arch arch);

class KernelHarness {
 public:
  static constexpr GuestAddr kUserCode{0x400000};
  static constexpr GuestAddr kUserStackTop{0x7ff8000};
  static constexpr int kStacks = 2;  // 0: the user task's, 1: kernel_call's

  explicit KernelHarness(Arch arch);
  ~KernelHarness();
  KernelHarness(const KernelHarness&) = delete;
  KernelHarness& operator=(const KernelHarness&) = delete;

  Arch arch() const { return arch_; }
  const probes::Kallsyms& kallsyms() const { return *kallsyms_; }
  GuestAddr sym(std::string_view name) const;  // REQUIREs the symbol
  GuestAddr stack_top(int i) const;
  GuestAddr task_pt_regs() const;  // where the user task's pt_regs lives
  size_t pt_regs_size() const;

  // Runs from the ELF entry until rest_init's HC_RUN_INIT.
  Stop boot();
  // Starts the first user program as README.md's "Starting user tasks" says: writes
  // `regs` (a whole pt_regs, as 64-bit words) at the top of stack 0 and enters
  // ret_from_fork; the user code ends where `code` ends.
  Stop run_user(const std::vector<uint8_t>& code, const std::vector<uint64_t>& regs);
  // probesim_kernel_call_trampoline on stack 1; returns the callee's result.
  uint64_t kernel_call(std::string_view fn, const std::vector<uint64_t>& args);

  // Calls fn (in order, with the CPU stopped before the first instruction) each time the
  // function at `name` is entered; fn may change registers and memory like a kprobe.
  void on_entry(std::string_view name, std::function<void()> fn);
  // Records the names of these functions in `calls` each time one is entered.
  void trace(const std::vector<std::string>& names);

  uint64_t reg(int uc_reg) const;
  uint64_t msr(uint32_t id) const;  // x86_64 only
  void set_reg(int uc_reg, uint64_t v);
  uint64_t read_u64(GuestAddr a) const;
  void write_u64(GuestAddr a, uint64_t v);
  std::vector<uint8_t> read(GuestAddr a, size_t n) const;
  void write(GuestAddr a, const std::vector<uint8_t>& bytes);
  // The user-visible registers, indexed like pt_regs words (x86_64: PTREGS_X86_64_* / 8;
  // arm64: regs[0..30], sp, pc, pstate).
  uint64_t user_reg(size_t pt_regs_word) const;

  SyscallModel syscall_model;            // default: -ENOSYS
  std::vector<HypercallRecord> hypercalls;  // every numbered hypercall, in order
  std::vector<SyscallRequest> syscalls;     // every HC_SYSCALL, in order
  std::vector<std::string> calls;           // trace() hits, in order
  std::string panic_message;

 private:
  struct Hook;

  void map_image();
  void map_region(GuestAddr start, uint64_t size, uint32_t prot);
  uint64_t phys(uint64_t va) const;  // Unicorn's physical address (emu/uc_phys.h)
  void add_hooks();
  Stop run(GuestAddr begin, GuestAddr until);
  void stop(Stop why);
  uint64_t hypercall(uint64_t nr, const std::array<uint64_t, 6>& args);
  void on_x86_hypercall();
  void on_x86_syscall();
  void on_arm64_intr(uint32_t intno);
  void x86_iret(GuestAddr regs);
  void arm64_eret();
  void guard(const std::function<void()>& fn) noexcept;
  static int x86_pt_reg(size_t word) {  // Unicorn register of a pt_regs word, -1 if none
    return probesim::test::UcEngine::uc_reg(Arch::X86_64, static_cast<unsigned>(word));
  }

  static void syscall_cb(uc_engine*, void* self);
  static void intr_cb(uc_engine*, uint32_t intno, void* self);
  static void code_cb(uc_engine*, uint64_t addr, uint32_t size, void* hook);

  Arch arch_;
  std::unique_ptr<probesim::test::UcEngine> engine_;
  uc_engine* uc_ = nullptr;  // engine_'s
  std::optional<loader::ElfFile> image_;
  std::optional<probes::Kallsyms> kallsyms_;
  std::vector<std::unique_ptr<Hook>> hooks_;
  Stop stop_ = Stop::None;
  uint64_t kernel_call_result_ = 0;
  std::exception_ptr error_;
};

}  // namespace probesim::kernel_test
