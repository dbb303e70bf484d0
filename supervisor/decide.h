/*
 * The supervisor's decision logic: a pure state machine over a tree of
 * supervisors and services. Events and time go in, actions come out; it
 * makes no system calls, keeps no globals and allocates nothing: the caller
 * owns struct sup_tree and the action array, and passes the monotonic time
 * (ns) with every event. The supervisor process around it does the I/O:
 * spawns, kills, stop requests, stash handling, the event log, the timer.
 *
 * It applies Erlang/OTP's supervisor semantics (one_for_one, one_for_all,
 * rest_for_one; permanent, transient, temporary; restart intensity over a
 * sliding window; shutdown with a timeout, then a kill; escalation to the
 * parent) plus what Vesta adds: heartbeats, a ready timeout, restart
 * backoff and the fate of each service's stash. supervisor/README.md says
 * where Vesta differs from OTP.
 *
 * The loop around it:
 *
 *	sup_init(&t, &spec, now);
 *	for (;;) {
 *		wait for a kernel event or until sup_next_deadline(&t);
 *		fill ev (SUP_EV_TICK if the deadline came first), ev.now = clock();
 *		n = sup_step(&t, &ev, acts, SUP_STEP_MAX);
 *		perform acts[0..n) in order;
 *	}
 *
 * Performing SUP_ACT_START means spawning the service and feeding back
 * SUP_EV_STARTED (with the pid) or SUP_EV_START_FAILED before the next
 * event for that node, or SUP_EV_START_IGNORED when the service has nothing
 * to run on (a driver whose device the machine lacks): as OTP's `ignore`,
 * the node then stays down, wanted down, with no restart and nothing
 * counted against any intensity, until an operator starts it.
 */
#ifndef VESTA_SUP_DECIDE_H
#define VESTA_SUP_DECIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vesta/abi.h>

/* Bounds of one tree. 64 nodes is far more than an appliance image holds;
 * depth 8 bounds the recursion (child to parent and back) of one step. */
#define SUP_NODES_MAX 64
#define SUP_DEPTH_MAX 8
/* Most restarts an intensity may allow within its period. The window keeps
 * one more timestamp than that. */
#define SUP_INTENSITY_MAX 32
#define SUP_WINDOW_MAX (SUP_INTENSITY_MAX + 1)
/* Crashes within the period after which a kept stash is discarded (the
 * third crash says the stash is the cause rather than bad luck; two crashes
 * keep the data). At most SUP_WINDOW_MAX. */
#define SUP_STASH_CRASHES_DEFAULT 3
/* Only a crash before the incarnation had served this long counts towards
 * K: a stash that breaks its service breaks it as it is read at start, and
 * a service that served a second on its stash had a good one; its later
 * crashes come from elsewhere and must not cost it its data. */
#define SUP_STASH_PROVEN_NS 1000000000ull
/* Actions one step can produce at most: each node contributes at most 6
 * (exit or stop log, discard, start log, start or stop or kill, escalate or
 * ready log, give-up), plus the final SUP_ACT_WAIT. sup_step wants at
 * least this much room. */
#define SUP_STEP_MAX (6 * SUP_NODES_MAX + 1)

#define SUP_NO_DEADLINE UINT64_MAX
#define SUP_NO_NODE 0xffffu
#define SUP_BRUTAL_KILL 0 /* shutdown_ns: kill at once, no graceful stop */

enum sup_kind {
	SUP_SERVICE = 0,    /* a process the supervisor spawns */
	SUP_SUPERVISOR = 1, /* a node of the tree with children */
};

/*
 * The OTP vocabulary: a child's restart type, a supervisor's strategy, the
 * fate of a service's stash and the root's give-up action. Defined once,
 * here: the policy language (policy.h) parses its words straight into
 * these, with the name tables below (sup_*_names, indexed by the enum).
 */
enum sup_strategy {
	SUP_ONE_FOR_ONE = 0,  /* restart only the child that failed */
	SUP_ONE_FOR_ALL = 1,  /* stop all children, restart all */
	SUP_REST_FOR_ONE = 2, /* stop it and those started after it, restart them */
	SUP_NSTRATEGIES
};

