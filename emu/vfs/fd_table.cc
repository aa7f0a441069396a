#include "emu/vfs/fd_table.h"

#include <algorithm>
#include <cerrno>

#include "emu/vfs/vfs_abi.h"

namespace probesim::emu {

void FdTable::set_slot(int fd, std::shared_ptr<File> file, CloseOnExec cloexec) {
  if (static_cast<size_t>(fd) >= slots_.size()) slots_.resize(static_cast<size_t>(fd) + 1);
  Slot& slot = slots_[static_cast<size_t>(fd)];
  release(slot);
  slot = Slot{std::move(file), cloexec};
}

void FdTable::release(Slot& slot) {
  std::shared_ptr<File> old = std::move(slot.file);
  slot = Slot{};
  if (old && observer_) observer_->on_fd_close(pid_, std::move(old));
}

int FdTable::lowest_free(int min_fd) const {
  for (int fd = std::max(min_fd, 0); fd < nofile_; ++fd) {
    if (static_cast<size_t>(fd) >= slots_.size() || !slots_[static_cast<size_t>(fd)].file) {
      return fd;
    }
  }
  return -EMFILE;
}

int FdTable::install(std::shared_ptr<File> file, CloseOnExec cloexec, int min_fd) {
  const int fd = lowest_free(min_fd);
  if (fd >= 0) set_slot(fd, std::move(file), cloexec);
  return fd;
}

int FdTable::install_at(int fd, std::shared_ptr<File> file, CloseOnExec cloexec) {
  if (fd < 0 || fd >= nofile_) return -EBADF;
  set_slot(fd, std::move(file), cloexec);
  return fd;
}

std::shared_ptr<File> FdTable::get(int fd) const {
  if (fd < 0 || static_cast<size_t>(fd) >= slots_.size()) return nullptr;
  return slots_[static_cast<size_t>(fd)].file;
}

File* FdTable::file(int fd) const {
  if (fd < 0 || static_cast<size_t>(fd) >= slots_.size()) return nullptr;
  return slots_[static_cast<size_t>(fd)].file.get();
}

int FdTable::close(int fd) {
  if (file(fd) == nullptr) return -EBADF;
  release(slots_[static_cast<size_t>(fd)]);
  return 0;
}

int FdTable::dup(int oldfd, int min_fd, CloseOnExec cloexec) {
  std::shared_ptr<File> f = get(oldfd);
  if (!f) return -EBADF;
  if (min_fd >= nofile_) return -EINVAL;  // F_DUPFD beyond RLIMIT_NOFILE
  return install(std::move(f), cloexec, min_fd);
}

int FdTable::dup_to(int oldfd, int newfd, CloseOnExec cloexec) {
  std::shared_ptr<File> f = get(oldfd);
  if (!f) return -EBADF;
  return install_at(newfd, std::move(f), cloexec);
}

int FdTable::get_cloexec(int fd) const {
  if (file(fd) == nullptr) return -EBADF;
  return slots_[static_cast<size_t>(fd)].cloexec == CloseOnExec::Yes ? kFD_CLOEXEC : 0;
}

int FdTable::set_cloexec(int fd, CloseOnExec cloexec) {
  if (file(fd) == nullptr) return -EBADF;
  slots_[static_cast<size_t>(fd)].cloexec = cloexec;
  return 0;
}

void FdTable::close_on_exec() {
  for (Slot& s : slots_) {
    if (s.cloexec == CloseOnExec::Yes) release(s);
  }
}

std::vector<int> FdTable::open_fds() const {
  std::vector<int> fds;
  for (size_t fd = 0; fd < slots_.size(); ++fd) {
    if (slots_[fd].file) fds.push_back(static_cast<int>(fd));
  }
  return fds;
}

}  // namespace probesim::emu
