/* long asm_mix(long a, long b): one of each instruction class uprobes simulates on arm64
 * (adrp, adr, ldr/ldrsw literal, cbz, tbz, tbnz, b.cond, bl, blr, ret) plus stepped ones. */
  .text
  .globl asm_mix
  .type asm_mix, %function
asm_mix:
  stp x29, x30, [sp, #-32]!
  mov x29, sp
  str x19, [sp, #16]
  adrp x9, gvar
  add x9, x9, :lo12:gvar
  ldr x10, [x9]
  adr x11, asm_mix
  ldr x12, lit
  ldrsw x13, litw
  add x0, x0, x10
  add x0, x0, x12
  add x0, x0, x13
  and x11, x11, #0xff
  add x0, x0, x11
  cbz x1, 1f
  add x0, x0, x1
1:
  tbz x0, #0, 2f
  add x0, x0, #7
2:
  tbnz x0, #1, 3f
  add x0, x0, #3
3:
  cmp x0, #100
  b.hi 4f
  add x0, x0, #1
4:
  bl helper_asm
  adrp x14, fptr
  ldr x14, [x14, :lo12:fptr]
  blr x14
  mov x19, x0
  adr x15, helper_asm
  blr x15
  add x0, x0, x19
  ldr x19, [sp, #16]
  ldp x29, x30, [sp], #32
  ret
  .size asm_mix, .-asm_mix

  .align 3
lit:
  .quad 0x1111
litw:
  .word -5
  .align 2

  .type helper_asm, %function
helper_asm:
  add x0, x0, x0, lsl #1
  add x0, x0, #3
  ret
  .size helper_asm, .-helper_asm
  .section .note.GNU-stack,"",%progbits
