// libdynpre.so: loaded by LD_PRELOAD in the dynlink e2e test; interposes libdyntest's dyn_who.
const char* dyn_who(void) { return "libdynpre"; }