enum sup_restart {
	SUP_PERMANENT = 0, /* always restarted */
	SUP_TRANSIENT = 1, /* restarted only after an abnormal exit */
	SUP_TEMPORARY = 2, /* never restarted; its exits never count */
	SUP_NRESTARTS
};

enum sup_stash {
	SUP_STASH_DISCARD = 0, /* every incarnation starts clean */
	SUP_STASH_KEEP = 1,    /* the stash is handed to the next incarnation */
	SUP_NSTASH
};

/* What the root does when its intensity is exceeded. */
enum sup_giveup { SUP_GIVEUP_REBOOT = 0, SUP_GIVEUP_HALT = 1, SUP_GIVEUP_PANIC = 2, SUP_NGIVEUPS };

/* The words of the OTP vocabulary, as the policy language writes them and
 * the event log and the shell print them: one table each, indexed by the
 * enum (an initializer, like VE_PRIO_NAMES, for tables in both the
 * machine and the parser). */
#define SUP_STRATEGY_NAMES                                                                         \
	{                                                                                          \
		[SUP_ONE_FOR_ONE] = "one_for_one", [SUP_ONE_FOR_ALL] = "one_for_all",              \
		[SUP_REST_FOR_ONE] = "rest_for_one",                                               \
	}
#define SUP_RESTART_NAMES                                                                          \
	{                                                                                          \
		[SUP_PERMANENT] = "permanent", [SUP_TRANSIENT] = "transient",                      \
		[SUP_TEMPORARY] = "temporary",                                                     \
	}
#define SUP_STASH_NAMES                                                                            \
	{                                                                                          \
		[SUP_STASH_DISCARD] = "discard", [SUP_STASH_KEEP] = "keep"                         \
	}
#define SUP_GIVEUP_NAMES                                                                           \
	{                                                                                          \
		[SUP_GIVEUP_REBOOT] = "reboot", [SUP_GIVEUP_HALT] = "halt",                        \
		[SUP_GIVEUP_PANIC] = "panic",                                                      \
	}

/* Why a node went down. NORMAL and SHUTDOWN are normal exits (a transient
 * child is not restarted after one); everything else is abnormal. */
enum sup_exit {
	SUP_EXIT_NORMAL = 0,	   /* exit(0) */
	SUP_EXIT_SHUTDOWN = 1,	   /* stopped by its supervisor */
	SUP_EXIT_ERROR = 2,	   /* exit(code), code not 0 nor VE_EXIT_IMAGE_CORRUPT */
	SUP_EXIT_FAULT = 3,	   /* a CPU exception or the kernel killed it */
	SUP_EXIT_KILLED = 4,	   /* killed by someone else (the shell's kill) */
	SUP_EXIT_HUNG = 5,	   /* killed by its supervisor: missed heartbeat or ready */
	SUP_EXIT_START_FAILED = 6, /* the spawn failed */
	SUP_EXIT_ESCALATED = 7,	   /* a supervisor that gave up */
	SUP_EXIT_IMAGE = 8,	   /* exit(VE_EXIT_IMAGE_CORRUPT): its code changed */
	SUP_NEXITS
};

/* A service's policy. Durations in ns; 0 means "none" unless said. */
struct sup_svc_spec {
	uint64_t shutdown_ns;	     /* graceful stop timeout; SUP_BRUTAL_KILL */
	uint64_t heartbeat_ns;	     /* 0: none; else a heartbeat must come
					less than this after ready / the last one */
	uint64_t ready_timeout_ns;   /* 0: none; else killed as hung if not
					serving this long after it started */
	uint64_t backoff_initial_ns; /* 0: restart at once */
	uint64_t backoff_max_ns;     /* 0: initial; else >= initial */
	uint64_t backoff_reset_ns;   /* serving this long resets the backoff;
					0: max(backoff_max, parent's period) */
	uint32_t stash;		     /* enum sup_stash */
	uint32_t stash_crashes;	     /* K for state keep; 0: the default */
};

