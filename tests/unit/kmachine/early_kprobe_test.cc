// Early kprobes (seed 002) on the booting machine: `ekprobe=` targets (Options::early_kprobes
// or the kernel command line) are registered when setup_arch runs, before init_kprobes, as
// branches into the image's static slot pool; hits during boot are counted and logged; at
// init_kprobes they become ordinary (optimized) kprobes; the RFC's error codes.
#include <cerrno>
#include <cstring>

#include "guest/kernel/include/hypercall_abi.h"
#include "kmachine.h"

using namespace probesim;
using namespace probesim::kmachine;

namespace {

std::unique_ptr<Machine> boot_with(Arch a, std::vector<std::string> early, std::string cmdline = {},
                                   bool optimize = true) {
  auto m = Machine::create(Options{.arch = a, .seed = 1, .kprobe_optimization = optimize,
                                   .kernel_cmdline = std::move(cmdline),
                                   .early_kprobes = std::move(early)});
  REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.error().message));
  return std::move(m.value());
}

const emu::GuestKernel& kern(Machine& m) { return *m.state().kernel(); }

const emu::EarlyKprobe& early(Machine& m, size_t i) {
  REQUIRE(i < kern(m).early_kprobes().size());
  return kern(m).early_kprobes()[i];
}

bool is_jump(Machine& m, GuestAddr at) {
  const auto t = text(m, at, 4);
  if (m.arch() == Arch::X86_64) return t[0] == 0xe9;
  uint32_t w;
  std::memcpy(&w, t.data(), 4);
  return (w & 0xfc000000u) == 0x14000000u;  // B imm26
}

std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const std::string& l : lines) s += l + "\n";
  return s;
}

bool in_pool(Machine& m, GuestAddr a) {
  const GuestAddr pool = ksym(m, "early_kprobe_insn_slots").addr;
  return a >= pool && a.value < pool.value + NR_EARLY_KPROBES_SLOTS * EARLY_KPROBE_SLOT_SIZE;
}

}  // namespace

TEST_CASE("early kprobe: a branch from the static pool at setup_arch, boot hits counted, converted") {
  for (Arch a : kArches) {
    CAPTURE(a);
    auto m = boot_with(a, {"mem_init", "boot_step"});
    const std::vector<std::string> expected = {
        "start_kernel",
        "setup_arch",
        "early kprobe mem_init registered at mem_init+0x0",
        "early kprobe boot_step registered at boot_step+0x0",
        "early kprobe hit at boot_step+0x0",
        "trap_init",
        "early kprobe hit at boot_step+0x0",
        "mm_init",
        "early kprobe hit at mem_init+0x0",
        "early kprobe hit at boot_step+0x0",
        "init_kprobes",
        "init_kprobes: 2 early kprobes converted",
        "rest_init"};
    CHECK(joined(kern(*m).boot_log()) == joined(expected));
    CHECK(kprobes(*m).kprobes_initialized());
    CHECK(early(*m, 0).err == 0);
    CHECK(early(*m, 0).kp->nhit == 1);
    CHECK(early(*m, 1).kp->nhit == 4);  // trap_init, mm_init, init_kprobes, then rest_init
    for (size_t i = 0; i < 2; ++i) {
      const GuestAddr at = early(*m, i).kp->addr;
      auto info = kprobes(*m).info(at);
      REQUIRE(info.has_value());
      CHECK(info->early);
      CHECK(info->optimized);
      CHECK(info->jumped);
      CHECK(in_pool(*m, info->detour));
      CHECK(is_jump(*m, at));
    }
    const std::string list = kprobes(*m).list();
    INFO(list);
    CHECK(list.find("mem_init+0x0    [OPTIMIZED]") != std::string::npos);
    CHECK(list.find("boot_step+0x0    [OPTIMIZED]") != std::string::npos);
    CHECK(kprobes(*m).early_slots_free() == NR_EARLY_KPROBES_SLOTS - 2);
  }
}

