// A DynEventEnv over a small symbol table and file list, for parser and table tests.
#pragma once

#include <map>
#include <string>

#include "probes/trace_events/dynevent.h"

namespace probesim::trace_events::test {

class FakeEnv : public DynEventEnv {
 public:
  explicit FakeEnv(Arch arch = Arch::X86_64) : arch_(arch) {}
  Arch arch() const override { return arch_; }
  unsigned symbol_count(std::string_view name) const override {
    auto it = text_.find(std::string(name));
    return it == text_.end() ? 0 : it->second;
  }
  std::optional<uint64_t> symbol_address(std::string_view name) const override {
    auto it = addr_.find(std::string(name));
    if (it == addr_.end()) return std::nullopt;
    return it->second;
  }
  FileKind file_kind(std::string_view path) const override {
    auto it = files_.find(std::string(path));
    return it == files_.end() ? FileKind::Missing : it->second;
  }

 private:
  Arch arch_;
  std::map<std::string, unsigned> text_ = {
      {"vfs_read", 1},           {"do_exit", 1},    {"_do_fork", 1},     {"inet_csk_accept", 1},
      {"tracefs_create_dir", 1}, {"foo.isra.0", 1}, {"kernel_clone", 1}, {"dup_sym", 2}};
  std::map<std::string, uint64_t> addr_ = {{"vfs_read", 0xffffffff81200000},
                                           {"_sdata", 0xffffffff82000000},
                                           {"do_exit", 0xffffffff81100000}};
  std::map<std::string, FileKind> files_ = {{"/bin/sh", FileKind::Regular},
                                            {"/sys", FileKind::Other},
                                            {"/usr/lib/libc.so.6", FileKind::Regular}};
};

}  // namespace probesim::trace_events::test
