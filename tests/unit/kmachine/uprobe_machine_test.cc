// uprobes on the running machine (issue #5's must-shows): several processes of one binary,
// per-mm private pages chosen by a filter, exec before/after registration, one file mapped
// twice, transparency on every instruction, uretprobes (values, chains, recursion, longjmp).
#include <capstone/capstone.h>

#include <set>

#include "uprobe_fixture.h"

using namespace probesim;
using namespace probesim::kmachine;
using probes::Regs;
using probes::UprobeConsumer;

namespace {

const std::vector<std::string> kScenarios = {"work", "fork", "maptwice", "longjmp", "recurse"};

UprobeConsumer counting(std::map<int, int>* by_pid, Machine* m, std::vector<uint64_t>* ips = nullptr) {
  UprobeConsumer c;
  c.handler = [=](UprobeConsumer&, Regs& r, uint64_t&) {
    ++(*by_pid)[current_pid(*m)];
    if (ips) ips->push_back(r.ip().value);
    return 0;
  };
  return c;
}

uint64_t sym_addr(const std::string& path, const std::string& name) {
  auto s = elf_of(path).find_symbol(name);
  REQUIRE(s.ok());
  return s.value().value;
}

}  // namespace

TEST_CASE("uprobe on the machine: one binary as three processes (fork), each hit counted") {
  for (Arch a : kArches) {
    auto m = boot(a);
    std::string prog = guest(a, "uprobed");
    std::map<int, int> hits;
    UprobeReg reg(*m, prog, file_offset(prog, "probe_me"), counting(&hits, m.get()));
    auto [out, status] = run_to_end(*m, {prog, "fork"});
    CAPTURE(out);
    CHECK(status == 0);
    CHECK(out.find("parent: probe_me=100") != std::string::npos);
    REQUIRE(hits.size() == 3);  // the parent and both children
    for (auto [pid, n] : hits) CHECK(n == 1);
    CHECK(reg.c.nhit == 3);
  }
}

TEST_CASE("uprobe on the machine: a filter arms one mm's private page, the others share the page cache") {
  for (Arch a : kArches) {
    auto m = boot(a);
    std::string prog = guest(a, "uprobed");
    std::vector<int> pids;
    for (int i = 0; i < 3; ++i) pids.push_back(m->spawn({prog, "work"}, {}).value());
    const mmu::Mm* chosen = &m->state().process(pids[1])->mm();
    std::map<int, int> hits;
    UprobeConsumer c = counting(&hits, m.get());
    c.filter = [chosen](UprobeConsumer&, const mmu::Mm& mm) { return &mm == chosen; };
    GuestAddr at{sym_addr(prog, "work")};
    auto state = [&](int pid) { return m->state().process(pid)->mm().page_state(at); };
    for (int pid : pids) CHECK(state(pid) == mmu::PageState::PageCache);
    UprobeConsumer again = c;  // the same filter, for the run below
    {
      UprobeReg reg(*m, prog, file_offset(prog, "work"), std::move(c));
      CHECK(state(pids[0]) == mmu::PageState::PageCache);
      CHECK(state(pids[1]) == mmu::PageState::ReplacedPage);
      CHECK(state(pids[2]) == mmu::PageState::PageCache);
      std::vector<uint8_t> orig(4), now(4);
      const mmu::Mm& mm1 = m->state().process(pids[1])->mm();
      CHECK(m->state().uprobes().read_original(mm1, at, orig));
      std::vector<uint8_t> cpu_view(4);
      CHECK(mm1.peek(at, now.data(), 4));
      CHECK(m->state().process(pids[1])->cpu()->read_mem(at, cpu_view.data(), 4));
      CAPTURE(a);
      CHECK(orig != now);       // the breakpoint is in that mm's copy only ...
      CHECK(cpu_view == now);   // ... which is what its CPU executes
      reg.unregister();
      for (int pid : pids) CHECK(state(pid) == mmu::PageState::PageCache);
    }
    UprobeReg reg(*m, prog, file_offset(prog, "work"), std::move(again));
    REQUIRE(m->run());
    CHECK(hits == std::map<int, int>{{pids[1], 6}});  // work() runs six times in that process
    for (int pid : pids) CHECK(m->exit_of(pid)->shell_status == 0);
  }
}

