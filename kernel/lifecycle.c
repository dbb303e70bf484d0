/*
 * The process lifecycle's edge table and state names (the edges are listed
 * in lifecycle.h, whose inline transition function reads the table).
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

/* The states each state may be entered from (lifecycle.h's edges). */
const uint16_t lifecycle_entered_from[PROC_DEAD + 1] = {
	[PROC_RUNNABLE] = LC_SET(PROC_FREE) | LC_SET(PROC_RUNNING) | LC_BLOCKED,
	[PROC_RUNNING] =
	    LC_SET(PROC_RUNNABLE) | LC_SET(PROC_POLLING) | LC_SET(PROC_CALLING), /* a handoff */
	[PROC_SLEEPING] = LC_SET(PROC_RUNNING) | LC_SET(PROC_RUNNABLE), /* RUNNABLE: a stall */
	[PROC_WAITING] = LC_SET(PROC_RUNNING),
	[PROC_CALLING] = LC_SET(PROC_RUNNING),
	[PROC_SENDING] = LC_SET(PROC_RUNNING),
	[PROC_POLLING] = LC_SET(PROC_RUNNING),
	[PROC_ZOMBIE] = LC_LIVE,
	[PROC_DEAD] = LC_LIVE,
	[PROC_FREE] = LC_SET(PROC_ZOMBIE) | LC_SET(PROC_DEAD),
};
