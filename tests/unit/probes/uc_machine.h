// Test harness for the kprobes engine: a fake kernel made of reference Unicorn engines
// (tests/support/uc_engine.h) sharing host memory (KernelMemory over uc_mem_map_ptr regions,
// code writes invalidate every engine), a SymbolSource over the generated guest image, and a
// runner that routes int3 / BRK traps to a KprobeManager exactly as the machine will (write
// back only dirty registers).
#pragma once

#include <unicorn/unicorn.h>

#include <exception>
#include <initializer_list>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "probes/kernel_memory.h"
#include "probes/kprobe_manager.h"
#include "probes/regs.h"
#include "probes/symbol_source.h"
#include "support/uc_engine.h"

namespace probesim::probes::test {

struct Layout {
  GuestAddr text;        // guest image base (text, then data at +0x1000)
  uint64_t text_size;    // bytes of executable text (the rest of the page is padding)
  GuestAddr insn_area;   // alloc_insn_page hands out pages from here
  GuestAddr stack;       // stack region base (64 KiB)
  GuestAddr stop;        // return address that ends a call()
};
Layout layout_for(Arch arch);

// Symbols of the generated guest image (guest_code.inc) plus a configurable blacklist.
class TestSymbols final : public SymbolSource {
 public:
  explicit TestSymbols(Arch arch);
  std::optional<FunctionSymbol> lookup(std::string_view name) const override;
  std::optional<FunctionSymbol> function_containing(GuestAddr addr) const override;
  bool is_kernel_text(GuestAddr addr) const override;
  bool is_blacklisted(GuestAddr addr) const override;
  void blacklist(std::string_view function);
  GuestAddr addr(std::string_view name) const;  // asserts the symbol exists
  uint64_t size(std::string_view name) const;

 private:
  Layout layout_;
  std::map<std::string, FunctionSymbol, std::less<>> syms_;
  std::set<std::string, std::less<>> blacklist_;
};

struct RunOutcome {
  bool ok = true;
  std::string error;
  uint64_t traps = 0;
  uint64_t probe_cycles = 0;
};

class UcMachine final : public KernelMemory {
 public:
  explicit UcMachine(Arch arch, int engines = 1);
  ~UcMachine() override;
  UcMachine(const UcMachine&) = delete;
  UcMachine& operator=(const UcMachine&) = delete;

  Arch arch() const { return arch_; }
  const Layout& layout() const { return layout_; }
  uc_engine* uc(int engine = 0) const { return engines_[engine].uc; }
  void load_guest_image();  // the generated image at layout().text
  void map(GuestAddr base, size_t size);
  uint8_t* host(GuestAddr addr, size_t len);  // host view of mapped guest memory, or null

  bool read(GuestAddr addr, std::span<uint8_t> out) const override;
  bool write_text(GuestAddr addr, std::span<const uint8_t> bytes) override;
  bool write(GuestAddr addr, std::span<const uint8_t> bytes) override;
  Result<GuestAddr> alloc_insn_page() override;
  void free_insn_page(GuestAddr page) override;
  size_t text_writes() const { return text_writes_; }
  size_t live_insn_pages() const { return live_pages_.size(); }

  Regs read_regs(int engine = 0) const;
  void write_regs(const Regs& regs, int engine = 0, bool dirty_only = false);

  // Runs from regs.ip until ip == stop; traps go to mgr (null: any trap is an error).
  RunOutcome run(Regs& regs, GuestAddr stop, KprobeManager* mgr, HitContext ctx = {},
                 int engine = 0);
  // Calls fn(args...) with the ABI, returns the return value (regs_out: the final registers).
  uint64_t call(GuestAddr fn, std::initializer_list<uint64_t> args, KprobeManager* mgr,
                HitContext ctx = {}, int engine = 0, RunOutcome* outcome = nullptr,
                Regs* regs_out = nullptr);
  // A register state for calling fn (stack, return address = stop).
  Regs call_regs(GuestAddr fn, std::initializer_list<uint64_t> args, int engine = 0);

 private:
  struct Region {
    GuestAddr base;
    size_t size;
    std::unique_ptr<uint8_t[]> mem;
  };
  struct Engine {
    UcMachine* self = nullptr;
    int index = 0;
    std::unique_ptr<probesim::test::UcEngine> engine;
    uc_engine* uc = nullptr;  // engine's
    KprobeManager* mgr = nullptr;
    HitContext ctx;
    RunOutcome* outcome = nullptr;
    uint64_t blocks = 0;
    uint64_t stop = 0;  // a block starting here ends the run (also after a hook moved ip)
    std::exception_ptr error;
  };
  static void on_intr(uc_engine* uc, uint32_t intno, void* user) noexcept;
  static void on_block(uc_engine* uc, uint64_t addr, uint32_t size, void* user) noexcept;
  void handle_trap(Engine& e, uint32_t intno);
  const Region* region_of(GuestAddr addr, size_t len) const;

  Arch arch_;
  Layout layout_;
  std::vector<Region> regions_;
  std::vector<Engine> engines_;
  size_t text_writes_ = 0;
  uint64_t next_page_ = 0;
  std::vector<uint64_t> free_pages_;
  std::set<uint64_t> live_pages_;
};

}  // namespace probesim::probes::test
