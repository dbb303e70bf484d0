/*
 * wglobcli (grant inject): the client of tests/boot/scenarios/wglob.scn.
 * wglobsrv's state is its C globals, in its stash through user-stash.ld.
 * This client first checks that a new stash shows the initial values, then
 * kills or crashes the server again and again at random points, each time
 * with requests in flight, until it has died DEATHS times:
 *   - kill, null, wild, ud2, div0 or stack, right after casting 1..4 ADDs
 *     (the server is somewhere in them, or waiting), then a READ call;
 *   - or step n (n random in 1..STEP_MAX): two ADD calls, and the server
 *     dies n instructions into the second (when n is within its path).
 * After each round the totals must be exactly those of every ADD sent
 * (wkeeper restarts the server; the kernel replays what was in flight).
 * At the end a QUIT makes the server exit 0, wkeeper drops its stash, and
 * a READ must show the initial values again.
 *
 * Args "DEATHS SEED". Posts every 100 deaths {"ev":"wglob_at","deaths":D},
 * and at the end
 *   {"ev":"wglob","deaths":D,"rounds":R,"steps":S,"bad":B,"fresh_ok":F,
 *    "initial_ok":I}
 * Exit 0 if B == 0 and F == I == 1, 1 if not, 2 for bad args or a failed
 * call.
 */
#include "vesta.h"
#include "wglob.h"

#define STEP_MAX 256
#define REPORT_EVERY 100

struct glob {
	int h;
	struct wglob_rep expect;
	uint64_t bad;
};

static void call(struct glob *g, uint64_t op, uint64_t value, struct wglob_rep *rep)
{
	struct wglob_req req = { .op = op, .value = value };
	long r = ve_chan_call(g->h, &req, sizeof(req), rep, sizeof(*rep), VE_TIMEOUT_NONE);

	if (r != (long)sizeof(*rep) && !(op == WGLOB_QUIT && r == 0)) {
		ve_printf("wglobcli: call: %s\n", r < 0 ? ve_strerror(r) : "short reply");
		ve_exit(2);
	}
}

static void cast_add(struct glob *g, uint64_t value)
{
	struct wglob_req req = { .op = WGLOB_ADD, .value = value };
	int r = ve_chan_cast(g->h, &req, sizeof(req), 0);

	if (r < 0) {
		ve_printf("wglobcli: cast: %s\n", ve_strerror(r));
		ve_exit(2);
	}
}

static void expect_add(struct glob *g, uint64_t value)
{
	g->expect.adds++;
	g->expect.sum += value;
	for (unsigned k = 0; k < WGLOB_SLOTS; k++)
		g->expect.slot[k] += value * (k + 1);
}

/* rep's state is exactly what g expects; if not, counted, and rep is the
 * truth from now on. */
static bool check(struct glob *g, const struct wglob_rep *rep, const char *when)
{
	bool same = rep->adds == g->expect.adds && rep->sum == g->expect.sum;

	for (unsigned k = 0; k < WGLOB_SLOTS; k++)
		same = same && rep->slot[k] == g->expect.slot[k];
	if (!same && g->bad++ < 5)
		ve_printf("wglobcli: %s: adds %llu sum %llu slot0 %llu, want %llu %llu %llu\n",
			  when, (unsigned long long)rep->adds, (unsigned long long)rep->sum,
			  (unsigned long long)rep->slot[0], (unsigned long long)g->expect.adds,
			  (unsigned long long)g->expect.sum, (unsigned long long)g->expect.slot[0]);
	g->expect = *rep;
	return same;
}

/* The state of a new stash: .bss zero, .data as initialised. */
static bool initial(const struct wglob_rep *rep)
{
	bool ok = rep->adds == 0 && rep->sum == 0 && rep->starts == 1;

	for (unsigned k = 0; k < WGLOB_SLOTS; k++)
		ok = ok && rep->slot[k] == WGLOB_INIT(k);
	return ok;
}

/* Inject kind into pid. A server left armed by a step that did not kill
 * it may have died of it since its reply: -VE_NOENT is no failure. */
