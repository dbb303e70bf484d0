/*
 * Each process's share of the machine's memory: what the kernel holds on
 * its behalf, charged to it and bounded.
 */
#ifndef VESTA_SHARE_H
#define VESTA_SHARE_H

#include <stdbool.h>
#include <stdint.h>

#include "proc.h"

/* A process may hold at most 1/SHARE_DIVISOR of the machine's frames. */
#define SHARE_DIVISOR 4

/* Would charging bytes more keep p within its share? The share of a
 * process counts what its name's orphans hold (below). */
bool share_fits(const struct proc *p, uint64_t bytes);
/* Charge p bytes it is about to take: -VE_NOMEM (nothing charged) past its
 * share. */
int share_charge(struct proc *p, uint64_t bytes);
/* p gave bytes back. Refunding more than p holds is a kernel bug: panic. */
void share_refund(struct proc *p, uint64_t bytes);

/*
 * Orphans: what a dead process leaves charged (messages it sent that are
 * still queued or in flight: a dead client's casts are still delivered) is
 * charged to its name from then on, so the next process of that name (its
 * restart) has it in its share: a service that floods and dies, again and
 * again, still holds no more than one share. share_disown moves bytes from
 * dying p to its name and returns whom to refund them to later, an owner
 * at or above SHARE_ORPHAN_BASE (above every pid), or 0 when there is no
 * room left to record one more name (then they are charged to nobody).
 */
#define SHARE_ORPHAN_BASE (1ull << 32)
uint64_t share_disown(struct proc *p, uint64_t bytes);
void share_refund_orphan(uint64_t owner, uint64_t bytes);

/*
 * Frames taken or given back on p's behalf, measured: take a mark (the
 * free frame count) before an operation on p's page tables, settle after
 * it, and p is charged the frames the operation took or refunded those it
 * gave back, page tables included. Exact because the kernel is not
 * preemptible and takes system calls with interrupts off: nothing else
 * allocates in between. A settle may take p past its share (by the tables
 * a mapping needed); callers check share_fits for the pages first.
 */
uint64_t share_mark(void);
void share_settle(struct proc *p, uint64_t mark);

#endif
