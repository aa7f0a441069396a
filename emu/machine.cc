// The public Machine facade over emu::MachineState (pimpl).
#include "probesim/machine.h"


#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "emu/api/machine_impl.h"
#include "emu/capture_sink.h"
#include "emu/machine_state.h"
#include "emu/record/sha256.h"
#include "emu/record/trace_text.h"
#include "loader/binfmt_script.h"
#include "loader/elf_file.h"

namespace probesim {
namespace {

// Host file descriptor as a guest stdio stream (the CLI's pass-through mode).
class HostFdSink final : public emu::OutputSink {
 public:
  explicit HostFdSink(int fd) : fd_(fd) {}
  void write(std::span<const uint8_t> data) override {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::write(fd_, data.data() + off, data.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // host stdout closed: the guest's write still "succeeds"
      off += static_cast<size_t>(n);
    }
  }

 private:
  int fd_;
};

class HostFdSource final : public emu::InputSource {
 public:
  explicit HostFdSource(int fd) : fd_(fd) {}
  int64_t read(std::span<uint8_t> out) override {
    ssize_t n;
    do n = ::read(fd_, out.data(), out.size());
    while (n < 0 && errno == EINTR);
    return n < 0 ? -EIO : n;
  }

 private:
  int fd_;
};

ProcessExit to_public(const emu::ExitStatus& s) {
  ProcessExit e;
  e.signaled = s.signaled;
  e.code = s.code;
  e.signo = s.signo;
  e.core_dumped = s.core_dumped;
  e.shell_status = s.shell_status();
  e.description = s.describe();
  if (s.fault) {
    const emu::GuestFault& f = *s.fault;
    e.fault = Fault{f.signo, f.si_code, f.addr, f.pc, f.pc_precise, f.what};
  }
  return e;
}

}  // namespace

Machine::Machine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Machine::~Machine() = default;

Result<std::unique_ptr<Machine>> Machine::create(const Options& o) {
  emu::MachineConfig c;
  c.arch = o.arch;
  c.root = o.root;
  c.seed = o.seed;
  if (o.epoch < 0 || o.epoch > kMaxEpoch)
    return Error::make("epoch must be between 0 and " + std::to_string(kMaxEpoch) +
                           " seconds since 1970, got " + std::to_string(o.epoch), EINVAL);
  c.epoch_sec = o.epoch;
  c.quantum = o.quantum == 0 ? 1 : o.quantum;
  if (o.cpus < 1 || o.cpus > 64)
    return Error::make("cpus must be between 1 and 64, got " + std::to_string(o.cpus));
  c.cpus = o.cpus;
  if (o.strategy == "guided") {
    c.strategy.kind = emu::StrategySpec::Kind::Guided;
    for (const Preemption& p : o.preemptions)
      c.strategy.preemptions.push_back(emu::GuidedPreemption{p.tid, p.insns, p.next_tid});
    for (const Preemption& p : o.choices)
      c.strategy.choices.push_back(emu::GuidedPreemption{p.tid, p.insns, p.next_tid});
  } else if (!o.strategy.empty()) {
    c.strategy = PROBESIM_TRY(emu::parse_strategy(o.strategy));
    if (c.strategy.kind == emu::StrategySpec::Kind::Replay)
      return Error::make("strategy " + o.strategy + ": replay a trace with Machine::replay", EINVAL);
  } else if (o.sched == Options::Sched::Random) {
    c.strategy.kind = emu::StrategySpec::Kind::Random;
  }
  if (std::optional<uint64_t> n = emu::strategy_runs(c.strategy); n && o.run_index >= *n)
    return Error::make("run index " + std::to_string(o.run_index) + " is beyond the " +
                           std::to_string(*n) + " schedules of " + c.strategy.text(), EINVAL);
  c.run_index = o.run_index;
  c.kernel = o.kernel;
  c.kprobe_boost = o.kprobe_boost;
  c.kprobe_optimization = o.kprobe_optimization;
  if (o.kprobe_optimize_delay_ns == 0)
    return Error::make("kprobe_optimize_delay_ns must be at least 1 ns (OPTIMIZE_DELAY)", EINVAL);
  c.kprobe_optimize_delay_ns = o.kprobe_optimize_delay_ns;
  if (!(o.probe_cost >= 0 && o.probe_cost <= 1000))  // also NaN
    return Error::make("probe_cost must be a number from 0 to 1000 (1: modelled costs, 0: "
                       "observer mode), not " + std::to_string(o.probe_cost), EINVAL);
  c.probe_cost = o.probe_cost;
  c.kernel_cmdline = o.kernel_cmdline;
  c.early_kprobes = o.early_kprobes;
  PROBESIM_TRY_VOID(emu::MachineLimits::validate(o.limits));
  c.limits = o.limits;
  c.bugs = o.bugs;
  auto impl = std::make_unique<Impl>(std::move(c), o.capture_limit);
  PROBESIM_TRY_VOID(impl->state.init());
  return std::unique_ptr<Machine>(new Machine(std::move(impl)));
}

Result<int> Machine::spawn(const std::vector<std::string>& argv,
                           const std::vector<std::string>& envp, Stdio stdio,
                           std::string stdin_data, const std::string& cwd) {
  std::shared_ptr<emu::OutputSink> out, err;
  std::shared_ptr<emu::InputSource> in;
  Impl::Captured cap;
  if (stdio == Stdio::PassThrough) {
    out = std::make_shared<HostFdSink>(1);
    err = std::make_shared<HostFdSink>(2);
    in = std::make_shared<HostFdSource>(0);
  } else {
    cap.out = std::make_shared<emu::CaptureSink>(impl_->capture_limit);
    cap.err = std::make_shared<emu::CaptureSink>(impl_->capture_limit);
    out = cap.out;
    err = cap.err;
    in = std::make_shared<emu::StringSource>(std::move(stdin_data));
  }
  emu::MachineState& st = impl_->state;
  bool first = impl_->first_pid < 0;
  if (first && st.recorder()) {
    emu::TraceHeader& h = st.recorder()->trace().header;
    h.argv = argv, h.env = envp, h.cwd = cwd;
    in = st.recorder()->tee_stdin(std::move(in));
  }
  if (first && st.replayer()) in = st.replayer()->stdin_source();
  emu::Process* p = PROBESIM_TRY(st.spawn(argv, envp, cwd, out, err, in));
  if (stdio == Stdio::Capture) impl_->captured[p->pid()] = cap;
  if (first) impl_->first_pid = p->pid();
  return p->pid();
}

bool Machine::run(uint64_t max_insns, const std::function<bool()>& should_stop) {
  emu::MachineState& st = impl_->state;
  bool done = st.run(max_insns, should_stop);
  if (emu::Replayer* r = st.replayer(); r && (done || r->divergence()))
    r->end_of_run(st.sched().has_work());
  return done;
}

Result<void> Machine::start_recording() {
  emu::MachineState& st = impl_->state;
  if (impl_->first_pid >= 0) return Error::make("start_recording must come before the first spawn", EINVAL);
  if (st.recorder() || st.replayer()) return Error::make("this machine already records or replays", EINVAL);
  const emu::MachineConfig& c = st.config();
  emu::TraceHeader h;
  h.arch = c.arch, h.root = c.root, h.cpus = static_cast<uint32_t>(c.cpus), h.seed = c.seed;
  h.quantum = c.quantum, h.run_index = c.run_index, h.strategy = c.strategy.text();
  h.kernel = c.kernel, h.kprobe_boost = c.kprobe_boost, h.limits = c.limits, h.bugs = c.bugs;
  h.epoch = c.epoch_sec, h.kprobe_optimization = c.kprobe_optimization;
  h.optimize_delay_ns = st.kprobes() ? st.kprobes()->config().optimize_delay_ns : c.kprobe_optimize_delay_ns;
  h.kernel_cmdline = c.kernel_cmdline, h.early_kprobes = c.early_kprobes;
  st.start_recording(std::move(h));
  return {};
}

Result<void> Machine::save_trace(const std::string& path) const {
  emu::MachineState& st = impl_->state;
  if (!st.recorder()) return Error::make("this machine is not recording (start_recording)", EINVAL);
  // The outcome as of this save, written into the recorder's own trace (a copy of a long run's
  // decisions and checkpoints cost a recorded racy run ~1% more).
  emu::Trace& t = st.recorder()->trace();
  if (std::optional<ProcessExit> e = exit_of(impl_->first_pid))
    t.outcome = emu::TraceOutcome{true, e->shell_status, e->description};
  else
    t.outcome = emu::TraceOutcome{false, 0, st.blocked_forever().empty() ? "stopped" : "deadlock"};
  return emu::save_trace(t, path);
}

namespace {

// The machine a trace was recorded on (its strategy as text, for people: a replay's decisions
// come from the trace).
Options options_of(const emu::TraceHeader& h) {
  Options o{.arch = h.arch, .root = h.root, .seed = h.seed, .quantum = h.quantum,
            .cpus = static_cast<int>(h.cpus), .kernel = h.kernel, .kprobe_boost = h.kprobe_boost};
  o.run_index = h.run_index;
  o.limits = h.limits;
  o.bugs = h.bugs;
  o.epoch = h.epoch;
  o.kprobe_optimization = h.kprobe_optimization;
  o.kprobe_optimize_delay_ns = h.optimize_delay_ns;
  o.kernel_cmdline = h.kernel_cmdline;
  o.early_kprobes = h.early_kprobes;
  return o;
}

}  // namespace

Result<Options> Machine::replay_options(const std::string& path) {
  emu::Trace t = PROBESIM_TRY(emu::load_trace(path));
  Options o = options_of(t.header);
  o.strategy = t.header.strategy;
  return o;
}

Result<std::optional<uint64_t>> strategy_runs(const std::string& strategy) {
  if (strategy == "guided") return std::optional<uint64_t>{1};
  emu::StrategySpec spec = PROBESIM_TRY(emu::parse_strategy(strategy));
  return emu::strategy_runs(spec);
}

Result<std::unique_ptr<Machine>> Machine::replay(const std::string& path, Stdio stdio) {
  emu::Trace t = PROBESIM_TRY(emu::load_trace(path));
  const emu::TraceHeader& h = t.header;
  if (h.argv.empty()) return Error::make(path + ": the trace records no program", EINVAL);
  auto m = PROBESIM_TRY(create(options_of(h)));
  emu::MachineState& st = m->impl_->state;
  for (const emu::TraceFile& f : t.files) {
    std::string now = emu::sha256_file_hex(st.vfs().host().host_path(f.path));
    if (now != f.sha256)
      m->impl_->warnings.push_back(f.path + (now.empty() ? " cannot be read now" : " changed since it was recorded") +
                                   " (sha256 " + (now.empty() ? "-" : now.substr(0, 16)) +
                                   ", recorded " + f.sha256.substr(0, 16) + "): the replay may diverge");
  }
  std::vector<std::string> argv = h.argv, env = h.env;
  std::string cwd = h.cwd;
  st.start_replay(std::move(t));
  Result<int> pid = m->spawn(argv, env, stdio, {}, cwd);
  if (!pid) return pid.take_error();
  return m;
}

int Machine::replay_pid() const { return impl_->first_pid; }

std::vector<std::string> Machine::replay_warnings() const { return impl_->warnings; }

std::vector<std::string> Machine::replay_kernel_work() const {
  const emu::Replayer* r = impl_->state.replayer();
  return r ? r->trace().header.kernel_work : std::vector<std::string>{};
}

std::vector<std::string> Machine::invariant_violations() const {
  return impl_->state.invariant_violations();
}

std::optional<Divergence> Machine::divergence() const {
  emu::MachineState& st = impl_->state;
  const emu::Divergence* d = st.replayer() ? st.replayer()->divergence() : nullptr;
  if (!d) return std::nullopt;
  Divergence out{d->tid, d->insns, d->pc, "", d->decision, d->what, d->expected, d->actual};
  if (d->pc) out.where = st.symbolize_user(d->tid, d->pc);
  return out;
}

std::string Divergence::message() const {
  std::string s = "replay diverged at decision " + std::to_string(decision) + ": " + what;
  if (tid >= 0) {
    s += "\n  task " + std::to_string(tid) + ", " + std::to_string(insns) + " instructions retired";
    if (pc) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%#llx", static_cast<unsigned long long>(pc));
      s += ", pc " + std::string(buf) + (where.empty() ? "" : " <" + where + ">");
    }
  }
  if (!expected.empty()) s += "\n  expected: " + expected;
  if (!actual.empty()) s += "\n  actual:   " + actual;
  return s;
}

