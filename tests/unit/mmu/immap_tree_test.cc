// i_mmap interval tree: against a brute-force oracle, and its structural contract.
#include "mmu/immap_tree.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <vector>

namespace probesim::mmu {
namespace {

std::unique_ptr<Vma> interval(uint64_t pgoff, uint64_t pages) {
  const uint64_t start = 0x10000000;
  return std::make_unique<Vma>(nullptr, GuestAddr{start}, GuestAddr{start + pages * kPageSize},
                               pgoff, 0, nullptr);
}

std::vector<Vma*> oracle_overlap(const std::vector<Vma*>& all, uint64_t first, uint64_t last) {
  std::vector<Vma*> out;
  for (Vma* v : all) {
    if (v->vm_pgoff <= last && first <= v->pgoff_last()) out.push_back(v);
  }
  return out;
}

std::vector<Vma*> tree_overlap(const ImmapTree& t, uint64_t first, uint64_t last) {
  std::vector<Vma*> out;
  t.for_each_overlap(first, last, [&](Vma* v) { out.push_back(v); });
  return out;
}

TEST_CASE("i_mmap tree matches a brute-force oracle over random insert/remove/query") {
  std::mt19937_64 rng(0x5eed1234);
  ImmapTree tree;
  std::vector<std::unique_ptr<Vma>> pool;
  std::vector<Vma*> linked;
  for (int step = 0; step < 6000; ++step) {
    const int op = static_cast<int>(rng() % 10);
    if (op < 4 || linked.empty()) {  // insert, often with duplicate intervals
      const uint64_t start = rng() % 200, pages = 1 + rng() % (rng() % 4 == 0 ? 80 : 8);
      pool.push_back(interval(start, pages));
      tree.insert(pool.back().get());
      linked.push_back(pool.back().get());
    } else if (op < 7) {  // remove a random one
      const size_t i = rng() % linked.size();
      tree.remove(linked[i]);
      linked.erase(linked.begin() + static_cast<long>(i));
    } else {  // query
      const uint64_t a = rng() % 300, b = a + rng() % 20;
      auto got = tree_overlap(tree, a, b);
      auto want = oracle_overlap(linked, a, b);
      // Ascending start; the sets agree.
      CHECK(std::is_sorted(got.begin(), got.end(),
                           [](Vma* x, Vma* y) { return x->vm_pgoff < y->vm_pgoff; }));
      std::sort(got.begin(), got.end());
      std::sort(want.begin(), want.end());
      REQUIRE(got == want);
      const uint64_t p = rng() % 300;
      auto stab = tree.stab(PageIndex{p});
      auto stab_want = oracle_overlap(linked, p, p);
      std::sort(stab.begin(), stab.end());
      std::sort(stab_want.begin(), stab_want.end());
      REQUIRE(stab == stab_want);
    }
    REQUIRE(tree.size() == linked.size());
    if (step % 16 == 0) tree.verify();
  }
  tree.verify();
  for (Vma* v : linked) tree.remove(v);
  CHECK(tree.empty());
  tree.verify();
}

TEST_CASE("i_mmap tree keeps equal starts in insertion order") {
  ImmapTree tree;
  std::vector<std::unique_ptr<Vma>> v;
  for (int i = 0; i < 50; ++i) {
    v.push_back(interval(10, 1 + i % 3));
    tree.insert(v.back().get());
    tree.verify();
  }
  auto got = tree_overlap(tree, 10, 10);
  REQUIRE(got.size() == 50);
  for (int i = 0; i < 50; ++i) CHECK(got[i] == v[i].get());
  for (auto& x : v) tree.remove(x.get());
}

TEST_CASE("i_mmap tree stays balanced: depth is O(log n) for sorted inserts") {
  ImmapTree tree;
  std::vector<std::unique_ptr<Vma>> v;
  for (uint64_t i = 0; i < 4096; ++i) {
    v.push_back(interval(i, 1));
    tree.insert(v.back().get());
  }
  tree.verify();
  int max_depth = 0;
  for (const auto& n : tree.nodes()) max_depth = std::max(max_depth, n.depth);
  CHECK(max_depth <= 2 * 13);  // red-black bound 2*log2(n+1)
  auto nodes = tree.nodes();
  REQUIRE(nodes.size() == 4096);
  for (size_t i = 0; i < nodes.size(); ++i) CHECK(nodes[i].start == i);  // in order
  for (auto& x : v) tree.remove(x.get());
}

TEST_CASE("i_mmap tree caches subtree_last: the root's covers every interval") {
  ImmapTree tree;
  auto a = interval(0, 3), b = interval(5, 100), c = interval(50, 2);
  tree.insert(a.get());
  tree.insert(b.get());
  tree.insert(c.get());
  uint64_t root_last = 0;
  for (const auto& n : tree.nodes()) {
    if (n.depth == 0) root_last = n.subtree_last;
  }
  CHECK(root_last == 104);
  CHECK(tree.stab(PageIndex{104}) == std::vector<Vma*>{b.get()});
  CHECK(tree.stab(PageIndex{105}).empty());
  CHECK(tree.stab(PageIndex{4}).empty());
  CHECK(tree.contains(b.get()));
  tree.remove(b.get());
  CHECK(!tree.contains(b.get()));
  tree.verify();
  CHECK(tree.stab(PageIndex{60}).empty());
  tree.remove(a.get());
  tree.remove(c.get());
}

}  // namespace
}  // namespace probesim::mmu
