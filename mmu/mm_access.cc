// Accesses to guest memory from the kernel side: copy_{from,to}_user and
// strncpy_from_user (honour VMA permissions, -EFAULT on failure), peek/poke (privileged:
// ignore permissions, need a mapping), and fault classification for the emulator.
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "mmu/address_space.h"
#include "mmu/mm.h"
#include "mmu/run_batch.h"
#include "mmu/vm_flags.h"
#include "probesim/assert.h"

namespace probesim::mmu {

// Walks [a, a+n) VMA by VMA, calling f(const Vma&, host, len) for each piece. Returns false
// (after calling f for the pieces before it) at the first byte that is unmapped, beyond the
// file's EOF, or whose VMA lacks a flag of `need`.
template <class F>
bool Mm::for_each_piece(GuestAddr a, size_t n, uint32_t need, F&& f) const {
  if (n == 0) return true;
  if (a.value + n < a.value) return false;
  uint64_t cur = a.value;
  const uint64_t end = a.value + n;
  while (cur < end) {
    const Vma* v = vma_at(GuestAddr{cur});
    if (!v || (v->vm_flags & need) != need) return false;
    const uint64_t run_end = v->vm_start.value + (v->run_pages() << kPageShift);
    if (cur >= run_end) return false;
    const uint64_t chunk = std::min(end, v->contiguous_end(GuestAddr{cur}).value) - cur;
    f(*v, v->host_ptr(GuestAddr{cur}), static_cast<size_t>(chunk));
    cur += chunk;
  }
  return true;
}

namespace {
constexpr auto kNoop = [](const Vma&, uint8_t*, size_t) {};
}  // namespace

bool Mm::copy_from_user(void* dst, GuestAddr src, size_t n) const {
  if (!for_each_piece(src, n, VM_READ, kNoop)) return false;
  auto* out = static_cast<uint8_t*>(dst);
  return for_each_piece(src, n, VM_READ, [&](const Vma&, uint8_t* host, size_t len) {
    std::memcpy(out, host, len);
    out += len;
  });
}

bool Mm::copy_to_user(GuestAddr dst, const void* src, size_t n) {
  if (!for_each_piece(dst, n, VM_WRITE, kNoop)) return false;
  const auto* in = static_cast<const uint8_t*>(src);
  return for_each_piece(dst, n, VM_WRITE, [&](const Vma& v, uint8_t* host, size_t len) {
    PROBESIM_ASSERT(v.private_copy() || (v.vm_flags & VM_MAYSHARE));
    if (!v.private_copy()) v.vm_file->mark_dirty();  // written through a shared mapping
    std::memcpy(host, in, len);
    in += len;
  });
}

bool Mm::access_ok(GuestAddr addr, uint64_t size) const {
  const uint64_t limit = layout_.task_size.value;
  return size <= limit && addr.value <= limit - size;
}

size_t Mm::accessible_prefix(GuestAddr a, size_t n, Access access) const {
  const uint32_t need = access == Access::Write ? VM_WRITE : VM_READ;
  size_t ok = 0;
  for_each_piece(a, n, need, [&](const Vma&, uint8_t*, size_t len) { ok += len; });
  return ok;
}

Result<std::string> Mm::strncpy_from_user(GuestAddr src, size_t max) const {
  std::string out;
  bool found = false;
  uint64_t cur = src.value;
  while (!found && out.size() < max) {
    const Vma* v = vma_at(GuestAddr{cur});
    const size_t want = max - out.size();
    const uint64_t run_end = v ? v->vm_start.value + (v->run_pages() << kPageShift) : 0;
    if (!v || !(v->vm_flags & VM_READ) || cur >= run_end) {
      return Error::make("strncpy_from_user: bad address", EFAULT);
    }
    const uint64_t piece_end = v->contiguous_end(GuestAddr{cur}).value;
    const size_t chunk = static_cast<size_t>(std::min<uint64_t>(want, piece_end - cur));
    const auto* p = v->host_ptr(GuestAddr{cur});
    const void* nul = std::memchr(p, 0, chunk);
    const size_t take = nul ? static_cast<size_t>(static_cast<const uint8_t*>(nul) - p) : chunk;
    out.append(reinterpret_cast<const char*>(p), take);
    found = nul != nullptr;
    cur += chunk;
  }
  if (!found) return Error::make("strncpy_from_user: string longer than its buffer", ENAMETOOLONG);
  return out;
}

bool Mm::peek(GuestAddr src, void* dst, size_t n) const {
  if (!for_each_piece(src, n, 0, kNoop)) return false;
  auto* out = static_cast<uint8_t*>(dst);
  return for_each_piece(src, n, 0, [&](const Vma&, uint8_t* host, size_t len) {
    std::memcpy(out, host, len);
    out += len;
  });
}

bool Mm::poke(GuestAddr dst, const void* src, size_t n) {
  if (!for_each_piece(dst, n, 0, kNoop)) return false;
  // Page-cache-backed private VMAs become private copies first: a poke never writes the
  // page cache of a private mapping.
  for (uint64_t cur = dst.value; cur < dst.value + n;) {
    Vma* v = vma_at_mut(GuestAddr{cur});
    const GuestAddr start = v->vm_start, end = v->vm_end;
    if (!v->private_copy() && !(v->vm_flags & VM_MAYSHARE)) {
      RunBatch batch(*this, start, end);
      if (!make_private_copy(*v)) return false;
      merge_around(start, end);
    }
    cur = end.value;
  }
  const auto* in = static_cast<const uint8_t*>(src);
  return for_each_piece(dst, n, 0, [&](const Vma& v, uint8_t* host, size_t len) {
    if (!v.private_copy()) v.vm_file->mark_dirty();
    std::memcpy(host, in, len);
    in += len;
  });
}

FaultKind Mm::classify_fault(GuestAddr addr, Access access) const {
  static constexpr uint32_t kNeed[] = {VM_READ, VM_WRITE, VM_EXEC};  // by Access
  const Vma* v = vma_at(addr);
  if (!v) return FaultKind::MapErr;
  if (!(v->vm_flags & kNeed[static_cast<int>(access)])) return FaultKind::AccErr;
  if (addr.value >= v->vm_start.value + (v->run_pages() << kPageShift)) return FaultKind::Bus;
  return FaultKind::None;
}

}  // namespace probesim::mmu
