/*
 * kv's Redis face on the network (rnet.h): the socket calls to the TCP/IP
 * service, the connections' read-run-commit-send cycle, and the recovery
 * of connections after kv's own restart.
 */
#include "vesta.h"

#include "rnet.h"
#include "sock.h"

#define CALL_TIMEOUT_NS 1000000000ull /* a call to net: well inside kv's heartbeat */
#define TICK_NS 100000000ull	      /* the expiry sweep: Redis' hz 10 */
#define LISTEN_TIMEOUT_NS                                                                          \
	50000000ull	 /* LISTEN, tried every tick until net is up:
					 short, so kv's channel is not kept waiting
					 behind a net that has no NIC yet */
#define EXPIRE_BUDGET 20 /* keys one sweep looks at, as Redis' */
#define ROUNDS 8	 /* chunks read per connection before others' turn */
#define LIST_TICKS 10	 /* LIST every second: adopt what a lost ACCEPT reply left */
#define SEND_MAX (VE_MSG_MAX - (int)sizeof(struct sock_send))
#define PROBE_NS 50000000ull	    /* one wait for the disk's driver to answer */
#define WAIT_SAY_NS 5000000000ull   /* the console hears it waits after this */
#define DISK_RETRY_NS 1000000000ull /* a failed disk is tried again after this */

static uint8_t rep[VE_MSG_MAX]; /* replies from net */

/* A call to net, waiting at most timeout_ns. Returns the reply's length,
 * or a negative -VE_* code (net slow or restarting: the caller tries again
 * later). */
static long call_for(struct rnet *n, const void *req, size_t len, uint64_t timeout_ns)
{
	return ve_chan_call(n->tcp, req, len, rep, sizeof(rep), timeout_ns);
}

static long call(struct rnet *n, const void *req, size_t len)
{
	return call_for(n, req, len, CALL_TIMEOUT_NS);
}

/* The err of a sock_rep of length r, or -SOCK_EAGAIN for a failed call. */
static int32_t err_of(long r)
{
	int32_t e;

	if (r < (long)sizeof(struct sock_rep))
		return -SOCK_EAGAIN;
	memcpy(&e, rep, sizeof(e));
	return e;
}

static void fatal(const char *what)
{
	ve_event_str("kv_log_full", "at", what);
	ve_printf("kv: the stash cannot hold the keyspace (%s): exiting\n", what);
	ve_exit(1);
}

static void names(char *owner, char *notify)
{
	memset(owner, 0, SOCK_OWNER_MAX);
	memset(notify, 0, SOCK_OWNER_MAX);
	memcpy(owner, RNET_OWNER, sizeof(RNET_OWNER));
	memcpy(notify, RNET_NOTIFY, sizeof(RNET_NOTIFY));
}

/* LISTEN (again: net gives the owner its listener back). */
static void listen(struct rnet *n)
{
	struct sock_listen q = { .op = SOCK_OP_LISTEN, .port = n->port, .backlog = 128 };
	long r;

	names(q.owner, q.notify);
	r = call_for(n, &q, sizeof(q), LISTEN_TIMEOUT_NS);
	if (err_of(r) != 0 || r < (long)(sizeof(struct sock_rep) + 8))
		return;
	memcpy(&n->lid, rep + sizeof(struct sock_rep), 8);
	ve_event1("kv_listen", "port", n->port);
}

/* ---- one connection ---- */

/* kv resets connection cid: say why (err: the sock error that ended it,
 * 0 when LIST found it ahead of kv's log, 1 when kv does not know it). */
static void say_reset(uint64_t cid, int32_t err)
{
	ve_event("kv_conn_reset", (struct ve_kv[]){ VE_KV_NUM("cid", cid), VE_KV_NUM("err", err) },
		 2);
}

/*
 * c is of an earlier epoch of net's and net no longer has it: its stash
 * was discarded, and the peer, which still holds its end, would wait for a
 * reply until its own timeout. Ask net to reset it by its ends (net
 * refuses, harmlessly, if it still has a connection with them).
 */
static void abort_conn(struct rnet *n, const struct rconn *c)
{
	struct sock_abort q = { .op = SOCK_OP_ABORT,
				.cid = c->cid,
				.peer_ip = c->peer_ip,
				.peer_port = c->peer_port,
				.local_port = c->local_port };

	if (!c->peer_port)
		return; /* ends unknown: nothing to ask by */
	int32_t e = err_of(call(n, &q, sizeof(q)));
	ve_event("kv_conn_abort", (struct ve_kv[]){ VE_KV_NUM("cid", c->cid), VE_KV_NUM("err", e) },
		 2);
}

