/*
 * benchsrv: the server side of `make bench`'s call round trips. It serves
 * the channel "bcall" and answers each call with its own bytes, as cheaply
 * as a server can: one ve_chan_next per call, which answers the last call
 * and receives the next.
 *
 * A request "CRASH" seen for the first time (redelivered == 0) makes it die
 * with that request in flight (a null-pointer write, reason page_fault), so
 * the kernel must replay it to the next incarnation, which benchsup starts.
 * The replayed copy is answered normally. This is how bench exercises
 * redelivery on the very channel whose round trip it measures.
 * No args. Exit 1 if a channel call fails.
 */
#include "vesta.h"

/* Die with the message in flight: a write through a null pointer. */
static _Noreturn void crash(void)
{
	__asm__ volatile("movq $0, (%0)" : : "r"(0ul) : "memory");
	__builtin_trap();
}

int main(const char *args)
{
	static char buf[VE_MSG_MAX];
	struct ve_next nx = { .n = 1, .cap = sizeof(buf), .timeout_ns = VE_TIMEOUT_NONE };
	uint64_t id = 0; /* the call to answer with buf[0..len) */
	long len = 0;
	int32_t h;

	(void)args;
	h = ve_chan_serve_wait("bcall");
	if (h < 0) {
		ve_printf("benchsrv: serve bcall: %s\n", ve_strerror(h));
		return 1;
	}
	nx.handles = &h;
	for (;;) {
		len = ve_chan_next(h, id, buf, (size_t)len, &nx);
		if (len < 0) {
			ve_printf("benchsrv: %s\n", ve_strerror(len));
			return 1;
		}
		id = nx.result.handle >= 0 ? nx.msg.id : 0;
		if (id && len == 5 && memcmp(buf, "CRASH", 5) == 0 && nx.msg.redelivered == 0)
			crash();
	}
}
