/*
 * bench: the guest half of `make bench` (tools/bench.c is the host half).
 * Args "CALLS CASTS CRASHES" (or "stash STASHCALLS" for the helper of 5.).
 * Every figure comes from rdtsc in the guest (user mode may read the TSC);
 * the host turns cycles into seconds with the boot event's tsc_hz. In
 * order:
 *
 *   1. call+reply round trips on "bcall" (benchsrv, another process), one
 *      rdtsc pair per call, CALLS of them: the channel has never seen a
 *      server death ("before");
 *   2. CASTS one-way casts to "bcast1" (max_messages 1: each cast waits until the
 *      sink took the previous one, so no batching; one ve_chan_cast each) and
 *      to "bcastn" (a deep queue: VE_BATCH_MAX casts per ve_chan_castv, and
 *      the sink takes up to VE_BATCH_MAX per ve_chan_recvv, acking the
 *      previous batch in the same call), timed as a whole, up to the reply
 *      of a report call that follows them in the FIFO;
 *   3. CRASHES calls "CRASH" on "bcall": benchsrv dies with each in flight,
 *      benchsup restarts it, and the kernel replays the call to the new
 *      incarnation; each is timed from the call to the reply, and the
 *      reply's TSC is reported so the host can take the recovery proper
 *      (from the death, which benchsrv.c stamps, to the reply);
 *   4. CALLS round trips on "bcall" again, now that its messages have gone
 *      through death and redelivery ("after"). Compared with 1., this is
 *      what the redelivery bookkeeping costs the hot path once it has been
 *      used;
 *   5. a call on "bstash", which another process running this program
 *      (args "stash STASHCALLS", see stash_main) answers once it has timed
 *      STASHCALLS round trips to benchstash, which writes one word in each
 *      of the first P pages of its stash per call, P = 0, 1, 4 and 16: on
 *      "bplain" (a plain stash) and on "bwin" (a stash with recovery
 *      windows, whose pages are saved at their first write after each
 *      reply). The difference is what the windows cost a request. (A
 *      process opens at most 4 channels: hence the second process.)
 *
 * Results go to the event log (all numbers are TSC ticks: cycles, or guest
 * instructions under QEMU's -icount shift=0):
 *   {"ev":"bench_rtt","phase":"before"|"after","n":..,"p50":..,"p99":..,
 *    "min":..,"max":..,"mean":..}
 *   {"ev":"bench_cast","mode":"unbatched"|"batched","n":..,"cycles":..,
 *    "wakeups":..}
 *   {"ev":"bench_crash_call","i":..,"t0":..,"t1":..}  (one per crash: TSC at
 *    the call and at its reply)
 *   {"ev":"bench_crash","n":..,"p50":..,"max":..}  (of t1 - t0)
 *   {"ev":"bench_stash","mode":"plain"|"window","pages":P,"n":..,"p50":..,
 *    "p99":..,"min":..,"max":..,"mean":..}
 *   {"ev":"bench_done","ok":1}
 * then it halts the machine with 0 (needs the halt grant). On any failure
 * it writes {"ev":"bench_error","what":..,"err":..} and halts with 1.
 */
#include "vesta.h"

#define WARMUP 1000	     /* untimed calls before each timed series */
#define CRASH_MAX 64	     /* most CRASHES; benchsup gives up after more */
#define PAYLOAD "ping0123"   /* 8 bytes: a small request, as most are */
#define STASH_CALLS 10000    /* round trips per stash series, unless args say */
#define BENCH_STASH_PAGES 16 /* tests/boot/progs/benchstash.c has the same */

/* The reply to a report request; benchsink.c has the same layout. */
struct bench_sink_report {
	uint64_t casts;
	uint64_t wakeups;
};

struct bench_stats {
	uint64_t n, p50, p99, min, max, mean;
};

/* The TSC, read after every earlier instruction has completed. */
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return ((uint64_t)hi << 32) | lo;
}

/* Report what failed and stop the machine with failure. */
static _Noreturn void fail(const char *what, long err)
{
	struct ve_kv kv[] = { VE_KV_STR("what", what), VE_KV_NUM("err", err) };

	ve_printf("bench: %s: %s\n", what, ve_strerror(err));
	ve_event("bench_error", kv, 2);
	ve_halt(1);
	ve_exit(1);
}

