#include "bench/raw/raw_machine.h"

#include <elf.h>

#include <cstdio>

#include "bench/raw/initial_stack.h"
#include "bench/raw/uc_check.h"

namespace probesim::bench {
namespace {

constexpr uint32_t kArm64SvcIntno = 2;  // EXCP_SWI; PC is already past the svc
// AT_RANDOM bytes: fixed, so every run of the peer sees the same stack-protector canary.
constexpr std::array<uint8_t, 16> kAtRandom = {0x70, 0x72, 0x6f, 0x62, 0x65, 0x73, 0x69, 0x6d,
                                               0x62, 0x65, 0x6e, 0x63, 0x68, 0x72, 0x61, 0x77};

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

Result<std::unique_ptr<RawMachine>> RawMachine::create(const StaticElf& elf,
                                                       const std::vector<std::string>& argv,
                                                       const std::vector<std::string>& envp,
                                                       CountMode count) {
  if (argv.empty()) return Error::make("raw_unicorn: argv must hold at least the program name");
  std::unique_ptr<RawMachine> m(new RawMachine(elf.abi(), elf.entry()));
  PROBESIM_TRY_VOID(
      uc_check(uc_open(m->abi_.unicorn_arch, m->abi_.unicorn_mode, &m->uc_), "uc_open"));
  PROBESIM_TRY_VOID(m->map_image(elf));
  m->syscalls_ = std::make_unique<RawSyscalls>(m->uc_, m->abi_, elf.image_end());
  PROBESIM_TRY_VOID(m->map_stack(elf, argv, envp));
  PROBESIM_TRY_VOID(m->install_hooks(count));
  return m;
}

RawMachine::~RawMachine() {
  if (uc_) uc_close(uc_);  // nothing useful to do on failure at teardown
}

Result<void> RawMachine::map_image(const StaticElf& elf) {
  const uint64_t start = elf.image_start().value;
  PROBESIM_TRY_VOID(
      uc_check(uc_mem_map(uc_, start, elf.image_end() - elf.image_start(), UC_PROT_ALL),
               "mapping the ELF image"));
  for (const LoadSegment& seg : elf.segments()) {
    if (seg.filesz == 0) continue;  // bss is already zero: uc_mem_map zero-fills
    PROBESIM_TRY_VOID(uc_check(uc_mem_write(uc_, seg.vaddr.value + elf.bias(),
                                            elf.bytes().data() + seg.offset.value, seg.filesz),
                               "copying a PT_LOAD segment"));
  }
  return {};
}

Result<void> RawMachine::map_stack(const StaticElf& elf, const std::vector<std::string>& argv,
                                   const std::vector<std::string>& envp) {
  StackSpec spec{GuestAddr{abi_.stack_top}, argv, envp, {}, kAtRandom, abi_.platform};
  spec.auxv = {{AT_PHDR, elf.phdr().value},
               {AT_PHENT, elf.phentsize()},
               {AT_PHNUM, elf.phnum()},
               {AT_PAGESZ, kPageSize},
               {AT_BASE, 0},
               {AT_FLAGS, 0},
               {AT_ENTRY, elf.entry().value},
               {AT_UID, 0},
               {AT_EUID, 0},
               {AT_GID, 0},
               {AT_EGID, 0},
               {AT_SECURE, 0},
               {AT_CLKTCK, 100},
               {AT_HWCAP, abi_.hwcap},
               {AT_HWCAP2, 0}};
  InitialStack stack = InitialStack::build(spec);
  if (stack.bytes().size() > kStackSize / 2)
    return Error::make("raw_unicorn: arguments and environment exceed 4 MiB");
  PROBESIM_TRY_VOID(uc_check(
      uc_mem_map(uc_, abi_.stack_top - kStackSize, kStackSize, UC_PROT_READ | UC_PROT_WRITE),
      "mapping the stack"));
  PROBESIM_TRY_VOID(
      uc_check(uc_mem_write(uc_, stack.sp().value, stack.bytes().data(), stack.bytes().size()),
               "writing the initial stack"));
  uint64_t sp = stack.sp().value;
  return uc_check(uc_reg_write(uc_, abi_.sp_reg, &sp), "setting sp");
}

Result<void> RawMachine::install_hooks(CountMode count) {
  uc_hook h;
  if (abi_.arch == Arch::X86_64) {
    PROBESIM_TRY_VOID(
        uc_check(uc_hook_add(uc_, &h, UC_HOOK_INSN, reinterpret_cast<void*>(&on_x86_syscall), this,
                             1, 0, UC_X86_INS_SYSCALL),
                 "adding the syscall hook"));
  }
  PROBESIM_TRY_VOID(uc_check(
      uc_hook_add(uc_, &h, UC_HOOK_INTR, reinterpret_cast<void*>(&on_interrupt), this, 1, 0),
      "adding the interrupt hook"));
  if (count == CountMode::On) {
    PROBESIM_TRY_VOID(
        uc_check(uc_hook_add(uc_, &h, UC_HOOK_CODE, reinterpret_cast<void*>(&on_code), this, 1, 0),
                 "adding the counting hook"));
  }
  return {};
}

Result<RunOutcome> RawMachine::run() {
  uc_err err = uc_emu_start(uc_, entry_.value, 0, 0, 0);
  if (error_) return Error::make(*error_);
  PROBESIM_TRY_VOID(uc_check(err, "emulation (stopped at pc " + hex(pc()) + ")"));
  if (!syscalls_->exited())
    return Error::make("raw_unicorn: emulation stopped without exit at pc " + hex(pc()));
  RunOutcome out;
  out.exit_code = syscalls_->exit_code();
  out.instructions = InsnCount{insns_};
  out.syscalls = syscalls_->count();
  out.unknown_syscalls = syscalls_->unknown();
  return out;
}

uint64_t RawMachine::pc() const {
  uint64_t v = 0;
  uc_reg_read(uc_, abi_.pc_reg, &v);  // diagnostics only; 0 if the read fails
  return v;
}

void RawMachine::fail(std::string message) noexcept {
  if (!error_) error_ = std::move(message);
  uc_emu_stop(uc_);
}

// Reads nr and six args in one batch, dispatches, writes the return register. x86: Unicorn
// advances RIP past the syscall after the hook; arm64: PC is already past the svc.
void RawMachine::handle_syscall() noexcept {
  try {
    SyscallArgs args;
    int regs[7] = {abi_.syscall_nr_reg};
    void* vals[7] = {&args.nr};
    for (int i = 0; i < 6; i++) regs[i + 1] = abi_.syscall_arg_regs[i], vals[i + 1] = &args.a[i];
    if (uc_reg_read_batch(uc_, regs, vals, 7) != UC_ERR_OK) return fail("reading syscall args");
    int64_t ret = syscalls_->dispatch(args);
    if (uc_reg_write(uc_, abi_.syscall_ret_reg, &ret) != UC_ERR_OK)
      return fail("writing the syscall return value");
  } catch (const std::exception& e) {
    fail(std::string("raw_unicorn: syscall handler: ") + e.what());
  }
}

void RawMachine::on_x86_syscall(uc_engine*, void* self) noexcept {
  static_cast<RawMachine*>(self)->handle_syscall();
}

void RawMachine::on_interrupt(uc_engine*, uint32_t intno, void* self) noexcept {
  auto* m = static_cast<RawMachine*>(self);
  if (m->abi_.arch == Arch::AArch64 && intno == kArm64SvcIntno) return m->handle_syscall();
  m->fail("raw_unicorn: unexpected interrupt " + std::to_string(intno) + " at pc " + hex(m->pc()));
}

void RawMachine::on_code(uc_engine*, uint64_t, uint32_t, void* self) noexcept {
  static_cast<RawMachine*>(self)->insns_++;
}

}  // namespace probesim::bench
