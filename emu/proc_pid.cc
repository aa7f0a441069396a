#include "emu/proc_pid.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "emu/process.h"
#include "emu/vfs/node.h"
#include "mmu/vm_flags.h"

namespace probesim::emu {
namespace {

constexpr size_t kMapsNameColumn = 25 + 6 * 8 - 1;  // seq_setwidth in show_vma_header_prefix

// The device a mapped file lives on, as stat shows it: the root filesystem for host and
// overlay files, /dev/shm's tmpfs for POSIX shared memory, the anonymous-inode mount else.
DevId mapped_dev(const mmu::Inode& inode) {
  const std::string& key = inode.key();
  if (key.starts_with("anon:")) return DevId{0, 1};
  if (key.starts_with("overlay:") && in_shm(inode.name())) return kShmDev;
  return kRootFsDev;
}

std::string maps_line(const mmu::Vma& v) {
  uint64_t pgoff = 0, ino = 0;
  DevId dev{0, 0};
  std::string name = v.name;
  // A named file VMA is the [vdso]: a special mapping on Linux (no file, no offset), backed
  // by a synthetic inode here only so that uprobes work on it.
  if (v.vm_file != nullptr && v.name.empty()) {
    pgoff = v.vm_pgoff << kPageShift;
    ino = v.vm_file->i_ino();
    dev = mapped_dev(*v.vm_file);
    name = v.vm_file->name();
  }
  char buf[160];
  const int n = std::snprintf(buf, sizeof buf, "%08" PRIx64 "-%08" PRIx64 " %s %08" PRIx64
                              " %02x:%02x %" PRIu64 " ", v.vm_start.value, v.vm_end.value,
                              mmu::vm_flags_string(v.vm_flags).c_str(), pgoff, dev.major,
                              dev.minor, ino);
  std::string line(buf, static_cast<size_t>(n));
  if (!name.empty()) {  // seq_pad(m, ' '): spaces up to the column, then one more
    if (line.size() < kMapsNameColumn) line.append(kMapsNameColumn - line.size(), ' ');
    line += ' ';
    line += name;
  }
  line += '\n';
  return line;
}

// The mm counters of vm_stat_account (mm/mmap.c), in pages, and what task_mem splits them into.
struct VmCounts {
  uint64_t total = 0, exec = 0, stack = 0, data = 0, exe_text = 0;
};

VmCounts vm_counts(const mmu::Mm& mm, const mmu::Inode* exe) {
  VmCounts c;
  for (const mmu::Vma* v : mm.vmas()) {
    const uint64_t pages = v->pages();
    const uint32_t f = v->vm_flags;
    c.total += pages;
    if ((f & (mmu::VM_WRITE | mmu::VM_GROWSDOWN | mmu::VM_EXEC)) == mmu::VM_EXEC) {
      c.exec += pages;  // is_exec_mapping
      if (exe != nullptr && v->vm_file == exe) c.exe_text += pages;
    } else if (f & mmu::VM_GROWSDOWN) {
      c.stack += pages;  // is_stack_mapping
    } else if ((f & (mmu::VM_WRITE | mmu::VM_SHARED | mmu::VM_GROWSDOWN)) == mmu::VM_WRITE) {
      c.data += pages;  // is_data_mapping
    }
  }
  return c;
}

void kb_line(std::string& out, const char* name, uint64_t pages) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s:\t%8" PRIu64 " kB\n", name, pages * (kPageSize / 1024));
  out += buf;
}

void hex_line(std::string& out, const char* name, uint64_t v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s:\t%016" PRIx64 "\n", name, v);
  out += buf;
}

void field(std::string& out, const char* name, const std::string& v) {
  out += name;
  out += ":\t";
  out += v;
  out += '\n';
}

// fdt->max_fds for the highest open fd: NR_OPEN_DEFAULT (64), then expand_fdtable's sizes
// (roundup_pow_of_two(fd / 128 + 1) * 128 on 64-bit). Linux never shrinks the table; probesim
// derives it from the fds open now.
uint64_t fd_size(const FdTable& fds) {
  const std::vector<int> open = fds.open_fds();
  const uint64_t high = open.empty() ? 0 : static_cast<uint64_t>(open.back());
  if (high < 64) return 64;
  uint64_t n = 1;
  while (n < high / 128 + 1) n <<= 1;
  return n * 128;
}

// task_state's letter: R for a task on a CPU or the run queue, S asleep, T group-stopped.
std::string state_of(Process& p) {
  if (p.group_stop != 0) return "T (stopped)";
  for (const auto& t : p.tasks())
    if (t->state == TaskState::Runnable) return "R (running)";
  return "S (sleeping)";
}

// The State of one thread: T in its process's group stop, R runnable, else S.
std::string thread_state(const Process& p, const Task& t) {
  if (p.group_stop != 0) return "T (stopped)";
  return t.state == TaskState::Runnable ? "R (running)" : "S (sleeping)";
}

// SigIgn/SigCgt: render_sigset_t of the dispositions (bit sig-1).
std::pair<uint64_t, uint64_t> ignored_caught(const Process& p) {
  uint64_t ign = 0, cgt = 0;
  for (int sig = 1; sig <= kNsig; ++sig) {
    const uint64_t h = p.sigactions[static_cast<size_t>(sig)].handler;
    if (h == kSigIgn) ign |= uint64_t{1} << (sig - 1);
    if (h > kSigIgn) cgt |= uint64_t{1} << (sig - 1);
  }
  return {ign, cgt};
}

// "%*pb" (lib/vsprintf.c bitmap_string) of the lowest `set` of `bits` bits: 32-bit chunks in
// hex, most significant first, comma-separated; the first as wide as its bits need.
std::string bitmap_string(uint64_t bits, uint64_t set) {
  std::string out;
  for (uint64_t chunk = (bits + 31) / 32; chunk-- > 0;) {
    const uint64_t lo = chunk * 32, width = std::min<uint64_t>(32, bits - lo);
    uint32_t v = 0;
    for (uint64_t b = lo; b < lo + width; ++b)
      if (b < set) v |= uint32_t{1} << (b - lo);
    char buf[16];
    std::snprintf(buf, sizeof buf, "%0*x", static_cast<int>((width + 3) / 4), v);
    if (!out.empty()) out += ',';
    out += buf;
  }
  return out;
}

// "%*pbl" of the lowest `set` bits: "0" or "0-N".
std::string bitmap_list(uint64_t set) {
  return set <= 1 ? std::string("0") : "0-" + std::to_string(set - 1);
}

// MAX_NUMNODES (1 << CONFIG_NODES_SHIFT): Debian's x86_64 kernels set 10 (as this host's
// 1024-bit Mems_allowed shows), arm64 keeps the Kconfig default 4.
uint64_t max_numnodes(Arch arch) { return arch == Arch::X86_64 ? 1024 : 16; }

// mm->locked_vm: pages of VM_LOCKED VMAs (probesim has no mlock, so none).
uint64_t locked_vm(const mmu::Mm& mm) {
  uint64_t pages = 0;
  for (const mmu::Vma* v : mm.vmas())
    if (v->vm_flags & mmu::VM_LOCKED) pages += v->pages();
  return pages;
}

// "real\teffective\tsaved\tfs" (task_state's Uid:/Gid: lines).
std::string ids_text(const Ids& ids) {
  return std::to_string(ids.real) + "\t" + std::to_string(ids.eff) + "\t" +
         std::to_string(ids.saved) + "\t" + std::to_string(ids.fs);
}

// Groups: each gid followed by a space ("the trailing space shouldn't have been added in the
// first place", fs/proc/array.c), so a process without groups shows a single space.
std::string groups_text(const std::vector<uint32_t>& groups) {
  std::string out;
  for (size_t i = 0; i < groups.size(); ++i) out += (i ? " " : "") + std::to_string(groups[i]);
  return out + " ";
}


// Task flags do_task_stat shows (include/linux/sched.h PF_*): PF_FORKNOEXEC is the only one
// probesim's user tasks carry (no PF_RANDOMIZE: placement is not randomized; PF_SUPERPRIV is
// not tracked).
constexpr uint64_t kPfForknoexec = 0x40;
constexpr int kRlimitRss = 5;
constexpr int64_t kSigchld = 17;  // a process's exit_signal (fork); a thread's is -1

// mm->start_code/end_code/start_data/end_data: load_elf_binary's, from the program's
// PT_LOADs (Process, ExecImage).
struct ImageBounds {
  uint64_t start_code = 0, end_code = 0, start_data = 0, end_data = 0;
};

ImageBounds image_bounds(const Process& p) {
  return {p.start_code.value, p.end_code.value, p.start_data.value, p.end_data.value};
}

// The tasks whose times add up: the thread, or every thread of the group (dead ones too:
// their times stay in signal->utime until the process is reaped).
std::pair<Cycles, Cycles> task_times(Process& p, const Task* t) {
  if (t != nullptr) return {t->utime, t->stime};
  Cycles u{0}, s{0};
  for (const auto& each : p.tasks()) {
    u += each->utime;
    s += each->stime;
  }
  return {u, s};
}

void put(std::string& out, uint64_t v) {
  out += ' ';
  out += std::to_string(v);
}

void put_signed(std::string& out, int64_t v) {
  out += ' ';
  out += std::to_string(v);
}

// Fields 1-9: pid (comm) state ppid pgrp session tty_nr tpgid flags. No controlling tty.
void stat_ids(std::string& out, Process& p, const Task& task, bool whole) {
  out += std::to_string(task.tid()) + " (" + p.comm + ") ";
  out += (whole ? state_of(p) : thread_state(p, task)).front();
  put(out, static_cast<uint64_t>(p.ppid()));
  put(out, static_cast<uint64_t>(p.pgid));
  put(out, static_cast<uint64_t>(p.sid));
  put(out, 0);          // tty_nr
  put_signed(out, -1);  // tpgid
  put(out, task.fork_noexec ? kPfForknoexec : 0);
}

// Fields 10-22: faults (not modelled: 0), utime stime cutime cstime, priority nice
// num_threads itrealvalue starttime.
void stat_times(std::string& out, Process& p, const Task& task, bool whole, const ProcSystem& sys) {
  for (int i = 0; i < 4; ++i) put(out, 0);  // minflt cminflt majflt cmajflt
  const auto [utime, stime] = task_times(p, whole ? nullptr : &task);
  put(out, cycles_to_clock_t(utime, sys.hz));
  put(out, cycles_to_clock_t(stime, sys.hz));
  put(out, cycles_to_clock_t(p.cutime, sys.hz));
  put(out, cycles_to_clock_t(p.cstime, sys.hz));
  put_signed(out, 20 + task.nice);  // priority: task_prio, SCHED_NORMAL (prio - MAX_RT_PRIO)
  put_signed(out, task.nice);
  put(out, p.live_tasks());
  put(out, 0);  // itrealvalue
  put(out, task.start_ns / (1'000'000'000 / kUserHz));
}

// Fields 23-37: vsize rss rsslim startcode endcode startstack kstkesp kstkeip signal blocked
// sigignore sigcatch wchan nswap cnswap. rss: 0, resident pages are not tracked; kstkesp and
// kstkeip are 0 as Linux shows them for a task that is not exiting.
void stat_mm(std::string& out, Process& p, const Task& task, bool whole, const ImageBounds& b) {
  put(out, p.mm().total_vm() * kPageSize);
  put(out, 0);
  put(out, p.rlimits[kRlimitRss].cur);
  put(out, b.start_code);
  put(out, b.end_code);
  put(out, p.start_stack.value);
  put(out, 0);
  put(out, 0);
  const auto [ign, cgt] = ignored_caught(p);
  constexpr uint64_t kLow31 = 0x7fffffff;  // "obsolete", decimal, the first 31 signals
  put(out, task.pending.mask & kLow31);
  put(out, task.sigmask & kLow31);
  put(out, ign & kLow31);
  put(out, cgt & kLow31);
  // wchan: 1 for a sleeping thread (of a single-threaded process, for the whole group).
  const bool wchan = (!whole || p.live_tasks() < 2) && task.state != TaskState::Runnable;
  put(out, wchan ? 1 : 0);
  put(out, 0);  // nswap
  put(out, 0);  // cnswap
}

// Fields 38-52: exit_signal processor rt_priority policy delayacct_blkio_ticks guest_time
// cguest_time start_data end_data start_brk arg_start arg_end env_start env_end exit_code.
void stat_tail(std::string& out, Process& p, const Task& task, const ImageBounds& b) {
  const bool leader = &task == p.tasks().front().get();
  put_signed(out, leader ? kSigchld : -1);
  put(out, static_cast<uint64_t>(task.last_cpu));
  for (int i = 0; i < 5; ++i) put(out, 0);  // SCHED_NORMAL, no block I/O delay, no guests
  put(out, b.start_data);
  put(out, b.end_data);
  put(out, p.mm().start_brk().value);
  put(out, p.arg_start.value);
  put(out, p.arg_end.value);
  put(out, p.env_start.value);
  put(out, p.env_end.value);
  put(out, 0);  // exit_code: 0 while it lives (exited processes have no /proc entry here)
  out += '\n';
}
}  // namespace

std::string proc_pid_maps(const mmu::Mm& mm) {
  std::string out;
  for (const mmu::Vma* v : mm.vmas()) out += maps_line(*v);
  return out;
}

// proc_pid_status (fs/proc/array.c): the lines of Linux 6.1 that probesim models, in order, in
// its formats. Root has every capability (CAP_LAST_CAP 40); no seccomp.
// Left out: task_mem's resident-set lines (VmHWM, VmRSS, Rss*, VmPTE: probesim does not
// track which pages a process touched), CoreDumping/THP_enabled, the speculation lines.
std::string proc_pid_status(Process& p, const Task* t, const ProcSystem& sys) {
  std::string out;
  const std::string pid = std::to_string(p.pid());
  const std::string tid = t != nullptr ? std::to_string(t->tid()) : pid;
  char umask[8];
  std::snprintf(umask, sizeof umask, "%04o", p.fs().umask);
  field(out, "Name", p.comm);
  field(out, "Umask", umask);
  field(out, "State", t != nullptr ? thread_state(p, *t) : state_of(p));
  field(out, "Tgid", pid);
  field(out, "Ngid", "0");
  field(out, "Pid", tid);
  field(out, "PPid", std::to_string(p.ppid()));
  field(out, "TracerPid", "0");
  field(out, "Uid", ids_text(p.cred.uid));
  field(out, "Gid", ids_text(p.cred.gid));
  field(out, "FDSize", std::to_string(fd_size(p.fds())));
  field(out, "Groups", groups_text(p.cred.groups));
  field(out, "NStgid", pid);
  field(out, "NSpid", tid);
  field(out, "NSpgid", std::to_string(p.pgid));
  field(out, "NSsid", std::to_string(p.sid));
  const VmCounts vm = vm_counts(p.mm(), p.exe_file.inode());
  kb_line(out, "VmPeak", p.mm().hiwater_vm());
  kb_line(out, "VmSize", vm.total);
  kb_line(out, "VmLck", locked_vm(p.mm()));
  kb_line(out, "VmPin", 0);  // pinned_vm: nothing pins user pages (no RDMA, io_uring buffers)
  kb_line(out, "VmData", vm.data);
  kb_line(out, "VmStk", vm.stack);
  kb_line(out, "VmExe", vm.exe_text);
  kb_line(out, "VmLib", vm.exec - vm.exe_text);
  kb_line(out, "VmSwap", 0);  // no swap
  kb_line(out, "HugetlbPages", 0);  // hugetlb_report_usage: no hugetlbfs
  field(out, "Threads", std::to_string(p.live_tasks()));
  field(out, "SigQ", std::to_string(sys.queued_signals) + "/" +
                         std::to_string(p.rlimits[Process::kRlimitSigpending].cur));
  uint64_t pending = 0, blocked = 0;
  for (const auto& other : p.tasks()) {
    if (other->state == TaskState::Dead) continue;
    pending |= other->pending.mask;
    if (other.get() == p.tasks().front().get()) blocked = other->sigmask;
  }
  if (t != nullptr) {
    pending = t->pending.mask;
    blocked = t->sigmask;
  }
  hex_line(out, "SigPnd", pending);
  hex_line(out, "ShdPnd", p.shared_pending.mask);
  hex_line(out, "SigBlk", blocked);
  const auto [ign, cgt] = ignored_caught(p);
  hex_line(out, "SigIgn", ign);
  hex_line(out, "SigCgt", cgt);
  constexpr uint64_t kAllCaps = (uint64_t{1} << 41) - 1;
  hex_line(out, "CapInh", 0);
  // cap_emulate_setxuid: permitted while some uid is 0, effective while the euid is.
  const Ids& uid = p.cred.uid;
  const bool prm = uid.real == 0 || uid.eff == 0 || uid.saved == 0;
  hex_line(out, "CapPrm", prm ? kAllCaps : 0);
  hex_line(out, "CapEff", p.cred.capable() ? kAllCaps : 0);
  hex_line(out, "CapBnd", kAllCaps);
  hex_line(out, "CapAmb", 0);
  field(out, "NoNewPrivs", "0");
  field(out, "Seccomp", "0");
  field(out, "Cpus_allowed", bitmap_string(sys.cpus, sys.cpus));  // task_cpus_allowed
  field(out, "Cpus_allowed_list", bitmap_list(sys.cpus));
  field(out, "Mems_allowed", bitmap_string(max_numnodes(sys.arch), 1));  // one node
  field(out, "Mems_allowed_list", "0");
  // task_context_switch_counts of the thread, or of the leader
  const Task& leader = t != nullptr ? *t : *p.tasks().front();
  field(out, "voluntary_ctxt_switches", std::to_string(leader.nvcsw));
  field(out, "nonvoluntary_ctxt_switches", std::to_string(leader.nivcsw));
  return out;
}

uint64_t cycles_to_clock_t(Cycles c, uint64_t hz) {
  if (hz == 0) return 0;
  return static_cast<uint64_t>(static_cast<unsigned __int128>(c.value) * kUserHz / hz);
}

// do_task_stat (fs/proc/array.c, Linux 6.1): one line of 52 space-separated fields. The
// whole group shows its leader's ids, state and signals and every thread's times.
std::string proc_pid_stat(Process& p, const Task* t, const ProcSystem& sys) {
  const Task& task = t != nullptr ? *t : *p.tasks().front();
  const bool whole = t == nullptr;
  const ImageBounds b = image_bounds(p);
  std::string out;
  stat_ids(out, p, task, whole);
  stat_times(out, p, task, whole, sys);
  stat_mm(out, p, task, whole, b);
  stat_tail(out, p, task, b);
  return out;
}

// proc_pid_statm: size resident shared text lib data dt, in pages. resident and shared are 0
// (resident pages are not tracked); text spans the code's pages; data = data_vm + stack_vm.
std::string proc_pid_statm(Process& p) {
  const ImageBounds b = image_bounds(p);
  const VmCounts vm = vm_counts(p.mm(), p.exe_file.inode());
  const uint64_t text = (page_align_up(b.end_code) - page_align_down(b.start_code)) >> kPageShift;
  return std::to_string(p.mm().total_vm()) + " 0 0 " + std::to_string(text) + " 0 " +
         std::to_string(vm.data + vm.stack) + " 0\n";
}

// get_mm_cmdline: the bytes of [arg_start, arg_end) as the mm holds them now; nothing if
// they are no longer mapped (Linux stops at the first unreadable page). The setproctitle case
// (the last byte overwritten, the string continued into the environment) is not followed.
std::string proc_pid_cmdline(Process& p) {
  const uint64_t start = p.arg_start.value, end = p.arg_end.value;
  if (end <= start) return {};
  std::string out(end - start, '\0');
  if (!p.mm().peek(p.arg_start, out.data(), out.size())) return {};
  return out;
}

std::optional<std::string> proc_pid_text(Process& p, const Task* t, std::string_view name,
                                         const ProcSystem& sys) {
  if (name == "maps") return proc_pid_maps(p.mm());
  if (name == "status") return proc_pid_status(p, t, sys);
  if (name == "stat") return proc_pid_stat(p, t, sys);
  if (name == "statm") return proc_pid_statm(p);
  if (name == "cmdline") return proc_pid_cmdline(p);
  if (name == "comm") return p.comm + "\n";
  return std::nullopt;
}

}  // namespace probesim::emu
