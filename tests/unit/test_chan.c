/*
 * Host tests of the channel core (channels/): names, serving, send/recv/
 * reply/ack, FIFO and replay order, redelivery and poison, cancellation,
 * bounds, ids, dead letters, permissions and running out of memory. Every
 * test ends by checking the stats invariant and that nothing leaked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chan.h"
#include <vesta/abi.h>

/* An allocator that counts what is live and can be told to fail, and
 * charges each sender (owner = sender) what its messages take, up to a
 * limit; a dead sender's messages go to owner ORPHAN + sender. */
#define TSENDERS 128
#define ORPHAN TSENDERS
struct tenv {
	long live;		   /* blocks given and not freed */
	long fail_after;	   /* allocations to allow before failing; < 0: never */
	size_t held[2 * TSENDERS]; /* bytes charged to each owner, not refunded */
	size_t limit;		   /* most a sender may hold; 0: no limit */
	long charges, refunds;	   /* calls of the hooks (refused charges too) */
};

static int t_charge(void *ctx, uint64_t sender, size_t n, uint32_t count, uint64_t *owner)
{
	struct tenv *t = ctx;
	assert_true(sender < TSENDERS);
	assert_true(count > 0);
	t->charges++;
	if (sender == 0)
		return 0; /* charged to nobody: *owner stays 0 */
	if (t->limit && t->held[sender] + n * count > t->limit)
		return -1;
	t->held[sender] += n * count;
	*owner = sender;
	return 0;
}

static uint64_t t_disown(void *ctx, uint64_t owner, size_t n)
{
	struct tenv *t = ctx;
	assert_true(owner > 0 && owner < TSENDERS && t->held[owner] >= n);
	t->held[owner] -= n;
	t->held[ORPHAN + owner] += n;
	return ORPHAN + owner;
}

static void t_refund(void *ctx, uint64_t owner, size_t n, uint32_t count)
{
	struct tenv *t = ctx;
	assert_true(owner > 0 && owner < 2 * TSENDERS);
	assert_true(count > 0 && t->held[owner] >= n * count);
	t->held[owner] -= n * count;
	t->refunds++;
}

static size_t held_total(const struct tenv *t)
{
	size_t n = 0;
	for (unsigned i = 0; i < 2 * TSENDERS; i++)
		n += t->held[i];
	return n;
}

static void *t_alloc(void *ctx, size_t n)
{
	struct tenv *t = ctx;
	if (t->fail_after == 0)
		return NULL;
	if (t->fail_after > 0)
		t->fail_after--;
	void *p = malloc(n);
	if (p)
		t->live++;
	return p;
}

static void t_free(void *ctx, void *p)
{
	struct tenv *t = ctx;
	t->live--;
	free(p);
}

/* One registry per test, with its allocator. */
struct fix {
	struct tenv t;
	struct chan_env env;
	struct chan_registry r;
};

/* Blocks in use: the registry's spare slots are free memory it keeps. */
static long live(const struct fix *f)
{
	return f->t.live - (long)f->r.nspare;
}

static struct fix *fix_new(void)
{
	struct fix *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->t.fail_after = -1;
	f->env = (struct chan_env){ t_alloc, t_free, &f->t, t_charge, t_disown, t_refund };
	chan_registry_init(&f->r, &f->env);
	return f;
}

static void check_invariant(const struct chan *c)
{
	struct chan_stats s;
	chan_stats(c, &s);
	assert_int_equal(s.sent, s.replied + s.acked + s.poisoned + s.cancelled + s.discarded +
				     s.queued + s.inflight);
	assert_int_equal(chan_check(c), 0);
}

static void fix_done(struct fix *f)
{
	for (struct chan *c = chan_first(&f->r); c; c = chan_next(c))
		check_invariant(c);
	chan_registry_fini(&f->r);
	assert_int_equal(live(f), 0);
	assert_int_equal(held_total(&f->t), 0); /* every charge refunded */
	assert_null(chan_first(&f->r));
	free(f);
}

static struct chan *mk(struct fix *f, const char *name, uint32_t msgs, uint32_t bytes,
		       uint32_t redeliveries)
{
	struct chan_limits lim = { msgs, bytes, redeliveries };
	struct chan *c = NULL;
	assert_int_equal(chan_create(&f->r, name, &lim, &c), 0);
	assert_non_null(c);
	return c;
}

/* Send a message whose payload is its tag as text. */
static uint64_t send(struct chan *c, uint64_t sender, uint32_t kind, const char *tag)
{
	uint64_t id = 0;
	assert_int_equal(chan_send(c, sender, kind, tag, (uint32_t)strlen(tag), sender * 100, &id),
			 0);
	assert_true(id != 0);
	return id;
}

static struct chan_msg *recv(struct chan *c, uint64_t server)
{
	struct chan_msg *m = NULL;
	assert_int_equal(chan_recv(c, server, &m), 0);
	assert_non_null(m);
	return m;
}

static void recv_expect(struct chan *c, uint64_t server, uint64_t id, uint32_t redelivered)
{
	struct chan_msg *m = recv(c, server);
	assert_int_equal(m->id, id);
	assert_int_equal(m->redelivered, redelivered);
}

static void reply_ok(struct chan *c, uint64_t server, uint64_t id)
{
	struct chan_msg *m = NULL;
	assert_int_equal(chan_reply(c, server, id, &m), 0);
	assert_non_null(m);
	assert_int_equal(m->id, id);
	chan_msg_free(c, m);
}

static struct chan_stats stats(const struct chan *c)
{
	struct chan_stats s;
	chan_stats(c, &s);
	return s;
}

/* What on_poison saw. */
struct poison_log {
	uint64_t ids[64];
	uint32_t deaths[64];
	uint64_t cookies[64];
	unsigned n;
};

static void on_poison(void *ctx, struct chan_msg *m)
{
	struct poison_log *pl = ctx;
	assert_true(pl->n < 64);
	pl->ids[pl->n] = m->id;
	pl->deaths[pl->n] = m->deaths;
	pl->cookies[pl->n] = m->cookie;
	pl->n++;
}

/* ---------------------------------------------------------------- names */

static void test_names(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = NULL;
	const char *good[] = { "console", "blk0",    "kv",
			       "a",	  "A-b_c.9", "abcdefghijklmnopqrstuvwxyz01234" /* 31 */ };
	const char *bad[] = { "",    "has space", "slash/",
			      "x\n", "über",	  "abcdefghijklmnopqrstuvwxyz012345" /* 32 */ };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_true(chan_name_ok(good[i]));
		assert_int_equal(chan_create(&f->r, good[i], NULL, &c), 0);
		assert_string_equal(chan_name(c), good[i]);
		assert_ptr_equal(chan_find(&f->r, good[i]), c);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = NULL;
		assert_false(chan_name_ok(bad[i]));
		assert_int_equal(chan_create(&f->r, bad[i], NULL, &c), -VE_INVAL);
		assert_null(c);
		assert_null(chan_find(&f->r, bad[i]));
	}
	assert_false(chan_name_ok(NULL));
	assert_int_equal(chan_create(&f->r, NULL, NULL, &c), -VE_INVAL);
	assert_int_equal(chan_create(&f->r, "ok", NULL, NULL), -VE_INVAL);
	assert_null(chan_find(&f->r, "consol"));
	assert_null(chan_find(&f->r, "console2"));
	assert_null(chan_find(&f->r, NULL));
	assert_int_equal(f->r.nchans, 6);
	fix_done(f);
}

static void test_create_twice(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *a = mk(f, "kv", 0, 0, 0), *b = NULL;
	assert_int_equal(chan_create(&f->r, "kv", NULL, &b), -VE_BUSY);
	assert_null(b);
	assert_ptr_equal(chan_find(&f->r, "kv"), a);
	assert_int_equal(f->r.nchans, 1);
	assert_int_equal(live(f), 1);
	fix_done(f);
}

