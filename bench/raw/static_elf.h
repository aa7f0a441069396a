// StaticElf: a validated, statically linked 64-bit little-endian ELF executable (ET_EXEC or
// static-pie ET_DYN) for x86-64 or AArch64, parsed with <elf.h> only. It owns the file bytes;
// segments refer into them by offset. Dynamically linked programs (PT_INTERP) are rejected:
// the raw peer has no dynamic loader.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/raw/arch_abi.h"
#include "probesim/result.h"
#include "probesim/types.h"

namespace probesim::bench {

struct LoadSegment {
  GuestAddr vaddr;  // unbiased p_vaddr
  FileOffset offset;
  uint64_t filesz = 0;
  uint64_t memsz = 0;
};

class StaticElf {
 public:
  // Reads and validates the file at `path`; the error names the file and the problem.
  static Result<StaticElf> load(const std::string& path);
  // Validates an in-memory image; `name` is used in error messages.
  static Result<StaticElf> parse(std::vector<uint8_t> bytes, const std::string& name);

  const ArchAbi& abi() const { return *abi_; }
  bool is_pie() const { return pie_; }
  uint64_t bias() const { return pie_ ? abi_->pie_bias : 0; }
  GuestAddr entry() const { return GuestAddr{entry_ + bias()}; }
  // Runtime address of the program headers (AT_PHDR), 0 if no PT_LOAD maps them.
  GuestAddr phdr() const { return GuestAddr{phdr_vaddr_ ? phdr_vaddr_ + bias() : 0}; }
  uint64_t phnum() const { return phnum_; }
  uint64_t phentsize() const { return phentsize_; }
  const std::vector<LoadSegment>& segments() const { return segments_; }
  const std::vector<uint8_t>& bytes() const { return bytes_; }
  // Runtime [lowest page, highest page end) covered by the PT_LOADs, page aligned.
  GuestAddr image_start() const;
  GuestAddr image_end() const;

 private:
  Result<void> read_program_headers(const std::string& name);

  std::vector<uint8_t> bytes_;
  const ArchAbi* abi_ = nullptr;
  bool pie_ = false;
  uint64_t entry_ = 0;
  uint64_t phoff_ = 0;
  uint64_t phdr_vaddr_ = 0;
  uint64_t phnum_ = 0;
  uint64_t phentsize_ = 0;
  std::vector<LoadSegment> segments_;
};

}  // namespace probesim::bench
