#include "loader/elf_validate.h"

#include <elf.h>

#include <algorithm>
#include <cstring>

#include "loader/loader_error.h"

namespace probesim::loader {
namespace {

static_assert(kMaxPhnum == 4096 / sizeof(Elf64_Phdr));

constexpr const char* kCorrupt = ": the file is corrupt";

struct MachineName {
  uint16_t em;
  const char* name;
};
constexpr MachineName kMachines[] = {
    {EM_386, "EM_386"},
    {EM_ARM, "EM_ARM"},
    {EM_MIPS, "EM_MIPS"},
    {EM_PPC, "EM_PPC"},
    {EM_PPC64, "EM_PPC64"},
    {EM_S390, "EM_S390"},
    {EM_SPARCV9, "EM_SPARCV9"},
    {EM_IA_64, "EM_IA_64"},
    {EM_X86_64, "EM_X86_64"},
    {EM_AARCH64, "EM_AARCH64"},
    {EM_RISCV, "EM_RISCV"},
    {EM_BPF, "EM_BPF"},
    {258 /* EM_LOONGARCH */, "EM_LOONGARCH"},
};

struct TypeName {
  uint16_t et;
  const char* name;
  const char* what;
  const char* advice;
};
constexpr TypeName kTypes[] = {
    {ET_NONE, "ET_NONE", "no file type", "the file is corrupt"},
    {ET_REL, "ET_REL", "relocatable object", "link it into an executable"},
    {ET_CORE, "ET_CORE", "core dump", "a core file is a memory image, not a program"},
};

std::string machine_name(uint16_t em) {
  for (const auto& m : kMachines)
    if (m.em == em) return m.name;
  return "EM_" + std::to_string(em);
}

std::string magic_bytes(std::span<const uint8_t> b) {
  std::string s;
  for (size_t i = 0; i < std::min<size_t>(b.size(), SELFMAG); ++i) {
    char buf[4];
    std::snprintf(buf, sizeof buf, i ? " %02x" : "%02x", b[i]);
    s += buf;
  }
  return s;
}

// e_ident: magic, class, data encoding, version. Needs no more bytes than it reads.
Result<void> check_ident(const std::string& name, std::span<const uint8_t> b) {
  if (b.empty()) return enoexec(name, "not an ELF file (empty file)");
  if (std::memcmp(b.data(), ELFMAG, std::min<size_t>(b.size(), SELFMAG)) != 0) {
    std::string hint = b.size() >= 2 && b[0] == '#' && b[1] == '!'
                           ? ": it is a script; run its interpreter on it instead"
                           : ": probesim runs ELF executables";
    return enoexec(name, "not an ELF file (bad magic " + magic_bytes(b) + ")" + hint);
  }
  auto truncated = [&] {
    return enoexec(name, "truncated ELF header (" + std::to_string(b.size()) + " bytes, need " +
                             std::to_string(sizeof(Elf64_Ehdr)) + "): the file is incomplete");
  };
  if (b.size() <= EI_CLASS) return truncated();
  if (b[EI_CLASS] == ELFCLASS32)
    return enoexec(name,
                   "32-bit ELF (ELFCLASS32) is not supported: probesim runs 64-bit "
                   "x86_64 and aarch64 programs");
  if (b[EI_CLASS] != ELFCLASS64)
    return enoexec(name, "invalid ELF class " + std::to_string(b[EI_CLASS]) + kCorrupt);
  if (b.size() <= EI_DATA) return truncated();
  if (b[EI_DATA] == ELFDATA2MSB)
    return enoexec(name,
                   "big-endian ELF (ELFDATA2MSB) is not supported: probesim runs "
                   "little-endian x86_64 and aarch64 programs");
  if (b[EI_DATA] != ELFDATA2LSB)
    return enoexec(name, "invalid ELF data encoding " + std::to_string(b[EI_DATA]) + kCorrupt);
  if (b.size() < sizeof(Elf64_Ehdr)) return truncated();
  if (b[EI_VERSION] != EV_CURRENT)
    return enoexec(name, "unsupported ELF version " + std::to_string(b[EI_VERSION]) +
                             " (expected EV_CURRENT = 1)" + kCorrupt);
  return {};
}

Result<void> check_type(const std::string& name, uint16_t et) {
  if (et == ET_EXEC || et == ET_DYN) return {};
  for (const auto& t : kTypes)
    if (t.et == et)
      return enoexec(name, std::string("ELF type ") + t.name + " (" + t.what +
                               ") cannot be executed; " + t.advice);
  return enoexec(name, "ELF type " + hex(et) +
                           " (unknown) cannot be executed; probesim runs ET_EXEC and ET_DYN files");
}

Result<Arch> check_machine(const std::string& name, uint16_t em) {
  if (em == EM_X86_64) return Arch::X86_64;
  if (em == EM_AARCH64) return Arch::AArch64;
  return enoexec(name, "ELF machine " + machine_name(em) + " (" + std::to_string(em) +
                           ") is not supported: probesim runs x86_64 (EM_X86_64) and aarch64 "
                           "(EM_AARCH64) programs");
}

// The program header table: entry size, count, inside the file.
Result<void> check_phdr_table(const std::string& name, const Elf64_Ehdr& eh, uint64_t size) {
  if (eh.e_phentsize != sizeof(Elf64_Phdr))
    return enoexec(name, "program header entry size " + std::to_string(eh.e_phentsize) +
                             " (expected " + std::to_string(sizeof(Elf64_Phdr)) + " for ELF64)" +
                             kCorrupt);
  if (eh.e_phnum == 0)
    return enoexec(name,
                   "no program headers (e_phnum 0): nothing can be loaded; link it as "
                   "an executable");
  if (eh.e_phnum > kMaxPhnum)
    return enoexec(name, "too many program headers (e_phnum " + std::to_string(eh.e_phnum) +
                             ", Linux accepts at most " + std::to_string(kMaxPhnum) + ")" +
                             kCorrupt);
  uint64_t bytes = uint64_t{eh.e_phnum} * sizeof(Elf64_Phdr);
  if (eh.e_phoff > size || bytes > size - eh.e_phoff)
    return enoexec(name, "program headers (offset " + hex(eh.e_phoff) + ", " +
                             std::to_string(eh.e_phnum) + " x " +
                             std::to_string(sizeof(Elf64_Phdr)) +
                             " bytes) extend beyond the end of the file (" + std::to_string(size) +
                             " bytes): the file is truncated or corrupt");
  return {};
}

std::vector<ElfSegment> read_phdrs(const Elf64_Ehdr& eh, std::span<const uint8_t> b) {
  std::vector<ElfSegment> segs;
  for (uint16_t i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    std::memcpy(&ph, b.data() + eh.e_phoff + i * sizeof(Elf64_Phdr), sizeof ph);
    segs.push_back(
        {ph.p_type, ph.p_flags, ph.p_offset, ph.p_vaddr, ph.p_filesz, ph.p_memsz, ph.p_align});
  }
  return segs;
}

// One PT_LOAD on its own (i is its program header index, as readelf numbers segments).
Result<void> check_load(const std::string& name, size_t i, const ElfSegment& s, uint64_t size) {
  std::string seg = "PT_LOAD segment " + std::to_string(i);
  if (s.offset > size || s.filesz > size - s.offset)
    return enoexec(name, seg + " (offset " + hex(s.offset) + ", filesz " + hex(s.filesz) +
                             ") extends beyond the end of the file (" + std::to_string(size) +
                             " bytes): the file is truncated");
  if (s.filesz > s.memsz)
    return enoexec(name,
                   seg + " has filesz " + hex(s.filesz) + " > memsz " + hex(s.memsz) + kCorrupt);
  if (s.vaddr + s.memsz < s.vaddr || s.vaddr + s.memsz > UINT64_MAX - kPageSize)
    return enoexec(name, seg + " (vaddr " + hex(s.vaddr) + ", memsz " + hex(s.memsz) +
                             ") wraps around the address space" + kCorrupt);
  if (s.filesz != 0 && (s.vaddr - s.offset) % kPageSize != 0)
    return enoexec(name, seg + " vaddr and offset disagree modulo the page size (vaddr " +
                             hex(s.vaddr) + ", offset " + hex(s.offset) +
                             "): it cannot be mapped; relink it");
  return {};
}

// All PT_LOADs: each valid, at least one, ascending vaddr, no two sharing a byte.
Result<void> check_loads(const std::string& name, const std::vector<ElfSegment>& segs,
                         uint64_t size) {
  const ElfSegment* prev = nullptr;
  size_t prev_i = 0;
  for (size_t i = 0; i < segs.size(); ++i) {
    const ElfSegment& s = segs[i];
    if (s.type != PT_LOAD) continue;
    PROBESIM_TRY_VOID(check_load(name, i, s, size));
    std::string pair = "PT_LOAD segments " + std::to_string(prev_i) + " and " + std::to_string(i);
    if (prev && s.vaddr < prev->vaddr)
      return enoexec(name, pair + " are not in ascending vaddr order (" + hex(s.vaddr) + " after " +
                               hex(prev->vaddr) + ")" + kCorrupt);
    if (prev && s.vaddr < prev->vaddr + prev->memsz)
      return enoexec(name, pair + " overlap ([" + hex(prev->vaddr) + ", " +
                               hex(prev->vaddr + prev->memsz) + ") and [" + hex(s.vaddr) + ", " +
                               hex(s.vaddr + s.memsz) + "))" + kCorrupt);
    prev = &s;
    prev_i = i;
  }
  if (!prev) return enoexec(name, "no PT_LOAD segment: nothing to load");
  return {};
}

// The first PT_INTERP, checked as Linux's load_elf_binary() does (2..PATH_MAX bytes, NUL).
Result<std::optional<std::string>> read_interp(const std::string& name,
                                               const std::vector<ElfSegment>& segs,
                                               std::span<const uint8_t> b) {
  auto it = std::find_if(segs.begin(), segs.end(), [](auto& s) { return s.type == PT_INTERP; });
  if (it == segs.end()) return std::optional<std::string>{};
  const ElfSegment& s = *it;
  std::string where = "PT_INTERP (offset " + hex(s.offset) + ", filesz " + hex(s.filesz) + ")";
  if (s.offset > b.size() || s.filesz > b.size() - s.offset)
    return enoexec(name, where + " extends beyond the end of the file" + kCorrupt);
  if (s.filesz < 2 || s.filesz > 4096 || b[s.offset + s.filesz - 1] != 0)
    return enoexec(name, where + " is not a NUL-terminated path" + kCorrupt);
  const char* p = reinterpret_cast<const char*>(b.data() + s.offset);
  return std::optional<std::string>{std::string(p, ::strnlen(p, s.filesz))};
}

}  // namespace

Result<ElfHeaders> validate_elf_headers(const std::string& name, std::span<const uint8_t> b) {
  PROBESIM_TRY_VOID(check_ident(name, b));
  Elf64_Ehdr eh;
  std::memcpy(&eh, b.data(), sizeof eh);
  PROBESIM_TRY_VOID(check_type(name, eh.e_type));
  Arch arch = PROBESIM_TRY(check_machine(name, eh.e_machine));
  PROBESIM_TRY_VOID(check_phdr_table(name, eh, b.size()));
  ElfHeaders h{arch,           eh.e_type,  eh.e_entry,        eh.e_phoff,
               eh.e_phentsize, eh.e_phnum, read_phdrs(eh, b), std::nullopt};
  PROBESIM_TRY_VOID(check_loads(name, h.segments, b.size()));
  h.interpreter = PROBESIM_TRY(read_interp(name, h.segments, b));
  return h;
}

}  // namespace probesim::loader
