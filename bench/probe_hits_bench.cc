// bench_probe_hits: host time per probe hit with a C++ handler, next to the modelled cost.
//
//   usage: bench_probe_hits [hits=200000 [KIND]]   (KIND: only that kind, e.g. for perf)
//
// For each arch it boots a Machine and runs the guest kernel's kprobe_loop_target(hits)
// (kprobe_target called `hits` times) through kernel_call: once unprobed, then with a probe
// of each kind on kprobe_target. Per kind it prints one JSON line:
//   {"arch":A,"kind":K,"hits":H,"ns_per_hit":T,"modelled_cycles":C,"modelled_ns":N}
// T = (probed time - unprobed time) / hits, in this thread's CPU time, best of kRounds; C = the guest cycles the machine
// charged per hit beyond the unprobed run (the probe_costs.cc table), N = C at the modelled
// clock. Kinds: kprobe_int3 (boost off: trap + single-step trap), kprobe_boosted (x86: the
// slot jumps back), kprobe_optimized (the optimizer wrote x86 `jmp rel32` / arm64 `B imm26` to
// the detour buffer: no trap and no exit, optimized_callback's call site), kretprobe (entry trap + trampoline trap). Optimization is off
// for the other kinds so they measure what their name says.
#include <algorithm>
#include <ctime>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "emu/machine_state.h"
#include "probes/kprobe.h"
#include "probes/kretprobe.h"
#include "probesim/assert.h"
#include "probesim/machine.h"

namespace probesim::bench {
namespace {

// This thread's CPU time, not wall time: on a shared machine the wall clock also counts the
// time other processes held the CPU (3x under a load of 6 on 2 cores), CPU time hardly.
double thread_cpu_ns() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e9 + static_cast<double>(t.tv_nsec);
}
constexpr int kRounds = 3;
constexpr uint64_t kHz = 2'000'000'000;  // emu::VirtualClock's default modelled clock

struct Timing {
  double ns = 0;
  uint64_t cycles = 0;
};

// Best-of-kRounds host time of kprobe_loop_target(hits), and the guest cycles of one run.
Timing time_loop(Machine& m, uint64_t hits) {
  Timing best{1e300, 0};
  for (int r = 0; r < kRounds; ++r) {
    uint64_t c0 = m.stats().cycles;
    const double t0 = thread_cpu_ns();
    auto res = m.kernel_call("kprobe_loop_target", {hits});
    const double t1 = thread_cpu_ns();
    PROBESIM_ASSERT_MSG(res.ok(), res.ok() ? "" : res.error().message);
    PROBESIM_ASSERT(res.value() == hits * (hits - 1) / 2 + 2 * hits);
    best.ns = std::min(best.ns, t1 - t0);
    best.cycles = m.stats().cycles - c0;
  }
  return best;
}

// A booted machine with at most one probe on kprobe_target whose C++ handler counts calls.
struct Session {
  std::unique_ptr<Machine> m;
  probes::Kprobe kp;
  probes::Kretprobe rp;
  uint64_t calls = 0;

  Session(Arch arch, bool boost, bool optimize) {
    auto r = Machine::create(
        Options{.arch = arch, .seed = 1, .kprobe_boost = boost, .kprobe_optimization = optimize});
    PROBESIM_ASSERT_MSG(r.ok(), r.ok() ? "" : r.error().message);
    m = std::move(r.value());
  }
  ~Session() {
    if (kp.registered()) m->state().kprobes()->unregister_kprobe(kp);
    if (rp.registered()) m->state().kprobes()->unregister_kretprobe(rp);
  }
  void add_kprobe() {
    kp.symbol_name = "kprobe_target";
    kp.pre_handler = [this](probes::Kprobe&, probes::Regs&) { return ++calls, 0; };
    PROBESIM_ASSERT(m->state().kprobes()->register_kprobe(kp).ok());
    m->state().kprobes()->wait_for_optimizer();
  }
  void add_kretprobe() {
    rp.kp.symbol_name = "kprobe_target";
    rp.maxactive = 4;
    rp.handler = [this](probes::KretprobeInstance&, probes::Regs&) { return ++calls, 0; };
    PROBESIM_ASSERT(m->state().kprobes()->register_kretprobe(rp).ok());
  }
};

void measure(Arch arch, const char* kind, bool boost, bool ret, uint64_t hits,
             bool optimize = false) {
  Session s(arch, boost, optimize);
  time_loop(*s.m, 1000);  // warm the translation cache
  Timing base = time_loop(*s.m, hits);
  if (ret)
    s.add_kretprobe();
  else
    s.add_kprobe();
  if (optimize) PROBESIM_ASSERT(s.m->state().kprobes()->info(s.kp.addr)->jumped);
  Timing probed = time_loop(*s.m, hits);
  PROBESIM_ASSERT_MSG(s.calls == hits * kRounds, "the handler did not run on every hit");
  double ns = (probed.ns - base.ns) / static_cast<double>(hits);
  double cyc = static_cast<double>(probed.cycles - base.cycles) / static_cast<double>(hits);
  std::printf("{\"arch\":\"%s\",\"kind\":\"%s\",\"hits\":%llu,\"ns_per_hit\":%.1f,"
              "\"modelled_cycles\":%.1f,\"modelled_ns\":%.1f}\n",
              std::string(arch_name(arch)).c_str(), kind, static_cast<unsigned long long>(hits), ns,
              cyc, cyc * 1e9 / kHz);
  std::fflush(stdout);
}

}  // namespace
}  // namespace probesim::bench

int main(int argc, char** argv) {
  using namespace probesim;
  uint64_t hits = argc > 1 ? std::strtoull(argv[1], nullptr, 0) : 200000;
  const std::string only = argc > 2 ? argv[2] : "";
  struct Kind {
    const char* name;
    bool boost, ret, optimize, x86_only;
  };
  static constexpr Kind kKinds[] = {{"kprobe_int3", false, false, false, false},
                                    {"kprobe_boosted", true, false, false, true},
                                    {"kprobe_optimized", true, false, true, false},
                                    {"kretprobe", true, true, false, false}};
  const bool known = only.empty() || std::any_of(std::begin(kKinds), std::end(kKinds),
                                                 [&](const Kind& k) { return only == k.name; });
  if (hits == 0 || argc > 3 || !known) {
    std::fprintf(stderr, "usage: bench_probe_hits [hits=200000 [kprobe_int3|kprobe_boosted|"
                         "kprobe_optimized|kretprobe]]\n");
    return 2;
  }
  for (Arch a : {Arch::X86_64, Arch::AArch64})
    for (const Kind& k : kKinds)
      if ((only.empty() || only == k.name) && (a == Arch::X86_64 || !k.x86_only))
        bench::measure(a, k.name, k.boost, k.ret, hits, k.optimize);
  return 0;
}