/* A supervisor's policy. */
struct sup_sup_spec {
	uint32_t strategy;  /* enum sup_strategy */
	uint32_t intensity; /* restarts allowed within period, <= SUP_INTENSITY_MAX */
	uint64_t period_ns; /* > 0 */
	uint32_t giveup;    /* enum sup_giveup; read at the root only */
};

/* One node of the tree. Node 0 is the root supervisor; every other node
 * names a supervisor with a smaller index as its parent. A supervisor's
 * children start in index order. */
struct sup_node_spec {
	uint32_t kind;	  /* enum sup_kind */
	int32_t parent;	  /* index; -1 for the root */
	uint32_t restart; /* enum sup_restart, as a child of its parent */
	struct sup_svc_spec svc;
	struct sup_sup_spec sup;
};

struct sup_spec {
	const struct sup_node_spec *nodes;
	size_t n;
};

/* Sliding window of timestamps, oldest first. */
struct sup_window {
	uint64_t at[SUP_WINDOW_MAX];
	uint32_t n;
};

/* Where a service is. One transition function per event (service.c). */
enum sup_svc_state {
	SUP_SVC_DOWN = 0,     /* no process, none due */
	SUP_SVC_BACKOFF,      /* no process; spawned at `due` */
	SUP_SVC_SPAWNING,     /* START issued, pid not known yet */
	SUP_SVC_SPAWN_CANCEL, /* START issued, then a stop decided: killed once known */
	SUP_SVC_STARTING,     /* running, not serving yet; due: ready timeout */
	SUP_SVC_UP,	      /* serving; due: heartbeat deadline */
	SUP_SVC_STOPPING,     /* asked to stop; due: when it is killed */
	SUP_SVC_KILLING,      /* killed, its exit not seen yet */
	SUP_SVC_HUNG,	      /* killed as hung, its exit not seen yet */
};

/* Where a supervisor is (strategy.c). */
enum sup_sup_state {
	SUP_SUP_DOWN = 0,   /* every child down */
	SUP_SUP_STARTING,   /* starting children in order from cursor */
	SUP_SUP_UP,	    /* every wanted child started and served once */
	SUP_SUP_RESTARTING, /* stopping children [cursor, n) in reverse order,
			       then starting them again */
	SUP_SUP_STOPPING,   /* stopping every child in reverse order */
	SUP_SUP_GIVING_UP,  /* the same, then escalate (or the root's action) */
	SUP_SUP_GAVE_UP,    /* the root after its give-up action: terminal */
};

/* Whether a node should be running: what an operator or a temporary's exit
 * last decided. */
enum sup_want {
	SUP_WANT_UP = 0,
	SUP_WANT_DOWN = 1,
};

/* Run-time state of one node. Written only by sup_*; the caller may read
 * it (the shell's `tree`). */
struct sup_node {
	struct sup_node_spec spec; /* a copy, defaults filled in */
	uint16_t parent;	   /* SUP_NO_NODE for the root */
	uint16_t pos;		   /* index among its parent's children */
	uint16_t kid0, nkids;	   /* its children: tree->kids[kid0 .. +nkids) */
	uint16_t depth;
	uint8_t state;	       /* enum sup_svc_state or sup_sup_state by kind */
	uint8_t want;	       /* enum sup_want */
	uint16_t cursor;       /* supervisor: next child to start / lowest to stop */
	uint16_t cause;	       /* whose failure its next start is a restart for */
	uint16_t last_exit;    /* enum sup_exit, of its last incarnation */
	int32_t pid;	       /* service: its process, 0 when none */
	uint32_t restarts;     /* restarts decided for it (after its failures) */
	uint32_t starts;       /* incarnations started */
	uint32_t backoff_lvl;  /* consecutive quick failures */
	uint64_t due;	       /* deadline of its state, SUP_NO_DEADLINE */
	uint64_t ready_at;     /* when it last began serving, SUP_NO_DEADLINE */
	uint64_t not_before;   /* backoff: not spawned before this */
	struct sup_window win; /* supervisor: restarts; service: crashes (stash) */
};

