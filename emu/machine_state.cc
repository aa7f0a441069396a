#include "emu/machine_state.h"

#include <cerrno>
#include <cstring>

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

// Writes to a pipe without readers raise SIGPIPE as well as returning -EPIPE.
bool raises_sigpipe(std::string_view syscall) {
  return syscall == "write" || syscall == "writev" || syscall == "pwrite64" ||
         syscall == "sendfile";
}

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
  if (config_.kernel) PROBESIM_TRY_VOID(boot_kernel());
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

// The executable at `path` loaded into a fresh mm: what spawn and execve share.
struct MachineState::Image {
  std::unique_ptr<mmu::Mm> mm;
  loader::ExecImage exec;
  std::string exe_path;
};

Result<MachineState::Image> MachineState::load_image(const FsStruct& fs, const std::string& path,
                                                     const std::vector<std::string>& argv,
                                                     const std::vector<std::string>& envp,
                                                     int pid) {
  auto opened = vfs_->open_exec(Caller{fs, nullptr, {}, pid}, fs.cwd, path);
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
  Image img;
  img.mm = std::make_unique<mmu::Mm>(
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
  img.exec = PROBESIM_TRY(loader::exec_elf(*img.mm, inode, elf, params));
  img.exe_path = exe->path();
  return img;
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
  int pid = next_pid_;
  Image img = PROBESIM_TRY(load_image(fs, path, argv, envp, pid));
  std::unique_ptr<Cpu> cpu = PROBESIM_TRY(new_cpu());
  alloc_pid();

  auto proc = std::make_unique<Process>(pid, kInitPid, std::move(img.mm));
  proc->exe_path = img.exe_path;
  proc->comm = basename_of(path);
  proc->fs() = fs;
  proc->fds().install_at(0, vfs_->make_console(kO_RDONLY | kO_LARGEFILE, "pipe:[0]", in, nullptr));
  proc->fds().install_at(1, vfs_->make_console(kO_WRONLY | kO_LARGEFILE, "pipe:[1]", nullptr, out));
  proc->fds().install_at(2, vfs_->make_console(kO_WRONLY | kO_LARGEFILE, "pipe:[2]", nullptr, err));
  proc->attach_cpu(std::move(cpu));
  Cpu& c = *proc->cpu();
  if (kernel_) {
    Task& t = proc->main_task();
    t.kstack_top = PROBESIM_TRY(kernel_->space->alloc_stack());
    start_in_kernel(t, c, img.exec.entry.value, img.exec.sp.value);
  } else {
    c.set_reg(c.info().reg_sp, img.exec.sp.value);
    c.set_pc(img.exec.entry.value);
  }
  Process* raw = proc.get();
  procs_.emplace(pid, std::move(proc));
  sched_.add(raw->main_task());
  return raw;
}

Result<Process*> MachineState::fork_process(Task& t, uint64_t stack, std::optional<uint64_t> tls) {
  Process& parent = t.proc();
  std::unique_ptr<mmu::Mm> mm = PROBESIM_TRY(parent.mm().dup());
  std::unique_ptr<Cpu> cpu = PROBESIM_TRY(new_cpu());
  int pid = alloc_pid();
  auto child = std::make_unique<Process>(pid, parent.pid(), std::move(mm), /*resident=*/false);
  child->exe_path = parent.exe_path;
  child->comm = parent.comm;
  child->sigactions = parent.sigactions;
  child->rlimits = parent.rlimits;
  child->pgid = parent.pgid;
  child->sid = parent.sid;
  child->fds() = parent.fds();  // a copy of the table sharing the open files, as fork does
  child->fs() = parent.fs();
  child->attach_cpu(std::move(cpu));
  // The child's registers: the parent's, captured in the parent's engine (contexts move
  // between engines of one arch), returning 0 after the syscall.
  Task& ct = child->main_task();
  ct.context = child_context(t, ct, stack, tls);
  if (!ct.context) return Error::make("fork: out of kernel stacks", ENOMEM);
  ct.sigmask = t.sigmask;
  Process* raw = child.get();
  procs_.emplace(pid, std::move(child));
  sched_.add(ct);
  return raw;
}

// The registers of a task that clone/fork creates from `parent` (inside its syscall): the
// parent's user registers returning 0, on `stack` and `tls` when given. With the guest
// kernel: a copy of the parent's pt_regs on the child's own kernel stack, and the child
// starts in kernel mode at ret_from_fork. Null when no kernel stack is left.
std::unique_ptr<CpuContext> MachineState::child_context(Task& parent, Task& child, uint64_t stack,
                                                        std::optional<uint64_t> tls) {
  Cpu& pcpu = *parent.proc().cpu();
  const ArchInfo& info = pcpu.info();
  auto ctx = pcpu.new_context();
  pcpu.save(*ctx);
  if (tls) pcpu.set_context_reg(*ctx, info.reg_tls, *tls);
  if (!kernel_) {
    pcpu.set_context_reg(*ctx, info.reg_pc, pcpu.pc());
    pcpu.set_context_reg(*ctx, info.reg_ret, 0);
    if (stack) pcpu.set_context_reg(*ctx, info.reg_sp, stack);
    return ctx;
  }
  KernelSpace& ks = *kernel_->space;
  auto top = ks.alloc_stack();
  if (!top) return nullptr;
  child.kstack_top = top.value();
  size_t size = child.kstack_top.value - pt_regs_of(child).value;
  std::memcpy(ks.host(pt_regs_of(child), size), ks.host(pt_regs_of(parent), size), size);
  UserRegs u(pcpu, ks.host(pt_regs_of(child), size));
  u.set_reg(info.reg_ret, 0);
  if (stack) u.set_reg(info.reg_sp, stack);
  pcpu.set_context_reg(*ctx, info.reg_pc, kernel_->ret_from_fork.value);
  pcpu.set_context_reg(*ctx, info.reg_sp, pt_regs_of(child).value);
  return ctx;
}

// A task will never run again: its kernel stack and kretprobe instances go.
void MachineState::task_dead(Task& t) {
  if (!kernel_ || !t.kstack_top.value) return;
  kernel_->kprobes->flush_task(probes::TaskId{static_cast<uint64_t>(t.tid())});
  kernel_->space->free_stack(t.kstack_top);
  t.kstack_top = GuestAddr{0};
}

Result<void> MachineState::prepare_exec(Process& p, const std::string& path,
                                        const std::vector<std::string>& argv,
                                        const std::vector<std::string>& envp) {
  Image img = PROBESIM_TRY(load_image(p.fs(), path, argv, envp, p.pid()));
  p.pending_exec = Process::PendingExec{std::move(img.mm), img.exec.entry.value,
                                        img.exec.sp.value, img.exe_path, basename_of(path)};
  return {};
}

// execve, second half: the old engine is gone, so the mm can be swapped. Other threads die
// (de_thread), close-on-exec fds close, caught signals revert to SIG_DFL.
void MachineState::finish_exec(Process& p, Task& t) {
  Process::PendingExec pe = std::move(*p.pending_exec);
  p.pending_exec.reset();
  for (auto& other : p.tasks())
    if (other.get() != &t && other->state != TaskState::Dead) {
      futexes_.remove(*other);
      waitq_.remove(*other);
      sched_.remove(*other);
      task_dead(*other);
    }
  auto cpu = new_cpu();
  PROBESIM_ASSERT_MSG(cpu.ok(), "exec: " + (cpu.ok() ? std::string() : cpu.error().message));
  std::unique_ptr<CpuContext> kernel_ctx;
  if (kernel_) {  // t is inside execve's HC_SYSCALL: it returns from there in the new engine
    p.switch_to(t);
    kernel_ctx = p.cpu()->new_context();
    p.cpu()->save(*kernel_ctx);
  }
  p.replace_mm(std::move(pe.mm), std::move(cpu.value()), t);
  Cpu& c = *p.cpu();
  if (kernel_) {
    c.restore(*kernel_ctx);
    uint64_t kernel_pc = c.pc(), kernel_sp = c.reg(c.info().reg_sp);
    start_in_kernel(t, c, pe.entry, pe.sp);  // a fresh pt_regs; then back to the hypercall
    c.set_pc(kernel_pc);
    c.set_reg(c.info().reg_sp, kernel_sp);
    c.set_reg(c.info().reg_tls, 0);  // the new program starts without TLS, as on a fresh CPU
  } else {
    c.set_reg(c.info().reg_sp, pe.sp);
    c.set_pc(pe.entry);
  }
  p.exe_path = pe.exe_path;
  p.comm = pe.comm;
  p.fds().close_on_exec();
  for (KSigaction& sa : p.sigactions)
    if (sa.handler > 1) sa = KSigaction{};
  t.clear_child_tid = GuestAddr{0};
  t.robust_list = GuestAddr{0};
  t.rseq_area = GuestAddr{0};
  if (p.vfork_parent) {
    sched_.wake(*p.vfork_parent, p.pid());
    p.vfork_parent = nullptr;
  }
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
    if (kernel_ && !kernel_->panic.empty()) return true;  // the kernel panicked: nothing runs
    std::optional<Scheduler::Step> step = sched_.next(quantum);
    if (!step) return true;
    run_quantum(*step);
    sched_.finish(*step);
    if (stop_requested_) {
      stop_requested_ = false;
      return false;
    }
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
  if (kernel_) {
    put_on_cpu(t, cpu, step.cpu);
    bool alive = true;
    if (t.in_hypercall)
      alive = resume_in_kernel(t, cpu);
    else if (!in_kernel_mode(cpu) && has_deliverable_signal(t))
      alive = deliver_signals(t);  // in user mode; mid-kernel tasks get it at syscall exit
    if (!alive) {
      reap_resources(p);
      return;
    }
  } else {
    if (t.pending_ret) {
      cpu.set_reg(cpu.info().reg_ret, static_cast<uint64_t>(*t.pending_ret));
      t.pending_ret.reset();
    }
    if (t.restart_syscall) {  // woken from a wait queue: run the syscall instruction again
      cpu.set_pc(cpu.pc() - cpu.info().syscall_insn_len);
      t.restart_syscall = false;
    }
    if (has_deliverable_signal(t) && !deliver_signals(t)) {  // return to user mode
      reap_resources(p);
      return;
    }
  }
  VirtualClock& clock = sched_.clock(step.cpu);
  cpu.set_clock(clock);
  uint64_t insns_before = cpu.insns().value;
  uint64_t cycles_before = clock.cycles().value;
  current_ = &t;
  running_engine_ = &cpu;
  CpuStop stop;
  try {
    stop = cpu.run(InsnCount{step.budget});
  } catch (...) {
    current_ = nullptr;
    running_engine_ = nullptr;
    throw;
  }
  current_ = nullptr;
  running_engine_ = nullptr;
  uint64_t ran = cpu.insns().value - insns_before;
  total_insns_ += ran;
  t.insns += InsnCount{ran};
  total_cycles_ += clock.cycles().value - cycles_before;
  ++stats_.quanta;
  handle_stop(p, t, stop);
  if (p.pending_exec && !p.exited()) finish_exec(p, t);
  if (p.exited()) reap_resources(p);
}

void MachineState::stop_current() {
  stop_requested_ = true;
  if (running_engine_) running_engine_->end_quantum();
}

void MachineState::syscall_counts(std::map<std::string, uint64_t>& all,
                                  std::map<std::string, uint64_t>& unknown) const {
  const SyscallTable& table = SyscallTable::get(config_.arch);
  auto add = [&](uint64_t nr, uint64_t n) {
    const SyscallEntry* e = table.find(nr);
    std::string name = e ? std::string(e->name) : "syscall_" + std::to_string(nr);
    all[name] += n;
    if (!e || !e->fn) unknown[name] += n;
  };
  for (uint64_t nr = 0; nr < stats_.syscalls_by_nr.size(); ++nr)
    if (stats_.syscalls_by_nr[nr]) add(nr, stats_.syscalls_by_nr[nr]);
  for (const auto& [nr, n] : stats_.syscalls_beyond) add(nr, n);
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
  waitq_.remove(t);
  sched_.remove(t);
  task_dead(t);
  if (p.live_tasks() == 0) {
    ExitStatus s;
    s.code = code & 0xff;
    p.set_exit(s);
    process_exited(p);
  }
}

void MachineState::exit_process(Process& p, ExitStatus status) {
  p.set_exit(std::move(status));
  for (auto& t : p.tasks()) {
    if (t->state == TaskState::Dead) continue;
    futexes_.remove(*t);
    waitq_.remove(*t);
    sched_.remove(*t);
    task_dead(*t);
  }
  process_exited(p);
}

// A process became a zombie: a vfork parent resumes, a parent in wait4 re-checks.
void MachineState::process_exited(Process& p) {
  if (p.vfork_parent) {
    sched_.wake(*p.vfork_parent, p.pid());
    p.vfork_parent = nullptr;
  }
  if (Process* parent = process(p.ppid())) {
    const ExitStatus& es = *p.exit_status();
    SigInfo si;
    si.signo = kSigChld;
    si.code = !es.signaled ? kCldExited : es.core_dumped ? kCldDumped : kCldKilled;
    si.pid = p.pid();
    si.status = es.signaled ? es.signo : es.code;
    send_signal(*parent, nullptr, si);
    waitq_.wake_all(parent, sched_);
  }
  // Orphans are adopted by the modelled init (which never reaps them).
  for (auto& [pid, c] : procs_)
    if (c->ppid() == p.pid()) c->set_parent(kInitPid);
}

// After exit the process is a zombie: its engine and files go, its mm stays for inspection.
void MachineState::reap_resources(Process& p) {
  p.release_cpu();
  for (int fd : p.fds().open_fds()) p.fds().close(fd);
}

void MachineState::on_syscall(Cpu& cpu) {
  if (kernel_) return kernel_entry(cpu);  // the guest kernel takes it from here
  PROBESIM_ASSERT(current_ != nullptr);
  Task& t = *current_;
  Process& p = t.proc();
  const ArchInfo& info = cpu.info();
  SyscallArgs a;
  a.nr = cpu.reg(info.reg_syscall_nr);
  for (int i = 0; i < 6; ++i) a.a[i] = cpu.reg(info.reg_args[i]);
  SyscallContext ctx(*this, p, t);
  int64_t ret = dispatch_syscall(ctx, a);
  if (ctx.disposition == SyscallDisposition::Return)
    cpu.set_reg(info.reg_ret, static_cast<uint64_t>(ret));
  // Leave the quantum when the task cannot go on, or a signal must be delivered before it
  // executes another user instruction.
  if (ctx.disposition == SyscallDisposition::Exited ||
      ctx.disposition == SyscallDisposition::Blocked || p.pending_exec ||
      (!p.exited() && has_deliverable_signal(t)))
    cpu.request_stop();
}

int64_t MachineState::dispatch_syscall(SyscallContext& ctx, const SyscallArgs& a) {
  const SyscallEntry* e = SyscallTable::get(config_.arch).find(a.nr);
  int64_t ret = -ENOSYS;
  if (e && e->fn) ret = e->fn(ctx, a);
  if (a.nr < stats_.syscalls_by_nr.size())
    ++stats_.syscalls_by_nr[a.nr];
  else
    ++stats_.syscalls_beyond[a.nr];
  bool returns = ctx.disposition == SyscallDisposition::Return;
  if (strace_) strace_->line(format_syscall(ctx, e, a, ret, returns));
  if (ret == -EPIPE && e && raises_sigpipe(e->name)) send_signal(ctx.proc(), &ctx.task(), SigInfo{kSigPipe});
  return ret;
}

}  // namespace probesim::emu
