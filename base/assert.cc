#include "probesim/assert.h"

#include <cstdio>
#include <cstdlib>

namespace probesim {
namespace {
thread_local AssertContext g_context;
}

AssertContext set_assert_context(AssertContext ctx) {
  AssertContext prev = std::move(g_context);
  g_context = std::move(ctx);
  return prev;
}

void assert_fail(const char* cond, const char* file, int line, const std::string& msg) {
  std::fprintf(stderr, "probesim: internal error: assertion `%s` failed at %s:%d%s%s\n", cond, file,
               line, msg.empty() ? "" : ": ", msg.c_str());
  if (g_context) {
    AssertContext ctx = std::move(g_context);  // a failing dumper must not recurse
    std::fprintf(stderr, "%s\n", ctx().c_str());
  }
  std::fprintf(stderr, "probesim: this is a bug in probesim, please report it.\n");
  std::abort();
}

}  // namespace probesim
