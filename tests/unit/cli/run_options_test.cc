#include <doctest/doctest.h>

#include "cli/explore_options.h"
#include "cli/run_options.h"

using probesim::Arch;
using probesim::cli::parse_run_options;

namespace {
template <size_t N>
auto parse(const char* const (&argv)[N]) {
  return parse_run_options(static_cast<int>(N), argv);
}
}  // namespace

TEST_CASE("run options: every flag is parsed and the program follows --") {
  const char* const argv[] = {"probesim", "run",    "--arch",  "aarch64", "--root", "/r",
                              "--seed",   "7",      "--strace", "--stats", "--output", "f",
                              "--env-clear", "--env", "A=1",   "--",      "/bin/x", "--y"};
  auto o = parse(argv);
  REQUIRE(o.ok());
  CHECK(o->arch == Arch::AArch64);
  CHECK(o->root == "/r");
  CHECK(o->seed == 7);
  CHECK(o->strace);
  CHECK(o->stats);
  CHECK(o->output == "f");
  CHECK(o->env_clear);
  CHECK(o->env == std::vector<std::string>{"A=1"});
  CHECK(o->argv == std::vector<std::string>{"/bin/x", "--y"});
}

TEST_CASE("run options: --arch auto leaves the arch to detection") {
  const char* const argv[] = {"probesim", "run", "--arch", "auto", "/bin/x"};
  auto o = parse(argv);
  REQUIRE(o.ok());
  CHECK_FALSE(o->arch.has_value());
}

TEST_CASE("run options: bad input gets a message naming the problem") {
  const char* const bad_arch[] = {"probesim", "run", "--arch", "riscv", "--", "/x"};
  CHECK(parse(bad_arch).error().message.find("riscv") != std::string::npos);
  const char* const bad_seed[] = {"probesim", "run", "--seed", "-3", "--", "/x"};
  CHECK(parse(bad_seed).error().message.find("--seed") != std::string::npos);
  const char* const no_prog[] = {"probesim", "run", "--stats"};
  CHECK(parse(no_prog).error().message == "no program given");
  const char* const unknown[] = {"probesim", "run", "--frobnicate", "/x"};
  CHECK(parse(unknown).error().message.find("--frobnicate") != std::string::npos);
  const char* const bad_env[] = {"probesim", "run", "--env", "NOVALUE", "/x"};
  CHECK(parse(bad_env).error().message.find("KEY=VALUE") != std::string::npos);
  const char* const no_cmd[] = {"probesim", "go"};
  CHECK_FALSE(parse(no_cmd).ok());
}

TEST_CASE("run options: probe flags and kernel switches") {
  const char* const argv[] = {"probesim", "run", "--kprobe", "vfs_read+0x4", "--kprobe", "0xffffffff81000010",
                              "--kretprobe", "ksys_write", "--uprobe", "/bin/x:main+8",
                              "--uretprobe", "/bin/x:0x1130", "--no-boost", "--no-optimize", "--", "/bin/x"};
  auto o = parse(argv);
  REQUIRE(o.ok());
  REQUIRE(o->kprobes.size() == 2);
  CHECK(o->kprobes[0].symbol == "vfs_read");
  CHECK(o->kprobes[0].offset == 4);
  CHECK(o->kprobes[1].symbol.empty());
  CHECK(o->kprobes[1].addr == 0xffffffff81000010ull);
  REQUIRE(o->kretprobes.size() == 1);
  CHECK(o->kretprobes[0].symbol == "ksys_write");
  CHECK(o->uprobes == std::vector<std::string>{"/bin/x:main+8"});
  CHECK(o->uretprobes == std::vector<std::string>{"/bin/x:0x1130"});
  CHECK_FALSE(o->boost);
  CHECK_FALSE(o->optimize);
  CHECK(o->kernel);
}

TEST_CASE("run options: kprobes without the guest kernel and malformed targets are refused") {
  const char* const nokernel[] = {"probesim", "run", "--no-kernel", "--kprobe", "vfs_read", "/bin/x"};
  auto a = parse(nokernel);
  REQUIRE_FALSE(a.ok());
  CHECK(a.error().message.find("guest kernel") != std::string::npos);
  const char* const bad_off[] = {"probesim", "run", "--kprobe", "vfs_read+zz", "/bin/x"};
  CHECK_FALSE(parse(bad_off).ok());
  const char* const empty_sym[] = {"probesim", "run", "--kprobe", "+4", "/bin/x"};
  CHECK_FALSE(parse(empty_sym).ok());
  const char* const uprobes_ok[] = {"probesim", "run", "--no-kernel", "--uprobe", "/bin/x:main", "/bin/x"};
  CHECK(parse(uprobes_ok).ok());  // uprobes need no guest kernel
}

