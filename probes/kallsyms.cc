#include "probes/kallsyms.h"

#include <elf.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cinttypes>
#include <cstdio>

#include "loader/elf_file.h"
#include "probesim/hex.h"

namespace probesim::probes {
namespace {

Error bad_image(const std::string& name, const std::string& what) {
  return Error::make(name + ": not a usable guest kernel image: " + what +
                         " (rebuild the guest_kernel target)",
                     ENOEXEC);
}

// Code and data symbols: not undefined, absolute or common, not arm64 mapping symbols ($x).
bool wanted(const loader::ElfSymbol& s) {
  if (s.dynamic || s.name.empty() || s.name[0] == '$') return false;
  if (s.shndx == SHN_UNDEF || s.shndx >= SHN_LORESERVE) return false;
  return s.type == STT_FUNC || s.type == STT_OBJECT || s.type == STT_NOTYPE;
}

// nm's letter from the PT_LOAD holding the address (a marker may sit at a segment's end).
char type_letter(const loader::ElfSymbol& s, const std::vector<loader::ElfSegment>& loads) {
  char c = '?';
  for (const loader::ElfSegment& seg : loads) {
    if (s.value < seg.vaddr || s.value > seg.vaddr + seg.memsz) continue;
    if (seg.flags & PF_X)
      c = 't';
    else if (seg.flags & PF_W)
      c = s.value >= seg.vaddr + seg.filesz ? 'b' : 'd';
    else
      c = 'r';
    break;
  }
  bool global = s.bind == STB_GLOBAL || s.bind == STB_WEAK;
  return global ? static_cast<char>(std::toupper(c)) : c;
}

uint64_t read_le64(const std::vector<uint8_t>& bytes, uint64_t off) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | bytes[off + i];
  return v;
}

}  // namespace

Result<Kallsyms> Kallsyms::create(const loader::ElfFile& image) {
  Kallsyms k;
  k.image_name_ = image.name();
  PROBESIM_TRY_VOID(k.add_symbols(image));
  const KernelSymbol* stext = k.find("_stext");
  const KernelSymbol* etext = k.find("_etext");
  if (!stext || !etext || etext->addr < stext->addr)
    return bad_image(k.image_name_, "no kernel text markers _stext/_etext");
  k.text_start_ = stext->addr;
  k.text_end_ = etext->addr;
  PROBESIM_TRY_VOID(k.add_area("__entry_text_start", "__entry_text_end"));
  PROBESIM_TRY_VOID(k.add_area("__kprobes_text_start", "__kprobes_text_end"));
  PROBESIM_TRY_VOID(k.add_area("__noinstr_text_start", "__noinstr_text_end"));
  PROBESIM_TRY_VOID(k.add_nokprobe_entries(image));
  auto by_range = [](const BlacklistEntry& a, const BlacklistEntry& b) {
    return a.start != b.start ? a.start < b.start : a.end < b.end;
  };
  auto same = [](const BlacklistEntry& a, const BlacklistEntry& b) {
    return a.start == b.start && a.end == b.end;
  };
  std::sort(k.blacklist_.begin(), k.blacklist_.end(), by_range);
  k.blacklist_.erase(std::unique(k.blacklist_.begin(), k.blacklist_.end(), same),
                     k.blacklist_.end());
  return k;
}

Result<void> Kallsyms::add_symbols(const loader::ElfFile& image) {
  auto syms = image.symbols();
  if (!syms.ok()) return syms.take_error();
  std::vector<loader::ElfSegment> loads = image.load_segments();
  for (const loader::ElfSymbol& s : **syms) {
    if (!wanted(s)) continue;
    symbols_.push_back(KernelSymbol{s.name, GuestAddr{s.value}, s.size, type_letter(s, loads)});
  }
  if (symbols_.empty()) return bad_image(image.name(), "no symbol table (was it stripped?)");
  std::sort(symbols_.begin(), symbols_.end(), [](const KernelSymbol& a, const KernelSymbol& b) {
    if (a.addr != b.addr) return a.addr < b.addr;
    if ((a.size == 0) != (b.size == 0)) return a.size != 0;
    return a.name < b.name;
  });
  for (size_t i = 0; i < symbols_.size(); i++) {
    by_name_.emplace(symbols_[i].name, i);  // keeps the first (lowest address)
    if (symbols_[i].size == 0) continue;
    sized_.push_back(i);
    max_size_ = std::max(max_size_, symbols_[i].size);
  }
  return {};
}