/* n 32-bit words of fresh memory. Fails the run if there is none. */
static uint32_t *alloc_words(uint64_t n)
{
	uint64_t len = (n * sizeof(uint32_t) + VE_PAGE_SIZE - 1) & ~(VE_PAGE_SIZE - 1);
	long a = ve_vm_alloc(0, len, VE_PROT_READ | VE_PROT_WRITE);

	if (a < 0)
		fail("vm_alloc", a);
	return (uint32_t *)a;
}

/* Sort v[0..n) ascending: an LSD radix sort, a byte per pass, through tmp. */
static void sort_u32(uint32_t *v, uint32_t *tmp, uint64_t n)
{
	for (unsigned shift = 0; shift < 32; shift += 8) {
		uint64_t count[257] = { 0 };

		for (uint64_t i = 0; i < n; i++)
			count[((v[i] >> shift) & 0xff) + 1]++;
		for (unsigned b = 0; b < 256; b++)
			count[b + 1] += count[b];
		for (uint64_t i = 0; i < n; i++)
			tmp[count[(v[i] >> shift) & 0xff]++] = v[i];
		memcpy(v, tmp, n * sizeof(*v));
	}
}

/* Median, nearest-rank 99th percentile, extremes and mean of v[0..n), n > 0. */
static struct bench_stats stats_of(uint32_t *v, uint32_t *tmp, uint64_t n)
{
	struct bench_stats s = { .n = n };
	uint64_t sum = 0;

	sort_u32(v, tmp, n);
	for (uint64_t i = 0; i < n; i++)
		sum += v[i];
	s.p50 = v[n / 2];
	s.p99 = v[(n * 99 + 99) / 100 - 1];
	s.min = v[0];
	s.max = v[n - 1];
	s.mean = sum / n;
	return s;
}

/* The reply r (its length, or an error) in rep to a call of len bytes
 * from req must be those bytes. */
static void check_echo(long r, const char *rep, const char *req, size_t len)
{
	if (r < 0)
		fail("call", r);
	if ((size_t)r != len || memcmp(rep, req, len) != 0)
		fail("call: wrong echo", -VE_INVAL);
}

/* One call of len bytes on h whose reply must be the same bytes. */
static void call_echo(int h, const char *req, size_t len)
{
	char rep[16];

	check_echo(ve_chan_call(h, req, len, rep, sizeof(rep), VE_TIMEOUT_NONE), rep, req, len);
}

/* Time n round trips on h into v (cycles, capped at 2^32 - 1). Only the
 * call is timed: each echo is checked after, as the Linux side's pipe
 * ping-pong times its transfers and not what it does with the bytes. */
static void time_calls(int h, uint32_t *v, uint64_t n)
{
	char rep[16];

	for (uint64_t i = 0; i < WARMUP; i++)
		call_echo(h, PAYLOAD, sizeof(PAYLOAD) - 1);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t t0 = rdtsc();
		long r = ve_chan_call(h, PAYLOAD, sizeof(PAYLOAD) - 1, rep, sizeof(rep),
				      VE_TIMEOUT_NONE);
		uint64_t dt = rdtsc() - t0;
		check_echo(r, rep, PAYLOAD, sizeof(PAYLOAD) - 1);
		v[i] = dt > UINT32_MAX ? UINT32_MAX : (uint32_t)dt;
	}
}

static void post_rtt(const char *phase, const struct bench_stats *s)
{
	struct ve_kv kv[] = {
		VE_KV_STR("phase", phase),  VE_KV_NUM("n", s->n),     VE_KV_NUM("p50", s->p50),
		VE_KV_NUM("p99", s->p99),   VE_KV_NUM("min", s->min), VE_KV_NUM("max", s->max),
		VE_KV_NUM("mean", s->mean),
	};

	ve_event("bench_rtt", kv, sizeof(kv) / sizeof(kv[0]));
	ve_printf("bench: rtt %s: n %llu p50 %llu p99 %llu cycles\n", phase,
		  (unsigned long long)s->n, (unsigned long long)s->p50, (unsigned long long)s->p99);
}

/* Ask the sink behind h how many casts and wakeups it had since last time. */
static struct bench_sink_report sink_report(int h)
{
	struct bench_sink_report rep;
	long r = ve_chan_call(h, "report", 6, &rep, sizeof(rep), VE_TIMEOUT_NONE);