static void test_create_nomem(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = NULL;
	f->t.fail_after = 0;
	assert_int_equal(chan_create(&f->r, "kv", NULL, &c), -VE_NOMEM);
	assert_null(c);
	assert_null(chan_find(&f->r, "kv"));
	assert_null(chan_first(&f->r));
	f->t.fail_after = -1;
	assert_int_equal(chan_create(&f->r, "kv", NULL, &c), 0);
	fix_done(f);
}

static void test_default_limits(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = NULL;
	struct chan_limits l;
	assert_int_equal(chan_create(&f->r, "d", NULL, &c), 0);
	chan_get_limits(c, &l);
	assert_int_equal(l.max_msgs, 64);
	assert_int_equal(l.max_bytes, 65536);
	assert_int_equal(l.max_redeliveries, 3);
	c = mk(f, "p", 5, 0, 1);
	chan_get_limits(c, &l);
	assert_int_equal(l.max_msgs, 5);
	assert_int_equal(l.max_bytes, 65536);
	assert_int_equal(l.max_redeliveries, 1);
	fix_done(f);
}

static void test_iterate_and_destroy(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *a = mk(f, "a", 0, 0, 0), *b = mk(f, "b", 0, 0, 0), *c = mk(f, "c", 0, 0, 0);
	assert_ptr_equal(chan_first(&f->r), a);
	assert_ptr_equal(chan_next(a), b);
	assert_ptr_equal(chan_next(b), c);
	assert_null(chan_next(c));

	int x;
	chan_set_priv(b, &x);
	assert_ptr_equal(chan_priv(b), &x);
	assert_null(chan_priv(a));

	assert_int_equal(chan_serve(b, 7), 0);
	assert_int_equal(chan_destroy(b), -VE_BUSY); /* has a server */
	chan_server_died(b, NULL, NULL);
	uint64_t id = send(b, 1, VE_MSG_CAST, "x");
	assert_int_equal(chan_destroy(b), -VE_BUSY); /* holds a message */
	assert_int_equal(chan_cancel(b, id), 0);
	assert_int_equal(chan_destroy(b), 0);
	assert_null(chan_find(&f->r, "b"));
	assert_ptr_equal(chan_next(a), c);
	assert_int_equal(chan_destroy(a), 0);
	assert_int_equal(chan_destroy(c), 0);
	assert_null(chan_first(&f->r));
	assert_int_equal(live(f), 0);
	/* The name is free again. */
	mk(f, "b", 0, 0, 0);
	fix_done(f);
}

/* -------------------------------------------------------------- serving */

static void test_serve_twice(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = mk(f, "kv", 0, 0, 0);
	assert_false(chan_has_server(c));
	assert_int_equal(chan_server(c), 0);
	assert_int_equal(chan_serve(c, 10), 0);
	assert_int_equal(chan_serve(c, 10), 0); /* same server: no-op */
	assert_int_equal(chan_serve(c, 11), -VE_BUSY);
	assert_true(chan_has_server(c));
	assert_int_equal(chan_server(c), 10);
	assert_int_equal(chan_server_died(c, NULL, NULL), 0);
	assert_false(chan_has_server(c));
	assert_int_equal(chan_serve(c, 11), 0);
	assert_int_equal(chan_server(c), 11);
	fix_done(f);
}

static void test_server_zero_is_a_server(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = mk(f, "kv", 0, 0, 0);
	assert_int_equal(chan_serve(c, 0), 0);
	assert_true(chan_has_server(c));
	assert_int_equal(chan_serve(c, 1), -VE_BUSY);
	uint64_t id = send(c, 5, VE_MSG_CALL, "q");
	recv_expect(c, 0, id, 0);
	reply_ok(c, 0, id);
	fix_done(f);
}

static void test_wrong_server_perm(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = mk(f, "kv", 0, 0, 0);
	struct chan_msg *m = NULL;
	uint64_t call = send(c, 1, VE_MSG_CALL, "call");
	uint64_t cast = send(c, 1, VE_MSG_CAST, "cast");
	/* No server at all. */
	assert_int_equal(chan_recv(c, 10, &m), -VE_PERM);
	assert_int_equal(chan_serve(c, 10), 0);
	assert_int_equal(chan_recv(c, 11, &m), -VE_PERM);
	assert_null(m);
	recv_expect(c, 10, call, 0);
	recv_expect(c, 10, cast, 0);
	assert_int_equal(chan_reply(c, 11, call, &m), -VE_PERM);
	assert_int_equal(chan_ack(c, 11, cast), -VE_PERM);
	assert_int_equal(stats(c).inflight, 2);
	reply_ok(c, 10, call);
	assert_int_equal(chan_ack(c, 10, cast), 0);
	fix_done(f);
}

/* ------------------------------------------------------------- messages */

static void test_send_recv_reply(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = mk(f, "kv", 0, 0, 0);
	assert_int_equal(chan_serve(c, 10), 0);
	assert_false(chan_pending(c));
	uint64_t id = 0;
	assert_int_equal(chan_send(c, 3, VE_MSG_CALL, "hello", 5, 0xc00c, &id), 0);
	assert_true(chan_pending(c));
	struct chan_stats s = stats(c);
	assert_int_equal(s.sent, 1);
	assert_int_equal(s.queued, 1);
	assert_int_equal(s.queued_bytes, 5);

	struct chan_msg *m = recv(c, 10);
	assert_false(chan_pending(c));
	assert_int_equal(m->id, id);
	assert_int_equal(m->sender, 3);
	assert_int_equal(m->cookie, 0xc00c);
	assert_int_equal(m->kind, VE_MSG_CALL);
	assert_int_equal(m->len, 5);
	assert_memory_equal(m->data, "hello", 5);
	assert_int_equal(m->redelivered, 0);
	assert_int_equal(m->deaths, 0);
	assert_false(m->sender_gone);
	assert_ptr_equal(chan_inflight_find(c, id), m);
	s = stats(c);
	assert_int_equal(s.queued, 0);
	assert_int_equal(s.queued_bytes, 0);
	assert_int_equal(s.inflight, 1);
	assert_int_equal(chan_recv(c, 10, &m), -VE_AGAIN);
	check_invariant(c);

	struct chan_msg *r = NULL;
	assert_int_equal(chan_reply(c, 10, id, &r), 0);
	assert_ptr_equal(r, m);
	assert_int_equal(r->cookie, 0xc00c);
	assert_null(chan_inflight_find(c, id));
	s = stats(c);
	assert_int_equal(s.replied, 1);
	assert_int_equal(s.inflight, 0);
	check_invariant(c);
	/* A second reply to the same id finds nothing. */
	assert_int_equal(chan_reply(c, 10, id, &r), -VE_NOENT);
	chan_msg_free(c, m);
	chan_msg_free(c, NULL);
	fix_done(f);
}

static void test_send_recv_ack(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = mk(f, "log", 0, 0, 0);
	assert_int_equal(chan_serve(c, 10), 0);
	uint64_t id = send(c, 4, VE_MSG_CAST, "line");
	struct chan_msg *m = recv(c, 10);
	assert_int_equal(m->kind, VE_MSG_CAST);
	assert_int_equal(chan_ack(c, 10, id), 0);
	assert_int_equal(chan_ack(c, 10, id), -VE_NOENT);
	struct chan_stats s = stats(c);
	assert_int_equal(s.acked, 1);
	assert_int_equal(s.replied, 0);
	assert_int_equal(live(f), 1);
	fix_done(f);
}

