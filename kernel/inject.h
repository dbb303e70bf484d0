/* Fault injection (inject.c). */
#ifndef VESTA_INJECT_H
#define VESTA_INJECT_H

#include <stdint.h>

#include "proc.h"

/* Set up the trampoline page; at boot. */
int inject_init(void);

/* inject(pid, kind, arg, seed), for a caller with the inject grant.
 * Errors: -VE_PERM (no grant), -VE_INVAL (unknown kind, or arg past the
 * kind's VE_INJ_*_MAX), -VE_NOENT (no such live process), -VE_BUSY (the
 * root supervisor with hang, block, leak or corrupt), -VE_NOMEM. */
int inject_fault(struct proc *caller, int pid, uint64_t kind, uint64_t arg, uint64_t seed);

#endif
