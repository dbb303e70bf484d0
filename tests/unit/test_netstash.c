/* Host tests of svc/net/stash.c: a new, damaged or out-of-range stash is
 * never trusted, and a sealed one is; epochs only ever go forward, across
 * a discarded stash and the clock's wrap too; ABORT's checks and the
 * stale list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stash.h"

static const uint64_t secret[2] = { 0x0123456789abcdefull, 0xfedcba9876543210ull };

/* A good stash with two listeners and a connection's peer. */
static void good(struct net_stash *st)
{
	net_stash_reset(st, secret);
	st->epoch = 7;
	st->nlisten = 2;
	st->next_lid = 3;
	st->l[0] = (struct net_listen_rec){
		.lid = 1, .port = 7, .backlog = 8, .owner = "tcpecho", .notify = "tcpecho.ev"
	};
	st->l[1] = (struct net_listen_rec){ .lid = 2, .port = 6379, .backlog = 64, .owner = "kv" };
	st->peer[NET_PEER_MAX - 1] = (struct net_peer_rec){ 0x0202000a, 40000, 6379 };
	st->stale[0] = (struct net_peer_rec){ 0x0202000a, 40002, 6379 };
	net_stash_seal(st);
}

static void test_new_and_good(void **state)
{
	struct net_stash st;

	(void)state;
	memset(&st, 0, sizeof(st));
	assert_string_equal(net_stash_check(&st), "new");
	net_stash_reset(&st, secret);
	assert_null(net_stash_check(&st));
	assert_int_equal(st.next_lid, 1);
	assert_int_equal(st.secret[1], secret[1]);
	for (unsigned i = 0; i < NET_PEER_MAX; i++)
		assert_int_equal(st.peer[i].port, 0);
	good(&st); /* a reset keeps the peers: their connections still need resets */
	net_stash_reset(&st, secret);
	assert_int_equal(st.nlisten, 0);
	assert_int_equal(st.peer[NET_PEER_MAX - 1].port, 40000);
	assert_int_equal(st.stale[0].port, 40002);
	good(&st);
	assert_null(net_stash_check(&st));
}

/* Any one bit flipped anywhere but in the peer records is caught (those
 * are each one store, and any value of them is harmless: a probe). */
