// EpollFile: an epoll instance (fs/eventpoll.c's struct eventpoll). Items (epitem) are keyed
// by (file, fd) as epoll_filefd is; each watches its file's wait object (PollHub::watch, the
// ep_poll_callback entry) and joins the ready list (rdllist, FIFO) when a wake concerns its
// events. send_events is ep_send_events: re-polls each ready item, reports it, then drops it
// (EPOLLET), disables it (EPOLLONESHOT: events keep only the private bits until EPOLL_CTL_MOD)
// or puts it back at the tail (level-triggered). An item whose file is gone (its last fd
// closed: eventpoll_release) disappears.
//
// Ownership: shared_ptr<File> like every File; items hold their file weakly. Tasks in
// epoll_wait sleep on this object; the hub must outlive it.
#pragma once

#include <list>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "emu/vfs/file.h"

namespace probesim::emu {

// include/uapi/linux/eventpoll.h
constexpr int kEPOLL_CTL_ADD = 1;
constexpr int kEPOLL_CTL_DEL = 2;
constexpr int kEPOLL_CTL_MOD = 3;
constexpr PollMask kEPOLLEXCLUSIVE = 1u << 28;
constexpr PollMask kEPOLLWAKEUP = 1u << 29;
constexpr PollMask kEPOLLONESHOT = 1u << 30;
constexpr PollMask kEPOLLET = 1u << 31;
constexpr PollMask kEpPrivateBits = kEPOLLWAKEUP | kEPOLLONESHOT | kEPOLLET | kEPOLLEXCLUSIVE;

struct EpollEvent {
  PollMask events = 0;
  uint64_t data = 0;
};

class EpollFile : public File {
 public:
  EpollFile(uint32_t f_flags, InodeRef inode, PollHub& hub);
  ~EpollFile() override;

  // epoll_ctl once the fds are resolved: 0 or -EEXIST / -ENOENT / -EINVAL / -ELOOP.
  int64_t ctl(int op, const std::shared_ptr<File>& target, int fd, EpollEvent ev);
  // Up to max ready events, in ready-list order (consumes them as described above).
  std::vector<EpollEvent> send_events(size_t max);

  // EPOLLIN when some item on the ready list is really ready (ep_eventpoll_poll).
  PollMask poll() const override;
  bool can_poll() const override { return true; }
  // Whether `other` is this epoll or is watched by it, directly or through nested epolls
  // (ep_loop_check: adding it here would make a cycle).
  bool reaches(const File* other) const;

 private:
  struct Item;
  using Key = std::pair<const File*, int>;

  PollMask item_poll(const Item& it) const;
  void make_ready(Item& it);
  void remove(Item& it);

  PollHub& hub_;
  std::map<Key, std::unique_ptr<Item>> items_;
  std::list<Item*> rdllist_;
};

}  // namespace probesim::emu