static void test_reply_ack_kind_and_state_errors(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = mk(f, "kv", 0, 0, 0);
	struct chan_msg *m = NULL;
	assert_int_equal(chan_serve(c, 10), 0);
	uint64_t call = send(c, 1, VE_MSG_CALL, "c");
	uint64_t cast = send(c, 1, VE_MSG_CAST, "k");
	/* Queued, not in flight: neither can be answered yet. */
	assert_int_equal(chan_reply(c, 10, call, &m), -VE_NOENT);
	assert_int_equal(chan_ack(c, 10, cast), -VE_NOENT);
	recv(c, 10);
	recv(c, 10);
	assert_int_equal(chan_reply(c, 10, cast, &m), -VE_INVAL);
	assert_int_equal(chan_ack(c, 10, call), -VE_INVAL);
	assert_int_equal(chan_reply(c, 10, 999, &m), -VE_NOENT);
	assert_int_equal(chan_reply(c, 10, call, NULL), -VE_INVAL);
	assert_int_equal(chan_recv(c, 10, NULL), -VE_INVAL);
	assert_int_equal(stats(c).inflight, 2);
	reply_ok(c, 10, call);
	assert_int_equal(chan_ack(c, 10, cast), 0);
	fix_done(f);
}

static void test_send_bad_args(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = mk(f, "kv", 0, 0, 0);
	static uint8_t big[VE_MSG_MAX + 1];
	uint64_t id = 77;
	assert_int_equal(chan_send(c, 1, 0, "x", 1, 0, &id), -VE_INVAL);
	assert_int_equal(chan_send(c, 1, 3, "x", 1, 0, &id), -VE_INVAL);
	assert_int_equal(chan_send(c, 1, VE_MSG_CALL, NULL, 1, 0, &id), -VE_INVAL);
	assert_int_equal(chan_send(c, 1, VE_MSG_CALL, big, VE_MSG_MAX + 1, 0, &id), -VE_RANGE);
	assert_int_equal(id, 77);
	assert_int_equal(stats(c).sent, 0);
	assert_int_equal(live(f), 1);
	assert_int_equal(chan_send(c, 1, VE_MSG_CALL, big, VE_MSG_MAX, 0, &id), 0);
	assert_int_equal(chan_send(c, 1, VE_MSG_CAST, NULL, 0, 0, NULL), 0);
	assert_false(chan_can_send(c, VE_MSG_MAX + 1));
	assert_int_equal(stats(c).sent, 2);
	fix_done(f);
}

static void test_messages_wait_without_server(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = mk(f, "kv", 0, 0, 0);
	uint64_t a = send(c, 1, VE_MSG_CALL, "a");
	uint64_t b = send(c, 2, VE_MSG_CAST, "b");
	assert_true(chan_pending(c));
	assert_int_equal(chan_serve(c, 10), 0);
	recv_expect(c, 10, a, 0);
	recv_expect(c, 10, b, 0);
	reply_ok(c, 10, a);
	assert_int_equal(chan_ack(c, 10, b), 0);
	fix_done(f);
}

static void test_fifo_order(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = mk(f, "kv", 0, 0, 0);
	uint64_t ids[20];
	for (int i = 0; i < 20; i++)
		ids[i] = send(c, (uint64_t)(i % 3), i % 2 ? VE_MSG_CAST : VE_MSG_CALL, "m");
	assert_int_equal(chan_serve(c, 10), 0);
	for (int i = 0; i < 20; i++) {
		struct chan_msg *m = recv(c, 10);
		assert_int_equal(m->id, ids[i]);
		if (m->kind == VE_MSG_CALL)
			reply_ok(c, 10, m->id);
		else
			assert_int_equal(chan_ack(c, 10, m->id), 0);
	}
	fix_done(f);
}

/* ------------------------------------------------------- server deaths */

static void test_replay_order_after_death(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = mk(f, "kv", 0, 0, 0);
	uint64_t id[7];
	for (int i = 1; i <= 5; i++)
		id[i] = send(c, 1, VE_MSG_CALL, "m");
	assert_int_equal(chan_serve(c, 10), 0);
	recv(c, 10);
	recv(c, 10);
	recv(c, 10);
	reply_ok(c, 10, id[2]);
	id[6] = send(c, 2, VE_MSG_CALL, "newer");
	/* 1 and 3 in flight; 4, 5, 6 queued. */
	assert_int_equal(chan_server_died(c, NULL, NULL), 2);
	assert_false(chan_has_server(c));
	struct chan_stats s = stats(c);
	assert_int_equal(s.queued, 5);
	assert_int_equal(s.inflight, 0);
	assert_int_equal(s.redelivered, 2);
	check_invariant(c);

	assert_int_equal(chan_serve(c, 20), 0);
	recv_expect(c, 20, id[1], 1);
	recv_expect(c, 20, id[3], 1);
	recv_expect(c, 20, id[4], 0);
	recv_expect(c, 20, id[5], 0);
	recv_expect(c, 20, id[6], 0);
	for (int i = 1; i <= 6; i++) {
		if (i != 2)
			reply_ok(c, 20, id[i]);
	}
	assert_int_equal(stats(c).replied, 6);
	fix_done(f);
}

static void test_redelivered_counts(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = mk(f, "kv", 0, 0, 5);
	uint64_t a = send(c, 1, VE_MSG_CALL, "a");
	uint64_t b = send(c, 1, VE_MSG_CAST, "b");
	for (uint32_t round = 0; round < 4; round++) {
		assert_int_equal(chan_serve(c, 10 + round), 0);
		struct chan_msg *m = recv(c, 10 + round);
		assert_int_equal(m->id, a);
		assert_int_equal(m->redelivered, round);
		assert_int_equal(m->deaths, round);
		assert_int_equal(chan_server_died(c, NULL, NULL), 1);
	}
	assert_int_equal(chan_serve(c, 99), 0);
	struct chan_msg *m = recv(c, 99);
	assert_int_equal(m->id, a);
	assert_int_equal(m->redelivered, 4);
	m = recv(c, 99);
	assert_int_equal(m->id, b);
	assert_int_equal(m->redelivered, 0); /* never in flight at a death */
	assert_int_equal(m->deaths, 0);
	assert_int_equal(stats(c).redelivered, 4);
	reply_ok(c, 99, a);
	assert_int_equal(chan_ack(c, 99, b), 0);
	fix_done(f);
}

static void test_poison_default(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = NULL;
	assert_int_equal(chan_create(&f->r, "kv", NULL, &c), 0);
	struct poison_log pl = { 0 };
	uint64_t bad = 0;
	assert_int_equal(chan_send(c, 7, VE_MSG_CALL, "bad", 3, 0xdead, &bad), 0);
	for (uint64_t srv = 1; srv <= 2; srv++) {
		assert_int_equal(chan_serve(c, srv), 0);
		recv_expect(c, srv, bad, (uint32_t)srv - 1);
		assert_int_equal(chan_server_died(c, on_poison, &pl), 1);
		assert_int_equal(pl.n, 0);
	}
	assert_int_equal(chan_serve(c, 3), 0);
	recv_expect(c, 3, bad, 2);
	assert_int_equal(chan_server_died(c, on_poison, &pl), 0);
	assert_int_equal(pl.n, 1);
	assert_int_equal(pl.ids[0], bad);
	assert_int_equal(pl.deaths[0], 3);
	assert_int_equal(pl.cookies[0], 0xdead);
	struct chan_stats s = stats(c);
	assert_int_equal(s.poisoned, 1);
	assert_int_equal(s.queued, 0);
	assert_int_equal(s.redelivered, 2);
	struct chan_deadletter dl[4];
	assert_int_equal(chan_deadletters(c, dl, 4), 1);
	assert_int_equal(dl[0].id, bad);
	assert_int_equal(dl[0].sender, 7);
	assert_int_equal(dl[0].kind, VE_MSG_CALL);
	assert_int_equal(dl[0].len, 3);
	assert_int_equal(live(f), 1); /* freed after the callback */
	fix_done(f);
}

static void test_poison_custom_one(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = mk(f, "kv", 0, 0, 1);
	struct poison_log pl = { 0 };
	uint64_t a = send(c, 1, VE_MSG_CAST, "a");
	assert_int_equal(chan_serve(c, 10), 0);
	recv(c, 10);
	assert_int_equal(chan_server_died(c, on_poison, &pl), 0);
	assert_int_equal(pl.n, 1);
	assert_int_equal(pl.ids[0], a);
	assert_int_equal(pl.deaths[0], 1);
	assert_int_equal(stats(c).poisoned, 1);
	assert_int_equal(stats(c).redelivered, 0);
	fix_done(f);
}

