#include "emu/vfs/console_file.h"

#include <algorithm>
#include <cstring>

namespace probesim::emu {

OutputSink::~OutputSink() = default;
InputSource::~InputSource() = default;

void StringSink::write(std::span<const uint8_t> bytes) {
  data_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

int64_t StringSource::read(std::span<uint8_t> out) {
  const size_t n = std::min(out.size(), data_.size() - pos_);
  std::memcpy(out.data(), data_.data() + pos_, n);
  pos_ += n;
  return static_cast<int64_t>(n);
}

ConsoleFile::ConsoleFile(uint32_t f_flags, std::string name, InodeRef inode, DevId dev,
                         std::shared_ptr<InputSource> in, std::shared_ptr<OutputSink> out)
    : File(f_flags, std::move(name), std::move(inode), dev),
      in_(std::move(in)),
      out_(std::move(out)) {}

std::shared_ptr<File> ConsoleFile::reopen(uint32_t f_flags) const {
  return std::make_shared<ConsoleFile>(f_flags, path(), InodeRef::acquire(inode()), dev(), in_,
                                       out_);
}

int64_t ConsoleFile::read(std::span<uint8_t> out) {
  return in_ ? in_->read(out) : 0;
}

int64_t ConsoleFile::write(std::span<const uint8_t> in) {
  if (out_) out_->write(in);
  return static_cast<int64_t>(in.size());
}

}  // namespace probesim::emu
