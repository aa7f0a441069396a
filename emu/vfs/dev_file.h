// DevFile: the character devices of the synthetic /dev: null, zero, random and urandom.
// random/urandom draw from the machine's DeterministicRng, so their bytes are a pure function
// of the seed and of how much was drawn before.
#pragma once

#include "emu/deterministic_rng.h"
#include "emu/vfs/file.h"

namespace probesim::emu {

enum class DevKind { Null, Zero, Random, Urandom };

class DevFile : public File {
 public:
  // rng: the machine's stream; must outlive the file.
  DevFile(DevKind kind, uint32_t f_flags, std::string path, InodeRef inode, DevId dev,
          DeterministicRng& rng);

  int64_t read(std::span<uint8_t> out) override;
  int64_t write(std::span<const uint8_t> in) override;  // accepted and discarded
  int64_t pread(std::span<uint8_t> out, uint64_t pos) override;
  int64_t pwrite(std::span<const uint8_t> in, uint64_t pos) override;
  // null/zero: position stays 0 (null_lseek); random/urandom: no-op (noop_llseek).
  int64_t lseek(int64_t offset, int whence) override;

  std::shared_ptr<File> reopen(uint32_t f_flags) const override;

  DevKind kind() const { return kind_; }

 private:
  DevKind kind_;
  DeterministicRng& rng_;
};

}  // namespace probesim::emu
