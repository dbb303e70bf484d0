/*
 * slowcli: fills slowsrv's small queue. It casts NCASTS messages to
 * "slow": non-blocking casts until the first -VE_AGAIN (the queue is full:
 * the kernel must say so instead of dropping or blocking), then blocking
 * casts for the rest, which must wait for room and all get in.
 *
 * Writes {"ev":"slowcli","sent":..,"again":..,"errors":..}, then stays
 * alive LINGER_MS: the kernel cancels the queued messages of a client that
 * dies, casts included, and slowsrv must get all of them.
 * Exit 0 iff all NCASTS were queued and at least one -VE_AGAIN was seen.
 */
#include "vesta.h"

#define NCASTS 40
#define LINGER_MS 1000 /* far more than slowsrv needs for a full queue */

int main(const char *args)
{
	uint64_t sent = 0, again = 0, errors = 0;
	char msg[32];
	int h, len, r;

	(void)args;
	h = ve_chan_open("slow");
	if (h < 0) {
		ve_printf("slowcli: open slow: %s\n", ve_strerror(h));
		return 1;
	}
	while (sent < NCASTS) {
		len = fmt_snprintf(msg, sizeof(msg), "cast %llu", (unsigned long long)sent);
		r = ve_chan_cast(h, msg, (size_t)len, again == 0 ? VE_NONBLOCK : 0);
		if (r == -VE_AGAIN && again == 0) {
			again++; /* from now on block; this one is sent again */
		} else if (r < 0) {
			ve_printf("slowcli: cast %llu: %s\n", (unsigned long long)sent,
				  ve_strerror(r));
			errors++;
			break;
		} else {
			sent++;
		}
	}

	struct ve_kv kv[] = {
		VE_KV_NUM("sent", sent),
		VE_KV_NUM("again", again),
		VE_KV_NUM("errors", errors),
	};
	ve_event("slowcli", kv, sizeof(kv) / sizeof(kv[0]));
	ve_printf("slowcli: %llu casts queued, %llu refused with VE_AGAIN\n",
		  (unsigned long long)sent, (unsigned long long)again);
	ve_sleep_ms(LINGER_MS);
	return sent == NCASTS && again > 0 && errors == 0 ? 0 : 1;
}
