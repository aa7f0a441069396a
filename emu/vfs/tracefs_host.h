// TracefsHost: what the synthetic tracefs (/sys/kernel/tracing, /sys/kernel/debug/tracing)
// asks of its provider (emu/tracefs TraceEvents). Paths are relative to the tracing root
// ("" the root, "kprobe_events", "events/kprobes/myprobe/enable"). Files are seq_file-like:
// their text is taken when opened, writes are commands.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace probesim::emu {

class TracefsHost {
 public:
  struct Entry {
    std::string name;
    bool dir;
  };
  virtual ~TracefsHost() = default;
  // nullopt: no such object; true: a directory.
  virtual std::optional<bool> tracefs_kind(std::string_view rel) = 0;
  virtual std::vector<Entry> tracefs_list(std::string_view rel) = 0;  // sorted by name
  virtual std::string tracefs_read(std::string_view rel) = 0;
  // open(O_TRUNC): 0 or a positive errno (EBUSY: an event of the file is enabled).
  virtual int tracefs_truncate(std::string_view rel) = 0;
  // write(2): the bytes consumed, or -errno.
  virtual int64_t tracefs_write(std::string_view rel, std::string_view data) = 0;
};

}  // namespace probesim::emu
