// Fuzz target: the dynamic-event parser and event table (probes/trace_events) behind
// kprobe_events / uprobe_events / dynamic_events writes. Input: one byte choosing the file and
// arch, then the written text (split into commands as a tracefs write is). Checks what the
// parser promises besides never crashing: a failure has an errno and, when logged, a caret
// within the command (or one past it); every accepted definition lists as a line that parses
// back to the same listing whenever its names are identifiers (Linux does not check
// automatic uprobe names, so a path like /bin/a+b gives an event name it would itself reject).
#include <cstdlib>
#include <map>
#include <string>

#include "probes/trace_events/dynevent_table.h"

using namespace probesim;
using namespace probesim::trace_events;

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

class Env : public DynEventEnv {
 public:
  explicit Env(Arch a) : arch_(a) {}
  Arch arch() const override { return arch_; }
  unsigned symbol_count(std::string_view n) const override {
    return n == "dup" ? 2 : (n == "vfs_read" || n == "do_exit" || n == "f.isra.0") ? 1 : 0;
  }
  std::optional<uint64_t> symbol_address(std::string_view n) const override {
    if (symbol_count(n) == 1) return 0xffffffff81000000 + n.size();
    return std::nullopt;
  }
  FileKind file_kind(std::string_view p) const override {
    if (p == "/bin/sh" || p == "/lib/libc.so.6") return FileKind::Regular;
    return p == "/sys" ? FileKind::Other : FileKind::Missing;
  }

 private:
  Arch arch_;
};

bool identifier(std::string_view s, bool hyphen) {
  if (s.empty() ||
      !(isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_' || (hyphen && s[0] == '-')))
    return false;
  for (char c : s)
    if (!isalnum(static_cast<unsigned char>(c)) && c != '_' && !(hyphen && c == '-')) return false;
  return true;
}

void check_round_trip(const ProbeDefinition& d, EventsFile file, const Env& env) {
  std::string line = d.listing();
  Command again = parse_command(line, file, env);
  if (again.ok() && again.definition()) {
    require(again.definition()->listing() == line);
  } else {
    require(!identifier(d.event, false) || !identifier(d.group, true));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const EventsFile file = static_cast<EventsFile>(data[0] % 3);
  const Env env((data[0] & 4) ? Arch::AArch64 : Arch::X86_64);
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  auto lines = split_commands(text);
  if (!lines) return 0;
  DynEventTable table;
  for (const std::string& line : *lines) {
    Command cmd = parse_command(line, file, env);
    if (!cmd.ok()) {
      require(cmd.err > 0);
      if (cmd.log) require(cmd.log->pos <= cmd.log->command.size() + 1);
      continue;
    }
    if (const ProbeDefinition* d = cmd.definition()) check_round_trip(*d, file, env);
    TableResult r = table.run_command(line, file, env);
    if (!r.ok()) {
      require(r.err > 0);
      if (r.log) require(r.log->pos <= r.log->command.size() + 1);
    }
  }
  require(table.clear(std::nullopt) == 0);
  require(table.probes().empty());
  return 0;
}
