// Page cache (AddressSpace): lazy reads, read/write/truncate, sharing of frames between mms.
#include <doctest/doctest.h>

#include <cstring>

#include "mmu_test_util.h"

namespace probesim::mmu {
namespace {

using test::kLayout;
using test::kPg;

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST_CASE("page cache reads pages lazily from the backing and counts uptodate pages") {
  InodeCache c;
  const std::string data = test::pattern(5 * kPg + 100);
  test::TempFile f(data);
  Inode* ino = test::file_inode(c, f, "f", data.size());
  AddressSpace& as = ino->i_mapping();
  CHECK(as.nrpages() == 0);
  auto p = as.find_or_read_page(PageIndex{2});
  REQUIRE(p.ok());
  CHECK(p.value() == as.base() + 2 * kPg);
  CHECK(std::memcmp(p.value(), data.data() + 2 * kPg, kPg) == 0);
  CHECK(as.nrpages() == 1);
  CHECK(as.page_uptodate(PageIndex{2}));
  CHECK(!as.page_uptodate(PageIndex{1}));
  REQUIRE(as.populate(PageIndex{0}, 6).ok());
  CHECK(as.nrpages() == 6);
  // The last page's bytes past EOF are zero.
  const uint8_t* last = as.base() + 5 * kPg;
  CHECK(std::memcmp(last, data.data() + 5 * kPg, 100) == 0);
  CHECK(last[100] == 0);
  CHECK(last[kPg - 1] == 0);
  auto beyond = as.find_or_read_page(PageIndex{as.capacity_pages()});
  REQUIRE(!beyond.ok());
  CHECK(beyond.error().err == EFBIG);
  c.verify();
  c.iput(ino);
}

TEST_CASE("page cache read stops at i_size, write grows i_size and marks the inode dirty") {
  InodeCache c;
  const std::string data = test::pattern(3000);
  test::TempFile f(data);
  Inode* ino = test::file_inode(c, f, "f", data.size(), 4 * kPg);
  AddressSpace& as = ino->i_mapping();
  std::string buf(8000, 'x');
  auto r = as.read(FileOffset{1000}, std::span(reinterpret_cast<uint8_t*>(buf.data()), buf.size()));
  REQUIRE(r.ok());
  CHECK(r.value() == 2000);
  CHECK(buf.compare(0, 2000, data, 1000, 2000) == 0);
  CHECK(!ino->dirty());

  const std::string more = "ABCDEFGH";
  auto w = as.write(FileOffset{6000}, bytes(more));
  REQUIRE(w.ok());
  CHECK(w.value() == more.size());
  CHECK(ino->i_size() == 6008);
  CHECK(ino->dirty());
  std::string hole(3000, 'x');
  REQUIRE(as.read(FileOffset{3000}, std::span(reinterpret_cast<uint8_t*>(hole.data()), hole.size()))
              .ok());
  CHECK(hole == std::string(3000, '\0'));  // the gap reads as zeros

  // A write crossing the capacity is short; one at the capacity fails with EFBIG.
  auto short_w = as.write(FileOffset{4 * kPg - 3}, bytes(more));
  REQUIRE(short_w.ok());
  CHECK(short_w.value() == 3);
  auto full = as.write(FileOffset{4 * kPg}, bytes(more));
  REQUIRE(!full.ok());
  CHECK(full.error().err == EFBIG);
  c.verify();
  c.iput(ino);
}

TEST_CASE("truncate zeroes the tail, drops pages, and cuts off the backing for good") {
  InodeCache c;
  const std::string data = test::pattern(4 * kPg);
  test::TempFile f(data);
  Inode* ino = test::file_inode(c, f, "f", data.size());
  AddressSpace& as = ino->i_mapping();
  REQUIRE(as.populate(PageIndex{0}, 4).ok());
  REQUIRE(as.truncate(kPg + 10).ok());
  CHECK(ino->i_size() == kPg + 10);
  CHECK(as.nrpages() == 2);
  CHECK(as.base()[kPg + 9] == static_cast<uint8_t>(data[kPg + 9]));
  CHECK(as.base()[kPg + 10] == 0);
  // Growing again shows zeros, not the old backing bytes.
  REQUIRE(as.truncate(4 * kPg).ok());
  std::string buf(kPg, 'x');
  REQUIRE(
      as.read(FileOffset{2 * kPg}, std::span(reinterpret_cast<uint8_t*>(buf.data()), kPg)).ok());
  CHECK(buf == std::string(kPg, '\0'));
  auto too_big = as.truncate(as.capacity_pages() * kPg + 1);
  REQUIRE(!too_big.ok());
  CHECK(too_big.error().err == EFBIG);
  c.verify();
  c.iput(ino);
}

TEST_CASE("read-only private mappings of one file share page-cache frames across mms") {
  InodeCache c;
  test::TempFile f(test::pattern(4 * kPg));
  Inode* ino = test::file_inode(c, f, "f", 4 * kPg);
  Mm a(kLayout), b(kLayout);
  const int64_t va = a.mmap(GuestAddr{0x400000}, 4 * kPg, kProtRead | kProtExec,
                            kMapPrivate | kMapFixed, ino, FileOffset{0});
  const int64_t vb = b.mmap(GuestAddr{0x500000}, 3 * kPg, kProtRead, kMapPrivate | kMapFixed, ino,
                            FileOffset{kPg});
  REQUIRE(va == 0x400000);
  REQUIRE(vb == 0x500000);
  const Vma* x = a.vma_at(GuestAddr{0x401000});
  const Vma* y = b.vma_at(GuestAddr{0x500000});
  CHECK(!x->private_copy());
  CHECK(x->host_ptr(GuestAddr{0x401000}) == y->host_ptr(GuestAddr{0x500000}));
  CHECK(x->host_ptr(GuestAddr{0x401000}) == ino->i_mapping().base() + kPg);
  CHECK(ino->i_mapping().page_mapcount(PageIndex{0}) == 1);
  CHECK(ino->i_mapping().page_mapcount(PageIndex{1}) == 2);
  CHECK(ino->i_mapping().i_mmap().stab(PageIndex{3}).size() == 2);

  SUBCASE("a writable private mapping gets its own copy and leaves the page cache alone") {
    Mm w(kLayout);
    const int64_t vw = w.mmap(GuestAddr{0x600000}, 4 * kPg, kProtRead | kProtWrite,
                              kMapPrivate | kMapFixed, ino, FileOffset{0});
    REQUIRE(vw == 0x600000);
    const Vma* z = w.vma_at(GuestAddr{0x600000});
    CHECK(z->private_copy());
    CHECK(z->host_ptr(GuestAddr{0x601000}) != x->host_ptr(GuestAddr{0x401000}));
    CHECK(std::memcmp(z->host_ptr(GuestAddr{0x601000}), x->host_ptr(GuestAddr{0x401000}), kPg) ==
          0);
    const uint32_t v = 0xdeadbeef;
    REQUIRE(w.copy_to_user(GuestAddr{0x601000}, &v, 4));
    uint32_t seen = 0;
    REQUIRE(a.copy_from_user(&seen, GuestAddr{0x401000}, 4));
    CHECK(seen != v);
    CHECK(ino->i_mapping().page_mapcount(PageIndex{1}) == 2);         // the copy does not count
    CHECK(ino->i_mapping().i_mmap().stab(PageIndex{1}).size() == 3);  // but is in i_mmap
    CHECK(w.stats().private_copies == 1);
    w.verify();
  }
  SUBCASE("a shared writable mapping writes the page cache every mapper sees") {
    Mm s(kLayout);
    const int64_t vs = s.mmap(GuestAddr{0x700000}, kPg, kProtRead | kProtWrite,
                              kMapShared | kMapFixed, ino, FileOffset{kPg});
    REQUIRE(vs == 0x700000);
    CHECK(ino->dirty());
    const uint32_t v = 0x12345678;
    REQUIRE(s.copy_to_user(GuestAddr{0x700010}, &v, 4));
    uint32_t seen = 0;
    REQUIRE(a.copy_from_user(&seen, GuestAddr{0x401010}, 4));
    CHECK(seen == v);
    CHECK(ino->i_mapping().page_mapcount(PageIndex{1}) == 3);
  }
  a.verify();
  b.verify();
  c.verify();
  c.iput(ino);
}

TEST_CASE("a file VMA's run ends at EOF and follows i_size when the file grows or shrinks") {
  InodeCache c;
  test::TempFile f(test::pattern(2 * kPg + 5));
  Inode* ino = test::file_inode(c, f, "f", 2 * kPg + 5, 8 * kPg);
  Mm mm(kLayout);
  test::RecordingObserver obs;
  mm.set_observer(&obs);
  REQUIRE(mm.mmap(GuestAddr{0x400000}, 6 * kPg, kProtRead, kMapShared | kMapFixed, ino,
                  FileOffset{0}) == 0x400000);
  REQUIRE(mm.mmap(GuestAddr{0x500000}, 6 * kPg, kProtRead | kProtWrite, kMapPrivate | kMapFixed,
                  ino, FileOffset{0}) == 0x500000);
  obs.check(mm);
  CHECK(obs.live.at(0x400000).len == 3 * kPg);
  CHECK(mm.classify_fault(GuestAddr{0x403000}, Access::Read) == FaultKind::Bus);
  obs.clear_events();
  const std::string more = test::pattern(kPg);
  REQUIRE(ino->i_mapping().write(FileOffset{4 * kPg}, bytes(more)).ok());  // i_size 5 pages
  obs.check(mm);
  CHECK(obs.events.size() == 4);  // each VMA: unmap old run, map the longer one
  CHECK(obs.live.at(0x400000).len == 5 * kPg);
  CHECK(mm.classify_fault(GuestAddr{0x404000}, Access::Read) == FaultKind::None);
  // The private copy sees the new page (never written privately) and the zero-filled hole.
  uint8_t b = 1;
  REQUIRE(mm.copy_from_user(&b, GuestAddr{0x504000}, 1));
  CHECK(b == static_cast<uint8_t>(more[0]));
  REQUIRE(mm.copy_from_user(&b, GuestAddr{0x503000}, 1));
  CHECK(b == 0);
  mm.verify();
  REQUIRE(ino->i_mapping().truncate(kPg).ok());
  obs.check(mm);
  CHECK(mm.classify_fault(GuestAddr{0x401000}, Access::Read) == FaultKind::Bus);
  mm.verify();
  c.verify();
  c.iput(ino);
}

}  // namespace
}  // namespace probesim::mmu
