#include "emu/vfs/node.h"

#include <cstring>

namespace probesim::emu {

DevId node_dev(NodeKind kind) {
  switch (kind) {
    case NodeKind::Host:
    case NodeKind::Overlay:
      return kRootFsDev;
    case NodeKind::Dev:
      return kDevFsDev;
    case NodeKind::Proc:
      return kProcFsDev;
    case NodeKind::Sys:
      return kSysFsDev;
  }
  return kRootFsDev;
}

bool in_shm(std::string_view path) {
  return path.starts_with(kShmPath) &&
         (path.size() == kShmPath.size() || path[kShmPath.size()] == '/');
}

DevId node_dev(const Node& node) {
  if (node.file) return node.file->dev();
  if (node.kind == NodeKind::Overlay && in_shm(node.path)) return kShmDev;
  return node_dev(node.kind);
}

Error vfs_error(int err, std::string_view path) {
  return Error::make(std::string(path) + ": " + std::strerror(err), err);
}

std::string path_join(std::string_view dir, std::string_view name) {
  std::string out(dir);
  if (out.empty() || out.back() != '/') out += '/';
  out += name;
  return out;
}

std::string path_dirname(std::string_view path) {
  const size_t slash = path.rfind('/');
  if (slash == 0 || slash == std::string_view::npos) return "/";
  return std::string(path.substr(0, slash));
}

}  // namespace probesim::emu
