#include "emu/kthread/kernel_thread.h"

#include <algorithm>

namespace probesim::emu {

KernelThread::KernelThread() : proc_(kPid, 0, nullptr, false) { proc_.comm = "kworker/0:1"; }

void KernelThread::queue(std::unique_ptr<KernelWork> w) {
  // After every item due no later (FIFO among equals); never before the running item.
  auto pos = std::upper_bound(work_.begin() + (started_ ? 1 : 0), work_.end(), w->start_at,
                              [](uint64_t at, const auto& x) { return at < x->start_at; });
  work_.insert(pos, std::move(w));
}

std::unique_ptr<KernelWork> KernelThread::pop() {
  std::unique_ptr<KernelWork> w = std::move(work_.front());
  work_.pop_front();
  started_ = false;
  return w;
}

}  // namespace probesim::emu
