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
    "rr, random, pct:D[:STEPS[:POINTS]] (D >= 1), bounded:K[:STEPS[:TASKS[:POINTS]]] (K <= 8) or replay:FILE";

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
  // Each of the D-1 change points lies in the step space [1, steps], or, when `points` > 0,
  // with probability 1/2 in the space of scheduling points [1, points] (in front of the n-th
  // atomic or syscall retired by any task). Priorities: the step ones in ascending order get
  // 1, 2, ..., then the point ones.
  Pct(uint32_t depth, uint64_t steps, uint64_t points, DeterministicRng rng) : rng_(rng) {
    for (uint32_t i = 1; i < depth; ++i) {
      if (points > 0 && rng_.next_u64() % 2) {
        at_points_.push_back({1 + rng_.next_u64() % points, 0});
      } else {
        at_steps_.push_back({1 + rng_.next_u64() % steps, 0});
      }
    }
    std::sort(at_steps_.begin(), at_steps_.end());
    std::sort(at_points_.begin(), at_points_.end());
    uint64_t prio = 0;
    for (auto* v : {&at_steps_, &at_points_})
      for (Change& c : *v) c.prio = ++prio;
  }

  Pick pick(std::span<Task* const> runnable, const PickContext& ctx) override {
    // Change points passed during the last quantum lower the task that was running then; a
    // point one also when that quantum ended right in front of its atomic or syscall.
    auto lower = [&](const Change& c) {
      if (last_tid_ >= 0) prio_[last_tid_] = c.prio;
    };
    for (; next_step_ < at_steps_.size() && ctx.steps >= at_steps_[next_step_].at; ++next_step_)
      lower(at_steps_[next_step_]);
    for (; next_point_ < at_points_.size(); ++next_point_) {
      uint64_t at = at_points_[next_point_].at;
      if (ctx.points < at && !(ctx.at_point && ctx.points + 1 == at)) break;
      lower(at_points_[next_point_]);
    }
    size_t best = 0;
    for (size_t i = 1; i < runnable.size(); ++i)
      if (priority(*runnable[i]) > priority(*runnable[best])) best = i;
    last_tid_ = runnable[best]->tid();
    uint64_t budget = ctx.quantum;
    if (next_step_ < at_steps_.size())
      budget = std::min(budget, at_steps_[next_step_].at - ctx.steps);
    uint64_t sync = next_point_ < at_points_.size() ? at_points_[next_point_].at - ctx.points : 0;
    return {best, std::max<uint64_t>(budget, 1), sync};
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

  struct Change {
    uint64_t at;
    uint64_t prio;
    bool operator<(const Change& o) const { return at < o.at; }
  };
  DeterministicRng rng_;
  std::vector<Change> at_steps_;   // ascending, in global steps
  std::vector<Change> at_points_;  // ascending, in global scheduling points
  size_t next_step_ = 0, next_point_ = 0;
  std::map<int, uint64_t> prio_;  // by tid
  int last_tid_ = -1;
};

class Guided final : public SchedStrategy {
 public:
  Guided(std::vector<GuidedPreemption> p, std::vector<GuidedPreemption> c)
      : points_(std::move(p)), choices_(std::move(c)), chose_(choices_.size(), false) {}

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
    } else if (const GuidedPreemption* c = choice(ctx)) {
      chosen = find(c->next_tid);  // the last task ended its quantum here by itself
    }
    if (!chosen) chosen = find(last_tid_);  // otherwise the last task keeps the CPU
    if (!chosen) chosen = free_choice(runnable);
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
  // The first choice not repeated yet for where the last quantum ended by itself (its task,
  // its count); it counts as repeated even when its next task cannot run (the run went
  // elsewhere). A quantum that ended by its budget matches none: the kworker's budget ends
  // fall on its step boundaries, where it also blocks.
  const GuidedPreemption* choice(const PickContext& ctx) {
    if (ctx.prev_preempted) return nullptr;
    for (size_t i = 0; i < choices_.size(); ++i) {
      const GuidedPreemption& c = choices_[i];
      if (chose_[i] || c.tid != ctx.prev_tid || c.insns != ctx.prev_insns) continue;
      chose_[i] = true;
      return &c;
    }
    return nullptr;
  }
  // When the last task cannot go on (it blocked, exited, or runs on another CPU), the choice
  // is free; for the listed preemptions to play out as recorded: first a task with a
  // preemption still to come whose successor can run (it must run before that one ends),
  // then a task no fired preemption took the CPU from (a preempted task stays off the CPU
  // while others can run, as under the priorities that found the schedule), then the first.
  std::optional<size_t> free_choice(std::span<Task* const> runnable) const {
    auto runnable_tid = [&](int tid) {
      return std::any_of(runnable.begin(), runnable.end(), [&](Task* t) { return t->tid() == tid; });
    };
    for (const GuidedPreemption& p : points_)
      if (!was_fired(&p) && runnable_tid(p.next_tid))
        for (size_t i = 0; i < runnable.size(); ++i)
          if (runnable[i]->tid() == p.tid) return i;
    for (size_t i = 0; i < runnable.size(); ++i)
      if (std::none_of(fired_.begin(), fired_.end(),
                       [&](const GuidedPreemption* p) { return p->tid == runnable[i]->tid(); }))
        return i;
    return std::nullopt;
  }
  bool was_fired(const GuidedPreemption* p) const {
    return std::find(fired_.begin(), fired_.end(), p) != fired_.end();
  }

  std::vector<GuidedPreemption> points_;
  std::vector<GuidedPreemption> choices_;
  std::vector<bool> chose_;  // choices_ repeated (or passed)
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

