#include "emu/cpu_identity.h"

#include <unicorn/unicorn.h>

#include "emu/arch_info.h"
#include "probesim/assert.h"

namespace probesim::emu {
namespace {

// The leaves arch/x86/kernel/cpu (get_cpu_cap, get_model_name, cpu_detect_cache_sizes,
// get_cpu_address_sizes) reads for what /proc/cpuinfo shows.
constexpr std::array<std::array<uint32_t, 2>, 11> kCpuidLeaves = {{
    {0, 0},
    {1, 0},
    {7, 0},
    {0x80000000, 0},
    {0x80000001, 0},
    {0x80000002, 0},
    {0x80000003, 0},
    {0x80000004, 0},
    {0x80000006, 0},
    {0x80000007, 0},
    {0x80000008, 0},
}};

constexpr uint64_t kCodeAddr = 0x1000;

CpuIdentity query_x86(uc_engine* uc) {
  static constexpr uint8_t kCpuid[] = {0x0f, 0xa2};
  PROBESIM_ASSERT(uc_mem_map(uc, kCodeAddr, 0x1000, UC_PROT_READ | UC_PROT_EXEC) == UC_ERR_OK);
  PROBESIM_ASSERT(uc_mem_write(uc, kCodeAddr, kCpuid, sizeof kCpuid) == UC_ERR_OK);
  CpuIdentity id;
  id.arch = Arch::X86_64;
  for (size_t i = 0; i < kCpuidLeaves.size(); ++i) {
    uint64_t a = kCpuidLeaves[i][0], b = 0, c = kCpuidLeaves[i][1], d = 0;
    uc_reg_write(uc, UC_X86_REG_RAX, &a);
    uc_reg_write(uc, UC_X86_REG_RCX, &c);
    PROBESIM_ASSERT(uc_emu_start(uc, kCodeAddr, kCodeAddr + sizeof kCpuid, 0, 1) == UC_ERR_OK);
    uc_reg_read(uc, UC_X86_REG_RAX, &a);
    uc_reg_read(uc, UC_X86_REG_RBX, &b);
    uc_reg_read(uc, UC_X86_REG_RCX, &c);
    uc_reg_read(uc, UC_X86_REG_RDX, &d);
    id.cpuid[i] = {kCpuidLeaves[i][0], kCpuidLeaves[i][1], static_cast<uint32_t>(a),
                   static_cast<uint32_t>(b), static_cast<uint32_t>(c), static_cast<uint32_t>(d)};
  }
  return id;
}

CpuIdentity query_arm64(uc_engine* uc) {
  uc_arm64_cp_reg midr{};  // MIDR_EL1: op0=3 op1=0 CRn=0 CRm=0 op2=0
  midr.op0 = 3;
  PROBESIM_ASSERT(uc_reg_read(uc, UC_ARM64_REG_CP_REG, &midr) == UC_ERR_OK);
  CpuIdentity id;
  id.arch = Arch::AArch64;
  id.midr = midr.val;
  return id;
}

CpuIdentity query(Arch arch) {
  const ArchInfo& info = arch_info(arch);
  uc_engine* uc = nullptr;
  PROBESIM_ASSERT(uc_open(info.uc_arch_id, info.uc_mode_id, &uc) == UC_ERR_OK);
  CpuIdentity id = arch == Arch::X86_64 ? query_x86(uc) : query_arm64(uc);
  uc_close(uc);
  return id;
}

}  // namespace

CpuidLeaf CpuIdentity::leaf(uint32_t leaf, uint32_t subleaf) const {
  for (const CpuidLeaf& l : cpuid)
    if (l.leaf == leaf && l.subleaf == subleaf) return l;
  return CpuidLeaf{leaf, subleaf};
}

const CpuIdentity& cpu_identity(Arch arch) {
  if (arch == Arch::X86_64) {
    static const CpuIdentity x86 = query(Arch::X86_64);
    return x86;
  }
  static const CpuIdentity arm64 = query(Arch::AArch64);
  return arm64;
}

}  // namespace probesim::emu