namespace {

// A preemption is a quantum that ended by its budget with another task picked next.
std::vector<Preemption> preemptions_in(const emu::Trace& t) {
  std::vector<Preemption> out;
  auto pc_at = [&](size_t decision) -> uint64_t {
    for (const emu::TraceCheckpoint& c : t.checkpoints)
      if (c.decision == decision) return c.pc;
    return 0;
  };
  for (size_t i = 0; i + 1 < t.decisions.size(); ++i) {
    const emu::TraceDecision& d = t.decisions[i];
    const emu::TraceDecision& n = t.decisions[i + 1];
    if (!d.preempted || n.tid == d.tid) continue;
    size_t j = i + 1;  // the other task's turn: its consecutive decisions
    while (j + 1 < t.decisions.size() && t.decisions[j + 1].tid == n.tid) ++j;
    Preemption p{d.tid, d.end, n.tid, pc_at(i), "", t.decisions[j].end, pc_at(j), "", n.start, ""};
    out.push_back(p);
  }
  return out;
}

// A choice: a quantum that ended by itself (blocked, exited, yielded), another task next.
std::vector<Preemption> choices_in(const emu::Trace& t) {
  std::vector<Preemption> out;
  for (size_t i = 0; i + 1 < t.decisions.size(); ++i) {
    const emu::TraceDecision& d = t.decisions[i];
    const emu::TraceDecision& n = t.decisions[i + 1];
    if (!d.preempted && n.tid != d.tid) out.push_back(Preemption{d.tid, d.end, n.tid});
  }
  return out;
}

}  // namespace

