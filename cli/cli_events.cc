#include "cli/cli_events.h"

#include <cerrno>
#include <cstring>

namespace probesim::cli {

Result<std::unique_ptr<CliEvents>> CliEvents::attach(Machine& m, const RunOptions& o) {
  if (o.events.empty()) return std::unique_ptr<CliEvents>();
  std::unique_ptr<CliEvents> c(new CliEvents(m));
  for (const std::string& line : o.events) {
    auto ev = m.add_event(line);
    if (!ev) return Error::make("-e " + ev.error().message, ev.error().err);
  }
  if (!o.trace_out.empty()) {
    c->file_ = std::fopen(o.trace_out.c_str(), "w");
    if (!c->file_)
      return Error::make("--trace " + o.trace_out + ": cannot write: " + std::strerror(errno));
  }
  return c;
}

CliEvents::~CliEvents() {
  if (file_) std::fclose(file_);
}

void CliEvents::emit() const {
  std::string text = m_.trace_text();
  std::fputs(text.c_str(), file_ ? file_ : stderr);
  if (file_) std::fflush(file_);
}

int events_command(int argc, char** argv) {
  const char* usage = "usage: probesim events --list [--arch x86_64|aarch64]\n";
  bool list = false;
  Arch arch = Arch::X86_64;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--list") {
      list = true;
    } else if (a == "--arch" && i + 1 < argc &&
               (std::string(argv[i + 1]) == "x86_64" || std::string(argv[i + 1]) == "aarch64")) {
      arch = std::string(argv[++i]) == "x86_64" ? Arch::X86_64 : Arch::AArch64;
    } else {
      std::fprintf(stderr, "probesim: events: bad argument '%s'\n%s", a.c_str(), usage);
      return 2;
    }
  }
  if (!list) {
    std::fputs(usage, stderr);
    return 2;
  }
  auto m = Machine::create(Options{.arch = arch});
  if (!m) {
    std::fprintf(stderr, "probesim: %s\n", m.error().message.c_str());
    return 126;
  }
  for (const std::string& fn : m.value()->probeable_functions()) std::printf("%s\n", fn.c_str());
  // The static tracepoints, as -e takes them (GRP:EVENT): tracefs's available_events on a
  // machine with no dynamic event yet.
  auto tracepoints = m.value()->tracefs_read("available_events");
  if (tracepoints) std::fputs(tracepoints.value().c_str(), stdout);
  return 0;
}

}  // namespace probesim::cli
