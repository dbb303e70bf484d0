/*
 * kv's Redis keyspace and connections through the durable log (rstore.h
 * has the contract and the record types).
 */
#include "rstore.h"

#include "fmt.h"
#include "string.h"

/* Records. Fields are little-endian, packed; bytes follow as noted. */
struct rrec_batch {
	uint8_t type;	     /* 'B' */
	uint8_t resid_reset; /* 1: the residue starts again with these bytes */
	uint64_t cid;	     /* 0: no connection */
	uint64_t consumed;   /* the input offset after the chunk */
	uint64_t tx_start;   /* output offset of the first reply byte */
	uint32_t resid_n, reply_n;
	/* resid_n residue bytes, reply_n reply bytes, then commands */
} __attribute__((packed));

struct rrec_close {
	uint8_t type; /* 'X' */
	uint64_t cid;
} __attribute__((packed));

struct rrec_ends {
	uint8_t type; /* 'E' */
	uint64_t cid;
	uint32_t peer_ip;
	uint16_t peer_port, local_port;
} __attribute__((packed));

struct rrec_conn {
	uint8_t type; /* 'C' */
	uint64_t cid, consumed, tx_base;
	uint32_t resid_n, out_n;
	/* resid_n residue bytes, out_n unsent reply bytes */
} __attribute__((packed));

/* Largest 'K' record a snapshot writes: commands are grouped up to it. */
#define SNAP_CHUNK (64u * 1024)

/* ---- growable byte buffers ---- */

static int grow(uint8_t **buf, size_t *cap, size_t need)
{
	size_t n = *cap ? *cap : 256;
	uint8_t *p;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	if (!(p = rs_realloc(*buf, n)))
		return -1;
	*buf = p;
	*cap = n;
	return 0;
}

static int put(uint8_t **buf, size_t *len, size_t *cap, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (grow(buf, cap, *len + n) < 0)
		return -1;
	memcpy(*buf + *len, p, n);
	*len += n;
	return 0;
}

/* ---- connections ---- */

struct rconn *rstore_conn(struct rstore *s, uint64_t cid, bool create)
{
	struct rconn *c;

	for (c = s->conns; c; c = c->next)
		if (c->cid == cid)
			return c;
	if (!create || !(c = rs_alloc(sizeof(*c))))
		return NULL;
	memset(c, 0, sizeof(*c));
	if (!(c->c = rs_client_new(s->e))) {
		rs_free(c);
		return NULL;
	}
	c->cid = cid;
	c->next = s->conns;
	s->conns = c;
	return c;
}

static void conn_free(struct rstore *s, struct rconn *c)
{
	struct rconn **pp = &s->conns;

	while (*pp && *pp != c)
		pp = &(*pp)->next;
	if (*pp)
		*pp = c->next;
	rs_client_free(s->e, c->c);
	rs_free(c->resid);
	rs_free(c);
}

void rstore_forget(struct rstore *s, struct rconn *c)
{
	conn_free(s, c);
}

void rstore_sent(struct rconn *c, uint64_t taken)
{
	if (taken <= c->tx_base)
		return;
	if (taken - c->tx_base > c->c->out_len)
		taken = c->tx_base + c->c->out_len;
	rs_sent(c->c, (size_t)(taken - c->tx_base));
	c->tx_base = taken;
}

/* ---- the commands of a batch ---- */

static void append_arg(struct rstore *s, const struct rs_arg *a)
{
	char num[24];
	int k = fmt_snprintf(num, sizeof(num), "$%llu\r\n", (unsigned long long)a->len);

	if (put(&s->prop, &s->prop_len, &s->prop_cap, num, (size_t)k) < 0 ||
	    put(&s->prop, &s->prop_len, &s->prop_cap, a->p, a->len) < 0 ||
	    put(&s->prop, &s->prop_len, &s->prop_cap, "\r\n", 2) < 0)
		s->prop_failed = true;
}

