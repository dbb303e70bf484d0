/*
 * batchsink: a sink that dies holding a batch of casts, and the replay of
 * that batch (ve_chan_castv, ve_chan_recvv). Args "parent" or "sink".
 *
 * parent: opens "bq" (no server yet) and casts NMSG messages with
 *   ve_chan_castv, VEC at a time; each payload is its sequence number
 *   0..NMSG-1. It spawns "bsink" (run 1), waits for it to die, checks the
 *   channel (FIRST acked, HELD queued again, redelivered HELD), spawns it
 *   again (run 2), waits for it to exit, and checks that everything was
 *   acked once: {"ev":"batchparent","bad":N}. Exit 0 iff bad is 0.
 * sink, run 1: receives FIRST casts with one ve_chan_recvv, then acks them
 *   and receives HELD more with the next, keeps those HELD ids in its stash,
 *   posts {"ev":"batchsink","run":1,"held":HELD} and writes through a null
 *   pointer, holding the batch un-acked.
 * sink, run 2: receives the rest in batches of up to VE_BATCH_MAX, acking
 *   each with the next call: the HELD must come first, in order, with the
 *   same ids and redelivered 1; then the others, in order, not redelivered.
 *   Posts {"ev":"batchsink","run":2,"replayed":N,"same_ids":0|1,
 *   "in_order":0|1,"got":N,"bad":N} and exits 0 iff nothing was wrong.
 * Then backpressure: the parent spawns the sink again (run 3) and casts
 *   NSTREAM more, blocking, VSTREAM at a time, into the 256-deep queue: a
 *   castv that finds it full waits, one that finds room for part of its
 *   batch queues that part, and each returns how many went in, so the
 *   parent sends the rest again. Run 3 takes them in
 *   batches and checks their order: {"ev":"batchsink","run":3,"got":N,
 *   "in_order":0|1,"bad":N}.
 * The runs are counted in the sink's stash (a region kept per name).
 */
#include "vesta.h"

#define NMSG 100
#define VEC 32
#define FIRST 8
#define HELD 16
#define NSTREAM 1000
#define VSTREAM 60 /* not a divisor of the queue's 256: a call may find part room */

struct sink_stash {
	uint64_t runs;
	uint64_t ids[HELD];
};

static unsigned bad;

static void check(const char *what, long got, long want)
{
	if (got == want)
		return;
	bad++;
	ve_printf("batchsink: %s: %ld, expected %ld\n", what, got, want);
}

static struct ve_chaninfo bq_info(void)
{
	struct ve_chaninfo ci = { 0 };
	check("chan_info bq", ve_chan_info_named("bq", &ci), 0);
	return ci;
}

/* Spawn the sink and wait for its death; returns how it died. */
static struct ve_exit run_sink(void)
{
	struct ve_exit ex = { 0 };
	int pid = ve_spawn("bsink", NULL);
	check("spawn bsink", pid > 0, 1);
	if (pid > 0)
		check("wait bsink", ve_wait(pid, &ex), 0);
	return ex;
}

/* The backpressure part: run 3 drains while this casts NSTREAM. */
static void stream(int h)
{
	static uint64_t seq[NSTREAM];
	static uint32_t lens[VE_BATCH_MAX];
	struct ve_exit ex = { 0 };
	for (unsigned i = 0; i < NSTREAM; i++)
		seq[i] = i;
	for (unsigned i = 0; i < VE_BATCH_MAX; i++)
		lens[i] = sizeof(uint64_t);
	int pid = ve_spawn("bsink", NULL);
	check("spawn bsink for run 3", pid > 0, 1);
	/* Whether a call finds part room depends on how fast the sink drains;
	 * bounds.scn checks a cut-short batch where it is certain. */
	for (unsigned sent = 0; pid > 0 && sent < NSTREAM;) {
		unsigned n = NSTREAM - sent < VSTREAM ? NSTREAM - sent : VSTREAM;
		long r = ve_chan_castv(h, &seq[sent], lens, n, 0);
		check("blocking castv", r > 0 && r <= (long)n, 1);
		if (r <= 0)
			break;
		sent += (unsigned)r;
	}
	if (pid > 0)
		check("wait bsink run 3", ve_wait(pid, &ex), 0);
	check("run 3 exit reason", ex.reason, VE_R_EXIT);
	check("run 3 exit code", ex.code, 0);
}

