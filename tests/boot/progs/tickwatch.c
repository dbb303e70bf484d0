/*
 * tickwatch: a driver-priority process that checks it keeps running on
 * time while others do their worst. Args "MS SLACK_MS": it wakes up every
 * MS milliseconds, and a wake-up more than SLACK_MS late is a miss (posted
 * as {"ev":"tickmiss","late_ms":L}): a figure for a person reading the log
 * (a miss suggests the kernel held the CPU), never a test verdict, since a
 * loaded host may pause the guest too.
 * It serves "tickwatch": a call gets the counts so far (struct
 * tickwatch_report below) and posts them as {"ev":"tickreport","ticks":N,
 * "misses":M,"max_late_ms":L}; a cast is acked. Runs until killed; exit 2
 * on bad args, 1 if it cannot serve or wait.
 */
#include "vesta.h"

struct tickwatch_report {
	uint64_t ticks, misses, max_late_ms;
};

static void tick(struct tickwatch_report *st, uint64_t late_ns, uint64_t slack_ms)
{
	uint64_t late_ms = late_ns / 1000000;
	st->ticks++;
	if (late_ms > st->max_late_ms)
		st->max_late_ms = late_ms;
	if (late_ms > slack_ms) {
		st->misses++;
		ve_event1("tickmiss", "late_ms", (int64_t)late_ms);
	}
}

static void answer(int h, const struct tickwatch_report *st)
{
	static char buf[VE_MSG_MAX];
	struct ve_msg m;
	if (ve_chan_recv(h, &m, buf, sizeof(buf)) < 0)
		return;
	if (m.kind != VE_MSG_CALL) {
		ve_chan_ack(h, m.id);
		return;
	}
	struct ve_kv kv[3] = { VE_KV_NUM("ticks", st->ticks), VE_KV_NUM("misses", st->misses),
			       VE_KV_NUM("max_late_ms", st->max_late_ms) };
	ve_event("tickreport", kv, 3);
	ve_chan_reply(h, m.id, st, sizeof(*st));
}

int main(const char *args)
{
	const char *p = args;
	struct tickwatch_report st = { 0 };
	struct ve_wait_result wr;
	uint64_t ms, slack_ms;

	if (ve_parse_u64(&p, &ms) < 0 || ve_parse_u64(&p, &slack_ms) < 0 ||
	    *ve_skip_space(p) != '\0' || ms == 0) {
		ve_printf("tickwatch: bad args '%s' (want \"MS SLACK_MS\")\n", args);
		return 2;
	}
	int32_t h = ve_chan_serve("tickwatch");
	if (h < 0) {
		ve_printf("tickwatch: serve: %s\n", ve_strerror(h));
		return 1;
	}
	uint64_t due = ve_clock_ns() + ms * 1000000;
	for (;;) {
		uint64_t now = ve_clock_ns();
		if (now >= due) {
			tick(&st, now - due, slack_ms);
			due = now + ms * 1000000;
			continue;
		}
		int r = ve_wait_any(&h, 1, due - now, &wr);
		if (r == 0 && wr.handle == h)
			answer(h, &st);
		else if (r < 0 && r != -VE_TIMEOUT) {
			ve_printf("tickwatch: wait: %s\n", ve_strerror(r));
			return 1;
		}
	}
}