// The candidate points of a spec, in enumeration order (strategy.h).
std::vector<BoundedPreemption> bounded_candidates(const StrategySpec& s) {
  std::vector<BoundedPreemption> out;
  const uint64_t sync = std::min(s.points, kBoundedMaxSyncPoints);
  const uint64_t stride = sync ? (s.points + sync - 1) / sync : 1;
  uint32_t p = 0;
  for (uint64_t n = stride; n <= s.points || p < kBoundedPoints;) {
    // Step p sits at (p+1)/(kBoundedPoints+1) of the run, point n at n/(points+1).
    bool step_first = n > s.points ||
        (p < kBoundedPoints && static_cast<unsigned __int128>(p + 1) * (s.points + 1) <=
                                   static_cast<unsigned __int128>(n) * (kBoundedPoints + 1));
    if (step_first) {
      out.push_back({point_step(s, p++), 0, 0});
    } else {
      out.push_back({0, 0, n});
      n += stride;
    }
  }
  return out;
}

class Bounded final : public SchedStrategy {
 public:
  explicit Bounded(const std::vector<BoundedPreemption>& p) {
    for (const BoundedPreemption& b : p) (b.point ? at_points_ : at_steps_).push_back(b);
    auto by = [](auto key) { return [key](const auto& a, const auto& b) { return a.*key < b.*key; }; };
    std::stable_sort(at_steps_.begin(), at_steps_.end(), by(&BoundedPreemption::step));
    std::stable_sort(at_points_.begin(), at_points_.end(), by(&BoundedPreemption::point));
  }

  // Due: a step one once the run passed its step; a point one once its atomic/syscall retired,
  // or when the last quantum ended right in front of it.
  Pick pick(std::span<Task* const> runnable, const PickContext& ctx) override {
    std::optional<size_t> chosen;
    for (; next_step_ < at_steps_.size() && ctx.steps >= at_steps_[next_step_].step; ++next_step_)
      if (!chosen) chosen = preempt_to(runnable, at_steps_[next_step_].other);
    for (; next_point_ < at_points_.size(); ++next_point_) {
      uint64_t at = at_points_[next_point_].point;
      if (ctx.points < at && !(ctx.at_point && ctx.points + 1 == at)) break;
      if (!chosen) chosen = preempt_to(runnable, at_points_[next_point_].other);
    }
    if (!chosen) chosen = find(runnable, last_tid_);  // non-preemptive: the last task goes on
    size_t i = chosen.value_or(0);
    last_tid_ = runnable[i]->tid();
    uint64_t budget = ctx.quantum;
    if (next_step_ < at_steps_.size())
      budget = std::min(budget, at_steps_[next_step_].step - ctx.steps);
    uint64_t sync = next_point_ < at_points_.size() ? at_points_[next_point_].point - ctx.points : 0;
    return {i, std::max<uint64_t>(budget, 1), sync};
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

  std::vector<BoundedPreemption> at_steps_, at_points_;
  size_t next_step_ = 0, next_point_ = 0;
  int last_tid_ = -1;
};

Result<uint64_t> parse_number(std::string_view s, std::string_view what) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size())
    return Error::make("bad " + std::string(what) + " '" + std::string(s) + "' in strategy");
  return v;
}