static int parent(void)
{
	static uint64_t seq[NMSG];
	static uint32_t lens[VEC];
	int h = ve_chan_open("bq");
	check("open bq", h >= 0, 1);
	for (unsigned i = 0; i < NMSG; i++)
		seq[i] = i;
	for (unsigned i = 0; i < VEC; i++)
		lens[i] = sizeof(uint64_t);
	for (unsigned sent = 0; h >= 0 && sent < NMSG;) {
		unsigned n = NMSG - sent < VEC ? NMSG - sent : VEC;
		long r = ve_chan_castv(h, &seq[sent], lens, n, VE_NONBLOCK);
		check("castv into room", r, n);
		if (r <= 0)
			break;
		sent += (unsigned)r;
	}
	struct ve_chaninfo ci = bq_info();
	check("sent", (long)ci.sent, NMSG);
	check("queued", ci.queued, NMSG);

	struct ve_exit ex = run_sink();
	check("run 1 died of a page fault", ex.reason, VE_R_PAGE_FAULT);
	ci = bq_info();
	check("acked after run 1", (long)ci.acked, FIRST);
	check("in flight after run 1", ci.inflight, 0);
	check("queued again after run 1", ci.queued, NMSG - FIRST);
	check("redelivered after run 1", (long)ci.redelivered, HELD);

	ex = run_sink();
	check("run 2 exit reason", ex.reason, VE_R_EXIT);
	check("run 2 exit code", ex.code, 0);
	ci = bq_info();
	check("acked after run 2", (long)ci.acked, NMSG);
	check("held after run 2", ci.queued + ci.inflight, 0);
	stream(h);
	ci = bq_info();
	check("acked at the end", (long)ci.acked, NMSG + NSTREAM);
	check("held at the end", ci.queued + ci.inflight, 0);
	check("poisoned", (long)ci.poisoned, 0);
	ve_event1("batchparent", "bad", bad);
	return bad ? 1 : 0;
}

/* Receive up to max with acks of acks[0..nacks); the payloads are
 * sequence numbers, to seqs. */
static long take(int h, uint64_t *acks, uint32_t nacks, uint32_t max, struct ve_msg *msgs,
		 uint64_t *seqs)
{
	struct ve_batch b = { .acks = acks,
			      .nacks = nacks,
			      .max = max,
			      .msgs = msgs,
			      .buf = seqs,
			      .cap = max * sizeof(uint64_t),
			      .timeout_ns = VE_TIMEOUT_NONE }; /* the scenario bounds a hang */
	long r = ve_chan_recvv(h, &b);
	check("acked", b.acked, nacks);
	for (long i = 0; i < r; i++)
		check("payload length", msgs[i].len, sizeof(uint64_t));
	return r;
}

static void sink_run1(int h, struct sink_stash *st)
{
	struct ve_msg msgs[HELD];
	uint64_t seqs[HELD], acks[FIRST];
	check("first batch", take(h, NULL, 0, FIRST, msgs, seqs), FIRST);
	for (unsigned i = 0; i < FIRST; i++)
		acks[i] = msgs[i].id;
	check("second batch", take(h, acks, FIRST, HELD, msgs, seqs), HELD);
	for (unsigned i = 0; i < HELD; i++) {
		st->ids[i] = msgs[i].id;
		check("second batch in order", (long)seqs[i], FIRST + i);
	}
	ve_event("batchsink", (struct ve_kv[]){ VE_KV_NUM("run", 1), VE_KV_NUM("held", HELD) }, 2);
	*(volatile int *)0 = 1; /* dies holding the batch */
	__builtin_trap();
}

/* Ack the last batch and find nothing left (checked); how many acks were
 * made. */
