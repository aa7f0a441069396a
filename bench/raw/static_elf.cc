#include "bench/raw/static_elf.h"

#include <elf.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>

namespace probesim::bench {
namespace {

Error bad(const std::string& name, const std::string& what) {
  return Error::make(name + ": " + what + " (raw_unicorn runs static x86-64/AArch64 ELF only)");
}

}  // namespace

Result<StaticElf> StaticElf::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::make(path + ": cannot open the file");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  return parse(std::move(bytes), path);
}

Result<StaticElf> StaticElf::parse(std::vector<uint8_t> bytes, const std::string& name) {
  Elf64_Ehdr eh;
  if (bytes.size() < sizeof eh || std::memcmp(bytes.data(), ELFMAG, SELFMAG) != 0)
    return bad(name, "not an ELF file");
  std::memcpy(&eh, bytes.data(), sizeof eh);
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
    return bad(name, "not a 64-bit little-endian ELF");
  if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) return bad(name, "not an executable");
  StaticElf elf;
  elf.abi_ = abi_for_machine(eh.e_machine);
  if (elf.abi_ == nullptr)
    return bad(name, "unsupported e_machine " + std::to_string(eh.e_machine));
  if (eh.e_phentsize != sizeof(Elf64_Phdr)) return bad(name, "unexpected e_phentsize");
  elf.bytes_ = std::move(bytes);
  elf.pie_ = eh.e_type == ET_DYN;
  elf.entry_ = eh.e_entry;
  elf.phoff_ = eh.e_phoff;
  elf.phnum_ = eh.e_phnum;
  elf.phentsize_ = eh.e_phentsize;
  PROBESIM_TRY_VOID(elf.read_program_headers(name));
  return elf;
}

Result<void> StaticElf::read_program_headers(const std::string& name) {
  if (phoff_ > bytes_.size() || phnum_ * sizeof(Elf64_Phdr) > bytes_.size() - phoff_)
    return bad(name, "program headers lie outside the file");
  for (uint64_t i = 0; i < phnum_; i++) {
    Elf64_Phdr ph;
    std::memcpy(&ph, bytes_.data() + phoff_ + i * sizeof ph, sizeof ph);
    if (ph.p_type == PT_INTERP) return bad(name, "dynamically linked (has PT_INTERP)");
    if (ph.p_type != PT_LOAD) continue;
    if (ph.p_filesz > ph.p_memsz) return bad(name, "PT_LOAD with p_filesz > p_memsz");
    if (ph.p_offset > bytes_.size() || ph.p_filesz > bytes_.size() - ph.p_offset)
      return bad(name, "PT_LOAD lies outside the file");
    segments_.push_back({GuestAddr{ph.p_vaddr}, FileOffset{ph.p_offset}, ph.p_filesz, ph.p_memsz});
    if (phoff_ >= ph.p_offset && phoff_ < ph.p_offset + ph.p_filesz)
      phdr_vaddr_ = ph.p_vaddr + (phoff_ - ph.p_offset);
  }
  if (segments_.empty()) return bad(name, "no PT_LOAD segment");
  return {};
}

GuestAddr StaticElf::image_start() const {
  uint64_t lo = UINT64_MAX;
  for (const LoadSegment& s : segments_) lo = std::min(lo, s.vaddr.value);
  return GuestAddr{page_align_down(lo + bias())};
}

GuestAddr StaticElf::image_end() const {
  uint64_t hi = 0;
  for (const LoadSegment& s : segments_) hi = std::max(hi, s.vaddr.value + s.memsz);
  return GuestAddr{page_align_up(hi + bias())};
}

}  // namespace probesim::bench
