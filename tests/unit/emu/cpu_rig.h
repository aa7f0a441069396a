// A bare Cpu over an Mm for the Cpu's unit tests (no machine, no kernel): one page of code at
// kRigCode, more pages with map(), then start() creates the Cpu at kRigCode; it realizes every
// mapping through the Mm's observer. SinkT is the test's SyscallSink.
#pragma once

#include <doctest/doctest.h>
#include <sys/mman.h>

#include <memory>
#include <span>

#include "emu/arch_info.h"
#include "emu/cpu.h"
#include "emu/virtual_clock.h"
#include "mmu/mm.h"

namespace probesim::emu {

inline constexpr uint64_t kRigCode = 0x400000;

template <class SinkT>
struct CpuRig {
  CpuRig(Arch arch, std::span<const uint8_t> code, int prot = PROT_READ | PROT_EXEC)
      : arch_(arch),
        mm(mmu::MmLayout{GuestAddr{arch_info(arch).mmap_base}, GuestAddr{arch_info(arch).task_size}}) {
    map(kRigCode);
    REQUIRE(mm.poke(GuestAddr{kRigCode}, code.data(), code.size()));
    REQUIRE(mm.mprotect(GuestAddr{kRigCode}, kPageSize, prot) == 0);
  }
  CpuRig(const CpuRig&) = delete;
  CpuRig& operator=(const CpuRig&) = delete;
  ~CpuRig() { mm.set_observer(nullptr); }

  // One anonymous page at `at`.
  void map(uint64_t at, int prot = PROT_READ | PROT_WRITE) {
    constexpr int kFlags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
    REQUIRE(mm.mmap(GuestAddr{at}, kPageSize, prot, kFlags, nullptr, FileOffset{0}) == int64_t(at));
  }
  // The Cpu, its pc at kRigCode.
  Cpu& start() {
    auto c = Cpu::create(arch_, clock, sink);
    REQUIRE(c.ok());
    cpu = std::move(c.value());
    mm.set_observer(cpu.get());
    cpu->set_pc(kRigCode);
    return *cpu;
  }
  CpuStop run() { return cpu->run(InsnCount{10'000}); }

  Arch arch_;
  VirtualClock clock;
  SinkT sink;
  mmu::Mm mm;
  std::unique_ptr<Cpu> cpu;
};

}  // namespace probesim::emu
