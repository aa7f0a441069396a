#include "emu/vfs/tracefs_file.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace probesim::emu {

TracefsFile::TracefsFile(TracefsHost& host, std::string rel, uint32_t f_flags, std::string path,
                         InodeRef inode, DevId dev)
    : File(f_flags, std::move(path), std::move(inode), dev), host_(host), rel_(std::move(rel)) {
  consuming_ = host_.tracefs_consuming(rel_);
  if (readable() && !consuming_) text_ = host_.tracefs_read(rel_);
}

int64_t TracefsFile::pread(std::span<uint8_t> out, uint64_t pos) {
  if (consuming_) return -ESPIPE;  // tracing_open_pipe: nonseekable_open
  if (pos >= text_.size()) return 0;
  size_t n = std::min<size_t>(out.size(), text_.size() - pos);
  std::memcpy(out.data(), text_.data() + pos, n);
  return static_cast<int64_t>(n);
}

int64_t TracefsFile::read(std::span<uint8_t> out) {
  if (consuming_) {
    if (out.empty()) return 0;
    if (text_.empty()) text_ = host_.tracefs_consume(rel_);
    if (text_.empty()) return kWouldBlock;
    size_t n = std::min(out.size(), text_.size());
    std::memcpy(out.data(), text_.data(), n);
    text_.erase(0, n);
    return static_cast<int64_t>(n);
  }
  int64_t n = pread(out, f_pos());
  if (n > 0) set_f_pos(f_pos() + static_cast<uint64_t>(n));
  return n;
}

int64_t TracefsFile::write(std::span<const uint8_t> in) {
  return host_.tracefs_write(rel_,
                             std::string_view(reinterpret_cast<const char*>(in.data()), in.size()));
}

int64_t TracefsFile::lseek(int64_t offset, int whence) {
  if (consuming_) return -ESPIPE;
  return seek_in(offset, whence, text_.size());
}

int64_t TracefsFile::truncate(uint64_t) {
  int err = host_.tracefs_truncate(rel_);
  if (err) return -err;
  text_.clear();
  return 0;
}

const void* TracefsFile::wait_object() const {
  return consuming_ ? host_.tracefs_wait_object() : this;
}

PollMask TracefsFile::poll() const {
  if (!consuming_) return kDefaultPollMask;
  return text_.empty() ? host_.tracefs_poll(rel_) : (kEPOLLIN | kEPOLLRDNORM);
}

std::shared_ptr<File> TracefsFile::reopen(uint32_t f_flags) const {
  return std::make_shared<TracefsFile>(host_, rel_, f_flags, path(), InodeRef::acquire(inode()),
                                       dev());
}

}  // namespace probesim::emu
