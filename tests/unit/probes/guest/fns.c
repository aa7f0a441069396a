// Freestanding "kernel" functions for the probes unit tests, compiled for x86-64 and arm64 at
// build time by tests/support/gen_guest_code.sh into guest_code.inc. They exercise what a
// compiler emits in kernel code:
// calls (direct and through a register), loops, RIP/PC-relative data, stack frames, a switch.
typedef unsigned long u64;

static const unsigned char sbox[16] = {7, 3, 12, 0, 9, 14, 1, 6, 11, 2, 15, 8, 4, 13, 5, 10};
u64 counter;
u64 history[8];

__attribute__((noinline)) u64 op_add(u64 a, u64 b) { return a + b * 3; }
__attribute__((noinline)) u64 op_xor(u64 a, u64 b) { return (a ^ (b << 7)) + 1; }
__attribute__((noinline)) u64 op_mul(u64 a, u64 b) { return a * (b | 1) + 5; }

typedef u64 (*op_fn)(u64, u64);
op_fn volatile ops[3] = {op_add, op_xor, op_mul};

__attribute__((noinline)) u64 mix(u64 a, u64 b) {
  u64 r = a ^ (b * 0x9e3779b97f4a7c15ul);
  r ^= r >> 29;
  switch (r & 7) {
    case 0: r += 11; break;
    case 1: r *= 3; break;
    case 2: r -= b; break;
    case 3: r ^= 0x5555; break;
    case 5: r = (r << 3) | (r >> 61); break;
    default: r += a; break;
  }
  return r;
}

__attribute__((noinline)) u64 compute(u64 seed, u64 n) {
  u64 acc = seed;
  for (u64 i = 0; i < n; i++) {
    op_fn f = ops[i % 3];
    acc = f(acc, sbox[(acc >> 4) & 15]);
    if (acc & 1) {
      acc = mix(acc, i);
    } else {
      counter++;
    }
    history[i & 7] = acc;
  }
  return acc ^ counter;
}

// Recursion: kretprobes on it stack instances of one function on different frames.
__attribute__((noinline)) u64 fib(u64 n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

// A trivial leaf for handler tests: returns a + 2b.
__attribute__((noinline)) u64 leaf(u64 a, u64 b) { return a + 2 * b; }

// Calls leaf: nested kretprobes (caller and callee both probed).
__attribute__((noinline)) u64 outer(u64 a) { return leaf(a, a + 1) * 2 + 1; }
