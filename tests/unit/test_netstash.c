/* Host tests of svc/net/stash.c: a new, damaged or out-of-range stash is
 * never trusted, and a sealed one is. */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_and_good),
		cmocka_unit_test(test_every_bit),
		cmocka_unit_test(test_ranges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
