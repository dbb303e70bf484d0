/*
 * The process lifecycle's transition function (the edges are listed in
 * lifecycle.h). Pure: proc.c's set_state applies what it returns.
 */
#include "lifecycle.h"

#include <stdint.h>

static const char *const names[] = {
	[PROC_FREE] = "free",	      [PROC_RUNNABLE] = "runnable", [PROC_RUNNING] = "running",
	[PROC_SLEEPING] = "sleeping", [PROC_WAITING] = "waiting",   [PROC_CALLING] = "calling",
	[PROC_SENDING] = "sending",   [PROC_POLLING] = "polling",   [PROC_ZOMBIE] = "zombie",
	[PROC_DEAD] = "dead",
};

const char *lifecycle_name(enum proc_state s)
{
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

/* Sets of states as bit masks: every IPC operation takes two edges, so
 * the edge test is one table lookup. */
#define S(x) (1u << (x))
#define BLOCKED                                                                                    \
	(S(PROC_SLEEPING) | S(PROC_WAITING) | S(PROC_CALLING) | S(PROC_SENDING) | S(PROC_POLLING))
#define LIVE (S(PROC_RUNNABLE) | S(PROC_RUNNING) | BLOCKED)

/* The states each state may be entered from. */
static const uint16_t entered_from[] = {
	[PROC_RUNNABLE] = S(PROC_FREE) | S(PROC_RUNNING) | BLOCKED,
	[PROC_RUNNING] = S(PROC_RUNNABLE),
	[PROC_SLEEPING] = S(PROC_RUNNING) | S(PROC_RUNNABLE), /* RUNNABLE: an injected stall */
	[PROC_WAITING] = S(PROC_RUNNING),
	[PROC_CALLING] = S(PROC_RUNNING),
	[PROC_SENDING] = S(PROC_RUNNING),
	[PROC_POLLING] = S(PROC_RUNNING),
	[PROC_ZOMBIE] = LIVE,
	[PROC_DEAD] = LIVE,
	[PROC_FREE] = S(PROC_ZOMBIE) | S(PROC_DEAD),
};

static bool in(enum proc_state s, unsigned set)
{
	return (unsigned)s < 16 && (set & S(s));
}

bool lifecycle_blocked(enum proc_state s)
{
	return in(s, BLOCKED);
}

static bool live(enum proc_state s)
{
	return in(s, LIVE);
}

static bool edge(enum proc_state from, enum proc_state to)
{
	return (unsigned)to < sizeof(entered_from) / sizeof(entered_from[0]) &&
	       in(from, entered_from[to]);
}

bool lifecycle_step(enum proc_state from, enum proc_state to, struct lifecycle_step *step)
{
	if (!edge(from, to))
		return false;
	*step = (struct lifecycle_step){
		.enqueue = to == PROC_RUNNABLE,
		.dequeue = from == PROC_RUNNABLE && !live(to),
		.senders = (to == PROC_SENDING) - (from == PROC_SENDING),
		.zombies = (to == PROC_ZOMBIE) - (from == PROC_ZOMBIE),
	};
	return true;
}
