#include "emu/user_stacktrace.h"

#include <optional>

#include "mmu/vm_flags.h"

namespace probesim::emu {
namespace {

bool peek_word(const mmu::Mm& mm, uint64_t addr, uint64_t& out) {
  return mm.peek(GuestAddr{addr}, &out, sizeof out);
}

bool in_exec_vma(const mmu::Mm& mm, uint64_t addr) {
  const mmu::Vma* v = mm.vma_at(GuestAddr{addr});
  return v && (v->vm_flags & mmu::VM_EXEC);
}

// Is there a call instruction whose return address is `ret`? x86: call rel32 (E8), or
// call r/m64 (FF /2) in its register, [reg], [reg+disp8], [reg+disp32]/[rip+disp32] forms
// (optionally REX-prefixed, which the shorter forms' lengths cover).
bool x86_call_before(const mmu::Mm& mm, uint64_t ret) {
  uint8_t b[7];
  if (ret < 7 || !mm.peek(GuestAddr{ret - 7}, b, 7)) return false;
  if (b[2] == 0xe8) return true;  // ret - 5
  struct Form {
    int at;           // index of FF in b (ret - 7 + at)
    uint8_t mod;      // ModRM.mod of that form
  };
  static constexpr Form kForms[] = {{5, 3}, {5, 0}, {4, 1}, {1, 2}, {1, 0}};
  for (const Form& f : kForms) {
    uint8_t modrm = b[f.at + 1];
    if (b[f.at] != 0xff || ((modrm >> 3) & 7) != 2 || (modrm >> 6) != f.mod) continue;
    if (f.mod == 0 && f.at == 1 && (modrm & 7) != 5) continue;  // only [rip+disp32] is 6 bytes
    if (f.mod == 0 && f.at == 5 && ((modrm & 7) == 4 || (modrm & 7) == 5)) continue;
    return true;
  }
  return false;
}

// arm64: bl imm26 or blr xN just before.
bool arm64_call_before(const mmu::Mm& mm, uint64_t ret) {
  uint32_t insn = 0;
  if (ret < 4 || !mm.peek(GuestAddr{ret - 4}, &insn, 4)) return false;
  return (insn & 0xfc000000) == 0x94000000 || (insn & 0xfffffc1f) == 0xd63f0000;
}

// At a function's first instruction: the return address (x86 [sp], arm64 x30) and where
// the caller's part of the stack starts (x86 above that slot).
struct EntryReturn {
  uint64_t ret = 0, caller_sp = 0;
};
std::optional<EntryReturn> x86_entry_return(const mmu::Mm& mm, const UserStackStart& s) {
  uint64_t ret = 0;
  if (!peek_word(mm, s.sp, ret)) return std::nullopt;
  return EntryReturn{ret, s.sp + 8};
}
std::optional<EntryReturn> arm64_entry_return(const mmu::Mm&, const UserStackStart& s) {
  return EntryReturn{s.lr, s.sp};
}

struct ArchUnwind {
  Arch arch;
  bool (*call_before)(const mmu::Mm&, uint64_t);
  std::optional<EntryReturn> (*entry_return)(const mmu::Mm&, const UserStackStart&);
};
constexpr ArchUnwind kUnwind[] = {{Arch::X86_64, x86_call_before, x86_entry_return},
                                  {Arch::AArch64, arm64_call_before, arm64_entry_return}};

const ArchUnwind& unwind_of(Arch arch) {
  for (const ArchUnwind& a : kUnwind)
    if (a.arch == arch) return a;
  return kUnwind[0];
}

// Frame records (next fp, return address) from fp, inside the stack VMA, moving up.
void walk_frames(const mmu::Mm& mm, UserStackStart start, size_t max,
                 std::vector<UserStackFrame>& out) {
  const mmu::Vma* stack = mm.vma_at(GuestAddr{start.sp});
  if (!stack) return;
  uint64_t fp = start.fp, floor = start.sp;
  while (out.size() < max) {
    if (fp < floor || fp % 8 != 0 || fp + 16 > stack->vm_end.value) break;
    uint64_t next = 0, ret = 0;
    if (!peek_word(mm, fp, next) || !peek_word(mm, fp + 8, ret)) break;
    if (ret == 0 || !in_exec_vma(mm, ret)) break;
    out.push_back({GuestAddr{ret}, true});
    floor = fp + 16;
    fp = next;
  }
}

void scan_stack(const mmu::Mm& mm, Arch arch, UserStackStart start, size_t max,
                std::vector<UserStackFrame>& out) {
  const mmu::Vma* stack = mm.vma_at(GuestAddr{start.sp});
  if (!stack) return;
  auto is_call = unwind_of(arch).call_before;
  uint64_t a = start.sp & ~uint64_t{7};
  for (size_t i = 0; i < kUserStackScanWords && out.size() < max; ++i, a += 8) {
    if (a + 8 > stack->vm_end.value) break;
    uint64_t w = 0;
    if (!peek_word(mm, a, w)) break;
    if (in_exec_vma(mm, w) && is_call(mm, w)) out.push_back({GuestAddr{w}, false});
  }
}

}  // namespace

std::vector<UserStackFrame> user_stack_trace(const mmu::Mm& mm, Arch arch, UserStackStart start,
                                             size_t max) {
  std::vector<UserStackFrame> out;
  if (max == 0) return out;
  out.push_back({start.ip, true});
  if (start.at_entry) {
    auto e = unwind_of(arch).entry_return(mm, start);
    if (e && e->ret != 0 && in_exec_vma(mm, e->ret) && out.size() < max) {
      out.push_back({GuestAddr{e->ret}, true});
      start.sp = e->caller_sp;
    }
  }
  size_t before = out.size();
  walk_frames(mm, start, max, out);
  if (out.size() == before) scan_stack(mm, arch, start, max, out);
  return out;
}

}  // namespace probesim::emu
