#include "emu/sched/strategy.h"

#include <algorithm>
#include <charconv>
#include <optional>

#include "emu/task.h"
#include "probesim/assert.h"

namespace probesim::emu {
namespace {

constexpr uint64_t kStreamSched = 0x5c4ed;  // the random policy's stream (unchanged since wave 1)
constexpr uint64_t kStreamPct = 0x9c7;
constexpr const char* kForms =
    "rr, random, pct:D[:STEPS] (D >= 1), bounded:K[:STEPS[:TASKS]] (K <= 8) or replay:FILE";

class RoundRobin final : public SchedStrategy {
 public:
  Pick pick(std::span<Task* const>, const PickContext& ctx) override { return {0, ctx.quantum}; }
};

class RandomStrategy final : public SchedStrategy {
 public:
  explicit RandomStrategy(DeterministicRng rng) : rng_(rng) {}
  Pick pick(std::span<Task* const> runnable, const PickContext& ctx) override {
    size_t i = rng_.next_u64() % runnable.size();
    return {i, 1 + rng_.next_u64() % ctx.quantum};
  }

 private:
  DeterministicRng rng_;
};

class Pct final : public SchedStrategy {
 public:
  Pct(uint32_t depth, uint64_t steps, DeterministicRng rng) : rng_(rng) {
    for (uint32_t i = 1; i < depth; ++i) change_points_.push_back(1 + rng_.next_u64() % steps);
    std::sort(change_points_.begin(), change_points_.end());
  }

  Pick pick(std::span<Task* const> runnable, const PickContext& ctx) override {
    // Change points passed during the last quantum lower the task that was running then.
    while (next_ < change_points_.size() && ctx.steps >= change_points_[next_]) {
      if (last_tid_ >= 0) prio_[last_tid_] = next_ + 1;
      ++next_;
    }
    size_t best = 0;
    for (size_t i = 1; i < runnable.size(); ++i)
      if (priority(*runnable[i]) > priority(*runnable[best])) best = i;
    last_tid_ = runnable[best]->tid();
    uint64_t budget = ctx.quantum;
    if (next_ < change_points_.size())
      budget = std::min(budget, change_points_[next_] - ctx.steps);
    return {best, std::max<uint64_t>(budget, 1)};
  }

  bool preempt_for(const Task& running, const Task& woken) override {
    return priority(woken) > priority(running);
  }

 private:
  // Initial priorities are distinct random values above every lowered one (1..D-1), drawn
  // when a task is first seen (a deterministic order); ties cannot happen (tid breaks them).
  uint64_t priority(const Task& t) {
    auto [it, fresh] = prio_.try_emplace(t.tid(), 0);
    if (fresh) it->second = (uint64_t{1} << 32) + (rng_.next_u64() >> 1) * 2 + (t.tid() & 1);
    return it->second;
  }

  DeterministicRng rng_;
  std::vector<uint64_t> change_points_;  // ascending, in global steps
  size_t next_ = 0;
  std::map<int, uint64_t> prio_;  // by tid
  int last_tid_ = -1;
};

class Guided final : public SchedStrategy {
 public:
  explicit Guided(std::vector<GuidedPreemption> p) : points_(std::move(p)) {}

  Pick pick(std::span<Task* const> runnable, const PickContext& ctx) override {
    auto find = [&](int tid) -> std::optional<size_t> {
      for (size_t i = 0; i < runnable.size(); ++i)
        if (runnable[i]->tid() == tid) return i;
      return std::nullopt;
    };
    std::optional<size_t> chosen;
    if (const GuidedPreemption* p = due(runnable)) {
      // The preemption fired: its task runs, or when it cannot, the first other runnable one.
      chosen = find(p->next_tid);
      for (size_t i = 0; i < runnable.size() && !chosen; ++i)
        if (runnable[i]->tid() != p->tid) chosen = i;
      fired_.push_back(p);
    }
    if (!chosen) chosen = find(last_tid_);  // otherwise the last task keeps the CPU
    size_t i = chosen.value_or(0);
    Task& t = *runnable[i];
    last_tid_ = t.tid();
    uint64_t budget = ctx.quantum;
    for (const GuidedPreemption& p : points_)
      if (p.tid == t.tid() && p.insns > t.user_insns.value && !was_fired(&p))
        budget = std::min(budget, p.insns - t.user_insns.value);
    return {i, budget};
  }

 private:
  // The preemption point the last task has just reached, if any.
  const GuidedPreemption* due(std::span<Task* const> runnable) const {
    for (Task* t : runnable)
      if (t->tid() == last_tid_)
        for (const GuidedPreemption& p : points_)
          if (p.tid == t->tid() && p.insns <= t->user_insns.value && !was_fired(&p)) return &p;
    return nullptr;
  }
  bool was_fired(const GuidedPreemption* p) const {
    return std::find(fired_.begin(), fired_.end(), p) != fired_.end();
  }