std::string Preemption::describe() const {
  auto at = [](uint64_t pc, const std::string& where) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%#llx", static_cast<unsigned long long>(pc));
    return std::string(buf) + (where.empty() ? "" : " <" + where + ">");
  };
  std::string s = "task " + std::to_string(tid) + " preempted after " + std::to_string(insns) +
                  " instructions";
  if (pc) s += " at pc " + at(pc, where);
  s += "; task " + std::to_string(next_tid) + " ran instead until " + std::to_string(next_until) +
       " instructions";
  s += next_pc ? " at pc " + at(next_pc, next_where) : " (where it blocked or exited)";
  return s;
}

std::vector<Preemption> Machine::recorded_preemptions() const {
  emu::MachineState& st = impl_->state;
  const emu::Trace* trace = st.recorder()   ? &st.recorder()->trace()
                            : st.replayer() ? &st.replayer()->trace()
                                            : nullptr;
  if (!trace) return {};
  std::vector<Preemption> out = preemptions_in(*trace);
  for (Preemption& p : out) {
    if (p.pc) p.where = st.symbolize_user(p.tid, p.pc);
    if (p.next_pc) p.next_where = st.symbolize_user(p.next_tid, p.next_pc);
    p.kernel = st.kernel_race(p.tid, p.insns, p.next_tid, p.next_from, p.next_until);
    p.memory = st.memory_race(p.tid, p.insns);
  }
  return out;
}

