/*
 * kv's Redis keyspace and connections through its durable log
 * (svc/kv/rstore.c over the engine and rlog): a new incarnation opened on
 * the region rebuilds the keyspace, each connection's input offset, the
 * part of a request not yet whole, and the replies not yet sent; a death
 * between two batches costs nothing and repeats nothing; a full log is
 * snapshotted; the active expiry's deletions are kept; each
 * connection's two ends are kept, through a snapshot too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rstore.h"

#define REGION (RLOG_HDR_SIZE + 64 * 4096u)
static uint8_t region[REGION];

struct inc {
	struct rs_engine e;
	struct rstore s;
	struct rlog_report rep;
};

/* A new incarnation on the region as it is. */
static struct inc *start(uint64_t now_ms)
{
	struct inc *k = calloc(1, sizeof(*k));

	assert_non_null(k);
	static uint64_t seed = 42; /* each incarnation draws its own run_id */

	assert_int_equal(rs_engine_init(&k->e, now_ms, seed++), 0);
	k->e.now_ms = now_ms;
	assert_int_equal(rstore_open(&k->s, &k->e, region, REGION, &k->rep), 0);
	return k;
}

/* Its death: memory gone, region kept. */
static void die(struct inc *k)
{
	for (struct rconn *c = k->s.conns, *n; c; c = n) {
		n = c->next;
		rs_client_free(&k->e, c->c);
		rs_free(c->resid);
		rs_free(c);
	}
	rs_client_free(&k->e, k->s.loader);
	rs_free(k->s.prop);
	rs_engine_free(&k->e);
	free(k);
}

static void batch(struct inc *k, uint64_t cid, const char *bytes)
{
	struct rconn *c = rstore_conn(&k->s, cid, true);

	assert_non_null(c);
	assert_int_equal(rstore_batch(&k->s, c, (const uint8_t *)bytes, strlen(bytes)), 0);
}

/* The reply bytes c has not sent, as a string. */
static const char *unsent(struct inc *k, uint64_t cid)
{
	static char buf[4096];
	struct rconn *c = rstore_conn(&k->s, cid, false);

	assert_non_null(c);
	assert_true(c->c->out_len < sizeof(buf));
	memcpy(buf, c->c->out, c->c->out_len);
	buf[c->c->out_len] = 0;
	return buf;
}

/* Run a command on a scratch connection (not logged) and return its reply. */
static const char *ask(struct inc *k, const char *cmd)
{
	static char buf[4096];
	struct rs_client *c = rs_client_new(&k->e);
	void (*hook)(void *, uint32_t, const struct rs_arg *) = k->e.propagate;

	k->e.propagate = NULL;
	rs_feed(&k->e, c, (const uint8_t *)cmd, strlen(cmd));
	k->e.propagate = hook;
	assert_true(c->out_len < sizeof(buf));
	memcpy(buf, c->out, c->out_len);
	buf[c->out_len] = 0;
	rs_client_free(&k->e, c);
	return buf;
}

static void test_rebuild(void **state)
{
	(void)state;
	memset(region, 0, sizeof(region));
	struct inc *k = start(1000);
	assert_string_equal(k->rep.made, "new");
	batch(k, 7, "SET a 1\r\nINCR n\r\n");
	batch(k, 7, "INCR n\r\nRPUSH l x y\r\n");
	batch(k, 9, "*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n"); /* not whole yet */
	struct rconn *c7 = rstore_conn(&k->s, 7, false);
	rstore_sent(c7, 5); /* "+OK\r\n" went out */
	assert_string_equal(unsent(k, 7), ":1\r\n:2\r\n:2\r\n");
	die(k);

	k = start(1000);
	assert_null(k->rep.made);
	assert_string_equal(ask(k, "GET a\r\n"), "$1\r\n1\r\n");
	assert_string_equal(ask(k, "GET n\r\n"), "$1\r\n2\r\n");
	assert_string_equal(ask(k, "LRANGE l 0 -1\r\n"), "*2\r\n$1\r\nx\r\n$1\r\ny\r\n");
	/* Connection 7: its offsets and the replies it had not sent. */
	c7 = rstore_conn(&k->s, 7, false);
	assert_non_null(c7);
	assert_int_equal(c7->consumed,
			 strlen("SET a 1\r\nINCR n\r\n") + strlen("INCR n\r\nRPUSH l x y\r\n"));
	/* What was sent is not logged: the service's LIST says how far it
	 * took the output, and the rest goes out again. */
	assert_int_equal(c7->tx_base, 0);
	assert_string_equal(unsent(k, 7), "+OK\r\n:1\r\n:2\r\n:2\r\n");
	rstore_sent(c7, 5);
	assert_string_equal(unsent(k, 7), ":1\r\n:2\r\n:2\r\n");
	/* Connection 9's request ends in the next incarnation, once. */
	batch(k, 9, "2\r\n");
	assert_string_equal(unsent(k, 9), "+OK\r\n");
	assert_string_equal(ask(k, "GET b\r\n"), "$1\r\n2\r\n");
	die(k);
}