/* End c: FIN (how 0) or RST (how 1, saying why), and forget it. A CLOSE
 * answered -SOCK_ECONNRESET names a cid of an earlier epoch that net
 * does not hold: its peer is reset by its ends. */
static void close_conn(struct rnet *n, struct rconn *c, uint8_t how, int32_t err)
{
	struct sock_close q = { .op = SOCK_OP_CLOSE, .cid = c->cid, .how = how };

	if (how)
		say_reset(c->cid, err);
	if (err_of(call(n, &q, sizeof(q))) == -SOCK_ECONNRESET)
		abort_conn(n, c);
	if (rstore_close(&n->st, c) < 0)
		fatal("close");
}

/* Send what c has to send, as far as net takes it. Returns the sock
 * error that ends the connection, or 0. */
static int32_t flush(struct rnet *n, struct rconn *c)
{
	static uint8_t buf[VE_MSG_MAX];
	struct sock_send *q = (struct sock_send *)buf;

	/* Nothing the disk does not have yet is answered (group commit). */
	if (!rdisk_holding(&n->disk))
		c->sendable = c->tx_base + c->c->out_len;
	while (c->c->out_len && c->sendable > c->tx_base) {
		size_t k = c->c->out_len < (size_t)SEND_MAX ? c->c->out_len : (size_t)SEND_MAX;
		uint64_t taken;

		if (k > c->sendable - c->tx_base)
			k = (size_t)(c->sendable - c->tx_base);
		*q = (struct sock_send){ .op = SOCK_OP_SEND, .cid = c->cid, .offset = c->tx_base };
		memcpy(buf + sizeof(*q), c->c->out, k);
		long r = call(n, buf, sizeof(*q) + k);
		int32_t e = err_of(r);
		if (e == -SOCK_EAGAIN)
			return 0;
		if (e < 0)
			return e;
		if (r < (long)(sizeof(struct sock_rep) + 8))
			return 0;
		memcpy(&taken, rep + sizeof(struct sock_rep), 8);
		if (taken <= c->tx_base)
			return 0; /* no room: an event says when */
		rstore_sent(c, taken);
	}
	return 0;
}

/* Read one chunk of c and run it. Returns 1 if it read something, 0 if
 * there was nothing to read, or a sock error that ends the connection. */
static int32_t read_chunk(struct rnet *n, struct rconn *c)
{
	struct sock_recv q = {
		.op = SOCK_OP_RECV, .cid = c->cid, .offset = c->consumed, .max = SOCK_DATA_MAX
	};
	struct sock_recv_rep h;
	long r = call(n, &q, sizeof(q));
	int32_t e = err_of(r);

	if (e == -SOCK_EAGAIN)
		return 0;
	if (e < 0)
		return e;
	if (r < (long)sizeof(h))
		return 0;
	memcpy(&h, rep, sizeof(h));
	size_t len = (size_t)r - sizeof(h);
	if (len == 0) {
		c->hup = (h.events & SOCK_EV_HUP) != 0;
		return 0;
	}
	n->e.now_ms = ve_clock_ns() / 1000000;
	if (rstore_batch(&n->st, c, rep + sizeof(h), len) < 0)
		fatal("batch");
	rdisk_note(&n->disk, n->st.prop, n->st.prop_len);
	return 1;
}

/* Serve c: send, read and run, a few rounds. It stops when there is
 * nothing to read (after sending what the last chunk's requests answered;
 * an event says when there is more: input, or room for the output it
 * still holds), when its output is over the bound (it reads no more until
 * net takes some), or after ROUNDS chunks, to let the other connections
 * have their turn (then n->again). */
static void serve(struct rnet *n, struct rconn *c)
{
	for (int round = 0; round < ROUNDS; round++) {
		int32_t e = flush(n, c);

		if (e < 0) {
			close_conn(n, c, 1, e);
			return;
		}
		c->blocked = c->c->out_len > RSTORE_OUT_MAX;
		if (c->blocked)
			return;
		if (c->c->close_after_reply || c->hup) {
			if (c->c->out_len == 0)
				close_conn(n, c, 0, 0);
			return;
		}
		if (n->disk.state == RDISK_WAIT)
			return; /* no request runs on a keyspace not read back */
		e = read_chunk(n, c);
		if (e < 0) {
			close_conn(n, c, 1, e);
			return;
		}
		if (e == 0 && !c->hup)
			return;
	}
	n->again = true;
}

