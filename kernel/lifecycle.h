/*
 * The lifecycle of a process slot as one pure transition function: every
 * state, every edge and what follows from each, in one place and tested on
 * the host (tests/unit/test_lifecycle.c). proc.c applies it; nothing else
 * writes a process's state.
 */
#ifndef VESTA_LIFECYCLE_H
#define VESTA_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>

/* The life of a slot. proc.c's transition functions are the only writers
 * of a process's state; any edge not listed here is a kernel bug (panic).
 *   FREE -> RUNNABLE                   create (proc_create)
 *   RUNNABLE -> RUNNING                the scheduler runs it (proc_run)
 *   RUNNABLE -> SLEEPING               an injected stall, before it runs
 *   RUNNING -> RUNNABLE                yield or preemption (proc_yield)
 *   RUNNING -> SLEEPING | WAITING | CALLING | SENDING | POLLING
 *                                      block (proc_block)
 *   SLEEPING | WAITING | CALLING | SENDING | POLLING -> RUNNABLE
 *                                      wake (proc_wake: a deadline, a
 *                                      waker, a child's death, a kick)
 *   POLLING -> RUNNING                 a handoff: a caller blocks and
 *                                      switches straight to the server
 *                                      its call woke (sched_handoff)
 *   CALLING -> RUNNING                 a handoff back: a server answers
 *                                      in reply_recv, blocks, and switches
 *                                      straight to the caller it answered
 *   any live state -> ZOMBIE           death, parent alive (waits for it)
 *   any live state -> DEAD             death, no parent
 *   ZOMBIE | DEAD -> FREE              reap: the parent waited or died,
 *                                      or the scheduler freed a DEAD one
 * RUNNABLE means on a run queue (but between the scheduler's pick and
 * run). What else follows from an edge (the run queue, the count of
 * SENDING processes, the parent's count of ZOMBIE children) is in
 * struct lifecycle_step. */
enum proc_state {
	PROC_FREE = 0,
	PROC_RUNNABLE,
	PROC_RUNNING,
	PROC_SLEEPING,
	PROC_WAITING,
	PROC_CALLING, /* in call(): waits for its reply (ipc.c) */
	PROC_SENDING, /* in call()/cast(): waits for room in a full queue */
	PROC_POLLING, /* in wait_any() or next(): a message, an IRQ or a dead child */
	PROC_ZOMBIE,
	PROC_DEAD,
};

/* What an edge asks of proc.c besides writing the new state. */
struct lifecycle_step {
	bool enqueue; /* it becomes RUNNABLE: onto its run queue */
	bool dequeue; /* it dies while RUNNABLE: off its run queue */
	int senders;  /* change in the count of SENDING processes */
	int zombies;  /* change in its parent's count of ZOMBIE children */
};

/* Sets of states as bit masks. Every IPC operation takes two edges, so the
 * transition function is inline and its edge test one table lookup. */
#define LC_SET(s) (1u << (s))
#define LC_BLOCKED                                                                                 \
	(LC_SET(PROC_SLEEPING) | LC_SET(PROC_WAITING) | LC_SET(PROC_CALLING) |                     \
	 LC_SET(PROC_SENDING) | LC_SET(PROC_POLLING))
#define LC_LIVE (LC_SET(PROC_RUNNABLE) | LC_SET(PROC_RUNNING) | LC_BLOCKED)
extern const uint16_t lifecycle_entered_from[PROC_DEAD + 1]; /* lifecycle.c */

static inline bool lifecycle_in(enum proc_state s, unsigned set)
{
	return (unsigned)s <= PROC_DEAD && (set & LC_SET(s));
}

/* SLEEPING, WAITING, CALLING, SENDING or POLLING: in a blocking call. */
static inline bool lifecycle_blocked(enum proc_state s)
{
	return lifecycle_in(s, LC_BLOCKED);
}

/* The edge from -> to: false if the lifecycle has no such edge (a kernel
 * bug), else true with *step filled in. Pure. */
static inline bool lifecycle_step(enum proc_state from, enum proc_state to,
				  struct lifecycle_step *step)
{
	if ((unsigned)to > PROC_DEAD || !lifecycle_in(from, lifecycle_entered_from[to]))
		return false;
	*step = (struct lifecycle_step){
		.enqueue = to == PROC_RUNNABLE,
		.dequeue = from == PROC_RUNNABLE && !lifecycle_in(to, LC_LIVE),
		.senders = (to == PROC_SENDING) - (from == PROC_SENDING),
		.zombies = (to == PROC_ZOMBIE) - (from == PROC_ZOMBIE),
	};
	return true;
}

const char *lifecycle_name(enum proc_state s); /* "?" if out of range */

#endif
