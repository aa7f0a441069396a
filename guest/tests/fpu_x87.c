// fpu_x87: long double precision of the x87 transcendental and remainder instructions and of
// the libm functions built on them, over many deterministic inputs, bit for bit.
// x86-64: each instruction (f2xm1, fyl2x, fyl2xp1, fptan, fpatan, fxtract, fprem, fprem1,
// fsin, fcos, fsincos, fscale) run directly, its results and status word (condition codes and
// exception flags) hashed; then libm (both arches; on arm64 long double is IEEE quad in
// software). Prints one digest line per operation and a few sample values.
// Args: none, "verbose" (every result, to find the first difference), or "loop N".
#include <fenv.h>
#include <float.h>
#include <math.h>

#include "guest_util.h"

static int verbose;
static uint64_t lcg_state = 0x9e3779b97f4a7c15ull;

static uint64_t next_u64(void) {
  lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
  return lcg_state ^ (lcg_state >> 29);
}

// A long double in [-2^e_span, 2^e_span] with a random significand; every 16th is special.
static long double random_ld(int e_span) {
  static const long double specials[] = {0.0L, -0.0L, 1.0L, -1.0L, INFINITY, -INFINITY, NAN,
                                         LDBL_MIN, LDBL_MIN / 4, LDBL_MAX, 0.5L, 2.0L};
  uint64_t r = next_u64();
  if ((r & 15) == 0) return specials[(r >> 4) % (sizeof specials / sizeof specials[0])];
  long double m = (long double)(next_u64() >> 11) / 0x1p53L + (long double)(next_u64() >> 11) / 0x1p106L;
  int e = (int)((r >> 8) % (unsigned)(2 * e_span + 1)) - e_span;
  long double v = ldexpl(m, e);
  return (r & 0x10000) ? -v : v;
}

struct Digest {
  const char* name;
  uint64_t hash;
  int n;
};

static void add(struct Digest* d, const void* p, size_t len) {
  d->hash = (d->hash ^ fnv1a(p, len)) * 0x100000001b3ull;
}

// The significant bytes of a long double: 10 of x87's 80-bit format (the other 6 are
// padding, not part of the value), all 16 of IEEE quad.
#define LD_BYTES (LDBL_MANT_DIG == 64 ? 10 : (int)sizeof(long double))

static void add_ld(struct Digest* d, long double v) { add(d, &v, LD_BYTES); }

static void print_ld(const char* what, long double v) {
  unsigned char b[sizeof(long double)];
  memcpy(b, &v, sizeof v);
  printf("%s = %.21Lg [", what, v);
  for (int i = LD_BYTES - 1; i >= 0; --i) printf("%02x", b[i]);
  printf("]\n");
}

static void finish(struct Digest* d) {
  printf("%-10s n=%d digest=%016llx\n", d->name, d->n, (unsigned long long)d->hash);
}

#if defined(__x86_64__)
// Each runs one x87 instruction on a stack holding only its operands; sw is the status word
// after it, without TOP (bits 11-13) and the denormal flag (QEMU's softfloat has none).
#define SW_MASK 0xc7fdu
#define X87_UNARY(name, insn)                                                              \
  static void name(long double x, long double* r, uint16_t* sw) {                           \
    __asm__ volatile("fldt %2\n\tfnclex\n\t" insn "\n\tfnstsw %1\n\tfstpt %0"              \
                     : "=m"(*r), "=m"(*sw) : "m"(x) : "st");                               \
  }
#define X87_BINARY_POP(name, insn) /* ST1 op ST0, pops: one result */                      \
  static void name(long double y, long double x, long double* r, uint16_t* sw) {            \
    __asm__ volatile("fldt %2\n\tfldt %3\n\tfnclex\n\t" insn "\n\tfnstsw %1\n\tfstpt %0"   \
                     : "=m"(*r), "=m"(*sw) : "m"(y), "m"(x) : "st", "st(1)");              \
  }
