/*
 * kv's disk device: dlog's three calls (read, write, flush) as calls on a
 * block driver's channel (svc/lib/blk.h), split into requests of at most
 * BLK_XFER_MAX sectors.
 *
 * A call that times out is sent again, beating between tries: a driver
 * that died has the request replayed to its next incarnation, one that
 * hangs is restarted by its supervisor, and kv stays alive meanwhile. The
 * driver serves one request at a time in order, so a request cancelled at
 * its deadline has been done or dropped before the one sent again is
 * taken: a late copy never lands after a newer write.
 */
#include "vesta.h"

#include "blk.h"
#include "rblk.h"

#define CALL_NS 500000000ull /* one try: well inside kv's heartbeat */

static uint8_t msg[VE_MSG_MAX], rep[VE_MSG_MAX];

/* One request: q, then dlen bytes of data; the reply's data (olen bytes)
 * to out. Returns 0 or a negative BLK_E* code. */
static int request(struct rblk *b, uint8_t op, uint64_t sector, uint32_t count, const void *data,
		   void *out)
{
	struct blk_req q = { .op = op, .count = count, .sector = sector };
	size_t dlen = op == BLK_OP_WRITE ? count * BLK_SECTOR : 0;
	size_t olen = op == BLK_OP_READ ? count * BLK_SECTOR : 0;
	struct blk_rep h;
	long r;

	memcpy(msg, &q, sizeof(q));
	if (dlen)
		memcpy(msg + sizeof(q), data, dlen);
	/* A long read back or checkpoint is thousands of requests: beat
	 * between them, or the supervisor takes kv for hung. */
	do {
		if (b->hb)
			ve_heartbeat_due(b->hb);
		r = ve_chan_call(b->h, msg, sizeof(q) + dlen, rep, sizeof(rep), CALL_NS);
	} while (r == -VE_TIMEOUT);
	if (r < (long)sizeof(h))
		return -BLK_EIO; /* a dead letter, or not an answer */
	memcpy(&h, rep, sizeof(h));
	if (h.err)
		return h.err < 0 ? h.err : -BLK_EIO;
	if ((size_t)r != sizeof(h) + olen)
		return -BLK_EIO;
	if (olen)
		memcpy(out, rep + sizeof(h), olen);
	b->sectors = h.sectors;
	return 0;
}

static int dev_read(void *ctx, uint64_t sector, void *buf, uint32_t count)
{
	for (uint32_t k; count; count -= k, sector += k, buf = (uint8_t *)buf + k * BLK_SECTOR) {
		int r;

		k = count < BLK_XFER_MAX ? count : BLK_XFER_MAX;
		if ((r = request(ctx, BLK_OP_READ, sector, k, NULL, buf)) != 0)
			return r;
	}
	return 0;
}

static int dev_write(void *ctx, uint64_t sector, const void *buf, uint32_t count)
{
	for (uint32_t k; count;
	     count -= k, sector += k, buf = (const uint8_t *)buf + k * BLK_SECTOR) {
		int r;

		k = count < BLK_XFER_MAX ? count : BLK_XFER_MAX;
		if ((r = request(ctx, BLK_OP_WRITE, sector, k, buf, NULL)) != 0)
			return r;
	}
	return 0;
}

static int dev_flush(void *ctx)
{
	return request(ctx, BLK_OP_FLUSH, 0, 0, NULL, NULL);
}

int rblk_open(struct rblk *b, const char *chan, struct ve_heartbeat *hb)
{
	b->hb = hb;
	b->h = ve_chan_open(chan);
	return b->h < 0 ? b->h : 0;
}

int rblk_probe(struct rblk *b, struct dlog_dev *dev, uint64_t timeout_ns)
{
	struct blk_req q = { .op = BLK_OP_INFO };
	struct blk_rep h;
	long r = ve_chan_call(b->h, &q, sizeof(q), rep, sizeof(rep), timeout_ns);

	if (r == -VE_TIMEOUT)
		return 0;
	if (r < (long)sizeof(h))
		return r < 0 ? (int)r : -VE_INVAL;
	memcpy(&h, rep, sizeof(h));
	if (h.err)
		return -VE_INVAL;
	*dev = (struct dlog_dev){ .ctx = b,
				  .sectors = h.sectors,
				  .read = dev_read,
				  .write = dev_write,
				  .flush = dev_flush };
	b->sectors = h.sectors;
	b->flags = h.flags;
	return 1;
}