/* The engine's propagate hook: a write command, as it replays. */
static void collect(void *ctx, uint32_t argc, const struct rs_arg *argv)
{
	struct rstore *s = ctx;
	char num[24];
	int k = fmt_snprintf(num, sizeof(num), "*%u\r\n", (unsigned)argc);

	if (put(&s->prop, &s->prop_len, &s->prop_cap, num, (size_t)k) < 0)
		s->prop_failed = true;
	for (uint32_t i = 0; i < argc; i++)
		append_arg(s, &argv[i]);
}

/* Run logged commands on the loader, dropping its replies: they ran
 * before, so neither propagation nor a disk that refuses writes applies. */
static void run_logged(struct rstore *s, const uint8_t *cmds, size_t n)
{
	void (*hook)(void *, uint32_t, const struct rs_arg *) = s->e->propagate;
	const char *disk_error = s->e->disk_error;

	s->e->propagate = NULL;
	s->e->disk_error = NULL;
	rs_feed(s->e, s->loader, cmds, n);
	rs_sent(s->loader, s->loader->out_len);
	s->e->propagate = hook;
	s->e->disk_error = disk_error;
}

void rstore_run(struct rstore *s, const uint8_t *cmds, size_t n)
{
	run_logged(s, cmds, n);
}

/* ---- writing records ---- */

/* Commit parts, taking a snapshot first if the log is full. Returns 0 or
 * -1 (no room even then). */
static int commit(struct rstore *s, const struct rlog_part *parts, size_t n)
{
	if (rlog_append(&s->log, parts, n) == 0) {
		s->records++;
		return 0;
	}
	/* The snapshot holds what the record would have: the change is in
	 * memory already. */
	return rstore_snapshot(s);
}

/* Keep the residue: the last `pending` bytes of what c has been fed, which
 * ends with data[0..n). Returns whether it starts again (a request ran or
 * was dropped within data). */
static int keep_residue(struct rconn *c, const uint8_t *data, size_t n, size_t pending, bool *reset)
{
	*reset = pending < c->resid_len + n;
	if (!*reset)
		return put(&c->resid, &c->resid_len, &c->resid_cap, data, n);
	if (pending > n)
		pending = n; /* cannot be: a request that ran ended within data */
	c->resid_len = 0;
	return put(&c->resid, &c->resid_len, &c->resid_cap, data + n - pending, pending);
}

int rstore_batch(struct rstore *s, struct rconn *c, const uint8_t *data, size_t n)
{
	size_t out0 = c->c->out_len;
	struct rrec_batch b = { .type = 'B', .cid = c->cid };
	bool reset;

	s->prop_len = 0;
	s->prop_failed = false;
	size_t used = rs_feed(s->e, c->c, data, n);
	if (keep_residue(c, data, used, rs_pending(c->c), &reset) < 0 || s->prop_failed)
		return -1;
	c->consumed += n;
	b.resid_reset = reset;
	b.consumed = c->consumed;
	b.tx_start = c->tx_base + out0;
	b.resid_n = (uint32_t)(reset ? c->resid_len : used);
	b.reply_n = (uint32_t)(c->c->out_len - out0);
	struct rlog_part parts[] = {
		{ &b, sizeof(b) },
		{ reset ? c->resid : data, b.resid_n },
		{ c->c->out + out0, b.reply_n },
		{ s->prop, s->prop_len },
	};
	return commit(s, parts, 4);
}

static struct rrec_ends ends_of(const struct rconn *c)
{
	return (struct rrec_ends){ .type = 'E',
				   .cid = c->cid,
				   .peer_ip = c->peer_ip,
				   .peer_port = c->peer_port,
				   .local_port = c->local_port };
}

int rstore_ends(struct rstore *s, struct rconn *c, uint32_t peer_ip, uint16_t peer_port,
		uint16_t local_port)
{
	c->peer_ip = peer_ip;
	c->peer_port = peer_port;
	c->local_port = local_port;
	struct rrec_ends e = ends_of(c);
	struct rlog_part p = { &e, sizeof(e) };

	return commit(s, &p, 1);
}

int rstore_close(struct rstore *s, struct rconn *c)
{
	struct rrec_close x = { .type = 'X', .cid = c->cid };
	struct rlog_part p = { &x, sizeof(x) };

	conn_free(s, c);
	return commit(s, &p, 1);
}

