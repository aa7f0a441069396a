// probes::Kallsyms on the real guest kernel images: names, sizes, %pS, the kprobe blacklist.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <iterator>

#include "kernel_harness.h"
#include "probes/kallsyms.h"

namespace probesim::kernel_test {
namespace {

probes::Kallsyms kallsyms_of(Arch a) {
  loader::ElfFile image = load_kernel_image(a);
  auto k = probes::Kallsyms::create(image);
  REQUIRE_MESSAGE(k.ok(), (k.ok() ? "" : k.error().message));
  return std::move(k).value();
}

std::vector<std::string> path_functions(Arch a) {
  std::vector<std::string> common = {
      "start_kernel",  "setup_arch",     "trap_init",       "mm_init",
      "init_kprobes",  "rest_init",      "panic",           "ksys_read",
      "vfs_read",      "ksys_write",     "vfs_write",       "do_sys_open",
      "do_sys_openat2", "close_fd",      "ksys_mmap_pgoff", "vm_mmap_pgoff",
      "__do_sys_brk",  "kernel_clone",   "do_exit",         "do_group_exit",
      "do_execve",     "probesim_model_syscall",            "ret_from_fork",
      "probesim_kernel_call_trampoline", "__kretprobe_trampoline", "kprobe_target"};
  std::vector<std::string> x86 = {"startup_64", "entry_SYSCALL_64", "do_syscall_64",
                                  "do_syscall_x64", "__x64_sys_read", "__x64_sys_write",
                                  "__x64_sys_openat", "__x64_sys_brk", "__x64_sys_generic"};
  std::vector<std::string> arm64 = {
      "primary_entry", "vectors",        "el0t_64_sync",   "el0t_64_sync_handler",
      "el0_svc",       "do_el0_svc",     "el0_svc_common", "invoke_syscall",
      "ret_to_user",   "__arm64_sys_read", "__arm64_sys_write", "__arm64_sys_openat",
      "__arm64_sys_brk", "__arm64_sys_generic"};
  const auto& more = a == Arch::X86_64 ? x86 : arm64;
  common.insert(common.end(), more.begin(), more.end());
  return common;
}

}  // namespace

TEST_CASE("kallsyms: every boot and syscall-path function has a symbol with a size") {
  for (Arch a : kArches) {
    CAPTURE(arch_name(a));
    probes::Kallsyms k = kallsyms_of(a);
    for (const std::string& name : path_functions(a)) {
      CAPTURE(name);
      const probes::KernelSymbol* s = k.find(name);
      REQUIRE(s != nullptr);
      CHECK(s->size > 0);
      CHECK(std::toupper(s->type) == 'T');
      CHECK(k.is_kernel_text(s->addr));
    }
    CHECK(k.find("sys_call_table")->type == 'R');
    CHECK(k.find("kprobe_selftest_counter")->type == 'B');
    CHECK(k.find("kprobe_selftest_div_factor")->type == 'D');
  }
}

TEST_CASE("kallsyms: symbols are sorted by address and named once per address range") {
  for (Arch a : kArches) {
    CAPTURE(arch_name(a));
    probes::Kallsyms k = kallsyms_of(a);
    const auto& syms = k.symbols();
    for (size_t i = 1; i < syms.size(); i++) CHECK(syms[i - 1].addr <= syms[i].addr);
  }
}

TEST_CASE("kallsyms: an address inside a function formats as name+offset/size (%pS)") {
  for (Arch a : kArches) {
    CAPTURE(arch_name(a));
    probes::Kallsyms k = kallsyms_of(a);
    const probes::KernelSymbol* s = k.find("vfs_read");
    REQUIRE(s != nullptr);
    auto hit = k.lookup(s->addr + 4);
    REQUIRE(hit.has_value());
    CHECK(hit->sym == s);
    CHECK(hit->offset == 4);
    char size[32];
    std::snprintf(size, sizeof size, "%#llx", static_cast<unsigned long long>(s->size));
    CHECK(k.format(s->addr + 4) == std::string("vfs_read+0x4/") + size);
    CHECK(k.format(s->addr) == std::string("vfs_read+0x0/") + size);
    CHECK(k.format(GuestAddr{0x1000}) == "0x1000");
    CHECK(k.lookup_name("vfs_read").value() == s->addr);
  }
}

TEST_CASE("kallsyms: an unknown name is ENOENT, as register_kprobe reports it") {
  probes::Kallsyms k = kallsyms_of(Arch::X86_64);
  auto r = k.lookup_name("no_such_function");
  REQUIRE(!r.ok());
  CHECK(r.error().err == ENOENT);
  CHECK(k.find("no_such_function") == nullptr);
}

TEST_CASE("kallsyms: mapping symbols ($x, $d) and absolute symbols are not kallsyms entries") {
  for (Arch a : kArches) {
    CAPTURE(arch_name(a));
    probes::Kallsyms k = kallsyms_of(a);
    for (const probes::KernelSymbol& s : k.symbols()) CHECK(s.name[0] != '$');
    CHECK(k.find("KERNEL_BASE") == nullptr);
  }
}

TEST_CASE("kallsyms: kernel text runs from _stext up to, not including, _etext") {
  for (Arch a : kArches) {
    CAPTURE(arch_name(a));
    probes::Kallsyms k = kallsyms_of(a);
    CHECK(k.text_start() == k.find("_stext")->addr);
    CHECK(k.is_kernel_text(k.text_start()));
    CHECK(!k.is_kernel_text(k.text_end()));
    CHECK(!k.is_kernel_text(k.find("sys_call_table")->addr));
  }
}

TEST_CASE("kallsyms: the entry code is blacklisted as a whole area") {
  for (Arch a : kArches) {
    CAPTURE(arch_name(a));
    probes::Kallsyms k = kallsyms_of(a);
    std::vector<std::string> entry =
        a == Arch::X86_64
            ? std::vector<std::string>{"entry_SYSCALL_64", "swapgs_restore_regs_and_return_to_usermode",
                                       "ret_from_fork"}
            : std::vector<std::string>{"vectors", "el0t_64_sync", "ret_to_user", "ret_from_fork"};
    for (const std::string& name : entry) {
      CAPTURE(name);
      const probes::KernelSymbol* s = k.find(name);
      REQUIRE(s != nullptr);
      CHECK(k.within_kprobe_blacklist(s->addr));
      CHECK(k.within_kprobe_blacklist(s->addr + s->size - 1));
    }
    GuestAddr start = k.find("__entry_text_start")->addr, end = k.find("__entry_text_end")->addr;
    for (GuestAddr p = start; p < end; p += 1) REQUIRE(k.within_kprobe_blacklist(p));
  }
}

TEST_CASE("kallsyms: NOKPROBE_SYMBOL, .kprobes.text and noinstr functions are blacklisted, "
          "ordinary functions are not") {
  for (Arch a : kArches) {
    CAPTURE(arch_name(a));
    probes::Kallsyms k = kallsyms_of(a);
    std::vector<std::string> black = {"kprobe_nokprobe_target", "kprobe_kprobes_text_target",
                                      "probesim_kernel_call_trampoline", "__kretprobe_trampoline"};
    if (a == Arch::X86_64)
      black.push_back("do_syscall_64");
    else
      black.insert(black.end(), {"el0t_64_sync_handler", "el0_svc"});
    for (const std::string& name : black) {
      CAPTURE(name);
      const probes::KernelSymbol* s = k.find(name);
      REQUIRE(s != nullptr);
      CHECK(k.within_kprobe_blacklist(s->addr));
      CHECK(k.within_kprobe_blacklist(s->addr + s->size - 1));
    }
    for (const char* name : {"kprobe_target", "vfs_read", "ksys_write", "do_sys_openat2",
                             "start_kernel", "do_exit"}) {
      CAPTURE(name);
      const probes::KernelSymbol* s = k.find(name);
      REQUIRE(s != nullptr);
      CHECK(!k.within_kprobe_blacklist(s->addr));
    }
    bool listed = false;
    for (const probes::BlacklistEntry& e : k.blacklist())
      if (e.name == "kprobe_nokprobe_target")
        listed = e.end - e.start == k.find("kprobe_nokprobe_target")->size;
    CHECK(listed);
  }
}

TEST_CASE("kallsyms: the blacklist listing has debugfs's format") {
  probes::Kallsyms k = kallsyms_of(Arch::X86_64);
  std::string listing = k.format_blacklist();
  const probes::KernelSymbol* s = k.find("entry_SYSCALL_64");
  char line[96];
  std::snprintf(line, sizeof line, "0x%016llx-0x%016llx\tentry_SYSCALL_64\n",
                static_cast<unsigned long long>(s->addr.value),
                static_cast<unsigned long long>(s->addr.value + s->size));
  CHECK(listing.find(line) != std::string::npos);
  CHECK(std::count(listing.begin(), listing.end(), '\n') == static_cast<long>(k.blacklist().size()));
}

TEST_CASE("kallsyms: an ELF that is not the guest kernel is rejected with ENOEXEC") {
  std::ifstream in("/proc/self/exe", std::ios::binary);
  std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  auto elf = loader::ElfFile::parse("/proc/self/exe", std::move(bytes));
  REQUIRE(elf.ok());
  auto k = probes::Kallsyms::create(*elf);
  REQUIRE(!k.ok());
  CHECK(k.error().err == ENOEXEC);
}

}  // namespace probesim::kernel_test
