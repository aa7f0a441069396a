// NetNamespace: the machine's socket names (one network namespace). AF_UNIX bindings are keyed
// by the socket inode a path bind made ("path:<dev>:<ino>") or by the abstract name
// ("abstract:<bytes>"); loopback ports by protocol ("tcp:<port>", "udp:<port>"). A binding
// lives as long as its socket (weak), so a closed socket's name is free again (a path's inode
// stays, and connecting to it is ECONNREFUSED, as on Linux). Ephemeral ports are assigned in
// order from 32768 (deterministic; Linux randomizes within ip_local_port_range).
//
// Owned by MachineState, declared before the processes: it outlives every socket.
#pragma once

#include <map>
#include <memory>
#include <string>

namespace probesim::emu {

class Socket;

class NetNamespace {
 public:
  std::shared_ptr<Socket> find(const std::string& key) const;
  bool taken(const std::string& key) const { return find(key) != nullptr; }
  void bind(const std::string& key, const std::shared_ptr<Socket>& s) { names_[key] = s; }
  // The next free port of `proto` ("tcp" / "udp") in 32768..60999, or 0 if none.
  uint16_t ephemeral_port(const std::string& proto);

  static std::string inet_key(int type, uint16_t port);
  static std::string unix_path_key(uint64_t dev, uint64_t ino);
  static std::string unix_abstract_key(const std::string& name);

 private:
  std::map<std::string, std::weak_ptr<Socket>> names_;
  uint16_t next_port_ = 32768;
};

}  // namespace probesim::emu
