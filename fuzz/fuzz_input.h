// FuzzInput: draws typed values from a libFuzzer input, front to back; past the end every
// draw is 0, so any input (even empty) is a valid program for a target.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace probesim::fuzz {

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  uint8_t u8() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint64_t u64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t{u8()} << (8 * i);
    return v;
  }
  // Up to n bytes (fewer at the end of the input).
  std::span<const uint8_t> bytes(size_t n) {
    size_t k = n < size_ - pos_ ? n : size_ - pos_;
    std::span<const uint8_t> s(data_ + pos_, k);
    pos_ += k;
    return s;
  }
  bool empty() const { return pos_ >= size_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace probesim::fuzz
