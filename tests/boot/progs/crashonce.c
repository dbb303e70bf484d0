/*
 * crashonce: a service that crashes in its first incarnation only, for the
 * supervisor's strategy tests. It counts its starts in its stash (run it
 * with `state keep`), posts {"ev":"crashonce","run":N} (N = 1 for the first
 * start), and then:
 *   run 1:  sleeps MS milliseconds and writes through a null pointer;
 *   run 2+: sleeps forever, a second at a time.
 * Args: "MS". Exit codes: 1 the stash cannot be mapped, 2 bad args.
 */
#include "vesta.h"

#define STASH_SIZE 4096

int main(const char *args)
{
	const char *p = args;
	volatile uint64_t *runs;
	uint64_t ms;
	long base;

	if (ve_parse_u64(&p, &ms) < 0 || *ve_skip_space(p) != '\0') {
		ve_printf("crashonce: bad args '%s' (want \"MS\")\n", args);
		return 2;
	}
	base = ve_stash_wait(STASH_SIZE);
	if (base < 0) {
		ve_printf("crashonce: stash: %s\n", ve_strerror(base));
		return 1;
	}
	runs = (volatile uint64_t *)(uintptr_t)base;
	*runs += 1;
	ve_event1("crashonce", "run", (int64_t)*runs);
	if (*runs == 1) {
		ve_sleep_ms(ms);
		*(volatile int *)0 = 1;
		__builtin_trap();
	}
	for (;;)
		ve_sleep_ms(1000);
}
