// uc_check: every uc_* call in bench/raw/ goes through this (docs/conventions.md §7): a failed
// call becomes an Error naming the operation and Unicorn's message.
#pragma once

#include <unicorn/unicorn.h>

#include <string>

#include "probesim/result.h"

namespace probesim::bench {

inline Result<void> uc_check(uc_err err, const std::string& what) {
  if (err == UC_ERR_OK) return {};
  return Error::make("unicorn: " + what + " failed: " + uc_strerror(err));
}

}  // namespace probesim::bench
