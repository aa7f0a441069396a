#include "emu/kernel/kernel_space.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "emu/kernel/kernel_images.h"
#include "guest/kernel/include/entry_abi.h"
#include "probesim/assert.h"

namespace probesim::emu {
namespace {

constexpr uint32_t kVmRead = 1, kVmWrite = 2, kVmExec = 4;

uint32_t vm_prot_of(uint32_t p_flags) {  // PF_X 1, PF_W 2, PF_R 4
  return ((p_flags & 4) ? kVmRead : 0) | ((p_flags & 2) ? kVmWrite : 0) |
         ((p_flags & 1) ? kVmExec : 0);
}

uint64_t base_of(Arch arch) { return arch == Arch::X86_64 ? KERNEL_BASE_X86_64 : KERNEL_BASE_ARM64; }

// Lowest index in [0, limit) not in `used`.
std::optional<uint64_t> lowest_free(const std::set<uint64_t>& used, uint64_t limit) {
  uint64_t i = 0;
  for (uint64_t u : used) {
    if (u != i) break;
    ++i;
  }
  if (i >= limit) return std::nullopt;
  return i;
}

}  // namespace

Result<std::unique_ptr<KernelSpace>> KernelSpace::create(Arch arch) {
  std::span<const uint8_t> blob = builtin_kernel_image(arch);
  if (blob.empty())
    return Error::make("this probesim was built without a guest kernel for " +
                           std::string(arch_name(arch)) + " (its cross compiler was missing)",
                       ENOEXEC);
  return create(arch, "vmprobesim (" + std::string(arch_name(arch)) + ", built in)",
                std::vector<uint8_t>(blob.begin(), blob.end()));
}

Result<std::unique_ptr<KernelSpace>> KernelSpace::create(Arch arch, std::string name,
                                                         std::vector<uint8_t> image) {
  loader::ElfFile elf = PROBESIM_TRY(loader::ElfFile::parse(name, std::move(image)));
  if (elf.arch() != arch)
    return Error::make(name + ": the guest kernel is not for " + std::string(arch_name(arch)),
                       ENOEXEC);
  probes::Kallsyms k = PROBESIM_TRY(probes::Kallsyms::create(elf));
  std::unique_ptr<KernelSpace> ks(new KernelSpace(arch, std::move(elf), std::move(k)));
  PROBESIM_TRY_VOID(ks->map_areas());
  return ks;
}

KernelSpace::KernelSpace(Arch arch, loader::ElfFile image, probes::Kallsyms kallsyms)
    : arch_(arch), base_(GuestAddr{base_of(arch)}) {
  image_.emplace(std::move(image));
  kallsyms_.emplace(std::move(kallsyms));
  symbols_ = std::make_unique<probes::KallsymsSymbols>(*kallsyms_);
}

// The image: one arena over all PT_LOADs, each page with the union of its segments' rights
// (runs of equal rights become regions). Then the modules and stacks areas.
Result<void> KernelSpace::map_areas() {
  std::vector<loader::ElfSegment> segs = image_->load_segments();
  if (segs.empty()) return Error::make(image_->name() + ": no PT_LOAD", ENOEXEC);
  uint64_t lo = page_align_down(segs.front().vaddr);
  uint64_t hi = 0;
  for (const auto& s : segs) hi = std::max(hi, page_align_up(s.vaddr + s.memsz));
  if (lo != base_.value || hi - lo > kModulesOffset)
    return Error::make(image_->name() + ": the image must lie in [base, base + 8 MiB)", ENOEXEC);
  auto img = PROBESIM_TRY(mmu::HostArena::create(hi - lo, "kernel image"));
  std::map<uint64_t, uint32_t> page_prot;
  for (const auto& s : segs) {
    std::memcpy(img->data() + (s.vaddr - lo), image_->bytes().data() + s.offset, s.filesz);
    for (uint64_t p = page_align_down(s.vaddr); p < s.vaddr + s.memsz; p += kPageSize)
      page_prot[p] |= vm_prot_of(s.flags);
  }
  areas_.push_back(Area{GuestAddr{lo}, hi - lo, img});
  for (auto it = page_prot.begin(); it != page_prot.end();) {
    auto run_end = std::next(it);
    while (run_end != page_prot.end() && run_end->second == it->second &&
           run_end->first == std::prev(run_end)->first + kPageSize)
      ++run_end;
    uint64_t len = std::prev(run_end)->first + kPageSize - it->first;
    regions_.push_back(KernelRegion{GuestAddr{it->first}, len, img->data() + (it->first - lo),
                                    it->second});
    it = run_end;
  }
  auto mods = PROBESIM_TRY(mmu::HostArena::create(kModulesSize, "kernel insn pages"));
  auto stacks = PROBESIM_TRY(mmu::HostArena::create(kStackArea, "kernel stacks"));
  areas_.push_back(Area{base_ + kModulesOffset, kModulesSize, mods});
  areas_.push_back(Area{base_ + kStacksOffset, kStackArea, stacks});
  regions_.push_back(KernelRegion{base_ + kModulesOffset, kModulesSize, mods->data(),
                                  kVmRead | kVmWrite | kVmExec});
  regions_.push_back(KernelRegion{base_ + kStacksOffset, kStackArea, stacks->data(),
                                  kVmRead | kVmWrite});
  return {};
}

GuestAddr KernelSpace::sym(std::string_view name) const {
  const probes::KernelSymbol* s = kallsyms_->find(name);
  PROBESIM_ASSERT_MSG(s != nullptr, "the guest kernel has no symbol " + std::string(name));
  return s->addr;
}

const KernelSpace::Area* KernelSpace::area_of(GuestAddr a, size_t n) const {
  for (const Area& ar : areas_)
    if (a >= ar.start && a.value - ar.start.value <= ar.len && n <= ar.len - (a.value - ar.start.value))
      return &ar;
  return nullptr;
}

bool KernelSpace::contains(GuestAddr a) const { return area_of(a, 1) != nullptr; }

uint8_t* KernelSpace::host(GuestAddr a, size_t n) const {
  const Area* ar = area_of(a, n);
  return ar ? ar->mem->data() + (a.value - ar->start.value) : nullptr;
}

uint64_t KernelSpace::read_u64(GuestAddr a) const {
  const uint8_t* p = host(a, 8);
  PROBESIM_ASSERT_MSG(p != nullptr, "kernel read outside the kernel areas");
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

void KernelSpace::write_u64(GuestAddr a, uint64_t v) {
  uint8_t* p = host(a, 8);
  PROBESIM_ASSERT_MSG(p != nullptr, "kernel write outside the kernel areas");
  std::memcpy(p, &v, 8);
}

Result<GuestAddr> KernelSpace::alloc_stack() {
  auto i = lowest_free(stacks_used_, kStackArea / THREAD_SIZE);
  if (!i) return Error::make("out of kernel stacks", ENOMEM);
  stacks_used_.insert(*i);
  const Area& ar = areas_[kStacks];
  std::memset(ar.mem->data() + *i * THREAD_SIZE, 0, THREAD_SIZE);
  return ar.start + (*i + 1) * THREAD_SIZE;
}

void KernelSpace::free_stack(GuestAddr top) {
  uint64_t i = (top.value - areas_[kStacks].start.value) / THREAD_SIZE - 1;
  PROBESIM_ASSERT_MSG(stacks_used_.erase(i) == 1, "freeing a kernel stack twice");
}

bool KernelSpace::read(GuestAddr addr, std::span<uint8_t> out) const {
  const uint8_t* p = host(addr, out.size());
  if (p) std::memcpy(out.data(), p, out.size());
  return p != nullptr;
}

bool KernelSpace::write(GuestAddr addr, std::span<const uint8_t> bytes) {
  uint8_t* p = host(addr, bytes.size());
  if (p) std::memcpy(p, bytes.data(), bytes.size());
  return p != nullptr;
}

bool KernelSpace::write_text(GuestAddr addr, std::span<const uint8_t> bytes) {
  if (!write(addr, bytes)) return false;
  if (invalidate) invalidate(addr, bytes.size());
  return true;
}

Result<GuestAddr> KernelSpace::alloc_insn_page() {
  auto i = lowest_free(pages_used_, kModulesSize / kPageSize);
  if (!i) return Error::make("out of kernel insn pages", ENOMEM);
  pages_used_.insert(*i);
  GuestAddr page = areas_[kModules].start + *i * kPageSize;
  std::memset(host(page, kPageSize), 0, kPageSize);
  if (invalidate) invalidate(page, kPageSize);
  return page;
}

void KernelSpace::free_insn_page(GuestAddr page) {
  pages_used_.erase((page.value - areas_[kModules].start.value) / kPageSize);
}

}  // namespace probesim::emu