/* A whole tree. The caller allocates it (it is large: keep it static). */
struct sup_tree {
	struct sup_node node[SUP_NODES_MAX];
	uint16_t kids[SUP_NODES_MAX]; /* children of each supervisor, grouped */
	uint16_t n;
	uint64_t now;	  /* time of the last event */
	uint64_t dropped; /* actions lost for want of room: always 0 */
};

enum sup_ev_kind {
	SUP_EV_TICK = 0,	  /* time passed (a deadline is due) */
	SUP_EV_STARTED = 1,	  /* node spawned as pid */
	SUP_EV_START_FAILED = 2,  /* node could not be spawned */
	SUP_EV_READY = 3,	  /* node (pid) serves its channels */
	SUP_EV_HEARTBEAT = 4,	  /* node (pid) is alive */
	SUP_EV_EXITED = 5,	  /* node (pid) died; exit says why */
	SUP_EV_CMD_STOP = 6,	  /* operator: stop node, keep it down */
	SUP_EV_CMD_START = 7,	  /* operator: start node again */
	SUP_EV_CMD_RESTART = 8,	  /* operator: stop node and start it again */
	SUP_EV_START_IGNORED = 9, /* node has nothing to run on (its device is
				     absent): OTP's `ignore`, not a failure */
	SUP_NEVS
};

struct sup_event {
	uint32_t kind; /* enum sup_ev_kind */
	uint16_t node; /* all but TICK */
	uint16_t exit; /* EXITED: enum sup_exit (see sup_exit_of) */
	int32_t pid;   /* STARTED, READY, HEARTBEAT, EXITED */
	uint64_t now;  /* monotonic ns, never less than the last event's */
};

enum sup_act_kind {
	SUP_ACT_START = 0,	   /* spawn node's service; answer STARTED, START_FAILED
				      or START_IGNORED */
	SUP_ACT_STOP = 1,	   /* ask pid to stop; it is killed at deadline */
	SUP_ACT_KILL = 2,	   /* kill pid (brutal_kill or stop timeout) */
	SUP_ACT_KILL_HUNG = 3,	   /* kill pid: it missed its heartbeat / ready */
	SUP_ACT_DISCARD_STASH = 4, /* free node's stash: it starts clean */
	SUP_ACT_GIVEUP = 5,	   /* the root gave up: giveup says what to do */
	SUP_ACT_LOG = 6,	   /* an event-log line: log says which */
	SUP_ACT_WAIT = 7,	   /* next deadline; always last when present */
	SUP_NACTS
};

enum sup_log_kind {
	SUP_LOG_START = 0,    /* node started (first time or by an operator) */
	SUP_LOG_RESTART = 1,  /* node restarted: strategy, cause */
	SUP_LOG_EXIT = 2,     /* node went down by itself: exit */
	SUP_LOG_STOP = 3,     /* node was stopped by its supervisor */
	SUP_LOG_HUNG = 4,     /* node missed its heartbeat / ready deadline */
	SUP_LOG_ESCALATE = 5, /* supervisor node gave up; its parent decides */
	SUP_LOG_GIVEUP = 6,   /* the root gave up: giveup */
	SUP_LOG_READY = 7,    /* the whole tree is up */
	SUP_LOG_STASH = 8,    /* node's kept stash discarded after K crashes */
	SUP_LOG_IGNORE = 9,   /* node not started: nothing to run on */
	SUP_NLOGS
};

struct sup_action {
	uint16_t kind;	   /* enum sup_act_kind */
	uint16_t node;	   /* the node acted on */
	int32_t pid;	   /* STOP, KILL, KILL_HUNG */
	uint64_t deadline; /* STOP: kill time; WAIT: next deadline */
	uint16_t log;	   /* LOG: enum sup_log_kind */
	uint16_t exit;	   /* LOG EXIT: enum sup_exit */
	uint16_t strategy; /* LOG RESTART: enum sup_strategy of the parent */
	uint16_t cause;	   /* LOG RESTART: node whose failure caused it */
	uint16_t giveup;   /* GIVEUP, LOG GIVEUP: enum sup_giveup */
};

