// Classification of a probed x86-64 instruction (Linux v6 __copy_instruction checks,
// prepare_emulation, can_boost). Table-driven where Linux is: the two-byte boostable bitmap.
#pragma once

#include "probes/arch/kprobe_arch.h"
#include "probes/arch/x86_64/x86_insn.h"

namespace probesim::probes::x86 {

// can_boost (v6): may the copy run without a trap, followed by `jmp` back?
bool can_boost(const X86Insn& in);

// Fills an ArchInsn for `in`. Errors: EINVAL (int3, mov/pop ss: __copy_instruction refuses),
// EOPNOTSUPP (far call/jmp/ret, iret, ff /3 /5, indirect branch through memory or with a
// non-native address size, VMX 0f 01 /0 mod 3, 16-bit-operand near branches).
Result<ArchInsn> classify(const X86Insn& in);

}  // namespace probesim::probes::x86
