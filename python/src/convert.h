// Conversions between Python values and the C++ API's, with BadArgument for bad input.
#pragma once

#include <pybind11/pybind11.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace probesim::python {

// A Python str from guest-produced text: invalid UTF-8 becomes \xNN escapes, never an error.
pybind11::str to_str(std::string_view text);
// os.fspath(obj) as a std::string (str, bytes or os.PathLike); BadArgument names `what`.
std::string fspath(pybind11::handle obj, const char* what);
// A path argument as a std::string; BadArgument (naming `what`) if it contains NUL.
std::string path_string(const std::filesystem::path& path, const char* what);
// argv: a non-empty sequence of str/PathLike without NUL bytes (a bare str is rejected).
std::vector<std::string> to_argv(pybind11::handle argv);
// env: None (empty) or a mapping str -> str, as "KEY=VALUE" strings in iteration order.
std::vector<std::string> to_envp(pybind11::handle env);
// A non-negative Python int as uint64; BadArgument names `what`.
uint64_t to_u64(pybind11::handle value, const char* what);
// A machine word: an int in [-2**63, 2**64), negative values as two's complement (so -22 is
// -EINVAL in a register); BadArgument names `what`.
uint64_t to_word(pybind11::handle value, const char* what);

// Where a kernel probe goes (register_kprobe's kp.addr or kp.symbol_name + kp.offset), from
// an int address or a "symbol" / "symbol+offset" string (offset decimal or 0x-hex).
struct ProbeTarget {
  uint64_t addr = 0;  // when symbol is empty
  std::string symbol;
  uint64_t offset = 0;
  std::string text;  // as the user wrote it: "vfs_read+0x4", "0xffffffff81000010"
};
ProbeTarget to_probe_target(pybind11::handle where, const char* what);

}  // namespace probesim::python
