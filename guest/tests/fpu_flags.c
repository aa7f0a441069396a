// fpu_flags: IEEE exception flags as fetestexcept sees them after exact, inexact, underflowing,
// overflowing, invalid and dividing-by-zero operations in every unit (x86-64: SSE float and
// double, x87 long double; arm64: FP and the soft quad long double), conversions, libm calls,
// feraiseexcept, fegetexceptflag/fesetexceptflag, feholdexcept/feupdateenv, and across a
// signal handler (x86 Linux starts handlers with a clean FPU; the interrupted flags come back).
// x86-64 also prints which register holds each flag: MXCSR (sse=) or the x87 status (x87=),
// without the denormal-operand flag (not an IEEE flag: FE_ALL_EXCEPT leaves it alone).
// Args: none.
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <signal.h>

#include "guest_util.h"

static const char* flag_names(int f) {
  static char buf[96];
  buf[0] = 0;
  if (!f) return "-";
  if (f & FE_INVALID) strcat(buf, "INVALID ");
  if (f & FE_DIVBYZERO) strcat(buf, "DIVBYZERO ");
  if (f & FE_OVERFLOW) strcat(buf, "OVERFLOW ");
  if (f & FE_UNDERFLOW) strcat(buf, "UNDERFLOW ");
  if (f & FE_INEXACT) strcat(buf, "INEXACT ");
  buf[strlen(buf) - 1] = 0;
  return buf;
}

// The five IEEE flags (musl's FE_ALL_EXCEPT also holds x86's denormal-operand flag).
#define IEEE_FLAGS (FE_INVALID | FE_DIVBYZERO | FE_OVERFLOW | FE_UNDERFLOW | FE_INEXACT)

static void report(const char* what) {
  int f = fetestexcept(IEEE_FLAGS);
#if defined(__x86_64__)
  uint16_t fsw;
  uint32_t mxcsr;
  __asm__ volatile("fnstsw %0" : "=m"(fsw));
  __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
  printf("%-28s %-30s sse=%02x x87=%02x\n", what, flag_names(f), mxcsr & 0x3d, fsw & 0x3d);
#else
  printf("%-28s %s\n", what, flag_names(f));
#endif
}

#define CASE(what, expr)              \
  do {                                \
    feclearexcept(FE_ALL_EXCEPT);     \
    sink = (expr);                    \
    report(what);                     \
  } while (0)

static volatile double sink;
static volatile double d0 = 0.0, d1 = 1.0, d3 = 3.0, dmin = DBL_MIN, dmax = DBL_MAX, dneg = -1.0;
static volatile double dhalf = 0.5, dbig = 1e10, d35 = 3.5, dinf = INFINITY;
static volatile double dnear = 0x1.fffffffffffffp-1;  // 1 - 2^-53
static volatile float f1 = 1.0f, f3 = 3.0f, fmax_ = FLT_MAX, fmin_ = FLT_MIN;
static volatile long double l0 = 0.0L, l1 = 1.0L, l3 = 3.0L, lmax = LDBL_MAX, lmin = LDBL_MIN;
static volatile long double lneg = -1.0L, lhalf = 0.5L;
static volatile long double lnear = 1.0L - 0x1p-64L;
static volatile int handler_flags = -1;

static void on_usr1(int sig) {
  (void)sig;
  handler_flags = fetestexcept(IEEE_FLAGS);
  sink = d1 / d3;  // raises INEXACT inside the handler only
}

int main(void) {
  CASE("double 1+1", d1 + d1);
  CASE("double 1/3", d1 / d3);
  CASE("double min*0.5 (exact)", dmin * dhalf);
  CASE("double min/3", dmin / d3);
  CASE("double min*(1-2^-53)", dmin * dnear);
  CASE("double max*2", dmax * 2.0);
  CASE("double 1/0", d1 / d0);
  CASE("double 0/0", d0 / d0);
  CASE("double inf-inf", dinf - dinf);
  CASE("double sqrt(-1)", sqrt(dneg));
  CASE("double (int)1e10", (double)(int)dbig);
  CASE("double (long)3.5", (double)(long)d35);
  CASE("float 1/3", f1 / f3);
  CASE("float max*2", fmax_ * 2.0f);
  CASE("float min/3", fmin_ / f3);
  CASE("float (double)1/3", (double)(f1 / f3));
  CASE("double->float overflow", (float)dmax);
  CASE("long double 1+1", (double)(l1 + l1));
  CASE("long double 1/3", (double)(l1 / l3));
  CASE("long double min*0.5 (exact)", (double)((lmin * lhalf) > 0));
  CASE("long double min/3", (double)((lmin / l3) > 0));
  CASE("long double min*(1-2^-64)", (double)((lmin * lnear) > 0));
  CASE("long double max*2", (double)((lmax * 2.0L) > 0));
  CASE("long double 1/0", (double)((l1 / l0) > 0));
  CASE("long double 0/0", (double)((l0 / l0) > 0));
  CASE("long double sqrtl(-1)", (double)(sqrtl(lneg) > 0));
  CASE("long double->double", (double)(l1 / l3 > 0));
  CASE("exp(1000)", exp(1000.0 * d1));
  CASE("exp(-1000)", exp(-1000.0 * d1));
  CASE("log(0)", log(d0));
  CASE("log(-1)", log(dneg));
  CASE("pow(10, 400)", pow(10.0 * d1, 400.0));
  CASE("expl(20000)", (double)(expl(20000.0L * l1) > 0));
  CASE("logl(0)", (double)(logl(l0) < 0));
  CASE("logl(-1)", (double)(logl(lneg) > 0));
  CASE("fmodl(10, 3)", (double)fmodl(10.0L * l1, l3));

  static const int flags[] = {FE_INVALID, FE_DIVBYZERO, FE_OVERFLOW, FE_UNDERFLOW, FE_INEXACT};
  static const char* const names[] = {"feraiseexcept INVALID", "feraiseexcept DIVBYZERO",
                                      "feraiseexcept OVERFLOW", "feraiseexcept UNDERFLOW",
                                      "feraiseexcept INEXACT"};
  for (int i = 0; i < 5; ++i) {
    feclearexcept(FE_ALL_EXCEPT);
    CHECK(feraiseexcept(flags[i]) == 0);
    report(names[i]);
  }

  fexcept_t saved;
  feclearexcept(FE_ALL_EXCEPT);
  sink = d1 / d0;
  CHECK(fegetexceptflag(&saved, FE_ALL_EXCEPT) == 0);
  feclearexcept(FE_ALL_EXCEPT);
  report("cleared");
  CHECK(fesetexceptflag(&saved, FE_ALL_EXCEPT) == 0);
  report("fesetexceptflag");

  fenv_t env;
  feclearexcept(FE_ALL_EXCEPT);
  sink = dmax * 2.0;
  CHECK(feholdexcept(&env) == 0);
  report("feholdexcept");
  sink = d1 / d3;
  CHECK(feupdateenv(&env) == 0);
  report("feupdateenv");

  feclearexcept(FE_ALL_EXCEPT);
  sink = d0 / d0;
  CHECK(signal(SIGUSR1, on_usr1) != SIG_ERR);
  CHECK(raise(SIGUSR1) == 0);
  printf("%-28s %s\n", "in the signal handler", flag_names(handler_flags));
  report("after the handler");
  feclearexcept(FE_ALL_EXCEPT);
  exit_success_line();
  return 0;
}
