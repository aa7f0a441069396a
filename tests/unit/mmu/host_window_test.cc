// HostWindow: the one reservation every HostArena is carved from (emu/uc_regions.h).
#include <doctest/doctest.h>

#include <cstring>

#include "mmu/host_arena.h"
#include "mmu/host_window.h"

namespace probesim::mmu {
namespace {

constexpr uint64_t kTestBytes = uint64_t{1} << 30;

TEST_CASE("host window: ranges are aligned, disjoint and counted while in use") {
  auto own = HostWindow::reserve(kTestBytes);
  REQUIRE(own != nullptr);
  HostWindow& w = *own;
  const uint64_t before = w.in_use();
  uint8_t* a = w.allocate(1);
  uint8_t* b = w.allocate(HostWindow::kAlign + 1);
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  CHECK((a - w.data()) % HostWindow::kAlign == 0);
  CHECK((b - w.data()) % HostWindow::kAlign == 0);
  CHECK((b >= a + HostWindow::kAlign || a >= b + 2 * HostWindow::kAlign));
  CHECK(w.in_use() == before + 3 * HostWindow::kAlign);
  w.release(a, 1);
  w.release(b, HostWindow::kAlign + 1);
  CHECK(w.in_use() == before);
  CHECK(w.allocate(0) == nullptr);
  CHECK(w.allocate(w.size() + 1) == nullptr);
}

TEST_CASE("host window: a released range reads zero when handed out again (first fit)") {
  auto own = HostWindow::reserve(kTestBytes);
  REQUIRE(own != nullptr);
  HostWindow& w = *own;
  uint8_t* a = w.allocate(HostWindow::kAlign);
  REQUIRE(a != nullptr);
  std::memset(a, 0xab, HostWindow::kAlign);
  w.release(a, HostWindow::kAlign);
  uint8_t* again = w.allocate(HostWindow::kAlign);
  REQUIRE(again == a);  // first fit: the lowest free range
  CHECK(again[0] == 0);
  CHECK(again[HostWindow::kAlign - 1] == 0);
  w.release(again, HostWindow::kAlign);
}

TEST_CASE("host window: neighbouring released ranges merge into one") {
  auto own = HostWindow::reserve(4 * HostWindow::kAlign);
  REQUIRE(own != nullptr);
  HostWindow& w = *own;
  uint8_t* a = w.allocate(HostWindow::kAlign);
  uint8_t* b = w.allocate(HostWindow::kAlign);
  uint8_t* c = w.allocate(HostWindow::kAlign);
  REQUIRE((a && b && c));
  CHECK(a == w.data());
  CHECK(b == a + HostWindow::kAlign);
  CHECK(c == b + HostWindow::kAlign);
  w.release(b, HostWindow::kAlign);
  w.release(a, HostWindow::kAlign);
  uint8_t* ab = w.allocate(2 * HostWindow::kAlign);  // fits only where a and b merged
  CHECK(ab == a);
  CHECK(w.allocate(2 * HostWindow::kAlign) == nullptr);  // one kAlign is left, at the end
  w.release(ab, 2 * HostWindow::kAlign);
  w.release(c, HostWindow::kAlign);
}

TEST_CASE("host arenas live in the process's window, except reservations too big for it") {
  HostWindow* pw = HostWindow::get();
  REQUIRE(pw != nullptr);  // this host grants 16 TiB of NORESERVE address space
  HostWindow& w = *pw;
  auto small = HostArena::create(uint64_t{1} << 20, "small");
  REQUIRE(small.ok());
  CHECK(w.contains((*small)->data(), (*small)->size()));
  auto huge = HostArena::create(w.size() / 2, "huge");  // FrameSpace's kind: its own mapping
  REQUIRE(huge.ok());
  CHECK_FALSE(w.contains((*huge)->data(), 1));
}

}  // namespace
}  // namespace probesim::mmu
