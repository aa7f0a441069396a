// The driver of a fuzz target in builds without libFuzzer (gcc: the default build and the ASan
// build), so that `make test` and `make test-asan` run every target on every machine.
//   fuzz_<target> [-runs=N] [-seed=S] PATH...
// Runs each input file (PATH or the files of a directory PATH, in name order), then N inputs
// derived from them by deterministic mutations (xorshift64 seeded by S): bit flips, byte
// overwrites, inserts, erases, splices of two inputs, fresh random inputs. The same arguments
// always run the same inputs. A finding aborts (the target's own abort, a host signal or a
// sanitizer report); the input that did it is then written to ./fuzz-crash-input, to be
// replayed with `fuzz_<target> fuzz-crash-input`.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);
// Present in sanitizer builds: called when a sanitizer report ends the process.
extern "C" __attribute__((weak)) void __sanitizer_set_death_callback(void (*)(void));

namespace {

using Input = std::vector<uint8_t>;
constexpr size_t kMinMaxLen = 4096;  // mutated inputs grow to this, or to the largest seed

struct Rng {
  uint64_t s;
  uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  size_t below(size_t n) { return n ? static_cast<size_t>(next() % n) : 0; }
};

Input read_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return Input((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

void add_inputs(const std::filesystem::path& p, std::vector<Input>& out) {
  if (!std::filesystem::is_directory(p)) {
    out.push_back(read_file(p));
    return;
  }
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(p))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) out.push_back(read_file(f));
}

Input mutate(const std::vector<Input>& pool, size_t max_len, Rng& rng) {
  if (pool.empty() || rng.below(16) == 0) {  // a fresh random input
    Input in(rng.below(512));
    for (auto& b : in) b = static_cast<uint8_t>(rng.next());
    return in;
  }
  Input in = pool[rng.below(pool.size())];
  for (size_t n = 1 + rng.below(4); n > 0; --n) {
    size_t at = rng.below(in.size() + 1);
    switch (rng.below(5)) {
      case 0: if (at < in.size()) in[at] ^= static_cast<uint8_t>(1u << rng.below(8)); break;
      case 1: if (at < in.size()) in[at] = static_cast<uint8_t>(rng.next()); break;
      case 2: in.insert(in.begin() + at, static_cast<uint8_t>(rng.next())); break;
      case 3: if (at < in.size()) in.erase(in.begin() + at); break;
      default: {  // splice: the tail of another input from here on
        const Input& other = pool[rng.below(pool.size())];
        size_t from = rng.below(other.size() + 1);
        in.resize(at);
        in.insert(in.end(), other.begin() + from, other.end());
      }
    }
  }
  if (in.size() > max_len) in.resize(max_len);
  return in;
}

const Input* current;  // the input running now, saved by save_current() when the host dies

// Async-signal-safe: open/write/close only.
void save_current() {
  if (!current) return;
  int fd = open("fuzz-crash-input", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return;
  if (write(fd, current->data(), current->size()) < 0) {}
  close(fd);
  static const char kMsg[] = "fuzz: the failing input is in ./fuzz-crash-input\n";
  if (write(2, kMsg, sizeof kMsg - 1) < 0) {}
}

void on_fatal_signal(int sig) {
  save_current();
  signal(sig, SIG_DFL);
  raise(sig);
}

void on_sanitizer_death() { save_current(); }

void install_crash_savers() {
  for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGILL, SIGFPE}) signal(sig, on_fatal_signal);
  if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(on_sanitizer_death);
}

void run_one(const Input& in) {
  current = &in;
  LLVMFuzzerTestOneInput(in.data(), in.size());
  current = nullptr;
}

bool flag(std::string_view arg, std::string_view name, uint64_t& value) {
  if (arg.substr(0, name.size()) != name) return false;
  value = std::strtoull(std::string(arg.substr(name.size())).c_str(), nullptr, 10);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  install_crash_savers();
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
  uint64_t runs = 0, seed = 1;
  std::vector<Input> pool;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (flag(a, "-runs=", runs) || flag(a, "-seed=", seed)) continue;
    if (a.starts_with("-")) {
      std::fprintf(stderr, "%s: unknown option %s (usage: [-runs=N] [-seed=S] PATH...)\n", argv[0],
                   argv[i]);
      return 2;
    }
    if (!std::filesystem::exists(a)) {
      std::fprintf(stderr, "%s: no such input: %s\n", argv[0], argv[i]);
      return 2;
    }
    add_inputs(a, pool);
  }
  for (const Input& in : pool) run_one(in);
  Rng rng{seed * 0x9e3779b97f4a7c15ull | 1};
  size_t max_len = kMinMaxLen;
  for (const Input& in : pool) max_len = std::max(max_len, in.size());
  for (uint64_t n = 0; n < runs; ++n) {
    Input in = mutate(pool, max_len, rng);
    run_one(in);
  }
  std::fprintf(stderr, "%s: %zu corpus inputs and %llu mutated inputs ran without a finding\n",
               argv[0], pool.size(), static_cast<unsigned long long>(runs));
  return 0;
}