static uint32_t last_acks(int h, uint64_t *acks, uint32_t nacks, struct ve_msg *msgs,
			  uint64_t *seqs)
{
	struct ve_batch b = { .acks = acks,
			      .nacks = nacks,
			      .max = 1,
			      .msgs = msgs,
			      .buf = seqs,
			      .cap = VE_BATCH_MAX * sizeof(seqs[0]),
			      .timeout_ns = 1000000 };

	check("last acks, then empty", ve_chan_recvv(h, &b), -VE_TIMEOUT);
	return b.acked;
}

static int sink_run2(int h, const struct sink_stash *st)
{
	static struct ve_msg msgs[VE_BATCH_MAX];
	static uint64_t seqs[VE_BATCH_MAX], acks[VE_BATCH_MAX];
	uint32_t nacks = 0, got = 0, replayed = 0, same_ids = 1, in_order = 1;
	uint64_t want = FIRST;
	while (want < NMSG) {
		long r = take(h, acks, nacks, VE_BATCH_MAX, msgs, seqs);
		check("a batch", r > 0, 1);
		if (r <= 0)
			break;
		for (long i = 0; i < r; i++, got++, want++) {
			in_order &= seqs[i] == want;
			if (got < HELD) {
				replayed += msgs[i].redelivered == 1;
				same_ids &= msgs[i].id == st->ids[got];
			} else {
				check("not redelivered", msgs[i].redelivered, 0);
			}
			acks[i] = msgs[i].id;
		}
		nacks = (uint32_t)r;
	}
	/* The last batch's acks; then nothing is left. */
	check("last acks", last_acks(h, acks, nacks, msgs, seqs), nacks);
	struct ve_kv kv[] = { VE_KV_NUM("run", 2),
			      VE_KV_NUM("replayed", replayed),
			      VE_KV_NUM("same_ids", same_ids),
			      VE_KV_NUM("in_order", in_order),
			      VE_KV_NUM("got", got),
			      VE_KV_NUM("bad", bad) };
	ve_event("batchsink", kv, sizeof(kv) / sizeof(kv[0]));
	return bad || !same_ids || !in_order || replayed != HELD ? 1 : 0;
}

static int sink_run3(int h)
{
	static struct ve_msg msgs[VE_BATCH_MAX];
	static uint64_t seqs[VE_BATCH_MAX], acks[VE_BATCH_MAX];
	uint32_t nacks = 0, got = 0, in_order = 1;
	while (got < NSTREAM) {
		long r = take(h, acks, nacks, VE_BATCH_MAX, msgs, seqs);
		check("a stream batch", r > 0, 1);
		if (r <= 0)
			break;
		for (long i = 0; i < r; i++, got++) {
			in_order &= seqs[i] == got;
			acks[i] = msgs[i].id;
		}
		nacks = (uint32_t)r;
	}
	check("last stream acks", last_acks(h, acks, nacks, msgs, seqs), nacks);
	struct ve_kv kv[] = { VE_KV_NUM("run", 3), VE_KV_NUM("got", got),
			      VE_KV_NUM("in_order", in_order), VE_KV_NUM("bad", bad) };
	ve_event("batchsink", kv, sizeof(kv) / sizeof(kv[0]));
	return bad || !in_order ? 1 : 0;
}

static int sink(void)
{
	long base = ve_stash_wait(sizeof(struct sink_stash));
	int h = ve_chan_serve("bq");
	if (base < 0 || h < 0) {
		ve_printf("batchsink: stash %ld, serve %d\n", base, h);
		return 3;
	}
	struct sink_stash *st = (struct sink_stash *)(uintptr_t)base;
	if (++st->runs == 1)
		sink_run1(h, st);
	if (st->runs == 2)
		return sink_run2(h, st);
	return sink_run3(h);
}

int main(const char *args)
{
	const char *role = ve_skip_space(args);
	if (strcmp(role, "parent") == 0)
		return parent();
	if (strcmp(role, "sink") == 0)
		return sink();
	ve_printf("batchsink: bad args '%s' (want \"parent\" or \"sink\")\n", args);
	return 2;
}