/* ---- new connections and recovery ---- */

/* Keep c's ends (logged), unless kept already. */
static void keep_ends(struct rnet *n, struct rconn *c, const struct sock_conninfo *ci)
{
	if (c->peer_port || !ci->peer_port)
		return;
	if (rstore_ends(&n->st, c, ci->peer_ip, ci->peer_port, ci->local_port) < 0)
		fatal("ends");
}

static void accept_all(struct rnet *n)
{
	struct sock_accept q = { .op = SOCK_OP_ACCEPT, .lid = n->lid };
	struct sock_conninfo ci;

	for (;;) {
		long r = call(n, &q, sizeof(q));
		if (err_of(r) == -SOCK_EBADF)
			n->lid = 0; /* net lost its listeners: LISTEN again */
		if (err_of(r) != 0 || r < (long)(sizeof(struct sock_rep) + sizeof(ci)))
			return;
		memcpy(&ci, rep + sizeof(struct sock_rep), sizeof(ci));
		struct rconn *c = rstore_conn(&n->st, ci.cid, true);
		if (!c)
			return; /* out of memory: LIST finds it again later */
		keep_ends(n, c, &ci);
		serve(n, c);
	}
}

/* One connection net lists for kv: known ones learn what net took; new
 * ones (nothing read or sent yet) are adopted; one net has read further
 * than kv's log knows cannot be served right: reset. */
static void reconcile(struct rnet *n, const struct sock_conninfo *ci)
{
	struct rconn *c = rstore_conn(&n->st, ci->cid, false);
	if (c) {
		keep_ends(n, c, ci);
		rstore_sent(c, ci->taken);
		if (ci->consumed > c->consumed)
			close_conn(n, c, 1, 0);
		return;
	}
	if (ci->consumed == 0 && ci->taken == 0 && (c = rstore_conn(&n->st, ci->cid, true))) {
		keep_ends(n, c, ci);
		return;
	}
	struct sock_close q = { .op = SOCK_OP_CLOSE, .cid = ci->cid, .how = 1 };
	say_reset(ci->cid, 1);
	call(n, &q, sizeof(q));
}

/* Mark every connection kv knows, LIST net's, and drop the known ones net
 * no longer has (its stash was discarded: they are reset by their ends,
 * abort_conn). Returns 0, or -1 if net did not answer (nothing is dropped
 * then). */
static int list(struct rnet *n)
{
	struct sock_list q = { .op = SOCK_OP_LIST };
	char notify[SOCK_OWNER_MAX];
	uint64_t seen[256];
	size_t nseen = 0;

	names(q.owner, notify);
	for (;;) {
		long r = call(n, &q, sizeof(q));
		uint32_t k;

		if (err_of(r) != 0 || r < (long)(sizeof(struct sock_rep) + 4))
			return -1;
		memcpy(&k, rep + sizeof(struct sock_rep), 4);
		if (k == 0 ||
		    r < (long)(sizeof(struct sock_rep) + 4 + k * sizeof(struct sock_conninfo)))
			break;
		/* reconcile's calls reply into rep: take the entries out first. */
		static struct sock_conninfo got[VE_MSG_MAX / sizeof(struct sock_conninfo)];
		memcpy(got, rep + sizeof(struct sock_rep) + 4, k * sizeof(got[0]));
		for (uint32_t i = 0; i < k; i++) {
			struct sock_conninfo ci = got[i];
			reconcile(n, &ci);
			if (nseen < 256)
				seen[nseen++] = ci.cid;
			q.after = ci.cid;
		}
	}
	if (nseen == 256)
		return 0; /* too many to tell which are gone this time */
	for (struct rconn *c = n->st.conns, *next; c; c = next) {
		bool there = false;
		next = c->next;
		for (size_t i = 0; i < nseen && !there; i++)
			there = seen[i] == c->cid;
		if (there)
			continue;
		abort_conn(n, c);
		if (rstore_close(&n->st, c) < 0)
			fatal("close");
	}
	return 0;
}

/* ---- the disk ---- */

