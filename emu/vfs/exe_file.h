// ExeFile: a running program's executable, with writes to it denied while it runs (Linux's
// mm->exe_file, set by exec with deny_write_access). Opening the file for writing meanwhile
// is ETXTBSY; so is executing a file that is open for writing. Held by the Process from exec
// (or spawn) until its address space goes at exit; move-only, allows writes again on death.
#pragma once

#include <cerrno>
#include <utility>

#include "emu/vfs/inode_ref.h"
#include "probesim/result.h"

namespace probesim::emu {

class ExeFile {
 public:
  ExeFile() = default;
  // Denies writes to inode (ETXTBSY if it is open for writing) and keeps a reference.
  static Result<ExeFile> deny(mmu::Inode* inode, const std::string& path) {
    if (!inode->deny_write_access()) {
      return Error::make(path + ": Text file busy (open for writing)", ETXTBSY);
    }
    ExeFile e;
    e.inode_ = InodeRef::acquire(inode);
    return e;
  }
  ExeFile(ExeFile&& o) noexcept : inode_(std::move(o.inode_)) {}
  ExeFile& operator=(ExeFile&& o) noexcept {
    if (this != &o) {
      reset();
      inode_ = std::move(o.inode_);
    }
    return *this;
  }
  ~ExeFile() { reset(); }

  void reset() {
    if (inode_) inode_->allow_write_access();
    inode_.reset();
  }
  mmu::Inode* inode() const { return inode_.get(); }

 private:
  InodeRef inode_;
};

}  // namespace probesim::emu
