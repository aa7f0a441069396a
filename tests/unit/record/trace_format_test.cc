// The trace format (docs/trace-format.md), SHA-256 and strategy names: round trips, known
// vectors, and bad input that must be refused with a message naming the problem.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "emu/record/sha256.h"
#include "emu/record/trace.h"
#include "emu/record/trace_text.h"
#include "emu/sched/strategy.h"

using namespace probesim;
using namespace probesim::emu;

namespace {

std::string hex_of(std::string_view s) {
  return to_hex(sha256(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size())));
}

Trace sample() {
  Trace t;
  t.header.arch = Arch::AArch64;
  t.header.argv = {"/bin/prog", "a b", ""};
  t.header.env = {"K=V"};
  t.header.cpus = 4, t.header.seed = 7, t.header.quantum = 5000, t.header.run_index = 3;
  t.header.strategy = "pct:2:1000";
  t.header.limits = Limits{.mem = 1 << 20, .disk = 5, .tasks = 3, .files = 17};
  t.header.bugs = {"uprobe_no_revalidate"};
  t.header.kernel_work = {"uprobe /bin/x:main@100"};
  t.header.epoch = 86400;
  t.header.kprobe_optimization = false;
  t.header.kernel_cmdline = "quiet";
  t.header.early_kprobes = {"vfs_read", "ksys_write+4"};
  t.header.optimize_delay_ns = 20'000;
  t.files = {{"/bin/prog", std::string(64, 'a')}};
  t.decisions = {{1, 100, 0, 50, true, {}, {}},
                 {2, 101, 0, 9, false, {100, 102}, {{7, -1, 3, 1}, {7, 4, 1, 2}}}};
  t.times = {{100, 12345}, {-1, 1ull << 63}};
  t.stdin_reads = {{3, {'a', 'b', 'c'}}, {0, {}}, {-11, {}}};
  t.checkpoints = {{0, 100, 50, 0x401000, 0x7ffc, 0xdead, 0xbeef}, {1, 101, 9, 1, 2, 3, std::nullopt}};
  t.outcome = {true, 3, "exited with status 3"};
  return t;
}

}  // namespace

