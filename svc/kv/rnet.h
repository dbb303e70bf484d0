/*
 * kv's Redis face on the network: a client of the TCP/IP service's
 * sockets (svc/lib/sock.h) that listens on a port, runs what each
 * connection sends through the engine (resp.h) and the durable log
 * (rstore.h), and sends the replies back. The connections live in the
 * TCP/IP service, so a kv that dies and comes back finds them there and
 * carries on where its log says it was: a client sees a slower answer,
 * never a reset.
 */
#ifndef VESTA_SVC_KV_RNET_H
#define VESTA_SVC_KV_RNET_H

#include <stdbool.h>
#include <stdint.h>

#include "rblk.h"
#include "rdisk.h"
#include "rstore.h"

#define RNET_OWNER "kv"
#define RNET_NOTIFY "kv.tcp"
#define RNET_CONF_MAX 4 /* "name=value" args for the engine's settings */

struct rnet {
	struct rs_engine e;
	struct rstore st;
	int32_t tcp;	/* client handle of "tcp" */
	int32_t notify; /* server handle of RNET_NOTIFY */
	uint16_t port;
	uint64_t lid;	    /* 0 until LISTEN succeeds */
	uint64_t next_tick; /* ns: expiry sweep, LISTEN retry, LIST */
	uint64_t ticks;
	bool again;			   /* some connection has more to read: do not block */
	struct rs_arg conf[RNET_CONF_MAX]; /* the policy's "name=value" args */
	unsigned nconf;
	/* The disk (rdisk.h): set disk_chan (e.g. "blk0") before rnet_start
	 * for one; hb is beaten while kv waits for it. */
	const char *disk_chan;
	struct ve_heartbeat *hb;
	struct rdisk disk;
	struct rblk blk;
	uint64_t next_disk; /* ns: the next probe of the driver, or retry */
	uint64_t started;   /* ns: rnet_start */
	/* kv's hooks: on_load once the disk is read back, on_release when a
	 * group commit made what was pending durable (hook_ctx for both). */
	void (*on_load)(void *ctx);
	void (*on_release)(void *ctx);
	void *hook_ctx;
	bool wait_said; /* the console was told kv waits for its disk */
};

/* Rebuild from the stash region, set the engine's limits (n->conf over
 * the defaults the region's size allows), open the channels and listen on
 * port. Returns 0, or a negative -VE_* code (kv exits). */
int rnet_start(struct rnet *n, uint16_t port, void *region, size_t size);

/* Handle a message received on n->notify (an event from the service). */
void rnet_event(struct rnet *n, const void *msg, size_t len);

/* Periodic work and connections left with more to read. Returns the
 * nanoseconds until it wants to run again (0: at once). */
uint64_t rnet_work(struct rnet *n);

#endif