/* Poison hits only the message that was in flight at each death: one that
 * sat in the queue through deaths is untouched, and one in flight beside
 * the poison for fewer deaths is replayed. */
static void test_poison_only_inflight(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = mk(f, "kv", 0, 0, 2);
	struct poison_log pl = { 0 };
	uint64_t bad = send(c, 1, VE_MSG_CALL, "bad");
	uint64_t queued = send(c, 2, VE_MSG_CALL, "waits");
	assert_int_equal(chan_serve(c, 10), 0);
	recv_expect(c, 10, bad, 0);
	assert_int_equal(chan_server_died(c, on_poison, &pl), 1);

	/* Second life: bad and then the other are in flight together. */
	assert_int_equal(chan_serve(c, 11), 0);
	recv_expect(c, 11, bad, 1);
	recv_expect(c, 11, queued, 0);
	uint64_t later = send(c, 3, VE_MSG_CAST, "later");
	assert_int_equal(chan_server_died(c, on_poison, &pl), 1);
	assert_int_equal(pl.n, 1);
	assert_int_equal(pl.ids[0], bad);

	assert_int_equal(chan_serve(c, 12), 0);
	struct chan_msg *m = recv(c, 12);
	assert_int_equal(m->id, queued);
	assert_int_equal(m->redelivered, 1);
	assert_int_equal(m->deaths, 1);
	m = recv(c, 12);
	assert_int_equal(m->id, later);
	assert_int_equal(m->deaths, 0);
	reply_ok(c, 12, queued);
	assert_int_equal(chan_ack(c, 12, later), 0);
	struct chan_stats s = stats(c);
	assert_int_equal(s.poisoned, 1);
	assert_int_equal(s.replied, 1);
	assert_int_equal(s.acked, 1);
	fix_done(f);
}

/* Several poisons in one death come out oldest first, and a replay beside
 * them keeps its place ahead of the queue. */
static void test_poison_several_in_one_death(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = mk(f, "kv", 0, 0, 1);
	struct poison_log pl = { 0 };
	uint64_t a = send(c, 1, VE_MSG_CALL, "a");
	uint64_t b = send(c, 2, VE_MSG_CALL, "b");
	uint64_t d = send(c, 3, VE_MSG_CALL, "d");
	assert_int_equal(chan_serve(c, 10), 0);
	recv(c, 10);
	recv(c, 10);
	assert_int_equal(chan_server_died(c, on_poison, &pl), 0);
	assert_int_equal(pl.n, 2);
	assert_int_equal(pl.ids[0], a);
	assert_int_equal(pl.ids[1], b);
	struct chan_deadletter dl[2];
	assert_int_equal(chan_deadletters(c, dl, 2), 2);
	assert_int_equal(dl[0].id, a);
	assert_int_equal(dl[1].id, b);
	assert_int_equal(chan_serve(c, 11), 0);
	recv_expect(c, 11, d, 0);
	reply_ok(c, 11, d);
	fix_done(f);
}

/* on_poison may call back into the channel: it sees it consistent. */
struct reenter {
	struct chan *c;
	unsigned calls;
};

static void on_poison_reenter(void *ctx, struct chan_msg *m)
{
	struct reenter *re = ctx;
	assert_int_equal(chan_check(re->c), 0);
	assert_false(chan_has_server(re->c));
	assert_null(chan_inflight_find(re->c, m->id));
	assert_int_equal(chan_cancel(re->c, m->id), -VE_NOENT);
	assert_int_equal(chan_send(re->c, 50, VE_MSG_CAST, "err", 3, 0, NULL), 0);
	re->calls++;
}

static void test_poison_callback_reenters(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = mk(f, "kv", 0, 0, 1);
	struct reenter re = { c, 0 };
	uint64_t a = send(c, 1, VE_MSG_CALL, "a");
	uint64_t b = send(c, 1, VE_MSG_CALL, "b");
	assert_int_equal(chan_serve(c, 10), 0);
	recv_expect(c, 10, a, 0);
	assert_int_equal(chan_server_died(c, on_poison_reenter, &re), 0);
	assert_int_equal(re.calls, 1);
	assert_int_equal(chan_serve(c, 11), 0);
	recv_expect(c, 11, b, 0);
	struct chan_msg *m = recv(c, 11);
	assert_int_equal(m->sender, 50);
	reply_ok(c, 11, b);
	assert_int_equal(chan_ack(c, 11, m->id), 0);
	fix_done(f);
}

static void test_server_died_without_server(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = mk(f, "kv", 0, 0, 0);
	send(c, 1, VE_MSG_CALL, "a");
	assert_int_equal(chan_server_died(c, NULL, NULL), 0);
	struct chan_stats s = stats(c);
	assert_int_equal(s.queued, 1);
	assert_int_equal(s.redelivered, 0);
	fix_done(f);
}

/* -------------------------------------------------- gone senders, cancel */

static void test_reply_to_gone_sender_discarded(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = mk(f, "kv", 0, 0, 0);
	assert_int_equal(chan_serve(c, 10), 0);
	uint64_t id = send(c, 1, VE_MSG_CALL, "a");
	struct chan_msg *m = recv(c, 10);
	assert_int_equal(chan_cancel(c, id), 0);
	assert_true(m->sender_gone);
	assert_int_equal(stats(c).inflight, 1);
	struct chan_msg *r = (struct chan_msg *)1;
	assert_int_equal(chan_reply(c, 10, id, &r), 0);
	assert_null(r);
	struct chan_stats s = stats(c);
	assert_int_equal(s.discarded, 1);
	assert_int_equal(s.replied, 0);
	assert_int_equal(s.cancelled, 0);
	assert_int_equal(live(f), 1);
	fix_done(f);
}

static void test_cancel_queued(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = mk(f, "kv", 0, 0, 0);
	uint64_t a = send(c, 1, VE_MSG_CALL, "aaaa");
	uint64_t b = send(c, 1, VE_MSG_CALL, "bb");
	assert_int_equal(chan_cancel(c, a), 0);
	assert_int_equal(chan_cancel(c, a), -VE_NOENT);
	assert_int_equal(chan_cancel(c, 12345), -VE_NOENT);
	struct chan_stats s = stats(c);
	assert_int_equal(s.cancelled, 1);
	assert_int_equal(s.queued, 1);
	assert_int_equal(s.queued_bytes, 2);
	assert_int_equal(chan_serve(c, 10), 0);
	recv_expect(c, 10, b, 0);
	reply_ok(c, 10, b);
	fix_done(f);
}

static void test_cancel_inflight(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = mk(f, "kv", 0, 0, 0);
	assert_int_equal(chan_serve(c, 10), 0);
	uint64_t call = send(c, 1, VE_MSG_CALL, "a");
	uint64_t cast = send(c, 1, VE_MSG_CAST, "b");
	recv(c, 10);
	recv(c, 10);
	assert_int_equal(chan_cancel(c, call), 0);
	assert_int_equal(chan_cancel(c, call), 0); /* twice: harmless */
	assert_int_equal(chan_cancel(c, cast), 0);
	assert_int_equal(stats(c).cancelled, 0); /* still in flight */
	assert_int_equal(stats(c).inflight, 2);
	/* An ack still counts as acked: the server did the work. */
	assert_int_equal(chan_ack(c, 10, cast), 0);
	assert_int_equal(stats(c).acked, 1);
	struct chan_msg *r = NULL;
	assert_int_equal(chan_reply(c, 10, call, &r), 0);
	assert_null(r);
	assert_int_equal(stats(c).discarded, 1);
	fix_done(f);
}

/* A gone sender's in-flight message is dropped at a server death, even one
 * at its last redelivery: nobody waits for it, so it is not poison. */