/*
 * Validate spec and set t up: every node down, the root wanted up and due
 * at now, so the first SUP_EV_TICK starts the tree. spec is copied.
 * Errors: -VE_INVAL (a bad enum, parent, period, backoff or root),
 * -VE_RANGE (too many nodes, too deep, intensity or K too large). On error
 * t is left unusable (n == 0).
 */
int sup_init(struct sup_tree *t, const struct sup_spec *spec, uint64_t now);

/* What a restarted supervisor process found of one service node: the
 * process its previous incarnation left running for it (the kernel hands
 * a new root supervisor the children of the old one), if any. */
struct sup_found {
	int32_t pid; /* 0: no process (never started, or gone and reaped) */
	bool ready;  /* it already serves its channels */
};

/*
 * Instead of starting the tree (the first SUP_EV_TICK after sup_init),
 * take over the processes a previous supervisor left: found[i] is node
 * i's (n == t->n; supervisor nodes have pid 0). A service with a process
 * is running again with no START and no log line: ready (UP, its
 * heartbeat due a full interval from now) or not yet (STARTING, its ready
 * timeout from now). A service with none was lost with the old
 * supervisor's memory, and nothing says why it is gone: a temporary one
 * stays down (it is never restarted); any other is started again in its
 * start-order turn, alone, logged as a `start` and not counted toward
 * intensity, since its supervisor's death is not its failure. Supervisors
 * resume starting their children and the root logs `ready` once every
 * wanted child is up. A process that had died but was not reaped yet is
 * adopted like a live one: feed its exit as SUP_EV_EXITED next, and its
 * restart type, the strategy and intensity decide, as for any exit.
 * Writes the actions to out like sup_step (SUP_ACT_WAIT last).
 * Returns how many, or an error with t unchanged: -VE_RANGE (cap <
 * SUP_STEP_MAX), -VE_INVAL (n, a negative pid, a pid for a supervisor
 * node, one pid for two nodes, time going backwards), -VE_BUSY (t was
 * started or adopted already).
 */
int sup_adopt(struct sup_tree *t, const struct sup_found *found, size_t n, uint64_t now,
	      struct sup_action *out, size_t cap);

/*
 * Apply one event and write the actions it calls for to out, in the order
 * they must be performed; the last is SUP_ACT_WAIT when a deadline is
 * pending. Returns how many, or an error with t unchanged:
 * -VE_RANGE (cap < SUP_STEP_MAX), -VE_INVAL (bad kind, node, exit, time
 * going backwards, or an event the node's state cannot take: STARTED for
 * a node not spawning, STOP or RESTART of a node already stopped), -VE_NOENT (pid is not the node's current
 * incarnation: a stale event), -VE_BUSY (a command while the node's
 * supervisor is restarting or stopping, START on a running node, or
 * anything after the root gave up).
 */
int sup_step(struct sup_tree *t, const struct sup_event *ev, struct sup_action *out, size_t cap);

/* The earliest deadline of any node, SUP_NO_DEADLINE if none: feed a
 * SUP_EV_TICK at or after it. */
uint64_t sup_next_deadline(const struct sup_tree *t);

/*
 * The supervisor itself ran `late` ns after its deadline: the machine
 * stood still (a paused or descheduled VM; a supervisor of the highest
 * class is late by more than a quantum only then), so every service was
 * held as long, and a heartbeat or ready deadline that passed meanwhile
 * says nothing of it. Those deadlines move by `late`; backoff and stop
 * deadlines do not.
 */
void sup_stalled(struct sup_tree *t, uint64_t late);

/* The node whose service runs as pid, or SUP_NO_NODE. */
uint16_t sup_node_of_pid(const struct sup_tree *t, int32_t pid);

/* The sup_exit for a kernel exit report (enum ve_reason, exit code). */
enum sup_exit sup_exit_of(uint32_t ve_reason, int64_t code);

/* Names for the event log and the shell ("one_for_all", "hung", ...);
 * "?" for a value out of range. */
const char *sup_strategy_name(uint32_t strategy);
const char *sup_exit_name(uint32_t exit);
const char *sup_log_name(uint32_t log);
const char *sup_giveup_name(uint32_t giveup);

#endif
