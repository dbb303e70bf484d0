/*
 * benchsup: restarts benchsrv for `make bench`. Args "IMAGE MAXDEATHS": it
 * starts IMAGE (with no args), waits for it to die and starts it again, at
 * most MAXDEATHS times, so a server that cannot start does not loop
 * forever. It never kills: every death is the server's own, with a request
 * in flight (see benchsrv.c). The run ends with bench's halt, not here.
 * Needs the spawn grant.
 * Exit 1 if spawn or wait fails or MAXDEATHS is reached, 2 for bad args.
 */
#include "vesta.h"

int main(const char *args)
{
	const char *image = ve_skip_space(args), *p;
	char name[VE_NAME_MAX];
	uint64_t max;
	struct ve_exit ex;
	size_t n = ve_word_len(image);
	int pid, r;

	p = image + n;
	if (n == 0 || n >= sizeof(name) || ve_parse_u64(&p, &max) < 0) {
		ve_printf("benchsup: bad args '%s' (want \"IMAGE MAXDEATHS\")\n", args);
		return 2;
	}
	memcpy(name, image, n);
	name[n] = '\0';
	for (uint64_t d = 0; d < max; d++) {
		pid = ve_spawn(name, "");
		if (pid < 0) {
			ve_printf("benchsup: spawn %s: %s\n", name, ve_strerror(pid));
			return 1;
		}
		r = ve_wait(pid, &ex);
		if (r < 0) {
			ve_printf("benchsup: wait %d: %s\n", pid, ve_strerror(r));
			return 1;
		}
	}
	ve_printf("benchsup: %s died %llu times; giving up\n", name, (unsigned long long)max);
	return 1;
}
