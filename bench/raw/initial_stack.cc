#include "bench/raw/initial_stack.h"

#include <elf.h>

#include <cstring>

#include "probesim/assert.h"

namespace probesim::bench {
namespace {

// Places blobs downward from `top`, remembering each one's guest address.
class StringArea {
 public:
  explicit StringArea(uint64_t top) : low_(top) {}
  uint64_t push(const void* data, uint64_t n) {
    low_ -= n;
    blobs_.push_back({low_, std::vector<uint8_t>(static_cast<const uint8_t*>(data),
                                                 static_cast<const uint8_t*>(data) + n)});
    return low_;
  }
  uint64_t push(const std::string& s) { return push(s.c_str(), s.size() + 1); }
  uint64_t low() const { return low_; }
  void copy_into(std::vector<uint8_t>& out, uint64_t base) const {
    for (const auto& [addr, blob] : blobs_)
      std::memcpy(out.data() + (addr - base), blob.data(), blob.size());
  }

 private:
  uint64_t low_;
  std::vector<std::pair<uint64_t, std::vector<uint8_t>>> blobs_;
};

}  // namespace

InitialStack InitialStack::build(const StackSpec& spec) {
  PROBESIM_ASSERT(!spec.argv.empty());
  StringArea strings(spec.top.value);
  const uint64_t execfn = strings.push(spec.argv[0]);
  std::vector<uint64_t> env_ptrs, arg_ptrs;
  for (const std::string& e : spec.envp) env_ptrs.push_back(strings.push(e));
  for (const std::string& a : spec.argv) arg_ptrs.push_back(strings.push(a));
  const uint64_t platform = strings.push(spec.platform);
  const uint64_t random = strings.push(spec.random.data(), spec.random.size());

  std::vector<uint64_t> words;
  words.push_back(spec.argv.size());
  words.insert(words.end(), arg_ptrs.begin(), arg_ptrs.end());
  words.push_back(0);
  words.insert(words.end(), env_ptrs.begin(), env_ptrs.end());
  words.push_back(0);
  for (const auto& [type, value] : spec.auxv) words.insert(words.end(), {type, value});
  words.insert(words.end(), {AT_RANDOM, random, AT_PLATFORM, platform, AT_EXECFN, execfn});
  words.insert(words.end(), {AT_NULL, 0});

  InitialStack st;
  st.sp_ = GuestAddr{(strings.low() - words.size() * 8) & ~uint64_t{15}};
  st.bytes_.assign(spec.top.value - st.sp_.value, 0);
  std::memcpy(st.bytes_.data(), words.data(), words.size() * 8);
  strings.copy_into(st.bytes_, st.sp_.value);
  return st;
}

}  // namespace probesim::bench
