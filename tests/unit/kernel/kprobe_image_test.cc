// The kprobes engine on the real guest kernel image: registration by symbol through
// KallsymsSymbols, real breakpoint bytes in the image's text, original bytes readable, and
// Linux's errors for unknown symbols, blacklisted code and non-boundaries.
#include <doctest/doctest.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <vector>

#include "kernel_harness.h"
#include "probes/kallsyms.h"
#include "probes/kallsyms_symbols.h"
#include "probes/kernel_memory.h"
#include "probes/kprobe.h"
#include "probes/kprobe_manager.h"

namespace probesim::kernel_test {
namespace {

// The image's PT_LOAD bytes as flat memory, plus insn pages above the image.
class ImageMemory final : public probes::KernelMemory {
 public:
  explicit ImageMemory(const loader::ElfFile& elf) {
    for (const loader::ElfSegment& s : elf.load_segments()) {
      std::vector<uint8_t> bytes(page_align_up(s.memsz));
      std::memcpy(bytes.data(), elf.bytes().data() + s.offset, s.filesz);
      end_ = std::max(end_, page_align_up(s.vaddr + s.memsz));
      regions_[s.vaddr] = std::move(bytes);
    }
  }
  bool read(GuestAddr a, std::span<uint8_t> out) const override {
    const uint8_t* p = at(a, out.size());
    if (p) std::memcpy(out.data(), p, out.size());
    return p != nullptr;
  }
  bool write_text(GuestAddr a, std::span<const uint8_t> in) override {
    ++text_writes;
    return write(a, in);
  }
  bool write(GuestAddr a, std::span<const uint8_t> in) override {
    uint8_t* p = const_cast<uint8_t*>(at(a, in.size()));
    if (p) std::memcpy(p, in.data(), in.size());
    return p != nullptr;
  }
  Result<GuestAddr> alloc_insn_page() override {
    uint64_t page = end_ + kPageSize * (1 + regions_.size());
    regions_[page] = std::vector<uint8_t>(kPageSize);
    return GuestAddr{page};
  }
  void free_insn_page(GuestAddr page) override { regions_.erase(page.value); }
  int text_writes = 0;

 private:
  const uint8_t* at(GuestAddr a, size_t n) const {
    auto it = regions_.upper_bound(a.value);
    if (it == regions_.begin()) return nullptr;
    --it;
    uint64_t off = a.value - it->first;
    return off + n <= it->second.size() ? it->second.data() + off : nullptr;
  }
  std::map<uint64_t, std::vector<uint8_t>> regions_;
  uint64_t end_ = 0;
};

struct Fixture {
  explicit Fixture(Arch a)
      : image(load_kernel_image(a)),
        kallsyms(probes::Kallsyms::create(image).value()),
        syms(kallsyms),
        mem(image),
        mgr(a, mem, syms) {}
  loader::ElfFile image;
  probes::Kallsyms kallsyms;
  probes::KallsymsSymbols syms;
  ImageMemory mem;
  probes::KprobeManager mgr;
};

int register_symbol(Fixture& f, probes::Kprobe& kp, const char* sym, uint64_t off = 0) {
  kp.symbol_name = sym;
  kp.offset = off;
  kp.pre_handler = [](probes::Kprobe&, probes::Regs&) { return 0; };
  auto r = f.mgr.register_kprobe(kp);
  return r.ok() ? 0 : -r.error().err;
}

}  // namespace

TEST_CASE("kprobes on the kernel image: a breakpoint patched into vfs_write, originals kept") {
  for (Arch a : {Arch::X86_64, Arch::AArch64}) {
    Fixture f(a);
    GuestAddr fn = f.kallsyms.lookup_name("vfs_write").value();
    std::vector<uint8_t> before(4);
    REQUIRE(f.mem.read(fn, before));
    probes::Kprobe kp;
    REQUIRE(register_symbol(f, kp, "vfs_write") == 0);
    CHECK(kp.addr == fn);
    std::vector<uint8_t> now(4), orig(4);
    REQUIRE(f.mem.read(fn, now));
    REQUIRE(f.mgr.read_original(fn, orig));
    CHECK(orig == before);
    if (a == Arch::X86_64) {
      CHECK(now[0] == 0xCC);
    } else {
      uint32_t w;
      std::memcpy(&w, now.data(), 4);
      CHECK(w == 0xd4200080u);  // BRK #4
    }
    CHECK(f.mgr.list().find("vfs_write+0x0") != std::string::npos);
    f.mgr.unregister_kprobe(kp);
    REQUIRE(f.mem.read(fn, now));
    CHECK(now == before);
  }
}

TEST_CASE("kprobes on the kernel image: Linux's errors for bad targets") {
  for (Arch a : {Arch::X86_64, Arch::AArch64}) {
    Fixture f(a);
    probes::Kprobe unknown, entry, nokprobe, misaligned;
    CHECK(register_symbol(f, unknown, "no_such_function") == -ENOENT);
    const char* entry_sym = a == Arch::X86_64 ? "entry_SYSCALL_64" : "el0_svc";
    CHECK(register_symbol(f, entry, entry_sym) == -EINVAL);  // blacklisted entry code
    CHECK(register_symbol(f, nokprobe, "kprobe_nokprobe_target") == -EINVAL);
    // +1 is inside kprobe_target's first instruction (x86_64: a multi-byte lea, so not an
    // instruction boundary: -EILSEQ; arm64: not 4-byte aligned: -EINVAL).
    int expected = a == Arch::X86_64 ? -EILSEQ : -EINVAL;
    CHECK(register_symbol(f, misaligned, "kprobe_target", 1) == expected);
    CHECK(f.mem.text_writes == 0);  // nothing was patched
  }
}

}  // namespace probesim::kernel_test
