#include "emu/ipc/msg_queue.h"

namespace probesim::emu {

std::deque<MsgQueue::Msg>::iterator MsgQueue::find(Search mode, int64_t type) {
  auto best = q.end();
  for (auto it = q.begin(); it != q.end(); ++it) {
    switch (mode) {
      case Search::Any: return it;
      case Search::Equal:
        if (it->mtype == type) return it;
        break;
      case Search::NotEqual:
        if (it->mtype != type) return it;
        break;
      case Search::LessEqual:  // the lowest type, the oldest of those
        if (it->mtype <= type && (best == q.end() || it->mtype < best->mtype)) best = it;
        break;
    }
  }
  return best;
}

}  // namespace probesim::emu
