// KprobeManager: kernel stack traces (Linux arch/*/kernel/stacktrace.c and unwind_frame.c,
// frame-pointer flavour) with kretprobe return addresses corrected (kernel/kprobes.c
// kretprobe_find_ret_addr).
#include <cstring>

#include "probes/kprobe_manager.h"

namespace probesim::probes {
namespace {

// A frame record: the caller's frame pointer, then the return address (both arches: x86
// `push %rbp; mov %rsp,%rbp` under the return slot, arm64 `stp x29, x30`).
struct FrameRecord {
  uint64_t next_fp = 0;
  uint64_t ret = 0;
};

std::optional<FrameRecord> read_record(const KernelMemory& mem, uint64_t fp) {
  uint8_t buf[16];
  if (!mem.read(GuestAddr{fp}, buf)) return std::nullopt;
  FrameRecord r;
  std::memcpy(&r.next_fp, buf, 8);
  std::memcpy(&r.ret, buf + 8, 8);
  return r;
}

}  // namespace

GuestAddr KprobeManager::kretprobe_find_ret_addr(TaskId task, size_t& cur) const {
  auto it = kretprobe_instances_.find(task);
  if (it == kretprobe_instances_.end()) return trampoline_;
  const auto& list = it->second;  // back = newest
  while (cur < list.size()) {
    const KretprobeInstance* ri = list[list.size() - 1 - cur].ri;
    ++cur;
    if (ri->ret_addr != trampoline_) return ri->ret_addr;
  }
  return trampoline_;
}

std::vector<GuestAddr> KprobeManager::stack_trace_save_regs(TaskId task, const Regs& regs,
                                                            size_t max) const {
  std::vector<GuestAddr> out;
  size_t cur = 0;  // kretprobe instances consumed
  auto save = [&](GuestAddr a) {
    if (trampoline_.value != 0 && a == trampoline_) a = kretprobe_find_ret_addr(task, cur);
    if (out.size() < max) out.push_back(a);
  };
  save(regs.ip());
  // The instruction about to run: regs.ip, or the probe's address when a kprobe trapped
  // there (x86 reports ip one past the int3).
  GuestAddr at = regs.ip();
  if (GuestAddr p = arch_->probe_address(regs); get_kprobe(p)) at = p;
  if (const auto fn = syms_.function_containing(at))
    if (auto ret = arch_->unframed_return_address(fn->addr, at, regs, original_text(), mem_))
      if (syms_.is_kernel_text(*ret) || *ret == trampoline_) save(*ret);
  // The stack holding sp: [lo, lo + THREAD_SIZE); sp may equal its top (nothing pushed yet).
  const uint64_t size = config_.thread_size;
  const uint64_t lo = (regs.sp() - 1) & ~(size - 1), hi = lo + size;
  uint64_t fp = regs.frame_pointer(), floor = regs.sp();
  while (out.size() < max) {
    if (fp < floor || fp < lo || fp + sizeof(FrameRecord) > hi || fp % 8 != 0) break;
    const auto rec = read_record(mem_, fp);
    if (!rec || rec->ret == 0) break;
    const GuestAddr ret{rec->ret};
    if (!syms_.is_kernel_text(ret) && ret != trampoline_) break;
    save(ret);
    floor = fp + sizeof(FrameRecord);  // the next record is further up
    fp = rec->next_fp;
  }
  return out;
}

}  // namespace probesim::probes
