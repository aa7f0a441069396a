// kprobes on the syscall paths fire with the right arguments when real programs do I/O.
#include <algorithm>

#include "kmachine.h"

using namespace probesim;
using namespace probesim::kmachine;
using probes::Kprobe;
using probes::Regs;

TEST_CASE("kprobe on ksys_write sees fd, buffer and count of a real program's writes") {
  for (Arch a : kArches) {
    auto m = boot(a);
    std::string written;
    std::vector<uint64_t> fds;
    Kprobe kp;
    kp.symbol_name = "ksys_write";
    kp.pre_handler = [&](Kprobe&, Regs& r) {
      fds.push_back(arg(r, 0));
      std::string buf(arg(r, 2), '\0');
      emu::Process* p = m->state().process(100);
      REQUIRE(p != nullptr);
      REQUIRE(p->mm().copy_from_user(buf.data(), GuestAddr{arg(r, 1)}, buf.size()));
      if (arg(r, 0) == 1) written += buf;
      return 0;
    };
    REQUIRE(kprobes(*m).register_kprobe(kp).ok());
    auto pid = m->spawn({guest(a, "hello"), "x"}, {});
    REQUIRE(pid.ok());
    REQUIRE(pid.value() == 100);
    REQUIRE(m->run());
    CHECK(written == m->captured_stdout(pid.value()));
    CHECK(written.find("hello from hello") != std::string::npos);
    CHECK(std::count(fds.begin(), fds.end(), 2) >= 1);  // the stderr line
    CHECK(kp.nhit == fds.size());
    kprobes(*m).unregister_kprobe(kp);
  }
}

TEST_CASE("kprobe on vfs_read sees the count, and a kretprobe the bytes read") {
  for (Arch a : kArches) {
    auto m = boot(a);
    std::vector<uint64_t> counts;
    std::vector<int64_t> results;
    Kprobe kp;
    kp.symbol_name = "vfs_read";
    kp.pre_handler = [&](Kprobe&, Regs& r) { return counts.push_back(arg(r, 2)), 0; };
    probes::Kretprobe rp;
    rp.kp.symbol_name = "vfs_read";
    rp.handler = [&](probes::KretprobeInstance&, Regs& r) {
      return results.push_back(static_cast<int64_t>(r.return_value())), 0;
    };
    REQUIRE(kprobes(*m).register_kprobe(kp).ok());
    REQUIRE(kprobes(*m).register_kretprobe(rp).ok());
    auto pid = m->spawn({guest(a, "fileio"), fixture_dir("vfs_read")}, {});
    REQUIRE(pid.ok());
    REQUIRE(m->run());
    CHECK(m->exit_of(pid.value())->shell_status == 0);
    kprobes(*m).unregister_kprobe(kp);
    kprobes(*m).unregister_kretprobe(rp);
    REQUIRE_FALSE(counts.empty());
    CHECK(results.size() == counts.size());
    int64_t total = 0;
    for (size_t i = 0; i < results.size(); ++i) {
      CHECK(results[i] <= static_cast<int64_t>(counts[i]));
      total += results[i];
    }
    CHECK(total > 0);
  }
}

TEST_CASE("stop_current from a handler ends run() early, and the run resumes losing nothing") {
  for (Arch a : kArches) {
    auto m = boot(a);
    auto plain = boot(a);
    auto p0 = plain->spawn({guest(a, "hello"), "x"}, {});
    REQUIRE(p0.ok());
    REQUIRE(plain->run());
    Kprobe kp;
    kp.symbol_name = "ksys_write";
    kp.pre_handler = [&](Kprobe&, Regs&) {
      m->state().stop_current();
      return 0;
    };
    REQUIRE(kprobes(*m).register_kprobe(kp).ok());
    auto pid = m->spawn({guest(a, "hello"), "x"}, {});
    REQUIRE(pid.ok());
    int stops = 0;
    while (!m->run()) ++stops;
    CHECK(stops == static_cast<int>(kp.nhit));  // one early return per write
    CHECK(stops >= 2);
    CHECK(m->captured_stdout(pid.value()) == plain->captured_stdout(p0.value()));
    CHECK(m->exit_of(pid.value())->code == 2);
    kprobes(*m).unregister_kprobe(kp);
  }
}

TEST_CASE("pt_regs changes made by handlers are honoured: a kprobe redirects a write to stderr") {
  for (Arch a : kArches) {
    auto m = boot(a);
    Kprobe kp;
    kp.symbol_name = "ksys_write";
    kp.pre_handler = [&](Kprobe&, Regs& r) {
      if (arg(r, 0) == 1) {  // fd: di / x0
        if (a == Arch::X86_64)
          r.set(probes::X86Reg::di, 2);
        else
          r.set_x(0, 2);
      }
      return 0;
    };
    REQUIRE(kprobes(*m).register_kprobe(kp).ok());
    auto pid = m->spawn({guest(a, "hello"), "x"}, {});
    REQUIRE(pid.ok());
    REQUIRE(m->run());
    CHECK(m->captured_stdout(pid.value()).empty());
    CHECK(m->captured_stderr(pid.value()).find("hello from hello") != std::string::npos);
    kprobes(*m).unregister_kprobe(kp);
  }
}

TEST_CASE("pt_regs changes made by handlers are honoured: a kretprobe changes a return value") {
  for (Arch a : kArches) {
    auto m = boot(a);
    probes::Kretprobe rp;
    rp.kp.symbol_name = "do_sys_openat2";
    int changed = 0;
    rp.handler = [&](probes::KretprobeInstance&, Regs& r) {
      if (static_cast<int64_t>(r.return_value()) >= 0) {
        if (a == Arch::X86_64)
          r.set(probes::X86Reg::ax, static_cast<uint64_t>(-13));  // -EACCES
        else
          r.set_x(0, static_cast<uint64_t>(-13));
        ++changed;
      }
      return 0;
    };
    REQUIRE(kprobes(*m).register_kretprobe(rp).ok());
    auto pid = m->spawn({guest(a, "fileio"), fixture_dir(std::string("eacces-") + std::string(arch_name(a)))}, {});
    REQUIRE(pid.ok());
    REQUIRE(m->run());
    CHECK(changed >= 1);
    // fileio checks its opens: the first one now fails with EACCES and the program says so.
    CHECK(m->exit_of(pid.value())->code != 0);
    CHECK(m->captured_stdout(pid.value()).find("(errno EACCES)") != std::string::npos);
    kprobes(*m).unregister_kretprobe(rp);
  }
}
