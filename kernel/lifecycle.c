/*
 * The process lifecycle's transition function (the edges are listed in
 * lifecycle.h). Pure: proc.c's set_state applies what it returns.
 */
#include "lifecycle.h"

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

bool lifecycle_blocked(enum proc_state s)
{
	switch (s) {
	case PROC_SLEEPING:
	case PROC_WAITING:
	case PROC_CALLING:
	case PROC_SENDING:
	case PROC_POLLING:
		return true;
	default:
		return false;
	}
}

static bool live(enum proc_state s)
{
	return s == PROC_RUNNABLE || s == PROC_RUNNING || lifecycle_blocked(s);
}

static bool edge(enum proc_state from, enum proc_state to)
{
	switch (to) {
	case PROC_RUNNABLE:
		return from == PROC_FREE || from == PROC_RUNNING || lifecycle_blocked(from);
	case PROC_RUNNING:
		return from == PROC_RUNNABLE;
	case PROC_SLEEPING: /* from RUNNABLE: an injected stall */
		return from == PROC_RUNNING || from == PROC_RUNNABLE;
	case PROC_WAITING:
	case PROC_CALLING:
	case PROC_SENDING:
	case PROC_POLLING:
		return from == PROC_RUNNING;
	case PROC_ZOMBIE:
	case PROC_DEAD:
		return live(from);
	case PROC_FREE:
		return from == PROC_ZOMBIE || from == PROC_DEAD;
	}
	return false;
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
