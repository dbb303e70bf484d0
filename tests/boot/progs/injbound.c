/*
 * injbound (grants spawn, kill, inject): fires every fault kind with
 * absurd arguments (2^24, 2^40, 2^63, UINT64_MAX), and with the largest
 * each kind takes and one more, at fresh victims, beside the driver-priority
 * tickwatch. Every call must return 0 or the documented error (-VE_INVAL
 * for an argument past its kind's maximum in abi.h, and for a step of 0
 * instructions). Posts {"ev":
 * "injbound","kind":K,"arg":A,"r":R,"ok":1|0} per call, then calls
 * tickwatch, which must answer having ticked (its lateness is a figure in
 * its tickreport event, not a verdict: it depends on the host's speed),
 * posts {"ev":"injbound_done","failures":F} and exits with F.
 * Args: kind names to fire (default: every kind), for narrowing a failure.
 */
#include "vesta.h"

static int failures;

static const struct {
	const char *name;
	uint64_t arg;
} absurd[] = {
	{ "2^24", 1ull << 24 },
	{ "2^40", 1ull << 40 },
	{ "2^63", 1ull << 63 },
	{ "max", ~0ull },
};

/* The documented answer to inject(kind, arg) at a live victim. */
static long expected(unsigned kind, uint64_t arg)
{
	if (kind == VE_INJ_STEP && arg == 0)
		return -VE_INVAL; /* a step needs a count */
	return arg > ve_inject_arg_max(kind) ? -VE_INVAL : 0;
}

/* The largest argument kind takes (0 where it takes any or ignores arg). */
static uint64_t largest(unsigned kind)
{
	return ve_inject_arg_max(kind) == UINT64_MAX ? 0 : ve_inject_arg_max(kind);
}

static bool alive(int pid)
{
	int st = ve_ps_state(pid);
	return st >= 0 && st != VE_PS_DEAD;
}

/* A victim in its loop: a ticker, or echosrv (it serves "echo") for
 * garbage. */
static int victim(unsigned kind)
{
	int pid = kind == VE_INJ_GARBAGE ? ve_spawn("echosrv", "") : ve_spawn("victim", "100000 2");
	ve_sleep_ms(20);
	return pid;
}

/* Whatever the fault did, the victim is gone after this. */
static void finish(int pid)
{
	struct ve_exit e;
	ve_sleep_ms(20);
	if (alive(pid))
		ve_kill(pid);
	ve_wait(pid, &e);
}

static void fire(int pid, unsigned kind, const char *argname, uint64_t arg)
{
	long r = ve_inject(pid, kind, arg, 12345);
	bool ok = r == expected(kind, arg);
	struct ve_kv kv[4] = { VE_KV_STR("kind", ve_inject_name(kind)), VE_KV_STR("arg", argname),
			       VE_KV_NUM("r", r), VE_KV_NUM("ok", ok) };
	ve_event("injbound", kv, 4);
	if (!ok) {
		ve_printf("injbound: %s %s: got %s\n", ve_inject_name(kind), argname,
			  ve_strerror(r));
		failures++;
	}
}

/* The costliest corruption: the most bits into a victim whose address
 * space is as large as it gets (it leaked its whole share first). */
static void corrupt_big(void)
{
	static struct ve_procinfo ps[64];
	struct ve_meminfo mi;
	int pid = victim(VE_INJ_LEAK);
	uint64_t frames = 0, share;

	ve_meminfo(&mi);
	share = mi.total_frames / 4; /* its page tables count in it too */
	ve_inject(pid, VE_INJ_LEAK, 0, 1);
	while (frames < share - share / 16) {
		ve_sleep_ms(10);
		int n = ve_ps(ps, 64);
		for (int i = 0; i < n; i++)
			if (ps[i].pid == pid)
				frames = ps[i].frames;
	}
	fire(pid, VE_INJ_CORRUPT, "max-big", VE_INJ_CORRUPT_MAX);
	finish(pid);
}

/* tickwatch, asked now that all is done: it is still there and kept
 * ticking. */
static bool watch_ok(void)
{
	struct {
		uint64_t ticks, misses, max_late_ms;
	} rep;
	int h = ve_chan_open("tickwatch");
	long n = h < 0 ? h : ve_chan_call(h, "?", 1, &rep, sizeof(rep), 0);
	if (n != (long)sizeof(rep) || rep.ticks == 0) {
		ve_printf("injbound: tickwatch: %s\n", n < 0 ? ve_strerror(n) : "no ticks");
		return false;
	}
	return true;
}

static bool chosen(const char *args, unsigned kind)
{
	return *ve_skip_space(args) == '\0' || ve_args_have(args, ve_inject_name(kind));
}

int main(const char *args)
{
	for (unsigned kind = 1; kind < VE_NINJECT; kind++) {
		if (!chosen(args, kind))
			continue;
		for (unsigned i = 0; i < sizeof(absurd) / sizeof(absurd[0]); i++) {
			int pid = victim(kind);
			fire(pid, kind, absurd[i].name, absurd[i].arg);
			finish(pid);
		}
		if (kind == VE_INJ_STEP) {
			int pid = victim(kind);
			fire(pid, kind, "zero", 0);
			finish(pid);
		}
		if (largest(kind)) {
			int pid = victim(kind);
			fire(pid, kind, "largest+1", largest(kind) + 1);
			fire(pid, kind, "largest", largest(kind));
			finish(pid);
		}
	}
	if (chosen(args, VE_INJ_CORRUPT))
		corrupt_big();
	if (!watch_ok())
		failures++;
	ve_event1("injbound_done", "failures", failures);
	ve_printf("injbound: %d failures\n", failures);
	return failures;
}
