#include "probes/arch/arm64/arm64_simulate.h"

#include <cstring>

#include "probes/arch/arm64/arm64_insn.h"
#include "probesim/assert.h"

namespace probesim::probes::arm64 {
namespace {

struct Ctx {
  uint32_t op;    // the instruction word
  GuestAddr addr; // its original address (the PC it would have run at)
  Regs& regs;
  KernelMemory& mem;
};

// Register 31 reads as zero and writes are discarded (XZR) in every form simulated here.
uint64_t get_x(const Ctx& c, unsigned r) { return r < 31 ? c.regs.x(r) : 0; }
void set_x(Ctx& c, unsigned r, uint64_t v) {
  if (r < 31) c.regs.set_x(r, v);
}

int64_t sign_extend(uint64_t v, unsigned top_bit) {
  const unsigned shift = 63 - top_bit;
  return static_cast<int64_t>(v << shift) >> shift;
}

void advance(Ctx& c, int64_t disp) { c.regs.set_ip(c.addr + static_cast<uint64_t>(disp)); }

EmulateResult sim_none(Ctx&) {
  PROBESIM_ASSERT_MSG(false, "arm64 simulate called without a simulation op");
  return {};
}

EmulateResult sim_b_cond(Ctx& c) {
  const bool taken = condition_holds(c.op & 0xf, c.regs.flags());
  advance(c, taken ? sign_extend(((c.op >> 5) & 0x7ffff) << 2, 20) : 4);
  return {};
}

EmulateResult sim_cbz_cbnz(Ctx& c) {
  const unsigned rt = c.op & 0x1f;
  const uint64_t v = (c.op & (1u << 31)) ? get_x(c, rt) : (get_x(c, rt) & 0xffffffffu);
  const bool nz = (c.op & (1u << 24)) != 0;
  const bool taken = nz ? v != 0 : v == 0;
  advance(c, taken ? sign_extend(((c.op >> 5) & 0x7ffff) << 2, 20) : 4);
  return {};
}

EmulateResult sim_tbz_tbnz(Ctx& c) {
  const unsigned rt = c.op & 0x1f;
  const unsigned bit = ((c.op & (1u << 31)) >> 26) | ((c.op >> 19) & 0x1f);
  const bool set = ((get_x(c, rt) >> bit) & 1) != 0;
  const bool nz = (c.op & (1u << 24)) != 0;
  const bool taken = nz ? set : !set;
  advance(c, taken ? sign_extend(((c.op >> 5) & 0x3fff) << 2, 15) : 4);
  return {};
}

EmulateResult sim_adr_adrp(Ctx& c) {
  const int64_t imm = sign_extend(((c.op >> 3) & 0x1ffffc) | ((c.op >> 29) & 0x3), 20);
  const uint64_t val = (c.op & 0x80000000u)
                           ? (static_cast<uint64_t>(imm) << 12) + (c.addr.value & ~0xfffull)
                           : static_cast<uint64_t>(imm) + c.addr.value;
  set_x(c, c.op & 0x1f, val);
  advance(c, 4);
  return {};
}

EmulateResult sim_b_bl(Ctx& c) {
  if (c.op & (1u << 31)) set_x(c, 30, c.addr.value + 4);
  advance(c, sign_extend((c.op & 0x3ffffff) << 2, 27));
  return {};
}

EmulateResult sim_br_blr_ret(Ctx& c) {
  const uint64_t target = get_x(c, (c.op >> 5) & 0x1f);  // read first: `blr x30` works
  if (((c.op >> 21) & 0x3) == 1) set_x(c, 30, c.addr.value + 4);
  c.regs.set_ip(GuestAddr{target});
  return {};
}

EmulateResult load_literal(Ctx& c, size_t size, bool sign) {
  const GuestAddr at = c.addr + static_cast<uint64_t>(sign_extend(((c.op >> 5) & 0x7ffff) << 2, 20));
  uint8_t buf[8] = {};
  if (!c.mem.read(at, std::span<uint8_t>(buf, size))) return {false, at};
  uint64_t v = 0;
  std::memcpy(&v, buf, size);
  if (sign) v = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(v)));
  set_x(c, c.op & 0x1f, v);
  advance(c, 4);
  return {};
}

EmulateResult sim_ldr_lit(Ctx& c) { return load_literal(c, (c.op & (1u << 30)) ? 8 : 4, false); }
EmulateResult sim_ldrsw_lit(Ctx& c) { return load_literal(c, 4, true); }
EmulateResult sim_nop(Ctx& c) {
  advance(c, 4);
  return {};
}

using SimFn = EmulateResult (*)(Ctx&);
constexpr SimFn kSims[] = {sim_none,     sim_b_cond, sim_cbz_cbnz,  sim_tbz_tbnz, sim_adr_adrp,
                           sim_b_bl,     sim_br_blr_ret, sim_ldr_lit, sim_ldrsw_lit, sim_nop};
static_assert(std::size(kSims) == static_cast<size_t>(Arm64Op::kCount));

// arm_probe_decode_insn's order.
struct SimEntry {
  InsnPattern pattern;
  Arm64Op op;
};
constexpr SimEntry kSimTable[] = {
    {kBcond, Arm64Op::BCond},    {kCbz, Arm64Op::CbzCbnz},   {kCbnz, Arm64Op::CbzCbnz},
    {kTbz, Arm64Op::TbzTbnz},    {kTbnz, Arm64Op::TbzTbnz},  {kAdr, Arm64Op::AdrAdrp},
    {kAdrp, Arm64Op::AdrAdrp},   {kB, Arm64Op::BBl},         {kBl, Arm64Op::BBl},
    {kBr, Arm64Op::BrBlrRet},    {kBlr, Arm64Op::BrBlrRet},  {kRet, Arm64Op::BrBlrRet},
    {kLdrLit, Arm64Op::LdrLit},  {kLdrswLit, Arm64Op::LdrswLit},
};

}  // namespace

Arm64Op simulate_op(uint32_t insn) {
  for (const auto& e : kSimTable) {
    if (e.pattern.matches(insn)) return e.op;
  }
  return Arm64Op::None;
}

bool condition_holds(uint8_t cond, uint64_t pstate) {
  const bool n = pstate & (1u << 31), z = pstate & (1u << 30), c = pstate & (1u << 29),
             v = pstate & (1u << 28);
  bool r = true;
  switch (cond >> 1) {
    case 0: r = z; break;             // eq / ne
    case 1: r = c; break;             // cs / cc
    case 2: r = n; break;             // mi / pl
    case 3: r = v; break;             // vs / vc
    case 4: r = c && !z; break;       // hi / ls
    case 5: r = n == v; break;        // ge / lt
    case 6: r = n == v && !z; break;  // gt / le
    case 7: return true;              // al / nv: always
  }
  return (cond & 1) ? !r : r;
}

EmulateResult simulate(const ArchInsn& insn, GuestAddr addr, Regs& regs, KernelMemory& mem) {
  PROBESIM_ASSERT(insn.op < std::size(kSims));
  uint32_t word;
  std::memcpy(&word, insn.bytes.data(), 4);
  Ctx c{word, addr, regs, mem};
  return kSims[insn.op](c);
}

}  // namespace probesim::probes::arm64
