// TracefsFile: an open tracefs control file. Its text is the provider's at open (seq_file
// semantics for one open: reads and lseek move through that snapshot); each write(2) is
// handed to the provider as a command; O_TRUNC at open is the provider's truncate (Linux
// clears kprobe_events, trace or error_log then, and fails with EBUSY if events are enabled).
// A consuming file (trace_pipe) has no snapshot: reads take the provider's new text and keep
// what did not fit for the next read; with nothing new a read would block (kWouldBlock).
#pragma once

#include "emu/vfs/file.h"
#include "emu/vfs/tracefs_host.h"

namespace probesim::emu {

class TracefsFile : public File {
 public:
  // host must outlive the file (the machine owns both).
  TracefsFile(TracefsHost& host, std::string rel, uint32_t f_flags, std::string path,
              InodeRef inode, DevId dev);

  int64_t read(std::span<uint8_t> out) override;
  int64_t write(std::span<const uint8_t> in) override;
  int64_t pread(std::span<uint8_t> out, uint64_t pos) override;
  int64_t lseek(int64_t offset, int whence) override;
  int64_t truncate(uint64_t length) override;  // open(O_TRUNC) lands here
  std::shared_ptr<File> reopen(uint32_t f_flags) const override;
  const void* wait_object() const override;
  PollMask poll() const override;
  bool can_poll() const override { return consuming_; }

 private:
  TracefsHost& host_;
  std::string rel_;
  std::string text_;     // the snapshot; for a consuming file, what was taken but not read
  bool consuming_ = false;
};

}  // namespace probesim::emu