/* A death between any two batches: the next incarnation has exactly the
 * batches committed before it, each once. */
static void test_each_death(void **state)
{
	static uint8_t after[8][REGION];

	(void)state;
	memset(region, 0, sizeof(region));
	struct inc *k = start(1000);
	for (int i = 0; i < 8; i++) {
		batch(k, 3, "INCR counter\r\n");
		memcpy(after[i], region, REGION);
	}
	die(k);
	for (int i = 0; i < 8; i++) {
		char want[32];
		memcpy(region, after[i], REGION);
		k = start(1000);
		snprintf(want, sizeof(want), "$1\r\n%d\r\n", i + 1);
		assert_string_equal(ask(k, "GET counter\r\n"), want);
		assert_int_equal(rstore_conn(&k->s, 3, false)->consumed,
				 (i + 1) * strlen("INCR counter\r\n"));
		die(k);
	}
}

/* The run_id names the dataset: kept across a restart (and through a
 * snapshot), new when the keyspace is made anew or a record was lost. */
static void test_run_id(void **state)
{
	char first[sizeof(((struct rs_engine *)0)->run_id)];
	size_t last = 0;

	(void)state;
	memset(region, 0, sizeof(region));
	struct inc *k = start(1000);
	memcpy(first, k->e.run_id, sizeof(first));
	assert_int_equal(strlen(first), 40);
	assert_non_null(strstr(ask(k, "INFO server\r\n"), first));
	batch(k, 3, "SET a 1\r\n");
	die(k);
	k = start(1000);
	assert_string_equal(k->e.run_id, first);
	assert_int_equal(rstore_snapshot(&k->s), 0);
	batch(k, 3, "SET b 2\r\n");
	die(k);
	k = start(1000);
	assert_string_equal(k->e.run_id, first);
	die(k);

	/* Damage the last record written: SET b is lost, and said to be. */
	for (size_t i = 0; i < REGION; i++)
		if (region[i])
			last = i;
	region[last] ^= 0x40;
	k = start(1000);
	assert_int_equal(k->rep.bad_records, 1);
	assert_string_equal(ask(k, "GET b\r\n"), "$-1\r\n");
	assert_string_not_equal(k->e.run_id, first);
	memcpy(first, k->e.run_id, sizeof(first));
	die(k);
	k = start(1000); /* the new name is kept in its turn */
	assert_string_equal(k->e.run_id, first);
	die(k);

	memset(region, 0, sizeof(region));
	k = start(1000);
	assert_string_not_equal(k->e.run_id, first);
	die(k);
}

/* A log that fills is snapshotted; what it held survives, and so do the
 * connections and their unsent replies. */
static void test_snapshot(void **state)
{
	char cmd[64];

	(void)state;
	memset(region, 0, sizeof(region));
	struct inc *k = start(1000);
	for (int i = 0; i < 3000; i++) {
		snprintf(cmd, sizeof(cmd), "SET key:%d %d\r\n", i % 500, i);
		batch(k, 1 + i % 3, cmd);
	}
	assert_true(k->s.snapshots > 0);
	die(k);
	k = start(1000);
	assert_int_equal(k->rep.bad_records, 0);
	assert_string_equal(ask(k, "DBSIZE\r\n"), ":500\r\n");
	assert_string_equal(ask(k, "GET key:499\r\n"), "$4\r\n2999\r\n");
	assert_int_equal(rstore_conn(&k->s, 2, false)->consumed > 0, 1);
	die(k);
}

/* A snapshot rebuilds every type: long lists in several commands, sets,
 * hashes, scores that must come back to the bit, expiry times. */
