/*
 * benchsink: the receiving end of `make bench`'s one-way casts. Args
 * "CHANNEL [batch]": it serves CHANNEL and acks every cast. Alone, one
 * ve_chan_reply_recv per message (the ack of one and the receipt of the
 * next); with "batch", one ve_chan_recvv per batch (the acks of the
 * previous batch and the receipt of up to VE_BATCH_MAX more). It blocks
 * only when the queue is empty, so how many casts it takes per wakeup
 * depends only on how many the channel let pile up: the manifest's
 * max_messages sets that (1: no batching).
 *
 * A call is a report request: it is answered with a struct bench_sink_report
 * (casts and wakeups since the previous report), then both counts restart.
 * Channels are FIFO, and the casts before a call are acked before it is
 * answered, so the reply to a call sent after N casts also means that all
 * N have been acked.
 * Exit 1 if a channel call fails, 2 for bad args.
 */
#include "vesta.h"

/* The reply to a report request; bench.c has the same layout. */
struct bench_sink_report {
	uint64_t casts;	  /* casts acked since the last report */
	uint64_t wakeups; /* times it blocked and woke to work, same period,
			     the one that brought the report call included */
};

static struct bench_sink_report rep;
static char buf[16 * VE_MSG_MAX / 2]; /* a batch's payloads; a message always fits */

static _Noreturn void failed(const char *name, const char *what, long r)
{
	ve_printf("benchsink %s: %s: %s\n", name, what, ve_strerror(r));
	ve_exit(1);
}

/* One message per system call. */
static _Noreturn void serve_one(int32_t h, const char *name)
{
	struct ve_msg m;
	uint32_t waited;
	uint64_t id = 0; /* the message to answer: ack a cast, reply to a call */
	size_t len = 0;

	for (;;) {
		/* buf is the reply when there is one: the report is copied there. */
		if (len)
			memcpy(buf, &rep, sizeof(rep));
		long r = ve_chan_reply_recv(h, id, buf, len, sizeof(buf), VE_TIMEOUT_NONE, &m, NULL,
					    &waited);
		if (r < 0)
			failed(name, "reply_recv", r);
		if (len)
			rep.casts = rep.wakeups = 0; /* the report went out */
		len = 0;
		rep.wakeups += waited;
		id = m.id;
		if (m.kind == VE_MSG_CAST)
			rep.casts++;
		else
			len = sizeof(rep);
	}
}

/* Answer the report call id, once the casts received before it are acked
 * (acks[0..*nacks), which is then empty). */
static void report(int32_t h, const char *name, uint64_t id, uint64_t *acks, uint32_t *nacks)
{
	long r;
	for (uint32_t i = 0; i < *nacks; i++)
		if ((r = ve_chan_ack(h, acks[i])) < 0)
			failed(name, "ack", r);
	*nacks = 0;
	if ((r = ve_chan_reply(h, id, &rep, sizeof(rep))) < 0)
		failed(name, "reply", r);
	rep.casts = rep.wakeups = 0;
}

/* A batch per system call: the casts of one are acked by the next. */
static _Noreturn void serve_batch(int32_t h, const char *name)
{
	static struct ve_msg msgs[VE_BATCH_MAX];
	static uint64_t acks[VE_BATCH_MAX];
	struct ve_batch b = { .acks = acks,
			      .max = VE_BATCH_MAX,
			      .msgs = msgs,
			      .buf = buf,
			      .cap = sizeof(buf),
			      .timeout_ns = VE_TIMEOUT_NONE };

	for (;;) {
		long r = ve_chan_recvv(h, &b);
		if (r < 0)
			failed(name, "recvv", r);
		rep.wakeups += b.waited;
		b.nacks = 0;
		for (long i = 0; i < r; i++) {
			if (msgs[i].kind == VE_MSG_CALL) {
				report(h, name, msgs[i].id, acks, &b.nacks);
				continue;
			}
			acks[b.nacks++] = msgs[i].id;
			rep.casts++;
		}
	}
}

int main(const char *args)
{
	char name[32];
	const char *p = ve_skip_space(args);
	size_t n = 0;
	int32_t h;

	while (*p && *p != ' ' && n < sizeof(name) - 1)
		name[n++] = *p++;
	name[n] = '\0';
	p = ve_skip_space(p);
	if (n == 0 || (*p && strcmp(p, "batch") != 0)) {
		ve_printf("benchsink: bad args '%s' (want \"CHANNEL [batch]\")\n", args);
		return 2;
	}
	h = ve_chan_serve(name);
	if (h < 0)
		failed(name, "serve", h);
	if (*p)
		serve_batch(h, name);
	serve_one(h, name);
}
