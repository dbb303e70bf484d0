/*
 * prioipc: the two sides of a test that the switch a blocking call makes
 * keeps strict priority (tests/boot/scenarios/prioipc.scn).
 *
 *   "spin MS"  sleep MS milliseconds, then spin forever;
 *   "call MS"  sleep MS milliseconds, then call "echo" once and write
 *              {"ev":"prioipc_reply","len":N} when the reply comes.
 *
 * With a service-priority spinner runnable, a service-priority caller of a
 * best-effort server must never get its reply: the call wakes the server,
 * but the caller's blocking has to switch to the spinner (the higher
 * priority), not to the process it just woke.
 * Exit 2 for bad args, 1 if the call fails.
 */
#include "vesta.h"

int main(const char *args)
{
	const char *p = ve_skip_space(args);
	size_t n = ve_word_len(p);
	bool spin = ve_word_is(p, n, "spin"), call = ve_word_is(p, n, "call");
	uint64_t ms;

	p += n;
	if ((!spin && !call) || ve_parse_u64(&p, &ms) < 0 || *ve_skip_space(p) != '\0') {
		ve_printf("prioipc: bad args '%s' (want \"spin MS\" or \"call MS\")\n", args);
		return 2;
	}
	ve_sleep_ms(ms);
	if (spin)
		for (;;)
			__asm__ volatile("" ::: "memory");
	int h = ve_chan_open("echo");
	char rep[8];
	long r = h < 0 ? h : ve_chan_call(h, "ping", 4, rep, sizeof(rep), VE_TIMEOUT_NONE);
	if (r < 0) {
		ve_printf("prioipc: call echo: %s\n", ve_strerror(r));
		return 1;
	}
	ve_event1("prioipc_reply", "len", r);
	return 0;
}
