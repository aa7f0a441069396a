#include "emu/process.h"

#include <algorithm>

#include "probesim/assert.h"
#include "probesim/limits.h"

namespace probesim::emu {
namespace {

constexpr uint64_t kRlimInfinity = ~0ull;

// Linux's defaults for a process started by init (include/asm-generic/resource.h), with
// RLIMIT_STACK 8 MiB and RLIMIT_NOFILE 1024 as a typical login shell has.
constexpr Rlimit kDefaultRlimits[Process::kRlimits] = {
    {kRlimInfinity, kRlimInfinity},  // CPU
    {kRlimInfinity, kRlimInfinity},  // FSIZE
    {kRlimInfinity, kRlimInfinity},  // DATA
    {8u << 20, kRlimInfinity},       // STACK
    {0, kRlimInfinity},              // CORE
    {kRlimInfinity, kRlimInfinity},  // RSS
    {4096, 4096},                    // NPROC
    {1024, 4096},                    // NOFILE
    {8u << 20, 8u << 20},            // MEMLOCK
    {kRlimInfinity, kRlimInfinity},  // AS
    {kRlimInfinity, kRlimInfinity},  // LOCKS
    {4096, 4096},                    // SIGPENDING
    {819200, 819200},                // MSGQUEUE
    {0, 0},                          // NICE
    {0, 0},                          // RTPRIO
    {kRlimInfinity, kRlimInfinity},  // RTTIME
};

}  // namespace

Process::Process(int pid, int ppid, std::unique_ptr<mmu::Mm> mm, bool resident)
    : pid_(pid), ppid_(ppid), mm_(std::move(mm)) {
  pgid = pid;
  sid = pid;
  std::copy(std::begin(kDefaultRlimits), std::end(kDefaultRlimits), rlimits.begin());
  tasks_.push_back(std::make_unique<Task>(pid, *this));
  if (resident) resident_ = tasks_.front().get();  // spawn sets its registers in the engine
}

void Process::replace_mm(std::unique_ptr<mmu::Mm> mm, std::unique_ptr<Cpu> cpu, Task& survivor) {
  release_cpu();
  mm_ = std::move(mm);
  attach_cpu(std::move(cpu));
  survivor.context.reset();
  resident_ = &survivor;
}

void Process::set_nofile_limit(uint64_t files) {
  set_rlimit(kRlimitNofile, Rlimit{std::min<uint64_t>(Limits::kSoftNofile, files), files});
}

void Process::set_rlimit(int resource, Rlimit lim) {
  rlimits[static_cast<size_t>(resource)] = lim;
  if (resource == kRlimitNofile) fds_.set_nofile(static_cast<int>(lim.cur));  // <= nr_open
}

Task& Process::add_task(int tid) {
  tasks_.push_back(std::make_unique<Task>(tid, *this));
  return *tasks_.back();
}

Task* Process::task(int tid) {
  for (auto& t : tasks_)
    if (t->tid() == tid) return t.get();
  return nullptr;
}

size_t Process::live_tasks() const {
  size_t n = 0;
  for (const auto& t : tasks_) n += t->state != TaskState::Dead;
  return n;
}

void Process::switch_to(Task& t) {
  if (resident_ == &t) return;
  PROBESIM_ASSERT(cpu_ != nullptr);
  if (resident_ && resident_->state != TaskState::Dead) {
    if (!resident_->context) resident_->context = cpu_->new_context();
    cpu_->save(*resident_->context);
  }
  PROBESIM_ASSERT_MSG(t.context != nullptr, "a non-resident task has no saved registers");
  cpu_->restore(*t.context);
  resident_ = &t;
}

Process::~Process() {
  release_cpu();  // the Cpu observes the mm: detach before either goes away
}

void Process::attach_cpu(std::unique_ptr<Cpu> cpu) {
  cpu_ = std::move(cpu);
  mm_->set_observer(cpu_.get());
}

void Process::release_cpu() {
  if (!cpu_) return;
  mm_->set_observer(nullptr);
  cpu_.reset();
}

void Process::set_exit(ExitStatus s) {
  if (!exit_) exit_ = std::move(s);
}

}  // namespace probesim::emu
