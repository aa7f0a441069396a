// Probe targets: PATH:OFFSET and PATH:SYMBOL[+OFF] parsing, symbol -> file offset on the real
// static guest binaries, and a uprobe on `main` of one of them.
#include <doctest/doctest.h>

#include <fstream>
#include <iterator>

#include "probes/uprobes/uprobe_target.h"
#include "uprobe_fixture.h"

namespace probesim::probes::test {
namespace {

std::vector<uint8_t> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST_CASE("target: PATH:OFFSET and PATH:SYMBOL[+OFF] parse, malformed ones are EINVAL") {
  auto a = parse_uprobe_spec("/bin/zsh:0x46420");
  REQUIRE(a.ok());
  CHECK(a->path == "/bin/zsh");
  CHECK(a->symbol.empty());
  CHECK(a->offset == 0x46420);
  auto b = parse_uprobe_spec("/usr/bin/hello:main+12");
  REQUIRE(b.ok());
  CHECK(b->symbol == "main");
  CHECK(b->offset == 12);
  CHECK(parse_uprobe_spec("/x:1234")->offset == 1234);
  for (const char* bad : {"nopath", ":main", "/x:", "/x:main+", "/x:0xzz", "/x:+4"}) {
    CHECK(parse_uprobe_spec(bad).error().err == EINVAL);
  }
}

TEST_CASE("target: a symbol of a real guest binary becomes its file offset, on both arches") {
  for (const char* dir : {"x86_64-glibc", "aarch64-glibc"}) {
    std::string path = std::string(PROBESIM_GUEST_DIR) + "/" + dir + "/hello";
    std::vector<uint8_t> bytes = slurp(path);
    if (bytes.empty()) {  // a build without guests: use the main build's
      path = std::string(PROBESIM_SOURCE_DIR) + "/build/guest/" + dir + "/hello";
      bytes = slurp(path);
    }
    if (bytes.empty()) {
      MESSAGE("skipped: no guest binary at " << path << " (build the guests)");
      continue;
    }
    auto elf = loader::ElfFile::parse(path, bytes);
    REQUIRE(elf.ok());
    const loader::ElfSymbol main = elf->find_symbol("main").value();
    auto off = uprobe_file_offset(*elf, parse_uprobe_spec(path + ":main+4").value());
    REQUIRE(off.ok());
    CHECK(off->value == elf->vaddr_to_offset(main.value + 4)->value);
    CHECK(uprobe_file_offset(*elf, parse_uprobe_spec(path + ":no_such_fn").value()).error().err ==
          ENOENT);
    CHECK(uprobe_file_offset(*elf, parse_uprobe_spec(path + ":main+100000").value()).error().err ==
          EINVAL);

    // Register on main of the real file and arm it in an mm mapping its text like exec.
    mmu::InodeCache cache;
    mmu::InodeAttrs attrs;
    attrs.size = bytes.size();
    auto inode = cache.insert(path, path, attrs, mmu::HostFileBacking::open(path).value(),
                              page_align_up(bytes.size()));
    REQUIRE(inode.ok());
    RecordingHost host;
    UprobeManager mgr(elf->arch(), host);
    mmu::Mm mm(mmu::test::kLayout);
    const uint64_t page = page_align_down(off->value);
    REQUIRE(mm.mmap(GuestAddr{0x400000}, kPg, mmu::kProtRead | mmu::kProtExec,
                    mmu::kMapPrivate | mmu::kMapFixed, inode.value(), FileOffset{page},
                    mmu::FileMode::ReadOnly) == 0x400000);
    CountingConsumer c;
    REQUIRE(mgr.uprobe_register(*inode.value(), *off, c).ok());
    const uint64_t at = 0x400000 + (off->value - page);
    const auto bp = mgr.arch().swbp();
    CHECK(peek(mm, at, bp.size()) == std::vector<uint8_t>(bp.begin(), bp.end()));
    std::vector<uint8_t> orig(bp.size());
    REQUIRE(mgr.read_original(mm, GuestAddr{at}, orig));
    CHECK(orig ==
          std::vector<uint8_t>(bytes.begin() + off->value, bytes.begin() + off->value + bp.size()));
    mgr.uprobe_unregister(c.uprobe, c);
  }
}

TEST_CASE("target: a uretprobe must be on a function entry (SYMBOL+OFF and raw offsets)") {
  std::string path = std::string(PROBESIM_GUEST_DIR) + "/x86_64-glibc/uprobed";
  std::vector<uint8_t> bytes = slurp(path);
  if (bytes.empty()) {
    MESSAGE("skipped: no guest binary at " << path << " (build the guests)");
    return;
  }
  auto elf = loader::ElfFile::parse(path, bytes);
  REQUIRE(elf.ok());
  auto check = [&](const std::string& target) {
    UprobeSpec spec = parse_uprobe_spec(path + ":" + target).value();
    FileOffset off = uprobe_file_offset(*elf, spec).value();
    return check_function_entry(*elf, spec, off);
  };
  CHECK(check("leaf").ok());
  CHECK(check("leaf+0").ok());
  auto plus = check("leaf+4");
  REQUIRE_FALSE(plus.ok());
  CHECK(plus.error().err == EINVAL);
  CHECK(plus.error().message.find("function entry") != std::string::npos);
  const uint64_t leaf = uprobe_file_offset(*elf, parse_uprobe_spec(path + ":leaf").value())->value;
  CHECK(check(std::to_string(leaf)).ok());
  auto raw = check(std::to_string(leaf + 4));
  REQUIRE_FALSE(raw.ok());
  CHECK(raw.error().err == EINVAL);
}

}  // namespace
}  // namespace probesim::probes::test
