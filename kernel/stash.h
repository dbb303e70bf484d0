/* Stashes: per-service memory that survives the process (stash.c). */
#ifndef VESTA_STASH_H
#define VESTA_STASH_H

#include <stdbool.h>
#include <stdint.h>

#include "proc.h"

/* stash(size): map the caller's stash at VE_STASH_BASE, making it (zeroed)
 * if its name has none. Returns VE_STASH_BASE. Errors: -VE_RANGE (size 0 or
 * over VE_STASH_MAX), -VE_INVAL (the stash exists with another size),
 * -VE_BUSY (a live process of the same name has it), -VE_NOMEM (out of
 * memory, or past p's share: a mapped stash counts in it). */
long stash_map(struct proc *p, uint64_t size, unsigned flags);
/* p has just entered a system call that commits (VE_STASH_WINDOWS in
 * abi.h): if it has a windowed stash mapped, the stash as it is now
 * becomes what a next incarnation gets. Cheap when nothing was written.
 * Called for a process with a windowed stash or an armed step fault
 * (inject_step_commit, first thing). */
void stash_commit(struct proc *p);
/* A write to user address addr faulted in p (in user mode or in a kernel
 * copy): true if addr is a page of p's windowed stash that was kept
 * read-only since the last commit, which is now saved and writable, so
 * the write can be retried; false for any other fault. */
bool stash_write_fault(struct proc *p, uint64_t addr);
/* At spawn, for an image whose data segment lies in the stash window
 * (user-stash.ld): map p's stash of size bytes with windows, as stash_map
 * does; *made tells the loader to load the segment's initial bytes. */
long stash_map_image(struct proc *p, uint64_t size, bool *made);
/* The process is dying: its stash stays, unowned. */
void stash_release(struct proc *p);
/* stash_drop(name): free a stash nobody has mapped (needs the spawn grant).
 * Errors: -VE_PERM, -VE_NOENT, -VE_BUSY, -VE_FAULT, -VE_INVAL. */
long stash_drop(struct proc *p, uint64_t uname);

#endif
