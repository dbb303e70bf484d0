/*
 * A randomized model test of the channel core (channels/): many seeds of
 * random interleavings of open, send (call and cast), recv, reply, ack,
 * their batches (send, recv and ack of several at once), server death,
 * restart, client death and cancel, run against a small
 * reference model written straight from the contract in chan.h. After
 * every step the channels must match the model exactly: the same messages
 * queued and in flight in the same order with the same fields, every
 * message in exactly one state, replies delivered at most once, the queue
 * in send order with replays first, never more than max_msgs messages
 * queued and in flight together, the same counters and dead letters, the
 * allocator holding exactly what the channels hold, and each sender charged
 * for exactly its messages they hold (its orphans' once it died). Some
 * seeds run with an allocator that fails at random.
 *
 * On a failure the seed and step are printed. Replay one seed with
 * CHAN_MODEL_SEED=n (and CHAN_MODEL_TRACE=1 to print every step);
 * CHAN_MODEL_SEEDS and CHAN_MODEL_STEPS change how much runs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chan.h"
#include <vesta/abi.h>

#define NCHANS 3
#define NCLIENTS 4
#define DEFAULT_SEEDS 200
#define DEFAULT_STEPS 2000

/* ------------------------------------------------------------ the PRNG */

/* splitmix64: tiny, deterministic, good enough to pick operations. */
static uint64_t rnd_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t rnd(uint64_t *s, uint32_t n)
{
	return (uint32_t)(rnd_next(s) % n);
}

/* ------------------------------------------------------- the allocator */

struct alloc {
	long live;		       /* blocks given and not freed */
	bool fail_next;		       /* the next allocation fails */
	long failed;		       /* allocations refused */
	size_t held[2 * NCLIENTS + 1]; /* bytes charged to each owner, not refunded:
					* a sender, or NCLIENTS + a dead one */
};

static void *a_alloc(void *ctx, size_t n)
{
	struct alloc *a = ctx;
	if (a->fail_next) {
		a->fail_next = false;
		a->failed++;
		return NULL;
	}
	void *p = malloc(n);
	if (p)
		a->live++;
	return p;
}

static void a_free(void *ctx, void *p)
{
	struct alloc *a = ctx;
	a->live--;
	free(p);
}

static int a_charge(void *ctx, uint64_t sender, size_t n, uint32_t count, uint64_t *owner)
{
	struct alloc *a = ctx;
	assert_true(sender >= 1 && sender <= NCLIENTS && count > 0);
	a->held[sender] += n * count;
	*owner = sender;
	return 0;
}

static uint64_t a_disown(void *ctx, uint64_t owner, size_t n)
{
	struct alloc *a = ctx;
	assert_true(owner >= 1 && owner <= 2 * NCLIENTS && a->held[owner] >= n);
	a->held[owner] -= n;
	owner = owner > NCLIENTS ? owner : owner + NCLIENTS;
	a->held[owner] += n;
	return owner;
}

static void a_refund(void *ctx, uint64_t owner, size_t n, uint32_t count)
{
	struct alloc *a = ctx;
	assert_true(owner >= 1 && owner <= 2 * NCLIENTS && count > 0);
	assert_true(a->held[owner] >= n * count);
	a->held[owner] -= n * count;
}

/* ----------------------------------------------------------- the model */

enum mstate {
	M_NONE,
	M_QUEUED,
	M_INFLIGHT,
	M_REPLIED,
	M_ACKED,
	M_POISONED,
	M_CANCELLED,
	M_DISCARDED,
	M_NSTATES
};

struct mmsg {
	int chan;
	uint64_t sender, cookie;
	uint32_t kind, len;
	uint8_t pat; /* data[i] == (uint8_t)(pat + i) */
	uint32_t redelivered, deaths;
	bool gone;
	bool orphan; /* its sender died: charged to NCLIENTS + sender */
	enum mstate st;
	unsigned replies_delivered;
};

/* An ordered list of message ids. */
struct ids {
	uint64_t *v;
	unsigned n;
};

struct mchan {
	const char *name;
	struct chan *c; /* NULL until opened */
	struct chan_limits lim;
	bool has_server;
	uint64_t server;
	struct ids queue, inflight;
	uint32_t qbytes;
	struct chan_stats st; /* the counters only */
	struct ids dead;      /* every poisoned id, in order */
};

struct model {
	unsigned seed, step;
	const char *op;
	bool trace;
	uint64_t rs; /* PRNG state */
	bool failmode;
	struct alloc a;
	struct chan_env env;
	struct chan_registry r;
	struct mchan ch[NCHANS];
	struct mmsg *msgs; /* by id */
	uint64_t next_id, next_server;
	unsigned cap;			 /* ids the arrays can hold */
	struct ids poisoned_seen;	 /* what on_poison was given this step */
	const struct chan_msg **scratch; /* cap entries, for listing a channel */
	struct ids replay, poison;	 /* scratch for op_server_died */
};

