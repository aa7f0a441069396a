#include "vfs_test_util.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "emu/vfs/vfs_abi.h"

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

std::string VfsFixture::read_all(const std::string& path) {
  Result<std::shared_ptr<File>> f = vfs->open(caller(), fs.cwd, path, kO_RDONLY, 0);
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

std::vector<std::string> VfsFixture::names(const std::string& dir) {
  Result<std::vector<DirEntry>> l = vfs->list(caller(), fs.cwd, dir);
  REQUIRE(l.ok());
  std::vector<std::string> out;
  for (const DirEntry& e : *l) {
    if (e.name != "." && e.name != "..") out.push_back(e.name);
  }
  return out;
}

FakeKernel::FakeKernel(Arch a) : arch(a) {}

// The harness passes itself as the "machine"; the accessors below cast it back.
SyscallContext FakeKernel::context() {
  return SyscallContext(*reinterpret_cast<MachineState*>(this), *reinterpret_cast<Process*>(this),
                        *reinterpret_cast<Task*>(this));
}

int64_t FakeKernel::call(SyscallFn fn, std::initializer_list<uint64_t> args) {
  SyscallArgs a;
  size_t i = 0;
  for (uint64_t v : args) a.a[i++] = v;
  SyscallContext ctx = context();
  return fn(ctx, a);
}

uint64_t FakeKernel::alloc(uint64_t n) {
  const uint64_t addr = brk;
  brk += (n + 15) & ~uint64_t{15};
  REQUIRE(brk <= kBase + kSize);
  return addr;
}

uint64_t FakeKernel::put_string(const std::string& s) {
  const uint64_t addr = alloc(s.size() + 1);
  std::memcpy(&mem[addr - kBase], s.c_str(), s.size() + 1);
  return addr;
}

std::vector<uint8_t> FakeKernel::get(uint64_t addr, uint64_t n) const {
  return std::vector<uint8_t>(mem.begin() + static_cast<long>(addr - kBase),
                              mem.begin() + static_cast<long>(addr - kBase + n));
}

uint64_t FakeKernel::get_u64(uint64_t addr) const {
  uint64_t v;
  std::memcpy(&v, &mem[addr - kBase], 8);
  return v;
}
uint32_t FakeKernel::get_u32(uint64_t addr) const {
  uint32_t v;
  std::memcpy(&v, &mem[addr - kBase], 4);
  return v;
}
uint16_t FakeKernel::get_u16(uint64_t addr) const {
  uint16_t v;
  std::memcpy(&v, &mem[addr - kBase], 2);
  return v;
}

}  // namespace probesim::emu::test

// The SyscallContext accessors the file syscalls use, over the FakeKernel. (The real ones are
// in emu/syscalls/syscall_context.cc, which this test binary does not link.)
namespace probesim::emu {
namespace {
test::FakeKernel& fk(SyscallContext& ctx) {
  return *reinterpret_cast<test::FakeKernel*>(&ctx.machine());
}
bool in_mem(uint64_t addr, size_t n) {
  return addr >= test::FakeKernel::kBase && n <= test::FakeKernel::kSize &&
         addr - test::FakeKernel::kBase <= test::FakeKernel::kSize - n;
}
}  // namespace

Arch SyscallContext::arch() const {
  return fk(const_cast<SyscallContext&>(*this)).arch;
}
FdTable& SyscallContext::fds() {
  return fk(*this).fds;
}
Vfs& SyscallContext::vfs() {
  return *fk(*this).vfs;
}
mmu::InodeCache& SyscallContext::inodes() {
  return fk(*this).inodes;
}
VirtualClock& SyscallContext::clock() {
  return fk(*this).clock;
}
FsStruct& SyscallContext::fs() {
  return fk(*this).fs;
}
DeterministicRng& SyscallContext::rng() {
  return fk(*this).rng;
}
const std::string& SyscallContext::exe_path() {
  return fk(*this).exe;
}
int SyscallContext::pid() {
  return fk(*this).pid;
}
// File syscalls never reach the address space model here; a call would be a test bug. (Defined
// so that unoptimized builds, which keep more references, link without the real accessors.)
mmu::Mm& SyscallContext::mm() {
  FAIL("the file-syscall harness has no mm");
  std::abort();
}

bool SyscallContext::read_user(GuestAddr src, void* dst, size_t n) {
  if (!in_mem(src.value, n)) return false;
  std::memcpy(dst, &fk(*this).mem[src.value - test::FakeKernel::kBase], n);
  return true;
}

bool SyscallContext::write_user(GuestAddr dst, const void* src, size_t n) {
  if (!in_mem(dst.value, n)) return false;
  std::memcpy(&fk(*this).mem[dst.value - test::FakeKernel::kBase], src, n);
  return true;
}

Result<std::string> SyscallContext::read_path(GuestAddr src) {
  std::string out;
  for (uint64_t a = src.value;; ++a) {
    if (!in_mem(a, 1)) return Error::make("bad path pointer", EFAULT);
    const char c = static_cast<char>(fk(*this).mem[a - test::FakeKernel::kBase]);
    if (c == '\0') return out;
    out += c;
    if (out.size() >= kPathMax) return Error::make("path too long", ENAMETOOLONG);
  }
}

}  // namespace probesim::emu