static void test_gone_inflight_dropped_at_death(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = mk(f, "kv", 0, 0, 1);
	struct poison_log pl = { 0 };
	uint64_t a = send(c, 1, VE_MSG_CALL, "a");
	uint64_t b = send(c, 2, VE_MSG_CALL, "b");
	assert_int_equal(chan_serve(c, 10), 0);
	recv(c, 10);
	recv(c, 10);
	assert_int_equal(chan_cancel(c, a), 0);
	assert_int_equal(chan_server_died(c, on_poison, &pl), 0);
	assert_int_equal(pl.n, 1);
	assert_int_equal(pl.ids[0], b);
	struct chan_stats s = stats(c);
	assert_int_equal(s.cancelled, 1);
	assert_int_equal(s.poisoned, 1);
	assert_int_equal(s.queued + s.inflight, 0);
	struct chan_deadletter dl[2];
	assert_int_equal(chan_deadletters(c, dl, 2), 1);
	assert_int_equal(dl[0].id, b);
	fix_done(f);
}

static void test_client_died(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = mk(f, "kv", 0, 0, 0);
	assert_int_equal(chan_serve(c, 10), 0);
	uint64_t a1 = send(c, 1, VE_MSG_CALL, "a1");
	uint64_t b1 = send(c, 2, VE_MSG_CALL, "b1");
	uint64_t a2 = send(c, 1, VE_MSG_CAST, "a2");
	recv(c, 10); /* a1 in flight */
	uint64_t a3 = send(c, 1, VE_MSG_CALL, "a3");
	uint64_t b2 = send(c, 2, VE_MSG_CAST, "b2");
	(void)a2;
	(void)a3;
	assert_true(f->t.held[1] > 0);
	size_t a1a2 = 2 * chan_msg_size(2);
	assert_int_equal(chan_client_died(c, 1), 2); /* a1, a3: calls only */
	assert_int_equal(f->t.held[1], 0);	     /* a1 and a2 stay, disowned */
	assert_int_equal(f->t.held[ORPHAN + 1], a1a2);
	assert_true(f->t.held[2] > 0);
	assert_int_equal(chan_client_died(c, 1), 0);   /* nothing new */
	assert_int_equal(f->t.held[ORPHAN + 1], a1a2); /* disowned once only */
	assert_int_equal(chan_client_died(c, 3), 0);
	struct chan_stats s = stats(c);
	assert_int_equal(s.cancelled, 1); /* a3 was queued; the cast a2 stays */
	assert_int_equal(s.queued, 3);
	assert_int_equal(s.inflight, 1);
	assert_true(chan_inflight_find(c, a1)->sender_gone);
	recv_expect(c, 10, b1, 0);
	recv_expect(c, 10, a2, 0); /* a dead client's cast is still delivered */
	assert_int_equal(chan_ack(c, 10, a2), 0);
	recv_expect(c, 10, b2, 0);
	struct chan_msg *r = NULL;
	assert_int_equal(chan_reply(c, 10, a1, &r), 0);
	assert_null(r);
	assert_int_equal(f->t.held[ORPHAN + 1], 0); /* refunded to its new owner */
	reply_ok(c, 10, b1);
	assert_int_equal(chan_ack(c, 10, b2), 0);
	s = stats(c);
	assert_int_equal(s.discarded, 1);
	assert_int_equal(s.replied, 1);
	assert_int_equal(s.acked, 2); /* a2 and b2 */
	fix_done(f);
}

/* --------------------------------------------------------------- bounds */

static void test_full_by_count(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = mk(f, "kv", 4, 0, 0);
	uint64_t ids[4];
	for (int i = 0; i < 4; i++) {
		assert_true(chan_can_send(c, 1));
		ids[i] = send(c, 1, VE_MSG_CALL, "m");
	}
	assert_false(chan_can_send(c, 1));
	uint64_t id = 0;
	assert_int_equal(chan_send(c, 1, VE_MSG_CALL, "m", 1, 0, &id), -VE_AGAIN);
	assert_int_equal(id, 0);
	struct chan_stats s = stats(c);
	assert_int_equal(s.sent, 4);
	assert_int_equal(s.queued, 4);
	/* In flight counts against the bound: receiving makes no room, so a
	 * server that never answers cannot make the channel hold more. */
	assert_int_equal(chan_serve(c, 10), 0);
	recv(c, 10);
	assert_false(chan_can_send(c, 1));
	assert_int_equal(chan_send(c, 1, VE_MSG_CAST, "m", 1, 0, &id), -VE_AGAIN);
	assert_int_equal(id, 0);
	/* Answering it does. */
	reply_ok(c, 10, ids[0]);
	assert_true(chan_can_send(c, 1));
	uint64_t five = send(c, 1, VE_MSG_CALL, "m");
	assert_false(chan_can_send(c, 1));
	s = stats(c);
	assert_int_equal(s.queued + s.inflight, 4);
	/* Nothing was dropped: the other four come out in order. */
	for (int i = 1; i < 4; i++)
		recv_expect(c, 10, ids[i], 0);
	recv_expect(c, 10, five, 0);
	for (int i = 1; i < 4; i++)
		reply_ok(c, 10, ids[i]);
	reply_ok(c, 10, five);
	fix_done(f);
}

static void test_full_by_bytes(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = mk(f, "kv", 0, 10, 0);
	send(c, 1, VE_MSG_CAST, "123456");
	assert_true(chan_can_send(c, 4));
	assert_false(chan_can_send(c, 5));
	assert_int_equal(chan_send(c, 1, VE_MSG_CAST, "12345", 5, 0, NULL), -VE_AGAIN);
	send(c, 1, VE_MSG_CAST, "1234");
	assert_false(chan_can_send(c, 1));
	assert_true(chan_can_send(c, 0)); /* empty messages take no bytes */
	assert_int_equal(stats(c).queued_bytes, 10);
	assert_int_equal(chan_send(c, 1, VE_MSG_CAST, "1", 1, 0, NULL), -VE_AGAIN);
	/* Bigger than the whole bound: can never fit, so not "try again". */
	assert_int_equal(chan_send(c, 1, VE_MSG_CAST, "12345678901", 11, 0, NULL), -VE_RANGE);
	struct chan_stats s = stats(c);
	assert_int_equal(s.sent, 2);
	assert_int_equal(s.queued, 2);
	fix_done(f);
}

/* A replay keeps the number of messages held, so the count bound holds;
 * the queue's bytes may go past the byte bound, as nothing is dropped. */
static void test_requeue_may_exceed_bytes(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = mk(f, "kv", 4, 4, 0);
	uint64_t ids[4];
	ids[0] = send(c, 1, VE_MSG_CALL, "aa");
	ids[1] = send(c, 1, VE_MSG_CALL, "bb");
	assert_int_equal(chan_serve(c, 10), 0);
	recv(c, 10);
	recv(c, 10);
	ids[2] = send(c, 2, VE_MSG_CALL, "cc");
	ids[3] = send(c, 2, VE_MSG_CALL, "dd");
	assert_int_equal(chan_server_died(c, NULL, NULL), 2);
	struct chan_stats s = stats(c);
	assert_int_equal(s.queued, 4);
	assert_int_equal(s.inflight, 0);
	assert_int_equal(s.queued_bytes, 8);
	assert_false(chan_can_send(c, 0));
	assert_int_equal(chan_send(c, 3, VE_MSG_CAST, NULL, 0, 0, NULL), -VE_AGAIN);
	assert_int_equal(chan_serve(c, 11), 0);
	for (int i = 0; i < 4; i++)
		recv_expect(c, 11, ids[i], i < 2 ? 1 : 0);
	for (int i = 0; i < 4; i++)
		reply_ok(c, 11, ids[i]);
	fix_done(f);
}

/* ------------------------------------------------------------------ ids */

