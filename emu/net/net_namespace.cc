#include "emu/net/net_namespace.h"

#include "emu/net/socket.h"
#include "emu/net/socket_abi.h"

namespace probesim::emu {

std::shared_ptr<Socket> NetNamespace::find(const std::string& key) const {
  auto it = names_.find(key);
  return it == names_.end() ? nullptr : it->second.lock();
}

// ip_local_port_range defaults (32768 60999): one pass over the range from the last port given.
uint16_t NetNamespace::ephemeral_port(const std::string& proto) {
  constexpr uint16_t kLow = 32768, kHigh = 60999;
  for (int i = 0; i <= kHigh - kLow; ++i) {
    const uint16_t port = next_port_;
    next_port_ = next_port_ == kHigh ? kLow : static_cast<uint16_t>(next_port_ + 1);
    if (!taken(proto + ":" + std::to_string(port))) return port;
  }
  return 0;
}

std::string NetNamespace::inet_key(int type, uint16_t port) {
  return (type == kSOCK_STREAM ? "tcp:" : "udp:") + std::to_string(port);
}

std::string NetNamespace::unix_path_key(uint64_t dev, uint64_t ino) {
  return "path:" + std::to_string(dev) + ":" + std::to_string(ino);
}

std::string NetNamespace::unix_abstract_key(const std::string& name) { return "abstract:" + name; }

}  // namespace probesim::emu
