/* The vDSO's data page ([vvar]) as probesim's model writes it and guest/vdso/vdso.c reads it.
 *
 * Plain C, no includes: compiled into the vDSO (guest), the linker script and host C++.
 *
 * Linux's vDSO (lib/vdso/gettimeofday.c) turns the CPU's counter into time with the
 * timekeeper's mult/shift and bases that update_vsyscall() refreshes at every tick. probesim's
 * virtual clock is a pure function of its cycle counter (emu/virtual_clock.h: ns = cycles *
 * 1e9 / hz since boot, realtime = epoch + that), and the guest reads the same counter
 * (x86 rdtsc: cycles; arm64 cntvct_el0 at 1 GHz: monotonic ns), so the page holds the
 * constants of that function and the vDSO divides exactly: its values equal the syscalls' to
 * the nanosecond. The model writes the page at exec (loader/vdso.h), before the guest can
 * read it; nothing in it changes while time advances (no clock_settime), so it stays current.
 */
#ifndef PROBESIM_GUEST_VDSO_ABI_H
#define PROBESIM_GUEST_VDSO_ABI_H

/* [vvar] lies right below [vdso], as on Linux 6.1: x86_64 four pages (vvar, pvclock,
 * hvclock, timens: arch/x86/entry/vdso/vdso-layout.lds.S), arm64 two (data, timens:
 * arch/arm64/include/asm/vdso.h VVAR_NR_PAGES). The data is at the start of the first. */
#define PROBESIM_VVAR_PAGES_X86_64 4
#define PROBESIM_VVAR_PAGES_AARCH64 2
#define PROBESIM_VDSO_PAGE_SIZE 4096

/* clock_mode: Linux's VDSO_CLOCKMODE_NONE makes every call take the syscall fallback. */
#define PROBESIM_VDSO_CLOCKMODE_NONE 0
#define PROBESIM_VDSO_CLOCKMODE_COUNTER 1

#ifndef __ASSEMBLER__
struct probesim_vdso_data {
  unsigned int clock_mode;          /* PROBESIM_VDSO_CLOCKMODE_* */
  unsigned int pad;
  unsigned long long counter_hz;    /* counter ticks per second (x86 TSC, arm64 CNTFRQ) */
  long long realtime_offset_sec;    /* CLOCK_REALTIME - CLOCK_MONOTONIC (the clock's epoch) */
  int tz_minuteswest, tz_dsttime;   /* sys_tz, as gettimeofday's struct timezone */
};
#endif

#endif
