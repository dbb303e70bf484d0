/*
 * slowsrv: a deliberately slow server of "slow", so its small queue fills
 * up. Args "N [MS]": for each message it sleeps MS milliseconds (default
 * 20), then replies (empty) to a call or acks a cast. After N messages it
 * writes {"ev":"slowsrv","handled":N,"discarded":D} (D: replies nobody
 * took, the caller having given up) and exits 0.
 * Exit 1 if a channel call fails, 2 for bad args.
 */
#include "vesta.h"

#define DEFAULT_MS 20

/* Wait for and take the next message from h. Returns its length or an error. */
static long next_message(int32_t h, struct ve_msg *m, char *buf, size_t cap)
{
	struct ve_wait_result wr;
	long len;
	int r;

	while ((len = ve_chan_recv(h, m, buf, cap)) == -VE_AGAIN) {
		r = ve_wait_any(&h, 1, VE_TIMEOUT_NONE, &wr);
		if (r < 0)
			return r;
	}
	return len;
}

int main(const char *args)
{
	static char buf[VE_MSG_MAX];
	const char *p = args;
	uint64_t n, ms = DEFAULT_MS, discarded = 0;
	struct ve_msg m;
	int32_t h;
	long len;
	int r;

	if (ve_parse_u64(&p, &n) < 0 || (*ve_skip_space(p) != '\0' && ve_parse_u64(&p, &ms) < 0) ||
	    *ve_skip_space(p) != '\0') {
		ve_printf("slowsrv: bad args '%s' (want \"N [MS]\")\n", args);
		return 2;
	}
	h = ve_chan_serve("slow");
	if (h < 0) {
		ve_printf("slowsrv: serve slow: %s\n", ve_strerror(h));
		return 1;
	}
	for (uint64_t i = 0; i < n; i++) {
		len = next_message(h, &m, buf, sizeof(buf));
		if (len < 0) {
			ve_printf("slowsrv: receive: %s\n", ve_strerror(len));
			return 1;
		}
		ve_sleep_ms(ms);
		if (m.kind == VE_MSG_CAST)
			r = ve_chan_ack(h, m.id);
		else
			r = ve_chan_reply(h, m.id, NULL, 0);
		discarded += r == VE_REPLY_DISCARDED;
		if (r < 0) {
			ve_printf("slowsrv: answer %llu: %s\n", (unsigned long long)m.id,
				  ve_strerror(r));
			return 1;
		}
	}
	struct ve_kv f[] = { VE_KV_NUM("handled", n), VE_KV_NUM("discarded", discarded) };
	ve_event("slowsrv", f, 2);
	ve_printf("slowsrv: handled %llu messages\n", (unsigned long long)n);
	return 0;
}