// A marked area: blacklisted as a whole, plus one entry per function inside it (Linux's
// kprobe_add_area_blacklist). Both markers absent means the image has no such area.
Result<void> Kallsyms::add_area(std::string_view start_marker, std::string_view end_marker) {
  const KernelSymbol* start = find(start_marker);
  const KernelSymbol* end = find(end_marker);
  if (!start && !end) return {};
  if (!start || !end || end->addr < start->addr)
    return bad_image(image_name_, std::string("blacklist area markers ") +
                                      std::string(start_marker) + "/" +
                                      std::string(end_marker) + " are incomplete");
  areas_.push_back(Area{start->addr, end->addr});
  for (size_t i : sized_) {
    const KernelSymbol& s = symbols_[i];
    if (s.addr >= start->addr && s.addr < end->addr) add_function_entry(s);
  }
  return {};
}

// NOKPROBE_SYMBOL(fn) stores fn's address in section _kprobe_blacklist.
Result<void> Kallsyms::add_nokprobe_entries(const loader::ElfFile& image) {
  const KernelSymbol* start = find("__start_kprobe_blacklist");
  const KernelSymbol* stop = find("__stop_kprobe_blacklist");
  if (!start && !stop) return {};
  if (!start || !stop || stop->addr < start->addr || (stop->addr - start->addr) % 8 != 0)
    return bad_image(image_name_, "section _kprobe_blacklist is not marked correctly");
  uint64_t count = (stop->addr - start->addr) / 8;
  if (count == 0) return {};
  auto off = image.vaddr_to_offset(start->addr.value);
  if (!off.ok() || off->value + count * 8 > image.bytes().size())
    return bad_image(image_name_, "section _kprobe_blacklist has no file contents");
  for (uint64_t i = 0; i < count; i++) {
    GuestAddr fn{read_le64(image.bytes(), off->value + i * 8)};
    std::optional<SymbolOffset> hit = lookup(fn);
    if (!hit || hit->offset != 0)
      return bad_image(image_name_, "NOKPROBE_SYMBOL address " + hex(fn.value) +
                                        " is not the start of a function");
    add_function_entry(*hit->sym);
  }
  return {};
}

void Kallsyms::add_function_entry(const KernelSymbol& sym) {
  blacklist_.push_back(BlacklistEntry{sym.addr, sym.addr + sym.size, sym.name});
}

const KernelSymbol* Kallsyms::find(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  return it == by_name_.end() ? nullptr : &symbols_[it->second];
}

Result<GuestAddr> Kallsyms::lookup_name(std::string_view name) const {
  if (const KernelSymbol* s = find(name)) return s->addr;
  return Error::make("kernel symbol '" + std::string(name) + "' not found in " + image_name_ +
                         " (see Kallsyms::symbols() for the names it has)",
                     ENOENT);
}

std::optional<SymbolOffset> Kallsyms::lookup(GuestAddr addr) const {
  auto it = std::upper_bound(sized_.begin(), sized_.end(), addr,
                             [&](GuestAddr a, size_t i) { return a < symbols_[i].addr; });
  while (it != sized_.begin()) {
    const KernelSymbol& s = symbols_[*--it];
    uint64_t off = addr - s.addr;
    if (off < s.size) return SymbolOffset{&s, off};
    if (off >= max_size_) break;  // no earlier symbol can reach addr
  }
  return std::nullopt;
}

std::string Kallsyms::format(GuestAddr addr) const {
  std::optional<SymbolOffset> hit = lookup(addr);
  if (!hit) return hex(addr.value);
  return hit->sym->name + "+" + hex(hit->offset) + "/" + hex(hit->sym->size);
}

bool Kallsyms::is_kernel_text(GuestAddr addr) const {
  return addr >= text_start_ && addr < text_end_;
}

bool Kallsyms::in_blacklist_entries(GuestAddr addr) const {
  for (const Area& a : areas_)
    if (addr >= a.start && addr < a.end) return true;
  for (const BlacklistEntry& e : blacklist_)
    if (addr >= e.start && addr < e.end) return true;
  return false;
}

bool Kallsyms::within_kprobe_blacklist(GuestAddr addr) const {
  if (in_blacklist_entries(addr)) return true;
  std::optional<SymbolOffset> hit = lookup(addr);
  if (!hit) return false;
  size_t dot = hit->sym->name.find('.');
  if (dot == std::string::npos || dot == 0) return false;
  const KernelSymbol* base = find(std::string_view(hit->sym->name).substr(0, dot));
  return base && in_blacklist_entries(base->addr);
}

std::string Kallsyms::format_blacklist() const {
  std::string out;
  char buf[48];
  for (const BlacklistEntry& e : blacklist_) {
    std::snprintf(buf, sizeof buf, "0x%016" PRIx64 "-0x%016" PRIx64 "\t", e.start.value,
                  e.end.value);
    out += buf + e.name + "\n";
  }
  return out;
}

std::vector<std::string> Kallsyms::probeable_functions() const {
  std::vector<std::string> out;
  for (const KernelSymbol& s : symbols_)
    if ((s.type == 'T' || s.type == 't') && s.size > 0 && is_kernel_text(s.addr) &&
        !within_kprobe_blacklist(s.addr))
      out.push_back(s.name);
  return out;
}

}  // namespace probesim::probes
