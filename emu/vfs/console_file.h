// ConsoleFile: the guest's stdin/stdout/stderr. Writes go to an OutputSink, reads come from
// an InputSource, both supplied by whoever creates the process (the lead's Machine creates
// fds 0/1/2 with them). Not a terminal: TCGETS/TIOCGWINSZ give -ENOTTY, so programs behave
// as with redirected output (deterministic). Not seekable (-ESPIPE).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "emu/vfs/file.h"

namespace probesim::emu {

class OutputSink {
 public:
  virtual ~OutputSink();
  virtual void write(std::span<const uint8_t> bytes) = 0;
};

class InputSource {
 public:
  virtual ~InputSource();
  // Copies up to out.size() bytes; returns the count, 0 at end of input, or
  // File::kWouldBlock when no input is available yet.
  virtual int64_t read(std::span<uint8_t> out) = 0;
};

// Collects everything written (tests, Python capture).
class StringSink : public OutputSink {
 public:
  void write(std::span<const uint8_t> bytes) override;
  const std::string& data() const { return data_; }
  void clear() { data_.clear(); }

 private:
  std::string data_;
};

// Serves a fixed byte string, then end of input.
class StringSource : public InputSource {
 public:
  explicit StringSource(std::string data) : data_(std::move(data)) {}
  int64_t read(std::span<uint8_t> out) override;

 private:
  std::string data_;
  size_t pos_ = 0;
};

class ConsoleFile : public File {
 public:
  // in/out may be null: reads then see end of input, writes are discarded (counted as done).
  ConsoleFile(uint32_t f_flags, std::string name, InodeRef inode, DevId dev,
              std::shared_ptr<InputSource> in, std::shared_ptr<OutputSink> out);

  int64_t read(std::span<uint8_t> out) override;
  int64_t write(std::span<const uint8_t> in) override;
  // Shares the same input and output (opening /dev/stdout, /proc/self/fd/1, ...).
  std::shared_ptr<File> reopen(uint32_t f_flags) const override;
  // A tty has tty_poll; the machine's input never waits for time (a read takes what the
  // input gives at once), so it is always ready (the default mask).
  bool can_poll() const override { return true; }

 private:
  std::shared_ptr<InputSource> in_;
  std::shared_ptr<OutputSink> out_;
};

}  // namespace probesim::emu
