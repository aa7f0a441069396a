// CraftedElf: a tiny, valid x86_64 ET_EXEC built from <elf.h> structs, for the loader tests
// to break one field at a time.
//
// Layout (file offset -> vaddr):
//   0x0000 ELF header, program headers      -> 0x400000 (PT_LOAD 0, R-X, with the code page)
//   0x1000 code: mov eax, 60; syscall       -> 0x401000 (entry)
//   0x2000 data: 0x100 bytes of 0xAB         -> 0x402000 (PT_LOAD 1, RW-, memsz 0x3000: bss)
//   0x2100 0xEE filler up to 0x3000 (file bytes past filesz: padzero must hide them)
#pragma once

#include <elf.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace probesim::loader::test {

struct CraftedElf {
  static constexpr uint64_t kText = 0x400000, kEntry = 0x401000, kData = 0x402000;
  static constexpr uint64_t kDataFilesz = 0x100, kDataMemsz = 0x3000, kFileSize = 0x3000;

  Elf64_Ehdr eh{};
  std::vector<Elf64_Phdr> ph;
  uint64_t file_size = kFileSize;

  static CraftedElf minimal() {
    CraftedElf e;
    std::memcpy(e.eh.e_ident, ELFMAG, SELFMAG);
    e.eh.e_ident[EI_CLASS] = ELFCLASS64;
    e.eh.e_ident[EI_DATA] = ELFDATA2LSB;
    e.eh.e_ident[EI_VERSION] = EV_CURRENT;
    e.eh.e_type = ET_EXEC;
    e.eh.e_machine = EM_X86_64;
    e.eh.e_version = EV_CURRENT;
    e.eh.e_entry = kEntry;
    e.eh.e_phoff = sizeof(Elf64_Ehdr);
    e.eh.e_ehsize = sizeof(Elf64_Ehdr);
    e.eh.e_phentsize = sizeof(Elf64_Phdr);
    e.ph.push_back({PT_LOAD, PF_R | PF_X, 0, kText, kText, 0x1010, 0x1010, 0x1000});
    e.ph.push_back({PT_LOAD, PF_R | PF_W, 0x2000, kData, kData, kDataFilesz, kDataMemsz, 0x1000});
    return e;
  }

  // Adds a PT_INTERP naming path (stored at file offset 0x800).
  void add_interp(const char* path) {
    ph.insert(ph.begin(), {PT_INTERP, PF_R, 0x800, kText + 0x800, kText + 0x800,
                           std::strlen(path) + 1, std::strlen(path) + 1, 1});
    interp = path;
  }

  std::vector<uint8_t> bytes() const {
    std::vector<uint8_t> b(file_size, 0);
    Elf64_Ehdr h = eh;
    if (h.e_phnum == 0 && !keep_phnum) h.e_phnum = static_cast<uint16_t>(ph.size());
    put(b, 0, &h, sizeof h);
    for (size_t i = 0; i < ph.size(); ++i)
      put(b, eh.e_phoff + i * sizeof(Elf64_Phdr), &ph[i], sizeof(Elf64_Phdr));
    const uint8_t code[] = {0xb8, 0x3c, 0, 0, 0, 0x0f, 0x05};  // mov eax, 60; syscall
    put(b, 0x1000, code, sizeof code);
    for (uint64_t i = 0x2000; i < 0x3000 && i < b.size(); ++i) b[i] = i < 0x2100 ? 0xAB : 0xEE;
    if (interp) put(b, 0x800, interp, std::strlen(interp) + 1);
    return b;
  }

  const char* interp = nullptr;
  bool keep_phnum = false;  // write eh.e_phnum as is (even 0)

 private:
  static void put(std::vector<uint8_t>& b, uint64_t off, const void* src, size_t n) {
    if (off >= b.size()) return;
    std::memcpy(b.data() + off, src, std::min<uint64_t>(n, b.size() - off));
  }
};

}  // namespace probesim::loader::test
