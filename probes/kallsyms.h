// Kallsyms: the guest kernel image's symbol table (Linux's kallsyms) and its kprobe blacklist.
//
// Built once from the vmprobesim ELF (guest/kernel) and immutable afterwards, so any thread
// may read it. Symbols are the image's .symtab entries that name code or data (section-
// relative, not mapping symbols like arm64's `$x`), with their ELF sizes; linker markers
// (_stext, __entry_text_start, ...) are kept with size 0 for name lookups.
//
// The blacklist is populate_kprobe_blacklist()'s (kernel/kprobes.c, docs/kernel-probes.md §2.6):
//   - every address listed in section _kprobe_blacklist (NOKPROBE_SYMBOL) expands to its
//     whole function [start, start + size);
//   - the areas .kprobes.text, .noinstr.text and the entry text (x86_64 and arm64 both
//     blacklist it) add one entry per function inside them, and the areas themselves are
//     blacklisted too (padding and inner labels included);
//   - a suffixed symbol (foo.isra.0) is blacklisted when foo is.
// The image marks the sections with Linux's symbols (__kprobes_text_start/_end,
// __noinstr_text_start/_end, __entry_text_start/_end, __start_/__stop_kprobe_blacklist).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "probesim/result.h"
#include "probesim/types.h"

namespace probesim::loader {
class ElfFile;
}

namespace probesim::probes {

struct KernelSymbol {
  std::string name;
  GuestAddr addr;
  uint64_t size = 0;  // ELF st_size (0 for linker markers)
  char type = '?';    // nm letter: T/t text, R/r rodata, D/d data, B/b bss (upper = global)
};

// A symbol containing an address, and the address's offset into it.
struct SymbolOffset {
  const KernelSymbol* sym = nullptr;
  uint64_t offset = 0;
};

// One line of /sys/kernel/debug/kprobes/blacklist: [start, end) and the function's name.
struct BlacklistEntry {
  GuestAddr start, end;
  std::string name;
};

class Kallsyms {
 public:
  // Errors (ENOEXEC): no symbol table, a half-marked blacklist area, a NOKPROBE address that
  // is not the start of a sized symbol. The image must be the guest kernel (ET_EXEC).
  static Result<Kallsyms> create(const loader::ElfFile& image);

  // Ascending address; at one address, sized symbols before markers, then by name.
  const std::vector<KernelSymbol>& symbols() const { return symbols_; }

  // kallsyms_lookup_name(): the first symbol (lowest address) with this name.
  const KernelSymbol* find(std::string_view name) const;
  // As find(), as a Result: ENOENT names the symbol (register_kprobe's -ENOENT).
  Result<GuestAddr> lookup_name(std::string_view name) const;
  // kallsyms_lookup_size_offset(): the sized symbol whose [addr, addr + size) holds addr.
  std::optional<SymbolOffset> lookup(GuestAddr addr) const;
  // %pS: "vfs_read+0x4/0x21", or "0xffffffff81000001" when no symbol holds addr.
  std::string format(GuestAddr addr) const;

  // core_kernel_text(): addr in [_stext, _etext).
  bool is_kernel_text(GuestAddr addr) const;
  GuestAddr text_start() const { return text_start_; }
  GuestAddr text_end() const { return text_end_; }

  // The functions a kprobe may be put on (available_filter_functions, `probesim events
  // --list`): sized text symbols in [_stext, _etext) outside the blacklist, ascending address.
  std::vector<std::string> probeable_functions() const;

  // Ascending start address, one entry per blacklisted function.
  const std::vector<BlacklistEntry>& blacklist() const { return blacklist_; }
  // within_kprobe_blacklist(): kprobes at addr must be refused with -EINVAL.
  bool within_kprobe_blacklist(GuestAddr addr) const;
  // The debugfs listing: "0x<start>-0x<end>\t<name>\n" per entry, %px style (16 digits).
  std::string format_blacklist() const;

 private:
  struct Area {
    GuestAddr start, end;
  };

  Kallsyms() = default;
  Result<void> add_symbols(const loader::ElfFile& image);
  Result<void> add_area(std::string_view start_marker, std::string_view end_marker);
  Result<void> add_nokprobe_entries(const loader::ElfFile& image);
  void add_function_entry(const KernelSymbol& sym);
  bool in_blacklist_entries(GuestAddr addr) const;

  std::vector<KernelSymbol> symbols_;
  std::vector<size_t> sized_;  // indices of symbols with size > 0, ascending address
  uint64_t max_size_ = 0;      // the largest symbol size (bounds lookup()'s backward scan)
  std::unordered_map<std::string, size_t> by_name_;  // name -> first index in symbols_
  GuestAddr text_start_, text_end_;
  std::vector<Area> areas_;
  std::vector<BlacklistEntry> blacklist_;
  std::string image_name_;
};

}  // namespace probesim::probes