static void test_ids_stable_and_unique(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *a = mk(f, "a", 0, 0, 9), *b = mk(f, "b", 0, 0, 9);
	uint64_t last = 0;
	for (int i = 0; i < 10; i++) {
		uint64_t x = send(i % 2 ? a : b, 1, VE_MSG_CALL, "m");
		assert_true(x > last); /* unique across the registry */
		last = x;
	}
	uint64_t first = 0;
	assert_int_equal(chan_serve(a, 10), 0);
	for (int life = 0; life < 5; life++) {
		struct chan_msg *m = recv(a, 10 + (uint64_t)life);
		if (life == 0)
			first = m->id;
		assert_int_equal(m->id, first); /* stable across redelivery */
		chan_server_died(a, NULL, NULL);
		assert_int_equal(chan_serve(a, 11 + (uint64_t)life), 0);
	}
	fix_done(f);
}

/* --------------------------------------------------------- dead letters */

static void test_deadletter_ring_keeps_newest(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = mk(f, "kv", 0, 0, 1);
	uint64_t ids[20];
	struct chan_deadletter dl[CHAN_DEADLETTER_KEEP + 4];
	assert_int_equal(chan_deadletters(c, dl, CHAN_DEADLETTER_KEEP), 0);
	for (uint64_t i = 0; i < 20; i++) {
		ids[i] = send(c, 100 + i, VE_MSG_CALL, "p");
		assert_int_equal(chan_serve(c, 10 + i), 0);
		recv(c, 10 + i);
		chan_server_died(c, NULL, NULL);
	}
	assert_int_equal(stats(c).poisoned, 20);
	unsigned n = chan_deadletters(c, dl, CHAN_DEADLETTER_KEEP + 4);
	assert_int_equal(n, CHAN_DEADLETTER_KEEP);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(dl[i].id, ids[20 - CHAN_DEADLETTER_KEEP + i]);
		assert_int_equal(dl[i].sender, 100 + 20 - CHAN_DEADLETTER_KEEP + i);
	}
	/* A small buffer gets the newest, newest last. */
	assert_int_equal(chan_deadletters(c, dl, 3), 3);
	assert_int_equal(dl[0].id, ids[17]);
	assert_int_equal(dl[2].id, ids[19]);
	assert_int_equal(chan_deadletters(c, dl, 0), 0);
	fix_done(f);
}

/* A small message's slot is kept for the next send, up to CHAN_SPARES of
 * them; a large message is freed. So a steady stream allocates nothing. */
static void test_spare_slots(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = mk(f, "kv", 4096, 1 << 24, 0);
	assert_int_equal(chan_serve(c, 10), 0);
	long blocks = f->t.live;
	uint64_t id = send(c, 1, VE_MSG_CAST, "a1");
	assert_int_equal(f->t.live, blocks + 1);
	recv_expect(c, 10, id, 0);
	assert_int_equal(chan_ack(c, 10, id), 0);
	assert_int_equal(f->r.nspare, 1);
	assert_int_equal(f->t.held[1], 0); /* a spare is charged to nobody */
	for (int i = 0; i < 100; i++) {
		id = send(c, 1, VE_MSG_CAST, "a2");
		recv_expect(c, 10, id, 0);
		assert_int_equal(chan_ack(c, 10, id), 0);
	}
	assert_int_equal(f->t.live, blocks + 1); /* the one slot, over and over */
	static char big[CHAN_SLOT_PAYLOAD + 1];
	assert_int_equal(chan_send(c, 1, VE_MSG_CAST, big, sizeof(big), 0, &id), 0);
	assert_int_equal(f->t.held[1], chan_msg_size(sizeof(big)));
	recv_expect(c, 10, id, 0);
	assert_int_equal(chan_ack(c, 10, id), 0);
	assert_int_equal(f->t.live, blocks + 1); /* not kept */
	uint64_t ids[CHAN_SPARES + 8];
	for (unsigned i = 0; i < CHAN_SPARES + 8; i++)
		ids[i] = send(c, 1, VE_MSG_CAST, "b");
	for (unsigned i = 0; i < CHAN_SPARES + 8; i++) {
		recv_expect(c, 10, ids[i], 0);
		assert_int_equal(chan_ack(c, 10, ids[i]), 0);
	}
	assert_int_equal(f->r.nspare, CHAN_SPARES);
	assert_int_equal(live(f), blocks);
	fix_done(f);
}

/* --------------------------------------------------------------- memory */

static void test_send_nomem_changes_nothing(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = mk(f, "kv", 0, 0, 0);
	uint64_t a = send(c, 1, VE_MSG_CALL, "a");
	struct chan_stats before = stats(c);
	long live0 = live(f);
	f->t.fail_after = 0;
	uint64_t id = 0;
	assert_int_equal(chan_send(c, 1, VE_MSG_CALL, "b", 1, 0, &id), -VE_NOMEM);
	assert_int_equal(id, 0);
	struct chan_stats after = stats(c);
	assert_memory_equal(&before, &after, sizeof(before));
	assert_int_equal(live(f), live0);
	assert_int_equal(chan_check(c), 0);
	f->t.fail_after = -1;
	/* No id was used up. */
	uint64_t b = send(c, 1, VE_MSG_CALL, "b");
	assert_int_equal(b, a + 1);
	fix_done(f);
}

/* A send its sender cannot be charged for is refused and changes nothing;
 * what leaves the channel is refunded, and the refund makes room again. */
static void test_send_charge_refused(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = mk(f, "kv", 0, 0, 0);
	size_t one = chan_msg_size(2);
	f->t.limit = 2 * one;
	assert_int_equal(chan_serve(c, 10), 0);
	uint64_t a = send(c, 1, VE_MSG_CAST, "a1");
	send(c, 1, VE_MSG_CALL, "a2");
	assert_int_equal(f->t.held[1], 2 * one);
	struct chan_stats before = stats(c);
	long live0 = live(f);
	uint64_t id = 0;
	assert_int_equal(chan_send(c, 1, VE_MSG_CAST, "a3", 2, 0, &id), -VE_NOMEM);
	assert_int_equal(id, 0);
	struct chan_stats after = stats(c);
	assert_memory_equal(&before, &after, sizeof(before));
	assert_int_equal(live(f), live0);
	assert_int_equal(f->t.held[1], 2 * one);
	send(c, 2, VE_MSG_CAST, "b1"); /* another sender has its own share */
	recv_expect(c, 10, a, 0);
	assert_int_equal(f->t.held[1], 2 * one); /* in flight: still its memory */
	assert_int_equal(chan_ack(c, 10, a), 0);
	assert_int_equal(f->t.held[1], one);
	send(c, 1, VE_MSG_CAST, "a3");
	fix_done(f);
}

/* The allocator failing after the charge gives the charge back. */
static void test_send_nomem_refunds(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = mk(f, "kv", 0, 0, 0);
	f->t.fail_after = 0;
	assert_int_equal(chan_send(c, 1, VE_MSG_CAST, "a", 1, 0, NULL), -VE_NOMEM);
	assert_int_equal(f->t.held[1], 0);
	fix_done(f);
}

/* -------------------------------------------------------------- batches */

/* lens[i] = strlen(tags[i]); data = the tags back to back. */
struct tagbatch {
	char data[256];
	uint32_t lens[16];
	uint32_t n;
};

static struct tagbatch tb(const char *const *tags, uint32_t n)
{
	struct tagbatch b = { .n = n };
	size_t at = 0;
	for (uint32_t i = 0; i < n; i++) {
		b.lens[i] = (uint32_t)strlen(tags[i]);
		memcpy(b.data + at, tags[i], b.lens[i]);
		at += b.lens[i];
	}
	return b;
}

/* A batch queues as its messages one by one would: consecutive ids after
 * what was queued, payloads split by lens, one charge for the batch; a
 * batch receive moves them in order and a batch ack refunds them in one. */
