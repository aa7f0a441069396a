#include "emu/vdso.h"

#include <sys/stat.h>

#include <cstring>

#include "guest/vdso/vdso_abi.h"
#include "loader/elf_file.h"
#include "mmu/inode_backing.h"
#include "mmu/vm_flags.h"

namespace probesim::emu {
namespace {

// Linux 6.1's [vvar]: x86_64 VM_READ|VM_MAYREAD|VM_IO|VM_DONTDUMP|VM_PFNMAP
// (arch/x86/entry/vdso/vma.c map_vdso), arm64 VM_READ|VM_MAYREAD|VM_PFNMAP
// (arch/arm64/kernel/vdso.c __setup_additional_pages); sizes from vdso_abi.h.
struct VvarLayout {
  uint64_t pages;
  uint32_t vm_flags;
};

VvarLayout vvar_layout(Arch arch) {
  using namespace mmu;
  if (arch == Arch::X86_64)
    return {PROBESIM_VVAR_PAGES_X86_64, VM_READ | VM_MAYREAD | VM_IO | VM_DONTDUMP | VM_PFNMAP};
  return {PROBESIM_VVAR_PAGES_AARCH64, VM_READ | VM_MAYREAD | VM_PFNMAP};
}

std::vector<uint8_t> vvar_bytes(uint64_t counter_hz, int64_t epoch_sec) {
  probesim_vdso_data d{};
  d.clock_mode = PROBESIM_VDSO_CLOCKMODE_COUNTER;
  d.counter_hz = counter_hz;
  d.realtime_offset_sec = epoch_sec;
  d.tz_minuteswest = 0;  // sys_tz: UTC, as the model's gettimeofday
  d.tz_dsttime = 0;
  std::vector<uint8_t> out(sizeof d);
  std::memcpy(out.data(), &d, sizeof d);
  return out;
}

}  // namespace

Result<std::unique_ptr<Vdso>> Vdso::create(Arch arch, mmu::InodeCache& inodes,
                                           uint64_t counter_hz, int64_t epoch_sec) {
  std::span<const uint8_t> elf = builtin_vdso_image(arch);
  if (elf.empty()) return std::unique_ptr<Vdso>();
  // counter_ns() in vdso.c needs (hz - 1) * 1e9 to fit 64 bits.
  if (counter_hz == 0 || counter_hz >= 18'000'000'000u)
    return Error::make("vDSO: a counter of " + std::to_string(counter_hz) +
                           " Hz is outside (0, 18 GHz): choose another CPU frequency",
                       EINVAL);
  std::unique_ptr<Vdso> v(new Vdso());
  if (arch == Arch::AArch64) {  // linked at 0: the symbol's value is its offset
    loader::ElfFile parsed =
        PROBESIM_TRY(loader::ElfFile::parse(kName, std::vector<uint8_t>(elf.begin(), elf.end())));
    v->sigtramp_offset_ = PROBESIM_TRY(parsed.find_symbol("__kernel_rt_sigreturn")).value;
  }
  mmu::InodeAttrs attrs;
  attrs.mode = S_IFREG | 0444;
  attrs.size = elf.size();
  auto backing = std::make_unique<mmu::BytesBacking>(std::vector<uint8_t>(elf.begin(), elf.end()));
  v->inode_ = PROBESIM_TRY(insert_inode(inodes, std::string("vdso:") + std::string(arch_name(arch)),
                                        kName, attrs, std::move(backing), elf.size()));
  const VvarLayout vvar = vvar_layout(arch);
  v->image_ = loader::VdsoImage{v->inode_.get(), elf.size(), vvar.pages, vvar.vm_flags,
                                vvar_bytes(counter_hz, epoch_sec)};
  return v;
}

}  // namespace probesim::emu
