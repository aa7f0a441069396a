// Helpers shared by the guest test programs (header-only, so each program stays one
// translation unit built by one compiler command). Everything here is deterministic: output
// depends only on the program's inputs, never on addresses, times or fd numbers.
//
// Contract of every guest program (docs/conventions.md §13): print deterministic lines, and on
// success print the final line "EXIT-SUCCESS". A failed CHECK prints "FAIL ..." and exits 1.
#pragma once

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Aborts the program with a readable line when `cond` is false. errno is printed by name
// because errno numbers are the same on both architectures but names are easier to read.
#define CHECK(cond)                                                                   \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      int saved_errno_ = errno;                                                       \
      printf("FAIL %s:%d: %s (errno %s)\n", path_basename(__FILE__), __LINE__, #cond, \
             errno_name(saved_errno_));                                               \
      fflush(stdout);                                                                 \
      exit(1);                                                                        \
    }                                                                                 \
  } while (0)

// Checks that a call failed with the expected errno, and prints "<what>: <ERRNO>".
#define CHECK_ERRNO(what, expr, expected)                             \
  do {                                                                \
    errno = 0;                                                        \
    long r_ = (long)(expr);                                           \
    int e_ = errno;                                                   \
    printf("%s: %s\n", what, r_ == -1 ? errno_name(e_) : "no error"); \
    CHECK(r_ == -1 && e_ == (expected));                              \
  } while (0)

// Names of the errno values the programs expect; anything else prints as a number.
static inline const char* errno_name(int e) {
  static const struct {
    int value;
    const char* name;
  } kNames[] = {
      {0, "0"},           {EPERM, "EPERM"},   {ENOENT, "ENOENT"},
      {EBADF, "EBADF"},   {ENOMEM, "ENOMEM"}, {EACCES, "EACCES"},
      {EFAULT, "EFAULT"}, {EEXIST, "EEXIST"}, {ENOTDIR, "ENOTDIR"},
      {EISDIR, "EISDIR"}, {EINVAL, "EINVAL"}, {ENOSYS, "ENOSYS"},
      {EAGAIN, "EAGAIN"}, {ENOSPC, "ENOSPC"}, {EMFILE, "EMFILE"},
      {ETXTBSY, "ETXTBSY"}, {EINTR, "EINTR"},   {ENODATA, "ENODATA"},
      {EOPNOTSUPP, "EOPNOTSUPP"}, {ERANGE, "ERANGE"},
      /* waiting and sockets */
      {ELOOP, "ELOOP"}, {EPIPE, "EPIPE"}, {ECONNREFUSED, "ECONNREFUSED"},
      {EADDRINUSE, "EADDRINUSE"}, {ENOTCONN, "ENOTCONN"}, {ENOTSOCK, "ENOTSOCK"},
      {EISCONN, "EISCONN"}, {ENETUNREACH, "ENETUNREACH"}, {EAFNOSUPPORT, "EAFNOSUPPORT"},
      {EDESTADDRREQ, "EDESTADDRREQ"}, {EADDRNOTAVAIL, "EADDRNOTAVAIL"},
      {EPROTONOSUPPORT, "EPROTONOSUPPORT"}, {ECONNRESET, "ECONNRESET"}, {EMSGSIZE, "EMSGSIZE"},
      {EPROTOTYPE, "EPROTOTYPE"}, {ENOPROTOOPT, "ENOPROTOOPT"}, {ESOCKTNOSUPPORT, "ESOCKTNOSUPPORT"},
      /* locks and System V IPC */
      {EDEADLK, "EDEADLK"}, {EIDRM, "EIDRM"}, {ENOMSG, "ENOMSG"}, {E2BIG, "E2BIG"},
      {EOVERFLOW, "EOVERFLOW"}, {ESRCH, "ESRCH"}, {EFBIG, "EFBIG"},
  };
  static char unknown[32];
  for (size_t i = 0; i < sizeof(kNames) / sizeof(kNames[0]); i++) {
    if (kNames[i].value == e) return kNames[i].name;
  }
  snprintf(unknown, sizeof(unknown), "errno=%d", e);
  return unknown;
}

// 64-bit FNV-1a: a stable checksum of memory contents (not of addresses).
static inline uint64_t fnv1a(const void* data, size_t len) {
  const unsigned char* p = (const unsigned char*)data;
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

// True when all `len` bytes at `data` are zero.
static inline int all_zero(const void* data, size_t len) {
  const unsigned char* p = (const unsigned char*)data;
  for (size_t i = 0; i < len; i++) {
    if (p[i] != 0) return 0;
  }
  return 1;
}

// Fills `len` bytes with a pattern that depends on `seed` and the byte index.
static inline void fill_pattern(void* data, size_t len, unsigned seed) {
  unsigned char* p = (unsigned char*)data;
  for (size_t i = 0; i < len; i++) p[i] = (unsigned char)(i * 131u + seed * 7u + (i >> 8));
}

// The last path component of `path` (so output never shows build or temp directories).
static inline const char* path_basename(const char* path) {
  const char* slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

// Prints the success line; every program ends with this on success.
static inline void exit_success_line(void) {
  printf("EXIT-SUCCESS\n");
  fflush(stdout);
}
