// Linux's fs/binfmt_script.c: a file starting with "#!" names the program that runs it. Pure
// functions over the file's first BINPRM_BUF_SIZE bytes; the caller (MachineState::load_image)
// opens the interpreter and restarts the exec with it, up to exec_binprm's depth limit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "probesim/result.h"

namespace probesim::loader {

constexpr size_t kBinprmBufSize = 256;  // BINPRM_BUF_SIZE (include/uapi/linux/binfmts.h)
// fs/exec.c exec_binprm: search_binary_handler runs at depths 0..5, so five "#!" files may
// chain before the program that is not a script; a sixth is ELOOP.
constexpr int kMaxBinfmtDepth = 5;

// The "#!" line: the interpreter's path and its one optional argument (everything after the
// first space/tab run, trailing spaces and tabs trimmed, inner ones kept).
struct ScriptInterp {
  std::string name;
  std::optional<std::string> arg;
};

// load_script's parse of `head` (the file's first bytes; only the first BINPRM_BUF_SIZE count,
// the rest of the buffer reads as NULs as in the kernel's zeroed bprm->buf). nullopt: not a
// script (no "#!"). ENOEXEC Error (naming `file`): a "#!" line without an interpreter name,
// or one whose name may be truncated (no newline and no space/tab/NUL after it in the buffer).
Result<std::optional<ScriptInterp>> parse_script(const std::string& file,
                                                 std::span<const uint8_t> head);

// The argv the interpreter gets (remove_arg_zero, then the interpreter's name, its argument
// and the script's path as execve was given it are pushed in front): [name, (arg), filename,
// argv[1:]...]. An empty argv has no argv[0] to remove.
std::vector<std::string> script_argv(const ScriptInterp& interp, const std::string& filename,
                                     const std::vector<std::string>& argv);

}  // namespace probesim::loader
