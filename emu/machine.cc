// The public Machine facade over emu::MachineState (pimpl).
#include "probesim/machine.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "emu/capture_sink.h"
#include "emu/machine_state.h"
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

class FunctionStrace final : public emu::StraceSink {
 public:
  explicit FunctionStrace(std::function<void(const std::string&)> f) : f_(std::move(f)) {}
  void line(const std::string& text) override { f_(text); }

 private:
  std::function<void(const std::string&)> f_;
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

struct Machine::Impl {
  Impl(emu::MachineConfig c, uint64_t limit) : state(std::move(c)), capture_limit(limit) {}
  emu::MachineState state;
  uint64_t capture_limit;
  struct Captured {
    std::shared_ptr<emu::CaptureSink> out, err;
  };
  std::map<int, Captured> captured;
  std::unique_ptr<FunctionStrace> strace;
  // The sink of fd 1 or 2 of a captured pid, else null.
  const emu::CaptureSink* sink(int pid, int fd) const {
    auto it = captured.find(pid);
    if (it == captured.end() || (fd != 1 && fd != 2)) return nullptr;
    return fd == 1 ? it->second.out.get() : it->second.err.get();
  }
};

Machine::Machine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Machine::~Machine() = default;

Result<std::unique_ptr<Machine>> Machine::create(const Options& o) {
  emu::MachineConfig c;
  c.arch = o.arch;
  c.root = o.root;
  c.seed = o.seed;
  c.quantum = o.quantum == 0 ? 1 : o.quantum;
  if (o.cpus < 1 || o.cpus > 64)
    return Error::make("cpus must be between 1 and 64, got " + std::to_string(o.cpus));
  c.cpus = o.cpus;
  c.policy = o.sched == Options::Sched::Random ? emu::SchedPolicy::Random
                                                : emu::SchedPolicy::RoundRobin;
  c.kernel = o.kernel;
  c.kprobe_boost = o.kprobe_boost;
  c.kprobe_optimization = o.kprobe_optimization;
  PROBESIM_TRY_VOID(emu::MachineLimits::validate(o.limits));
  c.limits = o.limits;
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
  emu::Process* p = PROBESIM_TRY(impl_->state.spawn(argv, envp, cwd, out, err, in));
  if (stdio == Stdio::Capture) impl_->captured[p->pid()] = cap;
  return p->pid();
}

bool Machine::run(uint64_t max_insns, const std::function<bool()>& should_stop) {
  return impl_->state.run(max_insns, should_stop);
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

void Machine::set_strace(std::function<void(const std::string&)> sink) {
  impl_->strace = sink ? std::make_unique<FunctionStrace>(std::move(sink)) : nullptr;
  impl_->state.set_strace(impl_->strace.get());
}

Stats Machine::stats() const {
  emu::MachineState& s = impl_->state;
  Stats out;
  out.instructions = s.insns().value;
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

std::vector<Machine::BlockedTask> Machine::blocked_tasks() const {
  std::vector<BlockedTask> out;
  for (emu::Task* t : impl_->state.blocked_forever()) {
    using Kind = emu::WaitInfo::Kind;
    Kind k = t->wait.kind;
    out.push_back({t->tid(), t->stopped         ? "stopped"
                             : k == Kind::Futex ? "futex"
                             : k == Kind::Sleep ? "sleep"
                             : k == Kind::Queue ? "wait queue"
                                                : "unknown"});
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
// identification and e_machine are read here, the full validation happens at spawn.
Result<Arch> detect_arch(const std::string& root, const std::string& path, const std::string& cwd) {
  mmu::InodeCache inodes;  // declared first: destroyed after the Vfs and the File
  emu::VirtualClock clock;
  emu::DeterministicRng rng(0);
  std::unique_ptr<emu::Vfs> vfs = PROBESIM_TRY(emu::Vfs::create(inodes, clock, rng, root));
  emu::FsStruct fs;
  const emu::Caller caller{fs, nullptr, {}, 0};
  const std::string base = PROBESIM_TRY(vfs->resolve_dir(caller, "/", cwd));
  std::shared_ptr<emu::File> file = PROBESIM_TRY(vfs->open_exec(caller, base, path));
  uint8_t h[20] = {};
  size_t got = PROBESIM_TRY(file->inode()->i_mapping().read(FileOffset{0}, h));
  if (got < sizeof h || h[0] != 0x7f || h[1] != 'E' || h[2] != 'L' || h[3] != 'F')
    return Error::make(path + ": not an ELF file", ENOEXEC);
  uint16_t machine = static_cast<uint16_t>(h[18] | (h[19] << 8));
  if (machine == 62) return Arch::X86_64;
  if (machine == 183) return Arch::AArch64;
  return Error::make(path + ": ELF machine " + std::to_string(machine) +
                         " is not supported: probesim runs x86_64 and aarch64 programs",
                     ENOEXEC);
}

Result<uint64_t> Machine::kernel_call(const std::string& fn, const std::vector<uint64_t>& args) {
  return impl_->state.kernel_call(fn, args);
}

}  // namespace probesim
