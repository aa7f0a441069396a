// Lockdep: the lock checker of the modelled kernel locks (Linux kernel/locking/lockdep.c in
// spirit). A lock's class is the Linux name its RwSemaphore name starts with ("mmap_lock of pid
// 100" is of class mmap_lock): every instance of a class is one node of the dependency graph,
// as lockdep keys classes by the lock's static key. Per task, the stack of locks held. Each
// "held A, then took B" edge between classes is recorded the first time it is seen, with the
// acquisition chain then (task, what it was doing, the locks it held). Two reports, each made
// once and passed to the sink (the machine's invariant violations, never a host abort):
//   - "possible circular locking dependency detected": a new edge A -> B where B already
//     reaches A; it names the new chain and the recorded chain of every edge on the path;
//   - "sleeping function called from invalid context": a sleeping lock (rw_semaphore, mutex,
//     percpu_rw_semaphore) taken by a task in atomic context: holding a spinning lock (rwlock_t
//     uprobes_treelock, as in v6.14) or between preempt_disable and preempt_enable.
// Edges between instances of one class (dup_mmap's nested mmap_lock) are not checked: lockdep
// needs subclass annotations for those.
//
// Who may touch what: KernelLocks, on the emulation thread. Deterministic: ordered containers.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace probesim::emu {

class RwSemaphore;
class Task;

class Lockdep {
 public:
  enum class Mode { Read, Write };
  using Sink = std::function<void(std::string report)>;

  void set_sink(Sink sink) { sink_ = std::move(sink); }
  // What task t is doing now, named in reports ("build_map_info of uprobe_register(/x:f)",
  // "fork()"); kept until the next call for t.
  void set_context(const Task& t, std::string what);
  // Before each attempt of t to take sem (a retry after blocking checks again; each report is
  // made once): the atomic-context check and the edges from every lock t holds.
  void check(const Task& t, const RwSemaphore& sem, Mode mode);
  // t took / released sem (the held stack).
  void acquired(const Task& t, const RwSemaphore& sem, Mode mode);
  void released(const Task& t, const RwSemaphore& sem);
  // Linux's preempt_disable / preempt_enable for t (nesting counts).
  void preempt_disable(const Task& t);
  void preempt_enable(const Task& t);

  // "mmap_lock of pid 100" -> "mmap_lock".
  static std::string_view lock_class(std::string_view lock_name);
  // A class whose locks spin (taking one enters atomic context); unknown classes sleep.
  static bool spins(std::string_view cls);
  // The recorded dependencies, "A -> B: <chain>", in class order.
  std::vector<std::string> dependencies() const;
  size_t reports() const { return reported_.size(); }

 private:
  struct Held {
    const RwSemaphore* sem;
    Mode mode;
  };
  struct TaskLocks {
    std::string who;      // "task 2 kworker/0:1"
    std::string context;  // set_context
    std::vector<Held> held;
    int preempt_count = 0;
  };
  TaskLocks& of(const Task& t);
  std::string chain(const TaskLocks& tl, const RwSemaphore& sem, Mode mode) const;
  void check_atomic(const TaskLocks& tl, const RwSemaphore& sem, Mode mode);
  void add_edge(const TaskLocks& tl, std::string_view from, const RwSemaphore& sem, Mode mode);
  // The class path from -> .. -> to over recorded edges (empty: none), shortest, first in
  // class order.
  std::vector<std::string> path(const std::string& from, const std::string& to) const;
  void report(std::string key, std::string text);

  Sink sink_;
  std::map<int, TaskLocks> tasks_;
  std::map<std::string, std::map<std::string, std::string>> edges_;  // A -> B -> chain
  std::set<std::string> reported_;                                   // report keys
};

}  // namespace probesim::emu
