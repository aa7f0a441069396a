// MsgQueue: a System V message queue (ipc/msg.c struct msg_queue). Messages keep send order;
// a receiver picks by type (msgrcv's msgtyp: 0 first, > 0 that type or, with MSG_EXCEPT, any
// other, < 0 the lowest type <= |msgtyp|). Blocked senders and receivers wait on the queue
// (WaitQueues, the queue's address) and re-execute their syscall when it changes.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "emu/ipc/ipc_ids.h"

namespace probesim::emu {

inline constexpr uint64_t kMsgMax = 8192;   // MSGMAX: largest message (msg_ctlmax)
inline constexpr uint64_t kMsgMnb = 16384;  // MSGMNB: default queue size in bytes (msg_ctlmnb)

class MsgQueue final : public IpcObject {
 public:
  struct Msg {
    int64_t mtype;
    std::vector<uint8_t> text;
  };
  enum class Search { Any, Equal, NotEqual, LessEqual };

  // msg_fits_inqueue
  bool fits(uint64_t size) const { return size + cbytes <= qbytes && 1 + q.size() <= qbytes; }
  // find_msg: the message a receiver with this search takes, or end().
  std::deque<Msg>::iterator find(Search mode, int64_t type);

  std::deque<Msg> q;
  uint64_t cbytes = 0;
  uint64_t qbytes = kMsgMnb;
  int lspid = 0, lrpid = 0;
  int64_t stime = 0, rtime = 0;
};

}  // namespace probesim::emu
