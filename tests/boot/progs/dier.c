/*
 * dier: makes one call to "slow" with no timeout and blocks in it until its
 * parent (dierparent) kills it. The kernel must cancel the call and, when
 * slowsrv replies later, discard the reply (event "discard").
 * If the call ever returns, it exits 1: it should have died first.
 */
#include "vesta.h"

int main(const char *args)
{
	(void)args;
	static const char req[] = "die waiting";
	char rep[16];
	long r;
	int h;

	h = ve_chan_open("slow");
	if (h < 0) {
		ve_printf("dier: open slow: %s\n", ve_strerror(h));
		return 1;
	}
	r = ve_chan_call(h, req, sizeof(req) - 1, rep, sizeof(rep), VE_TIMEOUT_NONE);
	ve_printf("dier: call returned %ld (%s); it should not have\n", r,
		  r < 0 ? ve_strerror(r) : "a reply");
	return 1;
}
