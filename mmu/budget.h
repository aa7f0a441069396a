// Budget: a machine-wide byte limit shared by many owners (every Mm's committed memory, every
// page cache's guest-written pages). Owners charge before they grow and uncharge what they
// give back; the budget itself only counts. Owned by the machine, which must keep it alive
// longer than every owner that charges it. Touched only by the machine's thread.
#pragma once

#include <cstdint>
#include <utility>

#include "probesim/assert.h"

namespace probesim::mmu {

class Budget {
 public:
  static constexpr uint64_t kUnlimited = ~uint64_t{0};

  explicit Budget(uint64_t limit = kUnlimited) : limit_(limit) {}
  Budget(const Budget&) = delete;
  Budget& operator=(const Budget&) = delete;

  uint64_t limit() const { return limit_; }
  uint64_t used() const { return used_; }
  uint64_t available() const { return used_ >= limit_ ? 0 : limit_ - used_; }
  bool fits(uint64_t bytes) const { return bytes <= available(); }
  // Charges bytes if they fit (false: nothing charged).
  bool try_charge(uint64_t bytes) {
    if (!fits(bytes)) return false;
    used_ += bytes;
    return true;
  }
  // Charges unconditionally (an owner re-counting what it already holds may exceed the limit;
  // its next growth then fails).
  void charge(uint64_t bytes) { used_ += bytes; }
  void uncharge(uint64_t bytes) {
    PROBESIM_ASSERT_MSG(bytes <= used_, "a budget owner gave back more than it charged");
    used_ -= bytes;
  }

 private:
  uint64_t limit_;
  uint64_t used_ = 0;
};

// One owner's fixed charge on a Budget, given back by release() or when it dies (RAII).
// Move-only; an empty charge (default) holds nothing.
class BudgetCharge {
 public:
  BudgetCharge() = default;
  // Charges bytes if they fit; an empty charge (nothing taken) if not.
  static BudgetCharge take(Budget& budget, uint64_t bytes) {
    BudgetCharge c;
    if (budget.try_charge(bytes)) {
      c.budget_ = &budget;
      c.bytes_ = bytes;
    }
    return c;
  }
  BudgetCharge(BudgetCharge&& o) noexcept
      : budget_(std::exchange(o.budget_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
  BudgetCharge& operator=(BudgetCharge&& o) noexcept {
    if (this != &o) {
      release();
      budget_ = std::exchange(o.budget_, nullptr);
      bytes_ = std::exchange(o.bytes_, 0);
    }
    return *this;
  }
  ~BudgetCharge() { release(); }

  bool held() const { return budget_ != nullptr; }
  void release() {
    if (budget_) budget_->uncharge(bytes_);
    budget_ = nullptr;
    bytes_ = 0;
  }

 private:
  Budget* budget_ = nullptr;
  uint64_t bytes_ = 0;
};

}  // namespace probesim::mmu