static void inject(int pid, unsigned kind, uint64_t arg, struct ve_rng *rng)
{
	int r = ve_inject(pid, kind, arg, ve_rng_next(rng));

	if (r < 0 && r != -VE_NOENT) {
		ve_printf("wglobcli: inject %s: %s\n", ve_inject_name(kind), ve_strerror(r));
		ve_exit(2);
	}
}

/* One round: a fault at a random point with requests in flight. */
static void round_of(struct glob *g, struct ve_rng *rng, struct wglob_rep *rep, uint64_t *steps)
{
	static const unsigned kinds[] = { VE_INJ_KILL,	   VE_INJ_CRASH_NULL, VE_INJ_CRASH_WILD,
					  VE_INJ_CRASH_UD, VE_INJ_CRASH_DIV,  VE_INJ_CRASH_STACK,
					  VE_INJ_STEP,	   VE_INJ_STEP };
	unsigned kind = kinds[ve_rng_below(rng, sizeof(kinds) / sizeof(kinds[0]))];
	int pid = (int)rep->pid;
	uint64_t v = 1 + ve_rng_below(rng, 1000);

	if (kind == VE_INJ_STEP) {
		(*steps)++;
		inject(pid, VE_INJ_STEP, 1 + ve_rng_below(rng, STEP_MAX), rng);
		expect_add(g, v);
		call(g, WGLOB_ADD, v, rep); /* the count starts at this reply */
		check(g, rep, "step, first add");
		expect_add(g, v + 1);
		call(g, WGLOB_ADD, v + 1, rep);
		check(g, rep, "step, second add");
		return;
	}
	for (uint64_t i = ve_rng_below(rng, 4); i < 4; i++) {
		expect_add(g, v + i);
		cast_add(g, v + i);
	}
	for (uint64_t i = ve_rng_below(rng, 3); i > 0; i--)
		ve_yield();
	inject(pid, kind, 0, rng);
	call(g, WGLOB_READ, 0, rep);
	check(g, rep, ve_inject_name(kind));
}

int main(const char *args)
{
	const char *p = args;
	uint64_t want, seed, deaths = 0, rounds = 0, steps = 0;
	struct glob g = { 0 };
	struct wglob_rep rep;
	struct ve_rng rng;

	if (ve_parse_u64(&p, &want) < 0 || ve_parse_u64(&p, &seed) < 0 ||
	    *ve_skip_space(p) != '\0') {
		ve_printf("wglobcli: bad args '%s' (want \"DEATHS SEED\")\n", args);
		return 2;
	}
	ve_rng_seed(&rng, seed);
	if ((g.h = ve_chan_open("wglob")) < 0) {
		ve_printf("wglobcli: open wglob: %s\n", ve_strerror(g.h));
		return 2;
	}
	call(&g, WGLOB_READ, 0, &rep);
	bool initial_ok = initial(&rep);
	g.expect = rep;
	while (deaths < want) {
		uint64_t pid = rep.pid;
		round_of(&g, &rng, &rep, &steps);
		rounds++;
		if (rep.pid != pid && ++deaths % REPORT_EVERY == 0)
			ve_event1("wglob_at", "deaths", (int64_t)deaths);
	}
	call(&g, WGLOB_QUIT, 0, &rep);
	call(&g, WGLOB_READ, 0, &rep);
	bool fresh_ok = initial(&rep);
	struct ve_kv kv[] = {
		VE_KV_NUM("deaths", deaths),	 VE_KV_NUM("rounds", rounds),
		VE_KV_NUM("steps", steps),	 VE_KV_NUM("bad", g.bad),
		VE_KV_NUM("fresh_ok", fresh_ok), VE_KV_NUM("initial_ok", initial_ok)
	};
	ve_event("wglob", kv, sizeof(kv) / sizeof(kv[0]));
	ve_printf("wglobcli: %llu deaths in %llu rounds, %llu bad, fresh %s, initial %s\n",
		  (unsigned long long)deaths, (unsigned long long)rounds, (unsigned long long)g.bad,
		  fresh_ok ? "ok" : "WRONG", initial_ok ? "ok" : "WRONG");
	return g.bad == 0 && fresh_ok && initial_ok ? 0 : 1;
}
