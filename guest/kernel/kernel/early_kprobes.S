/* Early kprobes (seed 002, the RFC's CONFIG_EARLY_KPROBES): the static pool of detour buffers
 * that probes registered before init_kprobes use, since no insn page can be allocated then.
 * NR_EARLY_KPROBES_SLOTS (CONFIG_NR_EARLY_KPROBES_SLOTS) buffers of EARLY_KPROBE_SLOT_SIZE
 * bytes, written by the model (probes/early_kprobes.cc). In .kprobes.text: executable, and
 * blacklisted as a whole, so no probe lands inside a detour. Plain directives: both arches. */
#include "hypercall_abi.h"

	.section .kprobes.text, "ax"
	.balign 16
	.globl early_kprobe_insn_slots
	.type early_kprobe_insn_slots, %object
early_kprobe_insn_slots:
	.fill NR_EARLY_KPROBES_SLOTS * EARLY_KPROBE_SLOT_SIZE, 1, 0
	.size early_kprobe_insn_slots, . - early_kprobe_insn_slots
