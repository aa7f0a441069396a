// x86 optprobe conditions (Linux arch/x86/kernel/kprobes/opt.c can_optimize and
// copy_optimized_instructions) on hand-made functions, one rule per case; and the detour
// buffer's layout (template, relocated copy, jmp back) and the jump's encoding.
#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "probes/arch/x86_64/x86_kprobes.h"
#include "probes/symbol_source.h"

using namespace probesim;
using namespace probesim::probes;

namespace {

constexpr uint64_t kFn = 0xffffffff81001000ull;

// One function `f` at kFn made of `code`.
struct OneFunction final : SymbolSource {
  uint64_t size;
  explicit OneFunction(uint64_t n) : size(n) {}
  std::optional<FunctionSymbol> lookup(std::string_view) const override { return fn(); }
  std::optional<FunctionSymbol> function_containing(GuestAddr a) const override {
    if (a.value < kFn || a.value >= kFn + size) return std::nullopt;
    return fn();
  }
  bool is_kernel_text(GuestAddr) const override { return true; }
  bool is_blacklisted(GuestAddr) const override { return false; }
  FunctionSymbol fn() const { return FunctionSymbol{"f", GuestAddr{kFn}, size}; }
};

TextReader reader(const std::vector<uint8_t>& code) {
  return [&code](GuestAddr a, std::span<uint8_t> out) {
    if (a.value < kFn || a.value + out.size() > kFn + code.size()) return false;
    std::memcpy(out.data(), code.data() + (a.value - kFn), out.size());
    return true;
  };
}

OptPrep prep(const std::vector<uint8_t>& code, uint64_t offset) {
  static x86::X86Kprobes arch;
  OneFunction syms(code.size());
  return arch.prepare_optimized(GuestAddr{kFn + offset}, reader(code), syms);
}

// push rbp; mov rbp,rsp; mov rax,rdi; add rax,rsi; pop rbp; ret
const std::vector<uint8_t> kStraight = {0x55, 0x48, 0x89, 0xe5, 0x48, 0x89, 0xf8,
                                        0x48, 0x01, 0xf0, 0x5d, 0xc3};

}  // namespace

TEST_CASE("optprobe conditions: whole instructions covering >= 5 bytes are copied") {
  OptPrep p = prep(kStraight, 0);
  CHECK(p.refusal == OptRefusal::None);
  CHECK(p.size == 7);  // push (1) + mov (3) + mov (3): the first >= 5
  REQUIRE(p.insns.size() == 3);
  CHECK(p.insns[1].addr.value == kFn + 1);
}

TEST_CASE("optprobe conditions: the jump must not cross the function end") {
  CHECK(prep(kStraight, 7).refusal == OptRefusal::None);  // add; pop; ret: exactly 5 bytes
  CHECK(prep(kStraight, 8).refusal == OptRefusal::CrossesFunctionEnd);
  CHECK(prep(kStraight, 11).refusal == OptRefusal::CrossesFunctionEnd);
}

TEST_CASE("optprobe conditions: an undecodable instruction anywhere in the function refuses") {
  std::vector<uint8_t> code = kStraight;
  code.insert(code.end(), {0x06});  // push es: invalid in 64-bit mode
  CHECK(prep(code, 0).refusal == OptRefusal::Undecodable);
}

TEST_CASE("optprobe conditions: an indirect jump anywhere in the function refuses") {
  std::vector<uint8_t> code = kStraight;
  code.insert(code.end(), {0xff, 0xe0});  // jmp *rax
  CHECK(prep(code, 0).refusal == OptRefusal::IndirectJump);
  code = kStraight;
  code.insert(code.end(), {0xff, 0x24, 0xc5, 0, 0, 0, 0});  // jmp *(,rax,8): a jump table
  CHECK(prep(code, 0).refusal == OptRefusal::IndirectJump);
  code = kStraight;
  code.insert(code.end(), {0xff, 0xd0});  // call *rax: not a jump
  CHECK(prep(code, 0).refusal == OptRefusal::None);
}

