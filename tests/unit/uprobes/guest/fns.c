/* User-space test functions for the uprobes transparency test: recursion, loops over global
 * data (RIP-relative / adrp), a switch (jump table), calls through a function pointer. */
long gvar = 5;
long table[4] = {1, 2, 3, 4};
long out;

__attribute__((noinline)) long helper(long x) { return x * 3 + 1; }
long (*fptr)(long) = helper;

__attribute__((noinline)) long fib(long n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

__attribute__((noinline)) long sum_table(long n) {
  long s = gvar;
  for (long i = 0; i < n; ++i) s += table[i & 3] * i;
  out = s;
  return s;
}

__attribute__((noinline)) long dispatch(long x) {
  switch (x & 7) {
    case 0: return x + 1;
    case 1: return x * 5;
    case 2: return x - 7;
    case 3: return x ^ 0x55;
    case 4: return x << 2;
    case 5: return fptr(x);
    case 6: return x / 3;
    default: return -x;
  }
}

long c_entry(long n) {
  long r = 0;
  for (long i = 0; i < 8; ++i) r += dispatch(n + i);
  return r + fib(n) + sum_table(n) + fptr(n);
}
