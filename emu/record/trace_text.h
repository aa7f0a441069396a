// A Trace as text for people (`probesim trace show`): header, inputs, decisions (with the
// deadline wakes before them), time reads, stdin reads and checkpoints, one per line.
#pragma once

#include <string>

#include "emu/record/trace.h"

namespace probesim::emu {

std::string format_trace(const Trace& t);

}  // namespace probesim::emu
