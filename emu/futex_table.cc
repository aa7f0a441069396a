#include "emu/futex_table.h"

#include <algorithm>

#include "mmu/mm.h"
#include "mmu/vm_flags.h"

namespace probesim::emu {

FutexTable::Key FutexTable::canonical(Key key) {
  const auto* mm = static_cast<const mmu::Mm*>(key.first);
  const mmu::Vma* v = mm ? mm->find_vma(GuestAddr{key.second}) : nullptr;
  if (v == nullptr || v->vm_start.value > key.second || !(v->vm_flags & mmu::VM_SHARED) ||
      v->vm_file == nullptr) {
    return key;
  }
  return {v->vm_file, v->vm_pgoff * 4096 + (key.second - v->vm_start.value)};
}

void FutexTable::enqueue(Key key, Task& t, uint32_t bitset) {
  queues_[canonical(key)].push_back(Waiter{&t, bitset});
}

std::vector<Task*> FutexTable::dequeue(Key key, int64_t n, uint32_t bitset) {
  std::vector<Task*> out;
  auto it = queues_.find(canonical(key));
  if (it == queues_.end()) return out;
  auto& q = it->second;
  for (auto w = q.begin(); w != q.end() && static_cast<int64_t>(out.size()) < n;) {
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
  from = canonical(from);
  to = canonical(to);
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

void FutexTable::remove(Task& t) {
  for (auto it = queues_.begin(); it != queues_.end();) {
    std::erase_if(it->second, [&](const Waiter& w) { return w.task == &t; });
    it = it->second.empty() ? queues_.erase(it) : std::next(it);
  }
}

size_t FutexTable::waiters(Key key) const {
  auto it = queues_.find(canonical(key));
  return it == queues_.end() ? 0 : it->second.size();
}

}  // namespace probesim::emu