	if (r < 0)
		fail("report call", r);
	if ((size_t)r != sizeof(rep))
		fail("report: wrong size", -VE_RANGE);
	return rep;
}

/* Cast n messages on h, one system call each (vec 0) or in batches of
 * up to vec (ve_chan_castv). */
static void cast_n(int h, uint64_t n, unsigned vec)
{
	static char msgs[VE_BATCH_MAX][sizeof(PAYLOAD) - 1];
	static uint32_t lens[VE_BATCH_MAX];
	long r;

	if (!vec) {
		for (uint64_t i = 0; i < n; i++)
			if ((r = ve_chan_cast(h, PAYLOAD, sizeof(PAYLOAD) - 1, 0)) < 0)
				fail("cast", r);
		return;
	}
	for (unsigned i = 0; i < vec; i++) {
		memcpy(msgs[i], PAYLOAD, sizeof(PAYLOAD) - 1);
		lens[i] = sizeof(PAYLOAD) - 1;
	}
	for (uint64_t sent = 0; sent < n; sent += (uint64_t)r)
		if ((r = ve_chan_castv(h, msgs, lens, n - sent < vec ? n - sent : vec, 0)) < 0)
			fail("castv", r);
}

/* Cast n messages on channel name (as cast_n), timed up to the sink's
 * report. */
static void time_casts(const char *name, const char *mode, uint64_t n, unsigned vec)
{
	int h = ve_chan_open(name);
	struct bench_sink_report rep;
	uint64_t t0, cycles;

	if (h < 0)
		fail("open cast channel", h);
	cast_n(h, WARMUP, vec);
	sink_report(h);
	t0 = rdtsc();
	cast_n(h, n, vec);
	rep = sink_report(h);
	cycles = rdtsc() - t0;
	if (rep.casts != n)
		fail("sink saw a different number of casts", -VE_INVAL);

	struct ve_kv kv[] = {
		VE_KV_STR("mode", mode),
		VE_KV_NUM("n", n),
		VE_KV_NUM("cycles", cycles),
		VE_KV_NUM("wakeups", rep.wakeups),
	};
	ve_event("bench_cast", kv, sizeof(kv) / sizeof(kv[0]));
	ve_printf("bench: cast %s: %llu in %llu cycles, %llu sink wakeups\n", mode,
		  (unsigned long long)n, (unsigned long long)cycles,
		  (unsigned long long)rep.wakeups);
}

/* Crash the server n times with a call in flight; time each call. */
static void time_crashes(int h, uint32_t *v, uint32_t *tmp, uint64_t n)
{
	uint64_t t0[CRASH_MAX], t1[CRASH_MAX];

	for (uint64_t i = 0; i < n; i++) {
		t0[i] = rdtsc();
		call_echo(h, "CRASH", 5);
		t1[i] = rdtsc();
		uint64_t dt = t1[i] - t0[i];
		v[i] = dt > UINT32_MAX ? UINT32_MAX : (uint32_t)dt;
	}
	for (uint64_t i = 0; i < n; i++) { /* after the timing: events cost */
		struct ve_kv kv[] = { VE_KV_NUM("i", i), VE_KV_NUM("t0", t0[i]),
				      VE_KV_NUM("t1", t1[i]) };
		ve_event("bench_crash_call", kv, sizeof(kv) / sizeof(kv[0]));
	}
	struct bench_stats s = stats_of(v, tmp, n);
	struct ve_kv kv[] = { VE_KV_NUM("n", n), VE_KV_NUM("p50", s.p50), VE_KV_NUM("max", s.max) };
	ve_event("bench_crash", kv, sizeof(kv) / sizeof(kv[0]));
	ve_printf("bench: %llu crashes, call with a crash p50 %llu cycles\n", (unsigned long long)n,
		  (unsigned long long)s.p50);
}

/* Time n round trips to benchstash on channel chan, each dirtying pages
 * stash pages, and post them as a bench_stash event. */
