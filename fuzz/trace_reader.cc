// Fuzz target: the trace reader (emu/record/trace.cc decode_trace) and the text dump
// (trace_text.cc format_trace) that `probesim replay` and `probesim trace show` run on files a
// user hands them. Input: one mode byte, then
//   - even mode: the bytes of a trace file as given (magic, header, zlib stream);
//   - odd mode: a raw payload, wrapped here in a valid container (magic, this version, the
//     payload size, zlib-compressed), so the mutations reach the record parser behind zlib.
// Besides never crashing, checks what the reader promises: a failure is an EINVAL error naming
// the input; an accepted trace re-encodes to a file that decodes again, and encoding is a
// fixed point from there (decode(encode(t)) encodes to the same bytes); the dump never fails.
#include <zlib.h>

#include <cerrno>
#include <cstdlib>
#include <span>
#include <vector>

#include "emu/record/trace.h"
#include "emu/record/trace_text.h"
#include "fuzz_input.h"

using namespace probesim;
using namespace probesim::emu;

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

void put_le(std::vector<uint8_t>& out, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// The container encode_trace writes (trace.cc), around an arbitrary payload.
std::vector<uint8_t> wrap(std::span<const uint8_t> payload) {
  static constexpr uint8_t kMagic[8] = {0x89, 'P', 'S', 'T', '\r', '\n', 0x1a, '\n'};
  std::vector<uint8_t> out(std::begin(kMagic), std::end(kMagic));
  put_le(out, kTraceVersion, 4);
  std::string_view version = kProbesimVersion;
  put_le(out, version.size(), 2);
  out.insert(out.end(), version.begin(), version.end());
  put_le(out, payload.size(), 8);
  uLongf zlen = compressBound(payload.size());
  std::vector<uint8_t> z(zlen);
  require(compress2(z.data(), &zlen, payload.data(), payload.size(), Z_BEST_SPEED) == Z_OK);
  out.insert(out.end(), z.begin(), z.begin() + static_cast<long>(zlen));
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::FuzzInput in(data, size);
  bool wrapped = in.u8() & 1;
  std::span<const uint8_t> rest = in.bytes(size);
  std::vector<uint8_t> file = wrapped ? wrap(rest) : std::vector<uint8_t>(rest.begin(), rest.end());
  Result<Trace> t = decode_trace(file, "fuzz.trace");
  if (!t.ok()) {
    require(t.error().err == EINVAL);
    require(t.error().message.rfind("fuzz.trace: ", 0) == 0);
    return 0;
  }
  std::string text = format_trace(*t);
  require(!text.empty());
  std::vector<uint8_t> once = encode_trace(*t);
  Result<Trace> again = decode_trace(once, "re-encoded");
  require(again.ok());
  require(encode_trace(*again) == once);
  return 0;
}