int rstore_expire(struct rstore *s, size_t budget)
{
	struct rrec_batch b = { .type = 'B' };

	s->prop_len = 0;
	s->prop_failed = false;
	rs_active_expire(s->e, budget);
	if (s->prop_failed)
		return -1;
	if (s->prop_len == 0)
		return 0;
	struct rlog_part parts[] = { { &b, sizeof(b) }, { s->prop, s->prop_len } };
	return commit(s, parts, 2);
}

/* ---- snapshots ---- */

struct snap_ctx {
	struct rstore *s;
	uint8_t *buf;
	size_t len, cap;
	bool failed;
};

static int snap_flush(struct snap_ctx *x)
{
	uint8_t type = 'K';
	struct rlog_part p[2] = { { &type, 1 }, { x->buf, x->len } };

	if (x->len && rlog_snap_add(&x->s->log, p, 2) < 0)
		return -1;
	x->len = 0;
	return 0;
}

/* rs_db_rewrite's emit: group commands into 'K' records. */
static int snap_emit(void *ctx, const uint8_t *resp, size_t n)
{
	struct snap_ctx *x = ctx;

	if (x->len >= SNAP_CHUNK && snap_flush(x) < 0)
		return -1;
	if (put(&x->buf, &x->len, &x->cap, resp, n) < 0)
		return -1;
	return 0;
}

static int snap_conn(struct rstore *s, const struct rconn *c)
{
	struct rrec_conn r = { .type = 'C',
			       .cid = c->cid,
			       .consumed = c->consumed,
			       .tx_base = c->tx_base,
			       .resid_n = (uint32_t)c->resid_len,
			       .out_n = (uint32_t)c->c->out_len };
	struct rlog_part p[] = { { &r, sizeof(r) },
				 { c->resid, c->resid_len },
				 { c->c->out, c->c->out_len } };
	struct rrec_ends e = ends_of(c);
	struct rlog_part pe = { &e, sizeof(e) };
	int k = rlog_snap_add(&s->log, p, 3);

	return k == 0 && c->peer_port ? rlog_snap_add(&s->log, &pe, 1) : k;
}

int rstore_snapshot(struct rstore *s)
{
	struct snap_ctx x = { .s = s };
	int r;

	uint8_t id[1 + sizeof(s->e->run_id)] = { 'I' };
	struct rlog_part p = { id, sizeof(id) };

	memcpy(id + 1, s->e->run_id, sizeof(s->e->run_id));
	rlog_snap_begin(&s->log);
	r = rlog_snap_add(&s->log, &p, 1);
	if (r == 0 && s->disk_pending) {
		uint8_t mark = 'D';
		struct rlog_part pd = { &mark, 1 };

		r = rlog_snap_add(&s->log, &pd, 1);
	}
	if (r == 0)
		r = rs_db_rewrite(s->e, snap_emit, &x);
	if (r == 0)
		r = snap_flush(&x);
	rs_free(x.buf);
	for (const struct rconn *c = s->conns; c && r == 0; c = c->next)
		r = snap_conn(s, c);
	if (r == 0)
		r = rlog_snap_commit(&s->log);
	if (r == 0)
		s->snapshots++;
	return r < 0 ? -1 : 0;
}

/* ---- reading back ---- */

/* Put n reply bytes at output offset at into c's unsent output. */
static int restore_out(struct rconn *c, uint64_t at, const uint8_t *p, size_t n)
{
	struct rs_client *k = c->c;

	if (k->out_len == 0)
		c->tx_base = at;
	if (at != c->tx_base + k->out_len)
		return -1;
	return put(&k->out, &k->out_len, &k->out_cap, p, n);
}