#define X87_BINARY_KEEP(name, insn) /* ST0 op= ST1, both stay */                           \
  static void name(long double y, long double x, long double* r, uint16_t* sw) {            \
    __asm__ volatile("fldt %2\n\tfldt %3\n\tfnclex\n\t" insn                               \
                     "\n\tfnstsw %1\n\tfstpt %0\n\tfstp %%st(0)"                            \
                     : "=m"(*r), "=m"(*sw) : "m"(y), "m"(x) : "st", "st(1)");              \
  }
#define X87_PUSH(name, insn) /* ST0 -> ST0, ST1 (in range: C2 clear) */                    \
  static void name(long double x, long double* r0, long double* r1, uint16_t* sw) {         \
    __asm__ volatile("fldt %3\n\tfnclex\n\t" insn "\n\tfnstsw %2\n\tfstpt %0\n\tfstpt %1"  \
                     : "=m"(*r0), "=m"(*r1), "=m"(*sw) : "m"(x) : "st", "st(1)");          \
  }
X87_UNARY(op_f2xm1, "f2xm1")
X87_UNARY(op_fsin, "fsin")
X87_UNARY(op_fcos, "fcos")
X87_UNARY(op_fptan_out_of_range, "fptan")
X87_BINARY_POP(op_fyl2x, "fyl2x")
X87_BINARY_POP(op_fyl2xp1, "fyl2xp1")
X87_BINARY_POP(op_fpatan, "fpatan")
X87_BINARY_KEEP(op_fprem, "fprem")
X87_BINARY_KEEP(op_fprem1, "fprem1")
X87_BINARY_KEEP(op_fscale, "fscale")
X87_PUSH(op_fptan, "fptan")
X87_PUSH(op_fsincos, "fsincos")
X87_PUSH(op_fxtract, "fxtract")

static void show(struct Digest* d, long double a, long double b, long double r, uint16_t sw) {
  if (!verbose) return;
  printf("%s %La %La -> %La sw=%04x\n", d->name, a, b, r, sw);
}

typedef void (*unary_fn)(long double, long double*, uint16_t*);
typedef void (*binary_fn)(long double, long double, long double*, uint16_t*);
typedef void (*push_fn)(long double, long double*, long double*, uint16_t*);

static void run_unary(const char* name, unary_fn f, int e_span, int n) {
  struct Digest d = {name, 0, 0};
  for (int i = 0; i < n; ++i, ++d.n) {
    long double x = random_ld(e_span), r;
    uint16_t sw;
    f(x, &r, &sw);
    sw &= SW_MASK;
    add_ld(&d, r);
    add(&d, &sw, 2);
    show(&d, x, 0, r, sw);
  }
  finish(&d);
}

static void run_binary(const char* name, binary_fn f, int e_span_y, int e_span_x, int n) {
  struct Digest d = {name, 0, 0};
  for (int i = 0; i < n; ++i, ++d.n) {
    long double y = random_ld(e_span_y), x = random_ld(e_span_x), r;
    uint16_t sw;
    f(y, x, &r, &sw);
    sw &= SW_MASK;
    add_ld(&d, r);
    add(&d, &sw, 2);
    show(&d, y, x, r, sw);
  }
  finish(&d);
}

static void run_push(const char* name, push_fn f, int e_span, int n) {
  struct Digest d = {name, 0, 0};
  for (int i = 0; i < n; ++i, ++d.n) {
    long double x = random_ld(e_span), r0, r1;
    if (!(fabsl(x) < 0x1p62L) && f != op_fxtract) x = 0.5L;  // out of range: no push
    uint16_t sw;
    f(x, &r0, &r1, &sw);
    sw &= SW_MASK;
    add_ld(&d, r0);
    add_ld(&d, r1);
    add(&d, &sw, 2);
    show(&d, x, r1, r0, sw);
  }
  finish(&d);
}

