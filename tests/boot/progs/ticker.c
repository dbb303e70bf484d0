/*
 * ticker: a well-behaved process that lives for a while. Args "N MS": it
 * sleeps MS milliseconds N times, printing a line every 10 ticks, then
 * exits 0. Boot tests use it for scheduling, sleeping and clean exits.
 * Exit 1 if a sleep fails, 2 if the arguments are bad.
 */
#include "vesta.h"

#define PRINT_EVERY 10

int main(const char *args)
{
	const char *p = args;
	uint64_t n, ms;
	int r;

	if (ve_parse_u64(&p, &n) < 0 || ve_parse_u64(&p, &ms) < 0 || *ve_skip_space(p) != '\0') {
		ve_printf("ticker: bad args '%s' (want \"N MS\")\n", args);
		return 2;
	}
	ve_printf("ticker: pid %d, %llu ticks of %llu ms\n", ve_getpid(), (unsigned long long)n,
		  (unsigned long long)ms);
	for (uint64_t i = 1; i <= n; i++) {
		r = ve_sleep_ms(ms);
		if (r < 0) {
			ve_printf("ticker: sleep failed: %s\n", ve_strerror(r));
			return 1;
		}
		if (i % PRINT_EVERY == 0)
			ve_printf("ticker: tick %llu/%llu\n", (unsigned long long)i,
				  (unsigned long long)n);
	}
	ve_printf("ticker: done\n");
	return 0;
}
