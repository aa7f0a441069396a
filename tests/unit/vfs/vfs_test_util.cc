#include "vfs_test_util.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "emu/arch_info.h"
#include "emu/vfs/vfs_abi.h"
#include "mmu/vm_flags.h"

namespace probesim::emu::test {

HostTree::HostTree() {
  char tmpl[] = "/tmp/probesim-vfs-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  top_ = tmpl;
  root_ = top_ + "/root";
  std::filesystem::create_directory(root_);
}

HostTree::~HostTree() {
  std::error_code ec;
  std::filesystem::remove_all(top_, ec);
}

void HostTree::file(const std::string& rel, const std::string& content, mode_t mode) {
  const std::string p = host(rel);
  std::filesystem::create_directories(std::filesystem::path(p).parent_path());
  std::ofstream(p, std::ios::binary) << content;
  REQUIRE(::chmod(p.c_str(), mode) == 0);
}

void HostTree::dir(const std::string& rel) {
  std::filesystem::create_directories(host(rel));
}

void HostTree::symlink(const std::string& rel, const std::string& target) {
  REQUIRE(::symlink(target.c_str(), host(rel).c_str()) == 0);
}

void HostTree::hardlink(const std::string& rel, const std::string& existing) {
  REQUIRE(::link(host(existing).c_str(), host(rel).c_str()) == 0);
}

std::string HostTree::read(const std::string& rel) const {
  std::ifstream in(host(rel), std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct stat HostTree::lstat(const std::string& rel) const {
  struct stat st {};
  REQUIRE(::lstat(host(rel).c_str(), &st) == 0);
  return st;
}

VfsFixture::VfsFixture() {
  Result<std::unique_ptr<Vfs>> v = Vfs::create(inodes, clock, rng, tree.root());
  REQUIRE(v.ok());
  vfs = std::move(*v);
}

std::string read_all(Vfs& vfs, const Caller& c, const std::string& path) {
  Result<std::shared_ptr<File>> f = vfs.open(c, c.fs.cwd, path, kO_RDONLY, 0);
  if (!f) return "";
  std::string out;
  uint8_t buf[4096];
  for (;;) {
    const int64_t n = (*f)->read(buf);
    if (n <= 0) break;
    out.append(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
  }
  return out;
}

std::vector<std::string> names(Vfs& vfs, const Caller& c, const std::string& dir) {
  Result<std::vector<DirEntry>> l = vfs.list(c, c.fs.cwd, dir);
  REQUIRE(l.ok());
  std::vector<std::string> out;
  for (const DirEntry& e : *l) {
    if (e.name != "." && e.name != "..") out.push_back(e.name);
  }
  return out;
}

std::string VfsFixture::read_all(const std::string& path) { return test::read_all(*vfs, caller(), path); }
std::vector<std::string> VfsFixture::names(const std::string& dir) { return test::names(*vfs, caller(), dir); }

namespace {

std::unique_ptr<MachineState> make_machine(const std::string& root, Arch arch) {
  MachineConfig c;
  c.arch = arch;
  c.root = root;
  c.kernel = false;
  auto m = std::make_unique<MachineState>(c);
  auto r = m->init();
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  return m;
}

// pid 7, child of the modelled init, with kSize bytes of anonymous memory at kBase.
std::unique_ptr<Process> make_process(Arch arch) {
  const ArchInfo& info = arch_info(arch);
  auto mm = std::make_unique<mmu::Mm>(mmu::MmLayout{GuestAddr{info.mmap_base}, GuestAddr{info.task_size}});
  int64_t r = mm->mmap(GuestAddr{FakeKernel::kBase}, FakeKernel::kSize, mmu::kProtRead | mmu::kProtWrite,
                       mmu::kMapPrivate | mmu::kMapAnonymous | mmu::kMapFixed, nullptr, FileOffset{0});
  REQUIRE(r == static_cast<int64_t>(FakeKernel::kBase));
  auto p = std::make_unique<Process>(7, MachineState::kInitPid, std::move(mm), /*resident=*/false);
  p->exe_path = "/bin/prog";
  return p;
}

}  // namespace

FakeKernel::FakeKernel(Arch a)
    : arch(a),
      machine(make_machine(tree.root(), a)),
      proc(make_process(a)),
      vfs(&machine->vfs()),
      fds(proc->fds()),
      fs(proc->fs()) {}

FakeKernel::~FakeKernel() { proc.reset(); }  // its files and mm go before the machine's caches

SyscallContext FakeKernel::context() { return SyscallContext(*machine, *proc, proc->main_task()); }

int64_t FakeKernel::call(SyscallFn fn, std::initializer_list<uint64_t> args) {
  SyscallArgs a;
  size_t i = 0;
  for (uint64_t v : args) a.a[i++] = v;
  SyscallContext ctx = context();
  return fn(ctx, a);
}

Caller FakeKernel::caller() const { return Caller{fs, &fds, proc->exe_path, proc->pid()}; }

std::string FakeKernel::read_all(const std::string& path) { return test::read_all(*vfs, caller(), path); }
std::vector<std::string> FakeKernel::names(const std::string& dir) { return test::names(*vfs, caller(), dir); }

uint64_t FakeKernel::alloc(uint64_t n) {
  const uint64_t addr = brk;
  brk += (n + 15) & ~uint64_t{15};
  REQUIRE(brk <= kBase + kSize);
  return addr;
}

uint64_t FakeKernel::put_string(const std::string& s) {
  const uint64_t addr = alloc(s.size() + 1);
  put(addr, s.c_str(), s.size() + 1);
  return addr;
}

void FakeKernel::put(uint64_t addr, const void* data, uint64_t n) {
  REQUIRE(proc->mm().poke(GuestAddr{addr}, data, n));
}

std::vector<uint8_t> FakeKernel::get(uint64_t addr, uint64_t n) const {
  std::vector<uint8_t> out(n);
  REQUIRE(proc->mm().peek(GuestAddr{addr}, out.data(), n));
  return out;
}

uint64_t FakeKernel::get_u64(uint64_t addr) const {
  uint64_t v;
  REQUIRE(proc->mm().peek(GuestAddr{addr}, &v, 8));
  return v;
}
uint32_t FakeKernel::get_u32(uint64_t addr) const {
  uint32_t v;
  REQUIRE(proc->mm().peek(GuestAddr{addr}, &v, 4));
  return v;
}
uint16_t FakeKernel::get_u16(uint64_t addr) const {
  uint16_t v;
  REQUIRE(proc->mm().peek(GuestAddr{addr}, &v, 2));
  return v;
}

}  // namespace probesim::emu::test