static void test_every_bit(void **state)
{
	struct net_stash st;
	uint8_t *b = (uint8_t *)&st;

	(void)state;
	for (size_t i = 0; i < offsetof(struct net_stash, peer) * 8; i++) {
		good(&st);
		b[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_non_null(net_stash_check(&st));
	}
}

/* Fields out of range are caught even under a good checksum. */
static void test_ranges(void **state)
{
	struct net_stash st;

	(void)state;
	good(&st);
	st.nlisten = NET_LISTEN_MAX + 1;
	net_stash_seal(&st);
	assert_string_equal(net_stash_check(&st), "corrupt");
	good(&st);
	st.l[1].lid = 3; /* not below next_lid */
	net_stash_seal(&st);
	assert_string_equal(net_stash_check(&st), "corrupt");
	good(&st);
	memset(st.l[0].owner, 'a', sizeof(st.l[0].owner)); /* no NUL */
	net_stash_seal(&st);
	assert_string_equal(net_stash_check(&st), "corrupt");
	good(&st);
	st.l[1].port = 0;
	net_stash_seal(&st);
	assert_string_equal(net_stash_check(&st), "corrupt");
	good(&st);
	st.next_lid = 0;
	net_stash_seal(&st);
	assert_string_equal(net_stash_check(&st), "corrupt");
	good(&st);
	st.version = NET_STASH_VERSION + 1;
	net_stash_seal(&st);
	assert_string_equal(net_stash_check(&st), "magic");
}

/* A start takes the tick once past its floor, in serial-number order. */
static void test_epochs(void **state)
{
	(void)state;
	assert_int_equal(net_epoch_take(10, 10), 0); /* restarts outran the clock: wait */
	assert_int_equal(net_epoch_take(10, 9), 0);
	assert_int_equal(net_epoch_take(10, 11), 11);
	assert_int_equal(net_epoch_take(0, 1), 1);
	assert_int_equal(net_epoch_take(0xfffffff0u, 0), 0); /* 0 is no epoch */
	assert_int_equal(net_epoch_take(0xfffffff0u, 5), 5); /* past the wrap */
	assert_int_equal(net_epoch_take(5, 0xfffffff0u), 0);
	assert_true(net_epoch_before(0xfffffff0u, 5));
	assert_false(net_epoch_before(5, 5));
}

/* Kept restarts faster than the clock, then a discarded stash: every
 * epoch is later than all before it, so no cid is given twice. */
static void test_epochs_across_discard(void **state)
{
	uint32_t clock = 100, last = 0, e;

	(void)state;
	for (int i = 0; i < 6; i++) {
		/* a kept stash: floor is its epoch; the clock moves slower
		 * than the restarts (one tick per two of them) */
		while (!(e = net_epoch_take(last, clock)))
			clock++;
		assert_true(net_epoch_before(last, e) || last == 0);
		last = e;
		clock += i % 2;
	}
	/* discarded: floor is the tick at the process' start, which is
	 * no earlier than the last epoch taken */
	uint32_t started = clock;
	while (!(e = net_epoch_take(started, clock)))
		clock++;
	assert_true(net_epoch_before(last, e));
}

static void test_abort_check(void **state)
{
	const struct net_peer_rec ok = { 0x0202000a, 40000, 6379 };
	struct net_peer_rec r;

	(void)state;
	assert_int_equal(net_abort_check(5ull << 32 | 0x101, 10, &ok), 0);
	assert_int_equal(net_abort_check(10ull << 32 | 0x101, 10, &ok), -SOCK_EINVAL); /* current */
	assert_int_equal(net_abort_check(11ull << 32 | 0x101, 10, &ok), -SOCK_EINVAL);
	assert_int_equal(net_abort_check(0x101, 10, &ok), -SOCK_EINVAL);	  /* no epoch */
	assert_int_equal(net_abort_check(0xffffff00ull << 32 | 1, 0x10, &ok), 0); /* wrapped */
	r = ok;
	r.ip = 0;
	assert_int_equal(net_abort_check(5ull << 32, 10, &r), -SOCK_EINVAL);
	r = ok;
	r.port = 0;
	assert_int_equal(net_abort_check(5ull << 32, 10, &r), -SOCK_EINVAL);
	r = ok;
	r.local_port = 0;
	assert_int_equal(net_abort_check(5ull << 32, 10, &r), -SOCK_EINVAL);
}

/* Put once (a replay finds it), and the list's bound. */
static void test_stale_add(void **state)
{
	struct net_stash st;
	struct net_peer_rec r = { 0x0202000a, 40010, 6379 };

	(void)state;
	memset(&st, 0, sizeof(st)); /* good() leaves the peer records as they are */
	good(&st);
	assert_int_equal(net_stale_add(&st, st.stale[0]), 1);
	assert_int_equal(net_stale_add(&st, r), 0);
	assert_int_equal(st.stale[1].port, 40010);
	assert_int_equal(net_stale_add(&st, r), 1);
	for (unsigned i = 2; i < NET_PEER_MAX; i++) {
		r.port = (uint16_t)(41000 + i);
		assert_int_equal(net_stale_add(&st, r), 0);
	}
	r.port = 50000;
	assert_int_equal(net_stale_add(&st, r), -SOCK_EAGAIN);
	st.stale[7].port = 0; /* probed: room again */
	assert_int_equal(net_stale_add(&st, r), 0);
	assert_int_equal(st.stale[7].port, 50000);
	assert_null(net_stash_check(&st)); /* the list is outside the checksum */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_and_good),
		cmocka_unit_test(test_every_bit),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_epochs),
		cmocka_unit_test(test_epochs_across_discard),
		cmocka_unit_test(test_abort_check),
		cmocka_unit_test(test_stale_add),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
