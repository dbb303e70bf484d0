/*
 * halter: stops the machine. Args "CODE [MS]": sleeps MS milliseconds
 * (default 50), then calls halt(CODE). halt only returns on error (no
 * grant), and then halter exits with 1 so the test sees it.
 */
#include "vesta.h"

int main(const char *args)
{
	const char *p = args;
	uint64_t code, ms = 50;

	if (ve_parse_u64(&p, &code) < 0) {
		ve_printf("halter: bad args '%s' (want \"CODE [MS]\")\n", args);
		return 2;
	}
	if (*ve_skip_space(p) != '\0' && ve_parse_u64(&p, &ms) < 0)
		return 2;
	ve_sleep_ms(ms);
	ve_printf("halter: halt(%llu)\n", (unsigned long long)code);
	int r = ve_halt((int)code);
	ve_printf("halter: halt refused: %s\n", ve_strerror(r));
	return 1;
}
