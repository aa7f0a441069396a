/* Assembly symbol helpers: functions get STT_FUNC type and a size (kallsyms needs both). */
#ifndef _ASM_X86_LINKAGE_H
#define _ASM_X86_LINKAGE_H

#define SYM_FUNC_START(name) \
  .globl name;               \
  .type name, @function;     \
  .balign 16;                \
  name:
#define SYM_CODE_START(name) SYM_FUNC_START(name)
#define SYM_FUNC_END(name) .size name, .- name
#define SYM_CODE_END(name) SYM_FUNC_END(name)

#endif /* _ASM_X86_LINKAGE_H */
