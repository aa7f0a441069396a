#include "emu/machine_state.h"

#include <cerrno>

#include "emu/arch_info.h"
#include "emu/syscalls/dispatch.h"
#include "emu/syscalls/strace.h"
#include "emu/vfs/caller.h"
#include "emu/vfs/vfs_abi.h"
#include "loader/elf_file.h"
#include "loader/exec.h"
#include "probesim/assert.h"

namespace probesim::emu {
namespace {

// Independent RNG streams (DeterministicRng::fork), so that one consumer's draws never shift
// another's values.
constexpr uint64_t kStreamAtRandom = 1;
constexpr uint64_t kStreamSyscalls = 2;
constexpr uint64_t kStreamDevRandom = 3;
constexpr int kInitPid = 1;  // the parent of spawned processes (the modelled init)

std::string basename_of(const std::string& path) {
  size_t slash = path.rfind('/');
  std::string b = slash == std::string::npos ? path : path.substr(slash + 1);
  return b.substr(0, 15);  // TASK_COMM_LEN - 1
}

Result<std::vector<uint8_t>> read_whole_file(mmu::Inode* inode, const std::string& path) {
  std::vector<uint8_t> bytes(inode->i_size());
  auto r = inode->i_mapping().read(FileOffset{0}, bytes);
  if (!r) return Error::make(path + ": cannot read: " + r.error().message, r.error().err);
  bytes.resize(r.value());
  return bytes;
}

}  // namespace

MachineState::MachineState(MachineConfig config)
    : config_(std::move(config)),
      sched_(config_.cpus, config_.policy, config_.seed, config_.cpu_hz, config_.epoch_sec),
      rng_(DeterministicRng(config_.seed).fork(kStreamSyscalls)),
      dev_rng_(DeterministicRng(config_.seed).fork(kStreamDevRandom)),
      inodes_(std::make_unique<mmu::InodeCache>()) {
  sched_.on_deadline = [this](Task& t) { futexes_.remove(t); };
}

MachineState::~MachineState() {
  procs_.clear();  // processes hold inode references: drop them before the cache
  vfs_.reset();
}

Result<void> MachineState::init() {
  auto vfs = Vfs::create(*inodes_, sched_.clock(0), dev_rng_, config_.root);
  if (!vfs) return vfs.take_error();
  vfs_ = std::move(vfs.value());
  return {};
}

InsnCount MachineState::insns() const { return InsnCount{total_insns_}; }

Process* MachineState::process(int pid) {
  auto it = procs_.find(pid);
  return it == procs_.end() ? nullptr : it->second.get();
}

std::vector<Process*> MachineState::processes() {
  std::vector<Process*> out;
  for (auto& [pid, p] : procs_) out.push_back(p.get());
  return out;
}

Result<Process*> MachineState::spawn(const std::vector<std::string>& argv,
                                     const std::vector<std::string>& envp,
                                     const std::string& cwd, std::shared_ptr<OutputSink> out,
                                     std::shared_ptr<OutputSink> err,
                                     std::shared_ptr<InputSource> in) {
  if (argv.empty() || argv[0].empty()) return Error::make("spawn: empty argv", EINVAL);
  const std::string& path = argv[0];
  FsStruct fs;
  fs.cwd = PROBESIM_TRY(vfs_->resolve_dir(Caller{fs, nullptr, {}, 0}, "/", cwd));
  auto opened = vfs_->open_exec(Caller{fs, nullptr, {}, 0}, fs.cwd, path);
  if (!opened) {
    const Error& e = opened.error();
    bool named = e.message.find(path) != std::string::npos;
    return Error::make(named ? e.message : path + ": " + e.message, e.err);
  }
  std::shared_ptr<File> exe = std::move(opened.value());
  mmu::Inode* inode = exe->inode();
  auto bytes = read_whole_file(inode, path);
  if (!bytes) return bytes.take_error();
  loader::ElfFile elf =
      PROBESIM_TRY(loader::ElfFile::parse_executable(path, std::move(bytes.value())));
  if (elf.arch() != config_.arch)
    return Error::make(path + ": is an " + std::string(arch_name(elf.arch())) +
                           " program but this machine is " + std::string(arch_name(config_.arch)) +
                           " (use --arch auto or --arch " + std::string(arch_name(elf.arch())) + ")",
                       ENOEXEC);

  const ArchInfo& info = arch_info(config_.arch);
  int pid = alloc_pid();
  auto mm = std::make_unique<mmu::Mm>(
      mmu::MmLayout{GuestAddr{info.mmap_base}, GuestAddr{info.task_size}});
  loader::ExecParams params;
  params.argv = argv;
  params.envp = envp;
  params.execfn = path;
  DeterministicRng(config_.seed).fork(kStreamAtRandom + static_cast<uint64_t>(pid) * 16)
      .fill(params.at_random);
  params.hwcap = info.hwcap;
  params.hwcap2 = info.hwcap2;
  params.platform = std::string(info.platform);
  params.stack_top = GuestAddr{info.stack_top};
  loader::ExecImage image = PROBESIM_TRY(loader::exec_elf(*mm, inode, elf, params));

  auto proc = std::make_unique<Process>(pid, kInitPid, std::move(mm));
  proc->exe_path = exe->path();
  proc->fs() = fs;
  proc->comm = basename_of(path);
  proc->fds().install_at(0, vfs_->make_console(kO_RDONLY | kO_LARGEFILE, "pipe:[0]", in, nullptr));
  proc->fds().install_at(1, vfs_->make_console(kO_WRONLY | kO_LARGEFILE, "pipe:[1]", nullptr, out));
  proc->fds().install_at(2, vfs_->make_console(kO_WRONLY | kO_LARGEFILE, "pipe:[2]", nullptr, err));

  std::unique_ptr<Cpu> cpu = PROBESIM_TRY(Cpu::create(config_.arch, sched_.clock(0), *this));
  proc->attach_cpu(std::move(cpu));
  Cpu& c = *proc->cpu();
  c.set_reg(info.reg_sp, image.sp.value);
  c.set_pc(image.entry.value);
  Process* raw = proc.get();
  procs_.emplace(pid, std::move(proc));
  sched_.add(raw->main_task());
  return raw;
}

bool MachineState::run(uint64_t max_insns, const std::function<bool()>& should_stop) {
  const uint64_t start = total_insns_;
  for (;;) {
    uint64_t quantum = config_.quantum;
    if (max_insns) {
      uint64_t used = total_insns_ - start;
      if (used >= max_insns) return false;
      quantum = std::min(quantum, max_insns - used);
    }
    std::optional<Scheduler::Step> step = sched_.next(quantum);
    if (!step) return true;
    run_quantum(*step);
    sched_.finish(*step);
    if (should_stop && should_stop()) return false;
  }
}

// One quantum of one task: make it resident in its mm's Cpu, deliver a blocked syscall's
// result, run, account, and turn the stop into its consequence.
void MachineState::run_quantum(const Scheduler::Step& step) {
  Task& t = *step.task;
  Process& p = t.proc();
  Cpu& cpu = *p.cpu();
  p.switch_to(t);
  if (t.pending_ret) {
    cpu.set_reg(cpu.info().reg_ret, static_cast<uint64_t>(*t.pending_ret));
    t.pending_ret.reset();
  }
  VirtualClock& clock = sched_.clock(step.cpu);
  cpu.set_clock(clock);
  uint64_t insns_before = cpu.insns().value;
  uint64_t cycles_before = clock.cycles().value;
  current_ = &t;
  CpuStop stop;
  try {
    stop = cpu.run(InsnCount{step.budget});
  } catch (...) {
    current_ = nullptr;
    throw;
  }
  current_ = nullptr;
  uint64_t ran = cpu.insns().value - insns_before;
  total_insns_ += ran;
  t.insns += InsnCount{ran};
  total_cycles_ += clock.cycles().value - cycles_before;
  ++stats_.quanta;
  handle_stop(p, stop);
  if (p.exited()) reap_resources(p);
}

std::vector<Task*> MachineState::blocked_forever() {
  std::vector<Task*> out;
  for (auto& [pid, p] : procs_)
    for (auto& t : p->tasks())
      if (t->state == TaskState::Blocked) out.push_back(t.get());
  return out;
}

void MachineState::exit_task(Task& t, int code) {
  Process& p = t.proc();
  if (t.clear_child_tid.value) {
    uint32_t zero = 0;
    if (p.mm().copy_to_user(t.clear_child_tid, &zero, sizeof zero)) {
      for (Task* w : futexes_.dequeue({&p.mm(), t.clear_child_tid.value}, 1, ~0u))
        sched_.wake(*w, 0);
    }
  }
  futexes_.remove(t);
  sched_.remove(t);
  if (p.live_tasks() == 0) {
    ExitStatus s;
    s.code = code & 0xff;
    p.set_exit(s);
  }
}

void MachineState::exit_process(Process& p, ExitStatus status) {
  p.set_exit(std::move(status));
  for (auto& t : p.tasks()) {
    if (t->state == TaskState::Dead) continue;
    futexes_.remove(*t);
    sched_.remove(*t);
  }
}

// After exit the process is a zombie: its engine and files go, its mm stays for inspection.
void MachineState::reap_resources(Process& p) {
  p.release_cpu();
  for (int fd : p.fds().open_fds()) p.fds().close(fd);
}

void MachineState::on_syscall(Cpu& cpu) {
  PROBESIM_ASSERT(current_ != nullptr);
  Task& t = *current_;
  Process& p = t.proc();
  const ArchInfo& info = cpu.info();
  SyscallArgs a;
  a.nr = cpu.reg(info.reg_syscall_nr);
  for (int i = 0; i < 6; ++i) a.a[i] = cpu.reg(info.reg_args[i]);

  const SyscallEntry* e = SyscallTable::get(config_.arch).find(a.nr);
  SyscallContext ctx(*this, p, t);
  int64_t ret = -ENOSYS;
  if (e && e->fn) {
    ret = e->fn(ctx, a);
    ++stats_.syscalls[std::string(e->name)];
  } else {
    std::string name = e ? std::string(e->name) : "syscall_" + std::to_string(a.nr);
    ++stats_.unknown_syscalls[name];
    ++stats_.syscalls[name];
  }
  bool returns = ctx.disposition == SyscallDisposition::Return;
  if (strace_) strace_->line(format_syscall(ctx, e, a, ret, returns));
  if (returns) cpu.set_reg(info.reg_ret, static_cast<uint64_t>(ret));
  if (ctx.disposition == SyscallDisposition::Exited || ctx.disposition == SyscallDisposition::Blocked)
    cpu.request_stop();
}

}  // namespace probesim::emu
