// SDT reference counters (uprobe_register's ref_ctr_offset, Linux v4.20+): the short in the
// writable private mapping of the probed file counts the armed breakpoints of that mm, is
// applied late when the mapping appears after the breakpoint, and never touches the file.
#include <doctest/doctest.h>

#include <string>

#include "uprobe_fixture.h"
#include "x86_code.h"

namespace probesim::probes::test {
namespace {

namespace xc = x86code;
constexpr uint64_t kData = kText + kPg;        // file page 1, mapped rw- private
constexpr uint64_t kRefCtr = kPg + 0x10;       // the semaphore's file offset
constexpr uint64_t kRefVaddr = kData + 0x10;

struct RefCtrEnv {
  RefCtrEnv() : f(xc::page()), mgr(Arch::X86_64, host) {
    mgr.set_printk([this](const std::string& s) { log.push_back(s); });
  }
  Result<Uprobe*> reg(UprobeConsumer& c, uint64_t ref_ctr = kRefCtr, uint64_t off = xc::kPushRbp) {
    return mgr.uprobe_register(*f.inode, FileOffset{off}, c, ref_ctr);
  }
  const mmu::Vma* map_data(mmu::Mm& mm) {
    using namespace mmu;
    REQUIRE(mm.mmap(GuestAddr{kData}, kPg, kProtRead | kProtWrite, kMapPrivate | kMapFixed,
                    f.inode, FileOffset{kPg}, FileMode::ReadOnly) ==
            static_cast<int64_t>(kData));
    return mm.vma_at(GuestAddr{kData});
  }
  int16_t counter(const mmu::Mm& mm) {
    int16_t v = 0;
    REQUIRE(mm.peek(GuestAddr{kRefVaddr}, &v, sizeof v));
    return v;
  }
  int16_t file_counter() {
    auto b = f.cache_bytes(kRefCtr, 2);
    return static_cast<int16_t>(b[0] | (b[1] << 8));
  }
  void set_counter(mmu::Mm& mm, int16_t v) { REQUIRE(mm.copy_to_user(GuestAddr{kRefVaddr}, &v, 2)); }

  CodeFile f;
  RecordingHost host;
  UprobeManager mgr;
  std::vector<std::string> log;
};

TEST_CASE("ref_ctr: arming adds 1 in the mm's data mapping, disarming takes it back") {
  RefCtrEnv e;
  auto mm = e.f.exec_mm();
  e.map_data(*mm);
  e.set_counter(*mm, 0);
  CountingConsumer c;
  Uprobe* u = e.reg(c).value();
  CHECK(e.counter(*mm) == 1);
  CHECK(e.mgr.uprobes_of(*e.f.inode).at(0).ref_ctr_offset == kRefCtr);
  // A second consumer of the same uprobe arms nothing new: the counter stays.
  CountingConsumer c2;
  REQUIRE(e.reg(c2).ok());
  CHECK(e.counter(*mm) == 1);
  e.mgr.uprobe_unregister(u, c2);
  CHECK(e.counter(*mm) == 1);
  e.mgr.uprobe_unregister(u, c);
  CHECK(e.counter(*mm) == 0);
  CHECK(e.file_counter() != 1);  // the page cache never sees it
  CHECK(e.log.empty());
  e.mgr.verify();
}

TEST_CASE("ref_ctr: each mm counts its own breakpoint, and a filter leaves the other mm at 0") {
  RefCtrEnv e;
  auto mm1 = e.f.exec_mm();
  auto mm2 = e.f.exec_mm();
  e.map_data(*mm1);
  e.map_data(*mm2);
  e.set_counter(*mm1, 0);
  e.set_counter(*mm2, 0);
  CountingConsumer only1(mm1.get());
  Uprobe* u = e.reg(only1).value();
  CHECK(e.counter(*mm1) == 1);
  CHECK(e.counter(*mm2) == 0);
  e.mgr.uprobe_unregister(u, only1);
  CHECK(e.counter(*mm1) == 0);
}

TEST_CASE("ref_ctr: with no mapping of the counter yet, uprobe_mmap of the data applies it") {
  RefCtrEnv e;
  auto mm = e.f.exec_mm();  // text only
  CountingConsumer c;
  Uprobe* u = e.reg(c).value();
  const int16_t before = e.file_counter();
  const mmu::Vma* data = e.map_data(*mm);
  CHECK(e.counter(*mm) == before);  // mmap alone changes nothing
  e.mgr.uprobe_mmap(*mm, *data);
  CHECK(e.counter(*mm) == before + 1);
  e.mgr.uprobe_mmap(*mm, *data);  // applied once
  CHECK(e.counter(*mm) == before + 1);
  e.mgr.uprobe_unregister(u, c);
  CHECK(e.counter(*mm) == before);
}

TEST_CASE("ref_ctr: disarming before the counter is mapped forgets the pending +1") {
  RefCtrEnv e;
  auto mm = e.f.exec_mm();
  CountingConsumer c;
  Uprobe* u = e.reg(c).value();
  e.mgr.uprobe_unregister(u, c);
  CountingConsumer other;  // keeps the tree non-empty, at another offset, without a counter
  REQUIRE(e.reg(other, 0, xc::kNop).ok());
  const int16_t before = e.file_counter();
  e.mgr.uprobe_mmap(*mm, *e.map_data(*mm));
  CHECK(e.counter(*mm) == before);
}

TEST_CASE("ref_ctr: errors: odd offset, another counter for the same probe, going negative") {
  RefCtrEnv e;
  auto mm = e.f.exec_mm();
  e.map_data(*mm);
  CountingConsumer c;
  CHECK(e.reg(c, kRefCtr + 1).error().err == EINVAL);
  CHECK(e.mgr.count() == 0);
  Uprobe* u = e.reg(c).value();
  CountingConsumer c2;
  auto mismatch = e.reg(c2, kRefCtr + 2);
  REQUIRE_FALSE(mismatch.ok());
  CHECK(mismatch.error().err == EINVAL);
  REQUIRE(e.log.size() == 1);
  CHECK(e.log[0].starts_with("ref_ctr_offset mismatch."));
  // The program zeroed its semaphore: the decrement refuses to go below 0 and says so.
  e.set_counter(*mm, 0);
  e.mgr.uprobe_unregister(u, c);
  CHECK(e.counter(*mm) == 0);
  REQUIRE(e.log.size() == 3);
  CHECK(e.log[1] == "ref_ctr going negative. vaddr: " + std::string("0x401010") +
                        ", curr val: 0, delta: -1");
  CHECK(e.log[2].starts_with("ref_ctr decrement failed for inode: "));
}

}  // namespace
}  // namespace probesim::probes::test
