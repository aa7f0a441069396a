// DeterministicRng: the machine's only source of randomness (AT_RANDOM, getrandom,
// /dev/urandom, later ASLR and the random scheduling policy). splitmix64-seeded xoshiro256**;
// a pure function of the seed and the number of bytes drawn so far.
#pragma once

#include <cstdint>
#include <span>

namespace probesim::emu {

class DeterministicRng {
 public:
  explicit DeterministicRng(uint64_t seed);
  uint64_t next_u64();
  void fill(std::span<uint8_t> out);
  // An independent stream for a named purpose, so that adding draws in one subsystem does not
  // shift the values another subsystem sees (e.g. AT_RANDOM stays put when getrandom is added).
  DeterministicRng fork(uint64_t stream_id) const;

 private:
  uint64_t s_[4];
  uint64_t seed_;
};

}  // namespace probesim::emu