static void test_snapshot_types(void **state)
{
	char cmd[128], want[64];

	(void)state;
	memset(region, 0, sizeof(region));
	struct inc *k = start(1000);
	for (int i = 0; i < 200; i++) {
		snprintf(cmd, sizeof(cmd), "RPUSH l e%d\r\nSADD s m%d\r\nHSET h f%d v%d\r\n", i, i,
			 i, i);
		batch(k, 1, cmd);
	}
	batch(k, 1, "HSET small z 1 a 2 m 3\r\n");
	batch(k, 1, "ZADD z 0.1 a 3.0000000000000004 b -inf c 1e300 d\r\n");
	batch(k, 1, "SET e x PXAT 99999999\r\nSET bin \"a\\x00b\"\r\n");
	assert_int_equal(rstore_snapshot(&k->s), 0);
	die(k);
	k = start(1000);
	/* run_id, the disk marker (the region was made anew: a kv with a disk
	 * reads its keyspace from there), the keyspace in one record, the
	 * connection */
	assert_int_equal(k->rep.records, 4);
	assert_true(k->s.disk_pending);
	assert_string_equal(ask(k, "LLEN l\r\n"), ":200\r\n");
	assert_string_equal(ask(k, "LINDEX l 0\r\n"), "$2\r\ne0\r\n");
	assert_string_equal(ask(k, "LINDEX l 199\r\n"), "$4\r\ne199\r\n");
	assert_string_equal(ask(k, "SCARD s\r\n"), ":200\r\n");
	assert_string_equal(ask(k, "SISMEMBER s m137\r\n"), ":1\r\n");
	assert_string_equal(ask(k, "HLEN h\r\n"), ":200\r\n");
	assert_string_equal(ask(k, "HGET h f64\r\n"), "$3\r\nv64\r\n");
	assert_string_equal(
	    ask(k, "HGETALL small\r\n"),
	    "*6\r\n$1\r\nz\r\n$1\r\n1\r\n$1\r\na\r\n$1\r\n2\r\n$1\r\nm\r\n$1\r\n3\r\n");
	assert_string_equal(ask(k, "ZSCORE z b\r\n"), "$18\r\n3.0000000000000004\r\n");
	assert_string_equal(ask(k, "ZSCORE z c\r\n"), "$4\r\n-inf\r\n");
	assert_string_equal(ask(k, "ZRANGE z 0 -1\r\n"),
			    "*4\r\n$1\r\nc\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nd\r\n");
	assert_string_equal(ask(k, "PEXPIRETIME e\r\n"), ":99999999\r\n");
	snprintf(want, sizeof(want), "$3\r\na%cb\r\n", 0);
	assert_memory_equal(ask(k, "GET bin\r\n"), want, 9);
	die(k);
}

/* A key set to expire is deleted by the sweep, and stays deleted. */
static void test_expiry(void **state)
{
	(void)state;
	memset(region, 0, sizeof(region));
	struct inc *k = start(1000);
	batch(k, 1, "SET t v PX 100\r\nSET p v\r\n");
	k->e.now_ms = 2000;
	assert_int_equal(rstore_expire(&k->s, 20), 0);
	assert_string_equal(ask(k, "EXISTS t\r\n"), ":0\r\n");
	die(k);
	k = start(1500); /* even were the clock to say it is not due */
	assert_string_equal(ask(k, "EXISTS t\r\n"), ":0\r\n");
	assert_string_equal(ask(k, "EXISTS p\r\n"), ":1\r\n");
	die(k);
}

/* A closed connection does not come back. */
static void test_close(void **state)
{
	(void)state;
	memset(region, 0, sizeof(region));
	struct inc *k = start(1000);
	batch(k, 5, "PING\r\n");
	assert_int_equal(rstore_close(&k->s, rstore_conn(&k->s, 5, false)), 0);
	die(k);
	k = start(1000);
	assert_null(rstore_conn(&k->s, 5, false));
	die(k);
}

/* The ends of c, as "ip:port>local" for the asserts. */
static const char *ends(struct inc *k, uint64_t cid)
{
	static char buf[64];
	struct rconn *c = rstore_conn(&k->s, cid, false);

	assert_non_null(c);
	snprintf(buf, sizeof(buf), "%x:%u>%u", (unsigned)c->peer_ip, c->peer_port, c->local_port);
	return buf;
}

/* A connection's ends come back after a death, through a snapshot too,
 * also for one that has not sent a byte yet; a closed one's do not. */
static void test_ends(void **state)
{
	(void)state;
	memset(region, 0, sizeof(region));
	struct inc *k = start(1000);
	assert_int_equal(rstore_ends(&k->s, rstore_conn(&k->s, 7, true), 0x0202000a, 40000, 6379),
			 0);
	assert_int_equal(rstore_ends(&k->s, rstore_conn(&k->s, 8, true), 0x0202000a, 40001, 6379),
			 0);
	batch(k, 8, "PING\r\n");
	batch(k, 9, "PING\r\n"); /* ends never known: 0 */
	die(k);
	k = start(1000);
	assert_string_equal(ends(k, 7), "202000a:40000>6379");
	assert_string_equal(ends(k, 8), "202000a:40001>6379");
	assert_string_equal(ends(k, 9), "0:0>0");
	assert_int_equal(rstore_conn(&k->s, 8, false)->consumed, 6);
	assert_int_equal(rstore_snapshot(&k->s), 0);
	die(k);
	k = start(1000);
	assert_string_equal(ends(k, 7), "202000a:40000>6379");
	assert_string_equal(ends(k, 8), "202000a:40001>6379");
	assert_string_equal(unsent(k, 8), "+PONG\r\n");
	assert_int_equal(rstore_close(&k->s, rstore_conn(&k->s, 7, false)), 0);
	die(k);
	k = start(1000);
	assert_null(rstore_conn(&k->s, 7, false));
	assert_string_equal(ends(k, 8), "202000a:40001>6379");
	die(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rebuild),	       cmocka_unit_test(test_each_death),
		cmocka_unit_test(test_snapshot),       cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_run_id),	       cmocka_unit_test(test_close),
		cmocka_unit_test(test_snapshot_types), cmocka_unit_test(test_ends),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
