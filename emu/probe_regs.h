// The trapping CPU's registers as probes::Regs (Linux pt_regs shape) for the kprobes and
// uprobes engines: one batch read in, one batch write of what a handler changed (and the
// PC, always: the engines return where to resume in regs.ip).
#pragma once

#include "emu/cpu.h"
#include "probes/regs.h"

namespace probesim::emu {

enum class RegsMode { Kernel, User };  // x86 cs/ss values

probes::Regs read_probe_regs(Cpu& cpu, RegsMode mode);
void write_probe_regs(Cpu& cpu, const probes::Regs& regs);

}  // namespace probesim::emu
