/*
 * kv's Redis keyspace and data-type commands (svc/kv/db.c, dict.c, obj.c,
 * zsl.c and the cmd_string/keys/list/set/hash/zset.c handlers), driven
 * through rs_feed: request bytes in, Redis 7.0's exact reply bytes out,
 * and what each write propagates. Time is the engine's now_ms, moved by
 * hand; allocation failures come from the host allocator's switch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "resp.h"
#include "db.h"
#include "rs_host_alloc.h"
#include "rstore.h"

#define T0 1000000 /* the engine's clock at the start of each test, ms */

static struct rs_engine E;
static struct rs_client *C;
static char prop[1 << 16]; /* propagated commands, one a line */
static size_t prop_len;
static char reply[1 << 20];

static void on_propagate(void *ctx, uint32_t argc, const struct rs_arg *argv)
{
	(void)ctx;
	for (uint32_t i = 0; i < argc; i++) {
		assert_true(prop_len + argv[i].len + 2 < sizeof(prop));
		memcpy(prop + prop_len, argv[i].p, argv[i].len);
		prop_len += argv[i].len;
		prop[prop_len++] = i + 1 < argc ? ' ' : '\n';
	}
	prop[prop_len] = 0;
}

/* What was propagated since the last call. */
static const char *P(void)
{
	static char got[sizeof(prop)];
	memcpy(got, prop, prop_len + 1);
	prop_len = 0;
	prop[0] = 0;
	return got;
}

static int setup(void **state)
{
	(void)state;
	assert_int_equal(rs_engine_init(&E, T0, 42), 0);
	E.propagate = on_propagate;
	C = rs_client_new(&E);
	assert_non_null(C);
	prop_len = 0;
	prop[0] = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rs_host_fail_after = -1;
	rs_client_free(&E, C);
	rs_engine_free(&E);
	assert_int_equal(rs_used(), 0); /* nothing leaked */
	return 0;
}

static const char *run_array(const char *const *args, size_t n);

/* Run one command given as NUL-terminated arguments; its reply. */
static const char *runv(const char *first, va_list ap)
{
	const char *args[64];
	size_t n = 0;
	for (const char *a = first; a; a = va_arg(ap, const char *))
		args[n++] = a;
	return run_array(args, n);
}

/* Run one command given as n NUL-terminated arguments; its reply. */
static const char *run_array(const char *const *args, size_t n)
{
	static char req[1 << 16];
	size_t len = 0;
	len += (size_t)snprintf(req + len, sizeof(req) - len, "*%zu\r\n", n);
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(req + len, sizeof(req) - len, "$%zu\r\n%s\r\n",
					strlen(args[i]), args[i]);
	assert_int_equal(rs_feed(&E, C, (const uint8_t *)req, len), len);
	assert_true(C->out_len < sizeof(reply));
	memcpy(reply, C->out, C->out_len);
	reply[C->out_len] = 0;
	rs_sent(C, C->out_len);
	return reply;
}

static const char *run(const char *first, ...)
{
	va_list ap;
	va_start(ap, first);
	const char *r = runv(first, ap);
	va_end(ap);
	return r;
}

#define R(...) run(__VA_ARGS__, (const char *)NULL)
#define EXPECT(want, ...) assert_string_equal(R(__VA_ARGS__), want)

#define OK "+OK\r\n"
#define NIL "$-1\r\n"
#define WRONGTYPE "-" RS_ERR_WRONGTYPE "\r\n"
#define NOTINT "-" RS_ERR_NOTINT "\r\n"
#define SYNTAX "-" RS_ERR_SYNTAX "\r\n"
#define OOM "-" RS_ERR_OOM "\r\n"

/* ---- strings ---- */

static void test_get_set(void **state)
{
	(void)state;
	EXPECT(NIL, "GET", "k");
	EXPECT(OK, "SET", "k", "hello");
	EXPECT("$5\r\nhello\r\n", "GET", "k");
	EXPECT(NIL, "SET", "k", "x", "NX");
	EXPECT(NIL, "SET", "new", "x", "XX");
	EXPECT(":0\r\n", "EXISTS", "new");
	EXPECT(OK, "SET", "k", "v2", "XX");
	EXPECT("$2\r\nv2\r\n", "SET", "k", "v3", "GET");
	EXPECT(NIL, "SET", "k2", "a", "GET");
	EXPECT("$1\r\na\r\n", "SET", "k2", "b", "nx", "get"); /* NX fails: old value */
	EXPECT("$1\r\na\r\n", "GET", "k2");
	EXPECT(SYNTAX, "SET", "k", "v", "NX", "XX");
	EXPECT(SYNTAX, "SET", "k", "v", "EX");
	EXPECT(SYNTAX, "SET", "k", "v", "EX", "10", "PX", "10");
	EXPECT(SYNTAX, "SET", "k", "v", "KEEPTTL", "EX", "10");
	EXPECT(SYNTAX, "SET", "k", "v", "PERSIST");
	EXPECT(NOTINT, "SET", "k", "v", "EX", "ten");
	EXPECT("-ERR invalid expire time in 'set' command\r\n", "SET", "k", "v", "EX", "0");
	EXPECT("-ERR invalid expire time in 'set' command\r\n", "SET", "k", "v", "PX", "-5");
	EXPECT("-ERR invalid expire time in 'set' command\r\n", "SET", "k", "v", "EX",
	       "9223372036854775807");
	EXPECT("-ERR wrong number of arguments for 'set' command\r\n", "SET", "k");
	R("RPUSH", "l", "a");
	EXPECT(WRONGTYPE, "GET", "l");
	EXPECT(WRONGTYPE, "SET", "l", "v", "GET");
	EXPECT(OK, "SET", "l", "v"); /* SET replaces any type */
	EXPECT("+string\r\n", "TYPE", "l");
}

static void test_set_expire(void **state)
{
	(void)state;
	P();
	EXPECT(OK, "SET", "k", "v", "EX", "10");
	assert_string_equal(P(), "SET k v PXAT 1010000\n");
	EXPECT(":10\r\n", "TTL", "k");
	EXPECT(":10000\r\n", "PTTL", "k");
	E.now_ms += 4400;
	EXPECT(":6\r\n", "TTL", "k"); /* 5600 ms rounds to 6 */
	EXPECT(OK, "SET", "k", "w", "KEEPTTL");
	assert_string_equal(P(), "SET k w KEEPTTL\n");
	EXPECT(":5600\r\n", "PTTL", "k");
	EXPECT(OK, "SET", "k", "w");
	EXPECT(":-1\r\n", "TTL", "k");
	EXPECT(OK, "SET", "k", "v", "PXAT", "2000000");
	EXPECT(":2000000\r\n", "PEXPIRETIME", "k");
	EXPECT(":2000\r\n", "EXPIRETIME", "k");
	EXPECT(OK, "SET", "k", "v", "EXAT", "3000");
	EXPECT(":3000000\r\n", "PEXPIRETIME", "k");
	EXPECT(OK, "SETEX", "s", "5", "v");
	assert_string_equal(P(), "SET k w\nSET k v PXAT 2000000\nSET k v PXAT 3000000\n"
				 "SET s v PXAT 1009400\n");
	EXPECT("-ERR invalid expire time in 'setex' command\r\n", "SETEX", "s", "-1", "v");
	EXPECT(OK, "PSETEX", "p", "1500", "v");
	EXPECT(":1500\r\n", "PTTL", "p");
	EXPECT("-ERR invalid expire time in 'psetex' command\r\n", "PSETEX", "p", "0", "v");
	EXPECT(":1\r\n", "SETNX", "n", "1");
	EXPECT(":0\r\n", "SETNX", "n", "2");
	EXPECT("$1\r\n1\r\n", "GET", "n");
}

static void test_getset_getdel_getex(void **state)
{
	(void)state;
	EXPECT(NIL, "GETSET", "k", "a");
	EXPECT(OK, "SET", "k", "v", "EX", "100");
	P();
	EXPECT("$1\r\nv\r\n", "GETSET", "k", "b");
	assert_string_equal(P(), "SET k b\n");
	EXPECT(":-1\r\n", "TTL", "k"); /* GETSET drops the time to live */
	EXPECT("$1\r\nb\r\n", "GETDEL", "k");
	assert_string_equal(P(), "DEL k\n");
	EXPECT(NIL, "GETDEL", "k");
	EXPECT(NIL, "GETEX", "k");
	R("SET", "k", "v");
	P();
	EXPECT("$1\r\nv\r\n", "GETEX", "k");
	assert_string_equal(P(), "");
	EXPECT("$1\r\nv\r\n", "GETEX", "k", "EX", "10");
	assert_string_equal(P(), "PEXPIREAT k 1010000\n");
	EXPECT(":10\r\n", "TTL", "k");
	EXPECT("$1\r\nv\r\n", "GETEX", "k", "PERSIST");
	assert_string_equal(P(), "PERSIST k\n");
	EXPECT(":-1\r\n", "TTL", "k");
	EXPECT("$1\r\nv\r\n", "GETEX", "k", "PERSIST");
	assert_string_equal(P(), ""); /* nothing to persist: nothing changed */
	EXPECT("$1\r\nv\r\n", "GETEX", "k", "PXAT", "5");
	assert_string_equal(P(), "DEL k\n");
	EXPECT(":0\r\n", "EXISTS", "k");
	R("SET", "k", "v");
	EXPECT(SYNTAX, "GETEX", "k", "EX", "10", "PERSIST");
	EXPECT(SYNTAX, "GETEX", "k", "NX");
	EXPECT(SYNTAX, "GETEX", "k", "KEEPTTL");
	EXPECT("-ERR invalid expire time in 'getex' command\r\n", "GETEX", "k", "EX", "0");
	R("LPUSH", "l", "a");
	EXPECT(WRONGTYPE, "GETEX", "l");
	EXPECT(WRONGTYPE, "GETSET", "l", "x");
	EXPECT(WRONGTYPE, "GETDEL", "l");
}