/* Say what the disk is now: an event, and the console when it is not in use. */
static void say_disk(struct rnet *n)
{
	const struct rdisk *d = &n->disk;
	struct ve_kv f[] = {
		VE_KV_STR("state", rdisk_state_name(d->state)),
		VE_KV_STR("found", dlog_state_name(d->report.state)),
		VE_KV_STR("why", d->why ? d->why : ""),
		VE_KV_NUM("from_disk", d->from_disk),
		VE_KV_NUM("records", d->records_read),
		VE_KV_NUM("generation", d->report.generation),
		VE_KV_NUM("torn_bytes", d->report.torn_bytes),
		VE_KV_NUM("keys", rs_db_size(n->e.db)),
	};
	ve_event("kv_disk", f, 8);
	if (d->why)
		ve_printf("kv: disk %s: %s; writes are refused\n", n->disk_chan, d->why);
	else if (d->report.state == DLOG_BLANK && d->checkpoints <= 1)
		ve_printf("kv: disk %s was blank (all zeros): formatted for kv\n", n->disk_chan);
}

/* Every reply produced so far may go out: the disk has what it answers. */
static void release(struct rnet *n)
{
	for (struct rconn *c = n->st.conns; c; c = c->next)
		c->sendable = c->tx_base + c->c->out_len;
	n->again = true;
	if (n->on_release)
		n->on_release(n->hook_ctx);
}

/* The keyspace is to come from the disk: forget the stash's, and reset
 * the connections it knew (what they were told may not be on the disk). */
static void forget_for_disk(struct rnet *n)
{
	static const uint8_t flushall[] = "*1\r\n$8\r\nFLUSHALL\r\n";

	while (n->st.conns)
		close_conn(n, n->st.conns, 1, 1);
	rstore_run(&n->st, flushall, sizeof(flushall) - 1);
}

/* The driver is up: read the disk back. */
static void attach(struct rnet *n, uint64_t now)
{
	int r = 0;

	if (n->blk.h >= 0 || rblk_open(&n->blk, n->disk_chan, n->hb) == 0)
		r = rblk_probe(&n->blk, &n->disk.dev, PROBE_NS);
	if (r == 0) {
		if (!n->wait_said && now - n->started > WAIT_SAY_NS) {
			n->wait_said = true;
			ve_printf("kv: waiting for disk %s; no request is read until it answers\n",
				  n->disk_chan);
			ve_event_str("kv_disk_wait", "chan", n->disk_chan);
		}
		return;
	}
	if (r < 0)
		rdisk_unusable(&n->disk, "its driver refused INFO");
	else if (rdisk_load(&n->disk, n->st.disk_pending,
			    ve_clock_ns() * 0x9e3779b97f4a7c15ull | 1) < 0) {
		fatal("disk");
	}
	say_disk(n);
	if (n->on_load)
		n->on_load(n->hook_ctx);
	if (!rdisk_holding(&n->disk))
		release(n);
	n->again = true;
}

/* Wait for the disk, make what is pending durable, or retry a failed disk. */
static void disk_work(struct rnet *n, uint64_t now)
{
	struct rdisk *d = &n->disk;

	if (d->state == RDISK_WAIT) {
		if (now >= n->next_disk) {
			n->next_disk = now + TICK_NS;
			attach(n, now);
		}
		return;
	}
	if (!rdisk_holding(d) || (d->state == RDISK_FAILED && now < n->next_disk))
		return;
	enum rdisk_state was = d->state;
	bool ok = rdisk_commit(d);
	if (d->state != was)
		say_disk(n);
	if (ok)
		release(n);
	if (d->state == RDISK_FAILED)
		n->next_disk = now + DISK_RETRY_NS;
}

/* ---- the loop's entry points ---- */

/*
 * The engine's memory bounds from what the log can hold: a snapshot must
 * take the whole keyspace (as the commands that rebuild it, which take
 * less than the heap holding it) and every connection's unsent replies,
 * so the keyspace gets three quarters of a snapshot area. maxmemory
 * (writes refused with Redis' -OOM past it) defaults to that and
 * proto-max-bulk-len (one value) to 1 MiB, Redis' least; the policy's
 * "name=value" args may set them, and the other settings CONFIG SET
 * knows, within it. Returns 0, or -VE_INVAL for a bad arg (said).
 */
