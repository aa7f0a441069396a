// Historical kernel bugs the model can re-create (Machine(bugs={...}), --bug NAME), each with
// the Linux change that fixed it. Off by default; a toggle changes only the step it names.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "probesim/result.h"

namespace probesim::emu {

struct BugToggle {
  const char* name;
  const char* what;      // the bug, in kernel terms
  const char* fixed_by;  // where Linux fixed it
};

std::span<const BugToggle> bug_toggles();
// EINVAL naming the unknown toggle and listing the known ones.
Result<void> check_bug_names(const std::vector<std::string>& names);

}  // namespace probesim::emu
