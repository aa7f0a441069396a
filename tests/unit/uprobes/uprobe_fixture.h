// Shared helpers for the uprobes unit tests: a host file turned into an inode, mms mapping it
// the way exec does (text r-x private, data rw private), a UprobeHost that records
// invalidations, and an observer that checks the runs contract with replaced pages.
#pragma once

#include <doctest/doctest.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "mmu/address_space.h"
#include "mmu/inode_cache.h"
#include "mmu/mm.h"
#include "mmu/mmu_test_util.h"
#include "mmu/vm_flags.h"
#include "probes/uprobes/uprobe_manager.h"

namespace probesim::probes::test {

using mmu::test::kPg;
using mmu::test::TempFile;

constexpr uint64_t kText = 0x400000;

struct RecordingHost : UprobeHost {
  struct Inv {
    const mmu::Mm* mm;
    uint64_t addr, len;
  };
  std::vector<Inv> invalidations;
  void invalidate(mmu::Mm& mm, GuestAddr addr, uint64_t len) override {
    invalidations.push_back({&mm, addr.value, len});
  }
  bool invalidated(const mmu::Mm& mm, uint64_t addr) const {
    for (const Inv& i : invalidations)
      if (i.mm == &mm && i.addr <= addr && addr < i.addr + i.len) return true;
    return false;
  }
};

// Live runs as the observer sees them; check() compares them with an independent
// computation: per VMA, maximal groups of file pages with the same backing kind, each
// replaced page alone.
struct RunObserver : mmu::MmObserver {
  std::map<uint64_t, std::tuple<uint64_t, uint8_t*, uint32_t>> live;
  void on_unmap(GuestAddr start, uint64_t len) override {
    auto it = live.find(start.value);
    REQUIRE_MESSAGE(it != live.end(), "unmap of a run never mapped");
    CHECK(std::get<0>(it->second) == len);
    live.erase(it);
  }
  void on_map(GuestAddr start, uint64_t len, uint8_t* host, uint32_t prot) override {
    auto next = live.lower_bound(start.value);
    if (next != live.end()) REQUIRE(next->first >= start.value + len);
    live[start.value] = {len, host, prot};
  }
  void check(const mmu::Mm& mm) const {
    std::map<uint64_t, std::tuple<uint64_t, uint8_t*, uint32_t>> want;
    for (const mmu::Vma* v : mm.vmas()) {
      uint64_t run_start = 0, run_len = 0;
      for (uint64_t a = v->vm_start.value; a < v->vm_end.value; a += kPg) {
        const mmu::PageState s = mm.page_state(GuestAddr{a});
        if (s == mmu::PageState::Unmapped) break;
        const bool alone = s == mmu::PageState::ReplacedPage;
        if (run_len && !alone &&
            mm.page_state(GuestAddr{a - kPg}) != mmu::PageState::ReplacedPage) {
          run_len += kPg;
          continue;
        }
        if (run_len)
          want[run_start] = {run_len, v->host_ptr(GuestAddr{run_start}), v->vm_flags & 7};
        run_start = a;
        run_len = kPg;
      }
      if (run_len) want[run_start] = {run_len, v->host_ptr(GuestAddr{run_start}), v->vm_flags & 7};
    }
    REQUIRE(want.size() == live.size());
    for (const auto& [start, w] : want) {
      auto it = live.find(start);
      REQUIRE(it != live.end());
      CHECK(it->second == w);
    }
  }
};

// A file of `pages` pages: `code` at offset 0, the rest a recognisable pattern.
struct CodeFile {
  explicit CodeFile(const std::vector<uint8_t>& code, uint64_t pages = 2, std::string key = "code")
      : file(make_contents(code, pages)) {
    inode = mmu::test::file_inode(cache, file, key, pages * kPg);
  }
  static std::string make_contents(const std::vector<uint8_t>& code, uint64_t pages) {
    std::string s = mmu::test::pattern(pages * kPg);
    std::memcpy(s.data(), code.data(), code.size());
    return s;
  }
  // A new mm mapping the file like exec: page 0 r-x at `at`, the rest rw- after it.
  std::unique_ptr<mmu::Mm> exec_mm(uint64_t at = kText) {
    auto mm = std::make_unique<mmu::Mm>(mmu::test::kLayout);
    map_text(*mm, at);
    return mm;
  }
  void map_text(mmu::Mm& mm, uint64_t at) {
    using namespace mmu;
    REQUIRE(mm.mmap(GuestAddr{at}, kPg, kProtRead | kProtExec, kMapPrivate | kMapFixed, inode,
                    FileOffset{0}, FileMode::ReadOnly) == static_cast<int64_t>(at));
  }
  // Page-cache bytes at offset.
  std::vector<uint8_t> cache_bytes(uint64_t offset, size_t n) {
    std::vector<uint8_t> out(n);
    REQUIRE(inode->i_mapping().read(FileOffset{offset}, out).ok());
    return out;
  }

  TempFile file;
  mmu::InodeCache cache;
  mmu::Inode* inode = nullptr;
};

inline std::vector<uint8_t> peek(const mmu::Mm& mm, uint64_t addr, size_t n) {
  std::vector<uint8_t> out(n);
  REQUIRE(mm.peek(GuestAddr{addr}, out.data(), n));
  return out;
}

// A consumer counting hits (and optionally filtering on one mm).
struct CountingConsumer : UprobeConsumer {
  explicit CountingConsumer(const mmu::Mm* only = nullptr) {
    handler = [](UprobeConsumer&, Regs&, uint64_t&) { return 0; };
    if (only) filter = [only](UprobeConsumer&, const mmu::Mm& mm) { return &mm == only; };
  }
};

// An anonymous rw stack for hit-path tests; returns its top.
inline uint64_t map_stack(mmu::Mm& mm, uint64_t top = 0x7ff000000000) {
  using namespace mmu;
  REQUIRE(mm.mmap(GuestAddr{top - 16 * kPg}, 16 * kPg, kProtRead | kProtWrite,
                  kMapPrivate | kMapAnonymous | kMapFixed, nullptr,
                  FileOffset{0}) == static_cast<int64_t>(top - 16 * kPg));
  return top;
}

inline uint64_t read_u64(const mmu::Mm& mm, uint64_t addr) {
  uint64_t v = 0;
  REQUIRE(mm.peek(GuestAddr{addr}, &v, 8));
  return v;
}

inline void write_u64(mmu::Mm& mm, uint64_t addr, uint64_t v) {
  REQUIRE(mm.copy_to_user(GuestAddr{addr}, &v, 8));
}

}  // namespace probesim::probes::test
