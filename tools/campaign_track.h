/*
 * Reading a fault campaign's event log: which fault killed what, which
 * restarts were a service's own, what kept state was lost, what clients
 * saw. Pure bookkeeping: events in, one parsed COM2 line at a time; the
 * record (campaign.h) filled in; a word back to the driver about the
 * fault it is handling. No QEMU, no clock, no I/O, so that
 * tests/unit/test_campaign_track.c replays real, committed event logs
 * through exactly what the campaign runs.
 *
 * The driver (campaign.c) types the faults and keeps the time: it begins
 * a fault when it types it, feeds every event, and ends the fault when
 * camp_track_event says it recovered or when a bound of its own passes.
 */
#ifndef VESTA_TOOLS_CAMPAIGN_TRACK_H
#define VESTA_TOOLS_CAMPAIGN_TRACK_H

#include <stdbool.h>
#include <stdint.h>

#include "campaign.h"
#include "jsonline.h"

/* Where the fault being handled is. One transition function
 * (campaign_track.c's fault_step) moves it: IDLE -begin-> TYPED -inject->
 * OBSERVE -exit of the target-> RECOVER -its new process serves-> IDLE; an
 * end (a bound, not injected) goes back to IDLE from anywhere. A `stop`
 * that explains the exit leaves the phase but takes the kill back. */
enum camp_fault_phase {
	CAMP_F_IDLE,	/* no fault being handled */
	CAMP_F_TYPED,	/* typed; waiting for its inject event */
	CAMP_F_OBSERVE, /* injected; watching its target */
	CAMP_F_RECOVER, /* its target died; waiting for it to serve again */
};

/* What an event meant for the driver. */
enum camp_news_kind {
	CAMP_NEWS_NONE,
	CAMP_NEWS_PANIC,       /* the kernel panicked: stop the guest */
	CAMP_NEWS_INJECTED,    /* the fault being handled is in: watch it */
	CAMP_NEWS_KILLED,      /* it killed its target: wait for recovery */
	CAMP_NEWS_RECOVERED,   /* its target serves again: the fault is over */
	CAMP_NEWS_OWN_RESTART, /* name's supervisor restarted it for its own failure */
	CAMP_NEWS_SUP_RESTART, /* the kernel restarted the root supervisor */
};

struct camp_news {
	enum camp_news_kind what;
	const char *name; /* OWN_RESTART: the service (the event's storage) */
	uint64_t t_ns;	  /* the event's guest time (every event; 0: none) */
};

#define CAMP_TRACK_PIDS 256

/* The bookkeeping; zero it, set r, then camp_track_event each event. */
struct camp_track {
	struct camp_record *r;	/* what the log says, filled in (the caller's) */
	struct camp_fault *cur; /* the fault being handled, in r->f; NULL: none */
	enum camp_fault_phase ph;
	bool cur_by_kill;	     /* cur's target exit was a kill (a stop, maybe) */
	bool sup_ready, shell_ready; /* the supervisor and the shell came up */
	struct {
		int pid;
		char name[CAMP_NAME_MAX];
	} pids[CAMP_TRACK_PIDS]; /* pid -> name, recent spawns (a ring) */
	unsigned npids;
	char kv_gen[24];	      /* the latest kv table generation */
	bool kv_made, wl_made;	      /* the first kv table, workload record seen */
	bool redis_made;	      /* kv's first Redis keyspace of the boot seen */
	bool kv_discarded;	      /* kv's stash discarded since its last table */
	uint64_t wl_prev_sum;	      /* workload bad+errors+dups at its previous report */
	uint64_t wl_prev_to;	      /* workload timeouts at its previous report */
	struct camp_workload wl_raw;  /* its latest event, as it counts */
	struct camp_workload wl_base; /* what incarnations before that counted */
};

/* A kind whose effect may be nothing (corrupt, leak, garbage, slow): the
 * driver watches it for a settle time only, not the recovery bound. */
bool camp_kind_may_survive(const char *kind);

/* The driver typed fault f (in t->r->f): handle it. Any fault still being
 * handled is over. */
void camp_track_begin(struct camp_track *t, struct camp_fault *f);

/* One event, in log order: the record and the fault being handled are
 * updated; the return says what the driver should do about it. */
struct camp_news camp_track_event(struct camp_track *t, const struct jsonline *e);

/* The driver's bound for the fault being handled passed: a fault that
 * should have killed and did not is not recovered from; one that killed
 * stays unrecovered. The fault is over. */
void camp_track_timeout(struct camp_track *t);

/* The fault being handled is over (recovered, or not injected: the driver
 * set its outcome). */
void camp_track_end(struct camp_track *t);

/* Read `tree`'s answer on COM1 into the record's services ("  NAME
 * service STATE pid=P restarts=N ..."). false: the answer is not whole
 * yet (no closing prompt). */
bool camp_track_tree(struct camp_record *r, const char *out);

#endif
