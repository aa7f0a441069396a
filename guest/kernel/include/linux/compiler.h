/* Attributes with Linux's names. Every function on the boot and syscall paths is `noinline`
 * so that it has its own symbol (kallsyms) and real argument registers at its first
 * instruction (kprobes); `noinline` here also forbids clones (foo.isra.0, foo.constprop.0)
 * so symbol names stay exactly Linux's. */
#ifndef _LINUX_COMPILER_H
#define _LINUX_COMPILER_H

#define noinline __attribute__((__noipa__))
#define __noreturn __attribute__((__noreturn__))
#define __used __attribute__((__used__))
#define __visible __attribute__((__externally_visible__))
#define __section(s) __attribute__((__section__(s)))
#define __aligned(n) __attribute__((__aligned__(n)))
#define __user
#define asmlinkage
/* Code that must never be probed (Linux: noinstr; here also never inlined). */
#define noinstr noinline __section(".noinstr.text")
#define unreachable() __builtin_unreachable()

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#endif /* _LINUX_COMPILER_H */
