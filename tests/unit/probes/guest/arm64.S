// Hand-written AArch64 functions covering every instruction kprobes simulates (b.cond, cbz,
// cbnz, tbz, tbnz, adr, adrp, b, bl, br, blr, ret, ldr/ldrsw literal, nop) and an LL/SC
// sequence. asm_mix(x0 = x, x1 = n) returns a value mixing all.
  .text
  .globl asm_mix
  .type asm_mix, %function
asm_mix:
  stp x29, x30, [sp, #-32]!
  mov x29, sp
  str x19, [sp, #16]
  nop
  adrp x9, asm_table
  add x9, x9, :lo12:asm_table
  ldr x10, [x9, #8]
  add x0, x0, x10
  adr x11, asm_lit
  ldr x12, asm_lit                // ldr literal (x)
  ldr w13, asm_lit + 8            // ldr literal (w)
  ldrsw x14, asm_lit + 12         // ldrsw literal
  add x0, x0, x12
  add x0, x0, x13
  add x0, x0, x14
  ldr x15, [x11]
  eor x0, x0, x15
  cbz x1, 2f
1:
  add x0, x0, x1
  ror x0, x0, #59
  subs x1, x1, #1
  b.ne 1b
2:
  cbnz w1, 3f
  add x0, x0, #3
3:
  tbz x0, #0, 4f
  add x0, x0, #0x123
4:
  tbnz x0, #37, 5f
  eor x0, x0, #0xff
5:
  cmp x0, #100
  b.hi 6f
  b 7f
6:
  sub x0, x0, #1
7:
  bl asm_helper
  adr x16, asm_helper
  blr x16
  adr x17, 8f
  br x17
  udf #0
8:
  adrp x9, asm_scratch
  add x9, x9, :lo12:asm_scratch
9:
  ldxr x2, [x9]                   // LL/SC: probes from here to stxr are refused
  add x2, x2, x0
  stxr w3, x2, [x9]
  cbnz w3, 9b
  ldr x2, [x9]
  add x0, x0, x2
  ldr x19, [sp, #16]
  ldp x29, x30, [sp], #32
  ret
  .size asm_mix, .-asm_mix

  .globl asm_helper
  .type asm_helper, %function
asm_helper:
  mov x3, #33
  mul x0, x0, x3
  add x0, x0, #7
  ret
  .size asm_helper, .-asm_helper

  .p2align 3
asm_lit:
  .quad 0x0123456789abcdef
  .long 0x89abcdef
  .long 0xfedcba98

  .globl __kretprobe_trampoline
  .type __kretprobe_trampoline, %function
__kretprobe_trampoline:           // the engine writes BRK #4 over the nop
  nop
  udf #0
  .size __kretprobe_trampoline, .-__kretprobe_trampoline

  .section .rodata
  .p2align 3
asm_table:
  .quad 0x1111, 0x2222, 0x3333, 0x4444
  .data
  .p2align 3
  .globl asm_scratch
asm_scratch:
  .quad 0

  .section .note.GNU-stack,"",%progbits
