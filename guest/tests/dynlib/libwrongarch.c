// libwrongarch.so: built for the OTHER machine than the flavour it sits in, so that dynlink's
// dlopen("libwrongarch.so") meets a library of the wrong machine (ld.so skips or rejects it).
long wrongarch_value(void) { return 1; }
