/*
 * The scheduler: strict priority between drivers, services and best-effort
 * processes, round robin within a priority, preemption on the LAPIC tick.
 * The kernel is not preemptible: it runs with interrupts off and gives the
 * CPU up only in sched_block/sched_yield. A process that blocks switches
 * straight to the next one (sched_block); every other switch goes through
 * the one scheduler loop (xv6-style, on the boot stack).
 */
#ifndef VESTA_SCHED_H
#define VESTA_SCHED_H

#include <stdbool.h>

#include "proc.h"

#define SCHED_QUANTUM_TICKS 10 /* 10 ms at 1 kHz: short enough for a console */

/* The process on the CPU, NULL while the scheduler loop runs. The
 * scheduler owns it: only its switches set it. Read on every copy to or
 * from user memory, so inline. */
extern struct proc *sched_current;
static inline struct proc *proc_current(void)
{
	return sched_current;
}

void sched_add(struct proc *p);	     /* queue p (proc.c, as it becomes RUNNABLE) */
void sched_remove(struct proc *p);   /* take p off its run queue, if on one */
void sched_block(void);		     /* current has blocked (proc_block); run another */
void sched_handoff(struct proc *to); /* current has blocked and woke `to`: run it at once */
void sched_yield(void);		     /* current stays runnable */
void sched_tick(bool from_user);     /* from the timer interrupt */
/* After a device interrupt: run a higher-priority process it woke. */
void sched_preempt_check(bool from_user);
_Noreturn void sched_run(void); /* the scheduler loop; never returns */

#endif
