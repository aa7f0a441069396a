// libdynplug.so: dlopen'd by dynlink through LD_LIBRARY_PATH. A constructor and a destructor,
// a function dlsym finds, and dynamic TLS (general-dynamic model: __tls_get_addr) per thread.
#include <unistd.h>

static int constructed;
__thread long plug_tls[32] = {5};

__attribute__((constructor)) static void plug_init(void) { constructed = 1; }
__attribute__((destructor)) static void plug_fini(void) {
  static const char msg[] = "libdynplug: destructor\n";
  write(1, msg, sizeof msg - 1);
}

long plug_value(long x) { return x * 3 + constructed; }

long plug_tls_add(long x) {
  plug_tls[0] += x;
  return plug_tls[0];
}
