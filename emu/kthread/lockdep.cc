#include "emu/kthread/lockdep.h"

#include <algorithm>
#include <deque>

#include "emu/kthread/rwsem.h"
#include "emu/process.h"
#include "emu/task.h"

namespace probesim::emu {
namespace {

// The modelled lock classes and their Linux types (v6.14). A class not listed sleeps.
struct LockClassInfo {
  std::string_view name;
  bool spins;
  std::string_view type;
};
constexpr LockClassInfo kLockClasses[] = {
    {"mmap_lock", false, "rw_semaphore"},
    {"i_mmap_rwsem", false, "rw_semaphore"},
    {"register_rwsem", false, "rw_semaphore"},
    {"dup_mmap_sem", false, "percpu_rw_semaphore"},
    {"text_mutex", false, "mutex"},
    {"kprobe_mutex", false, "mutex"},
    {"uprobes_treelock", true, "rwlock_t"},  // kernel/events/uprobes.c DEFINE_RWLOCK
};

const LockClassInfo* class_info(std::string_view cls) {
  for (const LockClassInfo& c : kLockClasses)
    if (c.name == cls) return &c;
  return nullptr;
}

const char* mode_name(Lockdep::Mode m) { return m == Lockdep::Mode::Read ? "read" : "write"; }

}  // namespace

std::string_view Lockdep::lock_class(std::string_view lock_name) {
  const size_t of = lock_name.find(" of ");
  return of == std::string_view::npos ? lock_name : lock_name.substr(0, of);
}

bool Lockdep::spins(std::string_view cls) {
  const LockClassInfo* c = class_info(cls);
  return c && c->spins;
}

Lockdep::TaskLocks& Lockdep::of(const Task& t) {
  TaskLocks& tl = tasks_[t.tid()];
  if (tl.who.empty())
    tl.who = "task " + std::to_string(t.tid()) + (t.proc().comm.empty() ? "" : " ") +
             t.proc().comm;
  return tl;
}

void Lockdep::set_context(const Task& t, std::string what) { of(t).context = std::move(what); }

// "task 2 kworker/0:1 (build_map_info of ..) took i_mmap_rwsem of /x (read) while holding
// register_rwsem of uprobe /x:f, dup_mmap_sem".
std::string Lockdep::chain(const TaskLocks& tl, const RwSemaphore& sem, Mode mode) const {
  std::string s = tl.who;
  if (!tl.context.empty()) s += " (" + tl.context + ")";
  s += " took " + sem.name() + " (" + mode_name(mode) + ")";
  if (tl.held.empty()) return s;
  s += " while holding ";
  for (size_t i = 0; i < tl.held.size(); ++i)
    s += (i ? ", " : "") + tl.held[i].sem->name();
  return s;
}

void Lockdep::check(const Task& t, const RwSemaphore& sem, Mode mode) {
  TaskLocks& tl = of(t);
  check_atomic(tl, sem, mode);
  const std::string_view cls = lock_class(sem.name());
  for (const Held& h : tl.held)
    if (lock_class(h.sem->name()) != cls) add_edge(tl, lock_class(h.sem->name()), sem, mode);
}

// might_sleep() in down_read/down_write/mutex_lock: a sleeping lock in atomic context.
void Lockdep::check_atomic(const TaskLocks& tl, const RwSemaphore& sem, Mode mode) {
  const std::string_view cls = lock_class(sem.name());
  if (spins(cls)) return;
  std::string why;
  for (const Held& h : tl.held)
    if (spins(lock_class(h.sem->name())))
      why = h.sem->name() + " (" + std::string(class_info(lock_class(h.sem->name()))->type) +
            ") is held";
  if (why.empty() && tl.preempt_count > 0)
    why = "preemption is disabled (preempt_count " + std::to_string(tl.preempt_count) + ")";
  if (why.empty()) return;
  const LockClassInfo* c = class_info(cls);
  report("atomic " + std::string(cls) + " " + why,
         "BUG: sleeping function called from invalid context: " + chain(tl, sem, mode) +
             ": a sleeping lock (" + std::string(c ? c->type : "sleeping lock") +
             ") in atomic context, " + why);
}

void Lockdep::add_edge(const TaskLocks& tl, std::string_view from, const RwSemaphore& sem,
                       Mode mode) {
  const std::string a(from), b(lock_class(sem.name()));
  auto& out = edges_[a];
  if (out.count(b)) return;
  const std::string new_chain = chain(tl, sem, mode);
  std::vector<std::string> back = path(b, a);  // b -> .. -> a: the new edge closes a cycle
  out.emplace(b, new_chain);
  if (back.empty()) return;
  std::string s = "WARNING: possible circular locking dependency detected: " + tl.who +
                  " is trying to acquire " + b + " while holding " + a + ", which already " +
                  "depends on " + b + ". The existing dependency chain (in reverse order):";
  for (size_t i = back.size() - 1; i > 0; --i)
    s += " -> #" + std::to_string(i - 1) + " " + back[i - 1] + " -> " + back[i] + ": " +
         edges_.at(back[i - 1]).at(back[i]) + ";";
  s += " and now: " + a + " -> " + b + ": " + new_chain + ". Possible unsafe locking " +
       "scenario: CPU0 lock(" + a + "); CPU1 lock(" + b + "); CPU1 lock(" + a + "); CPU0 lock(" +
       b + "); *** DEADLOCK ***";
  report("cycle " + a + " -> " + b, std::move(s));
}

std::vector<std::string> Lockdep::path(const std::string& from, const std::string& to) const {
  std::map<std::string, std::string> parent{{from, ""}};
  std::deque<std::string> queue{from};
  while (!queue.empty()) {
    const std::string at = queue.front();
    queue.pop_front();
    if (at == to) {
      std::vector<std::string> p{to};
      for (std::string c = to; c != from; c = parent.at(c)) p.push_back(parent.at(c));
      std::reverse(p.begin(), p.end());
      return p;
    }
    auto it = edges_.find(at);
    if (it == edges_.end()) continue;
    for (const auto& [next, chain] : it->second)
      if (parent.emplace(next, at).second) queue.push_back(next);
  }
  return {};
}

void Lockdep::acquired(const Task& t, const RwSemaphore& sem, Mode mode) {
  of(t).held.push_back({&sem, mode});
}

void Lockdep::released(const Task& t, const RwSemaphore& sem) {
  std::vector<Held>& held = of(t).held;
  for (auto it = held.rbegin(); it != held.rend(); ++it)
    if (it->sem == &sem) {
      held.erase(std::next(it).base());
      return;
    }
}

void Lockdep::preempt_disable(const Task& t) { ++of(t).preempt_count; }

void Lockdep::preempt_enable(const Task& t) {
  TaskLocks& tl = of(t);
  if (tl.preempt_count > 0) --tl.preempt_count;
}

std::vector<std::string> Lockdep::dependencies() const {
  std::vector<std::string> out;
  for (const auto& [a, next] : edges_)
    for (const auto& [b, chain] : next) out.push_back(a + " -> " + b + ": " + chain);
  return out;
}

void Lockdep::report(std::string key, std::string text) {
  if (!reported_.insert(std::move(key)).second) return;
  if (sink_) sink_(std::move(text));
}

}  // namespace probesim::emu
