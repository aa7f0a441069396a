// Fetch-arg evaluation and ftrace line text without a machine: a fake memory with a kernel
// and a user range (process_fetch_insn's stages, print_type_* formats, (fault)).
#include <doctest/doctest.h>

#include <cstring>
#include <map>

#include "probes/trace_events/dynevent_parser.h"
#include "probes/trace_events/fetch_eval.h"
#include "probes/trace_events/trace_record.h"
#include "trace_events/fake_env.h"

using namespace probesim;
using namespace probesim::trace_events;

namespace {

constexpr uint64_t kKernel = 0xffff800000001000, kUser = 0x400000;

struct FakeMemory final : FetchAccess {
  std::vector<uint8_t> kernel = std::vector<uint8_t>(256), user = std::vector<uint8_t>(256);
  static bool copy(const std::vector<uint8_t>& area, uint64_t base, uint64_t a, void* out,
                   size_t n) {
    if (a < base || a + n > base + area.size()) return false;
    std::memcpy(out, area.data() + (a - base), n);
    return true;
  }
  bool read_kernel(uint64_t a, void* out, size_t n) override {
    return copy(kernel, kKernel, a, out, n);
  }
  bool read_user(uint64_t a, void* out, size_t n) override { return copy(user, kUser, a, out, n); }
  std::string comm() override { return "cat"; }
  std::string symbolize(uint64_t a) override { return a == kKernel ? "sym+0x0/0x10" : "0x1"; }
  std::optional<uint64_t> file_offset_address(uint64_t off) override { return kUser + off; }
  void put64(std::vector<uint8_t>& area, size_t at, uint64_t v) { std::memcpy(&area[at], &v, 8); }
};

// The printed values of every argument of a kprobe (x86_64) or uprobe line.
std::vector<std::string> eval(const std::string& line, probes::Regs& regs, FakeMemory& mem) {
  test::FakeEnv env(regs.arch());
  Command c = parse_command(line, EventsFile::Dynamic, env);
  REQUIRE_MESSAGE(c.ok(), line);
  const ProbeDefinition& d = *c.definition();
  FetchSite site{regs, d.kind, {}};
  std::vector<std::string> out;
  for (const ProbeArg& a : d.args) out.push_back(evaluate_arg(a, site, mem));
  return out;
}

}  // namespace

TEST_CASE("fetch evaluation: dereference chains, strings, arrays, faults") {
  FakeMemory mem;
  std::memcpy(&mem.kernel[0x10], "kstr", 5);
  std::memcpy(&mem.user[0x20], "ustr", 5);
  mem.put64(mem.kernel, 0x40, kKernel + 0x10);  // a pointer to "kstr"
  mem.put64(mem.kernel, 0x48, kKernel + 0x10);
  mem.put64(mem.kernel, 0x50, 0xdead);  // a pointer nowhere
  for (int i = 0; i < 4; ++i) mem.kernel[0x80 + i] = static_cast<uint8_t>(0xf0 + i);
  probes::Regs regs(Arch::X86_64);
  regs.set(probes::X86Reg::di, kKernel + 0x40);
  regs.set(probes::X86Reg::si, kUser + 0x20);
  regs.set(probes::X86Reg::dx, kKernel + 0x80);
  regs.set(probes::X86Reg::ax, 0x1234);
  CHECK(eval("p vfs_read +0(+0(%di)):string +0(%si):ustring +0(%si):string "
             "+0(%di):string[3] +0(%dx):u8[4] +0(%dx):s8[2] +8(%dx):u32 +0(+16(%di)):u64 "
             "%ax:b4@4/16 $comm +0(%di):symstr",
             regs, mem) == std::vector<std::string>{"\"kstr\"", "\"ustr\"", "(fault)",
                                                    "{\"kstr\",\"kstr\",(fault)}",
                                                    "{240,241,242,243}", "{-16,-15}", "0", "0", "3",
                                                    "\"cat\"", "\"0x1\""});
}

TEST_CASE("fetch evaluation: ustring reads user memory only, a kernel address is (fault)") {
  FakeMemory mem;
  std::memcpy(&mem.user[0x20], "ustr", 5);
  std::memcpy(&mem.kernel[0x20], "kstr", 5);
  probes::Regs regs(Arch::X86_64);
  regs.set(probes::X86Reg::si, kUser + 0x20);
  regs.set(probes::X86Reg::di, kKernel + 0x20);
  CHECK(eval("p vfs_read +0(%si):ustring +0(%di):ustring +u0(%si):string +0(%di):string",
             regs, mem) ==
        std::vector<std::string>{"\"ustr\"", "(fault)", "\"ustr\"", "\"kstr\""});
}

TEST_CASE("fetch evaluation: uprobes read the task's memory, @+OFF is the mapped file offset") {
  FakeMemory mem;
  std::memcpy(&mem.user[0x30], "file", 5);
  mem.put64(mem.user, 0x8, 0x1122334455667788);
  probes::Regs regs(Arch::AArch64);
  regs.set_x(0, kUser + 0x30);
  regs.set_sp(kUser);
  CHECK(
      eval("p /bin/sh:0x10 +0(%x0):string @+48:string $stack1:x64 $stack:x64 @+8:u16", regs, mem) ==
      std::vector<std::string>{"\"file\"", "\"file\"", "0x1122334455667788", "0x400000", "30600"});
}

TEST_CASE("ftrace line: context columns, event, location and fields as trace_print_context") {
  TraceRecord r{"bash",
                1234,
                1,
                "d....",
                12345678901,
                "kprobes",
                "myprobe",
                "do_sys_open+0x0/0xd6",
                {{"dfd", "0x3"}, {"name", "\"/etc\""}}};
  CHECK(format_trace_line(r) ==
        "            bash-1234    [001] d....    12.345678: myprobe: (do_sys_open+0x0/0xd6) "
        "dfd=0x3 name=\"/etc\"");
  CHECK(
      trace_header(3, 5, 2).starts_with("# tracer: nop\n#\n# entries-in-buffer/entries-written: "
                                        "3/5   #P:2\n"));
}
