// MachineState, process lifecycle: loading an executable into a fresh mm (spawn, execve),
// fork and clone children (their registers and kernel stacks), task death, exec's swap.
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "emu/machine_state.h"
#include "emu/futex_pi.h"
#include "emu/tracefs/trace_events.h"
#include "emu/uc_regions.h"
#include "emu/vfs/caller.h"
#include "emu/vfs/vfs_abi.h"
#include "loader/binfmt_script.h"
#include "loader/elf_file.h"
#include "loader/exec.h"
#include "mmu/vm_flags.h"
#include "probesim/assert.h"

namespace probesim::emu {
namespace {

// The AT_RANDOM stream (DeterministicRng::fork; machine_state.cc holds the others).
constexpr uint64_t kStreamAtRandom = 1;

std::string basename_of(const std::string& path) {
  size_t slash = path.rfind('/');
  std::string b = slash == std::string::npos ? path : path.substr(slash + 1);
  return b.substr(0, 15);  // TASK_COMM_LEN - 1
}

Result<std::vector<uint8_t>> read_whole_file(mmu::Inode* inode, const std::string& path) {
  auto r = inode->i_mapping().read_all();
  if (!r) return Error::make(path + ": cannot read: " + r.error().message, r.error().err);
  return r;
}

// The program interpreter (PT_INTERP), opened as load_elf_binary() does: open_exec() in the
// guest root (writes denied while it loads), read and checked. A missing one is ENOENT, one
// that is not a usable ELF file ELIBBAD ("Accessing a corrupted shared library").
struct Interpreter {
  std::shared_ptr<File> file;
  ExeFile deny;
  loader::ElfFile elf;
  mmu::Inode* inode() const { return file->inode(); }
};

Result<Interpreter> open_interpreter(Vfs& vfs, const Caller& caller, const std::string& program,
                                     const std::string& path) {
  auto opened = vfs.open_exec(caller, "/", path);
  if (!opened)
    return Error::make(program + ": cannot open its program interpreter " + path + ": " +
                           opened.error().message,
                       opened.error().err);
  mmu::Inode* inode = opened.value()->inode();
  ExeFile deny = PROBESIM_TRY(ExeFile::deny(inode, path));
  auto bytes = read_whole_file(inode, path);
  if (!bytes) return bytes.take_error();
  auto elf = loader::ElfFile::parse(path, std::move(bytes.value()));
  if (!elf)
    return Error::make(program + ": bad program interpreter: " + elf.error().message, ELIBBAD);
  return Interpreter{std::move(opened.value()), std::move(deny), std::move(elf.value())};
}

}  // namespace

// The executable at `path` loaded into a fresh mm: what spawn and execve share.
struct MachineState::Image {
  std::unique_ptr<mmu::Mm> mm;
  loader::ExecImage exec;
  std::string exe_path;
  ExeFile exe_file;  // writes denied from the open on, as do_open_execat
  std::vector<std::string> argv;  // as the program gets it (a #! interpreter's, for a script)
};

namespace {

constexpr uint64_t kMB = uint64_t{1} << 20;
constexpr uint64_t kMaxStack = 256 * kMB;  // what an unlimited (or larger) RLIMIT_STACK gets
constexpr uint64_t kStkLim = 8 * kMB;       // _STK_LIM: a spawned process's RLIMIT_STACK (process.cc)

// The [stack] VMA's size for RLIMIT_STACK `rlimit`: the whole limit, page aligned (Linux maps
// the arguments plus 128 KiB and grows the stack on faults up to the limit; probesim maps the
// limit up front, so an access beyond it is a SIGSEGV as there). At least one page.
uint64_t exec_stack_size(uint64_t rlimit) {
  return std::max(kPageSize, page_align_down(std::min(rlimit, kMaxStack)));
}

// mm/util.c mmap_base (arch/x86/mm/mmap.c alike) without randomization: the mmap area starts
// below a gap of RLIMIT_STACK + stack_guard_gap (1 MiB), clamped to [128 MiB, 5/6 of the
// stack top]. 8 MiB gives ArchInfo::mmap_base.
uint64_t exec_mmap_base(const ArchInfo& info, uint64_t stack_size) {
  const uint64_t gap = std::clamp(stack_size + kMB, 128 * kMB, info.stack_top / 6 * 5);
  return page_align_down(info.stack_top - gap);
}

}  // namespace

// Linux grows the main stack on faults up to RLIMIT_STACK (acct_stack_growth); probesim maps
// it up front (exec_stack_size), so a raised soft limit maps the difference below [stack] now,
// as far as the guard gap above the mapping below allows (expand_downwards); if the memory
// limit refuses, the stack stays as it is (Linux: the growth would fail). A lowered limit
// unmaps nothing: Linux never shrinks a grown stack, it only refuses further growth.
void MachineState::stack_rlimit_changed(Process& p) {
  mmu::Mm& mm = p.mm();
  const uint64_t top = arch_info(config_.arch).stack_top;
  // The stack: the grows-down VMAs reaching down contiguously from the top (a raise before
  // may have added one).
  uint64_t start = top, floor = mm.layout().mmap_min_addr.value;
  std::vector<const mmu::Vma*> vmas = mm.vmas();
  for (auto it = vmas.rbegin(); it != vmas.rend(); ++it) {
    const mmu::Vma& v = **it;
    if (v.vm_end.value == start && (v.vm_flags & mmu::VM_GROWSDOWN)) {
      start = v.vm_start.value;
    } else if (v.vm_end.value <= start) {
      floor = std::max(floor, v.vm_end.value + mm.layout().stack_guard_gap);
      break;
    }
  }
  if (start == top) return;  // no [stack] at the top
  const uint64_t want = std::max(top - exec_stack_size(p.rlimits[Process::kRlimitStack].cur),
                                 page_align_up(floor));
  if (want >= start) return;
  if (mm.mmap(GuestAddr{want}, start - want, mmu::kProtRead | mmu::kProtWrite,
              mmu::kMapPrivate | mmu::kMapFixed | mmu::kMapAnonymous | mmu::kMapGrowsdown, nullptr,
              FileOffset{0}) < 0)
    return;
  (void)mm.set_vma_name(GuestAddr{want}, "[stack]");
}

namespace {

// do_open_execat for `path` (relative to the cwd), the error naming the path.
Result<std::shared_ptr<File>> open_for_exec(Vfs& vfs, const Caller& caller,
                                            const std::string& path) {
  auto opened = vfs.open_exec(caller, caller.fs.cwd, path);
  if (!opened) {
    const Error& e = opened.error();
    bool named = e.message.find(path) != std::string::npos;
    return Error::make(named ? e.message : path + ": " + e.message, e.err);
  }
  return opened;
}

// bprm->buf: the file's first BINPRM_BUF_SIZE bytes (fewer for a shorter file).
Result<std::vector<uint8_t>> read_head(mmu::Inode* inode, const std::string& path) {
  std::vector<uint8_t> head(loader::kBinprmBufSize);
  auto n = inode->i_mapping().read(FileOffset{0}, head);
  if (!n) return Error::make(path + ": cannot read: " + n.error().message, n.error().err);
  head.resize(n.value());
  return head;
}

}  // namespace

// exec_binprm: a "#!" file restarts the exec with its interpreter (binfmt_script), up to
// kMaxBinfmtDepth times, then the file must be an ELF program (binfmt_elf). AT_EXECFN and the
// comm (the caller's job) stay those of `path`, as Linux keeps bprm->filename.
Result<MachineState::Image> MachineState::load_image(const Caller& caller,
                                                     const std::string& path,
                                                     const std::vector<std::string>& argv,
                                                     const std::vector<std::string>& envp,
                                                     uint64_t rlimit_stack) {
  std::vector<std::string> args = argv;
  std::string file = path;
  for (int depth = 0;; ++depth) {
    if (depth > loader::kMaxBinfmtDepth)
      return Error::make(path + ": more than " + std::to_string(loader::kMaxBinfmtDepth) +
                             " levels of #! interpreters (" + file + " is one more)",
                         ELOOP);
    auto opened = open_for_exec(*vfs_, caller, file);
    if (!opened) {
      if (depth == 0) return opened.take_error();
      return Error::make(path + ": cannot run its #! interpreter " + file + ": " +
                             opened.error().message,
                         opened.error().err);
    }
    std::shared_ptr<File> exe = std::move(opened.value());
    ExeFile deny = PROBESIM_TRY(ExeFile::deny(exe->inode(), file));  // writes denied while read
    std::vector<uint8_t> head = PROBESIM_TRY(read_head(exe->inode(), file));
    std::optional<loader::ScriptInterp> script = PROBESIM_TRY(loader::parse_script(file, head));
    if (!script) return load_elf_image(caller, path, *exe, std::move(deny), args, envp, rlimit_stack);
    args = loader::script_argv(*script, file, args);
    file = script->name;
  }
}

// binfmt_elf for the opened program `exe` (path: what execve was given, for AT_EXECFN).
Result<MachineState::Image> MachineState::load_elf_image(const Caller& caller,
                                                         const std::string& path, File& exe,
                                                         ExeFile deny,
                                                         const std::vector<std::string>& argv,
                                                         const std::vector<std::string>& envp,
                                                         uint64_t rlimit_stack) {
  const int pid = caller.pid;
  mmu::Inode* inode = exe.inode();
  const std::string& name = exe.path();
  Image img;
  img.exe_file = std::move(deny);
  auto bytes = read_whole_file(inode, name);
  if (!bytes) return bytes.take_error();
  loader::ElfFile elf =
      PROBESIM_TRY(loader::ElfFile::parse_executable(name, std::move(bytes.value())));
  if (elf.arch() != config_.arch)
    return Error::make(name + ": is an " + std::string(arch_name(elf.arch())) +
                           " program but this machine is " + std::string(arch_name(config_.arch)) +
                           " (use --arch auto or --arch " + std::string(arch_name(elf.arch())) + ")",
                       ENOEXEC);
  const ArchInfo& info = arch_info(config_.arch);
  const uint64_t stack_size = exec_stack_size(rlimit_stack);
  mmu::MmLayout layout{GuestAddr{exec_mmap_base(info, stack_size)}, GuestAddr{info.task_size}};
  layout.max_map_count = uc_regions::max_map_count(config_.arch);  // Unicorn's ceiling
  layout.max_exec_map_count = uc_regions::max_exec_map_count(config_.arch);
  img.mm = std::make_unique<mmu::Mm>(layout);
  img.mm->set_commit_budget(&limits_.memory());  // an image that does not fit: ENOMEM
  loader::ExecParams params;
  params.argv = argv;
  params.envp = envp;
  params.execfn = path;
  DeterministicRng(config_.seed).fork(kStreamAtRandom + static_cast<uint64_t>(pid) * 16)
      .fill(params.at_random);
  params.hwcap = info.hwcap;
  params.hwcap2 = info.hwcap2;
  if (caller.cred) {  // the ids the new image runs with (no set-id bits: suid/fsuid follow)
    params.uid = caller.cred->uid.real;
    params.euid = caller.cred->uid.eff;
    params.gid = caller.cred->gid.real;
    params.egid = caller.cred->gid.eff;
    params.secure = caller.cred->secure_exec();
  }
  params.platform = std::string(info.platform);
  params.stack_top = GuestAddr{info.stack_top};
  params.stack_size = stack_size;
  params.vdso = vdso_ ? &vdso_->image() : nullptr;
  std::optional<Interpreter> interp;
  if (elf.interpreter())
    interp = PROBESIM_TRY(open_interpreter(*vfs_, caller, name, *elf.interpreter()));
  loader::Interp li{interp ? interp->inode() : nullptr, interp ? &interp->elf : nullptr};
  img.exec = PROBESIM_TRY(loader::exec_elf(*img.mm, inode, elf, params, interp ? &li : nullptr));
  img.exe_path = name;
  img.argv = argv;
  return img;
}

Result<Process*> MachineState::spawn(const std::vector<std::string>& argv,
                                     const std::vector<std::string>& envp,
                                     const std::string& cwd, std::shared_ptr<OutputSink> out,
                                     std::shared_ptr<OutputSink> err,
                                     std::shared_ptr<InputSource> in) {
  if (argv.empty() || argv[0].empty()) return Error::make("spawn: empty argv", EINVAL);
  PROBESIM_TRY_VOID(refuse_if_panicked("spawn"));
  if (!limits_.task_fits()) {
    return Error::make("spawn: the machine's task limit (" +
                           std::to_string(limits_.limits().tasks) + ") is reached",
                       EAGAIN);
  }
  const std::string& path = argv[0];
  FsStruct fs;
  fs.cwd = PROBESIM_TRY(vfs_->resolve_dir(Caller{fs, nullptr, {}, 0}, "/", cwd));
  int pid = next_pid_;
  Image img = PROBESIM_TRY(load_image(Caller{fs, nullptr, {}, pid}, path, argv, envp, kStkLim));
  mmu::BudgetCharge engine = limits_.charge_engine();
  if (!engine.held()) return Error::make(path + ": the machine's memory limit is reached", ENOMEM);
  std::unique_ptr<Cpu> cpu = PROBESIM_TRY(new_cpu());
  alloc_pid();

  auto proc = std::make_unique<Process>(pid, kInitPid, std::move(img.mm));
  proc->exe_path = img.exe_path;
  proc->exe_file = std::move(img.exe_file);
  proc->comm = basename_of(path);
  proc->argv = img.argv;
  proc->arg_start = img.exec.arg_start;
  proc->vdso = img.exec.vdso;
  proc->arg_end = img.exec.arg_end;
  proc->env_start = img.exec.env_start;
  proc->env_end = img.exec.env_end;
  proc->start_stack = img.exec.sp;
  proc->start_code = img.exec.start_code;
  proc->end_code = img.exec.end_code;
  proc->start_data = img.exec.start_data;
  proc->end_data = img.exec.end_data;
  proc->main_task().start_ns = clock().monotonic_ns();
  proc->fs() = fs;
  proc->engine_charge = std::move(engine);
  proc->set_nofile_limit(limits_.limits().files);
  proc->fds().set_close_observer(&file_locks_, pid);
  proc->fds().install_at(0, vfs_->make_console(kO_RDONLY | kO_LARGEFILE, "pipe:[0]", in, nullptr));
  proc->fds().install_at(1, vfs_->make_console(kO_WRONLY | kO_LARGEFILE, "pipe:[1]", nullptr, out));
  proc->fds().install_at(2, vfs_->make_console(kO_WRONLY | kO_LARGEFILE, "pipe:[2]", nullptr, err));
  proc->attach_cpu(std::move(cpu));
  Cpu& c = *proc->cpu();
  if (kernel_) {
    PROBESIM_TRY_VOID(kernel_->start_user_task(proc->main_task(), c, img.exec.entry.value,
                                               img.exec.sp.value));
  } else {
    c.set_reg(c.info().reg_sp, img.exec.sp.value);
    c.set_pc(img.exec.entry.value);
  }
  Process* raw = proc.get();
  procs_.emplace(pid, std::move(proc));
  uprobes_->uprobe_mmap_all(raw->mm());  // a filter may look the process up by its mm now
  limits_.task_created();
  sched_.add(raw->main_task());
  return raw;
}

Result<Process*> MachineState::fork_process(Task& t, uint64_t stack, std::optional<uint64_t> tls) {
  Process& parent = t.proc();
  // copy_process: EAGAIN at the task limit (max_threads / RLIMIT_NPROC), before any copying.
  if (!limits_.task_fits()) return Error::make("fork: task limit reached", EAGAIN);
  std::unique_ptr<mmu::Mm> mm = PROBESIM_TRY(parent.mm().dup());
  mmu::BudgetCharge engine = limits_.charge_engine();  // copy_process: ENOMEM
  if (!engine.held()) return Error::make("fork: memory limit reached", ENOMEM);
  std::unique_ptr<Cpu> cpu = PROBESIM_TRY(new_cpu());
  int pid = alloc_pid();
  auto child = std::make_unique<Process>(pid, parent.pid(), std::move(mm), /*resident=*/false);
  child->exe_path = parent.exe_path;
  if (parent.exe_file.inode()) {  // dup_mm_exe_file: the child's mm denies writes too
    child->exe_file = PROBESIM_TRY(ExeFile::deny(parent.exe_file.inode(), parent.exe_path));
  }
  child->comm = parent.comm;
  child->argv = parent.argv;
  child->arg_start = parent.arg_start;
  child->vdso = parent.vdso;
  child->arg_end = parent.arg_end;
  child->env_start = parent.env_start;
  child->env_end = parent.env_end;
  child->start_stack = parent.start_stack;
  child->start_code = parent.start_code;
  child->end_code = parent.end_code;
  child->start_data = parent.start_data;
  child->end_data = parent.end_data;
  child->main_task().start_ns = clock().monotonic_ns();
  child->main_task().fork_noexec = true;
  child->sigactions = parent.sigactions;
  child->rlimits = parent.rlimits;
  child->pgid = parent.pgid;
  child->sid = parent.sid;
  child->cred = parent.cred;
  child->membarrier_state = parent.membarrier_state;
  child->fds() = parent.fds();  // a copy of the table sharing the open files, as fork does
  child->fds().set_close_observer(&file_locks_, pid);  // its POSIX locks are its own
  child->fs() = parent.fs();
  child->engine_charge = std::move(engine);
  child->attach_cpu(std::move(cpu));
  // The child's registers: the parent's, captured in the parent's engine (contexts move
  // between engines of one arch), returning 0 after the syscall.
  Task& ct = child->main_task();
  ct.context = child_context(t, ct, stack, tls);
  if (!ct.context) return Error::make("fork: out of kernel stacks", ENOMEM);
  // Breakpoints came with the copied pages; the engine learns the child mm and task.
  uprobes_->uprobe_dup_mmap(parent.mm(), child->mm());
  PROBESIM_TRY_VOID(uprobes_->uprobe_copy_process(probes::TaskId{static_cast<uint64_t>(t.tid())},
                                                  probes::TaskId{static_cast<uint64_t>(pid)},
                                                  child->mm(), /*same_mm=*/false));
  ct.sigmask = t.sigmask;
  ct.nice = t.nice;
  ct.altstack = t.altstack;  // fork and vfork keep the sigaltstack (copy_process; threads: none)
  Process* raw = child.get();
  procs_.emplace(pid, std::move(child));
  limits_.task_created();
  sched_.add(ct);
  if (trace_events_->tp_on(trace_events::Tracepoint::SchedProcessFork))
    trace_events_->sched_process_fork(t, ct);
  if (lifecycle_) lifecycle_->on_fork(parent, *raw);
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
  if (!kernel_->child_regs(parent, child, *ctx, stack)) return nullptr;
  return ctx;
}

// A task will never run again: its uprobe state, kernel stack and kretprobe instances go.
void MachineState::task_dead(Task& t) {
  trace_events_->sched_process_exit(t);
  limits_.task_gone();
  uprobes_->uprobe_free_utask(probes::TaskId{static_cast<uint64_t>(t.tid())});
  if (kernel_) kernel_->release_task(t);
}

Result<void> MachineState::prepare_exec(Process& p, const std::string& path,
                                        const std::vector<std::string>& argv,
                                        const std::vector<std::string>& envp) {
  // The caller's view: /proc/self/exe (busybox re-executes itself so), /proc/self/fd/N, and
  // its ids (AT_UID...).
  const Caller caller{p.fs(), &p.fds(), p.exe_path, p.pid(), &p.cred};
  Image img = PROBESIM_TRY(
      load_image(caller, path, argv, envp, p.rlimits[Process::kRlimitStack].cur));
  if (trace_events_->tp_on(trace_events::Tracepoint::SchedProcessExec))
    trace_events_->exec_filename(p.pid(), path);  // bprm->filename: the path as given
  p.pending_exec = Process::PendingExec{
      std::move(img.mm), img.exec.entry.value,    img.exec.sp.value,   img.exe_path,
      basename_of(path), std::move(img.exe_file), std::move(img.argv), img.exec.arg_start,
      img.exec.arg_end,  img.exec.vdso,           img.exec.env_start,  img.exec.env_end,
      img.exec.sp,       img.exec.start_code,     img.exec.end_code,   img.exec.start_data,
      img.exec.end_data};
  return {};
}

// execve, second half: the old engine is gone, so the mm can be swapped. Other threads die
// (de_thread), close-on-exec fds close, caught signals revert to SIG_DFL.
void MachineState::finish_exec(Process& p, Task& t) {
  Process::PendingExec pe = std::move(*p.pending_exec);
  p.pending_exec.reset();
  for (auto& other : p.tasks())  // futex_exit_release / futex_exec_release with the old mm
    if (other->state != TaskState::Dead) futex_exit_release(*this, *other);
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
  uprobes_->uprobe_clear_state(p.mm());  // the old mm dies
  uprobes_->uprobe_free_utask(probes::TaskId{static_cast<uint64_t>(t.tid())});
  p.replace_mm(std::move(pe.mm), std::move(cpu.value()), t);
  p.exe_path = pe.exe_path;  // before the new image is offered to uprobe filters, as Linux
  p.exe_file = std::move(pe.exe_file);  // the old executable becomes writable again
  p.comm = pe.comm;
  p.argv = std::move(pe.argv);
  p.arg_start = pe.arg_start;
  p.arg_end = pe.arg_end;
  p.vdso = pe.vdso;
  p.cred.on_exec();
  p.membarrier_state = 0;  // membarrier_exec_mmap
  for (const auto& [id, timer] : p.timers.posix) forget_timer_signal(p, id);
  p.timers.posix.clear();  // exit_itimers; the itimers (alarm too) survive exec
  p.env_start = pe.env_start;
  p.env_end = pe.env_end;
  p.start_stack = pe.start_stack;
  p.start_code = pe.start_code;
  p.end_code = pe.end_code;
  p.start_data = pe.start_data;
  p.end_data = pe.end_data;
  t.fork_noexec = false;  // begin_new_exec clears PF_FORKNOEXEC
  uprobes_->uprobe_mmap_all(p.mm());
  Cpu& c = *p.cpu();
  if (kernel_) {
    c.restore(*kernel_ctx);
    uint64_t kernel_pc = c.pc(), kernel_sp = c.reg(c.info().reg_sp);
    kernel_->reset_user_regs(t, c, pe.entry, pe.sp);  // a fresh pt_regs; then back to the hypercall
    c.set_pc(kernel_pc);
    c.set_reg(c.info().reg_sp, kernel_sp);
    c.set_reg(c.info().reg_tls, 0);  // the new program starts without TLS, as on a fresh CPU
  } else {
    c.set_reg(c.info().reg_sp, pe.sp);
    c.set_pc(pe.entry);
  }
  c.reset_fp_state();  // the kernel context above carried the old program's FPU state
  p.fds().close_on_exec();
  for (KSigaction& sa : p.sigactions)
    if (sa.handler > 1) sa = KSigaction{};
  t.clear_child_tid = GuestAddr{0};
  t.robust_list = GuestAddr{0};
  t.rseq_area = GuestAddr{0};
  t.altstack = AltStack{};  // exec: the old stack went with the old mm
  if (p.vfork_parent) {
    sched_.wake(*p.vfork_parent, p.pid());
    p.vfork_parent = nullptr;
  }
  if (trace_events_->tp_on(trace_events::Tracepoint::SchedProcessExec))
    trace_events_->sched_process_exec(t, p.pid(), p.exe_path);
  if (lifecycle_) lifecycle_->on_exec(p);
}

}  // namespace probesim::emu