TEST_CASE("early kprobe: after init_kprobes an ordinary kprobe (disable, enable, optimizer, unregister frees the slot)") {
  for (Arch a : kArches) {
    CAPTURE(a);
    auto m = boot_with(a, {"kprobe_target"});
    probes::Kprobe& kp = *early(*m, 0).kp;
    const GuestAddr at = kp.addr;
    const GuestAddr detour = kprobes(*m).info(at)->detour;
    CHECK(kp.nhit == 0);  // not on the boot path
    CHECK(call(*m, "kprobe_target", {3, 4}) == 11);
    CHECK(kp.nhit == 1);
    std::vector<uint8_t> orig(4);
    REQUIRE(kprobes(*m).read_original(at, orig));
    REQUIRE(kprobes(*m).disable_kprobe(kp).ok());
    CHECK(text(*m, at, 4) == orig);
    REQUIRE(kprobes(*m).enable_kprobe(kp).ok());
    CHECK_FALSE(is_jump(*m, at));  // the breakpoint, queued for the delayed optimizer
    CHECK(call(*m, "kprobe_target", {3, 4}) == 11);
    kprobes(*m).wait_for_optimizer();
    CHECK(is_jump(*m, at));
    CHECK(kprobes(*m).info(at)->detour == detour);  // its static slot, still
    CHECK(call(*m, "kprobe_target", {5, 6}) == 17);
    CHECK(kp.nhit == 3);
    kprobes(*m).unregister_kprobe(kp);
    CHECK(text(*m, at, 4) == orig);
    CHECK(kprobes(*m).early_slots_free() == NR_EARLY_KPROBES_SLOTS);
  }
}

TEST_CASE("early kprobe: the kernel command line's ekprobe= list, kept in saved_command_line") {
  for (Arch a : kArches) {
    CAPTURE(a);
    const std::string line = "quiet ekprobe=mem_init,kprobe_target+0x0 loglevel=3";
    auto m = boot_with(a, {}, line);
    REQUIRE(kern(*m).early_kprobes().size() == 2);
    CHECK(early(*m, 0).kp->nhit == 1);
    CHECK(early(*m, 1).kp->addr == ksym(*m, "kprobe_target").addr);
    std::vector<uint8_t> saved(line.size() + 1);
    REQUIRE(kern(*m).space().read(ksym(*m, "saved_command_line").addr, saved));
    CHECK(std::string(reinterpret_cast<const char*>(saved.data())) == line);
  }
}

TEST_CASE("early kprobe: a full static pool is -ENOMEM with the RFC's message and boot goes on") {
  for (Arch a : kArches) {
    CAPTURE(a);
    std::vector<std::string> targets = {
        "kprobe_target", "kprobe_branch_target", "do_sys_openat2", "kprobe_recursed_target",
        "kprobe_six_args_target", "kprobe_loop_target", "mem_init", "kernel_clone",
        "ksys_read", "ksys_write", "vfs_read", "vfs_write", "ksys_pread64", "ksys_pwrite64",
        "vm_mmap_pgoff", "ksys_mmap_pgoff", "trap_init"};
    REQUIRE(targets.size() == NR_EARLY_KPROBES_SLOTS + 1);
    auto m = boot_with(a, targets);
    for (size_t i = 0; i < NR_EARLY_KPROBES_SLOTS; ++i) {
      CAPTURE(targets[i]);
      CHECK(early(*m, i).err == 0);
    }
    CHECK(early(*m, NR_EARLY_KPROBES_SLOTS).err == ENOMEM);
    const auto& log = kern(*m).boot_log();
    CHECK(std::find(log.begin(), log.end(), "No enough early kprobe slots.") != log.end());
    CHECK(kprobes(*m).early_slots_free() == 0);
    CHECK(call(*m, "kprobe_target", {3, 4}) == 11);
  }
}

