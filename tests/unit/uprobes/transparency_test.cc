// Real execution on both arches (Unicorn over mmu::Mm): probes on every instruction of every
// function of a small guest (RIP-relative operands, calls, jcc, pushes, loops, jump tables;
// adrp, ldr literal, cbz, tbz, bl, blr...) leave results and memory unchanged; return probes
// see the real return values; forked processes with a filter hit only where armed.
#include <capstone/capstone.h>
#include <doctest/doctest.h>

#include <span>

#include "guest_code.inc"
#include "uc_mm.h"
#include "uprobe_fixture.h"

namespace probesim::probes::test {
namespace {

namespace g = guest;

struct Image {
  Arch arch;
  std::vector<uint8_t> bytes;
  uint64_t data_off;
  std::span<const g::GuestSym> syms;
  uint64_t addr(std::string_view name) const {
    for (const auto& s : syms)
      if (name == s.name) return s.addr;
    FAIL("no symbol " << name);
    return 0;
  }
};

Image image(Arch a) {
  if (a == Arch::X86_64)
    return {a,
            {std::begin(g::kX86Image), std::end(g::kX86Image)},
            g::kX86DataStart - g::kBase,
            g::kX86Syms};
  return {a,
          {std::begin(g::kArm64Image), std::end(g::kArm64Image)},
          g::kArm64DataStart - g::kBase,
          g::kArm64Syms};
}

constexpr uint64_t kStackTop = 0x7ff000000000;
constexpr GuestAddr kStop{0x300000};

// One process running the image: text r-x and data rw- from the file, a stack, a stop page.
struct Process {
  Process(CodeFile& f, const Image& img, UcHost& host, std::unique_ptr<mmu::Mm> from = nullptr)
      : mm(from ? std::move(from) : std::make_unique<mmu::Mm>(mmu::test::kLayout)) {
    using namespace mmu;
    if (mm->vma_count() == 0) {  // a fresh mm (not a fork)
      REQUIRE(mm->mmap(GuestAddr{g::kBase}, img.data_off, kProtRead | kProtExec,
                       kMapPrivate | kMapFixed, f.inode, FileOffset{0}, FileMode::ReadOnly) > 0);
      REQUIRE(mm->mmap(GuestAddr{g::kBase + img.data_off}, 2 * kPg, kProtRead | kProtWrite,
                       kMapPrivate | kMapFixed, f.inode, FileOffset{img.data_off},
                       FileMode::ReadOnly) > 0);
      map_stack(*mm, kStackTop);
      REQUIRE(mm->mmap(kStop, kPg, kProtRead | kProtExec, kMapPrivate | kMapAnonymous | kMapFixed,
                       nullptr, FileOffset{0}) > 0);
    }
    cpu = std::make_unique<UcMm>(img.arch, *mm);
    host.cpus[mm.get()] = cpu.get();
  }
  uint64_t call(const Image& img, std::string_view fn, std::initializer_list<uint64_t> args,
                UprobeManager* mgr = nullptr, TaskId task = TaskId{1}) {
    return cpu->call(GuestAddr{img.addr(fn)}, args, kStackTop - 0x1000, kStop, mgr, task);
  }
  std::vector<uint8_t> data(const Image& img) {
    return peek(*mm, g::kBase + img.data_off, 2 * kPg);
  }