TEST_CASE("run options: --early-kprobe takes SYM[+OFF], needs the kernel, is no replay flag") {
  const char* const ok[] = {"probesim", "run", "--early-kprobe", "mem_init", "--early-kprobe",
                            "vfs_read+0x4", "/bin/x"};
  auto o = parse(ok);
  REQUIRE(o.ok());
  CHECK(o->early_kprobes == std::vector<std::string>{"mem_init", "vfs_read+0x4"});
  const char* const addr[] = {"probesim", "run", "--early-kprobe", "0xffffffff81000010", "/bin/x"};
  CHECK(parse(addr).error().message.find("SYM[+OFF]") != std::string::npos);
  const char* const nokernel[] = {"probesim", "run", "--no-kernel", "--early-kprobe", "mem_init",
                                  "/bin/x"};
  CHECK(parse(nokernel).error().message.find("guest kernel") != std::string::npos);
  const char* const replay[] = {"probesim", "replay", "t.trace", "--early-kprobe", "mem_init"};
  CHECK(parse(replay).error().message.find("--early-kprobe") != std::string::npos);
}

TEST_CASE("run options: --kprobe 0 says that address 0 is no kernel address") {
  const char* const zero[] = {"probesim", "run", "--kprobe", "0", "/bin/x"};
  auto r = parse(zero);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("--kprobe 0: address 0 is not in the guest kernel") !=
        std::string::npos);
  const char* const kret_zero[] = {"probesim", "run", "--kretprobe", "0x0", "/bin/x"};
  CHECK(parse(kret_zero).error().message.find("--kretprobe 0x0: address 0") != std::string::npos);
}

