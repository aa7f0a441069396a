#include "emu/x86_fpu.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "probesim/assert.h"

namespace probesim::emu {
namespace {

// IEEE flags, the same bits in softfloat's float_exception_flags, FSW and MXCSR: invalid 0x01,
// divide-by-zero 0x04, overflow 0x08, underflow 0x10, inexact 0x20 (QEMU
// include/fpu/softfloat-types.h; Intel SDM vol. 1, 8.1.3 and 10.2.3). Denormal (0x02) has no
// softfloat counterpart.
constexpr uint8_t kIeeeFlags = 0x3d;
constexpr uint16_t kFswExceptions = 0x3f, kFswEsB = 0x8080;  // ES (bit 7) and B (bit 15)
constexpr uint16_t kFswZe = 0x04;
// QEMU 5.0's helper_fdiv sets FSW.ZE for every zero divisor, also for 0/0, inf/0 and NaN/0,
// where x86 raises no divide-by-zero (softfloat's own divbyzero flag is right). Before each x87
// division whose FSW.ZE is clear, this bit of env->fpop (a field QEMU's TCG never reads; it
// travels with the task's context) marks that FSW.ZE is untrusted until the next fold().
constexpr uint64_t kFopUntrustedZe = 1;
constexpr uint16_t kInitFcw = 0x037f;  // FNINIT (its tag word, all empty, is FXSAVE tag 0)
constexpr uint32_t kInitMxcsr = 0x1f80, kMxcsrMask = 0xffff;
// CR4.OSFXSR | CR4.OSXMMEXCPT, which Linux sets at boot (fpu__init_cpu_generic). Without
// OSFXSR, QEMU's fxsave/fxrstor skip MXCSR and XMM0-15 (measured: glibc's lazy-binding
// _dl_runtime_resolve_fxsave then zeroed a libm function's first argument).
constexpr uint64_t kCr4OsfxsrOsxmmexcpt = (1u << 9) | (1u << 10);
// FXSAVE layout (Intel SDM vol. 1, table 10-2).
constexpr size_t kFxFcw = 0, kFxFsw = 2, kFxFtw = 4, kFxMxcsr = 24, kFxMxcsrMask = 28;
constexpr size_t kFxSt = 32, kFxXmm = 160;

void check(uc_err e, const char* what) {
  PROBESIM_ASSERT_MSG(e == UC_ERR_OK, std::string("x86 fpu: ") + what + ": " + uc_strerror(e));
}

struct SiteRow {
  unsigned id;
  EmulatedKind kind;
};

// Instructions that read or load FSW/MXCSR exception flags (fold first), and the x87
// instructions QEMU 5.0 computes through host doubles (helper_fyl2x ... in fpu_helper.c).
constexpr SiteRow kSites[] = {
    {X86_INS_FNSTSW, EmulatedKind::FpuFold},       {X86_INS_FNSTENV, EmulatedKind::FpuFold},
    {X86_INS_FNSAVE, EmulatedKind::FpuFold},       {X86_INS_FNCLEX, EmulatedKind::FpuFold},
    {X86_INS_FNINIT, EmulatedKind::FpuFold},       {X86_INS_FLDENV, EmulatedKind::FpuFold},
    {X86_INS_FRSTOR, EmulatedKind::FpuFold},       {X86_INS_STMXCSR, EmulatedKind::FpuFold},
    {X86_INS_LDMXCSR, EmulatedKind::FpuFold},      {X86_INS_VSTMXCSR, EmulatedKind::FpuFold},
    {X86_INS_VLDMXCSR, EmulatedKind::FpuFold},     {X86_INS_FXSAVE, EmulatedKind::FpuFold},
    {X86_INS_FXSAVE64, EmulatedKind::FpuFold},     {X86_INS_FXRSTOR, EmulatedKind::FpuFold},
    {X86_INS_FXRSTOR64, EmulatedKind::FpuFold},    {X86_INS_XSAVE, EmulatedKind::FpuFold},
    {X86_INS_XSAVE64, EmulatedKind::FpuFold},      {X86_INS_XSAVEOPT, EmulatedKind::FpuFold},
    {X86_INS_XSAVEOPT64, EmulatedKind::FpuFold},   {X86_INS_XSAVEC, EmulatedKind::FpuFold},
    {X86_INS_XSAVEC64, EmulatedKind::FpuFold},     {X86_INS_XSAVES, EmulatedKind::FpuFold},
    {X86_INS_XSAVES64, EmulatedKind::FpuFold},     {X86_INS_XRSTOR, EmulatedKind::FpuFold},
    {X86_INS_XRSTOR64, EmulatedKind::FpuFold},     {X86_INS_XRSTORS, EmulatedKind::FpuFold},
    {X86_INS_XRSTORS64, EmulatedKind::FpuFold},    {X86_INS_F2XM1, EmulatedKind::FpuHostX87},
    {X86_INS_FYL2X, EmulatedKind::FpuHostX87},     {X86_INS_FPTAN, EmulatedKind::FpuHostX87},
    {X86_INS_FPATAN, EmulatedKind::FpuHostX87},    {X86_INS_FXTRACT, EmulatedKind::FpuHostX87},
    {X86_INS_FPREM1, EmulatedKind::FpuHostX87},    {X86_INS_FPREM, EmulatedKind::FpuHostX87},
    {X86_INS_FYL2XP1, EmulatedKind::FpuHostX87},   {X86_INS_FSINCOS, EmulatedKind::FpuHostX87},
    {X86_INS_FSCALE, EmulatedKind::FpuHostX87},    {X86_INS_FSIN, EmulatedKind::FpuHostX87},
    {X86_INS_FCOS, EmulatedKind::FpuHostX87},     {X86_INS_FDIV, EmulatedKind::FpuDivide},
    {X86_INS_FDIVP, EmulatedKind::FpuDivide},      {X86_INS_FDIVR, EmulatedKind::FpuDivide},
    {X86_INS_FDIVRP, EmulatedKind::FpuDivide},     {X86_INS_FIDIV, EmulatedKind::FpuDivide},
    {X86_INS_FIDIVR, EmulatedKind::FpuDivide},
};

// The x87 state registers, batch-read and written together.
constexpr int kX87Ids[] = {UC_X86_REG_FPCW, UC_X86_REG_FPSW, UC_X86_REG_FPTAG,
                           UC_X86_REG_FP0,  UC_X86_REG_FP1,  UC_X86_REG_FP2,
                           UC_X86_REG_FP3,  UC_X86_REG_FP4,  UC_X86_REG_FP5,
                           UC_X86_REG_FP6,  UC_X86_REG_FP7};

// The x87 unit as Unicorn exposes it: physical registers R0-R7, TOP in FSW bits 11-13, the
// full tag word (2 bits per physical register, 3 = empty).
struct X87State {
  uint16_t fcw = 0, fsw = 0, ftw = 0;
  uint8_t phys[8][16] = {};  // 10 significant bytes each
  unsigned top() const { return (fsw >> 11) & 7; }
  uint8_t* st(unsigned i) { return phys[(top() + i) & 7]; }