TEST_CASE("early kprobe: refusals carry Linux's errnos and are logged") {
  for (Arch a : kArches) {
    CAPTURE(a);
    const bool x86 = a == Arch::X86_64;
    // unknown symbol, blacklisted, a second probe at the address, one inside its jump (x86) or
    // misaligned (arm64), and a bad target
    auto m = boot_with(a, {"no_such_fn", "optimized_callback", "kprobe_target", "kprobe_target",
                           x86 ? "kprobe_target+0x1" : "kprobe_target+0x6", "mem_init+zz"});
    CHECK(early(*m, 0).err == ENOENT);
    CHECK(early(*m, 1).err == EINVAL);
    CHECK(early(*m, 2).err == 0);
    CHECK(early(*m, 3).err == EBUSY);
    CHECK(early(*m, 4).err == (x86 ? EBUSY : EINVAL));
    CHECK(early(*m, 5).err == EINVAL);
    const auto& log = kern(*m).boot_log();
    CHECK(std::find_if(log.begin(), log.end(), [](const std::string& s) {
            return s.starts_with("early kprobe no_such_fn: -ENOENT");
          }) != log.end());
    CHECK(kprobes(*m).early_slots_free() == NR_EARLY_KPROBES_SLOTS - 1);
  }
}

TEST_CASE("early kprobe: a probe that cannot be a branch is refused (-EILSEQ / -EINVAL)") {
  // x86: kprobe_switch_target's jump table fails can_optimize (-EILSEQ). arm64: adrp is
  // simulated, not copied to the detour (-EINVAL, what x86's copy_optimized_instructions gives
  // for an instruction it cannot relocate).
  for (Arch a : kArches) {
    CAPTURE(a);
    const bool x86 = a == Arch::X86_64;
    auto m = boot_with(a, {x86 ? "kprobe_switch_target" : "kprobe_riprel_target+0x4"});
    CHECK(early(*m, 0).err == (x86 ? EILSEQ : EINVAL));
    const auto& log = kern(*m).boot_log();
    CHECK(std::find(log.begin(), log.end(), "Failed to prepare optimized kprobe.") != log.end());
    CHECK(kprobes(*m).early_slots_free() == NR_EARLY_KPROBES_SLOTS);
    CHECK(kprobes(*m).addresses().empty());
  }
}

TEST_CASE("early kprobe: a post handler or a disabled probe is -EINVAL before init_kprobes") {
  for (Arch a : kArches) {
    CAPTURE(a);
    auto m = boot(a);
    emu::KernelSpace& ks = m->state().kernel()->space();
    probes::KprobeConfig c;
    c.initialized = false;
    probes::KprobeManager before_init(a, ks, ks.symbols(), c);
    before_init.set_early_kprobe_slots(ksym(*m, "early_kprobe_insn_slots").addr,
                                       EARLY_KPROBE_SLOT_SIZE, NR_EARLY_KPROBES_SLOTS);
    before_init.set_optimized_callback(ksym(*m, "optimized_callback").addr);
    probes::Kprobe post, disabled;
    post.symbol_name = disabled.symbol_name = "kprobe_target";
    post.post_handler = [](probes::Kprobe&, probes::Regs&, unsigned long) {};
    disabled.flags = probes::kKprobeFlagDisabled;
    auto r1 = before_init.register_kprobe(post);
    auto r2 = before_init.register_kprobe(disabled);
    REQUIRE_FALSE(r1.ok());
    REQUIRE_FALSE(r2.ok());
    CHECK(r1.error().err == EINVAL);
    CHECK(r2.error().err == EINVAL);
    CHECK(before_init.early_slots_free() == NR_EARLY_KPROBES_SLOTS);
    CHECK_FALSE(post.registered());
  }
}

TEST_CASE("early kprobe: booted with optimization off, conversion puts the breakpoint in") {
  for (Arch a : kArches) {
    CAPTURE(a);
    auto m = boot_with(a, {"mem_init"}, {}, /*optimize=*/false);
    probes::Kprobe& kp = *early(*m, 0).kp;
    CHECK(kp.nhit == 1);  // the boot hit went through the branch
    auto info = kprobes(*m).info(kp.addr);
    REQUIRE(info.has_value());
    CHECK_FALSE(info->optimized);
    CHECK(info->opt_refusal == probes::OptRefusal::SysctlOff);
    CHECK(info->armed);
    call(*m, "mem_init", {});
    call(*m, "mem_init", {});
    CHECK(kp.nhit == 3);
  }
}

TEST_CASE("early kprobe: a command line longer than COMMAND_LINE_SIZE is refused") {
  auto m = Machine::create(Options{.arch = Arch::X86_64,
                                   .kernel_cmdline = std::string(COMMAND_LINE_SIZE, 'x')});
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().err == E2BIG);
}
