/* Blacklist annotations, as Linux's include/asm-generic/kprobes.h: the host's kallsyms
 * (probes/kallsyms.cc) turns them into kprobe blacklist ranges. */
#ifndef _LINUX_KPROBES_H
#define _LINUX_KPROBES_H

#include "linux/compiler.h"

/* Puts fname's address into section _kprobe_blacklist; the whole function [start,
 * start + size) becomes unprobeable. */
#define NOKPROBE_SYMBOL(fname) \
  static unsigned long __used __section("_kprobe_blacklist") _kbl_addr_##fname = \
      (unsigned long)fname;

/* Functions in .kprobes.text are blacklisted as a whole area. */
#define __kprobes __section(".kprobes.text")

int init_kprobes(void);

#endif /* _LINUX_KPROBES_H */