Result<void> Machine::watch_memory() {
  if (stats().user_instructions != 0)
    return Error::make("watch_memory must come before the guest runs", EINVAL);
  impl_->state.watch_memory();
  return {};
}

Result<std::vector<Preemption>> trace_preemptions(const std::string& path) {
  emu::Trace t = PROBESIM_TRY(emu::load_trace(path));
  return preemptions_in(t);
}

Result<std::vector<Preemption>> trace_choices(const std::string& path) {
  emu::Trace t = PROBESIM_TRY(emu::load_trace(path));
  return choices_in(t);
}

Result<std::string> describe_trace(const std::string& path) {
  emu::Trace t = PROBESIM_TRY(emu::load_trace(path));
  return emu::format_trace(t);
}

std::optional<std::string> Machine::panic() const {
  if (!impl_->state.panicked()) return std::nullopt;
  return impl_->state.panic_text();
}

std::optional<ProcessExit> Machine::exit_of(int pid) const {
  emu::Process* p = impl_->state.process(pid);
  if (!p || !p->exit_status()) return std::nullopt;
  return to_public(*p->exit_status());
}

std::string Machine::captured_stdout(int pid) const {
  const emu::CaptureSink* s = impl_->sink(pid, 1);
  return s ? s->str() : std::string();
}

