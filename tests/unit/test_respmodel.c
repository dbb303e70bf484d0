/*
 * Unit tests for tools/respmodel.c, respcheck's judge: which replies are
 * right for a counter, a register and a list, given what was acknowledged
 * and what is ambiguous (a request whose connection broke); and the
 * end-of-run read-back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "respmodel.h"

/* Send op (whatever the cycle says), as the client would. */
static void send_op(struct rm_conn *c, enum rm_op op)
{
	char out[512];

	c->next = op;
	assert_true(rm_request(c, out, sizeof(out)) > 0);
}

/* The verdict on the RESP text wire as the reply to op. */
static enum rm_verdict answer(struct rm_conn *c, enum rm_op op, const char *wire)
{
	struct resp_reply r;

	send_op(c, op);
	assert_int_equal(resp_parse(wire, strlen(wire), &r), (long)strlen(wire));
	return rm_reply(c, &r);
}

/* The bulk "$N\r\nTAG-<ch><k>\r\n" for conn c. */
static const char *bulk(const struct rm_conn *c, char ch, unsigned long long k)
{
	static char buf[4][128];
	static int i;
	char v[96];

	snprintf(v, sizeof(v), "%s-%c%llu", c->tag, ch, k);
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "$%zu\r\n%s\r\n", strlen(v), v);
	return buf[i];
}

static void test_cycle(void **state)
{
	struct rm_conn c;
	char out[512];

	(void)state;
	rm_init(&c, "T", 0);
	assert_int_equal(rm_request(&c, out, sizeof(out)), 28);
	assert_memory_equal(out, "*2\r\n$4\r\nINCR\r\n$8\r\nrc:T-0:n\r\n", 28);
	assert_int_equal(rm_reply(&c, &(struct resp_reply){ .type = RESP_INT, .n = 1 }), RM_OK);
	assert_int_equal(c.next, RM_SET);
	assert_int_equal(answer(&c, RM_SET, "+OK\r\n"), RM_OK);
	assert_int_equal(c.next, RM_GET);
	assert_int_equal(answer(&c, RM_GET, bulk(&c, 'v', 1)), RM_OK);
	assert_int_equal(answer(&c, RM_RPUSH, ":1\r\n"), RM_OK);
	assert_int_equal(c.next, RM_LPOP);
	assert_int_equal(answer(&c, RM_LPOP, bulk(&c, 'l', 2)), RM_OK);
	assert_int_equal(c.next, RM_INCR);
	assert_int_equal(answer(&c, RM_LPOP, "$-1\r\n"), RM_OK);
}

static void test_incr(void **state)
{
	struct rm_conn c;

	(void)state;
	rm_init(&c, "T", 1);
	assert_int_equal(answer(&c, RM_INCR, ":1\r\n"), RM_OK);
	send_op(&c, RM_INCR);
	rm_broken(&c);
	assert_int_equal(c.next, RM_INCR);
	assert_int_equal(answer(&c, RM_INCR, ":3\r\n"), RM_OK); /* the broken one happened */
	send_op(&c, RM_INCR);
	rm_broken(&c);
	assert_int_equal(answer(&c, RM_INCR, ":4\r\n"), RM_OK); /* it did not */
	assert_int_equal(answer(&c, RM_INCR, ":4\r\n"), RM_LOST);
	assert_int_equal(answer(&c, RM_INCR, ":6\r\n"), RM_DUP);
	assert_int_equal(answer(&c, RM_INCR, "+OK\r\n"), RM_WRONG);
	assert_int_equal(answer(&c, RM_INCR, "-ERR no\r\n"), RM_ERROR);
	assert_int_equal(c.incr_ok, 5);
	assert_int_equal(c.incr_amb, 2);
}

static void test_register(void **state)
{
	struct rm_conn c;

	(void)state;
	rm_init(&c, "T", 2);
	assert_int_equal(answer(&c, RM_GET, "$-1\r\n"), RM_OK);
	assert_int_equal(answer(&c, RM_SET, "+OK\r\n"), RM_OK); /* v1 */
	send_op(&c, RM_SET);					/* v2, broken */
	rm_broken(&c);
	assert_int_equal(c.next, RM_GET);
	assert_int_equal(answer(&c, RM_GET, bulk(&c, 'v', 1)), RM_OK);
	send_op(&c, RM_SET); /* v3, broken */
	rm_broken(&c);
	assert_int_equal(answer(&c, RM_GET, bulk(&c, 'v', 3)), RM_OK);
	assert_int_equal(answer(&c, RM_GET, bulk(&c, 'v', 1)), RM_LOST);
	assert_int_equal(answer(&c, RM_GET, bulk(&c, 'v', 9)), RM_WRONG);
	assert_int_equal(answer(&c, RM_GET, "$-1\r\n"), RM_LOST);
	assert_int_equal(answer(&c, RM_GET, "$5\r\nhello\r\n"), RM_WRONG);
	assert_int_equal(answer(&c, RM_SET, "+QUEUED\r\n"), RM_WRONG);
}