static void time_stash(const char *chan, const char *mode, uint32_t pages, uint32_t *v,
		       uint32_t *tmp, uint64_t n)
{
	int h = ve_chan_open(chan);
	uint32_t rep;

	if (h < 0)
		fail("open stash channel", h);
	for (uint64_t i = 0; i < n + WARMUP; i++) {
		uint64_t t0 = rdtsc();
		long r = ve_chan_call(h, &pages, sizeof(pages), &rep, sizeof(rep), VE_TIMEOUT_NONE);
		uint64_t dt = rdtsc() - t0;
		if (r != (long)sizeof(rep) || rep != pages)
			fail("stash call", r < 0 ? r : -VE_INVAL);
		if (i >= WARMUP)
			v[i - WARMUP] = dt > UINT32_MAX ? UINT32_MAX : (uint32_t)dt;
	}
	struct bench_stats s = stats_of(v, tmp, n);
	struct ve_kv kv[] = {
		VE_KV_STR("mode", mode), VE_KV_NUM("pages", pages), VE_KV_NUM("n", s.n),
		VE_KV_NUM("p50", s.p50), VE_KV_NUM("p99", s.p99),   VE_KV_NUM("min", s.min),
		VE_KV_NUM("max", s.max), VE_KV_NUM("mean", s.mean),
	};
	ve_event("bench_stash", kv, sizeof(kv) / sizeof(kv[0]));
	ve_printf("bench: stash %s, %u pages dirtied: p50 %llu p99 %llu cycles\n", mode, pages,
		  (unsigned long long)s.p50, (unsigned long long)s.p99);
}

/* The process with args "stash STASHCALLS": it serves "bstash", and
 * answers the one call bench makes there once it has timed every stash
 * series (5.), so that nothing else runs meanwhile. */
static _Noreturn void stash_main(const char *p)
{
	static const uint32_t pages[] = { 0, 1, 4, BENCH_STASH_PAGES };
	uint64_t n;
	struct ve_msg m;
	char buf[16];

	if (ve_parse_u64(&p, &n) < 0 || n == 0 || *ve_skip_space(p))
		fail("bad args (want \"stash STASHCALLS\")", -VE_INVAL);
	int h = ve_chan_serve_wait("bstash");
	long r =
	    h < 0 ? h
		  : ve_chan_reply_recv(h, 0, buf, 0, sizeof(buf), VE_TIMEOUT_NONE, &m, NULL, NULL);
	if (r < 0)
		fail("serve bstash", r);
	uint32_t *v = alloc_words(n), *tmp = alloc_words(n);
	for (unsigned i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		time_stash("bplain", "plain", pages[i], v, tmp, n);
		time_stash("bwin", "window", pages[i], v, tmp, n);
	}
	if ((r = ve_chan_reply(h, m.id, NULL, 0)) < 0)
		fail("reply on bstash", r);
	for (;;) /* bench halts the machine; an exit would be a death to the host */
		ve_sleep_ms(1000);
}

int main(const char *args)
{
	const char *p = args;
	uint64_t calls, casts, crashes;
	struct bench_stats s;
	uint32_t *v, *tmp;
	int h;

	if (strncmp(ve_skip_space(p), "stash ", 6) == 0)
		stash_main(ve_skip_space(p) + 6);
	if (ve_parse_u64(&p, &calls) < 0 || ve_parse_u64(&p, &casts) < 0 ||
	    ve_parse_u64(&p, &crashes) < 0 || calls == 0 || casts == 0 || crashes == 0 ||
	    crashes > CRASH_MAX)
		fail("bad args (want \"CALLS CASTS CRASHES\")", -VE_INVAL);
	v = alloc_words(calls);
	tmp = alloc_words(calls);
	h = ve_chan_open("bcall");
	if (h < 0)
		fail("open bcall", h);

	time_calls(h, v, calls);
	s = stats_of(v, tmp, calls);
	post_rtt("before", &s);
	time_casts("bcast1", "unbatched", casts, 0);
	time_casts("bcastn", "batched", casts, VE_BATCH_MAX);
	time_crashes(h, v, tmp, crashes);
	time_calls(h, v, calls);
	s = stats_of(v, tmp, calls);
	post_rtt("after", &s);
	/* 5.: the stash series, by the "bstash" process, while this one waits. */
	long r = ve_chan_open("bstash");
	if (r >= 0)
		r = ve_chan_call((int)r, "go", 2, NULL, 0, VE_TIMEOUT_NONE);
	if (r < 0)
		fail("call bstash", r);

	ve_event1("bench_done", "ok", 1);
	ve_halt(0);
	fail("halt", -VE_PERM);
}