std::string Machine::captured_stderr(int pid) const {
  const emu::CaptureSink* s = impl_->sink(pid, 2);
  return s ? s->str() : std::string();
}

void Machine::read_captured(int pid, int fd,
                            const std::function<void(std::span<const uint8_t>)>& chunk) const {
  if (const emu::CaptureSink* s = impl_->sink(pid, fd)) s->for_each_chunk(chunk);
}

uint64_t Machine::captured_size(int pid, int fd) const {
  const emu::CaptureSink* s = impl_->sink(pid, fd);
  return s ? s->size() : 0;
}

uint64_t Machine::captured_dropped(int pid, int fd) const {
  const emu::CaptureSink* s = impl_->sink(pid, fd);
  return s ? s->dropped() : 0;
}

void Machine::set_strace(std::function<void(const std::string&)> sink, size_t string_size) {
  impl_->strace = sink ? std::make_unique<FunctionStrace>(std::move(sink), string_size) : nullptr;
  impl_->state.set_strace(impl_->strace.get());
}

Stats Machine::stats() const {
  emu::MachineState& s = impl_->state;
  Stats out;
  out.instructions = s.insns().value;
  out.user_instructions = s.sched().steps();
  out.scheduling_points = s.sched().points();
  out.cycles = s.charged_cycles();
  out.virtual_seconds = static_cast<double>(s.sched().max_time_ns()) / 1e9;
  out.faults = s.stats().faults;
  out.quanta = s.stats().quanta;
  out.mem_committed = s.limits().memory().used();
  out.disk_used = s.limits().disk().used();
  out.tasks = s.limits().tasks();
  s.syscall_counts(out.syscalls, out.unknown_syscalls);
  return out;
}

std::vector<SchedEvent> Machine::schedule_log() const {
  std::vector<SchedEvent> out;
  for (const emu::SchedEvent& e : impl_->state.sched().log())
    out.push_back(SchedEvent{e.cpu, e.tid, e.reason, e.insns, e.time_ns});
  return out;
}

std::map<int, uint64_t> Machine::task_instructions() const {
  std::map<int, uint64_t> out;
  for (emu::Process* p : impl_->state.processes())
    for (auto& t : p->tasks()) out[t->tid()] = t->insns.value;
  return out;
}

namespace {

// A user register of a blocked task (pc: where it resumes; the first syscall argument: a
// futex's address): its pt_regs inside the guest kernel, else its registers (in the engine
// while resident, else saved in its context).
uint64_t blocked_reg(emu::MachineState& st, emu::Task& t, int uc_reg) {
  if (st.kernel() && t.in_hypercall) return st.user_regs(t).reg(uc_reg);
  emu::Cpu* cpu = t.proc().cpu();
  if (!cpu) return 0;
  bool resident = t.proc().resident() == &t || !t.context;
  return resident ? cpu->reg(uc_reg) : cpu->context_reg(*t.context, uc_reg);
}

}  // namespace

std::string Machine::BlockedTask::describe() const {
  char pc_text[32];
  std::snprintf(pc_text, sizeof pc_text, "%#llx", static_cast<unsigned long long>(pc));
  std::string what = wait == "futex" ? "on a futex" : wait == "wait queue" ? "on a wait queue" : "(" + wait + ")";
  return "task " + std::to_string(tid) + " waits " + what + (object.empty() ? "" : " " + object) +
         " at pc " + pc_text + (where.empty() ? "" : " <" + where + ">");
}

