/*
 * benchsrv: the server side of `make bench`'s call round trips. It serves
 * the channel "bcall" and answers each call with its own bytes, as cheaply
 * as a server can: one wait_any, then recv/reply until the queue is empty.
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

/* Answer everything queued on h. Returns 0 once it is empty, or an error. */
static long drain(int h)
{
	static char buf[VE_MSG_MAX];
	struct ve_msg m;
	long len, r;

	while ((len = ve_chan_recv(h, &m, buf, sizeof(buf))) >= 0) {
		if (len == 5 && memcmp(buf, "CRASH", 5) == 0 && m.redelivered == 0)
			crash();
		r = ve_chan_reply(h, m.id, buf, (size_t)len);
		if (r < 0)
			return r;
	}
	return len == -VE_AGAIN ? 0 : len;
}

int main(const char *args)
{
	struct ve_wait_result wr;
	int32_t h;
	long r;

	(void)args;
	h = ve_chan_serve_wait("bcall");
	if (h < 0) {
		ve_printf("benchsrv: serve bcall: %s\n", ve_strerror(h));
		return 1;
	}
	for (;;) {
		r = ve_wait_any(&h, 1, VE_TIMEOUT_NONE, &wr);
		if (r == 0)
			r = drain(h);
		if (r < 0) {
			ve_printf("benchsrv: %s\n", ve_strerror(r));
			return 1;
		}
	}
}