  void read(uc_engine* uc) {
    uint64_t words[3] = {};
    void* ptrs[11] = {&words[0], &words[1], &words[2]};
    for (int i = 0; i < 8; ++i) ptrs[3 + i] = phys[i];
    check(uc_reg_read_batch(uc, const_cast<int*>(kX87Ids), ptrs, 11), "x87 read");
    fcw = static_cast<uint16_t>(words[0]);
    fsw = static_cast<uint16_t>(words[1]);
    ftw = static_cast<uint16_t>(words[2]);
  }
  void write(uc_engine* uc) const {
    uint64_t words[3] = {fcw, fsw, ftw};
    void* ptrs[11] = {&words[0], &words[1], &words[2]};
    for (int i = 0; i < 8; ++i) ptrs[3 + i] = const_cast<uint8_t*>(phys[i]);
    check(uc_reg_write_batch(uc, const_cast<int*>(kX87Ids), ptrs, 11), "x87 write");
  }
};

// ---- softfloat flag offsets: found by experiment --------------------------------------

// One calibration run: `code` with two doubles at kData, expected to raise `flag` in one unit.
struct Experiment {
  std::vector<uint8_t> code;
  double a, b;
  uint8_t flag;
  bool sse;
};

constexpr uint64_t kCode = 0x1000, kData = 0x2000;
// movsd xmm0, [rax]; divsd xmm0, [rax+8]
const std::vector<uint8_t> kSseDiv = {0xf2, 0x0f, 0x10, 0x00, 0xf2, 0x0f, 0x5e, 0x40, 0x08};
// fld qword [rax]; fdiv qword [rax+8]; fstp st(0)
const std::vector<uint8_t> kX87Div = {0xdd, 0x00, 0xdc, 0x70, 0x08, 0xdd, 0xd8};

// movsd xmm0, [rax]; mulsd xmm0, [rax+8]
const std::vector<uint8_t> kSseMul = {0xf2, 0x0f, 0x10, 0x00, 0xf2, 0x0f, 0x59, 0x40, 0x08};

// x86 detects tininess before rounding (Intel SDM vol. 1, 4.9.1.5; measured: DBL_MIN *
// (1 - 2^-53) raises UNDERFLOW natively); QEMU 5.0's default is after rounding.
// float_status: float_detect_tininess, float_rounding_mode, float_exception_flags, ...
constexpr uint8_t kTininessBeforeRounding = 1;
void set_tininess_before_rounding(uint8_t* context, const X86Fpu::FlagOffsets& off) {
  context[off.x87 - 2] = kTininessBeforeRounding;
  context[off.sse - 2] = kTininessBeforeRounding;
}

struct ScratchEngine {
  uc_engine* uc = nullptr;
  uc_context* base = nullptr;
  uc_context* after = nullptr;
  ~ScratchEngine() {
    if (base) uc_context_free(base);
    if (after) uc_context_free(after);
    if (uc) uc_close(uc);
  }
};

// Offsets (from the start of a uc_context) whose byte is 0 before and e.flag after e ran.
std::vector<size_t> changed_to(ScratchEngine& s, const Experiment& e, bool* native) {
  check(uc_context_restore(s.uc, s.base), "calibration restore");
  double data[2] = {e.a, e.b};
  check(uc_mem_write(s.uc, kData, data, sizeof data), "calibration data");
  check(uc_mem_write(s.uc, kCode, e.code.data(), e.code.size()), "calibration code");
  uint64_t rax = kData;
  check(uc_reg_write(s.uc, UC_X86_REG_RAX, &rax), "calibration rax");
  check(uc_emu_start(s.uc, kCode, kCode + e.code.size(), 0, 0), "calibration run");
  check(uc_context_save(s.uc, s.after), "calibration save");
  uint32_t reg = 0;
  check(uc_reg_read(s.uc, e.sse ? UC_X86_REG_MXCSR : UC_X86_REG_FPSW, &reg), "calibration read");
  *native = (reg & e.flag) != 0;
  const size_t n = uc_context_size(s.uc);
  const auto* before = reinterpret_cast<const uint8_t*>(s.base);
  const auto* after = reinterpret_cast<const uint8_t*>(s.after);
  std::vector<size_t> out;
  for (size_t i = 0; i < n; ++i)
    if (before[i] == 0 && after[i] == e.flag) out.push_back(i);
  return out;
}

std::optional<X86Fpu::FlagOffsets> calibrate() {
  ScratchEngine s;
  check(uc_open(UC_ARCH_X86, UC_MODE_64, &s.uc), "calibration engine");
  check(uc_mem_map(s.uc, kCode, 0x1000, UC_PROT_READ | UC_PROT_EXEC), "calibration map");
  check(uc_mem_map(s.uc, kData, 0x1000, UC_PROT_READ | UC_PROT_WRITE), "calibration map");
  uint64_t fcw = kInitFcw, mxcsr = kInitMxcsr;
  check(uc_reg_write(s.uc, UC_X86_REG_FPCW, &fcw), "calibration fcw");
  check(uc_reg_write(s.uc, UC_X86_REG_MXCSR, &mxcsr), "calibration mxcsr");
  check(uc_context_alloc(s.uc, &s.base), "calibration context");
  check(uc_context_alloc(s.uc, &s.after), "calibration context");
  check(uc_context_save(s.uc, s.base), "calibration save");
  const Experiment experiments[] = {{kSseDiv, 1.0, 3.0, 0x20, true},
                                    {kSseDiv, 1.0, 0.0, 0x04, true},
                                    {kX87Div, 1.0, 3.0, 0x20, false},
                                    {kX87Div, 1.0, 0.0, 0x04, false}};
  std::optional<std::vector<size_t>> found[2];  // x87, sse
  bool all_native = true;
  for (const Experiment& e : experiments) {
    bool native = false;
    std::vector<size_t> c = changed_to(s, e, &native);
    all_native &= native;
    auto& f = found[e.sse ? 1 : 0];
    if (!f) {
      f = c;
    } else {
      std::vector<size_t> both;
      std::set_intersection(f->begin(), f->end(), c.begin(), c.end(), std::back_inserter(both));
      f = both;
    }
  }
  if (all_native) return std::nullopt;  // this Unicorn keeps FSW and MXCSR flags itself
  PROBESIM_ASSERT_MSG(found[0]->size() == 1 && found[1]->size() == 1 &&
                          (*found[0])[0] != (*found[1])[0] && (*found[0])[0] >= 2 &&
                          (*found[1])[0] >= 2,
                      "x86 fpu: cannot locate Unicorn's softfloat exception flags (x87 " +
                          std::to_string(found[0]->size()) + " candidates, SSE " +
                          std::to_string(found[1]->size()) + ")");
  X86Fpu::FlagOffsets off{(*found[0])[0], (*found[1])[0]};
  // The tininess mode sits two bytes before the flags (QEMU 5.0 float_status); check it:
  // DBL_MIN * (1 - 2^-53) rounds to DBL_MIN, tiny before rounding only.
  set_tininess_before_rounding(reinterpret_cast<uint8_t*>(s.base), off);
  bool native = false;
  std::vector<size_t> c =
      changed_to(s, {kSseMul, 0x1p-1022, 0x1.fffffffffffffp-1, 0x30, true}, &native);
  PROBESIM_ASSERT_MSG(std::find(c.begin(), c.end(), off.sse) != c.end(),
                      "x86 fpu: cannot set Unicorn's softfloat tininess mode");
  return off;
}

// ---- the host x87 ----------------------------------------------------------------------
#if defined(__x86_64__)
// FNSAVE/FRSTOR image, 32-bit protected-mode layout (Intel SDM vol. 1, figure 8-9), 108 bytes.
struct FnsaveImage {
  uint16_t fcw, r0, fsw, r1, ftw, r2;
  uint32_t fip;
  uint16_t fcs, fop;
  uint32_t fdp;
  uint16_t fds, r3;
  uint8_t st[8][10];  // ST(0)..ST(7)
};
static_assert(sizeof(FnsaveImage) == 108);

// Saves the host's x87 state, loads the guest's, runs one instruction, saves the result (FNSAVE
// does not wait, so an unmasked exception the instruction raised stays pending in the image,
// never trapping the host), and restores the host's state.
#define PROBESIM_HOST_X87_OP(name, insn)                                                  \
  void name(FnsaveImage& g) {                                                             \
    FnsaveImage host;                                                                     \
    __asm__ volatile("fnsave %1\n\tfrstor %0\n\t" insn "\n\tfnsave %0\n\tfrstor %1"       \
                     : "+m"(g), "=m"(host));                                              \
  }
PROBESIM_HOST_X87_OP(host_f2xm1, "f2xm1")
PROBESIM_HOST_X87_OP(host_fyl2x, "fyl2x")
PROBESIM_HOST_X87_OP(host_fptan, "fptan")
PROBESIM_HOST_X87_OP(host_fpatan, "fpatan")
PROBESIM_HOST_X87_OP(host_fxtract, "fxtract")
PROBESIM_HOST_X87_OP(host_fprem1, "fprem1")
PROBESIM_HOST_X87_OP(host_fprem, "fprem")
PROBESIM_HOST_X87_OP(host_fyl2xp1, "fyl2xp1")
PROBESIM_HOST_X87_OP(host_fsincos, "fsincos")
PROBESIM_HOST_X87_OP(host_fscale, "fscale")
PROBESIM_HOST_X87_OP(host_fsin, "fsin")
PROBESIM_HOST_X87_OP(host_fcos, "fcos")
#undef PROBESIM_HOST_X87_OP

struct HostOp {
  uint8_t modrm;  // the second opcode byte: D9 F0 ... D9 FF
  void (*run)(FnsaveImage&);
};
constexpr HostOp kHostOps[] = {
    {0xf0, host_f2xm1},  {0xf1, host_fyl2x},   {0xf2, host_fptan},   {0xf3, host_fpatan},
    {0xf4, host_fxtract}, {0xf5, host_fprem1}, {0xf8, host_fprem},   {0xf9, host_fyl2xp1},
    {0xfb, host_fsincos}, {0xfd, host_fscale}, {0xfe, host_fsin},    {0xff, host_fcos},
};
// Runs op on the host x87 over the engine's x87 state and writes the result back.
void run_on_host_x87(uc_engine* uc, void (*op)(FnsaveImage&)) {
  X87State x;
  x.read(uc);
  FnsaveImage g{};
  g.fcw = x.fcw;
  g.fsw = static_cast<uint16_t>(x.fsw & ~kFswEsB);  // a pending exception would trap the host
  g.ftw = x.ftw;
  for (unsigned i = 0; i < 8; ++i) std::memcpy(g.st[i], x.st(i), 10);
  op(g);
  x.fsw = static_cast<uint16_t>(g.fsw | (x.fsw & kFswEsB));
  x.ftw = g.ftw;
  for (unsigned i = 0; i < 8; ++i) std::memcpy(x.st(i), g.st[i], 10);  // TOP is the new one
  x.write(uc);
}
#endif

}  // namespace

// ---- X86Fpu ----------------------------------------------------------------------------

EmulatedKind X86Fpu::site_of(const cs_insn& insn) {
  for (const SiteRow& r : kSites)
    if (r.id == insn.id) return r.kind;
  return EmulatedKind::None;
}

const std::optional<X86Fpu::FlagOffsets>& X86Fpu::flag_offsets() {
  static const std::optional<FlagOffsets> offsets = calibrate();
  return offsets;
}

X86Fpu::X86Fpu(uc_engine* uc) : uc_(uc) { check(uc_context_alloc(uc_, &scratch_), "context"); }

X86Fpu::~X86Fpu() { uc_context_free(scratch_); }

void X86Fpu::before_divide() {
  uint64_t fsw = 0, fop = 0;
  check(uc_reg_read(uc_, UC_X86_REG_FPSW, &fsw), "fsw");
  if (fsw & kFswZe) return;  // already set: a spurious ZE changes nothing
  check(uc_reg_read(uc_, UC_X86_REG_FOP, &fop), "fop");
  fop |= kFopUntrustedZe;
  check(uc_reg_write(uc_, UC_X86_REG_FOP, &fop), "fop");
}

// FSW.ZE set since the marked division is QEMU's: cleared, the real one comes from softfloat.
void X86Fpu::drop_untrusted_ze() {
  uint64_t fop = 0;
  check(uc_reg_read(uc_, UC_X86_REG_FOP, &fop), "fop");
  if (!(fop & kFopUntrustedZe)) return;
  fop &= ~kFopUntrustedZe;
  check(uc_reg_write(uc_, UC_X86_REG_FOP, &fop), "fop");
  uint64_t fsw = 0;
  check(uc_reg_read(uc_, UC_X86_REG_FPSW, &fsw), "fsw");
  fsw &= ~uint64_t{kFswZe};
  check(uc_reg_write(uc_, UC_X86_REG_FPSW, &fsw), "fsw");
}

void X86Fpu::fold() {
  drop_untrusted_ze();
  const std::optional<FlagOffsets>& off = flag_offsets();
  if (!off) return;
  check(uc_context_save(uc_, scratch_), "fold save");
  auto* bytes = reinterpret_cast<uint8_t*>(scratch_);
  const uint8_t x87 = bytes[off->x87] & kIeeeFlags, sse = bytes[off->sse] & kIeeeFlags;
  if (!x87 && !sse) return;
  bytes[off->x87] &= static_cast<uint8_t>(~kIeeeFlags);
  bytes[off->sse] &= static_cast<uint8_t>(~kIeeeFlags);
  check(uc_context_restore(uc_, scratch_), "fold restore");
  if (x87) {
    uint64_t fcw = 0, fsw = 0;
    check(uc_reg_read(uc_, UC_X86_REG_FPCW, &fcw), "fcw");
    check(uc_reg_read(uc_, UC_X86_REG_FPSW, &fsw), "fsw");
    fsw |= x87;
    if (fsw & ~fcw & kFswExceptions) fsw |= kFswEsB;  // an unmasked exception is pending
    check(uc_reg_write(uc_, UC_X86_REG_FPSW, &fsw), "fsw");
  }
  if (sse) {
    uint64_t mxcsr = 0;
    check(uc_reg_read(uc_, UC_X86_REG_MXCSR, &mxcsr), "mxcsr");
    mxcsr |= sse;
    check(uc_reg_write(uc_, UC_X86_REG_MXCSR, &mxcsr), "mxcsr");
  }
}

void X86Fpu::enable_os_support() {
  uint64_t cr4 = 0;
  check(uc_reg_read(uc_, UC_X86_REG_CR4, &cr4), "cr4");
  cr4 |= kCr4OsfxsrOsxmmexcpt;
  check(uc_reg_write(uc_, UC_X86_REG_CR4, &cr4), "cr4");
}

void X86Fpu::init_state() {
  uint8_t image[kFxsaveSize] = {};
  std::memcpy(&image[kFxFcw], &kInitFcw, 2);
  std::memcpy(&image[kFxMxcsr], &kInitMxcsr, 4);
  fxrstor(image);  // abridged tag 0: every register empty
  if (const std::optional<FlagOffsets>& off = flag_offsets()) {
    check(uc_context_save(uc_, scratch_), "init save");
    set_tininess_before_rounding(reinterpret_cast<uint8_t*>(scratch_), *off);
    check(uc_context_restore(uc_, scratch_), "init restore");
  }
}

void X86Fpu::fxsave(uint8_t out[kFxsaveSize]) {
  fold();
  X87State x;
  x.read(uc_);
  std::memset(out, 0, kFxsaveSize);
  std::memcpy(&out[kFxFcw], &x.fcw, 2);
  std::memcpy(&out[kFxFsw], &x.fsw, 2);
  uint8_t abridged = 0;
  for (unsigned p = 0; p < 8; ++p)
    if (((x.ftw >> (2 * p)) & 3) != 3) abridged |= static_cast<uint8_t>(1u << p);
  out[kFxFtw] = abridged;
  uint64_t mxcsr = 0;
  check(uc_reg_read(uc_, UC_X86_REG_MXCSR, &mxcsr), "mxcsr");
  const uint32_t mx = static_cast<uint32_t>(mxcsr);
  std::memcpy(&out[kFxMxcsr], &mx, 4);
  std::memcpy(&out[kFxMxcsrMask], &kMxcsrMask, 4);
  for (unsigned i = 0; i < 8; ++i) std::memcpy(&out[kFxSt + 16 * i], x.st(i), 10);
  for (int i = 0; i < 16; ++i) check(uc_reg_read(uc_, UC_X86_REG_XMM0 + i, &out[kFxXmm + 16 * i]), "xmm");
}

void X86Fpu::fxrstor(const uint8_t in[kFxsaveSize]) {
  fold();  // the pending flags go into FSW/MXCSR, which the image then replaces
  X87State x;
  std::memcpy(&x.fcw, &in[kFxFcw], 2);
  std::memcpy(&x.fsw, &in[kFxFsw], 2);
  for (unsigned p = 0; p < 8; ++p)
    if (!((in[kFxFtw] >> p) & 1)) x.ftw |= static_cast<uint16_t>(3u << (2 * p));
  for (unsigned i = 0; i < 8; ++i) std::memcpy(x.st(i), &in[kFxSt + 16 * i], 10);
  x.write(uc_);
  uint32_t mx = 0;
  std::memcpy(&mx, &in[kFxMxcsr], 4);
  uint64_t mxcsr = mx & kMxcsrMask;
  check(uc_reg_write(uc_, UC_X86_REG_MXCSR, &mxcsr), "mxcsr");
  for (int i = 0; i < 16; ++i)
    check(uc_reg_write(uc_, UC_X86_REG_XMM0 + i, &in[kFxXmm + 16 * i]), "xmm");
}

bool X86Fpu::at_site(EmulatedKind kind, uint8_t last_byte) {
  if (kind == EmulatedKind::FpuFold) {
    fold();
    return false;
  }
  if (kind == EmulatedKind::FpuDivide) {
    before_divide();
    return false;
  }
#if defined(__x86_64__)
  for (const HostOp& op : kHostOps) {
    if (op.modrm != last_byte) continue;
    drop_untrusted_ze();  // the host's flags are right: what it leaves in FSW stays
    run_on_host_x87(uc_, op.run);
    return true;
  }
#else
  (void)last_byte;
#endif
  return false;
}

}  // namespace probesim::emu
