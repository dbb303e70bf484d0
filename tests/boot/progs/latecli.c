/*
 * latecli: a client that gives up on its calls. Args "N MS": N calls on
 * "slow", each with an MS millisecond timeout, to a server slower than
 * that (slowsrv), so every call times out and every late reply must be
 * discarded, and the server told so (reply returns VE_REPLY_DISCARDED).
 * After each it makes one call without a timeout, whose answer means the
 * server has answered the late one and is idle, so the next late call is
 * taken at once (one that timed out still queued would be dropped unseen):
 * slowsrv handles 2N messages, whatever the speed.
 * Writes {"ev":"latecli","calls":N,"timeouts":T} and exits 0 iff T == N
 * and every waiting call was answered.
 */
#include "vesta.h"

int main(const char *args)
{
	const char *p = args;
	uint64_t n, ms, timeouts = 0;
	char rep[16];
	int h;

	if (ve_parse_u64(&p, &n) < 0 || ve_parse_u64(&p, &ms) < 0) {
		ve_printf("latecli: bad args '%s' (want \"N MS\")\n", args);
		return 2;
	}
	if ((h = ve_chan_open("slow")) < 0) {
		ve_printf("latecli: open slow: %s\n", ve_strerror(h));
		return 1;
	}
	for (uint64_t i = 0; i < n; i++) {
		timeouts +=
		    ve_chan_call(h, "x", 1, rep, sizeof(rep), ms * 1000000ull) == -VE_TIMEOUT;
		if (ve_chan_call(h, "s", 1, rep, sizeof(rep), VE_TIMEOUT_NONE) < 0)
			return 1;
	}
	struct ve_kv f[] = { VE_KV_NUM("calls", n), VE_KV_NUM("timeouts", timeouts) };
	ve_event("latecli", f, 2);
	return timeouts == n ? 0 : 1;
}
