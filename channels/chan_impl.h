/*
 * The inside of a channel, shared by the core's own files only
 * (registry.c: names and lifetime; chan.c: messages and servers).
 * Nothing outside channels/ includes this.
 */
#ifndef VESTA_CHAN_IMPL_H
#define VESTA_CHAN_IMPL_H

#include "chan.h"

/* A list of messages, oldest at head. */
struct chan_msg_list {
	struct chan_msg *head, *tail;
	uint32_t n;
};

struct chan {
	struct chan_registry *reg; /* the registry that holds it: env, ids */
	struct chan *prev, *next;  /* in reg, creation order */
	char name[CHAN_NAME_MAX];
	struct chan_limits lim; /* defaults filled in */
	void *priv;		/* the kernel's */

	bool has_server;
	uint64_t server; /* valid when has_server */

	/* Every message the channel holds is on exactly one of these. The
	 * queue is in id order: sends go to the tail, replays to the head,
	 * and replays are always older than what is queued. */
	struct chan_msg_list queue;
	struct chan_msg_list inflight; /* in receive order, which is id order */
	uint32_t queued_bytes;	       /* payload bytes on queue */

	struct chan_stats st; /* the counters; queued/inflight/bytes filled on read */

	/* Ring of the newest dead letters: dead_next is where the next goes. */
	struct chan_deadletter dead[CHAN_DEADLETTER_KEEP];
	uint32_t dead_next, dead_n;
};

/* Free every message c holds, uncounted (registry teardown). */
void chan_drop_all(struct chan *c);

#endif
