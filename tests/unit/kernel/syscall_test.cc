// The syscall path through vmprobesim: user syscall instruction -> entry -> pt_regs -> Linux-
// named functions -> HC_SYSCALL -> exit path, with the harness playing the model.
#include <doctest/doctest.h>

#include "kernel_harness.h"
#include "user_program.h"

namespace probesim::kernel_test {
namespace {

constexpr int64_t kResult = 0x1234567;

// A booted harness whose model answers kResult and remembers nothing else.
std::unique_ptr<KernelHarness> booted(Arch a) {
  auto h = std::make_unique<KernelHarness>(a);
  REQUIRE(h->boot() == Stop::RunInit);
  h->syscall_model = [](const SyscallRequest&) { return kResult; };
  return h;
}

Stop run_syscall(KernelHarness& h, const std::vector<uint64_t>& regs) {
  return h.run_user(syscall_insn(h.arch()), regs);
}

uint64_t after_syscall(Arch a) { return KernelHarness::kUserCode.value + syscall_insn(a).size(); }

}  // namespace

TEST_CASE("syscall: the user sees the model's result and every other register preserved "
          "(x86_64: rcx = rip and r11 = rflags, as the instruction defines)") {
  for (Arch a : kArches) {
    CAPTURE(arch_name(a));
    auto h = booted(a);
    std::vector<uint64_t> regs = user_regs(a, kGetpid.of(a));
    REQUIRE(run_syscall(*h, regs) == Stop::UserDone);
    for (size_t w = 0; w < gpr_words(a); w++) {
      CAPTURE(w);
      uint64_t want = regs[w];
      if (w == ret_word(a)) want = kResult;
      if (a == Arch::X86_64 && w == PTREGS_X86_64_CX / 8) want = after_syscall(a);
      if (a == Arch::X86_64 && w == PTREGS_X86_64_R11 / 8) want = kX86UserFlags;
      CHECK(h->user_reg(w) == want);
    }
    CHECK(h->user_reg(ip_word(a)) == after_syscall(a));
    CHECK(h->user_reg(sp_word(a)) == KernelHarness::kUserStackTop.value);
    CHECK(h->user_reg(flags_word(a)) == regs[flags_word(a)]);
    // Back in user mode: the user's GS base, the per-cpu block parked in KERNEL_GS_BASE /
    // SP_EL1 back at the task's kernel stack top, ready for the next entry.
    if (a == Arch::X86_64) {
      CHECK(h->reg(UC_X86_REG_GS_BASE) == 0);
      CHECK(h->msr(X86_MSR_KERNEL_GS_BASE) == h->sym("pcpu_hot").value);
    } else {
      CHECK(h->reg(UC_ARM64_REG_SP_EL1) == h->stack_top(0).value);
    }
  }
}

TEST_CASE("syscall: the model gets the number, the six arguments and the task's pt_regs in "
          "Linux's layout") {
  for (Arch a : kArches) {
    CAPTURE(arch_name(a));
    auto h = booted(a);
    std::vector<uint64_t> regs = user_regs(a, kGetpid.of(a));
    std::vector<uint64_t> seen;  // the pt_regs words while the model runs
    h->syscall_model = [&](const SyscallRequest& req) {
      for (size_t i = 0; i < regs.size(); i++) seen.push_back(h->read_u64(req.regs + i * 8));
      return kResult;
    };
    REQUIRE(run_syscall(*h, regs) == Stop::UserDone);
    REQUIRE(h->syscalls.size() == 1);
    const SyscallRequest& req = h->syscalls[0];
    CHECK(req.nr == kGetpid.of(a));
    for (size_t i = 0; i < 6; i++) CHECK(req.args[i] == regs[arg_word(a, i)]);
    CHECK(req.regs == h->task_pt_regs());
    REQUIRE(seen.size() == regs.size());
    CHECK(seen[ip_word(a)] == after_syscall(a));
    CHECK(seen[sp_word(a)] == KernelHarness::kUserStackTop.value);
    CHECK(seen[flags_word(a)] == regs[flags_word(a)]);
    for (size_t i = 0; i < 6; i++) CHECK(seen[arg_word(a, i)] == regs[arg_word(a, i)]);
    if (a == Arch::X86_64) {
      CHECK(seen[PTREGS_X86_64_ORIG_AX / 8] == kGetpid.of(a));
      CHECK(seen[PTREGS_X86_64_AX / 8] == static_cast<uint64_t>(-38));  // -ENOSYS until set
      CHECK(seen[PTREGS_X86_64_CX / 8] == after_syscall(a));
      CHECK(seen[PTREGS_X86_64_R11 / 8] == kX86UserFlags);
      CHECK(seen[PTREGS_X86_64_CS / 8] == X86_64_USER_CS);
      CHECK(seen[PTREGS_X86_64_SS / 8] == X86_64_USER_DS);
    } else {
      CHECK(seen[PTREGS_ARM64_ORIG_X0 / 8] == regs[0]);
      CHECK((seen[PTREGS_ARM64_SYSCALLNO / 8] & 0xffffffff) == kGetpid.of(a));
      CHECK(seen[8] == kGetpid.of(a));
    }
  }
}

TEST_CASE("syscall: write runs through Linux's named functions down to the model") {
  for (Arch a : kArches) {
    CAPTURE(arch_name(a));
    auto h = booted(a);
    std::vector<std::string> path =
        a == Arch::X86_64
            ? std::vector<std::string>{"entry_SYSCALL_64", "do_syscall_64", "do_syscall_x64"}
            : std::vector<std::string>{"el0t_64_sync",   "el0t_64_sync_handler", "el0_svc",
                                       "do_el0_svc",     "el0_svc_common",       "invoke_syscall",
                                       "__invoke_syscall"};
    for (const char* f : {"__do_sys_write", "ksys_write", "vfs_write", "probesim_model_syscall"})
      path.push_back(f);
    path.insert(path.end() - 4, sys(a, "write"));
    h->trace(path);
    REQUIRE(run_syscall(*h, user_regs(a, kWrite.of(a), {1, 0x7ff0000, 12})) == Stop::UserDone);
    CHECK(h->calls == path);
    REQUIRE(h->syscalls.size() == 1);
    CHECK(h->syscalls[0].nr == kWrite.of(a));
    CHECK(h->syscalls[0].args[0] == 1);
    CHECK(h->syscalls[0].args[1] == 0x7ff0000);
    CHECK(h->syscalls[0].args[2] == 12);
  }
}

TEST_CASE("syscall: numbers without a named path, and numbers past the table, reach the "
          "model through the generic wrapper") {
  for (Arch a : kArches) {
    CAPTURE(arch_name(a));
    for (uint64_t nr : {kGetpid.of(a), uint64_t{600}}) {
      CAPTURE(nr);
      auto h = booted(a);
      h->trace({sys(a, "generic"), "probesim_model_syscall"});
      std::vector<uint64_t> regs = user_regs(a, nr);
      REQUIRE(run_syscall(*h, regs) == Stop::UserDone);
      CHECK(h->calls == std::vector<std::string>{sys(a, "generic"), "probesim_model_syscall"});
      REQUIRE(h->syscalls.size() == 1);
      CHECK(h->syscalls[0].nr == nr);
      CHECK(h->syscalls[0].args[5] == regs[arg_word(a, 5)]);
      CHECK(h->user_reg(ret_word(a)) == static_cast<uint64_t>(kResult));
    }
  }
}

TEST_CASE("syscall: a probe that rewrites the syscall's pt_regs is honoured by the model and "
          "by the return to user mode") {
  for (Arch a : kArches) {
    CAPTURE(arch_name(a));
    auto h = booted(a);
    // Like a kprobe pre_handler on __x64_sys_write(regs) / __arm64_sys_write(regs).
    h->on_entry(sys(a, "write"), [&] {
      GuestAddr regs{h->reg(arch_reg(a, UC_X86_REG_RDI, UC_ARM64_REG_X0))};
      h->write_u64(regs + arg_word(a, 0) * 8, 2);
      h->write_u64(regs + arg_word(a, 1) * 8, 0x7ff1000);
    });
    REQUIRE(run_syscall(*h, user_regs(a, kWrite.of(a), {1, 0x7ff0000, 12})) == Stop::UserDone);
    REQUIRE(h->syscalls.size() == 1);
    CHECK(h->syscalls[0].args[0] == 2);
    CHECK(h->syscalls[0].args[1] == 0x7ff1000);
    CHECK(h->user_reg(arg_word(a, 1)) == 0x7ff1000);
    if (a == Arch::X86_64) CHECK(h->user_reg(arg_word(a, 0)) == 2);
  }
}

TEST_CASE("syscall: a probe that changes a Linux-named function's argument changes what the "
          "model does, not the user's registers") {
  for (Arch a : kArches) {
    CAPTURE(arch_name(a));
    auto h = booted(a);
    h->on_entry("ksys_write", [&] { h->set_reg(arch_reg(a, UC_X86_REG_RDX, UC_ARM64_REG_X2), 5); });
    REQUIRE(run_syscall(*h, user_regs(a, kWrite.of(a), {1, 0x7ff0000, 12})) == Stop::UserDone);
    REQUIRE(h->syscalls.size() == 1);
    CHECK(h->syscalls[0].args[2] == 5);
    CHECK(h->user_reg(arg_word(a, 2)) == 12);
  }
}

TEST_CASE("syscall: when the model rewrites pt_regs, the user resumes with every register "
          "from it (x86_64: through HC_IRET, since rcx and r11 no longer match ip and flags)") {
  for (Arch a : kArches) {
    CAPTURE(arch_name(a));
    auto h = booted(a);
    size_t w1 = a == Arch::X86_64 ? PTREGS_X86_64_CX / 8 : 5;
    size_t w2 = a == Arch::X86_64 ? PTREGS_X86_64_R11 / 8 : 30;
    size_t w3 = a == Arch::X86_64 ? PTREGS_X86_64_R12 / 8 : 19;
    h->syscall_model = [&](const SyscallRequest& req) {
      h->write_u64(req.regs + w1 * 8, 0xc0ffee);
      h->write_u64(req.regs + w2 * 8, 0x2c2);
      h->write_u64(req.regs + w3 * 8, 0x1212);
      return kResult;
    };
    REQUIRE(run_syscall(*h, user_regs(a, kGetpid.of(a))) == Stop::UserDone);
    CHECK(h->user_reg(w1) == 0xc0ffee);
    CHECK(h->user_reg(w2) == 0x2c2);
    CHECK(h->user_reg(w3) == 0x1212);
    CHECK(h->user_reg(ret_word(a)) == static_cast<uint64_t>(kResult));
    if (a == Arch::X86_64) CHECK(h->hypercalls.back().nr == HC_IRET);
  }
}

TEST_CASE("syscall: exit_group reaches do_group_exit then do_exit, exit only do_exit, and "
          "neither returns") {
  for (Arch a : kArches) {
    CAPTURE(arch_name(a));
    for (bool group : {true, false}) {
      CAPTURE(group);
      auto h = booted(a);
      h->trace({"do_group_exit", "do_exit", "probesim_model_syscall"});
      h->syscall_model = [](const SyscallRequest&) { return std::nullopt; };
      uint64_t nr = (group ? kExitGroup : kExit).of(a);
      REQUIRE(run_syscall(*h, user_regs(a, nr, {0x103})) == Stop::TaskExited);
      std::vector<std::string> want = {"do_exit", "probesim_model_syscall"};
      if (group) want.insert(want.begin(), "do_group_exit");
      CHECK(h->calls == want);
      REQUIRE(h->syscalls.size() == 1);
      CHECK(h->syscalls[0].nr == nr);
      CHECK(h->syscalls[0].args[0] == 3);  // (code & 0xff) << 8 >> 8
    }
  }
}

TEST_CASE("syscall: clone passes kernel_clone's arguments to the model in the arch's raw order") {
  for (Arch a : kArches) {
    CAPTURE(arch_name(a));
    auto h = booted(a);
    h->trace({"kernel_clone"});
    std::vector<uint64_t> args = {0x3d0f00 | 17, 0x7ff2000, 0x7ff3000, 0x7ff4000, 0x7ff5000};
    REQUIRE(run_syscall(*h, user_regs(a, kClone.of(a), args)) == Stop::UserDone);
    CHECK(h->calls == std::vector<std::string>{"kernel_clone"});
    REQUIRE(h->syscalls.size() == 1);
    for (size_t i = 0; i < args.size(); i++) CHECK(h->syscalls[0].args[i] == args[i]);
  }
}

TEST_CASE("syscall: mmap goes through ksys_mmap_pgoff and vm_mmap_pgoff with its byte offset, and "
          "an unaligned offset still reaches the model") {
  for (Arch a : kArches) {
    CAPTURE(arch_name(a));
    for (uint64_t off : {uint64_t{0x3000}, uint64_t{0x123}}) {
      CAPTURE(off);
      auto h = booted(a);
      h->trace({"ksys_mmap_pgoff", "vm_mmap_pgoff"});
      std::vector<uint64_t> args = {0, 0x2000, 1, 2, 3, off};
      REQUIRE(run_syscall(*h, user_regs(a, kMmap.of(a), args)) == Stop::UserDone);
      if (off == 0x3000)
        CHECK(h->calls == std::vector<std::string>{"ksys_mmap_pgoff", "vm_mmap_pgoff"});
      else
        CHECK(h->calls.empty());
      REQUIRE(h->syscalls.size() == 1);
      for (size_t i = 0; i < args.size(); i++) CHECK(h->syscalls[0].args[i] == args[i]);
    }
  }
}

TEST_CASE("syscall: openat goes through do_sys_open and do_sys_openat2 with its raw arguments") {
  for (Arch a : kArches) {
    CAPTURE(arch_name(a));
    auto h = booted(a);
    h->trace({sys(a, "openat"), "do_sys_open", "do_sys_openat2"});
    std::vector<uint64_t> args = {static_cast<uint64_t>(-100), 0x7ff0000, 0x241, 0644};
    REQUIRE(run_syscall(*h, user_regs(a, kOpenat.of(a), args)) == Stop::UserDone);
    CHECK(h->calls == std::vector<std::string>{sys(a, "openat"), "do_sys_open", "do_sys_openat2"});
    REQUIRE(h->syscalls.size() == 1);
    for (size_t i = 0; i < args.size(); i++) CHECK(h->syscalls[0].args[i] == args[i]);
  }
}

}  // namespace probesim::kernel_test
