#include "symbolizer.h"

#include <algorithm>
#include <cstdio>

#include "mmu/inode.h"

namespace probesim::python {
namespace {

constexpr uint8_t kSttObject = 1, kSttFunc = 2;  // elf.h STT_OBJECT, STT_FUNC

std::string with_offset(const std::string& name, uint64_t off) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "+0x%llx", static_cast<unsigned long long>(off));
  return name + buf;
}

}  // namespace

const UserSymbols::FileSyms& UserSymbols::file(mmu::Inode& inode) {
  auto [it, inserted] = files_.try_emplace(inode.key());
  if (!inserted) return it->second;
  FileSyms& fs = it->second;
  Result<std::vector<uint8_t>> bytes = inode.i_mapping().read_all();
  if (!bytes) return fs;
  Result<loader::ElfFile> elf = loader::ElfFile::parse(inode.name(), std::move(bytes.value()));
  if (!elf) return fs;
  fs.loads = elf.value().load_segments();
  Result<const std::vector<loader::ElfSymbol>*> syms = elf.value().symbols();
  if (!syms) return fs;
  for (const loader::ElfSymbol& s : *syms.value())
    if (s.shndx != 0 && (s.type == kSttFunc || s.type == kSttObject) && s.value != 0)
      fs.syms.push_back({s.value, s.size, s.name});
  std::sort(fs.syms.begin(), fs.syms.end(),
            [](const Sym& a, const Sym& b) { return a.start < b.start; });
  return fs;
}

std::optional<SymbolHit> UserSymbols::lookup(const mmu::Vma& v, uint64_t addr) {
  if (!v.vm_file) return std::nullopt;
  const FileSyms& fs = file(*v.vm_file);
  uint64_t off = (v.vm_pgoff << kPageShift) + (addr - v.vm_start.value);
  auto seg = std::find_if(fs.loads.begin(), fs.loads.end(), [&](const loader::ElfSegment& s) {
    return off >= s.offset && off - s.offset < s.filesz;
  });
  if (seg == fs.loads.end()) return std::nullopt;
  uint64_t link = seg->vaddr + (off - seg->offset);
  auto next = std::upper_bound(fs.syms.begin(), fs.syms.end(), link,
                               [](uint64_t a, const Sym& s) { return a < s.start; });
  // The innermost symbol starting at or below link that covers it (a sized symbol), scanning
  // back over the few that start at the same place.
  for (auto it = next; it != fs.syms.begin();) {
    --it;
    if (link - it->start < std::max<uint64_t>(it->size, 1))
      return SymbolHit{it->name, link - it->start, it->size};
    if (next - it > 8) break;
  }
  return std::nullopt;
}

std::optional<std::string> UserSymbols::symbolize(const mmu::Vma& v, uint64_t addr) {
  auto hit = lookup(v, addr);
  if (!hit) return std::nullopt;
  return with_offset(hit->name, hit->offset);
}

}  // namespace probesim::python
