// parse_script / script_argv follow fs/binfmt_script.c load_script: one optional argument,
// the line cut at BINPRM_BUF_SIZE, trailing spaces and tabs trimmed, ENOEXEC for a "#!" line
// without a usable interpreter name.
#include <doctest/doctest.h>

#include <cerrno>
#include <string>

#include "loader/binfmt_script.h"

namespace probesim::loader {
namespace {

Result<std::optional<ScriptInterp>> parse(const std::string& text) {
  return parse_script("/s.sh", {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

ScriptInterp interp_of(const std::string& text) {
  auto r = parse(text);
  REQUIRE(r.ok());
  REQUIRE(r->has_value());
  return **r;
}

void check_enoexec(const std::string& text, const std::string& problem) {
  auto r = parse(text);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().err == ENOEXEC);
  CHECK(r.error().message.rfind("/s.sh: ", 0) == 0);
  CHECK(r.error().message.find(problem) != std::string::npos);
}

TEST_CASE("a file without #! is not a script") {
  auto r = parse("\x7f" "ELF");
  REQUIRE(r.ok());
  CHECK_FALSE(r->has_value());
  CHECK_FALSE(parse("")->has_value());
  CHECK_FALSE(parse("#/bin/sh\n")->has_value());
}

TEST_CASE("the interpreter name alone, leading and trailing spaces and tabs dropped") {
  ScriptInterp i = interp_of("#! \t/bin/sh \t \necho hi\n");
  CHECK(i.name == "/bin/sh");
  CHECK_FALSE(i.arg.has_value());
  CHECK(interp_of("#!/bin/sh").name == "/bin/sh");  // no newline: the buffer's NULs end it
}

TEST_CASE("one optional argument: the rest of the line, inner spaces kept") {
  ScriptInterp i = interp_of("#!/usr/bin/env  -S  python3 -u\t \nprint(1)\n");
  CHECK(i.name == "/usr/bin/env");
  REQUIRE(i.arg.has_value());
  CHECK(*i.arg == "-S  python3 -u");
}

TEST_CASE("a #! line without an interpreter name is ENOEXEC") {
  check_enoexec("#!\n", "names no interpreter");
  check_enoexec("#!   \t\nx", "names no interpreter");
  check_enoexec("#!" + std::string(300, ' '), "only spaces and tabs");
}

TEST_CASE("a line longer than BINPRM_BUF_SIZE: the name must end inside the buffer") {
  // A name that fills the buffer may be truncated: ENOEXEC, never a shorter path.
  check_enoexec("#!/" + std::string(300, 'a') + "\n", "longer than BINPRM_BUF_SIZE");
  // The name ends inside it: the argument is cut at the buffer's last byte.
  ScriptInterp i = interp_of("#!/bin/sh " + std::string(300, 'x') + "\n");
  CHECK(i.name == "/bin/sh");
  REQUIRE(i.arg.has_value());
  CHECK(i.arg->size() == kBinprmBufSize - 1 - 10);  // bytes 10..254; byte 255 becomes the NUL
}

TEST_CASE("a NUL ends the name before the newline") {
  ScriptInterp i = interp_of(std::string("#!/bin/sh\0 -x\n", 14));
  CHECK(i.name == "/bin/sh");
  CHECK_FALSE(i.arg.has_value());
}

TEST_CASE("script_argv: interpreter, argument, the script's path, then argv[1:]") {
  ScriptInterp i{"/bin/sh", "-e"};
  CHECK(script_argv(i, "./s.sh", {"s", "a", "b"}) ==
        std::vector<std::string>{"/bin/sh", "-e", "./s.sh", "a", "b"});
  CHECK(script_argv(ScriptInterp{"/bin/sh", {}}, "/t/s.sh", {}) ==
        std::vector<std::string>{"/bin/sh", "/t/s.sh"});
}

}  // namespace
}  // namespace probesim::loader
