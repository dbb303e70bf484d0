/*
 * echosrv: serves the channel "echo". A call is answered with its own
 * bytes; a cast is acked. Boot tests use it to check that channels survive
 * their server: it can be told to crash at random, always with a message in
 * flight, so the kernel must replay that message to the next incarnation.
 *
 * Args: "" or "crash=N". With N > 0, each message seen for the first time
 * (redelivered == 0) crashes the server with probability 1/N, once
 * received and before it is answered. A payload starting with "POISON" crashes it every
 * time, replayed or not: the kernel must turn it into a dead letter.
 * Crashes are null-pointer writes (reason page_fault).
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

/* Parse "crash=N" (or nothing) into *every. Returns 0 or -VE_INVAL. */
static int parse_args(const char *args, uint64_t *every)
{
	const char *p = ve_skip_space(args);

	*every = 0;
	if (*p == '\0')
		return 0;
	if (strncmp(p, "crash=", 6) != 0)
		return -VE_INVAL;
	p += 6;
	if (ve_parse_u64(&p, every) < 0 || *ve_skip_space(p) != '\0')
		return -VE_INVAL;
	return 0;
}

/* Crash, if this message says so, with it in flight. */
static void maybe_crash(const struct ve_msg *m, const char *buf, long len, struct ve_rng *rng,
			uint64_t every)
{
	if (is_poison(buf, len))
		crash();
	if (every > 0 && m->redelivered == 0 && ve_rng_below(rng, every) == 0)
		crash();
}

int main(const char *args)
{
	static char buf[VE_MSG_MAX];
	struct ve_next nx = { .n = 1, .cap = sizeof(buf), .timeout_ns = VE_TIMEOUT_NONE };
	struct ve_rng rng;
	uint64_t every, id = 0; /* id: the message to answer, with buf[0..len) */
	int32_t h;
	long len = 0;

	if (parse_args(args, &every) < 0) {
		ve_printf("echosrv: bad args '%s' (want \"crash=N\")\n", args);
		return 2;
	}
	ve_rng_seed(&rng, (uint64_t)ve_getpid() * 0x100000001b3ull + ve_clock_ns());
	h = ve_chan_serve_wait("echo");
	if (h < 0) {
		ve_printf("echosrv: serve echo: %s\n", ve_strerror(h));
		return 1;
	}
	nx.handles = &h;
	for (;;) {
		/* Answers the last message (a call with its own bytes, a cast
		 * with an ack), then receives the next. */
		len = ve_chan_next(h, id, buf, (size_t)len, &nx);
		if (len < 0) {
			ve_printf("echosrv: next (answering %llu): %s\n", (unsigned long long)id,
				  ve_strerror(len));
			return 1;
		}
		id = 0;
		if (nx.result.handle < 0)
			continue;
		maybe_crash(&nx.msg, buf, len, &rng, every);
		id = nx.msg.id;
	}
}
