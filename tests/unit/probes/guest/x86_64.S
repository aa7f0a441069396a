// Hand-written x86-64 functions covering every instruction kprobes emulates (v6 model) plus
// RIP-relative accesses copied to slots. asm_mix(rdi = x, rsi = n) returns a value mixing all.
  .text
  .globl asm_mix
  .type asm_mix, @function
asm_mix:
  push %rbp
  mov %rsp, %rbp
  push %rbx
  pushfq                          // 9c
  cli                             // fa
  mov %rdi, %rax
  lea asm_table(%rip), %rbx       // RIP-relative lea
  add 8(%rbx), %rax
  add asm_table+16(%rip), %rax    // RIP-relative load
  mov %rax, asm_scratch(%rip)     // RIP-relative store
  mov %rsi, %rcx
  jrcxz 2f                        // e3
1:
  add %rcx, %rax
  rol $5, %rax
  loop 1b                         // e2
2:
  mov $3, %ecx
3:
  inc %rax
  cmp $0, %rax
  loopne 3b                       // e0
  mov $2, %ecx
  xor %edx, %edx
4:
  loope 4b                        // e1 (ZF set by xor: loops once more)
  test $1, %al
  jz 5f                           // 74 rel8
  add $0x1234, %rax
5:
  cmp $7, %rdi
  jg 6f                           // 7f rel8
  jmp 7f                          // eb rel8
6:
  sub $3, %rax
7:
  lea asm_helper(%rip), %rdx
  call *%rdx                      // ff d2: call reg
  call asm_helper                 // e8 rel32
  push $9
  call asm_pop_ret                // ret imm16 inside
  lea 8f(%rip), %rdx
  jmp *%rdx                       // ff e2: jmp reg
  ud2
8:
  sti                             // fb
  popfq                           // 9d
  cmp %rsi, %rdi
  .byte 0x0f, 0x8c                // jl rel32 (0f 8c)
  .long 9f - 10f
10:
  xor $0xff, %rax
9:
  add asm_scratch(%rip), %rax
  pop %rbx
  pop %rbp
  ret                             // c3
  .size asm_mix, .-asm_mix

  .globl asm_helper
  .type asm_helper, @function
asm_helper:
  imul $33, %rax, %rax
  add $7, %rax
  ret
  .size asm_helper, .-asm_helper

  .globl asm_pop_ret
  .type asm_pop_ret, @function
asm_pop_ret:
  add 8(%rsp), %rax               // the pushed argument
  ret $8                          // c2 08 00
  .size asm_pop_ret, .-asm_pop_ret

  .globl __kretprobe_trampoline
  .type __kretprobe_trampoline, @function
__kretprobe_trampoline:           // the engine writes int3 over the nop
  nop
  ud2
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

  .section .note.GNU-stack,"",@progbits
