// dynlink: what ld.so and libdl do for a dynamically linked program, checked from inside it.
//   - libdyntest.so, a DT_NEEDED library found through DT_RUNPATH $ORIGIN/lib: its data, its
//     TLS in 4 threads, an IFUNC (resolved from the CPU model), dyn_who() unless LD_PRELOAD
//     names libdynpre.so, which interposes it
//   - dlopen("libdynplug.so") through LD_LIBRARY_PATH: constructor, dlsym, dynamic TLS in
//     4 threads, dlclose (its destructor prints)
//   - dlopen of a missing library and of one of the other machine: ld.so's own messages
//   - the auxv ld.so used: AT_BASE is ld.so's load address, AT_ENTRY is the program's _start
// Build (guest/CMakeLists.txt): -ldl -Wl,-rpath,'$ORIGIN/lib' -Llib -ldyntest.
// Output is deterministic (no addresses); the last line is EXIT-SUCCESS.
#define _GNU_SOURCE 1  // dladdr, Dl_info
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <sys/auxv.h>

#include "guest_util.h"

extern long dyn_counter;
extern __thread long dyn_tls;
const char* dyn_who(void);
long dyn_tls_bump(long by);
long dyn_add(long a, long b);
extern void _start(void);

typedef long (*long_fn)(long);
static long_fn plug_tls_add;

enum { kThreads = 4 };
static long tls_seen[kThreads][2];

static void* thread_main(void* arg) {
  long i = (long)arg;
  for (int k = 0; k < 3; k++) dyn_tls_bump(i + 1);
  tls_seen[i][0] = dyn_tls;
  tls_seen[i][1] = plug_tls_add(i * 10);
  return NULL;
}

static void check_auxv(void) {
  Dl_info info;
  CHECK(getauxval(AT_ENTRY) == (unsigned long)&_start);
  CHECK(getauxval(AT_BASE) != 0);
  CHECK(dladdr((void*)getauxval(AT_BASE), &info) != 0);  // ld.so's ELF header
  printf("AT_BASE is %s\n", path_basename(info.dli_fname));
}

static void check_needed(void) {
  const char* pre = getenv("LD_PRELOAD");
  printf("dyn_counter=%ld dyn_add=%ld dyn_who=%s\n", dyn_counter, dyn_add(40, 2), dyn_who());
  CHECK(strcmp(dyn_who(), pre ? "libdynpre" : "libdyntest") == 0);
  Dl_info info;
  CHECK(dladdr((void*)&dyn_tls_bump, &info) != 0);
  printf("dyn_tls_bump is in %s\n", path_basename(info.dli_fname));
}

static void* open_plugin(void) {
  void* h = dlopen("libdynplug.so", RTLD_NOW);
  if (!h) printf("dlopen: %s\n", dlerror());
  CHECK(h != NULL);
  long_fn value = (long_fn)dlsym(h, "plug_value");
  plug_tls_add = (long_fn)dlsym(h, "plug_tls_add");
  CHECK(value && plug_tls_add);
  printf("plug_value(5)=%ld\n", value(5));
  CHECK(dlsym(h, "no_such_symbol") == NULL);
  printf("dlsym missing: %s\n", strstr(dlerror(), "undefined symbol") ? "undefined symbol" : "?");
  return h;
}

static void check_bad_libraries(void) {
  CHECK(dlopen("libdyn-missing.so", RTLD_NOW) == NULL);
  printf("missing: %s\n", dlerror());
  CHECK(dlopen("libwrongarch.so", RTLD_NOW) == NULL);
  printf("wrong machine: %s\n", path_basename(dlerror()));
}

int main(void) {
  check_auxv();
  check_needed();
  void* plug = open_plugin();
  pthread_t t[kThreads];
  for (long i = 0; i < kThreads; i++) CHECK(pthread_create(&t[i], NULL, thread_main, (void*)i) == 0);
  for (int i = 0; i < kThreads; i++) CHECK(pthread_join(t[i], NULL) == 0);
  for (int i = 0; i < kThreads; i++)
    printf("thread %d: dyn_tls=%ld plug_tls=%ld\n", i, tls_seen[i][0], tls_seen[i][1]);
  printf("main: dyn_tls=%ld plug_tls=%ld\n", dyn_tls, plug_tls_add(0));
  check_bad_libraries();
  fflush(stdout);  // the destructor writes with write(2)
  CHECK(dlclose(plug) == 0);
  exit_success_line();
  return 0;
}
