// InodeBacking: where an inode's clean pages come from. The page cache (AddressSpace) reads
// through it lazily; nothing ever writes to it (guest writes stay in the page cache: the
// overlay). HostFileBacking reads a host file, read-only; BytesBacking serves bytes held in
// memory (fuzzers, tests, synthetic files).
//
// Ownership: each Inode owns its backing (std::unique_ptr); null means the page cache is
// the only copy (overlay/tmpfs files).
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "probesim/result.h"
#include "probesim/types.h"

namespace probesim::mmu {

class InodeBacking {
 public:
  virtual ~InodeBacking();
  // Reads up to out.size() bytes at off; returns the count (short only at end of file).
  virtual Result<size_t> read(FileOffset off, std::span<uint8_t> out) = 0;
};

class HostFileBacking : public InodeBacking {
 public:
  // Opens host_path O_RDONLY|O_CLOEXEC; errors carry the errno of open(2).
  static Result<std::unique_ptr<HostFileBacking>> open(const std::string& host_path);
  ~HostFileBacking() override;
  HostFileBacking(const HostFileBacking&) = delete;
  HostFileBacking& operator=(const HostFileBacking&) = delete;

  Result<size_t> read(FileOffset off, std::span<uint8_t> out) override;
  const std::string& host_path() const { return path_; }

 private:
  HostFileBacking(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::string path_;
};

class BytesBacking : public InodeBacking {
 public:
  explicit BytesBacking(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) {}
  Result<size_t> read(FileOffset off, std::span<uint8_t> out) override;

 private:
  std::vector<uint8_t> bytes_;
};

}  // namespace probesim::mmu
