// Inode cache: deterministic i_ino, reference counts, eviction, dirty pinning.
#include <doctest/doctest.h>

#include <vector>

#include "mmu/inode_backing.h"
#include "mmu_test_util.h"

namespace probesim::mmu {
namespace {

using test::kLayout;
using test::kPg;

Inode* overlay(InodeCache& c, const std::string& key, uint64_t size = 0) {
  InodeAttrs a;
  a.size = size;
  auto r = c.insert(key, "/" + key, a, nullptr, 64 * kPg);
  REQUIRE(r.ok());
  return r.value();
}

TEST_CASE("inode numbers are 1, 2, 3... in order of first insertion and stable across eviction") {
  InodeCache c;
  Inode* a = overlay(c, "a");
  Inode* b = overlay(c, "b");
  CHECK(a->i_ino() == 1);
  CHECK(b->i_ino() == 2);
  c.iput(a);  // evicted: clean, no references
  CHECK(c.find("a") == nullptr);
  Inode* c3 = overlay(c, "c");
  CHECK(c3->i_ino() == 3);
  Inode* a2 = overlay(c, "a");
  CHECK(a2->i_ino() == 1);  // same key, same number
  c.verify();
  c.iput(b);
  c.iput(c3);
  c.iput(a2);
  CHECK(c.size() == 0);
}

TEST_CASE("inserting a cached key fails with EEXIST, capacity below size fails with EFBIG") {
  InodeCache c;
  Inode* a = overlay(c, "k");
  InodeAttrs attrs;
  auto dup = c.insert("k", "/k", attrs, nullptr, kPg);
  REQUIRE(!dup.ok());
  CHECK(dup.error().err == EEXIST);
  attrs.size = 3 * kPg;
  auto small = c.insert("big", "/big", attrs, nullptr, 2 * kPg);
  REQUIRE(!small.ok());
  CHECK(small.error().err == EFBIG);
  CHECK(c.size() == 1);
  c.iput(a);
}

TEST_CASE("iget/iput count references, the last iput of a clean inode evicts it") {
  InodeCache c;
  Inode* a = overlay(c, "a");
  CHECK(a->i_count() == 1);
  CHECK(c.iget(a) == a);
  CHECK(a->i_count() == 2);
  CHECK(c.find("a") == a);  // find takes no reference
  CHECK(a->i_count() == 2);
  c.iput(a);
  CHECK(c.find("a") == a);
  c.iput(a);
  CHECK(c.find("a") == nullptr);
  c.iput(nullptr);  // no-op, as Linux
  c.verify();
}

TEST_CASE("a dirty inode is pinned in the cache at i_count 0") {
  InodeCache c;
  Inode* a = overlay(c, "a");
  const std::string data = "hello";
  auto w = a->i_mapping().write(
      FileOffset{0}, std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
  REQUIRE(w.ok());
  CHECK(a->dirty());
  c.iput(a);
  REQUIRE(c.find("a") == a);
  CHECK(a->i_count() == 0);
  c.verify();
  c.iget(a);  // a later open finds the overlay
  std::string back(5, '\0');
  auto r =
      a->i_mapping().read(FileOffset{0}, std::span(reinterpret_cast<uint8_t*>(back.data()), 5));
  REQUIRE(r.ok());
  CHECK(back == "hello");
  c.iput(a);
}

TEST_CASE("every VMA holds an inode reference, dropped when the VMA goes") {
  InodeCache c;
  test::TempFile f(test::pattern(8 * kPg));
  Inode* ino = test::file_inode(c, f, "f", 8 * kPg);
  {
    Mm mm(kLayout);
    const int64_t a = mm.mmap(GuestAddr{0}, 8 * kPg, kProtRead, kMapPrivate, ino, FileOffset{0});
    REQUIRE(a > 0);
    CHECK(ino->i_count() == 2);
    CHECK(ino->i_mapping().i_mmap().size() == 1);
    // A split adds a VMA and a reference; munmap of a piece drops one.
    REQUIRE(mm.munmap(GuestAddr{static_cast<uint64_t>(a) + 2 * kPg}, kPg) == 0);
    CHECK(mm.vma_count() == 2);
    CHECK(ino->i_count() == 3);
    CHECK(ino->i_mapping().i_mmap().size() == 2);
    mm.verify();
    c.verify();
    c.iput(ino);  // the opener closes: the mappings keep it alive
    CHECK(c.find("f") == ino);
    CHECK(ino->i_count() == 2);
  }  // ~Mm drops the last references: the clean inode is evicted
  CHECK(c.find("f") == nullptr);
  CHECK(c.size() == 0);
}

TEST_CASE("BytesBacking: reads within the bytes, short at the end, nothing past it") {
  BytesBacking b({1, 2, 3, 4, 5});
  std::vector<uint8_t> out(4, 0xee);
  auto r = b.read(FileOffset{0}, out);
  REQUIRE(r.ok());
  CHECK(*r == 4);
  CHECK(out == std::vector<uint8_t>{1, 2, 3, 4});
  r = b.read(FileOffset{3}, out);
  REQUIRE(r.ok());
  CHECK(*r == 2);
  CHECK(out[0] == 4);
  CHECK(out[1] == 5);
  r = b.read(FileOffset{5}, out);
  REQUIRE(r.ok());
  CHECK(*r == 0);
  r = b.read(FileOffset{~uint64_t{0}}, out);
  REQUIRE(r.ok());
  CHECK(*r == 0);
}

}  // namespace
}  // namespace probesim::mmu

