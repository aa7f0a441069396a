// Path resolution rules: confinement to the guest root, symlinks, ELOOP and Linux's errors.
#include <doctest/doctest.h>

#include <cerrno>
#include <fstream>

#include "vfs_test_util.h"

namespace probesim::emu::test {
namespace {

// stat's errno (0 on success).
int stat_err(VfsFixture& f, const std::string& path, Follow follow = Follow::Yes) {
  Result<KStat> r = f.vfs->stat(f.caller(), f.fs.cwd, path, follow);
  return r ? 0 : r.error().err;
}

// A root with a marker file, the two escape links of the brief, and a secret outside it.
struct EscapeRoot : VfsFixture {
  EscapeRoot() {
    tree.file("marker", "inside");
    tree.dir("a/b");
    tree.symlink("escape", "/");
    tree.symlink("a/b/up", "../../..");
    std::ofstream(tree.outside() + "/secret") << "outside";
  }
};

}  // namespace

TEST_CASE("dotdot at the guest root stays at the root") {
  EscapeRoot f;
  CHECK(f.read_all("/../../marker") == "inside");
  CHECK(f.read_all("/a/../../../a/b/../../marker") == "inside");
  CHECK(stat_err(f, "/../secret") == ENOENT);
  Result<std::string> dir = f.vfs->resolve_dir(f.caller(), "/", "../../..");
  REQUIRE(dir.ok());
  CHECK(*dir == "/");
}

TEST_CASE("absolute symlink targets resolve inside the root") {
  EscapeRoot f;
  CHECK(f.read_all("/escape/marker") == "inside");
  CHECK(f.read_all("/escape/escape/escape/marker") == "inside");
  CHECK(stat_err(f, "/escape/../secret") == ENOENT);
  CHECK(stat_err(f, "/escape/secret") == ENOENT);
}

TEST_CASE("relative symlink targets resolve from the link's directory, confined") {
  EscapeRoot f;
  CHECK(f.read_all("/a/b/up/marker") == "inside");
  CHECK(f.read_all("a/b/up/a/b/up/marker") == "inside");
  CHECK(stat_err(f, "/a/b/up/secret") == ENOENT);
  CHECK(stat_err(f, "/a/b/up/../secret") == ENOENT);
  Result<std::string> dir = f.vfs->resolve_dir(f.caller(), "/", "/a/b/up");
  REQUIRE(dir.ok());
  CHECK(*dir == "/");
}

TEST_CASE("no guest path reaches the host outside the root") {
  EscapeRoot f;
  for (const char* p : {"/../secret", "../secret", "/escape/../secret", "/a/b/up/../../secret",
                        "/a/b/up/up/secret", "/./../a/../../secret"}) {
    CAPTURE(p);
    CHECK(stat_err(f, p) == ENOENT);
  }
  f.tree.symlink("abs_outside", f.tree.outside() + "/secret");
  CHECK(stat_err(f, "/abs_outside") == ENOENT);  // absolute host path read inside the root
}

TEST_CASE("symlink loops fail with ELOOP") {
  VfsFixture f;
  f.tree.symlink("self", "self");
  f.tree.symlink("ping", "pong");
  f.tree.symlink("pong", "ping");
  CHECK(stat_err(f, "/self") == ELOOP);
  CHECK(stat_err(f, "/ping") == ELOOP);
  CHECK(stat_err(f, "/ping/x") == ELOOP);
  CHECK(stat_err(f, "/ping", Follow::No) == 0);  // lstat of the link itself is fine
}

TEST_CASE("at most 40 symlinks are followed in one walk") {
  VfsFixture f;
  f.tree.file("target", "t");
  f.tree.symlink("l0", "target");
  for (int i = 1; i <= 40; ++i) {
    f.tree.symlink("l" + std::to_string(i), "l" + std::to_string(i - 1));
  }
  CHECK(stat_err(f, "/l39") == 0);      // 40 links
  CHECK(stat_err(f, "/l40") == ELOOP);  // 41 links
}

TEST_CASE("a non-directory used as a directory is ENOTDIR, a missing one ENOENT") {
  VfsFixture f;
  f.tree.file("file", "x");
  CHECK(stat_err(f, "/file/x") == ENOTDIR);
  CHECK(stat_err(f, "/file/") == ENOTDIR);
  CHECK(stat_err(f, "/file/.") == ENOTDIR);
  CHECK(stat_err(f, "/missing/x") == ENOENT);
  CHECK(stat_err(f, "/missing") == ENOENT);
  CHECK(stat_err(f, "") == ENOENT);
}

TEST_CASE("names over NAME_MAX and paths of PATH_MAX are ENAMETOOLONG") {
  VfsFixture f;
  CHECK(stat_err(f, "/" + std::string(256, 'a')) == ENAMETOOLONG);
  CHECK(stat_err(f, "/" + std::string(255, 'a')) == ENOENT);
  std::string longp;
  while (longp.size() < 4096) longp += "/.";
  CHECK(stat_err(f, longp) == ENAMETOOLONG);
}

TEST_CASE("relative paths start at the base directory") {
  VfsFixture f;
  f.tree.dir("d/e");
  f.tree.file("d/e/f", "deep");
  f.fs.cwd = "/d";
  CHECK(f.read_all("e/f") == "deep");
  CHECK(f.read_all("./e/../e/f") == "deep");
  Result<std::string> base_gone = f.vfs->resolve_dir(f.caller(), "/nonexistent", "x");
  CHECK(base_gone.error().err == ENOENT);
}

}  // namespace probesim::emu::test