TEST_CASE("run options: --max-insns and --max-time take a count and a virtual duration") {
  const char* const argv[] = {"probesim", "run", "--max-insns", "5000", "--max-time", "10ms",
                              "--", "/bin/x"};
  auto o = parse(argv);
  REQUIRE(o.ok());
  CHECK(o->max_insns == 5000);
  CHECK(o->max_time_ns == 10'000'000);
  CHECK(o->max_time_text == "10ms");
  using probesim::cli::parse_virtual_duration;
  CHECK(parse_virtual_duration("--max-time", "7ns").value() == 7);
  CHECK(parse_virtual_duration("--max-time", "500us").value() == 500'000);
  CHECK(parse_virtual_duration("--max-time", "2s").value() == 2'000'000'000);
  for (const char* bad : {"10", "ms", "0s", "-1s", "1.5s", "10 ms", "10min", "99999999999999999999s"}) {
    auto r = parse_virtual_duration("--max-time", bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("--max-time needs a virtual duration such as") == 0);
  }
  const char* const zero[] = {"probesim", "run", "--max-insns", "0", "/bin/x"};
  CHECK(parse(zero).error().message == "--max-insns must be at least 1");
}

TEST_CASE("run options: --epoch takes seconds or a UTC date, --kernel-cmdline its text") {
  const char* const argv[] = {"probesim", "run", "--epoch", "2000-03-01T12:34:56Z",
                              "--kernel-cmdline", "quiet ekprobe=vfs_read", "--", "/bin/x"};
  auto o = parse(argv);
  REQUIRE(o.ok());
  CHECK(o->epoch == 951914096);
  CHECK(o->kernel_cmdline == "quiet ekprobe=vfs_read");
  using probesim::cli::parse_epoch;
  CHECK(parse_epoch("--epoch", "0").value() == 0);
  CHECK(parse_epoch("--epoch", "1704067200").value() == 1704067200);
  CHECK(parse_epoch("--epoch", "1970-01-01").value() == 0);
  CHECK(parse_epoch("--epoch", "2024-01-01").value() == 1704067200);
  CHECK(parse_epoch("--epoch", "2024-02-29T23:59:59").value() == 1709251199);
  CHECK(parse_epoch("--epoch", "9999-12-31T23:59:59Z").value() == 253402300799);
  for (const char* bad : {"", "-1", "2023-02-29", "2024-13-01", "2024-00-10", "2024-01-01T24:00:00",
                          "2024-01-01T00:60:00", "2024-1-1", "2024-01-01 00:00:00", "2024-01-01Tx",
                          "2024-01-01T00:00:00+01:00", "253402300800", "99999999999999999999",
                          "soon"}) {
    auto r = parse_epoch("--epoch", bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("--epoch needs seconds since 1970 or a UTC date") == 0);
  }
}

TEST_CASE("run options: --sched takes strategies, --record and --run-index their values") {
  const char* const argv[] = {"probesim", "run", "--sched", "pct:2:5000", "--run-index", "9",
                              "--record", "t.trace", "--", "/bin/x"};
  auto o = parse(argv);
  REQUIRE(o.ok());
  CHECK(o->sched == "pct:2:5000");
  CHECK(o->run_index == 9);
  CHECK(o->trace == "t.trace");
  const char* const bad[] = {"probesim", "run", "--sched", "fifo", "/bin/x"};
  CHECK(parse(bad).error().message ==
        "--sched must be rr, random, pct:D[:STEPS[:POINTS]], bounded:K[:STEPS[:TASKS[:POINTS]]] or replay:FILE, got 'fifo'");
  const char* const bounded[] = {"probesim", "run", "--sched", "bounded:2:9000:3", "--run-index", "7", "/bin/x"};
  CHECK(parse(bounded).value().sched == "bounded:2:9000:3");
}

TEST_CASE("run options: --sched replay:FILE is a replay of that trace, with its configuration") {
  const char* const argv[] = {"probesim", "run", "--sched", "replay:t.trace", "--kprobe", "ksys_write"};
  auto o = parse(argv);
  REQUIRE_MESSAGE(o.ok(), (o.ok() ? "" : o.error().message));
  CHECK(o->command == probesim::cli::RunOptions::Command::Replay);
  CHECK(o->trace == "t.trace");
  CHECK(o->kprobes.size() == 1);
  const char* const cpus[] = {"probesim", "run", "--cpus", "2", "--sched", "replay:t.trace"};
  CHECK(parse(cpus).error().message == "replay takes --cpus from the trace; drop it");
  const char* const prog[] = {"probesim", "run", "--sched", "replay:t.trace", "--", "/bin/x"};
  CHECK(parse(prog).error().message == "replay takes the program from the trace; drop '/bin/x'");
}

TEST_CASE("run options: replay takes a trace, probes and output flags, not the configuration") {
  const char* const argv[] = {"probesim", "replay", "t.trace", "--strace", "--kprobe", "ksys_write",
                              "--uprobe", "/bin/x:main", "--stats"};
  auto o = parse(argv);
  REQUIRE(o.ok());
  CHECK(o->command == probesim::cli::RunOptions::Command::Replay);
  CHECK(o->trace == "t.trace");
  CHECK(o->strace);
  CHECK(o->kprobes.size() == 1);
  CHECK(o->uprobes.size() == 1);
  const char* const seed[] = {"probesim", "replay", "t.trace", "--seed", "3"};
  CHECK(parse(seed).error().message == "replay takes --seed from the trace; drop it");
  const char* const prog[] = {"probesim", "replay", "t.trace", "--", "/bin/x"};
  CHECK(parse(prog).error().message == "replay takes the program from the trace; drop '/bin/x'");
  const char* const none[] = {"probesim", "replay"};
  CHECK(parse(none).error().message == "replay needs the trace file first");
}

TEST_CASE("explore options: strategy, runs, conditions and the program") {
  using probesim::cli::ExploreOptions;
  using probesim::cli::parse_explore_options;
  const char* const argv[] = {"probesim", "explore", "--strategy", "pct:3", "--runs", "50", "--seed", "4",
                              "--jobs", "2", "--until-stdout", "counter (?!400000 )", "--cpus", "2",
                              "--save", "f.trace", "--no-shrink", "--", "/bin/x", "a"};
  auto o = parse_explore_options(static_cast<int>(std::size(argv)), argv);
  REQUIRE_MESSAGE(o.ok(), (o.ok() ? "" : o.error().message));
  CHECK(o->strategy == "pct:3");
  CHECK(o->runs == 50);
  CHECK(o->seed == 4);
  CHECK(o->jobs == 2);
  CHECK(o->until == ExploreOptions::Until::Stdout);
  CHECK(o->save == "f.trace");
  CHECK_FALSE(o->shrink);
  CHECK(o->argv == std::vector<std::string>{"/bin/x", "a"});
  const char* const two[] = {"probesim", "explore", "--until-signal", "--until-deadlock", "/bin/x"};
  CHECK(parse_explore_options(5, two).error().message == "give one --until condition");
  const char* const re[] = {"probesim", "explore", "--until-stdout", "(", "/bin/x"};
  CHECK(parse_explore_options(5, re).error().message.starts_with("--until-stdout: bad regular expression '('"));
  const char* const until[] = {"probesim", "explore", "--until", "exit==1", "/bin/x"};
  CHECK(parse_explore_options(5, until).error().message == "--until understands 'exit!=0', got 'exit==1'");
  const char* const strat[] = {"probesim", "explore", "--strategy", "rr", "/bin/x"};
  CHECK(parse_explore_options(5, strat).error().message ==
        "--strategy must be random, pct:D[:STEPS[:POINTS]] or bounded:K[:STEPS[:TASKS[:POINTS]]], got 'rr'");
  const char* const resume[] = {"probesim", "explore", "--strategy", "bounded:2", "--from", "120", "/bin/x"};
  auto r = parse_explore_options(7, resume);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  CHECK((r->strategy == "bounded:2" && r->first_run == 120));
}

TEST_CASE("explore options: --dask takes the scheduler address and excludes --jobs") {
  using probesim::cli::parse_explore_options;
  const char* const argv[] = {"probesim", "explore", "--dask", "tcp://127.0.0.1:8786", "/bin/x"};
  auto o = parse_explore_options(5, argv);
  REQUIRE_MESSAGE(o.ok(), (o.ok() ? "" : o.error().message));
  CHECK(o->dask == "tcp://127.0.0.1:8786");
  const char* const both[] = {"probesim", "explore", "--dask", "a:1", "--jobs", "2", "/bin/x"};
  CHECK(parse_explore_options(7, both).error().message == "give --jobs or --dask, not both");
  const char* const empty[] = {"probesim", "explore", "--dask", "", "/bin/x"};
  CHECK(parse_explore_options(5, empty).error().message == "--dask needs the Dask scheduler's address");
}

TEST_CASE("explore options: the arguments of a batch parse back to the same search") {
  using probesim::cli::batch_arguments;
  using probesim::cli::ExploreOptions;
  using probesim::cli::parse_explore_options;
  const char* const argv[] = {"probesim", "explore", "--strategy", "pct:2", "--seed", "7", "--until-stdout",
                              "counter (?!4 )", "--uprobe", "/bin/x:f@3", "--kprobe", "ksys_write@0-900",
                              "--bug", "b1", "--cpus", "3",
                              "--quantum", "500", "--root", "/r", "--dask", "h:1", "--runs", "9",
                              "--env", "A=1", "--", "/bin/x", "--y"};
  auto o = parse_explore_options(static_cast<int>(std::size(argv)), argv);
  REQUIRE_MESSAGE(o.ok(), (o.ok() ? "" : o.error().message));
  std::vector<std::string> a = batch_arguments(*o, probesim::Arch::AArch64, "pct:2:100:5", {"A=1", "B=2"});
  std::vector<const char*> back = {"probesim", "explore"};
  for (const std::string& s : a) back.push_back(s.c_str());
  auto b = parse_explore_options(static_cast<int>(back.size()), back.data());
  REQUIRE_MESSAGE(b.ok(), (b.ok() ? "" : b.error().message));
  CHECK(b->strategy == "pct:2:100:5");
  CHECK(b->seed == 7);
  CHECK((b->until == ExploreOptions::Until::Stdout && b->stdout_regex == "counter (?!4 )"));
  CHECK(b->uprobes == o->uprobes);
  CHECK(b->kprobes == std::vector<std::string>{"ksys_write@0-900"});
  CHECK(b->bugs == o->bugs);
  CHECK(b->arch == probesim::Arch::AArch64);
  CHECK((b->root == "/r" && b->cpus == 3 && b->quantum == 500));
  CHECK((b->env_clear && b->env == std::vector<std::string>{"A=1", "B=2"}));
  CHECK(b->argv == o->argv);
  CHECK((b->dask.empty() && b->runs == ExploreOptions{}.runs && b->shrink));
  for (auto until : {ExploreOptions::Until::ExitNonZero, ExploreOptions::Until::Signal,
                     ExploreOptions::Until::Deadlock, ExploreOptions::Until::Invariant}) {
    ExploreOptions u = *o;
    u.until = until;
    std::vector<std::string> ua = batch_arguments(u, probesim::Arch::X86_64, "random", {});
    std::vector<const char*> uv = {"probesim", "explore"};
    for (const std::string& s : ua) uv.push_back(s.c_str());
    auto parsed = parse_explore_options(static_cast<int>(uv.size()), uv.data());
    REQUIRE_MESSAGE(parsed.ok(), (parsed.ok() ? "" : parsed.error().message));
    CHECK(parsed->until == until);
  }
}

TEST_CASE("run options: -e/--event lines are kept verbatim, --trace names the trace file") {
  const char* const argv[] = {"probesim", "run", "-e", "p:w ksys_write fd=$arg1",
                              "--event", "r ksys_write $retval", "--trace", "t.txt",
                              "--", "/bin/x"};
  auto o = parse(argv);
  REQUIRE(o.ok());
  CHECK(o->events ==
        std::vector<std::string>{"p:w ksys_write fd=$arg1", "r ksys_write $retval"});
  CHECK(o->trace_out == "t.txt");
  const char* const missing[] = {"probesim", "run", "-e"};
  auto bad = parse(missing);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message == "-e needs a value");
}

TEST_CASE("explore options: --env-clear starts the guest with only the --env entries") {
  using probesim::cli::parse_explore_options;
  const char* const argv[] = {"probesim", "explore", "--env-clear", "--env", "LC_ALL=C", "--", "/bin/x"};
  auto o = parse_explore_options(static_cast<int>(std::size(argv)), argv);
  REQUIRE_MESSAGE(o.ok(), (o.ok() ? "" : o.error().message));
  CHECK(o->env_clear);
  CHECK(o->env == std::vector<std::string>{"LC_ALL=C"});
  CHECK(probesim::cli::guest_env(o->env, o->env_clear) == std::vector<std::string>{"LC_ALL=C"});
  const char* const plain[] = {"probesim", "explore", "/bin/x"};
  CHECK_FALSE(parse_explore_options(3, plain)->env_clear);
}

TEST_CASE("run options: --help describes every option of the parser with its default") {
  const std::string help = probesim::cli::run_help();
  const auto flags = probesim::cli::run_flags();
  REQUIRE(flags.size() > 30);
  for (const probesim::cli::RunFlagHelp& f : flags) {
    CAPTURE(f.name);
    CHECK(f.name.starts_with("--"));
    CHECK_FALSE(f.help.empty());
    CHECK((f.name == "--help" || !f.default_text.empty()));
    std::string spelled = f.name + (f.metavar.empty() ? "" : " " + f.metavar);
    CHECK(help.find(spelled) != std::string::npos);
    CHECK(help.find(f.help) != std::string::npos);
    if (!f.default_text.empty()) CHECK(help.find("(default: " + f.default_text + ")") != std::string::npos);
  }
}

TEST_CASE("run options: every option of the help is accepted by the parser") {
  for (const probesim::cli::RunFlagHelp& f : probesim::cli::run_flags()) {
    CAPTURE(f.name);
    for (const std::string& spelling : {f.name, f.alias}) {
      if (spelling.empty() || f.name == "--help") continue;
      std::string value = f.metavar.empty() ? "" : "1";
      if (f.name == "--arch") value = "x86_64";
      if (f.name == "--sched") value = "random";
      if (f.name == "--env") value = "A=1";
      if (f.name == "--kprobe" || f.name == "--kretprobe" || f.name == "--early-kprobe") value = "vfs_read";
      if (f.name == "--max-time" || f.name == "--optimize-delay") value = "10ms";
      std::vector<const char*> argv = {"probesim", "run", spelling.c_str()};
      if (!f.metavar.empty()) argv.push_back(value.c_str());
      argv.push_back("/bin/x");
      auto o = parse_run_options(static_cast<int>(argv.size()), argv.data());
      CHECK_MESSAGE(o.ok(), (o.ok() ? "" : o.error().message));
    }
  }
}

TEST_CASE("--kprobe SPEC@N-M: registered by the kworker at N, unregistered at M") {
  using probesim::cli::parse_kprobe_option;
  auto p = parse_kprobe_option("ksys_write+4@10-200");
  REQUIRE_MESSAGE(p.ok(), (p.ok() ? "" : p.error().message));
  CHECK((p->symbol == "ksys_write" && p->offset == 4 && p->at == 10u && p->until == 200u));
  CHECK(p->text == "ksys_write+4@10-200");
  auto q = parse_kprobe_option("vfs_write@7");
  REQUIRE(q.ok());
  CHECK((q->at == 7u && !q->until));
  for (const char* bad : {"vfs_write@7-", "vfs_write@-7", "vfs_write@9-8", "vfs_write@1-x"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_kprobe_option(bad).ok());
  }
}