static int load_batch(struct rstore *s, const uint8_t *rec, size_t n)
{
	struct rrec_batch b;
	struct rconn *c = NULL;

	if (n < sizeof(b))
		return -1;
	memcpy(&b, rec, sizeof(b));
	if ((size_t)b.resid_n + b.reply_n > n - sizeof(b))
		return -1;
	const uint8_t *resid = rec + sizeof(b), *reply = resid + b.resid_n;
	const uint8_t *cmds = reply + b.reply_n;
	run_logged(s, cmds, n - (size_t)(cmds - rec));
	if (b.cid == 0)
		return 0;
	if (!(c = rstore_conn(s, b.cid, true)))
		return -1;
	c->consumed = b.consumed;
	if (b.resid_reset)
		c->resid_len = 0;
	if (put(&c->resid, &c->resid_len, &c->resid_cap, resid, b.resid_n) < 0)
		return -1;
	return restore_out(c, b.tx_start, reply, b.reply_n);
}

static int load_conn(struct rstore *s, const uint8_t *rec, size_t n)
{
	struct rrec_conn r;
	struct rconn *c;

	if (n < sizeof(r))
		return -1;
	memcpy(&r, rec, sizeof(r));
	if ((size_t)r.resid_n + r.out_n != n - sizeof(r) || !(c = rstore_conn(s, r.cid, true)))
		return -1;
	c->consumed = r.consumed;
	c->resid_len = 0;
	if (put(&c->resid, &c->resid_len, &c->resid_cap, rec + sizeof(r), r.resid_n) < 0)
		return -1;
	return restore_out(c, r.tx_base, rec + sizeof(r) + r.resid_n, r.out_n);
}

static int load_ends(struct rstore *s, const uint8_t *rec, size_t n)
{
	struct rrec_ends e;
	struct rconn *c;

	if (n != sizeof(e))
		return -1;
	memcpy(&e, rec, sizeof(e));
	if (!(c = rstore_conn(s, e.cid, true)))
		return -1;
	c->peer_ip = e.peer_ip;
	c->peer_port = e.peer_port;
	c->local_port = e.local_port;
	return 0;
}

/* rlog_replay's apply. A record that checks but does not parse is the
 * writer's bug, not damage: it stops the reading (rstore_open fails). */
static int load(void *ctx, const uint8_t *rec, size_t n)
{
	struct rstore *s = ctx;
	struct rconn *c;
	uint64_t cid;

	if (n < 1)
		return -1;
	switch (rec[0]) {
	case 'B':
		return load_batch(s, rec, n);
	case 'C':
		return load_conn(s, rec, n);
	case 'E':
		return load_ends(s, rec, n);
	case 'K':
		run_logged(s, rec + 1, n - 1);
		return 0;
	case 'I':
		if (n != 1 + sizeof(s->e->run_id) || rec[n - 1] != 0)
			return -1;
		memcpy(s->e->run_id, rec + 1, sizeof(s->e->run_id));
		return 0;
	case 'D':
		if (n != 1)
			return -1;
		s->disk_pending = true;
		return 0;
	case 'X':
		if (n != sizeof(struct rrec_close))
			return -1;
		memcpy(&cid, rec + 1, sizeof(cid));
		if ((c = rstore_conn(s, cid, false)))
			conn_free(s, c);
		return 0;
	default:
		return -1;
	}
}

int rstore_open(struct rstore *s, struct rs_engine *e, void *region, size_t size,
		struct rlog_report *rep)
{
	memset(s, 0, sizeof(*s));
	s->e = e;
	if (!(s->loader = rs_client_new(e)))
		return -1;
	if (rlog_open(&s->log, region, size, rep) < 0 || rlog_replay(&s->log, load, s, rep) != 0)
		return -1;
	/* Each connection's parser takes up its residue again (no request in
	 * it is whole, so nothing runs). */
	for (struct rconn *c = s->conns; c; c = c->next)
		rs_feed(e, c->c, c->resid, c->resid_len);
	e->propagate = collect;
	e->propagate_ctx = s;
	/* A keyspace made anew has the engine's fresh run_id; one that lost
	 * records gets a new one (resp.h). */
	if (rep->bad_records)
		rs_new_run_id(e);
	if (rep->made || rep->bad_records) {
		s->disk_pending = true;
		return rstore_snapshot(s);
	}
	return 0;
}
