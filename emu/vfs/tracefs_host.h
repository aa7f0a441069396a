// TracefsHost: the provider of a synthetic subtree mounted in the Vfs (SyntheticFs::
// mount_provider): tracefs (emu/tracefs TraceEvents), debugfs's kprobes, /proc/kallsyms.
// Paths are relative to the mount point ("" the root, "kprobe_events",
// "events/kprobes/myprobe/enable"). Files are seq_file-like: their text is taken when opened,
// writes are commands; a consuming file (trace_pipe) is read by taking its text piecewise.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "emu/vfs/poll.h"

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
  // A consuming file: each read takes what tracefs_consume gives (and the file keeps what the
  // reader's buffer could not hold); with nothing there the read blocks on
  // tracefs_wait_object (the host wakes it), or fails with EAGAIN under O_NONBLOCK.
  virtual bool tracefs_consuming(std::string_view) const { return false; }
  virtual std::string tracefs_consume(std::string_view) { return {}; }
  virtual PollMask tracefs_poll(std::string_view) const { return kDefaultPollMask; }
  virtual const void* tracefs_wait_object() const { return this; }
};

}  // namespace probesim::emu
