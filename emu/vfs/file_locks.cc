#include "emu/vfs/file_locks.h"

#include <algorithm>
#include <cerrno>

#include "emu/scheduler.h"
#include "emu/wait_queues.h"

namespace probesim::emu {
namespace {

constexpr int kMaxDeadlkIterations = 10;  // fs/locks.c MAX_DEADLK_ITERATIONS

bool overlap(const FileLock& a, const FileLock& b) { return a.start <= b.end && b.start <= a.end; }

// posix_locks_conflict / flock_locks_conflict: another owner, and one of the two writes.
bool conflicts(const FileLock& held, const FileLock& req) {
  if (held.same_owner(req)) return false;
  if (req.kind != LockKind::Flock && !overlap(held, req)) return false;
  return held.type == kF_WRLCK || req.type == kF_WRLCK;
}

bool dead(const FileLock& l) { return l.kind != LockKind::Posix && l.file_ref.expired(); }

// The owner's locks with [req.start, req.end] cut out of them (posix_lock_inode's split).
void carve(std::vector<FileLock>& out, const FileLock& l, const FileLock& req) {
  if (!overlap(l, req)) return out.push_back(l);
  if (l.start < req.start) {
    FileLock left = l;
    left.end = req.start - 1;
    out.push_back(left);
  }
  if (l.end > req.end) {
    FileLock right = l;
    right.start = req.end + 1;
    out.push_back(right);
  }
}

// Sorted by start (then owner), and each owner's touching ranges of one type merged, as
// posix_lock_inode leaves them.
void normalize(std::vector<FileLock>& v) {
  std::stable_sort(v.begin(), v.end(), [](const FileLock& a, const FileLock& b) {
    return a.start != b.start ? a.start < b.start : a.pid < b.pid;
  });
  for (size_t i = 0; i < v.size(); ++i) {
    for (size_t j = i + 1; j < v.size();) {
      const bool touches = v[i].end == kOffsetMax || v[j].start <= v[i].end + 1;
      if (v[j].same_owner(v[i]) && v[j].type == v[i].type && touches) {
        v[i].end = std::max(v[i].end, v[j].end);
        v.erase(v.begin() + static_cast<long>(j));
      } else {
        ++j;
      }
    }
  }
}

}  // namespace

std::optional<FileLock> FileLocks::test(const mmu::Inode* inode, const FileLock& req) {
  InodeLocks& l = at(inode);
  std::erase_if(l.records, dead);
  for (const FileLock& held : l.records)
    if (conflicts(held, req)) return held;
  return std::nullopt;
}

int FileLocks::set_record(const mmu::Inode* inode, const FileLock& req, FileLock* blocker) {
  InodeLocks& l = at(inode);
  std::erase_if(l.records, dead);
  if (req.type != kF_UNLCK) {
    for (const FileLock& held : l.records) {
      if (!conflicts(held, req)) continue;
      if (blocker) *blocker = held;
      return -EAGAIN;
    }
  }
  std::vector<FileLock> next;
  bool released = false;
  for (const FileLock& held : l.records) {
    if (!held.same_owner(req)) {
      next.push_back(held);
      continue;
    }
    released |= overlap(held, req);
    carve(next, held, req);
  }
  if (req.type != kF_UNLCK) next.push_back(req);
  normalize(next);
  l.records = std::move(next);
  if (released) wake(l);
  return 0;
}

int FileLocks::set_flock(const mmu::Inode* inode, const FileLock& req) {
  InodeLocks& l = at(inode);
  std::erase_if(l.flocks, dead);
  auto mine = std::find_if(l.flocks.begin(), l.flocks.end(),
                           [&](const FileLock& f) { return f.file == req.file; });
  if (mine != l.flocks.end()) {
    if (mine->type == req.type) return 0;
    l.flocks.erase(mine);  // a conversion is not atomic: the old lock goes first
    wake(l);
  }
  if (req.type == kF_UNLCK) return 0;
  for (const FileLock& held : l.flocks)
    if (conflicts(held, req)) return -EAGAIN;
  l.flocks.push_back(req);
  return 0;
}

bool FileLocks::waiting(const Waiter& w) const {
  return wq_.contains(w.object, w.task) && w.task->tid() == w.tid;
}

bool FileLocks::would_deadlock(const FileLock& req, const FileLock& blocker) {
  if (req.kind != LockKind::Posix) return false;
  std::erase_if(waiters_, [&](const Waiter& w) { return !waiting(w); });
  FileLock b = blocker;
  for (int i = 0; i <= kMaxDeadlkIterations; ++i) {
    if (b.kind != LockKind::Posix) return false;
    auto w = std::find_if(waiters_.begin(), waiters_.end(),
                          [&](const Waiter& x) { return x.req.pid == b.pid; });
    if (w == waiters_.end()) return false;
    b = w->blocker;
    if (b.kind == LockKind::Posix && b.pid == req.pid) return true;
  }
  return false;
}

void FileLocks::block(const mmu::Inode* inode, const FileLock& req, const FileLock& blocker,
                      Task& t) {
  const void* object = at(inode).wait_object();
  std::erase_if(waiters_, [&](const Waiter& w) { return w.task == &t; });
  wq_.add(object, t);
  sched_.block(t, WaitInfo{WaitInfo::Kind::Queue, 0, 0});
  if (req.kind == LockKind::Posix) waiters_.push_back(Waiter{req, blocker, &t, t.tid(), object});
}

void FileLocks::wake(InodeLocks& l) { wq_.wake_all(l.wait_object(), sched_); }

void FileLocks::on_fd_close(int pid, std::shared_ptr<File> file) {
  auto it = by_inode_.find(file->inode());
  if (it == by_inode_.end()) return;
  InodeLocks& l = it->second;
  const File* raw = file.get();
  const bool last = file.use_count() == 1;  // fput: locks_remove_file
  file.reset();
  const size_t before = l.records.size() + l.flocks.size();
  std::erase_if(l.records, [&](const FileLock& x) {
    return (x.kind == LockKind::Posix && x.pid == pid) || (last && x.file == raw) || dead(x);
  });
  std::erase_if(l.flocks, [&](const FileLock& x) { return (last && x.file == raw) || dead(x); });
  if (l.records.size() + l.flocks.size() != before) wake(l);
}

}  // namespace probesim::emu
