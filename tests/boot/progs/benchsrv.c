/*
 * benchsrv: the server side of `make bench`'s call round trips. It serves
 * the channel "bcall" and answers each call with its own bytes, as cheaply
 * as a server can: one ve_chan_reply_recv per call, which answers the last
 * call and receives the next.
 *
 * A request "CRASH" seen for the first time (redelivered == 0) makes it die
 * with that request in flight (a write to an unmapped address, reason
 * page_fault), so the kernel must replay it to the next incarnation, which
 * benchsup starts. The replayed copy is answered normally. This is how bench
 * exercises redelivery on the very channel whose round trip it measures.
 *
 * The address written is the moment of death: DEATH_BASE plus the low
 * DEATH_BITS of the TSC, read six instructions before the write. It comes
 * out as the exit event's "addr", and tools/bench.c subtracts it from the
 * TSC at the replayed call's reply: the recovery time, exactly, with no
 * extra code in the interval. The range is far above the little memory
 * vm_alloc gives this process and below the stack: nothing is mapped there.
 * No args. Exit 1 if a channel call fails.
 */
#include "vesta.h"

#define DEATH_BASE 0x0000400000000000ull /* tools/bench.c has the same */
#define DEATH_BITS 44

/* Die with the message in flight, writing to the address that says when. */
static _Noreturn void crash(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	uint64_t tsc = ((uint64_t)hi << 32) | lo;
	uint64_t at = DEATH_BASE | (tsc & ((1ull << DEATH_BITS) - 1));
	__asm__ volatile("movq $0, (%0)" : : "r"(at) : "memory");
	__builtin_trap();
}

int main(const char *args)
{
	static char buf[VE_MSG_MAX];
	struct ve_msg m;
	uint64_t id = 0; /* the call to answer with buf[0..len) */
	long len = 0;
	int32_t h;

	(void)args;
	h = ve_chan_serve_wait("bcall");
	if (h < 0) {
		ve_printf("benchsrv: serve bcall: %s\n", ve_strerror(h));
		return 1;
	}
	for (;;) {
		len = ve_chan_reply_recv(h, id, buf, (size_t)len, sizeof(buf), VE_TIMEOUT_NONE, &m,
					 NULL, NULL);
		if (len < 0) {
			ve_printf("benchsrv: %s\n", ve_strerror(len));
			return 1;
		}
		id = m.id;
		if (len == 5 && memcmp(buf, "CRASH", 5) == 0 && m.redelivered == 0)
			crash();
	}
}
