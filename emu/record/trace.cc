#include "emu/record/trace.h"

#include <algorithm>

#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

#include "probesim/assert.h"

namespace probesim::emu {
namespace {

constexpr uint8_t kMagic[8] = {0x89, 'P', 'S', 'T', '\r', '\n', 0x1a, '\n'};
constexpr uint64_t kMaxPayload = 1ull << 31;  // refuse to inflate more than 2 GiB
enum Tag : uint8_t { kHeader = 1, kFiles, kDecisions, kTimes, kStdin, kCheckpoints, kOutcome, kEnd };

class Writer {
 public:
  void u(uint64_t v) {
    uint8_t buf[10];
    size_t n = 0;
    do {
      uint8_t b = v & 0x7f;
      v >>= 7;
      buf[n++] = b | (v ? 0x80 : 0);
    } while (v);
    out.insert(out.end(), buf, buf + n);
  }
  void s(int64_t v) { u((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
  void str(std::string_view v) {
    u(v.size());
    out.insert(out.end(), v.begin(), v.end());
  }
  void bytes(std::span<const uint8_t> v) {
    u(v.size());
    out.insert(out.end(), v.begin(), v.end());
  }
  std::vector<uint8_t> out;
};

// Every read is bounds-checked; the first problem sticks and every later read returns zeros.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> in) : in_(in) {}
  uint64_t u() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return fail("it ends in the middle of a record");
      uint8_t b = in_[pos_++];
      v |= uint64_t{b & 0x7fu} << shift;
      if (!(b & 0x80)) return v;
    }
    return fail("a number is longer than 64 bits");
  }
  int64_t s() {
    uint64_t v = u();
    return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
  }
  uint64_t count(uint64_t min_bytes_each) {  // a list length that the remaining bytes can hold
    uint64_t n = u();
    if (n > (in_.size() - pos_) / std::max<uint64_t>(min_bytes_each, 1)) return fail("a list length is larger than the data");
    return n;
  }
  std::string str() {
    uint64_t n = count(1);
    std::string v(reinterpret_cast<const char*>(in_.data() + pos_), error.empty() ? n : 0);
    pos_ += v.size();
    return v;
  }
  std::vector<uint8_t> bytes() {
    uint64_t n = count(1);
    std::vector<uint8_t> v(in_.begin() + static_cast<long>(pos_),
                           in_.begin() + static_cast<long>(pos_ + (error.empty() ? n : 0)));
    pos_ += v.size();
    return v;
  }
  void tag(Tag want) {
    if (u() != want && error.empty()) error = "section " + std::to_string(want) + " is missing";
  }
  bool at_end() const { return pos_ == in_.size(); }
  std::string error;

