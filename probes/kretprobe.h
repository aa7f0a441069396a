// Kretprobe: a return probe (Linux struct kretprobe). Its entry Kprobe `kp` is registered at a
// function's first instruction; on entry an instance is taken from a pool pre-allocated at
// registration (maxactive instances, each with data_size bytes), the return address is hijacked
// to the kretprobe trampoline, and the instance is pushed on the task's LIFO list. At return the
// trampoline handler pops it, calls `handler` with regs.ip = the real return address, and
// recycles it. Ownership: the caller owns the Kretprobe (same rule as Kprobe); the pool lives
// in a KretprobeHolder shared with in-flight instances, so instances outlive an unregistered
// kretprobe (their returns are still repaired, no handler runs) — Linux's kretprobe_holder.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "probes/kprobe.h"
#include "probes/probe_context.h"

namespace probesim::probes {

class KretprobeHolder;

// Linux struct kretprobe_instance.
class KretprobeInstance {
 public:
  // The owning kretprobe, or null once it was unregistered.
  Kretprobe* rp() const;
  std::span<uint8_t> data() { return data_; }  // data_size bytes of per-instance scratch

  GuestAddr ret_addr{};  // the real return address (the handler sees it in regs.ip too)
  GuestAddr fp{};        // frame: x86 address of the return slot; arm64 sp at entry
  TaskId task{};

 private:
  friend class KretprobeHolder;
  KretprobeHolder* holder_ = nullptr;
  bool in_use_ = false;
  std::vector<uint8_t> data_;
};

class Kretprobe {
 public:
  // handler: at return; entry_handler: at entry, non-zero = do not hook this return (the
  // instance goes back to the pool, nmissed is not incremented). Return values of handler are
  // ignored (Linux).
  using Handler = std::function<int(KretprobeInstance&, Regs&)>;

  static constexpr size_t kMaxDataSize = 4096;  // KRETPROBE_MAX_DATA_SIZE
  // KRETPROBE_MAXACTIVE_MAX (kernel/trace/trace_kprobe.c: "kretprobes instances are iterated
  // over via a list. The maximum should stay reasonable."). register_kretprobe itself is only
  // bounded by what the kernel can allocate; here the pool is host memory, so it refuses more.
  static constexpr int kMaxActive = 4096;

  Kretprobe();
  ~Kretprobe();

  Kprobe kp;  // where (addr or symbol_name+offset, offset must be the function entry)
  Handler handler;
  Handler entry_handler;
  int maxactive = 0;     // <= 0: default max(10, 2 * ncpus) (CONFIG_PREEMPTION's rule);
                         // > kMaxActive: -E2BIG
  size_t data_size = 0;  // > kMaxDataSize: -E2BIG
  uint64_t nmissed = 0;  // entries missed because every instance was in flight

  bool registered() const { return kp.registered(); }
  size_t free_instances() const;

 private:
  friend class KprobeManager;
  std::shared_ptr<KretprobeHolder> holder_;
};

// The instance pool, shared by a kretprobe and its in-flight instances.
class KretprobeHolder {
 public:
  KretprobeHolder(Kretprobe* rp, size_t maxactive, size_t data_size);

  Kretprobe* rp = nullptr;  // cleared by unregister_kretprobe

  // Takes a free instance or returns null (pool exhausted).
  KretprobeInstance* get();
  void put(KretprobeInstance* ri);
  size_t free_count() const { return free_.size(); }

 private:
  std::vector<std::unique_ptr<KretprobeInstance>> pool_;
  std::vector<KretprobeInstance*> free_;  // LIFO
};

}  // namespace probesim::probes
