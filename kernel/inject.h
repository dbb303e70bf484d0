/* Fault injection (inject.c). */
#ifndef VESTA_INJECT_H
#define VESTA_INJECT_H

#include <stdbool.h>
#include <stdint.h>

#include "proc.h"

/* Set up the trampoline page; at boot. */
int inject_init(void);

/* inject(pid, kind, arg, seed), for a caller with the inject grant.
 * Errors: -VE_PERM (no grant), -VE_INVAL (unknown kind, or arg past the
 * kind's VE_INJ_*_MAX), -VE_NOENT (no such live process), -VE_BUSY (the
 * root supervisor with hang, block, leak or corrupt), -VE_NOMEM. */
int inject_fault(struct proc *caller, int pid, uint64_t kind, uint64_t arg, uint64_t seed);

/* p has just committed (stash_commit calls this for every process, with or
 * without a windowed stash): if a step fault is armed in p, its countdown
 * starts again at n and p's user code runs one instruction at a time. */
void inject_step_commit(struct proc *p);

/* A single-step trap (#DB) from p's user mode after an instruction that
 * ended at rip. With a step fault armed: one instruction fewer to go, and
 * p dies at 0 (reason killed, vector 1, that rip), never returning; true
 * if p goes on. False if p has no step fault armed (the #DB is then p's
 * own, and kills it as before). */
bool inject_step_trap(struct proc *p, uint64_t rip);

#endif
