// Fuzz target: random syscall sequences with random arguments, both arches, random scheduling,
// through the whole machine (guest kernel, model, scheduler, teardown). The input becomes a
// tiny static ELF (written to a private guest root) whose code makes up to 24 raw syscalls and
// exits; the syscalls are rows of the product's table (emu/syscalls/syscall_table.h), arguments
// drawn by their strace type (paths, buffers in the program's data, fds, sizes) or wild. A
// fresh Machine per input runs it for at most 2M instructions and is destroyed.
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "emu/syscalls/syscall_table.h"
#include "fuzz/fuzz_input.h"
#include "probesim/machine.h"

using namespace probesim;
using probesim::fuzz::FuzzInput;

namespace {

struct Row {
  int x86, arm64;
  std::string_view args;
};

#define PROBESIM_FUZZ_ROW(name, x86, arm, args, ret) Row{x86, arm, args},
#define PROBESIM_FUZZ_NOSYS(name, x86, arm, args) Row{x86, arm, args},
constexpr Row kRows[] = {PROBESIM_SYSCALLS(PROBESIM_FUZZ_ROW, PROBESIM_FUZZ_NOSYS)};

constexpr uint64_t kText = 0x400000, kData = 0x600000, kDataFile = 0x1000, kDataMem = 0x20000;
constexpr int kMaxCalls = 24, kMaxForks = 2;
// NUL-terminated paths at the start of the data segment (kPaths offsets).
constexpr std::string_view kPathBlob{"/prog\0/tmp/f\0/dev/null\0/proc/self/maps\0.\0/\0\0", 44};
constexpr uint16_t kPaths[] = {0, 6, 13, 23, 39, 41, 43};

// clone, fork, vfork, clone3 (x86_64); clone, clone3 (arm64): at most kMaxForks per program.
bool is_fork(Arch arch, int nr) {
  if (arch == Arch::AArch64) return nr == 220 || nr == 435;
  return nr == 56 || nr == 57 || nr == 58 || nr == 435;
}

// One argument of strace type t: mostly plausible for that type, sometimes wild.
uint64_t argument(char t, FuzzInput& in) {
  uint8_t pick = in.u8();
  if (pick >= 224) return in.u64();                         // anything
  if (pick >= 208) return 0xffffffff81000000ull + in.u8();  // the kernel's half
  switch (t) {
    case 's': return kData + kPaths[pick % std::size(kPaths)];
    case 'b': case 'p': return kData + 0x100 + (in.u8() << 6);
    case 'd': case 'D': return pick % 8 == 7 ? uint64_t(-100) : pick % 8;  // fds, AT_FDCWD
    case 'u': case 'l': return pick % 4 == 0 ? 0 : uint64_t{1} << (in.u8() % 20);
    default: return in.u8() | (pick & 1 ? uint64_t{in.u8()} << 8 : 0);
  }
}

void x86_mov(std::vector<uint8_t>& c, uint8_t rex, uint8_t op, uint64_t v) {
  c.push_back(rex);
  c.push_back(op);
  for (int i = 0; i < 8; ++i) c.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void arm64_word(std::vector<uint8_t>& c, uint32_t w) {
  for (int i = 0; i < 4; ++i) c.push_back(static_cast<uint8_t>(w >> (8 * i)));
}

void arm64_mov(std::vector<uint8_t>& c, unsigned reg, uint64_t v) {
  arm64_word(c, 0xd2800000u | static_cast<uint32_t>(v & 0xffff) << 5 | reg);  // movz
  for (unsigned hw = 1; hw < 4; ++hw)                                        // movk
    arm64_word(c, 0xf2800000u | hw << 21 | static_cast<uint32_t>((v >> (16 * hw)) & 0xffff) << 5 | reg);
}

// syscall(nr, a0..a5): x86 rax rdi rsi rdx r10 r8 r9 / arm64 x8 x0..x5.
void emit_call(std::vector<uint8_t>& c, Arch arch, uint64_t nr, const std::array<uint64_t, 6>& a) {
  if (arch == Arch::X86_64) {
    static const std::pair<uint8_t, uint8_t> kRegs[] = {{0x48, 0xbf}, {0x48, 0xbe}, {0x48, 0xba},
                                                       {0x49, 0xba}, {0x49, 0xb8}, {0x49, 0xb9}};
    x86_mov(c, 0x48, 0xb8, nr);
    for (int i = 0; i < 6; ++i) x86_mov(c, kRegs[i].first, kRegs[i].second, a[i]);
    c.insert(c.end(), {0x0f, 0x05});
  } else {
    arm64_mov(c, 8, nr);
    for (unsigned i = 0; i < 6; ++i) arm64_mov(c, i, a[i]);
    arm64_word(c, 0xd4000001u);  // svc #0
  }
}

std::vector<uint8_t> program_code(Arch arch, FuzzInput& in) {
  std::vector<uint8_t> c;
  int forks = 0;
  for (int n = 0; n < kMaxCalls && !in.empty(); ++n) {
    uint8_t sel = in.u8();
    const Row* row = &kRows[(sel | in.u8() << 8) % std::size(kRows)];
    int nr = arch == Arch::X86_64 ? row->x86 : row->arm64;
    if (sel == 0xff) nr = in.u8() | in.u8() << 8;  // a number the table may not know
    if (nr < 0 || (is_fork(arch, nr) && ++forks > kMaxForks))
      nr = arch == Arch::X86_64 ? 39 : 172;  // getpid
    std::array<uint64_t, 6> a{};
    for (size_t i = 0; i < a.size(); ++i) a[i] = argument(i < row->args.size() ? row->args[i] : 'x', in);
    emit_call(c, arch, static_cast<uint64_t>(nr), a);
  }
  emit_call(c, arch, arch == Arch::X86_64 ? 231 : 94, {});  // exit_group(0)
  return c;
}

void put(std::vector<uint8_t>& f, size_t at, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) f[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

// A static ET_EXEC: text (ELF header, program headers, code) R-X at kText, data RW at kData.
std::vector<uint8_t> elf_image(Arch arch, const std::vector<uint8_t>& code) {
  constexpr size_t kEh = 64, kPh = 56, kCodeOff = kEh + 2 * kPh;
  size_t text_size = kCodeOff + code.size(), data_off = (text_size + 0xfff) & ~size_t{0xfff};
  std::vector<uint8_t> f(data_off + kDataFile, 0);
  const uint8_t ident[] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0};
  std::copy(std::begin(ident), std::end(ident), f.begin());
  put(f, 16, 2, 2);                                          // ET_EXEC
  put(f, 18, arch == Arch::X86_64 ? 62 : 183, 2);            // EM_X86_64 / EM_AARCH64
  put(f, 20, 1, 4);
  put(f, 24, kText + kCodeOff, 8);                           // e_entry
  put(f, 32, kEh, 8);                                        // e_phoff
  put(f, 52, kEh, 2);
  put(f, 54, kPh, 2);
  put(f, 56, 2, 2);                                          // e_phnum
  // p_flags, then p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align (8 bytes each).
  const uint64_t ph[2][7] = {{5, 0, kText, kText, text_size, text_size, 0x1000},  // R|X
                             {6, data_off, kData, kData, kDataFile, kDataMem, 0x1000}};  // R|W
  for (int i = 0; i < 2; ++i) {
    size_t p = kEh + i * kPh;
    put(f, p, 1, 4);  // PT_LOAD
    put(f, p + 4, ph[i][0], 4);
    for (int k = 0; k < 6; ++k) put(f, p + 8 + 8 * k, ph[i][k + 1], 8);
  }
  std::copy(code.begin(), code.end(), f.begin() + kCodeOff);
  std::copy(kPathBlob.begin(), kPathBlob.end(), f.begin() + data_off);
  return f;
}

// The guest root: a private host directory holding /prog (and /tmp for the guest's files,
// which land in the machine's overlay, never on the host). Never destroyed: report() removes
// the directory at exit, after static destructors may have run.
const std::string& root() {
  static const std::string* dir = [] {
    char tmpl[] = "/tmp/probesim-fuzz-syscalls-XXXXXX";
    if (!mkdtemp(tmpl)) std::abort();
    auto* d = new std::string(tmpl);
    mkdir((*d + "/tmp").c_str(), 0755);
    return d;
  }();
  return *dir;
}

uint64_t programs_run;

void report() {
  std::fprintf(stderr, "syscalls: %llu programs run\n", static_cast<unsigned long long>(programs_run));
  std::filesystem::remove_all(root());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::atexit(report);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  uint8_t mode = in.u8();
  Options o;
  o.arch = (mode & 1) ? Arch::AArch64 : Arch::X86_64;
  o.root = root();
  o.seed = in.u8();
  o.cpus = 1 + ((mode >> 1) & 3);
  o.sched = (mode & 8) ? Options::Sched::Random : Options::Sched::RoundRobin;
  o.quantum = 1000 + 1000 * in.u8();
  o.kernel = (mode & 16) == 0;
  std::vector<uint8_t> image = elf_image(o.arch, program_code(o.arch, in));
  {
    std::ofstream f(root() + "/prog", std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(image.data()), static_cast<std::streamsize>(image.size()));
  }
  chmod((root() + "/prog").c_str(), 0755);
  auto m = Machine::create(o);
  if (!m.ok()) std::abort();  // a valid configuration: creating the machine must work
  // The program is a valid static ELF whatever the input: it must load.
  if (!m.value()->spawn({"/prog"}, {"PATH=/"}).ok()) std::abort();
  m.value()->run(2'000'000);
  ++programs_run;
  return 0;
}
