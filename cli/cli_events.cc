#include "cli/cli_events.h"

#include <cerrno>
#include <cstring>

namespace probesim::cli {

Result<std::unique_ptr<CliEvents>> CliEvents::attach(Machine& m, const RunOptions& o) {
  if (o.events.empty()) return std::unique_ptr<CliEvents>();
  std::unique_ptr<CliEvents> c(new CliEvents(m));
  for (const std::string& line : o.events) {
    auto ev = c->events_.add_enabled(line);
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
  std::string text = events_.trace_text(false);
  std::fputs(text.c_str(), file_ ? file_ : stderr);
  if (file_) std::fflush(file_);
}

}  // namespace probesim::cli
