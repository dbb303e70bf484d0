/*
 * supctl: talks to the supervisor over its channel "sup", for boot tests.
 * Args: steps separated by ',':
 *   sleep MS      wait MS milliseconds
 *   beat N MS     send N heartbeats (casts "H"), MS milliseconds apart
 *   anything else a command call ("tree", "kill NAME", ...): the reply is
 *                 printed on the console and posted as an event
 *                 supctl {cmd, ok (1 if it does not start with "error"),
 *                 reply (its first line, cut to fit)}
 * Exit codes: 1 "sup" cannot be opened or a call failed, 2 bad args.
 */
#include "vesta.h"

#define CALL_TIMEOUT_NS (2ull * 1000 * 1000 * 1000)

static int call(int h, const char *cmd)
{
	static char rep[VE_MSG_MAX + 1];
	char first[VE_EVENT_STR_MAX + 1];
	struct ve_kv kv[3];
	long n = ve_chan_call(h, cmd, strlen(cmd), rep, VE_MSG_MAX, CALL_TIMEOUT_NS);
	size_t k = 0;

	if (n < 0) {
		ve_printf("supctl: %s: %s\n", cmd, ve_strerror(n));
		return 1;
	}
	rep[n] = '\0';
	ve_printf("supctl: %s ->\n%s", cmd, rep);
	while (rep[k] && rep[k] != '\n' && k < sizeof(first) - 1) {
		first[k] = rep[k];
		k++;
	}
	first[k] = '\0';
	kv[0] = VE_KV_STR("cmd", cmd);
	kv[1] = VE_KV_NUM("ok", strncmp(rep, "error", 5) != 0);
	kv[2] = VE_KV_STR("reply", first);
	ve_event("supctl", kv, 3);
	return 0;
}

static int beat(int h, const char *p)
{
	uint64_t n, ms;

	if (ve_parse_u64(&p, &n) < 0 || ve_parse_u64(&p, &ms) < 0)
		return 2;
	for (uint64_t i = 0; i < n; i++) {
		if (ve_chan_cast(h, "H", 1, 0) < 0)
			return 1;
		ve_sleep_ms(ms);
	}
	return 0;
}

static int step(int h, char *s)
{
	const char *p = ve_skip_space(s);
	size_t n = ve_word_len(p);
	uint64_t ms;

	if (ve_word_is(p, n, "sleep")) {
		p += n;
		if (ve_parse_u64(&p, &ms) < 0)
			return 2;
		return ve_sleep_ms(ms) < 0 ? 1 : 0;
	}
	if (ve_word_is(p, n, "beat"))
		return beat(h, p + n);
	return call(h, p);
}

int main(const char *args)
{
	static char buf[VE_ARGS_MAX];
	char *s = buf, *comma;
	int h = ve_chan_open("sup"), r;

	if (h < 0) {
		ve_printf("supctl: cannot open sup: %s\n", ve_strerror(h));
		return 1;
	}
	strlcpy(buf, args, sizeof(buf));
	for (;;) {
		comma = strchr(s, ',');
		if (comma)
			*comma = '\0';
		if ((r = step(h, s)) != 0)
			return r;
		if (!comma)
			return 0;
		s = comma + 1;
	}
}