static void model_fail(struct model *m, const char *what, int line)
{
	print_error("chan model: seed %u step %u (%s): line %d: %s\n"
		    "replay with CHAN_MODEL_SEED=%u CHAN_MODEL_TRACE=1\n",
		    m->seed, m->step, m->op ? m->op : "-", line, what, m->seed);
	fail();
}

#define MCHECK(m, cond)                                                                            \
	do {                                                                                       \
		if (!(cond))                                                                       \
			model_fail((m), #cond, __LINE__);                                          \
	} while (0)

#define MEQ(m, a, b)                                                                               \
	do {                                                                                       \
		long long a_ = (long long)(a), b_ = (long long)(b);                                \
		if (a_ != b_) {                                                                    \
			char buf_[200];                                                            \
			snprintf(buf_, sizeof(buf_), "%s == %s (%lld != %lld)", #a, #b, a_, b_);   \
			model_fail((m), buf_, __LINE__);                                           \
		}                                                                                  \
	} while (0)

static void ids_push(struct ids *l, uint64_t id)
{
	l->v[l->n++] = id;
}

static void ids_remove(struct ids *l, uint64_t id)
{
	for (unsigned i = 0; i < l->n; i++) {
		if (l->v[i] == id) {
			memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(l->v[0]));
			l->n--;
			return;
		}
	}
}

static bool ids_has(const struct ids *l, uint64_t id)
{
	for (unsigned i = 0; i < l->n; i++) {
		if (l->v[i] == id)
			return true;
	}
	return false;
}

static void trace(struct model *m, const char *fmt, ...)
{
	if (!m->trace)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "step %u: ", m->step);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* Tell the allocator whether the next allocation fails. */
static bool arm_failure(struct model *m)
{
	m->a.fail_next = m->failmode && rnd(&m->rs, 5) == 0;
	return m->a.fail_next;
}

/* ------------------------------------------------------------ checking */

static void check_msg(struct model *m, const struct chan_msg *cm, uint64_t id, enum mstate st)
{
	MEQ(m, cm->id, id);
	const struct mmsg *x = &m->msgs[id];
	MEQ(m, x->st, st);
	MEQ(m, cm->sender, x->sender);
	MEQ(m, cm->cookie, x->cookie);
	MEQ(m, cm->kind, x->kind);
	MEQ(m, cm->len, x->len);
	MEQ(m, cm->redelivered, x->redelivered);
	MEQ(m, cm->deaths, x->deaths);
	MEQ(m, cm->sender_gone, x->gone);
	for (uint32_t i = 0; i < cm->len; i++)
		MEQ(m, cm->data[i], (uint8_t)(x->pat + i));
}

static void check_list(struct model *m, const struct ids *want, const struct chan_msg **got,
		       unsigned n, enum mstate st)
{
	MEQ(m, n, want->n);
	for (unsigned i = 0; i < n; i++)
		check_msg(m, got[i], want->v[i], st);
}

/* Send order is id order; replays come back ahead of everything never
 * handed out, so the queue is: redelivered ones, then fresh ones, all in
 * increasing id (and so per-sender FIFO). */
static void check_queue_order(struct model *m, const struct chan_msg **q, unsigned n)
{
	bool fresh = false;
	for (unsigned i = 0; i < n; i++) {
		if (i)
			MCHECK(m, q[i - 1]->id < q[i]->id);
		if (q[i]->redelivered == 0)
			fresh = true;
		else
			MCHECK(m, !fresh);
	}
}

static void check_stats(struct model *m, struct mchan *mc)
{
	struct chan_stats s;
	chan_stats(mc->c, &s);
	MEQ(m, s.sent, mc->st.sent);
	MEQ(m, s.replied, mc->st.replied);
	MEQ(m, s.acked, mc->st.acked);
	MEQ(m, s.poisoned, mc->st.poisoned);
	MEQ(m, s.cancelled, mc->st.cancelled);
	MEQ(m, s.discarded, mc->st.discarded);
	MEQ(m, s.redelivered, mc->st.redelivered);
	MEQ(m, s.queued, mc->queue.n);
	MEQ(m, s.inflight, mc->inflight.n);
	MEQ(m, s.queued_bytes, mc->qbytes);
	MEQ(m, s.sent,
	    s.replied + s.acked + s.poisoned + s.cancelled + s.discarded + s.queued + s.inflight);
}

static void check_deadletters(struct model *m, struct mchan *mc)
{
	struct chan_deadletter dl[CHAN_DEADLETTER_KEEP];
	unsigned n = chan_deadletters(mc->c, dl, CHAN_DEADLETTER_KEEP);
	unsigned want = mc->dead.n < CHAN_DEADLETTER_KEEP ? mc->dead.n : CHAN_DEADLETTER_KEEP;
	MEQ(m, n, want);
	for (unsigned i = 0; i < n; i++) {
		uint64_t id = mc->dead.v[mc->dead.n - n + i];
		MEQ(m, dl[i].id, id);
		MEQ(m, dl[i].sender, m->msgs[id].sender);
		MEQ(m, dl[i].kind, m->msgs[id].kind);
		MEQ(m, dl[i].len, m->msgs[id].len);
	}
}

static void check_chan(struct model *m, struct mchan *mc, unsigned *held)
{
	const struct chan_msg **got = m->scratch;
	MEQ(m, chan_check(mc->c), 0);
	MEQ(m, chan_has_server(mc->c), mc->has_server);
	MEQ(m, chan_server(mc->c), mc->has_server ? mc->server : 0);
	MEQ(m, chan_pending(mc->c), mc->queue.n > 0);

	unsigned n = chan_list_queued(mc->c, got, m->cap);
	check_list(m, &mc->queue, got, n, M_QUEUED);
	check_queue_order(m, got, n);
	n = chan_list_inflight(mc->c, got, m->cap);
	check_list(m, &mc->inflight, got, n, M_INFLIGHT);
	for (unsigned i = 0; i < n; i++)
		MCHECK(m, chan_inflight_find(mc->c, got[i]->id) == got[i]);
	check_stats(m, mc);
	check_deadletters(m, mc);
	/* A send needs room under the bound and a replay keeps the sum, so a
	 * channel never holds more than max_msgs. */
	struct chan_stats s;
	chan_stats(mc->c, &s);
	MCHECK(m, s.queued + s.inflight <= mc->lim.max_msgs);
	*held += mc->queue.n + mc->inflight.n;
}

/* Every message is in exactly one state, and the counts of the final
 * states are the counters. */
static void check_all(struct model *m)
{
	unsigned held = 0, nchans = 0;
	for (int i = 0; i < NCHANS; i++) {
		if (m->ch[i].c) {
			check_chan(m, &m->ch[i], &held);
			nchans++;
		}
	}
	MEQ(m, m->r.nchans, nchans);
	MEQ(m, m->a.live, nchans + held + m->r.nspare);

	/* Each sender is charged for exactly its messages that the channels
	 * hold, but for those it died on: they are its orphans'. */
	size_t charged[2 * NCLIENTS + 1] = { 0 };
	for (uint64_t id = 1; id < m->next_id; id++) {
		const struct mmsg *x = &m->msgs[id];
		if (x->st == M_QUEUED || x->st == M_INFLIGHT)
			charged[x->sender + (x->orphan ? NCLIENTS : 0)] += chan_msg_size(x->len);
	}
	for (int s = 1; s <= 2 * NCLIENTS; s++)
		MEQ(m, m->a.held[s], charged[s]);

	unsigned count[NCHANS][M_NSTATES] = { { 0 } };
	for (uint64_t id = 1; id < m->next_id; id++) {
		const struct mmsg *x = &m->msgs[id];
		MCHECK(m, x->st > M_NONE && x->st < M_NSTATES);
		count[x->chan][x->st]++;
		MCHECK(m, x->replies_delivered <= 1);
		MEQ(m, x->replies_delivered, x->st == M_REPLIED);
	}
	for (int i = 0; i < NCHANS; i++) {
		const struct mchan *mc = &m->ch[i];
		MEQ(m, count[i][M_QUEUED], mc->queue.n);
		MEQ(m, count[i][M_INFLIGHT], mc->inflight.n);
		MEQ(m, count[i][M_REPLIED], mc->st.replied);
		MEQ(m, count[i][M_ACKED], mc->st.acked);
		MEQ(m, count[i][M_POISONED], mc->st.poisoned);
		MEQ(m, count[i][M_CANCELLED], mc->st.cancelled);
		MEQ(m, count[i][M_DISCARDED], mc->st.discarded);
	}
}

/* ---------------------------------------------------------- operations */

static struct mchan *pick_open(struct model *m)
{
	int open[NCHANS], n = 0;
	for (int i = 0; i < NCHANS; i++) {
		if (m->ch[i].c)
			open[n++] = i;
	}
	return n ? &m->ch[open[rnd(&m->rs, (uint32_t)n)]] : NULL;
}

static void op_open(struct model *m)
{
	struct mchan *mc = &m->ch[rnd(&m->rs, NCHANS)];
	struct chan *c = NULL;
	m->op = "open";
	if (mc->c) {
		if (rnd(&m->rs, 2)) {
			MCHECK(m, chan_find(&m->r, mc->name) == mc->c);
		} else {
			MEQ(m, chan_create(&m->r, mc->name, &mc->lim, &c), -VE_BUSY);
			MCHECK(m, c == NULL);
		}
		trace(m, "open %s: exists", mc->name);
		return;
	}
	MCHECK(m, chan_find(&m->r, mc->name) == NULL);
	bool fails = arm_failure(m);
	int err = chan_create(&m->r, mc->name, &mc->lim, &c);
	trace(m, "create %s -> %d", mc->name, err);
	if (fails) {
		MEQ(m, err, -VE_NOMEM);
		MCHECK(m, chan_find(&m->r, mc->name) == NULL);
		return;
	}
	MEQ(m, err, 0);
	mc->c = c;
	struct chan_limits l;
	chan_get_limits(c, &l);
	MEQ(m, l.max_msgs, mc->lim.max_msgs ? mc->lim.max_msgs : 64);
	MEQ(m, l.max_bytes, mc->lim.max_bytes ? mc->lim.max_bytes : 65536);
	MEQ(m, l.max_redeliveries, mc->lim.max_redeliveries ? mc->lim.max_redeliveries : 3);
	mc->lim = l;
}

static uint32_t pick_len(struct model *m, struct mchan *mc)
{
	switch (rnd(&m->rs, 20)) {
	case 0:
		return VE_MSG_MAX + rnd(&m->rs, 2); /* at or past the limit */
	case 1:
		return mc->lim.max_bytes + 1 - rnd(&m->rs, 2);
	case 2:
		return rnd(&m->rs, VE_MSG_MAX + 1);
	default:
		return rnd(&m->rs, 48);
	}
}

/* What chan_send should answer, from the contract. */
static int expect_send(const struct mchan *mc, uint32_t kind, uint32_t len)
{
	if (kind != VE_MSG_CALL && kind != VE_MSG_CAST)
		return -VE_INVAL;
	if (len > VE_MSG_MAX || len > mc->lim.max_bytes)
		return -VE_RANGE;
	/* The message bound is over queued and in flight together. */
	if (mc->queue.n + mc->inflight.n >= mc->lim.max_msgs ||
	    (uint64_t)mc->qbytes + len > mc->lim.max_bytes)
		return -VE_AGAIN;
	return 0;
}

static void op_send(struct model *m, struct mchan *mc)
{
	static uint8_t buf[VE_MSG_MAX + 2];
	m->op = "send";
	uint64_t sender = 1 + rnd(&m->rs, NCLIENTS);
	static const uint32_t bad_kinds[] = { 0, 3, 0xffffffffu };
	uint32_t kind = rnd(&m->rs, 50) == 0 ? bad_kinds[rnd(&m->rs, 3)] : 1 + rnd(&m->rs, 2);
	uint32_t len = pick_len(m, mc);
	uint8_t pat = (uint8_t)rnd(&m->rs, 256);
	uint64_t cookie = rnd_next(&m->rs);
	for (uint32_t i = 0; i < len && i < sizeof(buf); i++)
		buf[i] = (uint8_t)(pat + i);

	int want = expect_send(mc, kind, len);
	MEQ(m, chan_can_send(mc->c, len), expect_send(mc, VE_MSG_CALL, len) == 0);
	/* Only a send that goes to the allocator can fail: not one that
	 * takes a spare slot. */
	bool allocates = chan_msg_size(len) != CHAN_SLOT_SIZE || m->r.nspare == 0;
	bool fails = want == 0 && allocates && arm_failure(m);
	uint64_t id = 0;
	int err = chan_send(mc->c, sender, kind, buf, len, cookie, &id);
	m->a.fail_next = false;
	trace(m, "send %s from %llu kind %u len %u -> %d id %llu", mc->name,
	      (unsigned long long)sender, kind, len, err, (unsigned long long)id);
	if (fails)
		want = -VE_NOMEM;
	MEQ(m, err, want);
	if (err) {
		MEQ(m, id, 0);
		return;
	}
	MEQ(m, id, m->next_id); /* unique, increasing, none used up by failures */
	m->next_id++;
	m->msgs[id] = (struct mmsg){ .chan = (int)(mc - m->ch),
				     .sender = sender,
				     .cookie = cookie,
				     .kind = kind,
				     .len = len,
				     .pat = pat,
				     .st = M_QUEUED };
	ids_push(&mc->queue, id);
	mc->qbytes += len;
	mc->st.sent++;
}

/* What the next send of a batch should answer, with held messages and
 * qbytes queued bytes after the batch's earlier ones. */
static int expect_next(const struct mchan *mc, uint32_t held, uint64_t qbytes, uint32_t len)
{
	if (len > VE_MSG_MAX || len > mc->lim.max_bytes)
		return -VE_RANGE;
	if (held >= mc->lim.max_msgs || qbytes + len > mc->lim.max_bytes)
		return -VE_AGAIN;
	return 0;
}

/* How many of a batch chan_send_batch should queue, from the contract
 * (as many single sends), and the error that ends it; *alloc_at gets the
 * first of those that goes to the allocator (not a spare slot), or n. */
static uint32_t expect_batch(struct model *m, const struct mchan *mc, const uint32_t *lens,
			     uint32_t n, int *err, uint32_t *alloc_at)
{
	uint32_t held = mc->queue.n + mc->inflight.n, spares = m->r.nspare, k = 0;
	uint64_t qbytes = mc->qbytes;
	*err = 0;
	*alloc_at = n;
	for (; k < n && !(*err = expect_next(mc, held + k, qbytes, lens[k])); k++) {
		qbytes += lens[k];
		if (chan_msg_size(lens[k]) == CHAN_SLOT_SIZE && spares)
			spares--;
		else if (*alloc_at == n)
			*alloc_at = k;
	}
	return k;
}

static void op_send_batch(struct model *m, struct mchan *mc)
{
	static uint8_t buf[8 * (VE_MSG_MAX + 2)];
	uint32_t lens[8], n = rnd(&m->rs, 30) ? 1 + rnd(&m->rs, 8) : 0;
	uint8_t pats[8];
	m->op = "send_batch";
	uint64_t sender = 1 + rnd(&m->rs, NCLIENTS);
	uint32_t kind = rnd(&m->rs, 50) == 0 ? 0 : 1 + rnd(&m->rs, 2);
	uint64_t cookie = rnd_next(&m->rs);
	size_t at = 0;
	for (uint32_t i = 0; i < n; i++) {
		lens[i] = rnd(&m->rs, 8) ? rnd(&m->rs, 16) : pick_len(m, mc);
		pats[i] = (uint8_t)rnd(&m->rs, 256);
		/* A length past VE_MSG_MAX ends the batch: what follows it is
		 * never read, so the buffer need not hold it. */
		for (uint32_t j = 0; j < lens[i] && at + j < sizeof(buf); j++)
			buf[at + j] = (uint8_t)(pats[i] + j);
		at += lens[i];
	}

	int want_err;
	uint32_t alloc_at, want = expect_batch(m, mc, lens, n, &want_err, &alloc_at);
	if (n == 0 || (kind != VE_MSG_CALL && kind != VE_MSG_CAST)) {
		want = 0;
		want_err = -VE_INVAL;
	} else if (alloc_at < want && arm_failure(m)) {
		want = alloc_at; /* that allocation fails and ends the batch */
		want_err = -VE_NOMEM;
	}
	uint64_t first = 0;
	long got = chan_send_batch(mc->c, sender, kind, buf, lens, n, cookie, &first);
	m->a.fail_next = false;
	trace(m, "send_batch %s from %llu kind %u n %u -> %ld first %llu", mc->name,
	      (unsigned long long)sender, kind, n, got, (unsigned long long)first);
	if (want == 0) {
		MEQ(m, got, want_err);
		MEQ(m, first, 0);
		return;
	}
	MEQ(m, got, want);
	MEQ(m, first, m->next_id); /* consecutive from the next id */
	for (uint32_t i = 0; i < want; i++) {
		uint64_t id = m->next_id++;
		m->msgs[id] = (struct mmsg){ .chan = (int)(mc - m->ch),
					     .sender = sender,
					     .cookie = cookie,
					     .kind = kind,
					     .len = lens[i],
					     .pat = pats[i],
					     .st = M_QUEUED };
		ids_push(&mc->queue, id);
		mc->qbytes += lens[i];
		mc->st.sent++;
	}
}

/* The server to act as: mostly the real one, sometimes an impostor. */
static uint64_t pick_server(struct model *m, const struct mchan *mc)
{
	if (mc->has_server && rnd(&m->rs, 12))
		return mc->server;
	return 1000 + rnd(&m->rs, 4);
}

static bool model_is_server(const struct mchan *mc, uint64_t server)
{
	return mc->has_server && mc->server == server;
}

static void op_recv(struct model *m, struct mchan *mc)
{
	uint64_t server = pick_server(m, mc);
	struct chan_msg *got = NULL;
	m->op = "recv";
	int err = chan_recv(mc->c, server, &got);
	trace(m, "recv %s by %llu -> %d id %llu", mc->name, (unsigned long long)server, err,
	      got ? (unsigned long long)got->id : 0ull);
	if (!model_is_server(mc, server)) {
		MEQ(m, err, -VE_PERM);
		return;
	}
	if (!mc->queue.n) {
		MEQ(m, err, -VE_AGAIN);
		return;
	}
	MEQ(m, err, 0);
	uint64_t id = mc->queue.v[0];
	check_msg(m, got, id, M_QUEUED);
	ids_remove(&mc->queue, id);
	mc->qbytes -= m->msgs[id].len;
	ids_push(&mc->inflight, id);
	m->msgs[id].st = M_INFLIGHT;
}

/* An id to answer or cancel: mostly one the channel holds (in flight, for
 * answers), sometimes any id at all. */
static uint64_t pick_id(struct model *m, const struct ids *likely)
{
	if (likely->n && rnd(&m->rs, 6))
		return likely->v[rnd(&m->rs, likely->n)];
	return rnd(&m->rs, (uint32_t)m->next_id + 2);
}

static void op_recv_batch(struct model *m, struct mchan *mc)
{
	uint64_t server = pick_server(m, mc);
	uint32_t n = rnd(&m->rs, 7);
	struct chan_msg *got[6] = { 0 };
	m->op = "recv_batch";
	long k = chan_recv_batch(mc->c, server, n, rnd(&m->rs, 4) ? got : NULL);
	trace(m, "recv_batch %s by %llu n %u -> %ld", mc->name, (unsigned long long)server, n, k);
	if (n == 0) {
		MEQ(m, k, -VE_INVAL);
		return;
	}
	if (!model_is_server(mc, server)) {
		MEQ(m, k, -VE_PERM);
		return;
	}
	if (!mc->queue.n) {
		MEQ(m, k, -VE_AGAIN);
		return;
	}
	MEQ(m, k, n < mc->queue.n ? n : mc->queue.n);
	for (long i = 0; i < k; i++) {
		uint64_t id = mc->queue.v[0];
		if (got[0])
			check_msg(m, got[i], id, M_QUEUED);
		ids_remove(&mc->queue, id);
		mc->qbytes -= m->msgs[id].len;
		ids_push(&mc->inflight, id);
		m->msgs[id].st = M_INFLIGHT;
	}
}

/* What one ack of a batch should answer, in the model; 0 acks it there. */
static int model_ack(struct mchan *mc, struct model *m, uint64_t server, uint64_t id)
{
	if (!model_is_server(mc, server))
		return -VE_PERM;
	if (!ids_has(&mc->inflight, id))
		return -VE_NOENT;
	if (m->msgs[id].kind != VE_MSG_CAST)
		return -VE_INVAL;
	ids_remove(&mc->inflight, id);
	m->msgs[id].st = M_ACKED;
	mc->st.acked++;
	return 0;
}

static void op_ack_batch(struct model *m, struct mchan *mc)
{
	uint64_t server = pick_server(m, mc), ids[6];
	uint32_t n = rnd(&m->rs, 7), acked = 99;
	bool in_order = rnd(&m->rs, 3) != 0; /* the oldest in flight first, as servers do */
	for (uint32_t i = 0; i < n; i++)
		ids[i] =
		    in_order && i < mc->inflight.n ? mc->inflight.v[i] : pick_id(m, &mc->inflight);
	m->op = "ack_batch";
	int err = chan_ack_batch(mc->c, server, ids, n, &acked);
	trace(m, "ack_batch %s by %llu n %u -> %d acked %u", mc->name, (unsigned long long)server,
	      n, err, acked);
	int want = 0;
	uint32_t k = 0;
	while (k < n && !(want = model_ack(mc, m, server, ids[k])))
		k++;
	MEQ(m, err, want);
	MEQ(m, acked, k);
}

/* Reply or ack, per want_kind. */
static void op_answer(struct model *m, struct mchan *mc, uint32_t want_kind)
{
	uint64_t server = pick_server(m, mc);
	uint64_t id = pick_id(m, &mc->inflight);
	struct chan_msg *out = NULL;
	int err;
	if (want_kind == VE_MSG_CALL) {
		m->op = "reply";
		err = chan_reply(mc->c, server, id, &out);
	} else {
		m->op = "ack";
		err = chan_ack(mc->c, server, id);
	}
	trace(m, "%s %s id %llu by %llu -> %d", m->op, mc->name, (unsigned long long)id,
	      (unsigned long long)server, err);
	if (!model_is_server(mc, server)) {
		MEQ(m, err, -VE_PERM);
		return;
	}
	if (!ids_has(&mc->inflight, id)) {
		MEQ(m, err, -VE_NOENT);
		return;
	}
	struct mmsg *x = &m->msgs[id];
	if (x->kind != want_kind) {
		MEQ(m, err, -VE_INVAL);
		return;
	}
	MEQ(m, err, 0);
	ids_remove(&mc->inflight, id);
	if (want_kind == VE_MSG_CAST) {
		x->st = M_ACKED;
		mc->st.acked++;
	} else if (x->gone) {
		MCHECK(m, out == NULL);
		x->st = M_DISCARDED;
		mc->st.discarded++;
	} else {
		MCHECK(m, out != NULL);
		check_msg(m, out, id, M_INFLIGHT);
		MEQ(m, x->replies_delivered, 0);
		x->replies_delivered++;
		x->st = M_REPLIED;
		mc->st.replied++;
		chan_msg_free(mc->c, out);
	}
}

static void on_poison(void *ctx, struct chan_msg *cm)
{
	struct model *m = ctx;
	struct mchan *mc = &m->ch[m->msgs[cm->id].chan];
	MEQ(m, cm->deaths, mc->lim.max_redeliveries);
	MCHECK(m, !cm->sender_gone);
	MCHECK(m, !chan_has_server(mc->c));
	MEQ(m, chan_check(mc->c), 0);
	ids_push(&m->poisoned_seen, cm->id);
}

static void op_server_died(struct model *m, struct mchan *mc)
{
	struct ids replay = { m->replay.v, 0 }, poison = { m->poison.v, 0 };
	bool idle = rnd(&m->rs, 4) == 0; /* died waiting for work: nobody blamed */
	for (unsigned i = 0; i < mc->inflight.n; i++) {
		uint64_t id = mc->inflight.v[i];
		struct mmsg *x = &m->msgs[id];
		if (x->gone) {
			x->st = M_CANCELLED;
			mc->st.cancelled++;
			continue;
		}
		if (!idle)
			x->deaths++;
		if (x->deaths >= mc->lim.max_redeliveries) {
			x->st = M_POISONED;
			mc->st.poisoned++;
			ids_push(&poison, id);
			ids_push(&mc->dead, id);
			continue;
		}
		x->redelivered++;
		mc->st.redelivered++;
		x->st = M_QUEUED;
		mc->qbytes += x->len;
		ids_push(&replay, id);
	}
	for (unsigned i = 0; i < mc->queue.n; i++)
		ids_push(&replay, mc->queue.v[i]);
	unsigned nreplay = replay.n - mc->queue.n;
	memcpy(mc->queue.v, replay.v, replay.n * sizeof(uint64_t));
	mc->queue.n = replay.n;
	mc->inflight.n = 0;
	mc->has_server = false;

	m->op = "server_died";
	m->poisoned_seen.n = 0;
	unsigned got = idle ? chan_server_died_idle(mc->c, on_poison, m)
			    : chan_server_died(mc->c, on_poison, m);
	trace(m, "server of %s died%s -> %u requeued, %u poisoned", mc->name, idle ? " idle" : "",
	      got, m->poisoned_seen.n);
	MEQ(m, got, nreplay);
	MEQ(m, m->poisoned_seen.n, poison.n);
	for (unsigned i = 0; i < poison.n; i++)
		MEQ(m, m->poisoned_seen.v[i], poison.v[i]);
}

static void op_serve(struct model *m, struct mchan *mc)
{
	uint64_t server = mc->has_server && rnd(&m->rs, 2) ? mc->server : m->next_server++;
	m->op = "serve";
	int err = chan_serve(mc->c, server);
	trace(m, "serve %s by %llu -> %d", mc->name, (unsigned long long)server, err);
	if (mc->has_server && mc->server != server) {
		MEQ(m, err, -VE_BUSY);
		return;
	}
	MEQ(m, err, 0);
	mc->has_server = true;
	mc->server = server;
}

/* Cancel x for its sender, in the model; returns whether it changed. */
static bool model_cancel(struct mchan *mc, uint64_t id, struct mmsg *x)
{
	if (x->st == M_QUEUED) {
		ids_remove(&mc->queue, id);
		mc->qbytes -= x->len;
		x->st = M_CANCELLED;
		mc->st.cancelled++;
		return true;
	}
	if (x->gone)
		return false;
	x->gone = true;
	return true;
}

static void op_cancel(struct model *m, struct mchan *mc)
{
	uint64_t id = pick_id(m, rnd(&m->rs, 2) ? &mc->queue : &mc->inflight);
	m->op = "cancel";
	int err = chan_cancel(mc->c, id);
	trace(m, "cancel %s id %llu -> %d", mc->name, (unsigned long long)id, err);
	if (!ids_has(&mc->queue, id) && !ids_has(&mc->inflight, id)) {
		MEQ(m, err, -VE_NOENT);
		return;
	}
	MEQ(m, err, 0);
	model_cancel(mc, id, &m->msgs[id]);
}

static void op_client_died(struct model *m, struct mchan *mc)
{
	uint64_t sender = 1 + rnd(&m->rs, NCLIENTS);
	unsigned want = 0;
	for (uint64_t id = 1; id < m->next_id; id++) {
		struct mmsg *x = &m->msgs[id];
		bool held = x->st == M_QUEUED || x->st == M_INFLIGHT;
		if (&m->ch[x->chan] == mc && held && x->sender == sender &&
		    x->kind == VE_MSG_CALL && model_cancel(mc, id, x))
			want++;
		if (&m->ch[x->chan] == mc && x->sender == sender)
			x->orphan = true; /* what stays is disowned */
	}
	m->op = "client_died";
	unsigned got = chan_client_died(mc->c, sender);
	trace(m, "client %llu died on %s -> %u", (unsigned long long)sender, mc->name, got);
	MEQ(m, got, want);
}

static void step(struct model *m)
{
	struct mchan *mc = pick_open(m);
	uint32_t r = rnd(&m->rs, 112);
	if (!mc || r < 3) {
		op_open(m);
		return;
	}
	if (r >= 100) {
		if (r < 104)
			op_send_batch(m, mc);
		else if (r < 108)
			op_recv_batch(m, mc);
		else
			op_ack_batch(m, mc);
		return;
	}
	if (r < 33)
		op_send(m, mc);
	else if (r < 58)
		op_recv(m, mc);
	else if (r < 70)
		op_answer(m, mc, VE_MSG_CALL);
	else if (r < 80)
		op_answer(m, mc, VE_MSG_CAST);
	else if (r < 83)
		op_server_died(m, mc);
	else if (r < 91)
		op_serve(m, mc);
	else if (r < 93)
		op_client_died(m, mc);
	else
		op_cancel(m, mc);
}

/* ------------------------------------------------------------- running */

static void random_limits(struct model *m, struct chan_limits *l)
{
	static const uint32_t msgs[] = { 0, 1, 2, 3, 5, 8, 16 };
	static const uint32_t bytes[] = { 0, 1, 40, 100, 300, 4096 };
	static const uint32_t redeliveries[] = { 0, 1, 2, 3, 5 };
	l->max_msgs = msgs[rnd(&m->rs, sizeof(msgs) / sizeof(msgs[0]))];
	l->max_bytes = bytes[rnd(&m->rs, sizeof(bytes) / sizeof(bytes[0]))];
	l->max_redeliveries =
	    redeliveries[rnd(&m->rs, sizeof(redeliveries) / sizeof(redeliveries[0]))];
}

static void run_seed(unsigned seed, unsigned steps, bool trace_on)
{
	static const char *names[NCHANS] = { "console", "blk0", "kv" };
	struct model *m = calloc(1, sizeof(*m));
	assert_non_null(m);
	m->seed = seed;
	m->trace = trace_on;
	m->rs = 0x5eed0000ull + seed;
	m->failmode = seed % 4 == 3;
	m->cap = steps + 4;
	m->msgs = calloc(m->cap, sizeof(*m->msgs));
	m->poisoned_seen.v = calloc(m->cap, sizeof(uint64_t));
	m->replay.v = calloc(m->cap, sizeof(uint64_t));
	m->poison.v = calloc(m->cap, sizeof(uint64_t));
	m->scratch = calloc(m->cap, sizeof(*m->scratch));
	assert_true(m->msgs && m->poisoned_seen.v && m->replay.v && m->poison.v && m->scratch);
	for (int i = 0; i < NCHANS; i++) {
		struct mchan *mc = &m->ch[i];
		mc->name = names[i];
		random_limits(m, &mc->lim);
		mc->queue.v = calloc(m->cap, sizeof(uint64_t));
		mc->inflight.v = calloc(m->cap, sizeof(uint64_t));
		mc->dead.v = calloc(m->cap, sizeof(uint64_t));
		assert_true(mc->queue.v && mc->inflight.v && mc->dead.v);
	}
	m->next_id = 1;
	m->next_server = 100;
	m->env = (struct chan_env){ a_alloc, a_free, &m->a, a_charge, a_disown, a_refund };
	chan_registry_init(&m->r, &m->env);

	for (m->step = 0; m->step < steps; m->step++) {
		m->op = NULL;
		step(m);
		check_all(m);
	}
	/* Drain: every message must still be accounted for at the end. */
	chan_registry_fini(&m->r);
	MEQ(m, m->a.live, 0);
	for (int s = 1; s <= 2 * NCLIENTS; s++)
		MEQ(m, m->a.held[s], 0);
	for (int i = 0; i < NCHANS; i++) {
		free(m->ch[i].queue.v);
		free(m->ch[i].inflight.v);
		free(m->ch[i].dead.v);
	}
	free(m->poisoned_seen.v);
	free(m->replay.v);
	free(m->poison.v);
	free(m->scratch);
	free(m->msgs);
	free(m);
}

static unsigned env_uint(const char *name, unsigned def)
{
	const char *s = getenv(name);
	return s && *s ? (unsigned)strtoul(s, NULL, 0) : def;
}

static void test_model(void **state)
{
	(void)state;
	unsigned steps = env_uint("CHAN_MODEL_STEPS", DEFAULT_STEPS);
	bool trace_on = env_uint("CHAN_MODEL_TRACE", 0) != 0;
	if (getenv("CHAN_MODEL_SEED")) {
		run_seed(env_uint("CHAN_MODEL_SEED", 0), steps, trace_on);
		return;
	}
	unsigned seeds = env_uint("CHAN_MODEL_SEEDS", DEFAULT_SEEDS);
	for (unsigned seed = 0; seed < seeds; seed++)
		run_seed(seed, steps, trace_on);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model),
	};
	return cmocka_run_group_tests_name("chan_model", tests, NULL, NULL);
}
