// CaptureSink: a captured stdout/stderr stream (Stdio::Capture: tests and the Python layer).
// Bytes are kept in chunks that grow from 4 KiB to 1 MiB and are never reallocated, so memory
// stays proportional to the output (a doubling std::string peaked at ~3x the bytes while it
// moved), and readers copy chunk by chunk into their own buffer (no whole-stream temporary).
// An optional limit keeps the first `limit` bytes and counts the rest in dropped(); the
// guest's writes still succeed: the harness, not the guest, chose to discard them.
//
// Who may touch what: written by the emulation thread (console writes), read between runs.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "emu/vfs/console_file.h"

namespace probesim::emu {

class CaptureSink final : public OutputSink {
 public:
  static constexpr size_t kFirstChunk = 4096;
  static constexpr size_t kMaxChunk = size_t{1} << 20;

  explicit CaptureSink(uint64_t limit = 0) : limit_(limit) {}  // 0: keep everything

  void write(std::span<const uint8_t> bytes) override;
  uint64_t size() const { return size_; }        // bytes kept
  uint64_t dropped() const { return dropped_; }  // bytes written beyond the limit
  uint64_t capacity() const;                     // host bytes held (size() + < kMaxChunk)
  // Calls fn on each chunk of kept bytes, in order.
  void for_each_chunk(const std::function<void(std::span<const uint8_t>)>& fn) const;
  std::string str() const;  // the kept bytes as one string

 private:
  std::vector<std::vector<uint8_t>> chunks_;  // each reserved once: never reallocated
  uint64_t limit_;
  uint64_t size_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace probesim::emu
