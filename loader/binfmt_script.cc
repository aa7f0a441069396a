#include "loader/binfmt_script.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "loader/loader_error.h"

namespace probesim::loader {
namespace {

using Buf = std::array<char, kBinprmBufSize>;

bool spacetab(char c) { return c == ' ' || c == '\t'; }

// next_non_spacetab / next_terminator of binfmt_script.c: the first index in [first, last]
// (inclusive, as there) that is not a space/tab, or that is a space/tab/NUL; -1 for none.
long next_non_spacetab(const Buf& b, long first, long last) {
  for (; first <= last; ++first)
    if (!spacetab(b[first])) return first;
  return -1;
}
long next_terminator(const Buf& b, long first, long last) {
  for (; first <= last; ++first)
    if (spacetab(b[first]) || b[first] == '\0') return first;
  return -1;
}

// strnchr(buf, size, '\n'): stops at the first NUL, as lib/string.c's does.
long find_newline(const Buf& b) {
  for (long i = 0; i < static_cast<long>(b.size()) && b[i] != '\0'; ++i)
    if (b[i] == '\n') return i;
  return -1;
}

// The C string starting at `from`, ending at the first NUL or at `end` (exclusive).
std::string c_string(const Buf& b, long from, long end) {
  const char* s = b.data() + from;
  return std::string(s, strnlen(s, static_cast<size_t>(end - from)));
}

}  // namespace

Result<std::optional<ScriptInterp>> parse_script(const std::string& file,
                                                 std::span<const uint8_t> head) {
  Buf b{};  // kzalloc'd bprm->buf: NULs past the end of a short file
  std::memcpy(b.data(), head.data(), std::min(head.size(), b.size()));
  if (b[0] != '#' || b[1] != '!') return std::optional<ScriptInterp>{};
  const long buf_end = static_cast<long>(b.size()) - 1;
  long i_end = find_newline(b);
  if (i_end < 0) {
    i_end = next_non_spacetab(b, 2, buf_end);
    if (i_end < 0) return enoexec(file, "its #! line holds only spaces and tabs");
    if (next_terminator(b, i_end, buf_end) < 0)
      return enoexec(file, "its #! line's interpreter path is longer than BINPRM_BUF_SIZE (256)");
    i_end = buf_end;
  }
  while (spacetab(b[i_end - 1])) --i_end;  // b[0..1] == "#!" stops this
  const long i_name = next_non_spacetab(b, 2, i_end);
  if (i_name < 0 || i_name == i_end) return enoexec(file, "its #! line names no interpreter");
  ScriptInterp out;
  const long i_sep = next_terminator(b, i_name, i_end);
  long i_arg = -1;
  if (i_sep >= 0 && b[i_sep] != '\0') i_arg = next_non_spacetab(b, i_sep, i_end);
  if (i_arg >= 0) {
    out.name = c_string(b, i_name, i_sep);
    out.arg = c_string(b, i_arg, i_end);
  } else {
    out.name = c_string(b, i_name, i_end);
  }
  return std::optional<ScriptInterp>{std::move(out)};
}

std::vector<std::string> script_argv(const ScriptInterp& interp, const std::string& filename,
                                     const std::vector<std::string>& argv) {
  std::vector<std::string> out{interp.name};
  if (interp.arg) out.push_back(*interp.arg);
  out.push_back(filename);
  if (!argv.empty()) out.insert(out.end(), argv.begin() + 1, argv.end());
  return out;
}

}  // namespace probesim::loader
