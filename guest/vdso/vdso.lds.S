/* The vDSO's link: one PT_LOAD (headers, dynamic symbols, text) linked at 0, as Linux's
 * arch/x86/entry/vdso/vdso-layout.lds.S and arch/arm64/kernel/vdso/vdso.lds.S. Preprocessed
 * with VVAR_PAGES set per arch: _vdso_data is the start of [vvar], mapped right below. */
#include "vdso_abi.h"

SECTIONS
{
	PROVIDE(_vdso_data = . - VVAR_PAGES * PROBESIM_VDSO_PAGE_SIZE);
	. = SIZEOF_HEADERS;

	.hash		: { *(.hash) }			:text
	.gnu.hash	: { *(.gnu.hash) }
	.dynsym		: { *(.dynsym) }
	.dynstr		: { *(.dynstr) }
	.gnu.version	: { *(.gnu.version) }
	.gnu.version_d	: { *(.gnu.version_d) }
	.gnu.version_r	: { *(.gnu.version_r) }

	.note		: { *(.note.*) }		:text	:note
	.dynamic	: { *(.dynamic) }		:text	:dynamic
	.rodata		: { *(.rodata*) }		:text
	.eh_frame_hdr	: { *(.eh_frame_hdr) }		:text	:eh_frame_hdr
	.eh_frame	: { KEEP (*(.eh_frame)) }	:text
	.text		: { *(.text*) }			:text
	.got		: { *(.got) *(.got.plt) }		:text	/* empty: nothing is relocated */

	/DISCARD/	: { *(.data .data.* .bss .bss.* .plt .plt.* .comment) }
}

PHDRS
{
	text		PT_LOAD		FLAGS(5) FILEHDR PHDRS;	/* PF_R|PF_X */
	dynamic		PT_DYNAMIC	FLAGS(4);		/* PF_R */
	note		PT_NOTE		FLAGS(4);		/* PF_R */
	eh_frame_hdr	PT_GNU_EH_FRAME;
}
