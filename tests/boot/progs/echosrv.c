/*
 * echosrv: serves the channel "echo". A call is answered with its own
 * bytes; a cast is acked. Boot tests use it to check that channels survive
 * their server: it can be told to crash at random, always with a message in
 * flight, so the kernel must replay that message to the next incarnation.
 *
 * Args: "[crash=N] [next] [window]". With N > 0, each message seen for the first time
 * (redelivered == 0) crashes the server with probability 1/N, once
 * received and before it is answered. A payload starting with "POISON" crashes it every
 * time, replayed or not: the kernel must turn it into a dead letter.
 * Crashes are null-pointer writes (reason page_fault). It waits with
 * ve_chan_reply_recv, the kernel's fast path; with "next", with the general
 * ve_chan_next, so that boot tests cover both. With "window" it keeps
 * a count of the poison messages it has received in a stash with recovery
 * windows, and posts {"ev":"echosrv_poison","seen":N} before it dies on
 * one: the count is rolled back with each death, so N stays 1 however
 * often the message comes back (without windows it would count up).
 *
 * Exit codes: 1 a channel call failed, 2 bad args.
 */
#include "vesta.h"

/* Die with the message in flight: a write through a null pointer. */
static _Noreturn void crash(void)
{
	__asm__ volatile("movq $0, (%0)" : : "r"(0ul) : "memory");
	__builtin_trap();
}

static bool is_poison(const char *buf, long len)
{
	return len >= 6 && memcmp(buf, "POISON", 6) == 0;
}

/* "window": the poison count, in a windowed stash. */
static volatile uint64_t *poison_seen;

/* Parse "[crash=N] [next] [window]" into *every, *general and *window.
 * 0 or -VE_INVAL. */
static int parse_args(const char *args, uint64_t *every, bool *general, bool *window)
{
	const char *p = ve_skip_space(args);

	*every = 0;
	*general = *window = false;
	if (strncmp(p, "crash=", 6) == 0) {
		p += 6;
		if (ve_parse_u64(&p, every) < 0)
			return -VE_INVAL;
		p = ve_skip_space(p);
	}
	if (strncmp(p, "next", 4) == 0) {
		*general = true;
		p = ve_skip_space(p + 4);
	}
	if (strncmp(p, "window", 6) == 0) {
		*window = true;
		p = ve_skip_space(p + 6);
	}
	return *p == '\0' ? 0 : -VE_INVAL;
}

/* Answer id with buf[0..len) and receive the next message on h into buf
 * and *m, by the fast path or the general one. Returns the payload length,
 * 0 with m->id == 0 when it woke for nothing, or an error. */
static long step(int32_t *h, bool general, uint64_t id, char *buf, long len, struct ve_msg *m)
{
	struct ve_next nx = { .handles = h, .n = 1, .cap = VE_MSG_MAX };

	if (!general)
		return ve_chan_reply_recv(*h, id, buf, (size_t)len, VE_MSG_MAX, VE_TIMEOUT_NONE, m,
					  NULL, NULL);
	len = ve_chan_next(*h, id, buf, (size_t)len, &nx);
	*m = nx.result.handle >= 0 ? nx.msg : (struct ve_msg){ 0 };
	return len;
}

/* Crash, if this message says so, with it in flight. */
static void maybe_crash(const struct ve_msg *m, const char *buf, long len, struct ve_rng *rng,
			uint64_t every)
{
	if (is_poison(buf, len)) {
		if (poison_seen) {
			++*poison_seen; /* undone by the death below */
			ve_event1("echosrv_poison", "seen", (int64_t)*poison_seen);
		}
		crash();
	}
	if (every > 0 && m->redelivered == 0 && ve_rng_below(rng, every) == 0)
		crash();
}

int main(const char *args)
{
	static char buf[VE_MSG_MAX];
	struct ve_msg m;
	struct ve_rng rng;
	bool general, window;
	uint64_t every, id = 0; /* id: the message to answer, with buf[0..len) */
	int32_t h;
	long len = 0;

	if (parse_args(args, &every, &general, &window) < 0) {
		ve_printf("echosrv: bad args '%s' (want \"[crash=N] [next] [window]\")\n", args);
		return 2;
	}
	if (window) {
		long base = ve_stash_open_wait(4096, VE_STASH_WINDOWS);
		if (base < 0) {
			ve_printf("echosrv: stash: %s\n", ve_strerror(base));
			return 1;
		}
		poison_seen = (volatile uint64_t *)(uintptr_t)base;
	}
	ve_rng_seed(&rng, (uint64_t)ve_getpid() * 0x100000001b3ull + ve_clock_ns());
	h = ve_chan_serve_wait("echo");
	if (h < 0) {
		ve_printf("echosrv: serve echo: %s\n", ve_strerror(h));
		return 1;
	}
	for (;;) {
		/* Answers the last message (a call with its own bytes, a cast
		 * with an ack), then receives the next. */
		len = step(&h, general, id, buf, len, &m);
		if (len < 0) {
			ve_printf("echosrv: next (answering %llu): %s\n", (unsigned long long)id,
				  ve_strerror(len));
			return 1;
		}
		id = m.id;
		if (id)
			maybe_crash(&m, buf, len, &rng, every);
	}
}