static void test_send_batch(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = mk(f, "kv", 0, 0, 0);
	assert_int_equal(chan_serve(c, 10), 0);
	uint64_t a = send(c, 1, VE_MSG_CAST, "a");
	static const char *const tags[] = { "b1", "b22", "", "b4444" };
	struct tagbatch b = tb(tags, 4);
	long charges = f->t.charges;
	uint64_t first = 0;
	assert_int_equal(chan_send_batch(c, 1, VE_MSG_CAST, b.data, b.lens, 4, 7, &first), 4);
	check_invariant(c);
	assert_int_equal(first, a + 1);
	assert_int_equal(f->t.charges, charges + 1);
	assert_int_equal(f->t.held[1], 5 * chan_msg_size(1));
	struct chan_stats s = stats(c);
	assert_int_equal(s.sent, 5);
	assert_int_equal(s.queued, 5);
	assert_int_equal(s.queued_bytes, 1 + 2 + 3 + 0 + 5);

	struct chan_msg *got[8] = { 0 };
	assert_int_equal(chan_recv_batch(c, 10, 8, got), 5);
	check_invariant(c);
	assert_int_equal(got[0]->id, a);
	for (uint32_t i = 0; i < 4; i++) {
		assert_int_equal(got[i + 1]->id, first + i);
		assert_int_equal(got[i + 1]->len, b.lens[i]);
		assert_memory_equal(got[i + 1]->data, tags[i], b.lens[i]);
		assert_int_equal(got[i + 1]->cookie, 7);
		assert_int_equal(got[i + 1]->sender, 1);
	}
	s = stats(c);
	assert_int_equal(s.queued, 0);
	assert_int_equal(s.inflight, 5);
	assert_int_equal(s.queued_bytes, 0);

	uint64_t ids[5] = { a, first, first + 1, first + 2, first + 3 };
	uint32_t acked = 99;
	long refunds = f->t.refunds;
	assert_int_equal(chan_ack_batch(c, 10, ids, 5, &acked), 0);
	check_invariant(c);
	assert_int_equal(acked, 5);
	assert_int_equal(f->t.refunds, refunds + 1); /* one owner, one size */
	assert_int_equal(f->t.held[1], 0);
	assert_int_equal(stats(c).acked, 5);
	fix_done(f);
}

/* Bounds end a batch where a single send would be refused; a batch whose
 * first is refused changes nothing and says why. */
static void test_send_batch_bounds(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = mk(f, "kv", 3, 10, 0);
	static const char *const tags[] = { "1234", "56", "789", "0" };
	struct tagbatch b = tb(tags, 4);
	uint64_t first = 0;
	/* The byte bound: 4 + 2 fit in 10, 4 + 2 + 3 too, then count (3). */
	assert_int_equal(chan_send_batch(c, 1, VE_MSG_CALL, b.data, b.lens, 4, 0, &first), 3);
	check_invariant(c);
	struct chan_stats before = stats(c);
	uint64_t id = 0;
	assert_int_equal(chan_send_batch(c, 1, VE_MSG_CALL, "0", b.lens + 3, 1, 0, &id), -VE_AGAIN);
	assert_int_equal(id, 0);
	struct chan_stats after = stats(c);
	assert_memory_equal(&before, &after, sizeof(before));
	fix_done(f);

	f = fix_new();
	c = mk(f, "kv", 0, 10, 0);
	uint32_t lens[3] = { 6, 5, 1 };
	char data[12] = { 0 };
	/* 6 fits; 6 + 5 does not: the batch ends at the byte bound. */
	assert_int_equal(chan_send_batch(c, 1, VE_MSG_CAST, data, lens, 3, 0, &first), 1);
	/* A length that could never fit ends it as chan_send's -VE_RANGE. */
	uint32_t big[3] = { 1, 11, 1 };
	assert_int_equal(chan_send_batch(c, 1, VE_MSG_CAST, data, big, 3, 0, NULL), 1);
	assert_int_equal(chan_send_batch(c, 1, VE_MSG_CAST, data, big + 1, 2, 0, NULL), -VE_RANGE);
	uint32_t huge = VE_MSG_MAX + 1;
	assert_int_equal(chan_send_batch(c, 1, VE_MSG_CAST, data, &huge, 1, 0, NULL), -VE_RANGE);
	/* Bad arguments: nothing queued. */
	before = stats(c);
	assert_int_equal(chan_send_batch(c, 1, VE_MSG_CAST, data, lens, 0, 0, NULL), -VE_INVAL);
	assert_int_equal(chan_send_batch(c, 1, 0, data, lens, 1, 0, NULL), -VE_INVAL);
	assert_int_equal(chan_send_batch(c, 1, 3, data, lens, 1, 0, NULL), -VE_INVAL);
	uint32_t zl[3] = { 0, 0, 1 };
	assert_int_equal(chan_send_batch(c, 1, VE_MSG_CAST, NULL, zl, 3, 0, NULL), -VE_INVAL);
	after = stats(c);
	assert_memory_equal(&before, &after, sizeof(before));
	/* No data is fine when every length is 0. */
	assert_int_equal(chan_send_batch(c, 1, VE_MSG_CAST, NULL, zl, 2, 0, NULL), 2);
	check_invariant(c);
	fix_done(f);
}

/* One charge per run of one size; a refused run is charged a message at a
 * time, so the batch takes what the share has room for. */
static void test_send_batch_charge(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = mk(f, "kv", 0, 1 << 20, 0);
	static char data[3 * (CHAN_SLOT_PAYLOAD + 1)];
	uint32_t lens[4] = { 1, 2, CHAN_SLOT_PAYLOAD + 1, 3 };
	long charges = f->t.charges;
	assert_int_equal(chan_send_batch(c, 1, VE_MSG_CAST, data, lens, 4, 0, NULL), 4);
	assert_int_equal(f->t.charges, charges + 3); /* slot, large, slot */
	assert_int_equal(f->t.held[1], 3 * CHAN_SLOT_SIZE + chan_msg_size(CHAN_SLOT_PAYLOAD + 1));
	check_invariant(c);

	size_t one = chan_msg_size(1);
	f->t.limit = f->t.held[2] + 2 * one;
	uint32_t small[4] = { 1, 1, 1, 1 };
	charges = f->t.charges;
	uint64_t first = 0;
	assert_int_equal(chan_send_batch(c, 2, VE_MSG_CAST, data, small, 4, 0, &first), 2);
	assert_int_equal(f->t.charges, charges + 1 + 3); /* refused whole, then 2 of 3 */
	assert_int_equal(f->t.held[2], 2 * one);
	assert_int_equal(stats(c).queued, 6);
	check_invariant(c);
	struct chan_stats before = stats(c);
	long live0 = live(f);
	assert_int_equal(chan_send_batch(c, 2, VE_MSG_CAST, data, small, 4, 0, NULL), -VE_NOMEM);
	struct chan_stats after = stats(c);
	assert_memory_equal(&before, &after, sizeof(before));
	assert_int_equal(live(f), live0);
	/* The next batch's ids follow on: none was used up. */
	uint64_t next = 0;
	assert_int_equal(chan_send_batch(c, 3, VE_MSG_CAST, data, small, 1, 0, &next), 1);
	assert_int_equal(next, first + 2);
	fix_done(f);
}

/* Out of memory in mid-batch: the made ones are queued, the rest's
 * charges are given back. */
static void test_send_batch_nomem(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = mk(f, "kv", 0, 0, 0);
	uint32_t lens[4] = { 1, 1, 1, 1 };
	f->t.fail_after = 2;
	uint64_t first = 0;
	assert_int_equal(chan_send_batch(c, 1, VE_MSG_CAST, "abcd", lens, 4, 0, &first), 2);
	check_invariant(c);
	assert_int_equal(f->t.held[1], 2 * chan_msg_size(1));
	assert_int_equal(stats(c).queued, 2);
	f->t.fail_after = 0;
	struct chan_stats before = stats(c);
	assert_int_equal(chan_send_batch(c, 1, VE_MSG_CAST, "abcd", lens, 4, 0, NULL), -VE_NOMEM);
	struct chan_stats after = stats(c);
	assert_memory_equal(&before, &after, sizeof(before));
	assert_int_equal(f->t.held[1], 2 * chan_msg_size(1));
	f->t.fail_after = -1;
	uint64_t id = send(c, 1, VE_MSG_CAST, "e");
	assert_int_equal(id, first + 2);
	fix_done(f);
}

