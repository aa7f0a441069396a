#ifndef _LINUX_TYPES_H
#define _LINUX_TYPES_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long u64;
typedef signed int s32;
typedef long s64;
typedef unsigned long size_t;
typedef long ssize_t;
typedef long loff_t;
typedef int pid_t;
typedef unsigned short umode_t;
typedef _Bool bool;
#define true 1
#define false 0
#define NULL ((void *)0)

#define offsetof(t, m) __builtin_offsetof(t, m)

#endif /* _LINUX_TYPES_H */