TEST_CASE("optprobe conditions: a relative jump into [addr + 1, addr + 5] refuses") {
  // 0: jmp +0 (eb 00) ... the probe at 2; a jcc at the end jumping back to 2 + k.
  for (int target = 1; target <= 7; ++target) {
    std::vector<uint8_t> code = {0x90, 0x90};                  // 0, 1: nop nop (probe at 0)
    code.insert(code.end(), {0x48, 0x89, 0xf8, 0x48, 0x01, 0xf0, 0x48, 0x89, 0xc2});
    const int8_t rel = static_cast<int8_t>(target - static_cast<int>(code.size() + 2));
    code.insert(code.end(), {0x75, static_cast<uint8_t>(rel), 0xc3});  // jne target; ret
    CAPTURE(target);
    const OptRefusal r = prep(code, 0).refusal;
    // target 1 is an instruction start inside the replaced range too, but the rule is the
    // rel32's four bytes: [1, 5] inclusive.
    CHECK(r == (target <= 5 ? OptRefusal::JumpIntoRange : OptRefusal::None));
  }
}

TEST_CASE("optprobe conditions: every copied instruction must be boostable") {
  // probe at 0: mov eax,1 (5 bytes) alone is fine; a jcc or a call in the range is not.
  std::vector<uint8_t> call = {0x55, 0xe8, 0, 0, 0, 0, 0x5d, 0xc3};  // push; call; pop; ret
  OptPrep p = prep(call, 0);
  CHECK(p.refusal == OptRefusal::NotRelocatable);
  CHECK(p.at.value == kFn + 1);
  std::vector<uint8_t> jcc = {0x48, 0x85, 0xff, 0x74, 0x01, 0x90, 0x90, 0xc3};  // test; je
  CHECK(prep(jcc, 0).refusal == OptRefusal::NotRelocatable);
  std::vector<uint8_t> mov = {0xb8, 1, 0, 0, 0, 0xc3};
  CHECK(prep(mov, 0).refusal == OptRefusal::None);
}

TEST_CASE("optprobe detour: template, RIP-relative copy rebased, jmp back to addr + size") {
  x86::X86Kprobes arch;
  // mov rax, [rip + 0x100]; ret
  const std::vector<uint8_t> code = {0x48, 0x8b, 0x05, 0x00, 0x01, 0x00, 0x00, 0x90, 0xc3};
  OptPrep p = prep(code, 0);
  REQUIRE(p.refusal == OptRefusal::None);
  CHECK(p.size == 7);
  const GuestAddr slot{kFn + 0x800000}, callback{kFn + 0x40};
  auto d = arch.detour_contents(p, GuestAddr{kFn}, slot, 0x1234, callback);
  REQUIRE(d.ok());
  const size_t at = arch.detour_copy_offset();
  REQUIRE(d->size() == at + 7 + 5);
  // movabs $op,%rdi then call rel32 to the callback (both inside the template)
  uint64_t op;
  std::memcpy(&op, &(*d)[35 + 2], 8);
  CHECK(op == 0x1234);
  int32_t call;
  std::memcpy(&call, &(*d)[45 + 1], 4);
  CHECK(slot.value + 45 + 5 + static_cast<int64_t>(call) == callback.value);
  // the copy reads the same absolute address
  int32_t disp;
  std::memcpy(&disp, &(*d)[at + 3], 4);
  CHECK(slot.value + at + 7 + static_cast<int64_t>(disp) == kFn + 7 + 0x100);
  // jmp back
  CHECK((*d)[at + 7] == 0xe9);
  int32_t back;
  std::memcpy(&back, &(*d)[at + 8], 4);
  CHECK(slot.value + at + 12 + static_cast<int64_t>(back) == kFn + 7);
  // a detour beyond rel32 reach is refused (-ERANGE)
  auto far = arch.detour_contents(p, GuestAddr{kFn}, GuestAddr{kFn - (3ull << 31)}, 1, callback);
  CHECK_FALSE(far.ok());
  // the jump itself
  auto j = arch.optimized_jump(GuestAddr{kFn}, slot);
  REQUIRE(j.size() == 5);
  CHECK(j[0] == 0xe9);
  int32_t rel;
  std::memcpy(&rel, &j[1], 4);
  CHECK(kFn + 5 + static_cast<int64_t>(rel) == slot.value);
}

TEST_CASE("optprobe conditions: every refusal has a name and a sentence") {
  for (int r = 0; r <= static_cast<int>(OptRefusal::Gone); ++r) {
    CHECK_FALSE(opt_refusal_name(static_cast<OptRefusal>(r)).empty());
    CHECK_FALSE(opt_refusal_text(static_cast<OptRefusal>(r)).empty());
  }
  CHECK(opt_refusal_name(OptRefusal::IndirectJump) == "indirect-jump");
}