TEST_CASE("uprobe on the machine: registering before or after exec both arm the probe") {
  for (Arch a : kArches) {
    std::string prog = guest(a, "uprobed");
    SUBCASE("before: busybox sh forks and execs the program") {
      if (a != Arch::X86_64) continue;  // Debian's busybox-static here is x86_64
      auto m = boot(a);
      std::map<int, int> hits;
      UprobeReg reg(*m, prog, file_offset(prog, "fact"), counting(&hits, m.get()));
      auto [out, status] = run_to_end(*m, {"/bin/busybox", "sh", "-c", prog + " recurse"});
      CHECK(status == 0);
      CHECK(out.find("fact(6)=720") != std::string::npos);
      REQUIRE(hits.size() == 1);
      CHECK(hits.begin()->second == 6);
    }
    SUBCASE("after: the process image exists when the probe is registered") {
      auto m = boot(a);
      auto pid = m->spawn({prog, "recurse"}, {});
      REQUIRE(pid.ok());
      std::map<int, int> hits;
      UprobeReg reg(*m, prog, file_offset(prog, "fact"), counting(&hits, m.get()));
      REQUIRE(m->run());
      CHECK(hits == std::map<int, int>{{pid.value(), 6}});
    }
  }
}

TEST_CASE("uprobe on the machine: a file mapped twice (plus its exec mapping) hits at every address") {
  for (Arch a : kArches) {
    auto m = boot(a);
    std::string prog = guest(a, "uprobed");
    std::map<int, int> hits;
    std::vector<uint64_t> ips;
    UprobeReg reg(*m, prog, file_offset(prog, "leaf"), counting(&hits, m.get(), &ips));
    auto [out, status] = run_to_end(*m, {prog, "maptwice"});
    CHECK(status == 0);
    CHECK(out.find("maptwice: sum=48") != std::string::npos);
    CHECK(ips.size() == 3);
    CHECK(std::set<uint64_t>(ips.begin(), ips.end()).size() == 3);
    CHECK(ips[0] == sym_addr(prog, "leaf"));
  }
}

namespace {

// Every instruction start of `fn` in the program (Capstone over the file bytes).
std::vector<uint64_t> file_boundaries(Arch a, const std::string& prog, const std::string& fn) {
  loader::ElfFile elf = elf_of(prog);
  auto s = elf.find_symbol(fn);
  REQUIRE(s.ok());
  uint64_t off = file_offset(prog, fn).value;
  bool x86 = a == Arch::X86_64;
  csh cs;
  REQUIRE(cs_open(x86 ? CS_ARCH_X86 : CS_ARCH_ARM64, x86 ? CS_MODE_64 : CS_MODE_ARM, &cs) == CS_ERR_OK);
  cs_insn* insn = nullptr;
  size_t n = cs_disasm(cs, elf.bytes().data() + off, s.value().size, off, 0, &insn);
  std::vector<uint64_t> out;
  for (size_t i = 0; i < n; ++i) out.push_back(insn[i].address);
  cs_free(insn, n);
  cs_close(&cs);
  REQUIRE(!out.empty());
  return out;
}

}  // namespace