static void test_append_strlen_ranges(void **state)
{
	(void)state;
	EXPECT(":5\r\n", "APPEND", "k", "Hello");
	EXPECT(":11\r\n", "APPEND", "k", " World");
	EXPECT(":11\r\n", "STRLEN", "k");
	EXPECT(":0\r\n", "STRLEN", "none");
	EXPECT("$4\r\nHell\r\n", "GETRANGE", "k", "0", "3");
	EXPECT("$3\r\nrld\r\n", "GETRANGE", "k", "-3", "-1");
	EXPECT("$11\r\nHello World\r\n", "GETRANGE", "k", "0", "-1");
	EXPECT("$11\r\nHello World\r\n", "GETRANGE", "k", "-100", "100");
	EXPECT("$0\r\n\r\n", "GETRANGE", "k", "5", "3");
	EXPECT("$0\r\n\r\n", "GETRANGE", "k", "-1", "-5");
	EXPECT("$0\r\n\r\n", "GETRANGE", "none", "0", "-1");
	EXPECT("$5\r\nWorld\r\n", "SUBSTR", "k", "6", "10");
	EXPECT(NOTINT, "GETRANGE", "k", "a", "1");
	EXPECT(":11\r\n", "SETRANGE", "k", "6", "Redis");
	EXPECT("$11\r\nHello Redis\r\n", "GET", "k");
	EXPECT(":8\r\n", "SETRANGE", "z", "5", "abc");
	EXPECT("$8\r\n\0\0\0\0\0abc\r\n", "GET", "z");
	assert_memory_equal(reply, "$8\r\n\0\0\0\0\0abc\r\n", 15);
	EXPECT(":0\r\n", "SETRANGE", "empty", "3", "");
	EXPECT(":0\r\n", "EXISTS", "empty");
	EXPECT(":8\r\n", "SETRANGE", "z", "1", "");
	EXPECT("-ERR offset is out of range\r\n", "SETRANGE", "k", "-1", "x");
	EXPECT("-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n", "SETRANGE", "k",
	       "536870911", "xx");
	E.lim.proto_max_bulk_len = 12;
	EXPECT("-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n", "APPEND", "k",
	       "xx");
	R("SADD", "s", "a");
	EXPECT(WRONGTYPE, "APPEND", "s", "x");
	EXPECT(WRONGTYPE, "STRLEN", "s");
	EXPECT(WRONGTYPE, "GETRANGE", "s", "0", "1");
	EXPECT(WRONGTYPE, "SETRANGE", "s", "0", "x");
}

static void test_counters(void **state)
{
	(void)state;
	EXPECT(":1\r\n", "INCR", "c");
	EXPECT(":11\r\n", "INCRBY", "c", "10");
	EXPECT(":10\r\n", "DECR", "c");
	EXPECT(":-5\r\n", "DECRBY", "c", "15");
	R("SET", "c", "v", "EX", "100");
	EXPECT(NOTINT, "INCR", "c");
	R("SET", "c", "9223372036854775806", "EX", "100");
	EXPECT(":9223372036854775807\r\n", "INCR", "c");
	EXPECT("-ERR increment or decrement would overflow\r\n", "INCR", "c");
	EXPECT(":100\r\n", "TTL", "c"); /* INCR keeps the time to live */
	R("SET", "m", "-9223372036854775807");
	EXPECT(":-9223372036854775808\r\n", "DECR", "m");
	EXPECT("-ERR increment or decrement would overflow\r\n", "DECRBY", "m", "1");
	EXPECT("-ERR decrement would overflow\r\n", "DECRBY", "x", "-9223372036854775808");
	EXPECT(NOTINT, "INCRBY", "x", "1.5");
	R("SET", "sp", " 1");
	EXPECT(NOTINT, "INCR", "sp");
	R("HSET", "h", "f", "1");
	EXPECT(WRONGTYPE, "INCR", "h");
	EXPECT(WRONGTYPE, "INCRBYFLOAT", "h", "1");
}

static void test_incrbyfloat(void **state)
{
	(void)state;
	R("SET", "f", "10.50", "EX", "100");
	P();
	EXPECT("$4\r\n10.6\r\n", "INCRBYFLOAT", "f", "0.1");
	assert_string_equal(P(), "SET f 10.6 KEEPTTL\n");
	EXPECT(":100\r\n", "TTL", "f");
	EXPECT("$4\r\n5200\r\n", "INCRBYFLOAT", "g", "5.2e3");
	EXPECT("$6\r\nembstr\r\n", "OBJECT", "ENCODING", "g"); /* not int */
	EXPECT("-ERR value is not a valid float\r\n", "INCRBYFLOAT", "f", "abc");
	R("SET", "t", "text");
	EXPECT("-ERR value is not a valid float\r\n", "INCRBYFLOAT", "t", "1");
	R("SET", "big", "1e4932");
	EXPECT("-ERR increment would produce NaN or Infinity\r\n", "INCRBYFLOAT", "big", "1e4932");
	EXPECT("$6\r\n1e4932\r\n", "GET", "big");
	EXPECT("-ERR increment would produce NaN or Infinity\r\n", "INCRBYFLOAT", "f", "inf");
	EXPECT("-ERR value is not a valid float\r\n", "INCRBYFLOAT", "f", "nan");
	EXPECT("-ERR value is not a valid float\r\n", "INCRBYFLOAT", "f", " 1");
}

/* Redis computes INCRBYFLOAT in x87's long double and shows "%.17Lf"
 * trimmed: the replies below are redis-server 7.0's bytes. */
static void test_incrbyfloat_long_double(void **state)
{
	(void)state;
	R("SET", "k", "10.6");
	EXPECT("$22\r\n5010.60000000000000009\r\n", "INCRBYFLOAT", "k", "5.0e3");
	EXPECT("$22\r\n5010.60000000000000009\r\n", "GET", "k");
	R("SET", "k", "123456789012345678");
	EXPECT("$18\r\n123456789012345679\r\n", "INCRBYFLOAT", "k", "1");
	R("SET", "k", "1.23456789012345678901234567890");
	EXPECT("$19\r\n1.23456789012345679\r\n", "INCRBYFLOAT", "k", "0");
	R("SET", "k", "1");
	EXPECT("$2\r\n17\r\n", "INCRBYFLOAT", "k", "0x10"); /* strtold reads hex */
	R("SET", "k", "1e308");
	R("INCRBYFLOAT", "k", "1e308"); /* finite in a long double */
	EXPECT(":309\r\n", "STRLEN", "k");
	EXPECT("$3\r\n0.3\r\n", "INCRBYFLOAT", "z", "0.3");
}

static void test_mget_mset(void **state)
{
	(void)state;
	EXPECT(OK, "MSET", "a", "1", "b", "2");
	R("LPUSH", "l", "x");
	EXPECT("*4\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n$-1\r\n", "MGET", "a", "b", "c", "l");
	EXPECT("-ERR wrong number of arguments for 'mset' command\r\n", "MSET", "a", "1", "b");
	EXPECT(":0\r\n", "MSETNX", "c", "3", "a", "x");
	EXPECT(":0\r\n", "EXISTS", "c");
	EXPECT(":1\r\n", "MSETNX", "c", "3", "d", "4");
	EXPECT("$1\r\n4\r\n", "GET", "d");
	EXPECT("-ERR wrong number of arguments for 'msetnx' command\r\n", "MSETNX", "a", "1", "b");
	R("SET", "e", "v", "EX", "5");
	R("MSET", "e", "w");
	EXPECT(":-1\r\n", "TTL", "e");
}

