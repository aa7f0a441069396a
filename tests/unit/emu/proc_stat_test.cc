// /proc/<pid>/stat, /proc/<pid>/task/<tid>/stat and statm (emu/proc_pid.h): do_task_stat's 52
// fields and proc_pid_statm over a process's modelled state.
#include <doctest/doctest.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "emu/arch_info.h"
#include "emu/proc_pid.h"
#include "emu/process.h"
#include "mmu/mm.h"
#include "mmu/vm_flags.h"

namespace probesim::emu {
namespace {

constexpr uint64_t kHz = 1'000'000'000;  // 1 GHz: 10'000'000 cycles per clock tick

// pid 7 (parent 1, session 5) with 1 MiB of private anonymous memory and one thread.
std::unique_ptr<Process> make_process() {
  const ArchInfo& info = arch_info(Arch::X86_64);
  auto mm = std::make_unique<mmu::Mm>(
      mmu::MmLayout{GuestAddr{info.mmap_base}, GuestAddr{info.task_size}});
  const int64_t r =
      mm->mmap(GuestAddr{0x10000}, 1 << 20, mmu::kProtRead | mmu::kProtWrite,
               mmu::kMapPrivate | mmu::kMapAnonymous | mmu::kMapFixed, nullptr, FileOffset{0});
  REQUIRE(r == 0x10000);
  auto p = std::make_unique<Process>(7, 1, std::move(mm), /*resident=*/false);
  p->comm = "prog";
  p->sid = 5;
  Task& t = p->main_task();
  t.utime = Cycles{1'500'000'000};
  t.stime = Cycles{250'000'000};
  t.start_ns = 2'345'000'000;
  p->cutime = Cycles{1'000'000'000};
  return p;
}

std::vector<std::string> fields(const std::string& line) {
  REQUIRE(line.ends_with("\n"));
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string f; in >> f;) out.push_back(f);
  return out;
}

ProcSystem sys() {
  return ProcSystem{0, 1, Arch::X86_64, kHz};
}

TEST_CASE("/proc/<pid>/stat has 52 fields: ids, state, times in ticks, sizes, exit_signal") {
  auto p = make_process();
  const std::vector<std::string> f = fields(proc_pid_stat(*p, nullptr, sys()));
  REQUIRE(f.size() == 52);
  CHECK(f[0] == "7");
  CHECK(f[1] == "(prog)");
  CHECK(f[2] == "R");
  CHECK((f[3] == "1" && f[4] == "7" && f[5] == "5"));                          // ppid pgrp session
  CHECK((f[6] == "0" && f[7] == "-1" && f[8] == "0"));                         // tty_nr tpgid flags
  CHECK((f[13] == "150" && f[14] == "25" && f[15] == "100" && f[16] == "0"));  // u/s/cu/cs
  CHECK((f[17] == "20" && f[18] == "0" && f[19] == "1"));  // priority nice num_threads
  CHECK(f[21] == "234");                                   // starttime
  CHECK(f[22] == "1048576");                               // vsize
  CHECK(f[23] == "0");                                     // rss: not tracked
  CHECK(f[24] == "18446744073709551615");                  // rsslim: RLIM_INFINITY
  CHECK(f[34] == "0");                                     // wchan: running
  CHECK((f[37] == "17" && f[38] == "0"));                  // exit_signal processor
  CHECK(f[51] == "0");                                     // exit_code
}

TEST_CASE("a thread's stat shows its own id, times and exit_signal, the group's every thread") {
  auto p = make_process();
  Task& t = p->add_task(9);
  t.utime = Cycles{500'000'000};
  t.fork_noexec = true;
  t.last_cpu = 1;
  const std::vector<std::string> whole = fields(proc_pid_stat(*p, nullptr, sys()));
  const std::vector<std::string> thread = fields(proc_pid_stat(*p, &t, sys()));
  REQUIRE(thread.size() == 52);
  CHECK((whole[13] == "200" && whole[19] == "2" && whole[37] == "17"));
  CHECK((thread[0] == "9" && thread[3] == "1" && thread[4] == "7"));
  CHECK((thread[8] == "64" && thread[13] == "50" && thread[14] == "0"));  // PF_FORKNOEXEC
  CHECK((thread[19] == "2" && thread[37] == "-1" && thread[38] == "1"));
}

TEST_CASE("stat's state is S with wchan 1 for a sleeper and T in a group stop") {
  auto p = make_process();
  p->main_task().state = TaskState::Blocked;
  std::vector<std::string> f = fields(proc_pid_stat(*p, nullptr, sys()));
  CHECK((f[2] == "S" && f[34] == "1"));
  p->group_stop = 19;
  f = fields(proc_pid_stat(*p, nullptr, sys()));
  CHECK(f[2] == "T");
}

TEST_CASE("statm counts pages: size, no resident pages, data = private writable + stack") {
  auto p = make_process();
  CHECK(proc_pid_statm(*p) == "256 0 0 0 0 256 0\n");
  p->start_code = GuestAddr{0x401000};  // text: the pages the code bytes touch
  p->end_code = GuestAddr{0x402345};
  CHECK(proc_pid_statm(*p) == "256 0 0 2 0 256 0\n");
}

TEST_CASE("a thread's status shows its Pid under the group's Tgid") {
  auto p = make_process();
  Task& t = p->add_task(9);
  const std::string s = proc_pid_status(*p, &t, sys());
  CHECK(s.find("\nTgid:\t7\n") != std::string::npos);
  CHECK(s.find("\nPid:\t9\n") != std::string::npos);
  CHECK(proc_pid_status(*p, nullptr, sys()).find("\nPid:\t7\n") != std::string::npos);
  CHECK(proc_pid_text(*p, &t, "stat", sys()).value().starts_with("9 (prog) R 1 7 5 "));
}

}  // namespace
}  // namespace probesim::emu
