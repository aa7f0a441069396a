#include "emu/record/race_watch.h"

#include <algorithm>

namespace probesim::emu {

namespace {

bool overlaps(uint64_t a, uint32_t a_size, uint64_t b, uint32_t b_size) {
  return a < b + b_size && b < a + a_size;
}

}  // namespace

// A load joins the task's recent ones. A store is checked against every preempted task's
// recent loads: by another task, it is the first foreign write of that location (kept); by the
// preempted task itself, it closes the location: a conflict when a foreign write came first,
// else the location is its own again (dropped).
void RaceWatch::access(int tid, uint64_t space, uint64_t addr, uint32_t size, bool write, uint64_t pc) {
  if (!write) {
    std::deque<Load>& r = recent_[tid];
    r.push_front(Load{space, addr, size, pc});
    if (r.size() > kRecentLoads) r.pop_back();
    return;
  }
  for (auto it = pending_.begin(); it != pending_.end();) {
    Pending& p = *it;
    bool found = false;
    for (size_t i = 0; i < p.loads.size() && !found; ++i) {
      Load& l = p.loads[i];
      if (l.size == 0 || l.space != space || !overlaps(addr, size, l.addr, l.size)) continue;
      if (p.tid != tid) {
        if (!p.other[i]) p.other[i] = Access{tid, pc};
      } else if (p.other[i]) {
        found_.emplace(std::pair{p.tid, p.insns},
                       Conflict{l.addr, l.size, Access{p.tid, l.pc}, *p.other[i], Access{tid, pc}});
        found = true;
      } else {
        l.size = 0;
      }
    }
    it = found ? pending_.erase(it) : it + 1;
  }
}

void RaceWatch::preempted(int tid, uint64_t insns) {
  std::erase_if(pending_, [tid](const Pending& p) { return p.tid == tid; });
  auto r = recent_.find(tid);
  if (r == recent_.end() || r->second.empty()) return;
  Pending p{tid, insns, std::vector<Load>(r->second.begin(), r->second.end()), {}};
  p.other.resize(p.loads.size());
  pending_.push_back(std::move(p));
}

const RaceWatch::Conflict* RaceWatch::conflict(int tid, uint64_t insns) const {
  auto it = found_.find({tid, insns});
  return it == found_.end() ? nullptr : &it->second;
}

}  // namespace probesim::emu
