// Readiness masks, as Linux's f_op->poll returns them (include/uapi/asm-generic/poll.h and
// include/uapi/linux/eventpoll.h; x86_64 and arm64 share these values). A File's poll() says
// what is possible now; a task that must wait sleeps on the File's wait_object() and re-polls
// when that object changes (WaitQueues::wake_all).
#pragma once

#include <cstdint>

namespace probesim::emu {

using PollMask = uint32_t;

constexpr PollMask kEPOLLIN = 0x001;
constexpr PollMask kEPOLLPRI = 0x002;
constexpr PollMask kEPOLLOUT = 0x004;
constexpr PollMask kEPOLLERR = 0x008;
constexpr PollMask kEPOLLHUP = 0x010;
constexpr PollMask kEPOLLNVAL = 0x020;
constexpr PollMask kEPOLLRDNORM = 0x040;
constexpr PollMask kEPOLLRDBAND = 0x080;
constexpr PollMask kEPOLLWRNORM = 0x100;
constexpr PollMask kEPOLLWRBAND = 0x200;
constexpr PollMask kEPOLLMSG = 0x400;
constexpr PollMask kEPOLLRDHUP = 0x2000;

// What a file without its own poll is (fs/select.c DEFAULT_POLLMASK, used by vfs_poll):
// regular files, directories, /dev/null... are always readable and writable.
constexpr PollMask kDefaultPollMask = kEPOLLIN | kEPOLLOUT | kEPOLLRDNORM | kEPOLLWRNORM;

// Always reported, whatever the caller asked for (fs/select.c do_pollfd: POLLERR | POLLHUP
// are added to the requested events; POLLNVAL is reported for a closed fd).
constexpr PollMask kPollAlways = kEPOLLERR | kEPOLLHUP;

// A wake that does not say what changed concerns every event.
constexpr PollMask kPollAnyEvent = ~PollMask{0};

// Hears every wake of an object it watches, with the events the wake concerns (Linux: a wait
// queue entry with a callback, as epoll's ep_poll_callback). Called on the emulation thread.
class PollWatcher {
 public:
  virtual ~PollWatcher() = default;
  virtual void on_wake(PollMask key) = 0;
};

// How files announce readiness changes (the machine's wait queues, WaitQueueHub): wake the
// tasks sleeping on `object` and tell its watchers. Outlives every File.
class PollHub {
 public:
  virtual ~PollHub() = default;
  virtual void wake(const void* object, PollMask key) = 0;
  virtual void watch(const void* object, PollWatcher* w) = 0;
  virtual void unwatch(const void* object, PollWatcher* w) = 0;
};

}  // namespace probesim::emu
