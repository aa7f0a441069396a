#include "emu/process.h"

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

Process::Process(int pid, int ppid, std::unique_ptr<mmu::Mm> mm)
    : pid_(pid), ppid_(ppid), mm_(std::move(mm)) {
  pgid = pid;
  sid = pid;
  std::copy(std::begin(kDefaultRlimits), std::end(kDefaultRlimits), rlimits.begin());
  tasks_.push_back(std::make_unique<Task>(pid, *this));
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