static void test_list(void **state)
{
	struct rm_conn c;

	(void)state;
	rm_init(&c, "T", 3);
	assert_int_equal(answer(&c, RM_RPUSH, ":1\r\n"), RM_OK); /* l1 */
	assert_int_equal(answer(&c, RM_LPOP, "$-1\r\n"), RM_LOST);
	send_op(&c, RM_RPUSH); /* l2, broken */
	rm_broken(&c);
	assert_int_equal(c.next, RM_LPOP);
	assert_int_equal(answer(&c, RM_LPOP, "$-1\r\n"), RM_OK);
	assert_int_equal(answer(&c, RM_RPUSH, ":1\r\n"), RM_OK); /* l3 */
	assert_int_equal(answer(&c, RM_RPUSH, ":2\r\n"), RM_OK); /* l4 */
	send_op(&c, RM_LPOP);					 /* takes l3, broken */
	rm_broken(&c);
	assert_int_equal(answer(&c, RM_LPOP, bulk(&c, 'l', 4)), RM_OK);
	assert_int_equal(answer(&c, RM_LPOP, bulk(&c, 'l', 4)), RM_DUP);
	assert_int_equal(answer(&c, RM_LPOP, bulk(&c, 'l', 77)), RM_WRONG);
	assert_int_equal(answer(&c, RM_RPUSH, ":1\r\n"), RM_OK); /* l5 */
	assert_int_equal(answer(&c, RM_RPUSH, ":2\r\n"), RM_OK); /* l6 */
	assert_int_equal(answer(&c, RM_LPOP, bulk(&c, 'l', 6)), RM_LOST);
	assert_int_equal(c.nitem, 0);
}

/* A long run of ambiguous pushes forgets the oldest, without overflow. */
static void test_list_bounded(void **state)
{
	struct rm_conn c;

	(void)state;
	rm_init(&c, "T", 4);
	for (int i = 0; i < 3 * RM_LIST_MAX; i++) {
		send_op(&c, RM_RPUSH);
		rm_broken(&c);
	}
	assert_int_equal(c.nitem, RM_LIST_MAX);
	assert_int_equal(answer(&c, RM_LPOP, bulk(&c, 'l', 3 * RM_LIST_MAX)), RM_OK);
}

static enum rm_verdict final(struct rm_conn *c, int which, const char *wire)
{
	char out[512];

	assert_true(rm_final_request(c, which, out, sizeof(out)) > 0);
	return rm_final_reply(c, which, wire, strlen(wire));
}

static void test_final(void **state)
{
	struct rm_conn c;
	char arr[256];

	(void)state;
	rm_init(&c, "T", 5);
	assert_int_equal(final(&c, 0, "$-1\r\n"), RM_OK);
	assert_int_equal(answer(&c, RM_INCR, ":1\r\n"), RM_OK);
	send_op(&c, RM_INCR);
	rm_broken(&c);
	assert_int_equal(final(&c, 0, "$1\r\n1\r\n"), RM_OK);
	assert_int_equal(final(&c, 0, "$1\r\n2\r\n"), RM_OK);
	assert_int_equal(final(&c, 0, "$1\r\n3\r\n"), RM_DUP);
	assert_int_equal(final(&c, 0, "$-1\r\n"), RM_LOST);
	assert_int_equal(final(&c, 0, "-ERR x\r\n"), RM_ERROR);
	assert_int_equal(final(&c, 1, "$-1\r\n"), RM_OK);
	assert_int_equal(answer(&c, RM_RPUSH, ":1\r\n"), RM_OK); /* l1 */
	send_op(&c, RM_RPUSH);					 /* l2, broken */
	rm_broken(&c);
	assert_int_equal(answer(&c, RM_RPUSH, ":3\r\n"), RM_OK); /* l3 */
	assert_int_equal(final(&c, 2, "*0\r\n"), RM_LOST);
	snprintf(arr, sizeof(arr), "*2\r\n%s%s", bulk(&c, 'l', 1), bulk(&c, 'l', 3));
	assert_int_equal(final(&c, 2, arr), RM_OK);
	snprintf(arr, sizeof(arr), "*3\r\n%s%s%s", bulk(&c, 'l', 1), bulk(&c, 'l', 2),
		 bulk(&c, 'l', 3));
	assert_int_equal(final(&c, 2, arr), RM_OK);
	snprintf(arr, sizeof(arr), "*1\r\n%s", bulk(&c, 'l', 3));
	assert_int_equal(final(&c, 2, arr), RM_LOST);
	snprintf(arr, sizeof(arr), "*3\r\n%s%s%s", bulk(&c, 'l', 1), bulk(&c, 'l', 3),
		 bulk(&c, 'l', 8));
	assert_int_equal(final(&c, 2, arr), RM_WRONG);
}