// "bounded:K[:STEPS[:TASKS[:POINTS]]]" after "bounded:".
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
  if (parts.size() > 4)
    return Error::make("bounded takes K[:STEPS[:TASKS[:POINTS]]], got 'bounded:" + std::string(rest) + "'");
  uint64_t k = PROBESIM_TRY(parse_number(parts[0], "preemption bound"));
  if (k > kBoundedMaxK)
    return Error::make("bounded preemption bound must be 0.." + std::to_string(kBoundedMaxK) + ", got " + std::string(parts[0]));
  s.depth = static_cast<uint32_t>(k);
  s.steps = parts.size() > 1 ? PROBESIM_TRY(parse_number(parts[1], "bounded step count")) : kPctDefaultSteps;
  if (s.steps == 0) return Error::make("bounded step count must be at least 1");
  uint64_t tasks = parts.size() > 2 ? PROBESIM_TRY(parse_number(parts[2], "bounded task count")) : 2;
  if (tasks < 2 || tasks > 64) return Error::make("bounded task count must be 2..64, got " + std::string(parts[2]));
  s.tasks = static_cast<uint32_t>(tasks);
  if (parts.size() > 3) s.points = PROBESIM_TRY(parse_number(parts[3], "bounded point count"));
  return s;
}

}  // namespace

std::optional<uint64_t> strategy_runs(const StrategySpec& spec) {
  if (spec.kind == StrategySpec::Kind::Bounded)
    return subtree(bounded_candidates(spec).size(), spec.depth, spec.tasks - 1);
  return std::nullopt;
}

// Preorder unranking: skip whole subtrees (every child at one point has the same size) until
// `run` falls inside one, descend, repeat.
std::vector<BoundedPreemption> bounded_schedule(const StrategySpec& spec, uint64_t run) {
  const uint64_t fanout = spec.tasks - 1;
  const std::vector<BoundedPreemption> candidates = bounded_candidates(spec);
  const uint64_t n = candidates.size();
  std::vector<BoundedPreemption> out;
  uint64_t first = 0;
  uint32_t left = spec.depth;
  while (run > 0) {
    --run;  // past the node itself
    bool descended = false;
    for (uint64_t p = first; p < n && left > 0 && !descended; ++p) {
      uint64_t size = subtree(n - p - 1, left - 1, fanout);
      uint64_t block = sat_mul(size, fanout);
      if (run >= block) {
        run -= block;
        continue;
      }
      BoundedPreemption b = candidates[p];
      b.other = static_cast<uint32_t>(run / size);
      out.push_back(b);
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
    case Kind::Pct:
      return "pct:" + std::to_string(depth) + ":" + std::to_string(steps) +
             (points ? ":" + std::to_string(points) : "");
    case Kind::Replay: return "replay:" + file;
    case Kind::Guided: return "guided:" + std::to_string(preemptions.size());
    case Kind::Bounded:
      return "bounded:" + std::to_string(depth) + ":" + std::to_string(steps) + ":" +
             std::to_string(tasks) + (points ? ":" + std::to_string(points) : "");
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
      std::string_view tail = rest.substr(d.size() + 1);
      std::string_view st = tail.substr(0, tail.find(':'));
      s.steps = PROBESIM_TRY(parse_number(st, "pct step count"));
      if (s.steps == 0) return Error::make("pct step count must be at least 1");
      if (st.size() < tail.size())
        s.points = PROBESIM_TRY(parse_number(tail.substr(st.size() + 1), "pct point count"));
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
      return std::make_unique<Pct>(spec.depth, spec.steps, spec.points,
                                   base.fork(kStreamPct).fork(run));
    case StrategySpec::Kind::Guided:
      return std::make_unique<Guided>(spec.preemptions, spec.choices);
    case StrategySpec::Kind::Bounded:
      return std::make_unique<Bounded>(bounded_schedule(spec, run));
    case StrategySpec::Kind::RoundRobin:
    case StrategySpec::Kind::Replay:  // the Scheduler follows the trace; rr is never asked
      break;
  }
  return std::make_unique<RoundRobin>();
}

}  // namespace probesim::emu