/* A batch receive is n receives: its errors, a short queue, and a server
 * that dies holding a batch replays all of it at the front, in order,
 * with the same ids. */
static void test_recv_batch(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = mk(f, "kv", 0, 0, 0);
	struct chan_msg *got[8];
	assert_int_equal(chan_recv_batch(c, 10, 4, got), -VE_PERM);
	assert_int_equal(chan_serve(c, 10), 0);
	assert_int_equal(chan_recv_batch(c, 10, 4, got), -VE_AGAIN);
	uint64_t ids[5];
	for (int i = 0; i < 5; i++)
		ids[i] = send(c, 1, i % 2 ? VE_MSG_CALL : VE_MSG_CAST, "m");
	assert_int_equal(chan_recv_batch(c, 11, 4, got), -VE_PERM);
	assert_int_equal(chan_recv_batch(c, 10, 0, got), -VE_INVAL);
	assert_int_equal(chan_recv_batch(c, 10, 2, got), 2);
	check_invariant(c);
	assert_int_equal(chan_recv_batch(c, 10, 2, NULL), 2);
	check_invariant(c);
	assert_int_equal(stats(c).inflight, 4);
	uint64_t late = send(c, 2, VE_MSG_CAST, "late");
	assert_int_equal(chan_server_died(c, NULL, NULL), 4);
	check_invariant(c);
	assert_int_equal(chan_serve(c, 20), 0);
	assert_int_equal(chan_recv_batch(c, 20, 8, got), 6);
	check_invariant(c);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(got[i]->id, ids[i]);
		assert_int_equal(got[i]->redelivered, 1);
	}
	assert_int_equal(got[4]->id, ids[4]);
	assert_int_equal(got[4]->redelivered, 0);
	assert_int_equal(got[5]->id, late);
	fix_done(f);
}

/* A batch ack is n acks in order: the first refused ends it with its
 * error and acked says how many went before; refunds come one per run of
 * one owner, a dead sender's orphans' included. */
static void test_ack_batch(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = mk(f, "kv", 0, 0, 0);
	assert_int_equal(chan_serve(c, 10), 0);
	uint64_t a1 = send(c, 1, VE_MSG_CAST, "a1"), a2 = send(c, 1, VE_MSG_CAST, "a2");
	uint64_t b1 = send(c, 2, VE_MSG_CAST, "b1"), call = send(c, 2, VE_MSG_CALL, "c");
	uint64_t a3 = send(c, 1, VE_MSG_CAST, "a3"), a4 = send(c, 1, VE_MSG_CAST, "a4");
	assert_int_equal(chan_recv_batch(c, 10, 6, NULL), 6);
	uint32_t acked = 99;
	uint64_t perm[1] = { a1 };
	assert_int_equal(chan_ack_batch(c, 11, perm, 1, &acked), -VE_PERM);
	assert_int_equal(acked, 0);
	/* Out of order is fine; a repeat is no longer in flight; a call is
	 * not a cast. */
	uint64_t ids[4] = { a2, a1, a1, b1 };
	assert_int_equal(chan_ack_batch(c, 10, ids, 4, &acked), -VE_NOENT);
	check_invariant(c);
	assert_int_equal(acked, 2);
	assert_int_equal(stats(c).acked, 2);
	uint64_t ids2[2] = { b1, call };
	assert_int_equal(chan_ack_batch(c, 10, ids2, 2, &acked), -VE_INVAL);
	assert_int_equal(acked, 1);
	assert_non_null(chan_inflight_find(c, call));
	/* Sender 1 dies: a3 stays, charged to its orphans; a4 too. */
	assert_int_equal(chan_client_died(c, 1), 0);
	uint64_t a5 = send(c, 3, VE_MSG_CAST, "a5");
	assert_int_equal(chan_recv_batch(c, 10, 1, NULL), 1);
	long refunds = f->t.refunds;
	uint64_t ids3[3] = { a3, a4, a5 };
	assert_int_equal(chan_ack_batch(c, 10, ids3, 3, &acked), 0);
	check_invariant(c);
	assert_int_equal(acked, 3);
	assert_int_equal(f->t.refunds, refunds + 2); /* the orphans' run, then 3's */
	assert_int_equal(f->t.held[ORPHAN + 1], 0);
	assert_int_equal(f->t.held[3], 0);
	reply_ok(c, 10, call);
	fix_done(f);
}

/* One sender's run of acks spans two sizes: a refund for each size. */
static void test_ack_batch_sizes(void **state)
{
	(void)state;
	struct fix *f = fix_new();
	struct chan *c = mk(f, "kv", 0, 1 << 20, 0);
	static char data[CHAN_SLOT_PAYLOAD + 3];
	uint32_t lens[3] = { 1, CHAN_SLOT_PAYLOAD + 1, 1 };
	uint64_t first = 0, ids[3];
	assert_int_equal(chan_serve(c, 10), 0);
	assert_int_equal(chan_send_batch(c, 1, VE_MSG_CAST, data, lens, 3, 0, &first), 3);
	assert_int_equal(chan_recv_batch(c, 10, 3, NULL), 3);
	for (int i = 0; i < 3; i++)
		ids[i] = first + (uint64_t)i;
	long refunds = f->t.refunds;
	uint32_t acked = 0;
	assert_int_equal(chan_ack_batch(c, 10, ids, 3, &acked), 0);
	check_invariant(c);
	assert_int_equal(acked, 3);
	assert_int_equal(f->t.refunds, refunds + 3);
	assert_int_equal(f->t.held[1], 0);
	fix_done(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_create_twice),
		cmocka_unit_test(test_create_nomem),
		cmocka_unit_test(test_default_limits),
		cmocka_unit_test(test_iterate_and_destroy),
		cmocka_unit_test(test_serve_twice),
		cmocka_unit_test(test_server_zero_is_a_server),
		cmocka_unit_test(test_wrong_server_perm),
		cmocka_unit_test(test_send_recv_reply),
		cmocka_unit_test(test_send_recv_ack),
		cmocka_unit_test(test_reply_ack_kind_and_state_errors),
		cmocka_unit_test(test_send_bad_args),
		cmocka_unit_test(test_messages_wait_without_server),
		cmocka_unit_test(test_fifo_order),
		cmocka_unit_test(test_replay_order_after_death),
		cmocka_unit_test(test_redelivered_counts),
		cmocka_unit_test(test_poison_default),
		cmocka_unit_test(test_poison_custom_one),
		cmocka_unit_test(test_poison_only_inflight),
		cmocka_unit_test(test_poison_several_in_one_death),
		cmocka_unit_test(test_poison_callback_reenters),
		cmocka_unit_test(test_server_died_without_server),
		cmocka_unit_test(test_reply_to_gone_sender_discarded),
		cmocka_unit_test(test_cancel_queued),
		cmocka_unit_test(test_cancel_inflight),
		cmocka_unit_test(test_gone_inflight_dropped_at_death),
		cmocka_unit_test(test_client_died),
		cmocka_unit_test(test_full_by_count),
		cmocka_unit_test(test_full_by_bytes),
		cmocka_unit_test(test_requeue_may_exceed_bytes),
		cmocka_unit_test(test_ids_stable_and_unique),
		cmocka_unit_test(test_deadletter_ring_keeps_newest),
		cmocka_unit_test(test_send_nomem_changes_nothing),
		cmocka_unit_test(test_send_charge_refused),
		cmocka_unit_test(test_send_nomem_refunds),
		cmocka_unit_test(test_spare_slots),
		cmocka_unit_test(test_send_batch),
		cmocka_unit_test(test_send_batch_bounds),
		cmocka_unit_test(test_send_batch_charge),
		cmocka_unit_test(test_send_batch_nomem),
		cmocka_unit_test(test_recv_batch),
		cmocka_unit_test(test_ack_batch),
		cmocka_unit_test(test_ack_batch_sizes),
	};
	return cmocka_run_group_tests_name("chan", tests, NULL, NULL);
}
