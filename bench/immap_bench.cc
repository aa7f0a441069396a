// bench_immap: stabbing-query time of mmu::ImmapTree (the i_mmap interval tree) versus a
// linear scan over the same VMAs, for N = 10 ... 1e5 VMAs mapping one file.
//
//   usage: bench_immap [max_n=100000]
//
// Per N it prints one JSON line:
//   {"n":N,"queries":Q,"hits":H,"tree_ns":T,"linear_ns":L,"insert_ns":I}
// where T and L are host ns per stabbing query (best of kRounds), I is ns per insert, and H
// is the total number of VMAs the Q queries found (the same for both, or it aborts).
//
// The VMA population models a file mapped by many processes: N/100 (at least 1) processes
// map the file's first 64 pages (a shared library's text), the rest are random windows of
// 1..16 pages anywhere in a 4 GiB file. Queries are pages drawn from the same file, a
// quarter of them inside the shared text. Inputs come from a fixed-seed generator, so every
// run asks the same questions; only the host times vary.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <vector>

#include "mmu/immap_tree.h"
#include "mmu/vma.h"
#include "probesim/assert.h"
#include "probesim/types.h"

namespace probesim::bench {
namespace {

using mmu::ImmapTree;
using mmu::Vma;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kFilePages = uint64_t{1} << 20;  // a 4 GiB file
constexpr uint64_t kSharedPages = 64;               // the text every process maps
constexpr int kRounds = 3;                          // best-of for each timing
constexpr uint64_t kScanBudget = 20'000'000;        // interval tests per linear round

std::unique_ptr<Vma> make_vma(uint64_t pgoff, uint64_t pages) {
  const uint64_t start = 0x10000000;
  return std::make_unique<Vma>(nullptr, GuestAddr{start}, GuestAddr{start + pages * kPageSize},
                               pgoff, 0, nullptr);
}

std::vector<std::unique_ptr<Vma>> population(size_t n, std::mt19937_64& rng) {
  std::vector<std::unique_ptr<Vma>> vmas;
  const size_t shared = std::max<size_t>(1, n / 100);
  for (size_t i = 0; i < n; ++i) {
    if (i % (n / shared) == 0 && i / (n / shared) < shared) {
      vmas.push_back(make_vma(0, kSharedPages));
    } else {
      const uint64_t pages = 1 + rng() % 16;
      vmas.push_back(make_vma(rng() % (kFilePages - pages), pages));
    }
  }
  return vmas;
}

std::vector<uint64_t> queries(size_t count, std::mt19937_64& rng) {
  std::vector<uint64_t> q(count);
  for (size_t i = 0; i < count; ++i) q[i] = (i % 4 == 0) ? rng() % kSharedPages : rng() % kFilePages;
  return q;
}

// Runs body() kRounds times; returns the best time in ns.
template <class F>
double best_ns(F&& body) {
  double best = 1e300;
  for (int r = 0; r < kRounds; ++r) {
    const auto t0 = Clock::now();
    body();
    best = std::min(best, std::chrono::duration<double, std::nano>(Clock::now() - t0).count());
  }
  return best;
}

// The oracle the tree is compared with: every VMA whose interval contains page p.
std::vector<Vma*> linear_stab(const std::vector<Vma*>& all, uint64_t p) {
  std::vector<Vma*> out;
  for (Vma* v : all) {
    if (v->vm_pgoff <= p && p <= v->pgoff_last()) out.push_back(v);
  }
  return out;
}

void measure(size_t n) {
  std::mt19937_64 rng(0x1a3a9 + n);
  auto vmas = population(n, rng);
  std::vector<Vma*> flat;
  for (auto& v : vmas) flat.push_back(v.get());
  const size_t qn = std::clamp<size_t>(kScanBudget / n, 200, 200'000);
  const auto qs = queries(qn, rng);

  ImmapTree tree;
  const auto t0 = Clock::now();
  for (Vma* v : flat) tree.insert(v);
  const double insert_ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
  tree.verify();

  uint64_t tree_hits = 0, linear_hits = 0;
  const double tree_ns = best_ns([&] {
    tree_hits = 0;
    for (uint64_t p : qs) tree_hits += tree.stab(PageIndex{p}).size();
  });
  const double linear_ns = best_ns([&] {
    linear_hits = 0;
    for (uint64_t p : qs) linear_hits += linear_stab(flat, p).size();
  });
  PROBESIM_ASSERT_MSG(tree_hits == linear_hits, "tree and linear scan disagree");

  std::printf("{\"n\":%zu,\"queries\":%zu,\"hits\":%llu,\"tree_ns\":%.2f,\"linear_ns\":%.2f,"
              "\"insert_ns\":%.2f}\n",
              n, qn, static_cast<unsigned long long>(tree_hits), tree_ns / qn, linear_ns / qn,
              insert_ns / n);
  std::fflush(stdout);
  for (Vma* v : flat) tree.remove(v);
}

}  // namespace
}  // namespace probesim::bench

int main(int argc, char** argv) {
  const unsigned long long max_n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100000;
  if (max_n < 10) {
    std::fprintf(stderr, "usage: bench_immap [max_n >= 10]\n");
    return 2;
  }
  for (size_t n = 10; n <= max_n; n *= 10) probesim::bench::measure(n);
  return 0;
}
