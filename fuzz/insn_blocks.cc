// Fuzz target: random instruction blocks, both arches, run by the product's Cpu (emu/cpu.h)
// over an Mm. Nothing here filters the bytes: the Cpu's own checks (emu/insn_policy.h) are all
// that stands between them and Unicorn, so a host abort (tcg fatal error, assert) is a finding.
// Input: arch byte, register seed (8 bytes), then up to 1 KiB of code (zero-filled page).
// Each arch has one Cpu for the whole run (uc_open per input would cost milliseconds), so every
// input also exercises invalidation of code that changed under cached translations.
#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "emu/arch_info.h"
#include "emu/cpu.h"
#include "emu/virtual_clock.h"
#include "fuzz/fuzz_input.h"
#include "mmu/mm.h"

using namespace probesim;
using namespace probesim::emu;
using probesim::fuzz::FuzzInput;

namespace {

constexpr uint64_t kCode = 0x400000, kData = 0x600000, kDataLen = 0x10000;
constexpr size_t kMaxCode = 1024;
uint64_t blocks_run[2];

struct StopAtSyscall : SyscallSink {
  void on_syscall(Cpu& cpu) override { cpu.request_stop(); }
};

// One engine over one mm: a code page (R-X), a data area and nothing else.
struct Rig {
  explicit Rig(Arch arch)
      : mm(mmu::MmLayout{GuestAddr{arch_info(arch).mmap_base}, GuestAddr{arch_info(arch).task_size}}) {
    constexpr int kFlags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
    if (mm.mmap(GuestAddr{kCode}, kPageSize, PROT_READ | PROT_EXEC, kFlags, nullptr,
                FileOffset{0}) != int64_t(kCode) ||
        mm.mmap(GuestAddr{kData}, kDataLen, PROT_READ | PROT_WRITE, kFlags, nullptr,
                FileOffset{0}) != int64_t(kData))
      std::abort();
    cpu = std::move(Cpu::create(arch, clock, sink).value());
    mm.set_observer(cpu.get());
  }

  VirtualClock clock;
  StopAtSyscall sink;
  mmu::Mm mm;
  std::unique_ptr<Cpu> cpu;
};

Rig& rig(Arch arch) {
  static Rig* rigs[2] = {new Rig(Arch::X86_64), new Rig(Arch::AArch64)};
  return *rigs[arch == Arch::AArch64];
}

// General registers: into the data area, small, or wild; from the seed, deterministically.
uint64_t reg_value(uint64_t& seed) {
  seed = seed * 6364136223846793005ull + 1442695040888963407ull;
  uint64_t r = seed >> 16;
  switch (seed >> 62) {
    case 0: return kData + (r % kDataLen);
    case 1: return r & 0xff;
    case 2: return kData + kDataLen - (r & 0x3f);
    default: return r * 0x9e3779b97f4a7c15ull;
  }
}

void set_registers(Cpu& cpu, uint64_t seed) {
  static const int x86[] = {UC_X86_REG_RAX, UC_X86_REG_RBX, UC_X86_REG_RCX, UC_X86_REG_RDX,
                            UC_X86_REG_RSI, UC_X86_REG_RDI, UC_X86_REG_RBP, UC_X86_REG_R8,
                            UC_X86_REG_R9,  UC_X86_REG_R10, UC_X86_REG_R11, UC_X86_REG_R12};
  if (cpu.arch() == Arch::X86_64) {
    for (int r : x86) cpu.set_reg(r, reg_value(seed));
  } else {
    for (int r = UC_ARM64_REG_X0; r <= UC_ARM64_REG_X28; ++r) cpu.set_reg(r, reg_value(seed));
  }
  cpu.set_reg(cpu.info().reg_sp, kData + kDataLen / 2);
}

void report() {
  std::fprintf(stderr, "insn_blocks: %llu blocks executed (x86_64 %llu, aarch64 %llu)\n",
               static_cast<unsigned long long>(blocks_run[0] + blocks_run[1]),
               static_cast<unsigned long long>(blocks_run[0]),
               static_cast<unsigned long long>(blocks_run[1]));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::atexit(report);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  Arch arch = (in.u8() & 1) ? Arch::AArch64 : Arch::X86_64;
  uint64_t seed = in.u64();
  std::vector<uint8_t> page(kPageSize, 0);
  std::span<const uint8_t> code = in.bytes(kMaxCode);
  std::copy(code.begin(), code.end(), page.begin());
  Rig& r = rig(arch);
  if (!r.mm.poke(GuestAddr{kCode}, page.data(), page.size())) std::abort();
  r.cpu->invalidate_code(GuestAddr{kCode}, kPageSize);  // the code changed under the engine
  set_registers(*r.cpu, seed);
  r.cpu->set_pc(kCode);
  r.cpu->run(InsnCount{2000});
  ++blocks_run[arch == Arch::AArch64];
  return 0;
}
