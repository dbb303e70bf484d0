/*
 * benchsink: the receiving end of `make bench`'s one-way casts. Args
 * "CHANNEL": it serves CHANNEL and acks every cast. Each time wait_any
 * returns it drains the whole queue (recv until -VE_AGAIN), so how many
 * casts it takes per wakeup depends only on how many the channel let pile
 * up: the manifest's max_messages sets the batch size (1: no batching).
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
	uint64_t wakeups; /* wait_any returns that found work, same period,
			     the one that brought the report call included */
};

static struct bench_sink_report rep;

/* Deal with everything queued on h. Returns 0 once it is empty, or an error. */
static long drain(int h)
{
	static char buf[VE_MSG_MAX];
	struct ve_msg m;
	long len, r;

	while ((len = ve_chan_recv(h, &m, buf, sizeof(buf))) >= 0) {
		if (m.kind == VE_MSG_CAST) {
			rep.casts++;
			r = ve_chan_ack(h, m.id);
		} else {
			r = ve_chan_reply(h, m.id, &rep, sizeof(rep));
			rep.casts = rep.wakeups = 0;
		}
		if (r < 0)
			return r;
	}
	return len == -VE_AGAIN ? 0 : len;
}

int main(const char *args)
{
	const char *name = ve_skip_space(args);
	struct ve_wait_result wr;
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
		r = ve_wait_any(&h, 1, VE_TIMEOUT_NONE, &wr);
		if (r == 0) {
			rep.wakeups++;
			r = drain(h);
		}
		if (r < 0) {
			ve_printf("benchsink %s: %s\n", name, ve_strerror(r));
			return 1;
		}
	}
}
