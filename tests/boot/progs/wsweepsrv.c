/*
 * wsweepsrv: the server of tests/boot/scenarios/wsweep.scn. It serves
 * "wsweep" (messages in wsweep.h); its whole state is in its stash: the
 * count of ADDs, and WSWEEP_COUNTERS counters, one per stash page. An ADD
 * writes them one after another with some arithmetic between the writes,
 * as a real request's path interleaves work and state changes, so that a
 * death can land between any two of them; the reply carries the totals.
 *
 * Args "windows|plain [next]": "windows" (the stash has recovery windows:
 * a death rolls it back to the last reply, so the replayed ADD takes
 * effect once) or "plain" (a plain kept stash: a death leaves half an ADD
 * behind, and its replay adds again; the test must catch that). It answers
 * and waits with ve_chan_reply_recv, or with "next" ve_chan_next, whose
 * answer must commit the same way.
 * Exit 1 if the stash or the channel fails, 2 for bad args.
 */
#include "vesta.h"
#include "wsweep.h"

#define STASH_SIZE (WSWEEP_COUNTERS * VE_PAGE_SIZE)
#define WORK_ROUNDS 6 /* arithmetic between two writes */

struct state {
	uint64_t adds, scratch; /* page 0; scratch: the work's result */
};

/* Some work between two writes: a few rounds of a 64-bit LCG. */
static uint64_t work(uint64_t x)
{
	for (unsigned i = 0; i < WORK_ROUNDS; i++)
		x = x * 6364136223846793005ull + 1442695040888963407ull;
	return x;
}

static volatile uint64_t *counter(uint8_t *stash, unsigned k)
{
	return (volatile uint64_t *)(stash + k * VE_PAGE_SIZE + 64);
}

static void handle(uint8_t *stash, const struct wsweep_req *req, struct wsweep_rep *rep)
{
	volatile struct state *st = (volatile struct state *)stash;

	if (req->op == WSWEEP_ADD) {
		uint64_t x = req->value;
		st->adds = st->adds + 1;
		for (unsigned k = 0; k < WSWEEP_COUNTERS; k++) {
			x = work(x);
			*counter(stash, k) = *counter(stash, k) + req->value * (k + 1);
		}
		st->scratch = x;
	}
	rep->adds = st->adds;
	for (unsigned k = 0; k < WSWEEP_COUNTERS; k++)
		rep->count[k] = *counter(stash, k);
}

/* Answer id with buf[0..len) and receive the next message on h into buf
 * and *m, by the fast path or the general one. */
static long step(int32_t h, bool general, uint64_t id, char *buf, long len, struct ve_msg *m)
{
	struct ve_next nx = { .handles = &h, .n = 1, .cap = VE_MSG_MAX };

	if (!general)
		return ve_chan_reply_recv(h, id, buf, (size_t)len, VE_MSG_MAX, VE_TIMEOUT_NONE, m,
					  NULL, NULL);
	do {
		len = ve_chan_next(h, id, buf, (size_t)len, &nx);
		id = 0;
	} while (len == 0 && nx.result.handle < 0);
	*m = nx.msg;
	return len;
}

int main(const char *args)
{
	static union {
		struct wsweep_req req;
		struct wsweep_rep rep;
		char raw[VE_MSG_MAX];
	} buf;
	const char *p = ve_skip_space(args);
	bool windows = ve_word_is(p, ve_word_len(p), "windows");
	bool general = ve_args_have(args, "next");
	uint64_t pid = (uint64_t)ve_getpid(), id = 0;
	struct ve_msg m;
	long len = 0, base;

	if (!windows && !ve_word_is(p, ve_word_len(p), "plain")) {
		ve_printf("wsweepsrv: bad args '%s' (want windows or plain)\n", args);
		return 2;
	}
	base = ve_stash_open_wait(STASH_SIZE, windows ? VE_STASH_WINDOWS : 0);
	int32_t h = base < 0 ? (int32_t)base : ve_chan_serve_wait("wsweep");
	if (h < 0) {
		ve_printf("wsweepsrv: stash or serve: %s\n", ve_strerror(h));
		return 1;
	}
	for (;;) {
		len = step(h, general, id, buf.raw, len, &m);
		if (len < 0) {
			ve_printf("wsweepsrv: %s\n", ve_strerror(len));
			return 1;
		}
		id = m.id;
		if (len != sizeof(buf.req)) {
			len = 0; /* not ours: an empty answer */
			continue;
		}
		struct wsweep_req req = buf.req;
		handle((uint8_t *)(uintptr_t)base, &req, &buf.rep);
		buf.rep.pid = pid;
		len = sizeof(buf.rep);
	}
}
