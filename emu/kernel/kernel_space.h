// KernelSpace: the guest kernel's half of every address space. It owns the loaded vmprobesim
// image (guest/kernel), its kallsyms, and the host memory of three kernel areas that every
// engine maps at the same guest addresses onto the same host frames (docs/design.md "The kernel"):
//   image   [_text, _end)                 the PT_LOADs, with their ELF protections
//   modules [base + 8 MiB, + 1 MiB)        insn slot pages (x86_64: within +-2 GiB of text)
//   stacks  [base + 16 MiB, + kStackArea)  THREAD_SIZE kernel stacks, THREAD_SIZE aligned
// It is the kprobes engine's KernelMemory: text writes land in the shared frames and then
// `invalidate` (set by the machine) drops the translations of every engine.
//
// Ownership: one per MachineState, outliving every Cpu (engines map its host memory).
// Determinism: stacks and insn pages are handed out lowest-free-first.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string_view>
#include <vector>

#include "emu/cpu.h"
#include "loader/elf_file.h"
#include "mmu/host_arena.h"
#include "probes/kallsyms.h"
#include "probes/kallsyms_symbols.h"
#include "probes/kernel_memory.h"
#include "probesim/result.h"
#include "probesim/types.h"

namespace probesim::emu {

// One region every engine maps (uc_mem_map_ptr): guest range, host bytes, VM_READ/WRITE/EXEC.
using KernelRegion = FixedMapping;

class KernelSpace final : public probes::KernelMemory {
 public:
  static constexpr uint64_t kModulesOffset = 8ull << 20;
  static constexpr uint64_t kModulesSize = 1ull << 20;
  static constexpr uint64_t kStacksOffset = 16ull << 20;
  static constexpr uint64_t kStackArea = 256ull << 20;  // 16384 stacks (NORESERVE)

  // The image built into probesim for `arch` (emu/kernel/kernel_images.cc.in).
  static Result<std::unique_ptr<KernelSpace>> create(Arch arch);
  // An image given as bytes (tests, --kernel); `name` appears in errors.
  static Result<std::unique_ptr<KernelSpace>> create(Arch arch, std::string name,
                                                     std::vector<uint8_t> image);

  Arch arch() const { return arch_; }
  GuestAddr base() const { return base_; }
  GuestAddr entry() const { return GuestAddr{image_->entry()}; }
  const probes::Kallsyms& kallsyms() const { return *kallsyms_; }
  const probes::SymbolSource& symbols() const { return *symbols_; }
  // A symbol's address; asserts that it exists (names the image contract relies on).
  GuestAddr sym(std::string_view name) const;
  const std::vector<KernelRegion>& regions() const { return regions_; }
  // True for addresses in any kernel area (image, modules, stacks).
  bool contains(GuestAddr a) const;
  // Host bytes of [a, a + n) inside one area, or null.
  uint8_t* host(GuestAddr a, size_t n) const;
  uint64_t read_u64(GuestAddr a) const;
  void write_u64(GuestAddr a, uint64_t v);

  // Kernel stacks: the top of a fresh zeroed THREAD_SIZE stack (ENOMEM when all are in use).
  Result<GuestAddr> alloc_stack();
  void free_stack(GuestAddr top);
  size_t stacks_in_use() const { return stacks_used_.size(); }

  // Called after every text write with the changed range (every engine must drop it).
  std::function<void(GuestAddr, uint64_t)> invalidate;

  // probes::KernelMemory
  bool read(GuestAddr addr, std::span<uint8_t> out) const override;
  bool write_text(GuestAddr addr, std::span<const uint8_t> bytes) override;
  bool write(GuestAddr addr, std::span<const uint8_t> bytes) override;
  Result<GuestAddr> alloc_insn_page() override;
  void free_insn_page(GuestAddr page) override;

 private:
  struct Area {
    GuestAddr start;
    uint64_t len;
    std::shared_ptr<mmu::HostArena> mem;
  };
  KernelSpace(Arch arch, loader::ElfFile image, probes::Kallsyms kallsyms);
  Result<void> map_areas();
  const Area* area_of(GuestAddr a, size_t n) const;

  Arch arch_;
  GuestAddr base_;
  std::optional<loader::ElfFile> image_;
  std::optional<probes::Kallsyms> kallsyms_;
  std::unique_ptr<probes::KallsymsSymbols> symbols_;
  enum AreaIndex { kImage, kModules, kStacks };
  std::vector<Area> areas_;  // indexed by AreaIndex
  std::vector<KernelRegion> regions_;
  std::set<uint64_t> stacks_used_;  // stack indices
  std::set<uint64_t> pages_used_;   // module page indices
};

}  // namespace probesim::emu