static void test_lcs(void **state)
{
	(void)state;
	R("MSET", "key1", "ohmytext", "key2", "mynewtext");
	EXPECT("$6\r\nmytext\r\n", "LCS", "key1", "key2");
	EXPECT(":6\r\n", "LCS", "key1", "key2", "LEN");
	EXPECT("*4\r\n$7\r\nmatches\r\n*2\r\n"
	       "*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n"
	       "*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n"
	       "$3\r\nlen\r\n:6\r\n",
	       "LCS", "key1", "key2", "IDX");
	EXPECT("*4\r\n$7\r\nmatches\r\n*1\r\n"
	       "*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n"
	       "$3\r\nlen\r\n:6\r\n",
	       "LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN");
	EXPECT("$0\r\n\r\n", "LCS", "key1", "none");
	EXPECT("-ERR If you want both the length and indexes, please just use IDX.\r\n", "LCS",
	       "key1", "key2", "LEN", "IDX");
	EXPECT(SYNTAX, "LCS", "key1", "key2", "FOO");
	EXPECT(NOTINT, "LCS", "key1", "key2", "MINMATCHLEN", "x");
	R("LPUSH", "l", "x");
	EXPECT("-ERR The specified keys must contain string values\r\n", "LCS", "key1", "l");
	E.lim.proto_max_bulk_len = 20;
	EXPECT("-ERR Insufficient memory, transient memory for LCS exceeds "
	       "proto-max-bulk-len\r\n",
	       "LCS", "key1", "key2");
}

static void test_string_encoding(void **state)
{
	(void)state;
	char big[60];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	R("SET", "i", "12345");
	R("SET", "lead", "012");
	R("SET", "e", "hello");
	R("SET", "r", big);
	EXPECT("$3\r\nint\r\n", "OBJECT", "ENCODING", "i");
	EXPECT("$6\r\nembstr\r\n", "OBJECT", "ENCODING", "lead");
	EXPECT("$6\r\nembstr\r\n", "OBJECT", "encoding", "e");
	EXPECT("$3\r\nraw\r\n", "OBJECT", "ENCODING", "r");
	R("APPEND", "e", "!");
	EXPECT("$3\r\nraw\r\n", "OBJECT", "ENCODING", "e");
	R("INCR", "i");
	EXPECT("$3\r\nint\r\n", "OBJECT", "ENCODING", "i");
	EXPECT(NIL, "OBJECT", "ENCODING", "none");
	EXPECT("-ERR unknown subcommand 'foo'. Try OBJECT HELP.\r\n", "OBJECT", "foo", "i");
}

/* ---- the generic group ---- */

static void test_del_exists_type(void **state)
{
	(void)state;
	R("MSET", "a", "1", "b", "2");
	EXPECT(":3\r\n", "EXISTS", "a", "b", "a", "c");
	EXPECT(":2\r\n", "TOUCH", "a", "b", "c");
	EXPECT(":1\r\n", "DEL", "a", "c");
	EXPECT(":1\r\n", "UNLINK", "b", "b");
	EXPECT(":0\r\n", "EXISTS", "a", "b");
	EXPECT("+none\r\n", "TYPE", "a");
	R("RPUSH", "l", "x");
	R("SADD", "s", "x");
	R("HSET", "h", "f", "v");
	R("ZADD", "z", "1", "m");
	EXPECT("+list\r\n", "TYPE", "l");
	EXPECT("+set\r\n", "TYPE", "s");
	EXPECT("+hash\r\n", "TYPE", "h");
	EXPECT("+zset\r\n", "TYPE", "z");
}

static void test_keys_randomkey(void **state)
{
	(void)state;
	EXPECT("*0\r\n", "KEYS", "*");
	EXPECT(NIL, "RANDOMKEY");
	R("MSET", "hello", "1", "hallo", "2", "hxllo", "3", "world", "4");
	const char *r = R("KEYS", "h[ae]llo");
	assert_true(!strcmp(r, "*2\r\n$5\r\nhello\r\n$5\r\nhallo\r\n") ||
		    !strcmp(r, "*2\r\n$5\r\nhallo\r\n$5\r\nhello\r\n"));
	EXPECT("*1\r\n$5\r\nworld\r\n", "KEYS", "w*");
	R("PEXPIRE", "world", "10");
	E.now_ms += 11;
	EXPECT("*0\r\n", "KEYS", "w*"); /* past its time: not listed */
	R("DEL", "hello", "hallo", "hxllo");
	P();
	EXPECT(NIL, "RANDOMKEY"); /* world expired: deleted, then none left */
	assert_string_equal(P(), "DEL world\n");
	R("SET", "only", "1");
	EXPECT("$4\r\nonly\r\n", "RANDOMKEY");
}

/* Parse a SCAN reply: the next cursor, and each key into seen[]. */
static unsigned long long scan_parse(const char *r, char seen[][16], size_t *n)
{
	unsigned long long cur;
	int k, len, off;
	assert_int_equal(sscanf(r, "*2\r\n$%d\r\n%llu\r\n*%d\r\n%n", &len, &cur, &k, &off), 3);
	r += off;
	for (int i = 0; i < k; i++) {
		assert_int_equal(sscanf(r, "$%d\r\n%n", &len, &off), 1);
		r += off;
		assert_true(len < 16);
		memcpy(seen[*n], r, (size_t)len);
		seen[(*n)++][len] = 0;
		r += len + 2;
	}
	return cur;
}

static bool seen_has(char seen[][16], size_t n, const char *k)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(seen[i], k))
			return true;
	return false;
}

/* Every key present for the whole scan comes back, while the table grows
 * eightfold (grow = true) or shrinks (false) halfway through. */
static void scan_across_resize(bool grow)
{
	static char seen[8192][16];
	char k[16], cur[24] = "0";
	size_t n = 0;
	int steps = 0;
	for (int i = 0; i < 200; i++) {
		snprintf(k, sizeof(k), "key:%d", i);
		R("SET", k, "v");
	}
	for (int i = 0; grow == false && i < 1000; i++) {
		snprintf(k, sizeof(k), "tmp:%d", i);
		R("SET", k, "v");
	}
	do {
		unsigned long long c = scan_parse(R("SCAN", cur, "COUNT", "7"), seen, &n);
		snprintf(cur, sizeof(cur), "%llu", c);
		if (++steps == 5) {
			for (int i = 0; i < 1000; i++) {
				snprintf(k, sizeof(k), "tmp:%d", i);
				if (grow)
					R("SET", k, "v");
				else
					R("DEL", k);
			}
		}
	} while (strcmp(cur, "0") && steps < 10000);
	for (int i = 0; i < 200; i++) {
		snprintf(k, sizeof(k), "key:%d", i);
		assert_true(seen_has(seen, n, k));
	}
}

static void test_scan_grow(void **state)
{
	(void)state;
	scan_across_resize(true);
}

static void test_scan_shrink(void **state)
{
	(void)state;
	scan_across_resize(false);
}

