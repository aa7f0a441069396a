#include "emu/futex_table.h"

#include <algorithm>

namespace probesim::emu {

void FutexTable::enqueue(Key key, Waiter w) { queues_[key].push_back(w); }

std::vector<Task*> FutexTable::dequeue(Key key, int64_t n, uint32_t bitset, bool* pi_seen) {
  std::vector<Task*> out;
  auto it = queues_.find(key);
  if (it == queues_.end()) return out;
  auto& q = it->second;
  for (auto w = q.begin(); w != q.end() && static_cast<int64_t>(out.size()) < n;) {
    if (w->kind != FutexWaitKind::Plain) {
      if (pi_seen) *pi_seen = true;
      break;
    }
    if (w->bitset & bitset) {
      out.push_back(w->task);
      w = q.erase(w);
    } else {
      ++w;
    }
  }
  if (q.empty()) queues_.erase(it);
  return out;
}

int64_t FutexTable::requeue(Key from, Key to, int64_t n) {
  auto it = queues_.find(from);
  if (it == queues_.end() || n <= 0) return 0;
  auto& q = it->second;
  int64_t moved = 0;
  while (!q.empty() && moved < n) {
    queues_[to].push_back(q.front());
    q.pop_front();
    ++moved;
  }
  if (q.empty()) queues_.erase(from);
  return moved;
}

const FutexTable::Waiter* FutexTable::front(Key key) const {
  auto it = queues_.find(key);
  return it == queues_.end() ? nullptr : &it->second.front();
}

std::optional<FutexTable::Waiter> FutexTable::pop_front(Key key) {
  auto it = queues_.find(key);
  if (it == queues_.end()) return std::nullopt;
  Waiter w = it->second.front();
  it->second.pop_front();
  if (it->second.empty()) queues_.erase(it);
  return w;
}

std::vector<std::pair<FutexTable::Key, FutexTable::Waiter>> FutexTable::pi_heads() const {
  std::vector<std::pair<Key, Waiter>> out;
  for (const auto& [key, q] : queues_) {
    auto w = std::find_if(q.begin(), q.end(),
                          [](const Waiter& x) { return x.kind == FutexWaitKind::Pi; });
    if (w != q.end()) out.emplace_back(key, *w);
  }
  // Keys order by host pointers: sort by guest facts so the caller's wake order is deterministic.
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::pair(a.second.uaddr, a.second.task->tid()) <
           std::pair(b.second.uaddr, b.second.task->tid());
  });
  return out;
}

void FutexTable::remove(Task& t) {
  for (auto it = queues_.begin(); it != queues_.end();) {
    std::erase_if(it->second, [&](const Waiter& w) { return w.task == &t; });
    it = it->second.empty() ? queues_.erase(it) : std::next(it);
  }
}

size_t FutexTable::waiters(Key key) const {
  auto it = queues_.find(key);
  return it == queues_.end() ? 0 : it->second.size();
}

}  // namespace probesim::emu
