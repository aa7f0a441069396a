#include "emu/capture_sink.h"

#include <algorithm>

namespace probesim::emu {

void CaptureSink::write(std::span<const uint8_t> bytes) {
  size_t keep = bytes.size();
  if (limit_ && keep > limit_ - size_) keep = static_cast<size_t>(limit_ - size_);
  dropped_ += bytes.size() - keep;
  size_ += keep;
  while (keep > 0) {
    if (chunks_.empty() || chunks_.back().size() == chunks_.back().capacity()) {
      size_t cap = chunks_.empty() ? kFirstChunk : std::min(kMaxChunk, 2 * chunks_.back().capacity());
      chunks_.emplace_back().reserve(cap);
    }
    std::vector<uint8_t>& c = chunks_.back();
    size_t n = std::min(keep, c.capacity() - c.size());
    c.insert(c.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
    bytes = bytes.subspan(n);
    keep -= n;
  }
}

void CaptureSink::for_each_chunk(const std::function<void(std::span<const uint8_t>)>& fn) const {
  for (const std::vector<uint8_t>& c : chunks_) fn(c);
}

uint64_t CaptureSink::capacity() const {
  uint64_t n = 0;
  for (const std::vector<uint8_t>& c : chunks_) n += c.capacity();
  return n;
}

std::string CaptureSink::str() const {
  std::string out;
  out.reserve(size_);
  for_each_chunk([&](std::span<const uint8_t> c) { out.append(c.begin(), c.end()); });
  return out;
}

}  // namespace probesim::emu
