/*
 * Unit tests for tools/respwire.c, respcheck's RESP2 codec: every reply
 * type, replies cut at every byte (incomplete, never misread), malformed
 * and hostile input (refused), and command encoding.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "respwire.h"

static long parse(const char *s, struct resp_reply *r)
{
	return resp_parse(s, strlen(s), r);
}

static void test_types(void **state)
{
	struct resp_reply r;

	(void)state;
	assert_int_equal(parse("+OK\r\n", &r), 5);
	assert_true(resp_is(&r, RESP_SIMPLE, "OK"));
	assert_int_equal(parse("-ERR unknown command\r\n", &r), 22);
	assert_true(resp_is(&r, RESP_ERROR, "ERR unknown command"));
	assert_int_equal(parse(":-42\r\n", &r), 6);
	assert_int_equal(r.type, RESP_INT);
	assert_int_equal(r.n, -42);
	assert_int_equal(parse("$5\r\nhe\r\no\r\n", &r), 11);
	assert_int_equal(r.type, RESP_BULK);
	assert_int_equal(r.len, 5);
	assert_memory_equal(r.s, "he\r\no", 5);
	assert_int_equal(parse("$0\r\n\r\n", &r), 6);
	assert_true(resp_is(&r, RESP_BULK, ""));
	assert_int_equal(parse("$-1\r\n", &r), 5);
	assert_int_equal(r.type, RESP_NIL);
	assert_int_equal(parse("*-1\r\n", &r), 5);
	assert_int_equal(r.type, RESP_NIL);
	assert_int_equal(parse("*2\r\n$1\r\na\r\n:1\r\n", &r), 4);
	assert_int_equal(r.type, RESP_ARRAY);
	assert_int_equal(r.n, 2);
	assert_false(resp_is(&r, RESP_SIMPLE, "OK"));
}

/* Every proper prefix of a reply is incomplete, for parse and whole. */
static void test_prefixes(void **state)
{
	const char *all[] = { "+PONG\r\n",
			      ":1000\r\n",
			      "$3\r\nabc\r\n",
			      "$-1\r\n",
			      "*3\r\n$1\r\na\r\n*1\r\n:2\r\n$-1\r\n",
			      "*0\r\n" };
	struct resp_reply r;

	(void)state;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		size_t n = strlen(all[i]);

		assert_int_equal(resp_whole(all[i], n), (long)n);
		for (size_t k = 0; k < n; k++)
			assert_int_equal(resp_whole(all[i], k), 0);
		assert_true(resp_parse(all[i], n, &r) > 0);
	}
}

static void test_malformed(void **state)
{
	const char *bad[] = { "?x\r\n",
			      "\r\n",
			      ":12a\r\n",
			      ":\r\n",
			      "$3\r\nabcd\r\n",
			      "$x\r\n",
			      "$-2\r\n",
			      "*-2\r\n",
			      "+OK\n",
			      "+O\rK\r\n",
			      ":99999999999999999999\r\n",
			      "$99999999\r\n" };
	struct resp_reply r;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i], &r), -1);
		assert_int_equal(resp_whole(bad[i], strlen(bad[i])), -1);
	}
}

/* Nesting past RESP_MAX_DEPTH is refused, not recursed into. */
static void test_deep(void **state)
{
	char buf[4096] = "";

	(void)state;
	for (int i = 0; i < 100; i++)
		strcat(buf, "*1\r\n");
	strcat(buf, ":1\r\n");
	assert_int_equal(resp_whole(buf, strlen(buf)), -1);
	assert_int_equal(resp_whole("*1\r\n*1\r\n:1\r\n", 12), 12);
}

/* Random bytes: never a crash, never a length past the input. */
static void test_garbage(void **state)
{
	char buf[64];
	struct resp_reply r;

	(void)state;
	srand(7);
	for (int i = 0; i < 200000; i++) {
		size_t n = (size_t)(rand() % (int)sizeof(buf));

		for (size_t k = 0; k < n; k++)
			buf[k] = "+-:$*\r\n0123-ab"[rand() % 15];
		assert_true(resp_parse(buf, n, &r) <= (long)n);
		assert_true(resp_whole(buf, n) <= (long)n);
	}
}

static void test_command(void **state)
{
	const char *argv[] = { "SET", "k", "" };
	char out[64];

	(void)state;
	assert_int_equal(resp_command(out, sizeof(out), 3, argv), 26);
	assert_memory_equal(out, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n", 26);
	assert_int_equal(resp_command(out, 10, 3, argv), 0);
	assert_int_equal(resp_command(out, 25, 3, argv), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types),	  cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_malformed), cmocka_unit_test(test_deep),
		cmocka_unit_test(test_garbage),	  cmocka_unit_test(test_command),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
