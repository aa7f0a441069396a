// Robustness: random byte flips and truncations of real static binaries never crash the
// parser or the symbol reader; each call either succeeds or returns an Error.
#include <doctest/doctest.h>

#include <random>
#include <string>

#include "loader/elf_file.h"
#include "tests/unit/loader/guest_files.h"

namespace probesim::loader {
namespace {

// Exercise every read path of a parsed file; results are ignored, crashes are not.
void poke_everything(const ElfFile& f) {
  (void)f.check_executable();
  (void)f.max_align();
  (void)f.phdr_vaddr();
  (void)f.vaddr_to_offset(f.entry());
  if (auto syms = f.symbols(); syms.ok()) {
    for (size_t i = 0; i < (*syms)->size() && i < 8; ++i)
      (void)f.vaddr_to_offset((**syms)[i].value);
  }
  (void)f.find_symbol("main");
}

// A mutated copy: flips concentrated where parsers look (headers, program headers, the
// section header table at the end) plus a few anywhere.
std::vector<uint8_t> mutate(const std::vector<uint8_t>& orig, std::mt19937_64& rng) {
  std::vector<uint8_t> b = orig;
  auto pick = [&](uint64_t lo, uint64_t hi) { return lo + rng() % (hi - lo); };
  int flips = 1 + static_cast<int>(rng() % 6);
  for (int i = 0; i < flips; ++i) {
    uint64_t at;
    switch (rng() % 3) {
      case 0:
        at = pick(0, 0x400);
        break;  // ELF + program headers
      case 1:
        at = pick(b.size() - 0x800, b.size());
        break;  // section headers
      default:
        at = pick(0, b.size());
        break;
    }
    b[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
    if (rng() % 4 == 0) b[at] = static_cast<uint8_t>(rng());
  }
  if (rng() % 5 == 0) b.resize(pick(0, b.size()));
  return b;
}

void fuzz(const std::string& file, int rounds, uint64_t seed) {
  std::vector<uint8_t> orig = test::read_host_file(test::guest_path(file));
  std::mt19937_64 rng(seed);
  int parsed = 0, symbols_ok = 0;
  for (int i = 0; i < rounds; ++i) {
    Result<ElfFile> f = ElfFile::parse(file, mutate(orig, rng));
    if (!f.ok()) {
      CHECK(f.error().message.rfind(file + ": ", 0) == 0);
      continue;
    }
    ++parsed;
    poke_everything(*f);
    symbols_ok += f->symbols().ok();
  }
  MESSAGE(file << ": " << parsed << "/" << rounds << " mutants parsed, " << symbols_ok
               << " with readable symbols");
  CHECK(parsed > 0);
  CHECK(parsed < rounds);
}

TEST_CASE("byte flips and truncations of a musl static binary never crash the parser") {
  fuzz("hello-x64-musl", 300, 0x5eed0001);
}

TEST_CASE("byte flips and truncations of a static-pie binary never crash the parser") {
  fuzz("hello-x64-spie", 200, 0x5eed0002);
}

TEST_CASE("every truncation point of a musl binary's headers is rejected cleanly") {
  std::vector<uint8_t> orig = test::read_host_file(test::guest_path("hello-x64-musl"));
  for (size_t n = 0; n < 0x200; ++n) {
    Result<ElfFile> f = ElfFile::parse("musl", {orig.begin(), orig.begin() + n});
    CHECK_FALSE(f.ok());
  }
}

}  // namespace
}  // namespace probesim::loader
