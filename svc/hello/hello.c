/*
 * hello: the smallest Vesta program. It shows that a process starts with
 * its pid and arguments, can print, read the clock and sleep, and exits
 * cleanly with 0.
 */
#include "vesta.h"

int main(const char *args)
{
	uint64_t t0 = ve_clock_ns();
	int r;

	ve_printf("hello: pid %d, args '%s'\n", ve_getpid(), args);
	ve_printf("hello: the clock reads %llu ms since boot\n",
		  (unsigned long long)(t0 / 1000000));
	ve_printf("hello: sleeping 100 ms\n");
	r = ve_sleep_ms(100);
	if (r < 0) {
		ve_printf("hello: sleep failed: %s\n", ve_strerror(r));
		return 1;
	}
	ve_printf("hello: slept %llu ms, goodbye\n",
		  (unsigned long long)((ve_clock_ns() - t0) / 1000000));
	return 0;
}
