// KernelMemory: guest kernel memory as the kprobes engine sees it. The integrator implements it
// over the machine (writes go to the shared kernel frames and invalidate Unicorn translations in
// every engine that maps them); tests implement it over a bare Unicorn engine.
#pragma once

#include <cstdint>
#include <span>

#include "probesim/result.h"
#include "probesim/types.h"

namespace probesim::probes {

class KernelMemory {
 public:
  virtual ~KernelMemory() = default;

  // Reads current guest bytes (breakpoints included). False if any byte is unmapped.
  virtual bool read(GuestAddr addr, std::span<uint8_t> out) const = 0;
  // Patches code (Linux text_poke): must write even read-only text and must invalidate every
  // cached translation of [addr, addr+len) before the next guest instruction runs.
  virtual bool write_text(GuestAddr addr, std::span<const uint8_t> bytes) = 0;
  // Writes data (the kernel stack during emulated push/call and kretprobe hijack).
  virtual bool write(GuestAddr addr, std::span<const uint8_t> bytes) = 0;
  // A fresh, zeroed, executable page (kPageSize bytes, page aligned) for instruction slots.
  // x86_64: must lie within +-2 GiB of kernel text (module_alloc), else RIP-relative copies
  // cannot be rebased. Errors carry ENOMEM.
  virtual Result<GuestAddr> alloc_insn_page() = 0;
  // Returns a page obtained from alloc_insn_page (the slot cache frees empty pages).
  virtual void free_insn_page(GuestAddr page) = 0;
};

}  // namespace probesim::probes