  std::vector<GuidedPreemption> points_;
  std::vector<const GuidedPreemption*> fired_;
  int last_tid_ = -1;
};

// ---- bounded:K: CHESS's preemption-bounded search, one schedule per run index.

uint64_t sat_mul(uint64_t a, uint64_t b) {
  unsigned __int128 p = static_cast<unsigned __int128>(a) * b;
  return p > UINT64_MAX ? UINT64_MAX : static_cast<uint64_t>(p);
}
uint64_t sat_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

uint64_t choose(uint64_t n, uint64_t k) {  // C(n, k), saturated
  if (k > n) return 0;
  unsigned __int128 c = 1;
  for (uint64_t i = 1; i <= k; ++i) {
    c = c * (n - k + i) / i;  // exact: c * (n-k+i) is divisible by i at each step
    if (c > UINT64_MAX) return UINT64_MAX;
  }
  return static_cast<uint64_t>(c);
}

// Schedules in the subtree of a node with `points` preemption points after it and `left`
// preemptions still allowed: itself plus sum over m=1..left of C(points, m) * fanout^m.
uint64_t subtree(uint64_t points, uint32_t left, uint64_t fanout) {
  uint64_t total = 0, power = 1;
  for (uint32_t m = 0; m <= left; ++m, power = sat_mul(power, fanout))
    total = sat_add(total, sat_mul(choose(points, m), power));
  return total;
}

uint64_t point_step(const StrategySpec& s, uint32_t point) {
  return std::max<uint64_t>(1, static_cast<uint64_t>(static_cast<unsigned __int128>(s.steps) *
                                                     (point + 1) / (kBoundedPoints + 1)));
}

class Bounded final : public SchedStrategy {
 public:
  explicit Bounded(std::vector<BoundedPreemption> p) : points_(std::move(p)) {}

  Pick pick(std::span<Task* const> runnable, const PickContext& ctx) override {
    std::optional<size_t> chosen;
    while (next_ < points_.size() && ctx.steps >= points_[next_].step) {
      uint32_t other = points_[next_++].other;
      if (!chosen) chosen = preempt_to(runnable, other);
    }
    if (!chosen) chosen = find(runnable, last_tid_);  // non-preemptive: the last task goes on
    size_t i = chosen.value_or(0);
    last_tid_ = runnable[i]->tid();
    uint64_t budget = ctx.quantum;
    if (next_ < points_.size()) budget = std::min(budget, points_[next_].step - ctx.steps);
    return {i, std::max<uint64_t>(budget, 1)};
  }

 private:
  static std::optional<size_t> find(std::span<Task* const> runnable, int tid) {
    for (size_t i = 0; i < runnable.size(); ++i)
      if (runnable[i]->tid() == tid) return i;
    return std::nullopt;
  }
  // The `other`-th runnable task other than the last one, by tid; none when the last task is
  // not runnable (it blocked or exited: nothing to preempt) or fewer others are runnable.
  std::optional<size_t> preempt_to(std::span<Task* const> runnable, uint32_t other) const {
    if (!find(runnable, last_tid_)) return std::nullopt;
    std::vector<size_t> others;
    for (size_t i = 0; i < runnable.size(); ++i)
      if (runnable[i]->tid() != last_tid_) others.push_back(i);
    std::sort(others.begin(), others.end(),
              [&](size_t a, size_t b) { return runnable[a]->tid() < runnable[b]->tid(); });
    if (other >= others.size()) return std::nullopt;
    return others[other];
  }

  std::vector<BoundedPreemption> points_;
  size_t next_ = 0;
  int last_tid_ = -1;
};

Result<uint64_t> parse_number(std::string_view s, std::string_view what) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size())
    return Error::make("bad " + std::string(what) + " '" + std::string(s) + "' in strategy");
  return v;
}

// "bounded:K[:STEPS[:TASKS]]" after "bounded:".
Result<StrategySpec> parse_bounded(std::string_view rest) {
  StrategySpec s;
  s.kind = StrategySpec::Kind::Bounded;
  std::vector<std::string_view> parts;
  for (size_t at = 0;;) {
    size_t colon = rest.find(':', at);
    parts.push_back(rest.substr(at, colon == std::string_view::npos ? colon : colon - at));
    if (colon == std::string_view::npos) break;
    at = colon + 1;
  }
  if (parts.size() > 3) return Error::make("bounded takes K[:STEPS[:TASKS]], got 'bounded:" + std::string(rest) + "'");
  uint64_t k = PROBESIM_TRY(parse_number(parts[0], "preemption bound"));
  if (k > kBoundedMaxK)
    return Error::make("bounded preemption bound must be 0.." + std::to_string(kBoundedMaxK) + ", got " + std::string(parts[0]));
  s.depth = static_cast<uint32_t>(k);
  s.steps = parts.size() > 1 ? PROBESIM_TRY(parse_number(parts[1], "bounded step count")) : kPctDefaultSteps;
  if (s.steps == 0) return Error::make("bounded step count must be at least 1");
  uint64_t tasks = parts.size() > 2 ? PROBESIM_TRY(parse_number(parts[2], "bounded task count")) : 2;
  if (tasks < 2 || tasks > 64) return Error::make("bounded task count must be 2..64, got " + std::string(parts[2]));
  s.tasks = static_cast<uint32_t>(tasks);
  return s;
}

}  // namespace

