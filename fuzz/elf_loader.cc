// Fuzz target: the ELF validator and loader (loader/). The input is a whole file: parse it
// (headers, segments, sections, symbols), and when it is an executable, exec it into a fresh
// Mm exactly as spawn/execve do (exec_elf: PT_LOADs from the page cache, initial stack), then
// check the Mm's invariants. Every outcome must be a Result; a crash or sanitizer report is a
// finding.
#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "loader/elf_file.h"
#include "loader/exec.h"
#include "mmu/inode_backing.h"
#include "mmu/inode_cache.h"
#include "mmu/mm.h"

using namespace probesim;
using namespace probesim::loader;

namespace {

// Every read path of a parsed file; results are ignored, crashes are not.
void read_everything(const ElfFile& f) {
  (void)f.max_align();
  (void)f.phdr_vaddr();
  (void)f.vaddr_to_offset(f.entry());
  if (auto syms = f.symbols(); syms.ok())
    for (size_t i = 0; i < (*syms)->size() && i < 64; ++i) (void)f.vaddr_to_offset((**syms)[i].value);
  (void)f.find_symbol("main");
  (void)f.find_symbol("_start");
}

void exec(const ElfFile& f, const std::vector<uint8_t>& bytes) {
  mmu::InodeCache cache;
  mmu::InodeAttrs attrs;
  attrs.mode = 0100755;
  attrs.size = bytes.size();
  Result<mmu::Inode*> inode = cache.insert("fuzz:prog", "/prog", attrs,
                                           std::make_unique<mmu::BytesBacking>(bytes), bytes.size());
  if (!inode.ok()) return;
  {
    uint64_t top = task_size(f.arch());
    mmu::Mm mm(mmu::MmLayout{GuestAddr{top - (uint64_t{128} << 20)}, GuestAddr{top}});
    ExecParams p;
    p.argv = {"/prog", "arg"};
    p.envp = {"K=V"};
    p.execfn = "/prog";
    p.stack_top = GuestAddr{top};
    if (exec_elf(mm, *inode, f, p).ok()) mm.verify();
  }
  cache.iput(*inode);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  Result<ElfFile> f = ElfFile::parse("/prog", bytes);
  if (!f.ok()) return 0;
  read_everything(f.value());
  if (f.value().check_executable().ok()) exec(f.value(), bytes);
  return 0;
}
