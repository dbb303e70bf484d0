/*
 * kv's disk device over a block driver's channel (svc/lib/blk.h): the
 * calls dlog.h's struct dlog_dev wants. Guest only.
 */
#ifndef VESTA_SVC_KV_RBLK_H
#define VESTA_SVC_KV_RBLK_H

#include <stdint.h>

#include "dlog.h"

struct ve_heartbeat;

struct rblk {
	int32_t h;		 /* client handle of the disk's channel */
	struct ve_heartbeat *hb; /* beaten while a call waits; NULL: none */
	uint64_t sectors;	 /* the disk's size, as INFO said */
	uint32_t flags;		 /* BLK_F_* */
};

/* Open the channel chan. Returns 0 or a negative -VE_* code (b->h then
 * holds it too: no channel yet). */
int rblk_open(struct rblk *b, const char *chan, struct ve_heartbeat *hb);

/* Ask the driver for the disk's size, waiting at most timeout_ns: 1 and
 * *dev set (its calls go to b) when it answered, 0 when it did not yet
 * (no driver, or not up), or a negative -VE_* code. */
int rblk_probe(struct rblk *b, struct dlog_dev *dev, uint64_t timeout_ns);

#endif
