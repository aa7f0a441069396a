// Shared helpers for the mmu unit tests: host temp files, file inodes, and an observer that
// checks the MmObserver contract while recording what it was told.
#pragma once

#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "mmu/inode_cache.h"
#include "mmu/mm.h"
#include "mmu/vm_flags.h"

namespace probesim::mmu::test {

inline const MmLayout kLayout{GuestAddr{0x7f0000000000}, GuestAddr{0x7ffffffff000}};
constexpr uint64_t kPg = kPageSize;

// A host file with the given contents, removed when the object dies.
class TempFile {
 public:
  explicit TempFile(const std::string& contents) {
    char tmpl[] = "/tmp/probesim-mmu-test-XXXXXX";
    const int fd = ::mkstemp(tmpl);
    REQUIRE(fd >= 0);
    path_ = tmpl;
    REQUIRE(::write(fd, contents.data(), contents.size()) == static_cast<ssize_t>(contents.size()));
    ::close(fd);
  }
  ~TempFile() { ::unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Bytes of a recognisable pattern: byte i is (i * 7 + i / 4096) & 0xff, never all zero.
inline std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7 + i / 4096 + 1) & 0xff);
  return s;
}

// An inode backed by a host file with `contents` (capacity defaults to 1 MiB).
inline Inode* file_inode(InodeCache& cache, const TempFile& f, const std::string& key,
                         uint64_t size, uint64_t capacity = uint64_t{1} << 20) {
  InodeAttrs attrs;
  attrs.mode = 0100644;
  attrs.size = size;
  auto backing = HostFileBacking::open(f.path());
  REQUIRE(backing.ok());
  auto inode = cache.insert(key, f.path(), attrs, std::move(backing.value()), capacity);
  REQUIRE(inode.ok());
  return inode.value();
}

// Records runs and checks the contract as events arrive: a map never overlaps a live run,
// an unmap removes exactly a live run, and (check()) the live runs are one per VMA.
struct RecordingObserver : MmObserver {
  struct Event {
    bool map;
    uint64_t start, len;
    uint8_t* host;
    uint32_t prot;
  };
  std::map<uint64_t, Event> live;
  std::vector<Event> events;

  void on_unmap(GuestAddr start, uint64_t len) override {
    auto it = live.find(start.value);
    REQUIRE_MESSAGE(it != live.end(), "on_unmap of a run that was never mapped");
    CHECK(it->second.len == len);
    live.erase(it);
    events.push_back({false, start.value, len, nullptr, 0});
  }
  void on_map(GuestAddr start, uint64_t len, uint8_t* host, uint32_t prot) override {
    auto next = live.lower_bound(start.value);
    if (next != live.end()) REQUIRE_MESSAGE(next->first >= start.value + len, "overlapping run");
    if (next != live.begin()) {
      auto prev = std::prev(next);
      REQUIRE_MESSAGE(prev->first + prev->second.len <= start.value, "overlapping run");
    }
    CHECK(len > 0);
    live[start.value] = {true, start.value, len, host, prot};
    events.push_back({true, start.value, len, host, prot});
  }
  void clear_events() { events.clear(); }

  // The contract: live runs == one run per VMA, [vm_start, min(vm_end, EOF end)), computed
  // here independently of Vma::run().
  void check(const Mm& mm) const {
    std::map<uint64_t, Event> want;
    for (const Vma* v : mm.vmas()) {
      uint64_t end = v->vm_end.value;
      if (v->vm_file) {
        const uint64_t eof = page_align_up(v->vm_file->i_size());
        const uint64_t file_end = eof > (v->vm_pgoff << kPageShift)
                                      ? v->vm_start.value + eof - (v->vm_pgoff << kPageShift)
                                      : v->vm_start.value;
        end = std::min(end, file_end);
      }
      if (end <= v->vm_start.value) continue;
      want[v->vm_start.value] = {true, v->vm_start.value, end - v->vm_start.value,
                                 v->host_ptr(v->vm_start), v->vm_flags & VM_RWX};
    }
    REQUIRE(want.size() == live.size());
    for (const auto& [start, w] : want) {
      auto it = live.find(start);
      REQUIRE(it != live.end());
      CHECK(it->second.len == w.len);
      CHECK(it->second.host == w.host);
      CHECK(it->second.prot == w.prot);
    }
  }
  // All unmaps of the last batch precede its maps.
  static bool unmaps_before_maps(const std::vector<Event>& ev) {
    bool seen_map = false;
    for (const Event& e : ev) {
      if (e.map)
        seen_map = true;
      else if (seen_map)
        return false;
    }
    return true;
  }
};

inline int64_t anon_map(Mm& mm, uint64_t addr, uint64_t len, int prot, int extra = 0) {
  return mm.mmap(GuestAddr{addr}, len, prot, kMapPrivate | kMapAnonymous | extra, nullptr,
                 FileOffset{0});
}

}  // namespace probesim::mmu::test
