// CaptureSink: captured stdout/stderr keep their bytes in order, with memory proportional to
// the output, and honour an optional limit.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "emu/capture_sink.h"

using namespace probesim::emu;

namespace {

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

TEST_CASE("capture sink: bytes come back in order across chunk boundaries") {
  CaptureSink sink;
  std::string expect;
  for (int i = 0; i < 5000; ++i) {
    std::string line = "line " + std::to_string(i) + "\n";
    sink.write(bytes_of(line));
    expect += line;
  }
  CHECK(sink.size() == expect.size());
  CHECK(sink.str() == expect);
  std::string joined;
  size_t chunks = 0;
  sink.for_each_chunk([&](std::span<const uint8_t> c) { joined.append(c.begin(), c.end()), ++chunks; });
  CHECK(joined == expect);
  CHECK(chunks > 1);
}

TEST_CASE("capture sink: memory stays proportional to the output (no doubling copies)") {
  CaptureSink sink;
  std::string block(65536, 'x');
  for (int i = 0; i < 64; ++i) sink.write(bytes_of(block));  // 4 MiB in 64 KiB writes
  CHECK(sink.size() == 4u << 20);
  CHECK(sink.capacity() < sink.size() + CaptureSink::kMaxChunk);
  CaptureSink small;
  small.write(bytes_of("hi\n"));
  CHECK(small.capacity() == CaptureSink::kFirstChunk);
}

TEST_CASE("capture sink: a limit keeps the first bytes and counts the rest as dropped") {
  CaptureSink sink(10);
  sink.write(bytes_of("0123456"));
  sink.write(bytes_of("789abcdef"));
  sink.write(bytes_of("more"));
  CHECK(sink.str() == "0123456789");
  CHECK(sink.size() == 10);
  CHECK(sink.dropped() == 10);
}
