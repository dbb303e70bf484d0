/* Stashes: per-service memory that survives the process (stash.c). */
#ifndef VESTA_STASH_H
#define VESTA_STASH_H

#include <stdint.h>

#include "proc.h"

/* stash(size): map the caller's stash at VE_STASH_BASE, making it (zeroed)
 * if its name has none. Returns VE_STASH_BASE. Errors: -VE_RANGE (size 0 or
 * over VE_STASH_MAX), -VE_INVAL (the stash exists with another size),
 * -VE_BUSY (a live process of the same name has it), -VE_NOMEM (out of
 * memory, or past p's share: a mapped stash counts in it). */
long stash_map(struct proc *p, uint64_t size);
/* The process is dying: its stash stays, unowned. */
void stash_release(struct proc *p);
/* stash_drop(name): free a stash nobody has mapped (needs the spawn grant).
 * Errors: -VE_PERM, -VE_NOENT, -VE_BUSY, -VE_FAULT, -VE_INVAL. */
long stash_drop(struct proc *p, uint64_t uname);

#endif
