/*
 * benchsink: the receiving end of `make bench`'s one-way casts. Args
 * "CHANNEL": it serves CHANNEL and acks every cast, one ve_chan_reply_recv per
 * message (the ack of one and the receipt of the next). It blocks only when
 * the queue is empty, so how many casts it takes per wakeup depends only on
 * how many the channel let pile up: the manifest's max_messages sets the
 * batch size (1: no batching).
 *
 * A call is a report request: it is answered with a struct bench_sink_report
 * (casts and wakeups since the previous report), then both counts restart.
 * Channels are FIFO, so the reply to a call sent after N casts also means
 * that all N have been acked.
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

int main(const char *args)
{
	static char buf[VE_MSG_MAX];
	const char *name = ve_skip_space(args);
	struct ve_msg m;
	uint32_t waited;
	uint64_t id = 0; /* the message to answer: ack a cast, reply to a call */
	size_t len = 0;
	int32_t h;
	long r;

	if (*name == '\0') {
		ve_printf("benchsink: bad args '%s' (want \"CHANNEL\")\n", args);
		return 2;
	}
	h = ve_chan_serve(name);
	if (h < 0) {
		ve_printf("benchsink: serve %s: %s\n", name, ve_strerror(h));
		return 1;
	}
	for (;;) {
		/* buf is the reply when there is one: the report is copied there. */
		if (len)
			memcpy(buf, &rep, sizeof(rep));
		r = ve_chan_reply_recv(h, id, buf, len, sizeof(buf), VE_TIMEOUT_NONE, &m, NULL,
				       &waited);
		if (r < 0) {
			ve_printf("benchsink %s: %s\n", name, ve_strerror(r));
			return 1;
		}
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