TEST_CASE("sha256: the FIPS 180-4 example vectors") {
  CHECK(hex_of("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(hex_of("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(hex_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  Sha256 s;  // a million 'a' fed in uneven pieces
  std::string chunk(997, 'a');
  size_t left = 1'000'000;
  while (left) {
    size_t n = std::min(left, chunk.size());
    s.update(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(chunk.data()), n));
    left -= n;
  }
  CHECK(to_hex(s.finish()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("trace format: every field survives encode and decode") {
  Trace t = sample();
  auto back = decode_trace(encode_trace(t), "x.trace");
  REQUIRE_MESSAGE(back.ok(), (back.ok() ? "" : back.error().message));
  const Trace& b = back.value();
  CHECK(b.header.arch == Arch::AArch64);
  CHECK(b.header.argv == t.header.argv);
  CHECK(b.header.env == t.header.env);
  CHECK(b.header.run_index == 3);
  CHECK(b.header.strategy == "pct:2:1000");
  CHECK(b.header.limits.mem == 1 << 20);
  CHECK(b.header.limits.disk == 5);
  CHECK(b.header.limits.tasks == 3);
  CHECK(b.header.limits.files == 17);
  CHECK(b.header.bugs == std::vector<std::string>{"uprobe_no_revalidate"});
  CHECK(b.header.kernel_work == std::vector<std::string>{"uprobe /bin/x:main@100"});
  CHECK(b.header.epoch == 86400);
  CHECK_FALSE(b.header.kprobe_optimization);
  CHECK(b.header.kernel_cmdline == "quiet");
  CHECK(b.header.early_kprobes == std::vector<std::string>{"vfs_read", "ksys_write+4"});
  CHECK(b.header.optimize_delay_ns == 20'000);
  CHECK(format_trace(b).find("kprobe optimize delay: 20000 ns") != std::string::npos);
  CHECK(b.files[0].sha256 == t.files[0].sha256);
  REQUIRE(b.decisions.size() == 2);
  CHECK(b.decisions[1].wakes == std::vector<int32_t>{100, 102});
  REQUIRE(b.decisions[1].timers.size() == 2);
  CHECK(b.decisions[1].timers[0].pid == 7);
  CHECK(b.decisions[1].timers[0].timer == -1);
  CHECK(b.decisions[1].timers[0].periods == 3);
  CHECK(b.decisions[1].timers[0].after_wakes == 1);
  CHECK(b.decisions[1].timers[1].timer == 4);
  CHECK(b.decisions[1].timers[1].after_wakes == 2);
  CHECK(b.decisions[0].preempted);
  CHECK(b.times[1].tid == -1);
  CHECK(b.times[1].cycles == (1ull << 63));
  CHECK(b.stdin_reads[0].bytes == std::vector<uint8_t>{'a', 'b', 'c'});
  CHECK(b.stdin_reads[2].result == -11);
  CHECK(b.checkpoints[0].memory == std::optional<uint64_t>(0xbeef));
  CHECK_FALSE(b.checkpoints[1].memory.has_value());
  CHECK(b.outcome.description == "exited with status 3");
  CHECK(format_trace(b).find("cpu2 tid101") != std::string::npos);
}

TEST_CASE("trace format: a foreign file is refused as not a trace") {
  std::string elf = "\x7f" "ELF\x02\x01\x01 and then some bytes";
  auto r = decode_trace(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(elf.data()), elf.size()), "a.out");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "a.out: not a probesim trace (its first bytes are not the trace magic)");
  CHECK_FALSE(decode_trace({}, "empty").ok());
}

TEST_CASE("trace format: another format version is refused with what to do") {
  std::vector<uint8_t> bytes = encode_trace(sample());
  bytes[8] = 99;
  auto r = decode_trace(bytes, "old.trace");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("trace format version 99 (written by probesim 0.1.0)") != std::string::npos);
  CHECK(r.error().message.find("reads versions 4 to 8") != std::string::npos);
  CHECK(r.error().message.find("record it again") != std::string::npos);
}

TEST_CASE("trace format: versions 4 and 5 (no timer fires), 6 (zlib) and 7 (no OPTIMIZE_DELAY) still read") {
  Trace old = sample();
  for (TraceDecision& d : old.decisions) d.timers.clear();
  old.header.optimize_delay_ns = TraceHeader{}.optimize_delay_ns;
  CHECK(encode_trace(sample())[8] == kTraceVersion);
  for (uint32_t version : {4u, 5u}) {
    std::vector<uint8_t> bytes = encode_trace(old, version);
    CHECK(bytes[8] == version);
    auto r = decode_trace(bytes, "old.trace");
    REQUIRE(r.ok());
    CHECK(r.value().header.strategy == "pct:2:1000");
    CHECK(r.value().decisions[1].wakes == std::vector<int32_t>{100, 102});
    CHECK(r.value().decisions[1].timers.empty());
    bytes[8] = 3;
    CHECK_FALSE(decode_trace(bytes, "v3.trace").ok());
  }
  Trace seven = sample();
  seven.header.optimize_delay_ns = TraceHeader{}.optimize_delay_ns;
  auto r7 = decode_trace(encode_trace(seven, 7), "v7.trace");
  REQUIRE(r7.ok());
  CHECK(r7.value().version == 7);
  CHECK(r7.value().header.optimize_delay_ns == 20'000'000);  // Linux's 5 jiffies
  CHECK(r7.value().header.early_kprobes == seven.header.early_kprobes);
  const std::vector<uint8_t> v6 = encode_trace(seven, 6);
  REQUIRE(v6[8] == 6);
  auto r = decode_trace(v6, "v6.trace");
  REQUIRE(r.ok());
  REQUIRE(r.value().decisions[1].timers.size() == 2);
  CHECK(r.value().decisions[1].timers[0].periods == 3);
  CHECK(r.value().checkpoints[0].memory == std::optional<uint64_t>(0xbeef));
  CHECK(r.value().version == 6);
  CHECK(format_trace(r.value()).starts_with("probesim trace, format version 6, recorded by"));
  // A version-6 trace is a zlib stream, version 7 a zstd frame: the version says which.
  std::vector<uint8_t> relabelled = v6;
  relabelled[8] = 7;
  CHECK_FALSE(decode_trace(relabelled, "v6-as-7.trace").ok());
}

TEST_CASE("trace format: every truncation is refused cleanly, never a crash") {
  std::vector<uint8_t> bytes = encode_trace(sample());
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto r = decode_trace(std::span<const uint8_t>(bytes.data(), n), "cut.trace");
    CAPTURE(n);
    REQUIRE_FALSE(r.ok());
    bool named = r.error().message.find("truncated") != std::string::npos ||
                 r.error().message.find("not a probesim trace") != std::string::npos;
    CHECK(named);
  }
}

TEST_CASE("trace format: every flipped byte of the header or payload is refused, never a crash") {
  std::vector<uint8_t> good = encode_trace(sample());
  const size_t version_text = 14, payload = 14 + sizeof kProbesimVersion - 1 + 8;
  for (size_t i = 0; i < good.size(); ++i) {
    if (i >= version_text && i < payload - 8) continue;  // the clear-text version is informative
    std::vector<uint8_t> bad = good;
    bad[i] ^= 0x5a;
    auto r = decode_trace(bad, "bad.trace");
    CAPTURE(i);
    REQUIRE_FALSE(r.ok());
    bool named = r.error().message.starts_with("bad.trace: corrupted probesim trace") ||
                 r.error().message.starts_with("bad.trace: truncated probesim trace") ||
                 r.error().message.starts_with("bad.trace: not a probesim trace") ||
                 r.error().message.starts_with("bad.trace: trace format version");
    CHECK_MESSAGE(named, r.error().message);
  }
}

TEST_CASE("trace format: a missing file is an error naming it") {
  CHECK(load_trace("/nonexistent/dir/x.trace").error().message.find("cannot read trace /nonexistent/dir/x.trace") == 0);
}

TEST_CASE("strategy names: the accepted forms and their canonical text") {
  CHECK(parse_strategy("rr").value().kind == StrategySpec::Kind::RoundRobin);
  CHECK(parse_strategy("random").value().text() == "random");
  CHECK(parse_strategy("pct:2").value().text() == "pct:2:1000000");
  CHECK(parse_strategy("pct:3:500").value().text() == "pct:3:500");
  CHECK(parse_strategy("pct:3:500:40").value().points == 40);
  CHECK(parse_strategy("pct:3:500:40").value().text() == "pct:3:500:40");
  CHECK(parse_strategy("pct:3:500:0").value().text() == "pct:3:500");
  CHECK(parse_strategy("replay:/tmp/x.trace").value().file == "/tmp/x.trace");
  for (const char* bad : {"", "pct", "pct:", "pct:0", "pct:x", "pct:2:0", "pct:2:9q", "pct:2:9:", "pct:2:9:x", "pct:2:9:1:2", "fifo", "rr:1", "random:"}) {
    auto r = parse_strategy(bad);
    CAPTURE(bad);
    CHECK_FALSE(r.ok());
  }
  CHECK(parse_strategy("lifo").error().message.find("use rr, random, pct:D[:STEPS[:POINTS]]") != std::string::npos);
}

TEST_CASE("strategy names: bounded:K[:STEPS[:TASKS[:POINTS]]] and its errors") {
  CHECK(parse_strategy("bounded:2").value().text() == "bounded:2:1000000:2");
  CHECK(parse_strategy("bounded:0:500").value().text() == "bounded:0:500:2");
  CHECK(parse_strategy("bounded:1:500:4").value().text() == "bounded:1:500:4");
  for (const char* bad : {"bounded:9", "bounded:x", "bounded:1:0", "bounded:1:10:1", "bounded:1:2:3:4:5", "bounded:1:2:3:x",
                          "bounded:", "bounded:1:10:65"}) {
    CAPTURE(bad);
    CHECK(!parse_strategy(bad).ok());
  }
  CHECK(parse_strategy("bounded:9").error().message.find("0..8") != std::string::npos);
  CHECK(parse_strategy("fifo").error().message.find("bounded:K[:STEPS[:TASKS[:POINTS]]]") != std::string::npos);
}

TEST_CASE("bounded: with POINTS the candidates are also the run's atomics and syscalls") {
  StrategySpec s = parse_strategy("bounded:1:6500:2:10").value();
  CHECK(s.text() == "bounded:1:6500:2:10");
  // 64 block-boundary points at steps 100..6400 (step p at (p+1)/65 of the run) and points
  // 1..10 (point n at n/11), merged by place: steps 100..500, then point 1 (1/11 < 6/65), ...
  CHECK(strategy_runs(s) == 1 + 64 + 10);
  using B = BoundedPreemption;
  CHECK(bounded_schedule(s, 5) == std::vector<B>{{500, 0, 0}});
  CHECK(bounded_schedule(s, 6) == std::vector<B>{{0, 0, 1}});
  CHECK(bounded_schedule(s, 7) == std::vector<B>{{600, 0, 0}});
  CHECK(bounded_schedule(s, 74) == std::vector<B>{{6400, 0, 0}});
  int points = 0;
  for (uint64_t run = 1; run < *strategy_runs(s); ++run) points += bounded_schedule(s, run)[0].point != 0;
  CHECK(points == 10);
  // More points than kBoundedMaxSyncPoints: every ceil(POINTS/256)-th (here 4, 8, ..., 1000).
  StrategySpec many = parse_strategy("bounded:1:6500:2:1000").value();
  CHECK(strategy_runs(many) == 1 + 64 + 250);
  std::vector<uint64_t> at;
  for (uint64_t run = 1; run < *strategy_runs(many); ++run)
    if (uint64_t p = bounded_schedule(many, run)[0].point) at.push_back(p);
  CHECK(at.size() == 250);
  CHECK(at.front() == 4);
  CHECK(at.back() == 1000);
}

TEST_CASE("bounded: runs enumerate every schedule with at most K preemptions, depth first") {
  // 64 points at steps 100, 200, ..., 6400; two others to hand the CPU to.
  StrategySpec s = parse_strategy("bounded:2:6500:3").value();
  CHECK(strategy_runs(s) == 1 + 64 * 2 + 2016 * 4);
  using B = BoundedPreemption;
  CHECK(bounded_schedule(s, 0).empty());  // run 0: non-preemptive
  CHECK(bounded_schedule(s, 1) == std::vector<B>{{100, 0}});
  CHECK(bounded_schedule(s, 2) == std::vector<B>{{100, 0}, {200, 0}});
  CHECK(bounded_schedule(s, 3) == std::vector<B>{{100, 0}, {200, 1}});
  CHECK(bounded_schedule(s, 4) == std::vector<B>{{100, 0}, {300, 0}});
  CHECK(bounded_schedule(s, 128) == std::vector<B>{{100, 1}});  // after [100 0]'s 126 children
  CHECK(bounded_schedule(s, 129) == std::vector<B>{{100, 1}, {200, 0}});
  CHECK(bounded_schedule(s, 8190) == std::vector<B>{{6300, 1}, {6400, 1}});
  CHECK(bounded_schedule(s, 8191) == std::vector<B>{{6400, 0}});
  CHECK(bounded_schedule(s, 8192) == std::vector<B>{{6400, 1}});  // the last (a leaf of the root)
  // Every schedule exactly once, in lexicographic (preorder) order.
  StrategySpec small = parse_strategy("bounded:2:650:2").value();
  std::vector<std::vector<std::pair<uint64_t, uint32_t>>> seen;
  for (uint64_t run = 0; run < *strategy_runs(small); ++run) {
    std::vector<std::pair<uint64_t, uint32_t>> v;
    for (const B& b : bounded_schedule(small, run)) v.emplace_back(b.step, b.other);
    CHECK(v.size() <= 2);
    if (!seen.empty()) CHECK(seen.back() < v);
    seen.push_back(v);
  }
  CHECK(seen.size() == 1 + 64 + 2016);
  CHECK(!strategy_runs(parse_strategy("pct:2").value()));
  CHECK(!strategy_runs(parse_strategy("random").value()));
}
