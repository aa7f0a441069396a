// Exec: a fixture for exec_elf() tests: an inode cache holding the file (from memory), the
// parsed ElfFile, a fresh Mm laid out like Linux's for the file's arch, and ExecParams.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "loader/exec.h"
#include "mmu/inode_backing.h"
#include "mmu/inode_cache.h"
#include "mmu/mm.h"
#include "tests/unit/loader/guest_files.h"
#include "tests/unit/loader/stack_decoder.h"

namespace probesim::loader::test {

constexpr uint64_t kX86Top = 0x7ffffffff000;
constexpr uint64_t kA64Top = 0x1000000000000;

// The file's bytes as an inode backing (no host file needed).
inline mmu::MmLayout layout_for(Arch arch) {
  uint64_t top = arch == Arch::X86_64 ? kX86Top : kA64Top;
  return mmu::MmLayout{GuestAddr{top - (uint64_t{128} << 20)}, GuestAddr{top}};
}

// One exec: the inode cache, the file's inode, the parsed file, the mm and the result.
struct Exec {
  mmu::InodeCache cache;
  mmu::Inode* inode = nullptr;
  std::unique_ptr<ElfFile> elf;
  std::unique_ptr<mmu::Mm> mm;
  ExecParams params;

  Exec(const std::string& guest_name, std::vector<uint8_t> bytes, bool with_inode = true) {
    Result<ElfFile> f = ElfFile::parse(guest_name, bytes);
    REQUIRE_MESSAGE(f.ok(), (f.ok() ? "" : f.error().message));
    elf = std::make_unique<ElfFile>(std::move(f).value());
    if (with_inode) {
      mmu::InodeAttrs attrs;
      attrs.mode = 0100755;
      attrs.size = bytes.size();
      Result<mmu::Inode*> ino = cache.insert("test:" + guest_name, guest_name, attrs,
                                             std::make_unique<mmu::BytesBacking>(bytes), bytes.size());
      REQUIRE(ino.ok());
      inode = *ino;
    }
    mm = std::make_unique<mmu::Mm>(layout_for(elf->arch()));
    params.argv = {guest_name, "one", "two"};
    params.envp = {"PATH=/bin", "LANG=C"};
    params.execfn = guest_name;
    for (int i = 0; i < 16; ++i) params.at_random[i] = static_cast<uint8_t>(i * 17);
    params.stack_top = GuestAddr{elf->arch() == Arch::X86_64 ? kX86Top : kA64Top};
  }

  ~Exec() {
    mm.reset();
    if (inode) cache.iput(inode);
    if (interp_inode) cache.iput(interp_inode);
  }

  // The program interpreter (PT_INTERP) for run(): a host file in the same inode cache.
  mmu::Inode* interp_inode = nullptr;
  std::unique_ptr<ElfFile> interp_elf;
  void set_interp(const std::string& host_path) {
    std::vector<uint8_t> bytes = read_host_file(host_path);
    Result<ElfFile> f = ElfFile::parse(host_path, bytes);
    REQUIRE_MESSAGE(f.ok(), (f.ok() ? "" : f.error().message));
    interp_elf = std::make_unique<ElfFile>(std::move(f).value());
    mmu::InodeAttrs attrs;
    attrs.mode = 0100755;
    attrs.size = bytes.size();
    Result<mmu::Inode*> ino = cache.insert("test:" + host_path, host_path, attrs,
                                           std::make_unique<mmu::BytesBacking>(bytes), bytes.size());
    REQUIRE(ino.ok());
    interp_inode = *ino;
  }
  Result<ExecImage> try_run() {
    Interp in{interp_inode, interp_elf.get()};
    return exec_elf(*mm, inode, *elf, params, interp_elf ? &in : nullptr);
  }

  ExecImage run() {
    Result<ExecImage> r = try_run();
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    mm->verify();
    cache.verify();
    return std::move(r).value();
  }

  test::PeekFn peek() const {
    return [this](uint64_t at, void* dst, size_t n) { return mm->peek(GuestAddr{at}, dst, n); };
  }
  std::vector<uint8_t> read(uint64_t at, size_t n) const {
    std::vector<uint8_t> out(n);
    REQUIRE(mm->peek(GuestAddr{at}, out.data(), n));
    return out;
  }
};

inline Exec guest_exec(const std::string& file) {
  return Exec("/guest/" + file, read_host_file(guest_path(file)));
}

}  // namespace probesim::loader::test
