/*
 * logcli: a client of the log service (svc/log). Args "N" (default 5): it
 * casts N lines "line K of N" to "log", then asks for the tail (call 'T')
 * and checks that the tail ends with those lines, each as
 * "logcli: line K of N". It also checks that a bad call gets "-badreq".
 * Then it writes
 *   {"ev":"logcli","lines":N,"tail_ok":0|1,"badreq_ok":0|1}
 * and exits 0 if both checks held, 1 if not, 2 for bad args.
 */
#include "vesta.h"

/* Whether the tail text ends with the N lines logcli sent. */
static bool tail_ends_with_ours(const char *tail, size_t len, uint64_t n)
{
	static char want[VE_MSG_MAX];
	size_t w = 0;

	for (uint64_t k = 1; k <= n; k++) {
		int r = fmt_snprintf(want + w, sizeof(want) - w, "logcli: line %llu of %llu\n",
				     (unsigned long long)k, (unsigned long long)n);
		if (r < 0 || (size_t)r >= sizeof(want) - w)
			return false;
		w += (size_t)r;
	}
	return len >= w && memcmp(tail + len - w, want, w) == 0;
}

int main(const char *args)
{
	static char rep[VE_MSG_MAX];
	const char *p = args;
	char line[64];
	uint64_t n = 5;
	long len;
	int h, r;

	if (*ve_skip_space(p) && (ve_parse_u64(&p, &n) < 0 || n == 0 || n > 32)) {
		ve_printf("logcli: bad args '%s' (want N, 1..32)\n", args);
		return 2;
	}
	if ((h = ve_chan_open("log")) < 0) {
		ve_printf("logcli: open log: %s\n", ve_strerror(h));
		return 1;
	}
	for (uint64_t k = 1; k <= n; k++) {
		int m = fmt_snprintf(line, sizeof(line), "line %llu of %llu\n",
				     (unsigned long long)k, (unsigned long long)n);
		if ((r = ve_chan_cast(h, line, (size_t)m, 0)) < 0) {
			ve_printf("logcli: cast: %s\n", ve_strerror(r));
			return 1;
		}
	}
	len = ve_chan_call(h, "T", 1, rep, sizeof(rep), VE_TIMEOUT_NONE);
	bool tail_ok = len >= 0 && tail_ends_with_ours(rep, (size_t)len, n);
	len = ve_chan_call(h, "X", 1, rep, sizeof(rep), VE_TIMEOUT_NONE);
	bool bad_ok = len == 7 && memcmp(rep, "-badreq", 7) == 0;

	struct ve_kv kv[] = {
		VE_KV_NUM("lines", n),
		VE_KV_NUM("tail_ok", tail_ok),
		VE_KV_NUM("badreq_ok", bad_ok),
	};
	ve_event("logcli", kv, 3);
	return tail_ok && bad_ok ? 0 : 1;
}
