// Strong types for addresses and units (docs/conventions.md §5). Every interface that carries a
// guest address, a file offset, a page index, a cycle count or an instruction count uses
// these types, never a bare uint64_t. Conversions are explicit (`.value`).
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <string_view>

namespace probesim {

template <class Tag>
struct Strong {
  uint64_t value = 0;

  constexpr Strong() = default;
  constexpr explicit Strong(uint64_t v) : value(v) {}
  constexpr auto operator<=>(const Strong&) const = default;
};

struct GuestAddrTag {};
struct FileOffsetTag {};
struct PageIndexTag {};
struct CyclesTag {};
struct InsnCountTag {};

// A virtual address in a guest address space. Arithmetic with byte deltas is allowed;
// the difference of two addresses is a byte count.
struct GuestAddr : Strong<GuestAddrTag> {
  using Strong::Strong;
  constexpr GuestAddr operator+(uint64_t d) const { return GuestAddr{value + d}; }
  constexpr GuestAddr operator-(uint64_t d) const { return GuestAddr{value - d}; }
  constexpr uint64_t operator-(GuestAddr o) const { return value - o.value; }
  constexpr GuestAddr& operator+=(uint64_t d) { value += d; return *this; }
};

struct FileOffset : Strong<FileOffsetTag> {
  using Strong::Strong;
};

// Index of a 4 KiB page (in a file: vm_pgoff units; in an address space: vaddr >> 12).
struct PageIndex : Strong<PageIndexTag> {
  using Strong::Strong;
};

struct Cycles : Strong<CyclesTag> {
  using Strong::Strong;
  constexpr Cycles operator+(Cycles o) const { return Cycles{value + o.value}; }
  constexpr Cycles& operator+=(Cycles o) { value += o.value; return *this; }
};

struct InsnCount : Strong<InsnCountTag> {
  using Strong::Strong;
  constexpr InsnCount operator+(InsnCount o) const { return InsnCount{value + o.value}; }
  constexpr InsnCount& operator+=(InsnCount o) { value += o.value; return *this; }
};

constexpr uint64_t kPageShift = 12;
constexpr uint64_t kPageSize = uint64_t{1} << kPageShift;
constexpr uint64_t kPageMask = ~(kPageSize - 1);

constexpr uint64_t page_align_down(uint64_t v) { return v & kPageMask; }
constexpr uint64_t page_align_up(uint64_t v) { return (v + kPageSize - 1) & kPageMask; }
constexpr bool page_aligned(uint64_t v) { return (v & (kPageSize - 1)) == 0; }

enum class Arch { X86_64, AArch64 };

constexpr std::string_view arch_name(Arch a) {
  return a == Arch::X86_64 ? "x86_64" : "aarch64";
}

}  // namespace probesim

template <class Tag>
struct std::hash<probesim::Strong<Tag>> {
  size_t operator()(const probesim::Strong<Tag>& s) const noexcept {
    return std::hash<uint64_t>{}(s.value);
  }
};
template <>
struct std::hash<probesim::GuestAddr> {
  size_t operator()(const probesim::GuestAddr& s) const noexcept {
    return std::hash<uint64_t>{}(s.value);
  }
};