TEST_CASE("uprobe on the machine: probes on every instruction leave output and status unchanged") {
  for (Arch a : kArches) {
    CAPTURE(a);
    std::string prog = guest(a, "uprobed");
    auto plain = boot(a);
    auto expected = run_to_end(*plain, {prog, "work", "recurse", "longjmp", "maptwice"});
    CHECK(expected.second == 0);
    auto m = boot(a);
    std::vector<std::unique_ptr<UprobeReg>> regs;
    std::map<int, int> hits;
    size_t tried = 0;
    std::string refused;
    for (const char* fn : {"work", "fact", "leaf", "jumper"})
      for (uint64_t off : file_boundaries(a, prog, fn)) {
        ++tried;
        auto in = m->state().lookup_inode(prog);
        REQUIRE(in.ok());
        auto c = std::make_unique<UprobeConsumer>(counting(&hits, m.get()));
        auto r = m->state().uprobes().uprobe_register(*in.value(), FileOffset{off}, *c);
        m->state().inodes().iput(in.value());
        if (!r) {
          refused += std::string(fn) + " @" + std::to_string(off) + ": " + r.error().message + "\n";
          continue;
        }
        m->state().uprobes().uprobe_unregister(r.value(), *c);  // re-register through the fixture
        regs.push_back(std::make_unique<UprobeReg>(*m, prog, FileOffset{off}, std::move(*c)));
      }
    CHECK_MESSAGE(regs.size() * 10 >= tried * 9, refused);
    auto got = run_to_end(*m, {prog, "work", "recurse", "longjmp", "maptwice"});
    CHECK(got == expected);
    uint64_t total = 0;
    for (auto& r : regs) total += r->c.nhit;
    CHECK(total > 100);
    regs.clear();
    m->state().uprobes().verify();
  }
}

TEST_CASE("uretprobe on the machine: recursion returns innermost first with the real values") {
  for (Arch a : kArches) {
    auto m = boot(a);
    std::string prog = guest(a, "uprobed");
    std::vector<uint64_t> rets, rets2;
    std::vector<uint64_t> funcs;
    UprobeConsumer c;
    c.ret_handler = [&](UprobeConsumer&, GuestAddr func, Regs& r, uint64_t&) {
      rets.push_back(r.return_value());
      funcs.push_back(func.value);
    };
    UprobeConsumer c2;  // a second consumer chained on the same frames
    c2.ret_handler = [&](UprobeConsumer&, GuestAddr, Regs& r, uint64_t&) { rets2.push_back(r.return_value()); };
    UprobeReg reg(*m, prog, file_offset(prog, "fact"), std::move(c));
    UprobeReg reg2(*m, prog, file_offset(prog, "fact"), std::move(c2));
    auto [out, status] = run_to_end(*m, {prog, "recurse"});
    CHECK(status == 0);
    CHECK(rets == std::vector<uint64_t>{1, 2, 6, 24, 120, 720});
    CHECK(rets2 == rets);
    for (uint64_t f : funcs) CHECK(f == sym_addr(prog, "fact"));
  }
}

TEST_CASE("uretprobe on the machine: a frame left by longjmp is dropped, the next return is seen") {
  for (Arch a : kArches) {
    auto m = boot(a);
    std::string prog = guest(a, "uprobed");
    std::vector<uint64_t> rets;
    int entries = 0;
    UprobeConsumer c;
    c.handler = [&](UprobeConsumer&, Regs&, uint64_t&) { return ++entries, 0; };
    c.ret_handler = [&](UprobeConsumer&, GuestAddr, Regs& r, uint64_t&) { rets.push_back(r.return_value()); };
    UprobeReg reg(*m, prog, file_offset(prog, "jumper"), std::move(c));
    auto pid = m->spawn({prog, "longjmp"}, {});
    REQUIRE(pid.ok());
    REQUIRE(m->run());
    CHECK(m->captured_stdout(pid.value()).find("back with 7, then jumper(0)=42") != std::string::npos);
    CHECK(entries == 2);
    CHECK(rets == std::vector<uint64_t>{42});  // only the frame that really returned
    CHECK(m->state().uprobes().return_instances(probes::TaskId{static_cast<uint64_t>(pid.value())}).empty());
  }
}

TEST_CASE("uprobe on the machine: hits charge the modelled cost and the program still agrees") {
  for (Arch a : kArches) {
    std::string prog = guest(a, "uprobed");
    auto plain = boot(a);
    run_to_end(*plain, {prog, "recurse"});
    auto m = boot(a);
    std::map<int, int> hits;
    UprobeReg reg(*m, prog, file_offset(prog, "fact"), counting(&hits, m.get()));
    run_to_end(*m, {prog, "recurse"});
    uint64_t per_hit = m->state().uprobes().cost(probes::UprobePath::Trap).value;
    CHECK(m->stats().cycles >= plain->stats().cycles + 6 * per_hit);
  }
}