static int limits(struct rnet *n)
{
	uint64_t cap = n->st.log.snap_cap / 4 * 3;

	n->e.lim.memory_cap = cap;
	n->e.lim.maxmemory = cap;
	n->e.lim.proto_max_bulk_len = 1 << 20; /* Redis' least: one value, a third of it */
	for (unsigned i = 0; i < n->nconf; i++) {
		const struct rs_arg *a = &n->conf[i];
		const uint8_t *eq = memchr(a->p, '=', a->len);
		struct rs_arg name = { a->p, (size_t)(eq - a->p) },
			      value = { eq + 1, a->len - name.len - 1 };
		const char *err = rs_config_set1(&n->e, &name, &value);

		if (err) {
			ve_printf("kv: arg '%.*s': %s\n", (int)a->len, (const char *)a->p, err);
			return -VE_INVAL;
		}
	}
	return 0;
}

int rnet_start(struct rnet *n, uint16_t port, void *region, size_t size)
{
	struct rlog_report rep;
	uint64_t now = ve_clock_ns();

	n->port = port;
	if (rs_engine_init(&n->e, now / 1000000, now ^ (uint64_t)ve_getpid() << 32) < 0)
		return -VE_NOMEM;
	if (rstore_open(&n->st, &n->e, region, size, &rep) < 0)
		return -VE_NOMEM;
	if (limits(n) < 0)
		return -VE_INVAL;
	struct ve_kv f[] = {
		VE_KV_STR("made", rep.made ? rep.made : "kept"),
		VE_KV_NUM("records", rep.records),
		VE_KV_NUM("bad_records", rep.bad_records),
		VE_KV_NUM("dropped_bytes", rep.dropped_bytes),
		VE_KV_NUM("keys", rs_db_size(n->e.db)),
		VE_KV_NUM("conns", 0),
		VE_KV_NUM("maxmemory", (int64_t)n->e.lim.maxmemory),
	};
	for (struct rconn *c = n->st.conns; c; c = c->next)
		f[5].num++;
	ve_event("kv_redis", f, 7);
	if ((n->tcp = ve_chan_open(SOCK_CHANNEL)) < 0)
		return n->tcp;
	if ((n->notify = ve_chan_serve_wait(RNET_NOTIFY)) < 0)
		return n->notify;
	n->started = now;
	n->disk.st = &n->st;
	n->disk.state = n->disk_chan ? RDISK_WAIT : RDISK_OFF;
	if (n->disk_chan) {
		/* The channel exists once its driver served it: until then
		 * attach() tries again (a machine without the disk waits). */
		rblk_open(&n->blk, n->disk_chan, n->hb);
		if (n->st.disk_pending)
			forget_for_disk(n);
	}
	listen(n);
	if (n->lid)
		list(n);
	n->again = true; /* serve every connection once: input may wait */
	return 0;
}

void rnet_event(struct rnet *n, const void *msg, size_t len)
{
	struct sock_event ev;
	struct rconn *c;

	if (len != sizeof(ev))
		return;
	memcpy(&ev, msg, sizeof(ev));
	if (ev.op != SOCK_OP_EVENT)
		return;
	if (n->lid && ev.id == n->lid && (ev.events & SOCK_EV_ACCEPT)) {
		accept_all(n);
		return;
	}
	if ((c = rstore_conn(&n->st, ev.id, false)))
		serve(n, c);
}

uint64_t rnet_work(struct rnet *n)
{
	uint64_t now = ve_clock_ns();

	if (n->again) {
		n->again = false;
		for (struct rconn *c = n->st.conns, *next; c; c = next) {
			next = c->next;
			serve(n, c);
		}
	}
	if (now >= n->next_tick) {
		n->next_tick = now + TICK_NS;
		n->e.now_ms = now / 1000000;
		if (n->disk.state != RDISK_WAIT) {
			if (rstore_expire(&n->st, EXPIRE_BUDGET) < 0)
				fatal("expire");
			rdisk_note(&n->disk, n->st.prop, n->st.prop_len);
		}
		/* A listener net lost is a net that lost its stash, and the
		 * connections with it: LIST at once to reset their peers,
		 * idle ones and ones waiting for a reply too. */
		if (n->lid == 0) {
			listen(n);
			if (n->lid && list(n) == 0)
				n->again = true;
		}
		if (n->lid)
			accept_all(n); /* an event lost to a full NOTIFY */
		if (n->lid && ++n->ticks % LIST_TICKS == 0 && list(n) == 0)
			n->again = true;
	}
	disk_work(n, now);
	if (n->again)
		return 0;
	return n->next_tick > now ? n->next_tick - now : 1;
}
