// Error-message helpers shared by the loader: every loader Error reads "<file>: <problem>".
#pragma once

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <string>

#include "probesim/result.h"

namespace probesim::loader {

// "0x1f40"
inline std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

// "<name>: <what>" with errno ENOEXEC (the kernel's answer to a file it cannot execute).
inline Error enoexec(const std::string& name, const std::string& what) {
  return Error::make(name + ": " + what, ENOEXEC);
}

}  // namespace probesim::loader
