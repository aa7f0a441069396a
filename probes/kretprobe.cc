#include "probes/kretprobe.h"

#include <algorithm>

#include "probesim/assert.h"

namespace probesim::probes {

Kretprobe* KretprobeInstance::rp() const { return holder_ ? holder_->rp : nullptr; }

Kretprobe::Kretprobe() { kp.kretprobe_ = this; }

Kretprobe::~Kretprobe() {
  PROBESIM_ASSERT_MSG(!kp.registered(), "kretprobe '" + kp.name +
                                            "' destroyed while registered: unregister it first");
}

size_t Kretprobe::free_instances() const { return holder_ ? holder_->free_count() : 0; }

KretprobeHolder::KretprobeHolder(Kretprobe* owner, size_t maxactive, size_t data_size)
    : rp(owner) {
  pool_.reserve(maxactive);
  for (size_t i = 0; i < maxactive; ++i) {
    auto ri = std::make_unique<KretprobeInstance>();
    ri->holder_ = this;
    ri->data_.assign(data_size, 0);
    pool_.push_back(std::move(ri));
  }
  // Hand out instance 0 first.
  for (auto it = pool_.rbegin(); it != pool_.rend(); ++it) free_.push_back(it->get());
}

KretprobeInstance* KretprobeHolder::get() {
  if (free_.empty()) return nullptr;
  KretprobeInstance* ri = free_.back();
  free_.pop_back();
  ri->in_use_ = true;
  return ri;
}

void KretprobeHolder::put(KretprobeInstance* ri) {
  PROBESIM_ASSERT(ri->holder_ == this);
  PROBESIM_ASSERT(ri->in_use_);
  ri->in_use_ = false;
  ri->ret_addr = GuestAddr{};
  ri->fp = GuestAddr{};
  std::fill(ri->data_.begin(), ri->data_.end(), 0);
  free_.push_back(ri);
}

}  // namespace probesim::probes
