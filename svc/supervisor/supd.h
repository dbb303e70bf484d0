/*
 * The supervisor process, shared by its three files: supervisor.c (the
 * event loop and the actions it performs), load.c (the policies from the
 * boot bundle) and control.c (the "sup" channel: heartbeats and the
 * operator's commands). The decisions themselves are made by the pure
 * state machine in supervisor/decide.h; this process only does the I/O.
 */
#ifndef VESTA_SVC_SUPD_H
#define VESTA_SVC_SUPD_H

#include "vesta.h"

#include "../../supervisor/decide.h"
#include "../../supervisor/plan.h"
#include "../../supervisor/policy.h"

/* The list of policy files in the bundle: one bundle file name per line;
 * blank lines and lines starting with '#' are skipped. */
#define SUPD_LIST_FILE "policies.list"
/* Largest policy file (and list) read from the bundle: a policy is a page
 * or two of text, so 32 KiB is plenty and still fits in .bss. */
#define SUPD_FILE_MAX (32u * 1024u)
/* Events the loop queues while performing one step's actions: each START
 * feeds back STARTED and, for a service that serves nothing, READY. */
#define SUPD_QUEUE_MAX (2u * SUP_NODES_MAX + 8u)

/* Everything the process knows. One instance, in .bss (it is large). */
struct supd {
	struct pol_set pol;
	struct sup_plan plan;
	struct sup_tree tree;
	struct sup_action acts[SUP_STEP_MAX];
	struct sup_event queue[SUPD_QUEUE_MAX]; /* fed after the current step */
	size_t qhead, qlen;
	/* A service's start/restart log line waits for its START, so the
	 * event can carry the new pid. */
	struct sup_action start_log[SUP_NODES_MAX];
	bool start_log_pending[SUP_NODES_MAX];
	/* The kernel's reason for each node's last death, for `tree`. */
	uint32_t last_reason[SUP_NODES_MAX];
	bool exited[SUP_NODES_MAX];
	int32_t handle; /* server handle of "sup", or < 0 */
	char file[SUPD_FILE_MAX + 1];
};

/* load.c: read policies.list and every file it names from the bundle,
 * parse and check them, and build d->plan. On any mistake it prints the
 * message (file:line:col: ...) on the console, posts a policy_error event
 * and exits the process with 1: it never returns an error. */
void supd_load(struct supd *d);

/* supervisor.c: feed ev to the machine and perform what it decides, then
 * the events that performing queued. Returns sup_step's result for ev
 * (a negative -VE_* when the machine refused it). */
int supd_feed(struct supd *d, struct sup_event ev);

/* control.c: take every message waiting on the "sup" channel: heartbeats
 * (casts whose first byte is SUP_HEARTBEAT_BYTE) and commands (calls). */
void supd_serve(struct supd *d);

/* supervisor.c: names of a node's state, for `tree`. */
const char *supd_state_name(const struct sup_node *n);

#endif