  std::unique_ptr<mmu::Mm> mm;
  std::unique_ptr<UcMm> cpu;
};

struct Call {
  const char* fn;
  std::initializer_list<uint64_t> args;
};
const Call kCalls[] = {{"c_entry", {3}},    {"c_entry", {10}},   {"c_entry", {13}},
                       {"asm_mix", {5, 3}}, {"asm_mix", {6, 0}}, {"fib", {12}}};

std::vector<uint64_t> run_all(Process& p, const Image& img, UprobeManager* mgr) {
  std::vector<uint64_t> out;
  for (const Call& c : kCalls) out.push_back(p.call(img, c.fn, c.args, mgr));
  return out;
}

// Every instruction start of every function (capstone on x86, every word on arm64).
std::vector<uint64_t> instruction_offsets(const Image& img) {
  std::vector<uint64_t> out;
  csh cs;
  REQUIRE(cs_open(CS_ARCH_X86, CS_MODE_64, &cs) == CS_ERR_OK);
  for (const auto& s : img.syms) {
    const uint64_t off = s.addr - g::kBase;
    if (img.arch == Arch::AArch64) {
      for (uint64_t o = off; o < off + s.size; o += 4) out.push_back(o);
      continue;
    }
    const uint8_t* p = img.bytes.data() + off;
    size_t size = s.size;
    uint64_t a = s.addr;
    cs_insn* insn = cs_malloc(cs);
    while (size > 0 && cs_disasm_iter(cs, &p, &size, &a, insn))
      out.push_back(insn->address - g::kBase);
    cs_free(insn, 1);
  }
  cs_close(&cs);
  return out;
}

uint64_t file_pages(const Image& img) {
  return img.data_off / kPg + 2;
}

TEST_CASE("transparency: probes on every instruction leave results and memory unchanged") {
  for (Arch arch : {Arch::X86_64, Arch::AArch64}) {
    CAPTURE(arch_name(arch));
    const Image img = image(arch);
    CodeFile f(img.bytes, file_pages(img));
    UcHost host;
    Process plain(f, img, host);
    const std::vector<uint64_t> want = run_all(plain, img, nullptr);
    const std::vector<uint8_t> want_data = plain.data(img);

    UprobeManager mgr(arch, host);
    Process probed(f, img, host);
    std::map<uint64_t, uint64_t> hits;  // vaddr -> handler calls
    std::vector<std::unique_ptr<UprobeConsumer>> consumers;
    size_t refused = 0;
    const auto offsets = instruction_offsets(img);
    for (uint64_t off : offsets) {
      auto c = std::make_unique<UprobeConsumer>();
      c->handler = [&hits](UprobeConsumer&, Regs& r, uint64_t&) {
        ++hits[r.ip().value];
        return 0;
      };
      if (mgr.uprobe_register(*f.inode, FileOffset{off}, *c).ok()) {
        consumers.push_back(std::move(c));
      } else {
        ++refused;
        MESSAGE("refused offset 0x" << std::hex << off);
      }
    }
    MESSAGE(arch_name(arch) << ": " << consumers.size() << " probes, " << refused << " refused");
    CHECK(refused * 20 < offsets.size());
    // Return probes on every function entry, recording the real return values.
    std::vector<std::pair<uint64_t, uint64_t>> rets;  // (func, value)
    for (const auto& s : img.syms) {
      auto c = std::make_unique<UprobeConsumer>();
      c->ret_handler = [&rets](UprobeConsumer&, GuestAddr fn, Regs& r, uint64_t&) {
        rets.push_back({fn.value, r.return_value()});
      };
      REQUIRE(mgr.uprobe_register(*f.inode, FileOffset{s.addr - g::kBase}, *c).ok());
      consumers.push_back(std::move(c));
    }
    CHECK(probed.mm->replaced_pages() > 0);
    const std::vector<uint64_t> got = run_all(probed, img, &mgr);
    CHECK(got == want);
    CHECK(probed.data(img) == want_data);
    CHECK(probed.cpu->traps() > 1000);
    for (const auto& s : img.syms) CHECK(hits[s.addr] > 0);  // every function ran and trapped
    // The last ret_handler of each top-level call reports that call's real return value.
    std::vector<uint64_t> top;
    for (const auto& [fn, v] : rets)
      if (fn == img.addr("c_entry") || fn == img.addr("asm_mix")) top.push_back(v);
    CHECK(std::count(top.begin(), top.end(), want[0]) >= 1);
    CHECK(std::count(top.begin(), top.end(), want[3]) >= 1);
    CHECK(mgr.return_instances(TaskId{1}).empty());
    mgr.verify();
    probed.mm->verify();

    for (auto& c : consumers) mgr.uprobe_unregister(c->uprobe, *c);
    CHECK(probed.mm->replaced_pages() == 0);
    CHECK(probed.mm->page_state(GuestAddr{g::kBase}) == mmu::PageState::PageCache);
    CHECK(run_all(probed, img, &mgr) == want);
    mgr.verify();
  }
}

TEST_CASE("fork: three processes, a filter selecting one, hits only where its page is private") {
  for (Arch arch : {Arch::X86_64, Arch::AArch64}) {
    CAPTURE(arch_name(arch));
    const Image img = image(arch);
    CodeFile f(img.bytes, file_pages(img));
    UcHost host;
    UprobeManager mgr(arch, host);
    Process p1(f, img, host);
    Process p2(f, img, host, std::move(p1.mm->dup().value()));
    mgr.uprobe_dup_mmap(*p1.mm, *p2.mm);
    Process p3(f, img, host, std::move(p1.mm->dup().value()));
    mgr.uprobe_dup_mmap(*p1.mm, *p3.mm);
    const mmu::Mm* current = nullptr;
    std::map<const mmu::Mm*, int> hits;
    UprobeConsumer c;
    c.handler = [&](UprobeConsumer&, Regs&, uint64_t&) {
      ++hits[current];
      return 0;
    };
    c.filter = [&](UprobeConsumer&, const mmu::Mm& mm) { return &mm == p2.mm.get(); };
    REQUIRE(mgr.uprobe_register(*f.inode, FileOffset{img.addr("fib") - g::kBase}, c).ok());
    const uint64_t fib = img.addr("fib");
    CHECK(p1.mm->page_state(GuestAddr{fib}) == mmu::PageState::PageCache);
    CHECK(p2.mm->page_state(GuestAddr{fib}) == mmu::PageState::ReplacedPage);
    CHECK(p3.mm->page_state(GuestAddr{fib}) == mmu::PageState::PageCache);
    uint64_t result = 0;
    for (Process* p : {&p1, &p2, &p3}) {
      current = p->mm.get();
      const uint64_t r = p->call(img, "fib", {10}, &mgr);
      if (result) CHECK(r == result);
      result = r;
    }
    CHECK(result == 55);
    CHECK(hits[p1.mm.get()] == 0);
    CHECK(hits[p2.mm.get()] > 0);  // once per entry of fib (GCC loops part of the recursion)
    CHECK(hits[p3.mm.get()] == 0);
    mgr.uprobe_unregister(c.uprobe, c);
    for (Process* p : {&p1, &p2, &p3}) {
      CHECK(p->mm->page_state(GuestAddr{fib}) == mmu::PageState::PageCache);
      p->mm->verify();
    }
    // Without a filter, a child forked after registration inherits the armed page.
    UprobeConsumer all;
    all.handler = c.handler;
    REQUIRE(mgr.uprobe_register(*f.inode, FileOffset{fib - g::kBase}, all).ok());
    Process p4(f, img, host, std::move(p1.mm->dup().value()));
    mgr.uprobe_dup_mmap(*p1.mm, *p4.mm);
    current = p4.mm.get();
    CHECK(p4.call(img, "fib", {10}, &mgr) == 55);
    CHECK(hits[p4.mm.get()] == hits[p2.mm.get()]);
    mgr.verify();
  }
}

}  // namespace
}  // namespace probesim::probes::test