static void x87_instructions(int n) {
  run_unary("f2xm1", op_f2xm1, 1, n);
  run_unary("fsin", op_fsin, 64, n);
  run_unary("fcos", op_fcos, 64, n);
  run_binary("fyl2x", op_fyl2x, 40, 2000, n);
  run_binary("fyl2xp1", op_fyl2xp1, 40, 2, n);
  run_binary("fpatan", op_fpatan, 100, 100, n);
  run_binary("fprem", op_fprem, 80, 80, n);
  run_binary("fprem1", op_fprem1, 80, 80, n);
  run_binary("fscale", op_fscale, 16, 100, n);
  run_push("fptan", op_fptan, 64, n);
  run_push("fsincos", op_fsincos, 64, n);
  run_push("fxtract", op_fxtract, 16000, n);
  long double r;
  uint16_t sw;
  op_fptan_out_of_range(0x1p70L, &r, &sw);  // |x| >= 2^63: C2 set, ST0 unchanged, no push
  printf("fptan(2^70): C2=%d unchanged=%d\n", (sw >> 10) & 1, r == 0x1p70L);
}
#endif

typedef long double (*ld1)(long double);
typedef long double (*ld2)(long double, long double);

static void run_libm1(const char* name, ld1 f, int e_span, int n) {
  struct Digest d = {name, 0, 0};
  for (int i = 0; i < n; ++i, ++d.n) {
    long double x = random_ld(e_span);
    long double r = f(x);
    add_ld(&d, r);
    if (verbose) printf("%s %La -> %La\n", name, x, r);
  }
  finish(&d);
}

static void run_libm2(const char* name, ld2 f, int e_span_a, int e_span_b, int n) {
  struct Digest d = {name, 0, 0};
  for (int i = 0; i < n; ++i, ++d.n) {
    long double a = random_ld(e_span_a), b = random_ld(e_span_b);
    long double r = f(a, b);
    add_ld(&d, r);
    if (verbose) printf("%s %La %La -> %La\n", name, a, b, r);
  }
  finish(&d);
}

// "loop N": N iterations of exactly three instructions (fsin; dec; jnz), for instruction
// counting tests (probesim charges each emulated instruction's block once).
static void fsin_loop(long n) {
#if defined(__x86_64__)
  __asm__ volatile("fldz\n\t1:\n\tfsin\n\tdec %0\n\tjnz 1b\n\tfstp %%st(0)"
                   : "+r"(n) : : "st", "cc");
#else
  (void)n;
#endif
}

int main(int argc, char** argv) {
  if (argc > 2 && strcmp(argv[1], "loop") == 0) {
    fsin_loop(atol(argv[2]));
    exit_success_line();
    return 0;
  }
  verbose = argc > 1 && strcmp(argv[1], "verbose") == 0;
  const int n = 2000;
#if defined(__x86_64__)
  x87_instructions(n);
#endif
  run_libm2("fmodl", fmodl, 80, 80, n);
  run_libm2("remainderl", remainderl, 80, 80, n);
  run_libm1("logl", logl, 4000, n);
  run_libm1("log2l", log2l, 4000, n);
  run_libm1("log10l", log10l, 4000, n);
  run_libm1("log1pl", log1pl, 8, n);
  run_libm1("expl", expl, 14, n);
  run_libm1("exp2l", exp2l, 14, n);
  run_libm1("expm1l", expm1l, 8, n);
  run_libm1("sinl", sinl, 30, n);
  run_libm1("cosl", cosl, 30, n);
  run_libm1("tanl", tanl, 30, n);
  run_libm1("atanl", atanl, 30, n);
  run_libm1("asinl", asinl, 1, n);
  run_libm1("acosl", acosl, 1, n);
  run_libm2("atan2l", atan2l, 30, 30, n);
  run_libm2("powl", powl, 8, 8, n);
  run_libm1("cbrtl", cbrtl, 4000, n);
  run_libm2("hypotl", hypotl, 4000, 4000, n);
  volatile long double ten = 10.0L, three = 3.0L, neg = -2.0L;
  print_ld("fmodl(10, 3)", fmodl(ten, three));
  print_ld("fmodl(1e4000, 3)", fmodl(1e4000L * ten / ten, three));
  print_ld("logl(-2)", logl(neg));
  print_ld("expl(1)", expl(ten / ten));
  print_ld("strtold(1e-4000)", strtold("1e-4000", NULL));
  printf("strtod(0.30000000000000004) = %a\n", strtod("0.30000000000000004", NULL));
  exit_success_line();
  return 0;
}
