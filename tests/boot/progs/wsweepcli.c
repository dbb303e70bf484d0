/*
 * wsweepcli (grant inject): the client of tests/boot/scenarios/wsweep.scn.
 * It sweeps a death over every instruction of one request's path in
 * wsweepsrv: for n = 1, 2, ... it injects VE_INJ_STEP n into the server
 * and makes two ADD calls. The first one's reply is the commit the count
 * starts from, so the server dies n user instructions into the second
 * (while n is within its path); wkeeper starts it again and the kernel
 * replays that call to the new incarnation. Whatever n was, every reply
 * must show each ADD's effect exactly once: the totals this client expects,
 * and a final READ the same. The sweep goes on until TAIL values of n in a
 * row have not killed the server (the whole path is past), or MAXN.
 *
 * Args "MAXN TAIL". Posts every 64 values of n
 *   {"ev":"wsweep_at","n":N,"deaths":D}
 * and at the end
 *   {"ev":"wsweep","last_n":N,"deaths":D,"path":P,"holes":H,"bad":B,"calls":C}
 * P: the largest n that killed; H: values of n up to P that did not kill
 * (0: every instruction of the path was a death); B: replies whose totals
 * were not exactly once (after each, this client takes the server's
 * totals as the new truth, so B counts requests, not their sequels).
 * Exit 0 if B == 0, H == 0 and P > 0; 1 if not; 2 for bad args or a
 * failed call.
 */
#include "vesta.h"
#include "wsweep.h"

#define REPORT_EVERY 64

struct sweep {
	int h;
	uint64_t expect_adds, expect[WSWEEP_COUNTERS];
	uint64_t bad, calls;
};

static long call(struct sweep *s, uint64_t op, uint64_t value, struct wsweep_rep *rep)
{
	struct wsweep_req req = { .op = op, .value = value };
	long r = ve_chan_call(s->h, &req, sizeof(req), rep, sizeof(*rep), VE_TIMEOUT_NONE);

	s->calls++;
	if (r != (long)sizeof(*rep)) {
		ve_printf("wsweepcli: call: %s\n", r < 0 ? ve_strerror(r) : "short reply");
		ve_exit(2);
	}
	return r;
}

/* The reply must carry exactly the effects of every ADD so far. */
static void check(struct sweep *s, const struct wsweep_rep *rep, uint64_t n)
{
	bool same = rep->adds == s->expect_adds;

	for (unsigned k = 0; k < WSWEEP_COUNTERS; k++)
		same = same && rep->count[k] == s->expect[k];
	if (same)
		return;
	if (s->bad++ < 5)
		ve_printf("wsweepcli: n %llu: adds %llu (want %llu), counter 0 %llu (want %llu)\n",
			  (unsigned long long)n, (unsigned long long)rep->adds,
			  (unsigned long long)s->expect_adds, (unsigned long long)rep->count[0],
			  (unsigned long long)s->expect[0]);
	s->expect_adds = rep->adds;
	for (unsigned k = 0; k < WSWEEP_COUNTERS; k++)
		s->expect[k] = rep->count[k];
}

static void add(struct sweep *s, uint64_t value, uint64_t n, struct wsweep_rep *rep)
{
	s->expect_adds++;
	for (unsigned k = 0; k < WSWEEP_COUNTERS; k++)
		s->expect[k] += value * (k + 1);
	call(s, WSWEEP_ADD, value, rep);
	check(s, rep, n);
}

int main(const char *args)
{
	const char *p = args;
	uint64_t maxn, tail, n, deaths = 0, path = 0, holes = 0, quiet = 0;
	struct sweep s = { 0 };
	struct wsweep_rep rep;

	if (ve_parse_u64(&p, &maxn) < 0 || ve_parse_u64(&p, &tail) < 0 || tail == 0 ||
	    *ve_skip_space(p) != '\0') {
		ve_printf("wsweepcli: bad args '%s' (want \"MAXN TAIL\")\n", args);
		return 2;
	}
	if ((s.h = ve_chan_open("wsweep")) < 0) {
		ve_printf("wsweepcli: open wsweep: %s\n", ve_strerror(s.h));
		return 2;
	}
	call(&s, WSWEEP_READ, 0, &rep); /* the totals a kept stash starts from */
	s.expect_adds = rep.adds;
	memcpy(s.expect, rep.count, sizeof(s.expect));
	for (n = 1; n <= maxn && quiet < tail; n++) {
		uint64_t pid = rep.pid;
		int r = ve_inject((int)pid, VE_INJ_STEP, n, n);
		if (r < 0) {
			ve_printf("wsweepcli: inject step %llu into %llu: %s\n",
				  (unsigned long long)n, (unsigned long long)pid, ve_strerror(r));
			return 2;
		}
		add(&s, 2 * n + 1, n, &rep); /* its reply starts the count */
		add(&s, 2 * n + 2, n, &rep); /* dies in this one, n into it */
		if (rep.pid != pid) {
			deaths++;
			holes += quiet; /* survivors below this death */
			path = n;
			quiet = 0;
		} else {
			quiet++;
		}
		if (n % REPORT_EVERY == 0)
			ve_event("wsweep_at",
				 (struct ve_kv[]){ VE_KV_NUM("n", n), VE_KV_NUM("deaths", deaths) },
				 2);
	}
	call(&s, WSWEEP_READ, 0, &rep);
	check(&s, &rep, n);
	struct ve_kv kv[] = { VE_KV_NUM("last_n", n - 1), VE_KV_NUM("deaths", deaths),
			      VE_KV_NUM("path", path),	  VE_KV_NUM("holes", holes),
			      VE_KV_NUM("bad", s.bad),	  VE_KV_NUM("calls", s.calls) };
	ve_event("wsweep", kv, sizeof(kv) / sizeof(kv[0]));
	ve_printf("wsweepcli: n 1..%llu: %llu deaths, path %llu, holes %llu, bad %llu\n",
		  (unsigned long long)(n - 1), (unsigned long long)deaths, (unsigned long long)path,
		  (unsigned long long)holes, (unsigned long long)s.bad);
	return s.bad == 0 && holes == 0 && path > 0 ? 0 : 1;
}