std::optional<uint64_t> strategy_runs(const StrategySpec& spec) {
  if (spec.kind == StrategySpec::Kind::Bounded)
    return subtree(kBoundedPoints, spec.depth, spec.tasks - 1);
  return std::nullopt;
}

// Preorder unranking: skip whole subtrees (every child at one point has the same size) until
// `run` falls inside one, descend, repeat.
std::vector<BoundedPreemption> bounded_schedule(const StrategySpec& spec, uint64_t run) {
  const uint64_t fanout = spec.tasks - 1;
  std::vector<BoundedPreemption> out;
  uint32_t first = 0, left = spec.depth;
  while (run > 0) {
    --run;  // past the node itself
    bool descended = false;
    for (uint32_t p = first; p < kBoundedPoints && left > 0 && !descended; ++p) {
      uint64_t size = subtree(kBoundedPoints - p - 1, left - 1, fanout);
      uint64_t block = sat_mul(size, fanout);
      if (run >= block) {
        run -= block;
        continue;
      }
      out.push_back({point_step(spec, p), static_cast<uint32_t>(run / size)});
      run %= size;
      first = p + 1, --left, descended = true;
    }
    PROBESIM_ASSERT_MSG(descended, "bounded run index beyond the enumeration");
  }
  return out;
}

std::string StrategySpec::text() const {
  switch (kind) {
    case Kind::RoundRobin: return "rr";
    case Kind::Random: return "random";
    case Kind::Pct: return "pct:" + std::to_string(depth) + ":" + std::to_string(steps);
    case Kind::Replay: return "replay:" + file;
    case Kind::Guided: return "guided:" + std::to_string(preemptions.size());
    case Kind::Bounded:
      return "bounded:" + std::to_string(depth) + ":" + std::to_string(steps) + ":" + std::to_string(tasks);
  }
  return "?";
}

Result<StrategySpec> parse_strategy(std::string_view text) {
  StrategySpec s;
  std::string_view head = text.substr(0, text.find(':'));
  std::string_view rest = head.size() < text.size() ? text.substr(head.size() + 1) : "";
  bool has_arg = head.size() < text.size();
  if ((head == "rr" || head == "round_robin") && !has_arg) return s;
  if (head == "random" && !has_arg) {
    s.kind = StrategySpec::Kind::Random;
    return s;
  }
  if (head == "replay" && !rest.empty()) {
    s.kind = StrategySpec::Kind::Replay;
    s.file = std::string(rest);
    return s;
  }
  if (head == "bounded" && has_arg) return parse_bounded(rest);
  if (head == "pct" && has_arg) {
    s.kind = StrategySpec::Kind::Pct;
    std::string_view d = rest.substr(0, rest.find(':'));
    uint64_t depth = PROBESIM_TRY(parse_number(d, "pct depth"));
    if (depth < 1 || depth > 64) return Error::make("pct depth must be 1..64, got " + std::string(d));
    s.depth = static_cast<uint32_t>(depth);
    s.steps = kPctDefaultSteps;
    if (d.size() < rest.size()) {
      s.steps = PROBESIM_TRY(parse_number(rest.substr(d.size() + 1), "pct step count"));
      if (s.steps == 0) return Error::make("pct step count must be at least 1");
    }
    return s;
  }
  return Error::make("unknown scheduling strategy '" + std::string(text) + "': use " + kForms);
}

std::unique_ptr<SchedStrategy> make_strategy(const StrategySpec& spec, uint64_t seed,
                                             uint64_t run) {
  DeterministicRng base(seed);
  switch (spec.kind) {
    case StrategySpec::Kind::Random: {
      DeterministicRng rng = base.fork(kStreamSched);
      return std::make_unique<RandomStrategy>(run ? rng.fork(run) : rng);
    }
    case StrategySpec::Kind::Pct:
      return std::make_unique<Pct>(spec.depth, spec.steps, base.fork(kStreamPct).fork(run));
    case StrategySpec::Kind::Guided:
      return std::make_unique<Guided>(spec.preemptions);
    case StrategySpec::Kind::Bounded:
      return std::make_unique<Bounded>(bounded_schedule(spec, run));
    case StrategySpec::Kind::RoundRobin:
    case StrategySpec::Kind::Replay:  // the Scheduler follows the trace; rr is never asked
      break;
  }
  return std::make_unique<RoundRobin>();
}

}  // namespace probesim::emu