static void test_scan_options(void **state)
{
	(void)state;
	EXPECT("*2\r\n$1\r\n0\r\n*0\r\n", "SCAN", "0");
	R("MSET", "a1", "1", "a2", "2", "b1", "3");
	R("RPUSH", "a3", "x");
	const char *r = R("SCAN", "0", "MATCH", "a*", "TYPE", "string", "COUNT", "100");
	assert_true(!strncmp(r, "*2\r\n$1\r\n0\r\n*2\r\n", 14));
	assert_non_null(strstr(r, "a1"));
	assert_non_null(strstr(r, "a2"));
	EXPECT("*2\r\n$1\r\n0\r\n*1\r\n$2\r\na3\r\n", "SCAN", "0", "TYPE", "LIST");
	EXPECT("-ERR invalid cursor\r\n", "SCAN", "x");
	/* strtoul's reading, as Redis 7.0 (these were "invalid cursor") */
	EXPECT("*2\r\n$1\r\n0\r\n*1\r\n$2\r\na3\r\n", "SCAN", "", "TYPE", "list");
	EXPECT("*2\r\n$1\r\n0\r\n*1\r\n$2\r\na3\r\n", "SCAN", "+0", "TYPE", "list");
	assert_true(!strncmp(R("SCAN", "-1"), "*2\r\n", 4));			/* 2^64 - 1 */
	assert_true(!strncmp(R("SCAN", "-18446744073709551615"), "*2\r\n", 4)); /* 1 */
	static const char *const bad[] = {
		" 0", "-", "+", "18446744073709551616", "-18446744073709551616", "1 ", "0x1"
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT("-ERR invalid cursor\r\n", "SCAN", bad[i]);
	EXPECT(NOTINT, "SCAN", "0", "COUNT", "x");
	EXPECT(SYNTAX, "SCAN", "0", "COUNT", "0");
	EXPECT(SYNTAX, "SCAN", "0", "MATCH");
	EXPECT(SYNTAX, "SCAN", "0", "FOO", "bar");
	R("PEXPIRE", "b1", "1");
	E.now_ms += 2;
	P();
	r = R("SCAN", "0", "COUNT", "100");
	assert_null(strstr(r, "b1"));
	assert_string_equal(P(), "DEL b1\n");
}

static void test_rename_copy(void **state)
{
	(void)state;
	EXPECT("-ERR no such key\r\n", "RENAME", "a", "b");
	EXPECT("-ERR no such key\r\n", "RENAMENX", "a", "b");
	R("SET", "a", "1", "EX", "100");
	EXPECT(OK, "RENAME", "a", "a");
	EXPECT(":0\r\n", "RENAMENX", "a", "a");
	EXPECT(OK, "RENAME", "a", "b");
	EXPECT(":100\r\n", "TTL", "b");
	EXPECT(":0\r\n", "EXISTS", "a");
	R("SET", "c", "3");
	EXPECT(":0\r\n", "RENAMENX", "b", "c");
	EXPECT(":1\r\n", "RENAMENX", "b", "d");
	EXPECT(OK, "RENAME", "d", "c");
	EXPECT("$1\r\n1\r\n", "GET", "c");
	EXPECT(":100\r\n", "TTL", "c");
	R("RPUSH", "l", "x", "y");
	EXPECT(":1\r\n", "COPY", "l", "l2");
	EXPECT(":0\r\n", "COPY", "l", "l2");
	R("RPUSH", "l", "z");
	EXPECT(":2\r\n", "LLEN", "l2"); /* a deep copy */
	EXPECT(":1\r\n", "COPY", "l", "c", "REPLACE");
	EXPECT(":-1\r\n", "TTL", "c");
	EXPECT(":3\r\n", "LLEN", "c");
	EXPECT(":0\r\n", "COPY", "none", "x");
	EXPECT("-ERR source and destination objects are the same\r\n", "COPY", "l", "l");
	EXPECT(":1\r\n", "COPY", "l", "l3", "DB", "0");
	EXPECT("-ERR DB index is out of range\r\n", "COPY", "l", "l4", "DB", "1");
	EXPECT(SYNTAX, "COPY", "l", "l4", "FOO");
	R("SADD", "s", "1", "2");
	R("HSET", "h", "f", "v");
	R("ZADD", "z", "1", "a", "2", "b");
	R("SET", "str", "v", "PX", "5000");
	EXPECT(":1\r\n", "COPY", "s", "s2");
	EXPECT(":1\r\n", "COPY", "h", "h2");
	EXPECT(":1\r\n", "COPY", "z", "z2");
	EXPECT(":1\r\n", "COPY", "str", "str2");
	EXPECT(":1\r\n", "SISMEMBER", "s2", "2");
	EXPECT("$1\r\nv\r\n", "HGET", "h2", "f");
	EXPECT("*2\r\n$1\r\na\r\n$1\r\nb\r\n", "ZRANGE", "z2", "0", "-1");
	EXPECT(":5000\r\n", "PTTL", "str2");
}

static void test_expire(void **state)
{
	(void)state;
	EXPECT(":0\r\n", "EXPIRE", "k", "10");
	R("SET", "k", "v");
	P();
	EXPECT(":1\r\n", "EXPIRE", "k", "10");
	assert_string_equal(P(), "PEXPIREAT k 1010000\n");
	EXPECT(":1\r\n", "PEXPIRE", "k", "20000");
	assert_string_equal(P(), "PEXPIREAT k 1020000\n");
	EXPECT(":1\r\n", "EXPIREAT", "k", "2000");
	assert_string_equal(P(), "PEXPIREAT k 2000000\n");
	EXPECT(":1\r\n", "PEXPIREAT", "k", "3000000");
	assert_string_equal(P(), "PEXPIREAT k 3000000\n");
	EXPECT(":0\r\n", "EXPIRE", "k", "10", "NX");
	EXPECT(":1\r\n", "EXPIRE", "k", "10", "XX");
	EXPECT(":0\r\n", "EXPIRE", "k", "5", "GT");
	EXPECT(":1\r\n", "EXPIRE", "k", "50", "GT");
	EXPECT(":0\r\n", "EXPIRE", "k", "60", "LT");
	EXPECT(":1\r\n", "EXPIRE", "k", "40", "lt");
	EXPECT(":40\r\n", "TTL", "k");
	EXPECT(":1\r\n", "PERSIST", "k");
	EXPECT(":0\r\n", "PERSIST", "k");
	EXPECT(":0\r\n", "PERSIST", "none");
	EXPECT(":0\r\n", "EXPIRE", "k", "10", "XX");
	EXPECT(":0\r\n", "EXPIRE", "k", "10", "GT"); /* no expiry counts as infinite */
	EXPECT(":1\r\n", "EXPIRE", "k", "10", "LT");
	EXPECT("-ERR NX and XX, GT or LT options at the same time are not compatible\r\n", "EXPIRE",
	       "k", "10", "NX", "XX");
	EXPECT("-ERR GT and LT options at the same time are not compatible\r\n", "EXPIRE", "k",
	       "10", "GT", "LT");
	EXPECT("-ERR Unsupported option FOO\r\n", "EXPIRE", "k", "10", "FOO");
	EXPECT(NOTINT, "EXPIRE", "k", "ten");
	EXPECT("-ERR invalid expire time in 'expire' command\r\n", "EXPIRE", "k",
	       "9223372036854775807");
	EXPECT("-ERR invalid expire time in 'pexpire' command\r\n", "PEXPIRE", "k",
	       "9223372036854775807");
	P();
	EXPECT(":1\r\n", "EXPIRE", "k", "-1"); /* already past: deleted */
	assert_string_equal(P(), "DEL k\n");
	EXPECT(":-2\r\n", "TTL", "k");
	EXPECT(":-2\r\n", "PTTL", "k");
	EXPECT(":-2\r\n", "EXPIRETIME", "k");
	R("SET", "k", "v");
	EXPECT(":-1\r\n", "PTTL", "k");
	EXPECT(":-1\r\n", "PEXPIRETIME", "k");
}

static void test_lazy_expiry(void **state)
{
	(void)state;
	R("SET", "k", "v", "PX", "100");
	P();
	E.now_ms += 100;
	EXPECT("$1\r\nv\r\n", "GET", "k"); /* at its time: not yet past it */
	E.now_ms += 1;
	EXPECT(NIL, "GET", "k");
	assert_string_equal(P(), "DEL k\n");
	assert_int_equal(E.stat_expired, 1);
	assert_int_equal(rs_db_size(E.db), 0);
	assert_int_equal(rs_db_expires(E.db), 0);
	R("RPUSH", "l", "a");
	R("PEXPIRE", "l", "5");
	E.now_ms += 6;
	P();
	EXPECT(":1\r\n", "RPUSH", "l", "b"); /* a new list */
	assert_string_equal(P(), "DEL l\nRPUSH l b\n");
}

static void test_active_expiry(void **state)
{
	(void)state;
	char k[16];
	for (int i = 0; i < 300; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		R("SET", k, "v", "PX", i % 2 ? "100" : "100000");
	}
	R("SET", "forever", "v");
	assert_int_equal(rs_db_expires(E.db), 300);
	E.now_ms += 101;
	size_t done = 0;
	for (int i = 0; i < 100 && done < 150; i++)
		done += rs_active_expire(&E, 20);
	assert_int_equal(done, 150);
	assert_int_equal(rs_db_size(E.db), 151);
	assert_int_equal(rs_db_expires(E.db), 150);
	assert_int_equal(rs_active_expire(&E, 1000), 0);
	assert_non_null(strstr(P(), "DEL k1\n"));
}

/* ---- lists ---- */

static void test_list(void **state)
{
	(void)state;
	EXPECT(":3\r\n", "RPUSH", "l", "a", "b", "c");
	EXPECT(":5\r\n", "LPUSH", "l", "y", "z"); /* z y a b c */
	EXPECT(":5\r\n", "LLEN", "l");
	EXPECT("*5\r\n$1\r\nz\r\n$1\r\ny\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n", "LRANGE", "l", "0",
	       "-1");
	EXPECT("*2\r\n$1\r\nb\r\n$1\r\nc\r\n", "LRANGE", "l", "-2", "100");
	EXPECT("*0\r\n", "LRANGE", "l", "3", "1");
	EXPECT("*0\r\n", "LRANGE", "none", "0", "-1");
	EXPECT("$1\r\nz\r\n", "LINDEX", "l", "0");
	EXPECT("$1\r\nc\r\n", "LINDEX", "l", "-1");
	EXPECT(NIL, "LINDEX", "l", "5");
	EXPECT(NOTINT, "LINDEX", "l", "x");
	EXPECT(NIL, "LINDEX", "none", "x"); /* the key is looked at first */
	EXPECT(OK, "LSET", "l", "-1", "C");
	EXPECT("-ERR index out of range\r\n", "LSET", "l", "5", "x");
	EXPECT("-ERR no such key\r\n", "LSET", "none", "0", "x");
	EXPECT("$1\r\nz\r\n", "LPOP", "l");
	EXPECT("$1\r\nC\r\n", "RPOP", "l");
	EXPECT("*2\r\n$1\r\nb\r\n$1\r\na\r\n", "RPOP", "l", "2");
	EXPECT("*0\r\n", "LPOP", "l", "0");
	EXPECT("*1\r\n$1\r\ny\r\n", "LPOP", "l", "10");
	EXPECT(":0\r\n", "EXISTS", "l"); /* emptied: deleted */
	EXPECT(NIL, "LPOP", "l");
	EXPECT("*-1\r\n", "LPOP", "l", "2");
	EXPECT("-ERR value is out of range, must be positive\r\n", "LPOP", "l", "-1");
	EXPECT("-ERR wrong number of arguments for 'lpop' command\r\n", "LPOP", "l", "1", "2");
	R("SET", "s", "v");
	EXPECT(WRONGTYPE, "LPUSH", "s", "a");
	EXPECT(WRONGTYPE, "LPOP", "s");
	EXPECT(WRONGTYPE, "LRANGE", "s", "0", "1");
	EXPECT(WRONGTYPE, "LLEN", "s");
	EXPECT(WRONGTYPE, "LSET", "s", "0", "a");
	EXPECT(WRONGTYPE, "LREM", "s", "0", "a");
	R("RPUSH", "q", "1");
	EXPECT("$9\r\nquicklist\r\n", "OBJECT", "ENCODING", "q");
}

static void test_lrem(void **state)
{
	(void)state;
	R("RPUSH", "l", "a", "b", "a", "c", "a", "b");
	EXPECT(":2\r\n", "LREM", "l", "-2", "a");
	EXPECT("*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nb\r\n", "LRANGE", "l", "0", "-1");
	EXPECT(":1\r\n", "LREM", "l", "1", "b");
	EXPECT("*3\r\n$1\r\na\r\n$1\r\nc\r\n$1\r\nb\r\n", "LRANGE", "l", "0", "-1");
	EXPECT(":0\r\n", "LREM", "l", "0", "zz");
	EXPECT(":0\r\n", "LREM", "none", "0", "a");
	R("LPUSH", "l", "x", "x"); /* the ring wraps: x x a c b */
	EXPECT(":2\r\n", "LREM", "l", "0", "x");
	EXPECT(":1\r\n", "LREM", "l", "-9223372036854775808", "c");
	EXPECT("*2\r\n$1\r\na\r\n$1\r\nb\r\n", "LRANGE", "l", "0", "-1");
	EXPECT(":1\r\n", "LREM", "l", "0", "a");
	EXPECT(":1\r\n", "LREM", "l", "0", "b");
	EXPECT(":0\r\n", "EXISTS", "l");
	EXPECT(NOTINT, "LREM", "l", "x", "a");
}

/* ---- sets ---- */

static void test_set(void **state)
{
	(void)state;
	EXPECT(":2\r\n", "SADD", "s", "1", "2", "2");
	EXPECT("$6\r\nintset\r\n", "OBJECT", "ENCODING", "s");
	EXPECT(":1\r\n", "SADD", "s", "x");
	EXPECT("$9\r\nhashtable\r\n", "OBJECT", "ENCODING", "s");
	EXPECT(":3\r\n", "SCARD", "s");
	EXPECT(":0\r\n", "SCARD", "none");
	EXPECT(":1\r\n", "SISMEMBER", "s", "x");
	EXPECT(":0\r\n", "SISMEMBER", "s", "y");
	EXPECT(":0\r\n", "SISMEMBER", "none", "y");
	EXPECT(":1\r\n", "SREM", "s", "x", "y");
	EXPECT("$9\r\nhashtable\r\n", "OBJECT", "ENCODING", "s"); /* never back */
	const char *r = R("SMEMBERS", "s");
	assert_true(!strcmp(r, "*2\r\n$1\r\n1\r\n$1\r\n2\r\n") ||
		    !strcmp(r, "*2\r\n$1\r\n2\r\n$1\r\n1\r\n"));
	/* an intset lists its members in numeric order */
	R("SADD", "i", "10", "-3", "7", "0", "100", "-20");
	EXPECT("*6\r\n$3\r\n-20\r\n$2\r\n-3\r\n$1\r\n0\r\n$1\r\n7\r\n$2\r\n10\r\n"
	       "$3\r\n100\r\n",
	       "SMEMBERS", "i");
	EXPECT("*0\r\n", "SMEMBERS", "none");
	EXPECT(":2\r\n", "SREM", "s", "1", "2");
	EXPECT(":0\r\n", "EXISTS", "s");
	R("SET", "str", "v");
	EXPECT(WRONGTYPE, "SADD", "str", "a");
	EXPECT(WRONGTYPE, "SREM", "str", "a");
	EXPECT(WRONGTYPE, "SCARD", "str");
	EXPECT(WRONGTYPE, "SMEMBERS", "str");
	EXPECT(WRONGTYPE, "SISMEMBER", "str", "a");
	EXPECT(WRONGTYPE, "SPOP", "str");
}

static void test_spop(void **state)
{
	(void)state;
	char m[24], needle[32], needle_end[32];
	EXPECT(NIL, "SPOP", "s");
	EXPECT("*0\r\n", "SPOP", "s", "3");
	R("SADD", "s", "a");
	P();
	EXPECT("$1\r\na\r\n", "SPOP", "s");
	assert_string_equal(P(), "SREM s a\n");
	EXPECT(":0\r\n", "EXISTS", "s");
	for (int i = 0; i < 50; i++) {
		snprintf(m, sizeof(m), "m%d", i);
		R("SADD", "s", m);
	}
	P();
	const char *r = R("SPOP", "s", "10");
	assert_true(!strncmp(r, "*10\r\n", 5));
	const char *p = P();
	assert_true(!strncmp(p, "SREM s m", 8));
	EXPECT(":40\r\n", "SCARD", "s");
	/* each popped member is gone, each propagated one is popped */
	for (int i = 0; i < 50; i++) {
		snprintf(m, sizeof(m), "m%d", i);
		bool popped = strcmp(R("SISMEMBER", "s", m), ":0\r\n") == 0;
		snprintf(needle, sizeof(needle), " %s ", m);
		snprintf(needle_end, sizeof(needle_end), " %s\n", m);
		assert_int_equal(popped,
				 strstr(p, needle) != NULL || strstr(p, needle_end) != NULL);
	}
	EXPECT("*0\r\n", "SPOP", "s", "0");
	r = R("SPOP", "s", "100");
	assert_true(!strncmp(r, "*40\r\n", 5));
	assert_string_equal(P(), "DEL s\n");
	EXPECT(":0\r\n", "EXISTS", "s");
	EXPECT("-ERR value is out of range, must be positive\r\n", "SPOP", "s", "-1");
	EXPECT(SYNTAX, "SPOP", "s", "1", "2");
}

/* ---- hashes ---- */

static void test_hash(void **state)
{
	(void)state;
	EXPECT(":2\r\n", "HSET", "h", "a", "1", "b", "2");
	EXPECT(":0\r\n", "HSET", "h", "a", "3");
	EXPECT("$1\r\n3\r\n", "HGET", "h", "a");
	EXPECT(NIL, "HGET", "h", "c");
	EXPECT(NIL, "HGET", "none", "c");
	EXPECT(":2\r\n", "HLEN", "h");
	EXPECT(":0\r\n", "HLEN", "none");
	/* a small hash lists its fields in the order they came, as a listpack */
	EXPECT("*4\r\n$1\r\na\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n", "HGETALL", "h");
	R("HSET", "o", "z", "1", "y", "2", "x", "3");
	R("HDEL", "o", "y");
	R("HSET", "o", "z", "9", "w", "4");
	EXPECT("*6\r\n$1\r\nz\r\n$1\r\n9\r\n$1\r\nx\r\n$1\r\n3\r\n$1\r\nw\r\n$1\r\n4\r\n",
	       "HGETALL", "o");
	EXPECT("*0\r\n", "HGETALL", "none");
	EXPECT("-ERR wrong number of arguments for 'hset' command\r\n", "HSET", "h", "a", "1", "b");
	EXPECT(":13\r\n", "HINCRBY", "h", "a", "10");
	EXPECT(":-5\r\n", "HINCRBY", "h", "new", "-5");
	EXPECT(":5\r\n", "HINCRBY", "h2", "f", "5");
	EXPECT(NOTINT, "HINCRBY", "h", "a", "x");
	R("HSET", "h", "t", "text", "max", "9223372036854775807");
	EXPECT("-ERR hash value is not an integer\r\n", "HINCRBY", "h", "t", "1");
	EXPECT("-ERR increment or decrement would overflow\r\n", "HINCRBY", "h", "max", "1");
	EXPECT("$8\r\nlistpack\r\n", "OBJECT", "ENCODING", "h");
	EXPECT(":2\r\n", "HDEL", "h", "a", "b", "zz");
	EXPECT(":0\r\n", "HDEL", "none", "a");
	EXPECT(":3\r\n", "HDEL", "h", "new", "t", "max");
	EXPECT(":0\r\n", "EXISTS", "h");
	char v[70];
	memset(v, 'v', sizeof(v) - 1);
	v[sizeof(v) - 1] = 0;
	R("HSET", "big", "f", v);
	EXPECT("$9\r\nhashtable\r\n", "OBJECT", "ENCODING", "big");
	R("SET", "str", "v");
	EXPECT(WRONGTYPE, "HSET", "str", "a", "1");
	EXPECT(WRONGTYPE, "HGET", "str", "a");
	EXPECT(WRONGTYPE, "HDEL", "str", "a");
	EXPECT(WRONGTYPE, "HGETALL", "str");
	EXPECT(WRONGTYPE, "HLEN", "str");
	EXPECT(WRONGTYPE, "HINCRBY", "str", "a", "1");
}

/* ---- sorted sets ---- */

static void test_zadd(void **state)
{
	(void)state;
	EXPECT(":3\r\n", "ZADD", "z", "1", "a", "2", "b", "3", "c");
	EXPECT(":0\r\n", "ZADD", "z", "5", "a");
	EXPECT("$1\r\n5\r\n", "ZSCORE", "z", "a");
	EXPECT(":1\r\n", "ZADD", "z", "CH", "6", "a", "2", "b");
	EXPECT(":0\r\n", "ZADD", "z", "NX", "9", "a");
	EXPECT(":1\r\n", "ZADD", "z", "NX", "9", "d");
	EXPECT(":0\r\n", "ZADD", "z", "XX", "9", "e");
	EXPECT(":0\r\n", "ZCARD", "ZZ");
	EXPECT(":4\r\n", "ZCARD", "z");
	EXPECT(":1\r\n", "ZADD", "z", "GT", "CH", "7", "a", "1", "b");
	EXPECT("$1\r\n7\r\n", "ZSCORE", "z", "a");
	EXPECT("$1\r\n2\r\n", "ZSCORE", "z", "b");
	EXPECT(":1\r\n", "ZADD", "z", "LT", "CH", "8", "a", "1", "b");
	EXPECT("$1\r\n1\r\n", "ZSCORE", "z", "b");
	EXPECT("$3\r\n8.5\r\n", "ZADD", "z", "INCR", "1.5", "a");
	EXPECT(NIL, "ZADD", "z", "INCR", "NX", "1", "a");
	EXPECT("$2\r\n10\r\n", "ZINCRBY", "z", "1.5", "a");
	EXPECT("$2\r\n-2\r\n", "ZINCRBY", "new", "-2", "m");
	EXPECT("$3\r\ninf\r\n", "ZADD", "z", "INCR", "+inf", "a");
	EXPECT("-ERR resulting score is not a number (NaN)\r\n", "ZINCRBY", "z", "-inf", "a");
	EXPECT(SYNTAX, "ZADD", "z", "1", "a", "2");
	EXPECT(SYNTAX, "ZADD", "z", "NX", "1");
	EXPECT("-ERR wrong number of arguments for 'zadd' command\r\n", "ZADD", "z", "1");
	EXPECT("-ERR XX and NX options at the same time are not compatible\r\n", "ZADD", "z", "NX",
	       "XX", "1", "a");
	EXPECT("-ERR GT, LT, and/or NX options at the same time are not compatible\r\n", "ZADD",
	       "z", "GT", "LT", "1", "a");
	EXPECT("-ERR INCR option supports a single increment-element pair\r\n", "ZADD", "z", "INCR",
	       "1", "a", "2", "b");
	EXPECT("-ERR value is not a valid float\r\n", "ZADD", "z", "x", "a");
	EXPECT("-ERR value is not a valid float\r\n", "ZADD", "z", "nan", "a");
	EXPECT("-ERR value is not a valid float\r\n", "ZINCRBY", "z", "x", "a");
	EXPECT(":0\r\n", "ZADD", "nokey", "XX", "1", "a");
	EXPECT(":0\r\n", "EXISTS", "nokey");
	EXPECT(NIL, "ZSCORE", "z", "none");
	EXPECT(NIL, "ZSCORE", "none", "a");
	EXPECT("$8\r\nlistpack\r\n", "OBJECT", "ENCODING", "z");
	R("SET", "str", "v");
	EXPECT(WRONGTYPE, "ZADD", "str", "1", "a");
	EXPECT(WRONGTYPE, "ZINCRBY", "str", "1", "a");
	EXPECT(WRONGTYPE, "ZSCORE", "str", "a");
	EXPECT(WRONGTYPE, "ZCARD", "str");
	EXPECT(WRONGTYPE, "ZRANGE", "str", "0", "1");
	EXPECT(WRONGTYPE, "ZPOPMIN", "str");
}

static void test_zrange_rank(void **state)
{
	(void)state;
	R("ZADD", "z", "1", "one", "2", "two", "3", "three", "2", "deux");
	EXPECT("*4\r\n$3\r\none\r\n$4\r\ndeux\r\n$3\r\ntwo\r\n$5\r\nthree\r\n", "ZRANGE", "z", "0",
	       "-1");
	EXPECT("*2\r\n$3\r\ntwo\r\n$5\r\nthree\r\n", "ZRANGE", "z", "-2", "10");
	EXPECT("*4\r\n$5\r\nthree\r\n$1\r\n3\r\n$3\r\ntwo\r\n$1\r\n2\r\n", "ZRANGE", "z", "0", "1",
	       "REV", "WITHSCORES");
	EXPECT("*0\r\n", "ZRANGE", "z", "3", "1");
	EXPECT("*0\r\n", "ZRANGE", "none", "0", "-1");
	EXPECT(NOTINT, "ZRANGE", "z", "a", "1");
	EXPECT("-ERR syntax error, LIMIT is only supported in combination with either BYSCORE "
	       "or BYLEX\r\n",
	       "ZRANGE", "z", "0", "1", "LIMIT", "0", "1");
	EXPECT(SYNTAX, "ZRANGE", "z", "0", "1", "FOO");
	EXPECT(SYNTAX, "ZRANGE", "z", "0", "1", "REV", "REV");
}

static void test_zrange_score_lex(void **state)
{
	(void)state;
	R("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d");
	EXPECT("*2\r\n$1\r\nb\r\n$1\r\nc\r\n", "ZRANGE", "z", "2", "3", "BYSCORE");
	EXPECT("*1\r\n$1\r\nc\r\n", "ZRANGE", "z", "(2", "3", "BYSCORE");
	EXPECT("*4\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n", "ZRANGE", "z", "(4", "2",
	       "BYSCORE", "REV", "WITHSCORES");
	EXPECT("*2\r\n$1\r\nb\r\n$1\r\nc\r\n", "ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT",
	       "1", "2");
	EXPECT("*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n", "ZRANGE", "z", "-inf", "+inf", "BYSCORE",
	       "LIMIT", "1", "-1");
	EXPECT("*0\r\n", "ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "-1", "2");
	EXPECT("*0\r\n", "ZRANGE", "z", "5", "+inf", "BYSCORE");
	EXPECT("-ERR min or max is not a float\r\n", "ZRANGE", "z", "x", "1", "BYSCORE");
	EXPECT("-ERR min or max is not a float\r\n", "ZRANGE", "z", "(nan", "1", "BYSCORE");
	R("ZADD", "l", "0", "a", "0", "b", "0", "c", "0", "d");
	EXPECT("*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n", "ZRANGE", "l", "-", "[c", "BYLEX");
	EXPECT("*2\r\n$1\r\nb\r\n$1\r\nc\r\n", "ZRANGE", "l", "(a", "(d", "BYLEX");
	EXPECT("*2\r\n$1\r\nd\r\n$1\r\nc\r\n", "ZRANGE", "l", "+", "[b", "BYLEX", "REV", "LIMIT",
	       "0", "2");
	EXPECT("*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n", "ZRANGE", "l", "-", "+",
	       "BYLEX");
	EXPECT("-ERR min or max not valid string range item\r\n", "ZRANGE", "l", "a", "+", "BYLEX");
	EXPECT("-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n",
	       "ZRANGE", "l", "-", "+", "BYLEX", "WITHSCORES");
}

static void test_zpopmin(void **state)
{
	(void)state;
	EXPECT("*0\r\n", "ZPOPMIN", "z");
	R("ZADD", "z", "1", "a", "2", "b", "3", "c");
	EXPECT("*2\r\n$1\r\na\r\n$1\r\n1\r\n", "ZPOPMIN", "z");
	EXPECT("*0\r\n", "ZPOPMIN", "z", "0");
	EXPECT("*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n", "ZPOPMIN", "z", "10");
	EXPECT(":0\r\n", "EXISTS", "z");
	EXPECT("-ERR value is out of range, must be positive\r\n", "ZPOPMIN", "z", "-1");
	EXPECT(SYNTAX, "ZPOPMIN", "z", "1", "2");
}

/* A pop's count that is not an integer gets the same error as a negative
 * one (Redis' getPositiveLongFromObjectOrReply). */
static void test_pop_count_not_integer(void **state)
{
	(void)state;
	static const char *const cmds[] = { "LPOP", "RPOP", "SPOP", "ZPOPMIN" };
	static const char *const counts[] = { "abc", "1.5", "", "-1", "99999999999999999999" };
	R("RPUSH", "k", "a");
	for (size_t i = 0; i < 4; i++)
		for (size_t j = 0; j < 5; j++)
			EXPECT("-ERR value is out of range, must be positive\r\n", cmds[i], "k",
			       counts[j]);
}

/* ZRANGE BYSCORE's bounds are read with strtod as zslParseRange does;
 * ZADD's scores with string2d (hex too). Replies: redis-server 7.0's. */
static void test_zrange_score_bounds(void **state)
{
	(void)state;
	R("ZADD", "z", "1", "a", "2", "b", "3", "c");
	EXPECT("*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n", "ZRANGE", "z", "(", "3", "BYSCORE");
	EXPECT("*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n", "ZRANGE", "z", "", "3", "BYSCORE");
	EXPECT("*2\r\n$1\r\nb\r\n$1\r\nc\r\n", "ZRANGE", "z", " 2", "3", "BYSCORE");
	EXPECT("*2\r\n$1\r\nb\r\n$1\r\nc\r\n", "ZRANGE", "z", "0x2", "3", "BYSCORE");
	EXPECT("*2\r\n$1\r\na\r\n$1\r\nb\r\n", "ZRANGE", "z", "-1e400", "(0x1.8p1", "BYSCORE");
	EXPECT("*0\r\n", "ZRANGE", "z", "1e400", "3", "BYSCORE");
	EXPECT("-ERR min or max is not a float\r\n", "ZRANGE", "z", "2 ", "3", "BYSCORE");
	EXPECT("-ERR min or max is not a float\r\n", "ZRANGE", "z", " ", "3", "BYSCORE");
	EXPECT("-ERR min or max is not a float\r\n", "ZRANGE", "z", "nan", "3", "BYSCORE");
	EXPECT("-ERR min or max is not a float\r\n", "ZRANGE", "z", "1", "(-nan", "BYSCORE");
	EXPECT(":1\r\n", "ZADD", "z", "0x10", "d");
	EXPECT("$2\r\n16\r\n", "ZSCORE", "z", "d");
	EXPECT(":1\r\n", "ZADD", "z", "-0X1P-2", "e");
	EXPECT("$5\r\n-0.25\r\n", "ZSCORE", "z", "e");
	EXPECT("-ERR value is not a valid float\r\n", "ZADD", "z", "0x", "f");
	EXPECT("-ERR value is not a valid float\r\n", "ZADD", "z", "0x1p", "f");
	EXPECT("-ERR value is not a valid float\r\n", "ZADD", "z", "1e400", "f");
	EXPECT("-ERR value is not a valid float\r\n", "ZADD", "z", "1e-400", "f");
	EXPECT("-ERR value is not a valid float\r\n", "ZADD", "z", " 1", "f");
}

/* A small zset (Redis' listpack) keeps a whole score as an integer, so -0
 * reads back as 0; a skiplist keeps -0. The reply to ZINCRBY is the sum. */
static void test_zset_negative_zero(void **state)
{
	(void)state;
	EXPECT(":1\r\n", "ZADD", "z", "-0", "a");
	EXPECT("$1\r\n0\r\n", "ZSCORE", "z", "a");
	EXPECT("$2\r\n-0\r\n", "ZINCRBY", "y", "-0", "a");
	EXPECT("$1\r\n0\r\n", "ZSCORE", "y", "a");
	char m[80];
	memset(m, 'm', sizeof(m) - 1);
	m[sizeof(m) - 1] = 0;
	EXPECT(":1\r\n", "ZADD", "z", "-0", m); /* too long for a listpack */
	EXPECT("$8\r\nskiplist\r\n", "OBJECT", "ENCODING", "z");
	EXPECT("$2\r\n-0\r\n", "ZSCORE", "z", m);
	EXPECT("$1\r\n0\r\n", "ZSCORE", "z", "a");
}

/* Ranks stay right through many random inserts and score moves: the
 * skiplist against a sorted model. */
static int score[200];

static int by_score(const void *a, const void *b)
{
	int i = *(const int *)a, j = *(const int *)b;
	return score[i] != score[j] ? score[i] - score[j] : i - j; /* members sort as i */
}

static void test_zset_model(void **state)
{
	(void)state;
	char m[16], sc[32], a[16], want[64];
	int order[200], n = 0;
	uint64_t r = 7;
	for (int i = 0; i < 200; i++)
		score[i] = -1;
	for (int step = 0; step < 3000; step++) {
		r ^= r << 13, r ^= r >> 7, r ^= r << 17;
		int i = (int)(r % 200);
		snprintf(m, sizeof(m), "m%03d", i);
		if ((r >> 20) % 3 == 0) {
			R("ZINCRBY", "z", "1", m);
			score[i] = score[i] < 0 ? 1 : score[i] + 1;
		} else {
			score[i] = (int)((r >> 40) % 50);
			snprintf(sc, sizeof(sc), "%d", score[i]);
			R("ZADD", "z", sc, m);
		}
	}
	for (int i = 0; i < 200; i++)
		if (score[i] >= 0)
			order[n++] = i;
	qsort(order, (size_t)n, sizeof(order[0]), by_score);
	snprintf(want, sizeof(want), ":%d\r\n", n);
	EXPECT(want, "ZCARD", "z");
	for (int k = 0; k < n; k++) {
		snprintf(a, sizeof(a), "%d", k);
		snprintf(want, sizeof(want), "*1\r\n$4\r\nm%03d\r\n", order[k]);
		EXPECT(want, "ZRANGE", "z", a, a);
		snprintf(a, sizeof(a), "%d", -1 - k);
		snprintf(want, sizeof(want), "*1\r\n$4\r\nm%03d\r\n", order[n - 1 - k]);
		EXPECT(want, "ZRANGE", "z", a, a);
	}
	for (int k = 0; k < n; k++) {
		snprintf(want, sizeof(want), "*2\r\n$4\r\nm%03d\r\n", order[k]);
		assert_true(!strncmp(R("ZPOPMIN", "z"), want, strlen(want)));
	}
	EXPECT(":0\r\n", "EXISTS", "z");
}

static void test_zset_encoding(void **state)
{
	(void)state;
	char m[24];
	for (int i = 0; i < 128; i++) {
		snprintf(m, sizeof(m), "m%d", i);
		R("ZADD", "z", "1", m);
	}
	EXPECT("$8\r\nlistpack\r\n", "OBJECT", "ENCODING", "z");
	R("ZADD", "z", "1", "one-more");
	EXPECT("$8\r\nskiplist\r\n", "OBJECT", "ENCODING", "z");
	for (int i = 0; i < 513; i++) {
		snprintf(m, sizeof(m), "%d", i);
		R("SADD", "s", m);
	}
	EXPECT("$9\r\nhashtable\r\n", "OBJECT", "ENCODING", "s");
	/* hash-max-listpack-entries is 512 in Redis 7.0 (was taken as 128) */
	for (int i = 0; i < 512; i++) {
		snprintf(m, sizeof(m), "f%d", i);
		R("HSET", "h", m, "v");
	}
	EXPECT("$8\r\nlistpack\r\n", "OBJECT", "ENCODING", "h");
	const char *all = R("HGETALL", "h"); /* in the order the fields came */
	assert_true(!strncmp(all, "*1024\r\n$2\r\nf0\r\n$1\r\nv\r\n$2\r\nf1\r\n", 26));
	assert_non_null(strstr(all, "$4\r\nf510\r\n$1\r\nv\r\n$4\r\nf511\r\n$1\r\nv\r\n"));
	R("HSET", "h", "f512", "v");
	EXPECT("$9\r\nhashtable\r\n", "OBJECT", "ENCODING", "h");
}

/* OBJECT REFCOUNT and FREQ as redis-server 7.0 answers them: a string
 * command stores an integer 0..9999 as one shared object, COPY makes its
 * own; FREQ needs an LFU policy. */
static void test_object_refcount_freq(void **state)
{
	(void)state;
#define SHARED ":2147483647\r\n"
	R("SET", "r1", "5");
	EXPECT(SHARED, "OBJECT", "REFCOUNT", "r1");
	R("COPY", "r1", "r2");
	EXPECT(":1\r\n", "OBJECT", "REFCOUNT", "r2");
	EXPECT("$3\r\nint\r\n", "OBJECT", "ENCODING", "r2");
	R("RENAME", "r1", "r6");
	EXPECT(SHARED, "OBJECT", "refcount", "r6");
	R("SET", "r3", "10000");
	R("SET", "r4", "-1");
	R("SET", "r5", "0005");
	EXPECT(":1\r\n", "OBJECT", "REFCOUNT", "r3");
	EXPECT(":1\r\n", "OBJECT", "REFCOUNT", "r4");
	EXPECT(":1\r\n", "OBJECT", "REFCOUNT", "r5");
	R("INCR", "r4");
	EXPECT(SHARED, "OBJECT", "REFCOUNT", "r4");
	R("APPEND", "r7", "7");
	R("MSET", "r8", "8");
	EXPECT(SHARED, "OBJECT", "REFCOUNT", "r7");
	EXPECT(SHARED, "OBJECT", "REFCOUNT", "r8");
	R("RPUSH", "l", "a");
	EXPECT(":1\r\n", "OBJECT", "REFCOUNT", "l");
	EXPECT(NIL, "OBJECT", "REFCOUNT", "nokey");
	EXPECT(NIL, "OBJECT", "FREQ", "nokey");
	EXPECT("-ERR An LFU maxmemory policy is not selected, access frequency not tracked. "
	       "Please note that when switching between policies at runtime LRU and LFU data "
	       "will take some time to adjust.\r\n",
	       "OBJECT", "FREQ", "l");
	EXPECT("-ERR wrong number of arguments for 'object|refcount' command\r\n", "OBJECT",
	       "REFCOUNT");
	EXPECT("-ERR wrong number of arguments for 'object|freq' command\r\n", "OBJECT", "freq",
	       "a", "b");
#undef SHARED
}

/* ---- out of memory: an error, nothing lost, nothing leaked ---- */

static void test_oom(void **state)
{
	(void)state;
	R("SET", "k", "v");
	R("RPUSH", "l", "a");
	static const char *const cmds[][6] = {
		{ "SET", "n", "v", NULL },
		{ "SET", "k", "w", "EX", "10", NULL },
		{ "APPEND", "k", "xyz", NULL },
		{ "RPUSH", "l", "b", "c", NULL },
		{ "SADD", "s", "a", "b", NULL },
		{ "HSET", "h", "f", "v", NULL },
		{ "ZADD", "z", "1", "a", NULL },
		{ "COPY", "l", "l2", NULL },
		{ "SCAN", "0", NULL },
		{ "LCS", "k", "k", NULL },
		{ "EXPIRE", "k", "100", NULL },
		{ "INCRBYFLOAT", "n2", "1.5", NULL },
		{ "RENAME", "k", "k3", NULL },
		{ "SETRANGE", "k", "100", "x", NULL },
		{ "HINCRBY", "h2", "f", "1", NULL },
	};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		for (long after = 0; after < 6; after++) {
			rs_host_fail_after = after;
			const char *const *a = cmds[i];
			const char *r = run(a[0], a[1], a[2], a[3], a[4], a[5]);
			rs_host_fail_after = -1;
			assert_true(r[0] != 0);
			EXPECT("$1\r\na\r\n", "LINDEX", "l", "0"); /* still there */
		}
	}
}

/* ---- out of memory in the middle of a write of many items ---- */

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char dump_buf[1 << 16];
static size_t dump_len;

static int dump_emit(void *ctx, const uint8_t *resp, size_t n)
{
	(void)ctx;
	assert_true(dump_len + n < sizeof(dump_buf));
	memcpy(dump_buf + dump_len, resp, n);
	dump_len += n;
	return 0;
}

/* The keyspace, canonical: rs_db_rewrite's commands one a line, SADD's
 * members sorted (a set's order is its table's), the lines sorted. */
static void dump(char *out, size_t cap)
{
	char *lines[256], *p;
	size_t nl = 0, o = 0;
	dump_len = 0;
	assert_int_equal(rs_db_rewrite(&E, dump_emit, NULL), 0);
	dump_buf[dump_len] = 0;
	for (p = dump_buf; *p == '*' && nl < 256;) {
		long argc = strtol(p + 1, &p, 10);
		char *args[64], *line = malloc(4096);
		size_t l = 0;
		p += 2;
		for (long i = 0; i < argc; i++) {
			long n = strtol(p + 1, &p, 10);
			args[i] = p + 2;
			p += 2 + n;
			*p = 0;
			p += 2;
		}
		if (strcmp(args[0], "SADD") == 0)
			qsort(args + 2, (size_t)argc - 2, sizeof(args[0]), cmp_line);
		for (long i = 0; i < argc; i++)
			l += (size_t)snprintf(line + l, 4096 - l, "%s ", args[i]);
		lines[nl++] = line;
	}
	qsort(lines, nl, sizeof(lines[0]), cmp_line);
	for (size_t i = 0; i < nl; i++) {
		o += (size_t)snprintf(out + o, cap - o, "%s\n", lines[i]);
		free(lines[i]);
	}
}

static void fresh_engine(void)
{
	teardown(NULL); /* which checks that nothing leaked, at every failure point */
	setup(NULL);
	R("SET", "a", "1");
	R("RPUSH", "l", "x");
	R("SADD", "s", "m0");
	R("HSET", "h", "f0", "v0");
	R("ZADD", "z", "0", "m0");
	/* the parser's argument vector grows to 16 now, not under the test */
	R("DEL", "x", "x", "x", "x", "x", "x", "x", "x", "x", "x", "x", "x", "x", "x", "x");
	P();
}

/* Run what was propagated (one command a line, arguments without
 * spaces) on the current engine. */
static void replay(char *cmds)
{
	for (char *line = strtok(cmds, "\n"); line; line = strtok(NULL, "\n")) {
		const char *args[64];
		size_t n = 0;
		for (char *save, *a = strtok_r(line, " ", &save); a; a = strtok_r(NULL, " ", &save))
			args[n++] = a;
		run_array(args, n);
	}
}

/*
 * A write of many items that runs out of memory part way has applied the
 * items before the failure: what it propagates must rebuild exactly that
 * (before, its whole argv went to the log and a replay applied more).
 * Every failure point of each command: the keyspace after it, and after
 * replaying what it propagated on the same start, must be the same.
 */
static void test_oom_partial_propagation(void **state)
{
	(void)state;
	static const char *const cmds[][12] = {
		{ "MSET", "a", "2", "b", "2", "c", "3", "d", "4", NULL },
		{ "MSETNX", "n1", "1", "n2", "2", "n3", "3", NULL },
		{ "HSET", "h", "f1", "v1", "f2", "v2", "f3", "v3", NULL },
		{ "HSET", "hn", "f1", "v1", "f2", "v2", "f3", "v3", NULL },
		{ "SADD", "s", "m1", "m0", "m2", "m3", "m4", NULL },
		{ "SADD", "sn", "m1", "m2", "m3", NULL },
		{ "RPUSH", "l", "a", "b", "c", "d", NULL },
		{ "LPUSH", "ln", "a", "b", "c", NULL },
		{ "ZADD", "z", "1", "m1", "2", "m2", "3", "m3", NULL },
		{ "ZADD", "z", "NX", "CH", "1", "m0", "2", "m4", "3", "m5", NULL },
		{ "ZADD", "zn", "1", "a", "2", "b", "3", "c", NULL },
		{ "HINCRBY", "hn", "f", "1", NULL },
	};
	static char after_run[1 << 14], after_replay[1 << 14], props[1 << 14];
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		size_t n = 0;
		while (cmds[i][n])
			n++;
		bool oom = true;
		for (long after = 0; oom && after < 40; after++) {
			fresh_engine();
			rs_host_fail_after = after;
			const char *r = run_array(cmds[i], n);
			rs_host_fail_after = -1;
			oom = strcmp(r, OOM) == 0;
			dump(after_run, sizeof(after_run));
			snprintf(props, sizeof(props), "%s", P());
			static char work[sizeof(props)];
			memcpy(work, props, sizeof(work));
			fresh_engine();
			replay(work);
			dump(after_replay, sizeof(after_replay));
			if (strcmp(after_run, after_replay) != 0)
				fail_msg(
				    "%s, allocation %ld fails: propagated\n%sthe run left\n%sthe "
				    "replay\n%s",
				    cmds[i][0], after, props, after_run, after_replay);
		}
		assert_false(oom); /* 40 allocations are enough for any of these */
	}
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_get_set),
		T(test_set_expire),
		T(test_getset_getdel_getex),
		T(test_append_strlen_ranges),
		T(test_counters),
		T(test_incrbyfloat),
		T(test_incrbyfloat_long_double),
		T(test_mget_mset),
		T(test_lcs),
		T(test_string_encoding),
		T(test_del_exists_type),
		T(test_keys_randomkey),
		T(test_scan_grow),
		T(test_scan_shrink),
		T(test_scan_options),
		T(test_rename_copy),
		T(test_expire),
		T(test_lazy_expiry),
		T(test_active_expiry),
		T(test_list),
		T(test_lrem),
		T(test_set),
		T(test_spop),
		T(test_hash),
		T(test_zadd),
		T(test_zrange_rank),
		T(test_zrange_score_lex),
		T(test_zpopmin),
		T(test_pop_count_not_integer),
		T(test_zrange_score_bounds),
		T(test_zset_negative_zero),
		T(test_zset_model),
		T(test_zset_encoding),
		T(test_object_refcount_freq),
		T(test_oom),
		T(test_oom_partial_propagation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
