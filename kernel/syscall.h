/*
 * System calls (syscall.c): one table indexed by number, entered from the
 * syscall instruction's stub in entry.asm.
 */
#ifndef VESTA_SYSCALL_H
#define VESTA_SYSCALL_H

struct bundle;
struct trap_frame;

/* The boot bundle that spawn() and bundle_read() read images from; set
 * once by kmain before the first process runs. */
void syscall_set_bundle(const struct bundle *b);
/* Run the call the current process asked for in f (number in rax,
 * arguments in rdi, rsi, rdx, r10, r8, r9) and put its result in f's rax,
 * -VE_BADCALL for an unknown number. A frame whose rip is no user address
 * kills the caller (VE_R_GP) instead of letting sysret fault in ring 0.
 * Called by entry.asm only. */
void syscall_dispatch(struct trap_frame *f);

#endif
