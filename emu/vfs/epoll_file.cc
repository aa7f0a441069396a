#include "emu/vfs/epoll_file.h"

#include <algorithm>
#include <cerrno>

#include "emu/vfs/node.h"

namespace probesim::emu {

struct EpollFile::Item final : PollWatcher {
  EpollFile* ep = nullptr;
  std::weak_ptr<File> file;
  Key key;
  const void* watched = nullptr;
  EpollEvent event;
  bool on_rdllist = false;

  // ep_poll_callback: a wake concerning our events queues the item and wakes the epoll's waiters.
  void on_wake(PollMask wake_key) override {
    if (!(event.events & ~kEpPrivateBits)) return;  // disabled by EPOLLONESHOT
    if (wake_key != kPollAnyEvent && !(wake_key & event.events)) return;
    ep->make_ready(*this);
  }
};

EpollFile::EpollFile(uint32_t f_flags, InodeRef inode, PollHub& hub)
    : File(f_flags, "anon_inode:[eventpoll]", std::move(inode), kAnonInodeDev), hub_(hub) {}

EpollFile::~EpollFile() {
  for (auto& [key, it] : items_) hub_.unwatch(it->watched, it.get());
}

PollMask EpollFile::item_poll(const Item& it) const {
  std::shared_ptr<File> f = it.file.lock();
  return f ? f->poll() & it.event.events : 0;
}

void EpollFile::make_ready(Item& it) {
  if (!it.on_rdllist) {
    rdllist_.push_back(&it);
    it.on_rdllist = true;
  }
  hub_.wake(this, kEPOLLIN | kEPOLLRDNORM);
}

void EpollFile::remove(Item& it) {
  if (it.on_rdllist) rdllist_.remove(&it);
  hub_.unwatch(it.watched, &it);
  items_.erase(it.key);
}

int64_t EpollFile::ctl(int op, const std::shared_ptr<File>& target, int fd, EpollEvent ev) {
  const Key key{target.get(), fd};
  auto found = items_.find(key);
  Item* it = found == items_.end() ? nullptr : found->second.get();
  if (op == kEPOLL_CTL_DEL) {
    if (!it) return -ENOENT;
    remove(*it);
    return 0;
  }
  if (op == kEPOLL_CTL_ADD) {
    if (it) return -EEXIST;
    auto fresh = std::make_unique<Item>();
    it = fresh.get();
    it->ep = this;
    it->file = target;
    it->key = key;
    it->watched = target->wait_object();
    items_.emplace(key, std::move(fresh));
    hub_.watch(it->watched, it);
  } else if (op == kEPOLL_CTL_MOD) {
    if (!it) return -ENOENT;
    if (it->event.events & kEPOLLEXCLUSIVE) return -EINVAL;
  } else {
    return -EINVAL;
  }
  it->event = EpollEvent{ev.events | kEPOLLERR | kEPOLLHUP, ev.data};
  if (item_poll(*it)) make_ready(*it);  // ep_insert / ep_modify
  return 0;
}

std::vector<EpollEvent> EpollFile::send_events(size_t max) {
  std::vector<EpollEvent> out;
  std::list<Item*> txlist;
  txlist.swap(rdllist_);
  std::vector<Item*> requeue;
  while (!txlist.empty() && out.size() < max) {
    Item* it = txlist.front();
    txlist.pop_front();
    it->on_rdllist = false;
    if (it->file.expired()) {  // eventpoll_release: the file is gone
      remove(*it);
      continue;
    }
    const PollMask revents = item_poll(*it);
    if (!revents) continue;
    out.push_back(EpollEvent{revents, it->event.data});
    if (it->event.events & kEPOLLONESHOT)
      it->event.events &= kEpPrivateBits;
    else if (!(it->event.events & kEPOLLET))
      requeue.push_back(it);
  }
  // ep_done_scan: what was not looked at goes back in front, level-triggered items behind.
  for (Item* it : requeue) {
    rdllist_.push_back(it);
    it->on_rdllist = true;
  }
  rdllist_.splice(rdllist_.begin(), txlist);
  return out;
}

PollMask EpollFile::poll() const {
  for (const Item* it : rdllist_)
    if (item_poll(*it)) return kEPOLLIN | kEPOLLRDNORM;
  return 0;
}

bool EpollFile::reaches(const File* other) const {
  if (other == this) return true;
  for (const auto& [key, it] : items_) {
    std::shared_ptr<File> f = it->file.lock();
    auto* nested = dynamic_cast<const EpollFile*>(f.get());
    if (nested && nested->reaches(other)) return true;
  }
  return false;
}

}  // namespace probesim::emu