/* A dataset reset (rm_forget): what the keys held is forgotten, except
 * what the reply that showed it says; each key is known again from its
 * next telling reply; nothing we never wrote is accepted. */
static void test_forget(void **state)
{
	struct rm_conn c;
	char arr[256];

	(void)state;
	rm_init(&c, "T", 6);
	for (int i = 1; i <= 3; i++) {
		char want[16];

		snprintf(want, sizeof(want), ":%d\r\n", i);
		assert_int_equal(answer(&c, RM_INCR, want), RM_OK);
	}
	assert_int_equal(answer(&c, RM_SET, "+OK\r\n"), RM_OK);	 /* v1 */
	assert_int_equal(answer(&c, RM_RPUSH, ":1\r\n"), RM_OK); /* l2 */
	assert_int_equal(answer(&c, RM_RPUSH, ":2\r\n"), RM_OK); /* l3 */
	/* The counter came back at 1: lost, until the server says why. */
	assert_int_equal(answer(&c, RM_INCR, ":1\r\n"), RM_LOST);
	rm_forget(&c);
	assert_int_equal(answer(&c, RM_INCR, ":2\r\n"), RM_OK);
	assert_int_equal(answer(&c, RM_INCR, ":2\r\n"), RM_LOST); /* and checked again */
	assert_int_equal(final(&c, 0, "$1\r\n2\r\n"), RM_LOST);
	/* The register may hold nil or an older value, once. */
	assert_int_equal(answer(&c, RM_GET, "$-1\r\n"), RM_OK);
	assert_int_equal(answer(&c, RM_GET, bulk(&c, 'v', 1)), RM_WRONG);
	/* The list: any element we pushed, until it is seen empty. */
	assert_int_equal(answer(&c, RM_LPOP, bulk(&c, 'l', 3)), RM_OK);
	assert_int_equal(answer(&c, RM_LPOP, bulk(&c, 'l', 2)), RM_OK);
	assert_int_equal(answer(&c, RM_LPOP, bulk(&c, 'l', 99)), RM_WRONG);
	snprintf(arr, sizeof(arr), "*1\r\n%s", bulk(&c, 'l', 2));
	assert_int_equal(final(&c, 2, arr), RM_OK);
	assert_int_equal(answer(&c, RM_LPOP, "$-1\r\n"), RM_OK);
	assert_int_equal(final(&c, 2, arr), RM_WRONG); /* known again: empty */

	/* Forgotten on a GET's reply: the counter is unknown till it speaks. */
	rm_init(&c, "T", 7);
	assert_int_equal(answer(&c, RM_INCR, ":1\r\n"), RM_OK);
	assert_int_equal(answer(&c, RM_SET, "+OK\r\n"), RM_OK);
	assert_int_equal(answer(&c, RM_GET, "$-1\r\n"), RM_LOST);
	rm_forget(&c);
	assert_int_equal(final(&c, 0, "$-1\r\n"), RM_OK);
	assert_int_equal(final(&c, 1, "$-1\r\n"), RM_OK);
	assert_int_equal(answer(&c, RM_INCR, ":1\r\n"), RM_OK);
	assert_int_equal(final(&c, 0, "$-1\r\n"), RM_LOST);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cycle),	     cmocka_unit_test(test_incr),
		cmocka_unit_test(test_register),     cmocka_unit_test(test_list),
		cmocka_unit_test(test_list_bounded), cmocka_unit_test(test_final),
		cmocka_unit_test(test_forget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
