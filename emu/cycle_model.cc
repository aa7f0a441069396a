#include "emu/cycle_model.h"

#include "emu/arch_info.h"
#include "emu/insn_policy.h"
#include "emu/x86_fpu.h"
#include "probesim/assert.h"

namespace probesim::emu {

CycleModel::CycleModel(Arch arch)
    : arch_(arch), task_size_(arch_info(arch).task_size), costs_(class_costs(arch)),
      front_(kFrontSize) {
  cs_err e = arch == Arch::X86_64 ? cs_open(CS_ARCH_X86, CS_MODE_64, &cs_)
                                  : cs_open(CS_ARCH_ARM64, CS_MODE_ARM, &cs_);
  PROBESIM_ASSERT_MSG(e == CS_ERR_OK, cs_strerror(e));
  cs_option(cs_, CS_OPT_DETAIL, CS_OPT_ON);
}

CycleModel::~CycleModel() { cs_close(&cs_); }

static size_t front_index(uint64_t addr) { return (addr ^ (addr >> 12)) & (4096 - 1); }

const BlockCost* CycleModel::lookup(uint64_t addr, uint32_t size) const {
  const FrontEntry& f = front_[front_index(addr)];
  if (f.addr == addr && f.size == size) return f.cost;
  auto it = blocks_.find(addr);
  if (it == blocks_.end() || it->second.first != size) return nullptr;
  front_[front_index(addr)] = FrontEntry{addr, size, &it->second.second};
  return &it->second.second;
}

const BlockCost& CycleModel::block(uint64_t addr, std::span<const uint8_t> code,
                                   std::span<const uint8_t> original, bool charged) {
  uint32_t size = static_cast<uint32_t>(code.size());
  if (const BlockCost* c = lookup(addr, size)) return *c;
  auto& slot = blocks_[addr];
  slot = {size, decode(addr, code)};
  if (!original.empty()) slot.second.cycles = original_cycles(addr, original, size);
  if (!charged) slot.second.cycles = 0;
  front_[front_index(addr)] = FrontEntry{addr, size, &slot.second};
  return slot.second;
}

BlockCost CycleModel::decode(uint64_t addr, std::span<const uint8_t> code) const {
  BlockCost cost;
  cs_insn* insn = cs_malloc(cs_);
  const uint8_t* p = code.data();
  size_t left = code.size();
  uint64_t a = addr;
  while (left > 0 && cs_disasm_iter(cs_, &p, &left, &a, insn)) {
    InsnClass cls = classify(*insn);
    const uint32_t index = cost.insns;
    cost.insns += 1;
    cost.cycles += costs_[static_cast<size_t>(cls)].cycles;
    if (insn->address < task_size_) {
      if (SyncKind k = sync_kind(arch_, *insn); k != SyncKind::None)
        cost.sync.push_back(SyncSite{insn->address, index, k});
      if (std::optional<EmulatedSite> site = user_site(arch_, *insn)) {
        cost.emulated.push_back(*site);
        continue;
      }
    }
    if (arch_ != Arch::X86_64) continue;
    EmulatedKind kind = insn->id == X86_INS_RDTSC || insn->id == X86_INS_RDTSCP
                            ? EmulatedKind::Rdtsc
                            : X86Fpu::site_of(*insn);
    if (kind != EmulatedKind::None) cost.emulated.push_back({insn->address, kind});
  }
  cs_free(insn, 1);
  if (left > 0) {
    // Undecodable tail (Unicorn will raise #UD/UDEF on it): count it as one instruction.
    cost.insns += 1;
    cost.cycles += 1;
  }
  return cost;
}

uint64_t CycleModel::original_cycles(uint64_t addr, std::span<const uint8_t> original,
                                     uint32_t size) const {
  uint64_t cycles = 0;
  cs_insn* insn = cs_malloc(cs_);
  const uint8_t* p = original.data();
  size_t left = original.size();
  uint64_t a = addr;
  while (a < addr + size && left > 0 && cs_disasm_iter(cs_, &p, &left, &a, insn))
    cycles += costs_[static_cast<size_t>(classify(*insn))].cycles;
  cs_free(insn, 1);
  if (a < addr + size) cycles += 1;  // an undecodable tail, as decode() counts it
  return cycles;
}

void CycleModel::invalidate(uint64_t start, uint64_t len) {
  uint64_t end = start + len;
  for (auto it = blocks_.begin(); it != blocks_.end();) {
    uint64_t b = it->first, e = b + it->second.first;
    if (b < end && start < e)
      it = blocks_.erase(it);
    else
      ++it;
  }
  std::fill(front_.begin(), front_.end(), FrontEntry{});
}

}  // namespace probesim::emu
