// Lifecycle observers, request_stop and current_task through the public API.
#include "api.h"

using namespace probesim;
using namespace probesim::api_test;

namespace {

struct Recorder final : LifecycleObserver {
  std::vector<std::pair<int, int>> forks;
  std::vector<int> execs, exits;
  Machine* m = nullptr;
  void on_fork(int ppid, int pid) override { forks.emplace_back(ppid, pid); }
  void on_exec(int pid) override { execs.push_back(pid); }
  void on_exit(int pid) override {
    exits.push_back(pid);
    CHECK(m->exit_of(pid).has_value());  // the status is set when the observer hears of it
  }
  void on_signal(int, int, int) override {}
};

}  // namespace

TEST_CASE("lifecycle observer: forks and exits by pid, none once removed") {
  for (Arch a : kArches) {
    auto m = boot(a);
    Recorder r;
    r.m = m.get();
    m->set_lifecycle_observer(&r);
    std::string prog = guest(a, "uprobed");
    int pid = must(m->spawn({prog, "fork"}, {}));
    REQUIRE(m->run());
    REQUIRE(r.forks.size() == 2);  // the parent forks two children
    for (auto [ppid, child] : r.forks) CHECK(ppid == pid);
    CHECK(r.exits.size() == 3);
    CHECK(r.exits.back() == pid);
    m->set_lifecycle_observer(nullptr);
    must(m->spawn({prog, "fork"}, {}));
    REQUIRE(m->run());
    CHECK(r.exits.size() == 3);
  }
}

TEST_CASE("request_stop from a handler ends run() early, current_task names the hitting task") {
  for (Arch a : kArches) {
    auto m = boot(a);
    std::string prog = guest(a, "uprobed");
    Machine* mp = m.get();
    int hits = 0;
    bool same = true;
    auto up = must(m->register_uprobe({.target = prog + ":leaf", .handler = [&](ProbeHit& h) {
                                         auto t = mp->current_task();
                                         same = same && t && t->pid == h.pid && t->tid == h.tid;
                                         if (++hits == 1) mp->request_stop();
                                         return 0;
                                       }}));
    CHECK(!m->current_task().has_value());
    int pid = must(m->spawn({prog, "work"}, {}));
    CHECK(!m->run());  // stopped by the handler
    CHECK(hits == 1);
    CHECK(!m->exit_of(pid).has_value());
    CHECK(m->run());
    CHECK(m->exit_of(pid)->shell_status == 0);
    CHECK(hits > 1);
    CHECK(same);
  }
}
