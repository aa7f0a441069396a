#include "emu/wait_queues.h"

#include <algorithm>

#include "emu/scheduler.h"

namespace probesim::emu {

void WaitQueues::wake_all(const void* object, Scheduler& sched, PollMask key) {
  if (auto it = queues_.find(object); it != queues_.end()) {
    std::deque<Task*> waiters = std::move(it->second);
    queues_.erase(it);
    for (Task* t : waiters) {
      remove(*t);  // a poller also sleeps on other objects (poll_freewait)
      sched.wake_restart(*t);
    }
  }
  auto w = watchers_.find(object);
  if (w == watchers_.end()) return;
  // A watcher may unwatch (or wake other objects) from its callback: walk a copy, skipping
  // the ones gone meanwhile.
  const std::vector<PollWatcher*> snapshot = w->second;
  for (PollWatcher* p : snapshot) {
    auto now = watchers_.find(object);
    if (now == watchers_.end()) return;
    if (std::find(now->second.begin(), now->second.end(), p) != now->second.end()) p->on_wake(key);
  }
}

bool WaitQueues::contains(const void* object, const Task* t) const {
  auto it = queues_.find(object);
  return it != queues_.end() && std::find(it->second.begin(), it->second.end(), t) != it->second.end();
}

std::deque<Task*> WaitQueues::take(const void* object) {
  auto it = queues_.find(object);
  if (it == queues_.end()) return {};
  std::deque<Task*> waiters = std::move(it->second);
  queues_.erase(it);
  return waiters;
}

void WaitQueues::remove(Task& t) {
  for (auto it = queues_.begin(); it != queues_.end();) {
    std::erase(it->second, &t);
    it = it->second.empty() ? queues_.erase(it) : std::next(it);
  }
}

void WaitQueues::unwatch(const void* object, PollWatcher* w) {
  auto it = watchers_.find(object);
  if (it == watchers_.end()) return;
  auto pos = std::find(it->second.begin(), it->second.end(), w);
  if (pos != it->second.end()) it->second.erase(pos);
  if (it->second.empty()) watchers_.erase(it);
}

}  // namespace probesim::emu