std::vector<Machine::BlockedTask> Machine::blocked_tasks() const {
  std::vector<BlockedTask> out;
  emu::MachineState& st = impl_->state;
  for (emu::Task* t : st.blocked_forever()) {
    using Kind = emu::WaitInfo::Kind;
    Kind k = t->wait.kind;
    const emu::ArchInfo& info = emu::arch_info(st.arch());
    uint64_t pc = blocked_reg(st, *t, info.reg_pc);
    out.push_back({t->tid(),
                   t->stopped         ? "stopped"
                   : k == Kind::Futex ? "futex"
                   : k == Kind::Sleep ? "sleep"
                   : k == Kind::Queue ? "wait queue"
                                      : "unknown",
                   pc, pc ? st.symbolize_user(t->tid(), pc) : std::string{}});
    if (k == Kind::Futex && !t->stopped) {  // futex(uaddr, ...): the word, named when it can be
      uint64_t uaddr = blocked_reg(st, *t, info.reg_args[0]);
      char text[32];
      std::snprintf(text, sizeof text, "%#llx", static_cast<unsigned long long>(uaddr));
      std::string name = st.symbolize_data(t->tid(), uaddr);
      out.back().object = std::string(text) + (name.empty() ? "" : " <" + name + ">");
    }
  }
  return out;
}

void Machine::set_time_limit(uint64_t ns) { impl_->state.set_time_limit(ns); }

uint64_t Machine::virtual_time_ns() const { return impl_->state.sched().max_time_ns(); }

std::vector<int> Machine::blocked_tids() const {
  std::vector<int> out;
  for (emu::Task* t : impl_->state.blocked_forever()) out.push_back(t->tid());
  return out;
}

Arch Machine::arch() const { return impl_->state.arch(); }
emu::MachineState& Machine::state() { return impl_->state; }

// The file is found exactly as spawn will find it (emu::Vfs over the same root: relative to
// the guest cwd, symlinks resolved inside the root, the same errors); only its ELF
// identification and e_machine are read here (of the #! interpreter for a script, followed as
// exec_binprm does), the full validation happens at spawn.
Result<Arch> detect_arch(const std::string& root, const std::string& path, const std::string& cwd) {
  mmu::InodeCache inodes;  // declared first: destroyed after the Vfs and the File
  emu::VirtualClock clock;
  emu::DeterministicRng rng(0);
  std::unique_ptr<emu::Vfs> vfs = PROBESIM_TRY(emu::Vfs::create(inodes, clock, rng, root));
  emu::FsStruct fs;
  const emu::Caller caller{fs, nullptr, {}, 0};
  const std::string base = PROBESIM_TRY(vfs->resolve_dir(caller, "/", cwd));
  std::string file_path = path;
  for (int depth = 0; depth <= loader::kMaxBinfmtDepth; ++depth) {
    auto opened = vfs->open_exec(caller, base, file_path);
    if (!opened && depth > 0)  // as MachineState::load_image says it
      return Error::make(path + ": cannot run its #! interpreter " + file_path + ": " +
                             opened.error().message,
                         opened.error().err);
    std::shared_ptr<emu::File> file = PROBESIM_TRY(std::move(opened));
    std::vector<uint8_t> h(loader::kBinprmBufSize);
    h.resize(PROBESIM_TRY(file->inode()->i_mapping().read(FileOffset{0}, h)));
    std::optional<loader::ScriptInterp> script = PROBESIM_TRY(loader::parse_script(file_path, h));
    if (script) {
      file_path = script->name;
      continue;
    }
    if (h.size() < 20 || h[0] != 0x7f || h[1] != 'E' || h[2] != 'L' || h[3] != 'F')
      return Error::make(file_path + ": not an ELF file or a #! script", ENOEXEC);
    uint16_t machine = static_cast<uint16_t>(h[18] | (h[19] << 8));
    if (machine == 62) return Arch::X86_64;
    if (machine == 183) return Arch::AArch64;
    return Error::make(file_path + ": ELF machine " + std::to_string(machine) +
                           " is not supported: probesim runs x86_64 and aarch64 programs",
                       ENOEXEC);
  }
  return Error::make(path + ": more than " + std::to_string(loader::kMaxBinfmtDepth) +
                         " levels of #! interpreters",
                     ELOOP);
}

Result<uint64_t> Machine::kernel_call(const std::string& fn, const std::vector<uint64_t>& args) {
  return impl_->state.kernel_call(fn, args);
}

}  // namespace probesim