 private:
  uint64_t fail(const char* why) {
    if (error.empty()) error = why;
    pos_ = in_.size();
    return 0;
  }
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
};

void put_header(Writer& w, const TraceHeader& h, uint32_t version) {
  w.u(kHeader);
  w.str(h.probesim_version);
  w.u(static_cast<uint64_t>(h.arch));
  w.u(h.argv.size());
  for (const std::string& a : h.argv) w.str(a);
  w.u(h.env.size());
  for (const std::string& e : h.env) w.str(e);
  w.str(h.cwd), w.str(h.root);
  w.u(h.cpus), w.u(h.seed), w.u(h.quantum), w.u(h.run_index);
  w.str(h.strategy);
  w.u(h.kernel), w.u(h.kprobe_boost);
  w.u(h.limits.mem), w.u(h.limits.disk), w.u(h.limits.tasks), w.u(h.limits.files);
  w.u(h.bugs.size());
  for (const std::string& b : h.bugs) w.str(b);
  w.u(h.kernel_work.size());
  for (const std::string& k : h.kernel_work) w.str(k);
  w.u(static_cast<uint64_t>(h.epoch)), w.u(h.kprobe_optimization), w.str(h.kernel_cmdline);
  w.u(h.early_kprobes.size());
  for (const std::string& e : h.early_kprobes) w.str(e);
  if (version >= 8) w.u(h.optimize_delay_ns);
}

void get_header(Reader& r, TraceHeader& h, uint32_t version) {
  r.tag(kHeader);
  h.probesim_version = r.str();
  uint64_t arch = r.u();
  if (arch > static_cast<uint64_t>(Arch::AArch64) && r.error.empty()) r.error = "unknown architecture";
  h.arch = static_cast<Arch>(arch);
  h.argv.resize(r.count(1));
  for (std::string& a : h.argv) a = r.str();
  h.env.resize(r.count(1));
  for (std::string& e : h.env) e = r.str();
  h.cwd = r.str(), h.root = r.str();
  h.cpus = static_cast<uint32_t>(r.u()), h.seed = r.u(), h.quantum = r.u(), h.run_index = r.u();
  h.strategy = r.str();
  h.kernel = r.u(), h.kprobe_boost = r.u();
  h.limits.mem = r.u(), h.limits.disk = r.u(), h.limits.tasks = r.u(), h.limits.files = r.u();
  h.bugs.resize(r.count(1));
  for (std::string& b : h.bugs) b = r.str();
  h.kernel_work.resize(r.count(1));
  for (std::string& k : h.kernel_work) k = r.str();
  h.epoch = static_cast<int64_t>(r.u()), h.kprobe_optimization = r.u(), h.kernel_cmdline = r.str();
  h.early_kprobes.resize(r.count(1));
  for (std::string& e : h.early_kprobes) e = r.str();
  if (version >= 8) h.optimize_delay_ns = r.u();  // before: Linux's constant, the default
}

void put_events(Writer& w, const Trace& t, uint32_t version) {
  w.u(kFiles), w.u(t.files.size());
  for (const TraceFile& f : t.files) w.str(f.path), w.str(f.sha256);
  w.u(kDecisions), w.u(t.decisions.size());
  for (const TraceDecision& d : t.decisions) {
    w.u(d.cpu), w.s(d.tid), w.u(d.start), w.u(d.end), w.u(d.preempted), w.u(d.wakes.size());
    for (int32_t tid : d.wakes) w.s(tid);
    if (version < 6) continue;
    w.u(d.timers.size());
    for (const TraceTimerFire& f : d.timers) w.s(f.pid), w.s(f.timer), w.u(f.periods), w.u(f.after_wakes);
  }
  w.u(kTimes), w.u(t.times.size());
  for (const TraceTime& x : t.times) w.s(x.tid), w.u(x.cycles);
  w.u(kStdin), w.u(t.stdin_reads.size());
  for (const TraceStdin& x : t.stdin_reads) w.s(x.result), w.bytes(x.bytes);
  w.u(kCheckpoints), w.u(t.checkpoints.size());
  for (const TraceCheckpoint& c : t.checkpoints) {
    w.u(c.decision), w.s(c.tid), w.u(c.insns), w.u(c.pc), w.u(c.sp), w.u(c.regs);
    w.u(c.memory.has_value()), w.u(c.memory.value_or(0));
  }
  w.u(kOutcome), w.u(t.outcome.exited), w.s(t.outcome.shell_status), w.str(t.outcome.description);
  w.u(kEnd);
}

void get_events(Reader& r, Trace& t, uint32_t version) {
  r.tag(kFiles);
  t.files.resize(r.count(2));
  for (TraceFile& f : t.files) f.path = r.str(), f.sha256 = r.str();
  r.tag(kDecisions);
  t.decisions.resize(r.count(6));
  for (TraceDecision& d : t.decisions) {
    d.cpu = static_cast<uint32_t>(r.u()), d.tid = static_cast<int32_t>(r.s());
    d.start = r.u(), d.end = r.u(), d.preempted = r.u();
    d.wakes.resize(r.count(1));
    for (int32_t& tid : d.wakes) tid = static_cast<int32_t>(r.s());
    if (version < 6) continue;  // no timers before
    d.timers.resize(r.count(4));
    for (TraceTimerFire& f : d.timers) {
      f.pid = static_cast<int32_t>(r.s()), f.timer = static_cast<int32_t>(r.s());
      f.periods = r.u(), f.after_wakes = static_cast<uint32_t>(r.u());
    }
  }
  r.tag(kTimes);
  t.times.resize(r.count(2));
  for (TraceTime& x : t.times) x.tid = static_cast<int32_t>(r.s()), x.cycles = r.u();
  r.tag(kStdin);
  t.stdin_reads.resize(r.count(2));
  for (TraceStdin& x : t.stdin_reads) x.result = r.s(), x.bytes = r.bytes();
  r.tag(kCheckpoints);
  t.checkpoints.resize(r.count(8));
  for (TraceCheckpoint& c : t.checkpoints) {
    c.decision = r.u(), c.tid = static_cast<int32_t>(r.s()), c.insns = r.u();
    c.pc = r.u(), c.sp = r.u(), c.regs = r.u();
    bool has = r.u();
    uint64_t m = r.u();
    if (has) c.memory = m;
  }
  r.tag(kOutcome);
  t.outcome.exited = r.u(), t.outcome.shell_status = static_cast<int32_t>(r.s());
  t.outcome.description = r.str();
  r.tag(kEnd);
}

void put_le(std::vector<uint8_t>& out, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

uint64_t get_le(std::span<const uint8_t> in, size_t at, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= uint64_t{in[at + i]} << (8 * i);
  return v;
}

Error bad(const std::string& name, const std::string& why) {
  return Error::make(name + ": " + why, EINVAL);
}

// Inflates exactly out.size() bytes; input that ends first is "truncated", anything else that
// zlib rejects (bad data, adler32 mismatch, trailing garbage) is "corrupted".
Result<void> inflate_all(std::span<const uint8_t> in, std::vector<uint8_t>& out, const std::string& name) {
  z_stream z{};
  if (inflateInit(&z) != Z_OK) return bad(name, "zlib cannot start inflating");
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  int rc = inflate(&z, Z_FINISH);
  bool ended = rc == Z_STREAM_END, input_left = z.avail_in > 0, output_full = z.avail_out == 0;
  inflateEnd(&z);
  if (ended && output_full && !input_left) return {};
  if (!ended && !input_left && (rc == Z_BUF_ERROR || rc == Z_OK))
    return bad(name, "truncated probesim trace (the compressed data ends early)");
  return bad(name, std::string("corrupted probesim trace (") +
                       (ended ? "the payload size does not match" : "bad compressed data or checksum") + ")");
}

// Versions before 7 are zlib streams (level 1), 7 on a zstd frame (level 1, content size and
// checksum in the frame).
constexpr uint32_t kZstdVersion = 7;

std::vector<uint8_t> zlib_compress(const std::vector<uint8_t>& in) {
  uLongf zlen = compressBound(in.size());
  std::vector<uint8_t> z(zlen);
  int rc = compress2(z.data(), &zlen, in.data(), in.size(), Z_BEST_SPEED);
  PROBESIM_ASSERT_MSG(rc == Z_OK, "zlib compress2 failed");
  z.resize(zlen);
  return z;
}

// The zstd frame, then the CRC-32 of its bytes (4 bytes, little-endian): zstd's own checksum
// covers the content only, and a flipped byte in a header field it does not use would pass.
std::vector<uint8_t> zstd_compress(const std::vector<uint8_t>& in) {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  PROBESIM_ASSERT_MSG(c != nullptr, "zstd: no compression context");
  ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 1);
  ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
  std::vector<uint8_t> z(ZSTD_compressBound(in.size()) + 4);
  const size_t n = ZSTD_compress2(c, z.data(), z.size(), in.data(), in.size());
  ZSTD_freeCCtx(c);
  PROBESIM_ASSERT_MSG(!ZSTD_isError(n), "zstd compress failed");
  z.resize(n);
  put_le(z, crc32(0, z.data(), static_cast<uInt>(n)), 4);
  return z;
}

// Decompresses exactly out.size() bytes from one zstd frame and its CRC-32, with inflate_all's
// messages: a frame or CRC that ends early is "truncated"; bad data, a checksum mismatch,
// another size or bytes after the CRC are "corrupted".
Result<void> zstd_decompress_all(std::span<const uint8_t> in, std::vector<uint8_t>& out,
                                 const std::string& name) {
  const size_t frame = ZSTD_findFrameCompressedSize(in.data(), in.size());
  const bool cut = ZSTD_isError(frame) ? ZSTD_getErrorCode(frame) == ZSTD_error_srcSize_wrong
                                       : in.size() < frame + 4;
  if (cut) return bad(name, "truncated probesim trace (the compressed data ends early)");
  if (ZSTD_isError(frame) || in.size() != frame + 4)
    return bad(name, "corrupted probesim trace (bad compressed data or bytes after it)");
  if (crc32(0, in.data(), static_cast<uInt>(frame)) != get_le(in, frame, 4))
    return bad(name, "corrupted probesim trace (bad compressed data or checksum)");
  if (ZSTD_getFrameContentSize(in.data(), frame) != out.size())
    return bad(name, "corrupted probesim trace (the payload size does not match)");
  const size_t n = ZSTD_decompress(out.data(), out.size(), in.data(), frame);
  if (ZSTD_isError(n)) return bad(name, std::string("corrupted probesim trace (") + ZSTD_getErrorName(n) + ")");
  if (n != out.size()) return bad(name, "corrupted probesim trace (the payload size does not match)");
  return {};
}

}  // namespace

std::vector<uint8_t> encode_trace(const Trace& t, uint32_t version) {
  PROBESIM_ASSERT(version >= kTraceOldestVersion && version <= kTraceVersion);
  PROBESIM_ASSERT_MSG(version >= 6 || std::all_of(t.decisions.begin(), t.decisions.end(),
                                                  [](const TraceDecision& d) { return d.timers.empty(); }),
                      "timer fires need trace format version 6");
  PROBESIM_ASSERT_MSG(version >= 8 || t.header.optimize_delay_ns == TraceHeader{}.optimize_delay_ns,
                      "a shortened OPTIMIZE_DELAY needs trace format version 8");
  Writer w;
  // Room for a typical record of each kind (varints: ~15 bytes a decision, ~40 a checkpoint), so
  // a long run's payload is not copied on every doubling.
  w.out.reserve(4096 + 16 * t.decisions.size() + 40 * t.checkpoints.size() + 12 * t.times.size());
  put_header(w, t.header, version);
  put_events(w, t, version);
  const std::vector<uint8_t> z =
      version >= kZstdVersion ? zstd_compress(w.out) : zlib_compress(w.out);
  std::vector<uint8_t> out(std::begin(kMagic), std::end(kMagic));
  put_le(out, version, 4);
  put_le(out, t.header.probesim_version.size(), 2);
  out.insert(out.end(), t.header.probesim_version.begin(), t.header.probesim_version.end());
  put_le(out, w.out.size(), 8);
  out.insert(out.end(), z.begin(), z.end());
  return out;
}

Result<Trace> decode_trace(std::span<const uint8_t> in, const std::string& name) {
  if (in.size() < sizeof kMagic || std::memcmp(in.data(), kMagic, sizeof kMagic) != 0)
    return bad(name, "not a probesim trace (its first bytes are not the trace magic)");
  if (in.size() < 14) return bad(name, "truncated probesim trace (the file header is cut short)");
  uint32_t version = static_cast<uint32_t>(get_le(in, 8, 4));
  size_t vlen = get_le(in, 12, 2);
  if (in.size() < 14 + vlen + 8) return bad(name, "truncated probesim trace (the file header is cut short)");
  std::string made_by(reinterpret_cast<const char*>(in.data() + 14), vlen);
  if (version < kTraceOldestVersion || version > kTraceVersion)
    return bad(name, "trace format version " + std::to_string(version) + " (written by probesim " +
                         made_by + "); this probesim " + kProbesimVersion + " reads versions " +
                         std::to_string(kTraceOldestVersion) + " to " + std::to_string(kTraceVersion) +
                         ": replay it with the probesim that recorded it, or record it again");
  uint64_t raw = get_le(in, 14 + vlen, 8);
  const size_t zlen = in.size() - (14 + vlen + 8);
  // The most either format expands one compressed byte into (deflate: 1032; a zstd RLE block:
  // 3 + 1 bytes for 128 KiB), so a corrupted size cannot make us allocate gigabytes.
  const uint64_t max_ratio = version >= kZstdVersion ? 32768 : 1032;
  if (zlen == 0) return bad(name, "truncated probesim trace (no compressed data)");
  if (raw > kMaxPayload || raw > zlen * max_ratio + 64)
    return bad(name, "corrupted probesim trace (implausible payload size)");
  std::vector<uint8_t> payload(raw);
  size_t off = 14 + vlen + 8;
  if (version >= kZstdVersion)
    PROBESIM_TRY_VOID(zstd_decompress_all(in.subspan(off), payload, name));
  else
    PROBESIM_TRY_VOID(inflate_all(in.subspan(off), payload, name));
  Reader r(payload);
  Trace t;
  t.version = version;
  get_header(r, t.header, version);
  get_events(r, t, version);
  if (r.error.empty() && !r.at_end()) r.error = "extra bytes after the end";
  if (!r.error.empty()) return bad(name, "corrupted probesim trace (" + r.error + ")");
  return t;
}

Result<void> save_trace(const Trace& t, const std::string& path) {
  std::vector<uint8_t> bytes = encode_trace(t);
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return Error::make("cannot write " + path + ": " + std::strerror(errno), errno);
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) return Error::make("cannot write " + path + ": " + std::strerror(errno), EIO);
  return {};
}

Result<Trace> load_trace(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Error::make("cannot read trace " + path + ": " + std::strerror(errno), ENOENT);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return decode_trace(bytes, path);
}

}  // namespace probesim::emu
