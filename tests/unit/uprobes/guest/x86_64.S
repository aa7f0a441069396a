/* long asm_mix(long a, long b): one of each instruction class uprobes treats specially on
 * x86-64: RIP-relative loads/stores/lea, push/pop, jrcxz/loop, jcc, calls through memory
 * (RIP-relative and SIB table) and a register, pushf/popf, push imm, ret. */
  .text
  .globl asm_mix
  .type asm_mix, @function
asm_mix:
  push %rbp
  mov %rsp, %rbp
  push %rbx
  push %r12
  mov %rdi, %rax
  lea table(%rip), %rbx
  add 8(%rbx), %rax
  add gvar(%rip), %rax
  mov %rax, out(%rip)
  mov %rsi, %rcx
  jrcxz 1f
2:
  add %rcx, %rax
  rol $5, %rax
  loop 2b
1:
  test $1, %al
  jz 3f
  add $0x1234, %rax
3:
  mov %rax, %rdi
  call *fptr(%rip)
  lea helper_asm(%rip), %r12
  call *%r12
  mov $1, %ecx
  call *jt(,%rcx,8)
  pushf
  popf
  push $0x11
  pop %rdx
  add %rdx, %rax
  cmp $5, %rax
  jae 4f
  inc %rax
4:
  pop %r12
  pop %rbx
  pop %rbp
  ret
  .size asm_mix, .-asm_mix

  .type helper_asm, @function
helper_asm:
  lea 3(%rax,%rax,2), %rax
  ret
  .size helper_asm, .-helper_asm

  .data
  .align 8
jt:
  .quad helper_asm, helper_asm
  .section .note.GNU-stack,"",@progbits
