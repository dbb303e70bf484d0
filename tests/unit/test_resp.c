/*
 * kv's Redis protocol layer (svc/kv/resp.c, cmd.c, cmd_server.c, util.c)
 * against the bytes Redis 7.0 sends: number parsing and formatting, the
 * reply encoder, framing across every split, the protocol errors, and
 * each server command's reply.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "resp.h"
#include "rs_host_alloc.h"

/* ---- util.c ---- */

static struct rs_arg A(const char *s) {
	struct rs_arg a = { (const uint8_t *)s, strlen(s) };
	return a;
}

static void
test_arg_int(void **state)
{
	static const char *good[] = {
		"0", "1", "-1", "9223372036854775807", "-9223372036854775808", "123"
	};
	static const int64_t want[] = { 0, 1, -1, INT64_MAX, INT64_MIN, 123 };
	static const char *bad[] = { "",
				     "-",
				     "+1",
				     " 1",
				     "1 ",
				     "01",
				     "-0",
				     "00",
				     "9223372036854775808",
				     "-9223372036854775809",
				     "1a",
				     "1.0",
				     "18446744073709551616",
				     "99999999999999999999" };
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int64_t v = 42;
		struct rs_arg a = A(good[i]);

		assert_true(rs_arg_int(&a, &v));
		assert_int_equal(v, want[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t v = 42;
		struct rs_arg a = A(bad[i]);

		assert_false(rs_arg_int(&a, &v));
	}
}

static void check_double(const char *s, double want)
{
	double d = 0;
	struct rs_arg a = A(s);

	assert_true(rs_arg_double(&a, &d));
	assert_memory_equal(&d, &want, sizeof(d));
}

static void test_arg_double(void **state)
{
	static const char *bad[] = {
		"",	   " 1",	"1 ",	      "nan", "NaN",	"-nan",
		"1e",	   "1e+",	".",	      "-",   "+",	"e5",
		"1e400",   "-1e400",	"1e-400",     "0x",  "inf ",	"in",
		"infinit", "1..2",	"1.2.3",      "--1", "0x1p",	"0x.p1",
		"0xg",	   "0x1p99999", "0x1p-99999", "-0x", "0x1.2.3", "0x1.fffffffffffff8p1023"
	};
	(void)state;
	check_double("1", 1.0);
	check_double("-1.5", -1.5);
	check_double("+2.5", 2.5);
	check_double(".5", 0.5);
	check_double("5.", 5.0);
	check_double("1e3", 1000.0);
	check_double("1E-2", 0.01);
	check_double("0.1", 0.1);
	check_double("3.0000000000000004", 3.0000000000000004);
	check_double("1.7976931348623157e308", 1.7976931348623157e308);
	check_double("4.9406564584124654e-324", 4.9406564584124654e-324);
	check_double("2.2250738585072014e-308", 2.2250738585072014e-308);
	check_double("inf", __builtin_inf());
	check_double("-inf", -__builtin_inf());
	check_double("+Infinity", __builtin_inf());
	check_double("0e-999999", 0.0);
	check_double("-0", -0.0);
	check_double("000000000000000000000000000001", 1.0);
	check_double("0x10", 16.0); /* strtod reads C99 hex floats, and so Redis */
	check_double("-0X1.8p1", -3.0);
	check_double("0x.8", 0.5);
	check_double("0x1p-1074", 4.9406564584124654e-324);
	check_double("0x1.fffffffffffff7p1023", 1.7976931348623157e308); /* below half: down */
	check_double("0x00000000000000000000000000000000000000000000001", 1.0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		double d;
		struct rs_arg a = A(bad[i]);

		assert_false(rs_arg_double(&a, &d));
	}
}

/* Random doubles and their decimal forms against libc's strtod and
 * printf, which Redis uses: bit for bit, byte for byte. */
static uint64_t rnd = 88172645463325252ull;

static uint64_t next_rand(void)
{
	rnd ^= rnd << 13;
	rnd ^= rnd >> 7;
	rnd ^= rnd << 17;
	return rnd;
}

static double random_double(void)
{
	union {
		uint64_t u;
		double d;
	} u;

	do
		u.u = next_rand();
	while ((u.u >> 52 & 0x7ff) == 0x7ff);
	return u.d;
}

static void test_double_vs_libc(void **state)
{
	(void)state;
	for (int i = 0; i < 20000; i++) {
		double d = random_double(), back = 0;
		char mine[RS_DOUBLE_BUF], libc[64];
		struct rs_arg a;

		if (i % 4 == 1)
			d = (double)(int64_t)(next_rand() % 2000000 - 1000000) / 1000.0;
		rs_fmt_double(mine, sizeof(mine), d, false);
		snprintf(libc, sizeof(libc), "%.17g", d);
		assert_string_equal(mine, libc);
		a = A(libc);
		if (d != 0 && (d > 1e-300 || d < -1e-300)) { /* strtod's ERANGE cases aside */
			assert_true(rs_arg_double(&a, &back));
			assert_memory_equal(&back, &d, sizeof(d));
		}
		/* a shorter form must round the same way as strtod */
		snprintf(libc, sizeof(libc), "%.*g", (int)(next_rand() % 17) + 1, d);
		a = A(libc);
		if (strtod(libc, NULL) != 0 && rs_arg_double(&a, &back)) {
			double ref = strtod(libc, NULL);

			assert_memory_equal(&back, &ref, sizeof(d));
		}
	}
}

static void check_fmt(double d, bool human, const char *want)
{
	char buf[RS_DOUBLE_BUF];
	size_t n = rs_fmt_double(buf, sizeof(buf), d, human);

	assert_string_equal(buf, want);
	assert_int_equal(n, strlen(want));
}

static void test_fmt_double(void **state)
{
	(void)state;
	check_fmt(0.1 + 0.2, false, "0.30000000000000004");
	check_fmt(1.0 + 2.0000000000000004, false, "3.0000000000000004");
	check_fmt(1e20, false, "1e+20");
	check_fmt(4.9406564584124654e-324, false, "4.9406564584124654e-324");
	check_fmt(10.5, false, "10.5");
	check_fmt(__builtin_inf(), false, "inf");
	check_fmt(-__builtin_inf(), false, "-inf");
	check_fmt(0.0, false, "0");
	check_fmt(-0.0, false, "-0");
	check_fmt(1e16, false, "10000000000000000");
	check_fmt(1e17, false, "1e+17");
	check_fmt(0.0001, false, "0.0001");
	check_fmt(0.00001, false, "1.0000000000000001e-05");
	check_fmt(123456789012345678.0, false, "1.2345678901234568e+17");
	/* INCRBYFLOAT's form: what Redis' "%.17Lf" shows after its long double sum */
	check_fmt(10.5 + 0.1, true, "10.6");
	check_fmt(10.6 - 5, true, "5.6");
	check_fmt(5.0e3 + 2.0e2, true, "5200");
	check_fmt(0.1 + 0.2, true, "0.3");
	check_fmt(17179869184.0 + 1.5, true, "17179869185.5");
	check_fmt(1.25, true, "1.25");
	check_fmt(-0.0, true, "0");
	check_fmt(-1e-18, true, "0");
	check_fmt(1e20, true, "100000000000000000000");
	check_fmt(-3.5, true, "-3.5");
	check_fmt(__builtin_inf(), true, "inf");
	check_fmt(0.00000000000000001, true, "0.00000000000000001");
}

/* INCRBYFLOAT as Redis 7.0.15 answers it (seen from redis-server): the
 * sum in long double, shown with "%.17Lf" less its trailing zeros. */
static void check_incr(const char *a, const char *b, const char *want)
{
	struct rs_arg x = A(a), y = A(b);
	long double u, v;
	char buf[RS_LDOUBLE_BUF];

	assert_true(rs_arg_ldouble(&x, &u));
	assert_true(rs_arg_ldouble(&y, &v));
	rs_fmt_ldouble(buf, sizeof(buf), u + v);
	assert_string_equal(buf, want);
}

static void test_incrbyfloat_form(void **state)
{
	(void)state;
	check_incr("10.50", "0.1", "10.6");
	check_incr("10.6", "-5", "5.6");
	check_incr("5.0e3", "2.0e2", "5200");
	check_incr("-210.35", "681", "470.64999999999999999");
	check_incr("-752.39608", "5e6", "4999247.60392000000001644");
	check_incr("0.02127659574468085", "626", "626.02127659574468083");
	check_incr("0.024390243902439025", "-0.02439024390243902", "0");
	check_incr("1", "-1", "0");
	check_incr("-1e-30", "0", "0");
	check_incr("1e30", "0", "1000000000000000000024696061952");
	check_incr("inf", "0", "inf");
	check_incr("17179869184", "1.5", "17179869185.5");
}

/* Long doubles against libc's strtold and printf("%.17Lf"). */
static void test_ldouble_vs_libc(void **state)
{
	static const char *bad[] = { "",	" 1",	   "nan",	"1e5000",
				     "-1e5000", "1e-5000", "0x1p99999", "1e" };
	(void)state;
	for (int i = 0; i < 20000; i++) {
		char s[64], mine[RS_LDOUBLE_BUF], ref[RS_LDOUBLE_BUF];
		int l, k = snprintf(s, sizeof(s), "%s%llu.%llue%d", next_rand() & 1 ? "-" : "",
				    (unsigned long long)(next_rand() % 100000),
				    (unsigned long long)(next_rand() % 1000000000000ull),
				    (int)(next_rand() % 80) - 40);
		struct rs_arg a = { (const uint8_t *)s, (size_t)k };
		long double v, want = strtold(s, NULL);

		assert_true(rs_arg_ldouble(&a, &v));
		assert_memory_equal(&v, &want, 10);
		rs_fmt_ldouble(mine, sizeof(mine), v);
		l = snprintf(ref, sizeof(ref), "%.17Lf", v);
		while (ref[l - 1] == '0')
			ref[--l] = '\0';
		if (ref[l - 1] == '.')
			ref[--l] = '\0';
		if (strcmp(ref, "-0") == 0)
			strcpy(ref, "0");
		assert_string_equal(mine, ref);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		long double v;
		struct rs_arg a = A(bad[i]);

		assert_false(rs_arg_ldouble(&a, &v));
	}
}

/* Hex floats and the range bound's strtod against libc: random strings
 * of the characters strtod reads. */
static void test_hex_and_range_vs_libc(void **state)
{
	static const char alphabet[] = "0123456789abcdefABCDEFxXpP.+- \t";
	(void)state;
	for (int i = 0; i < 200000; i++) {
		char s[24];
		int n = (int)(next_rand() % 12);
		char *end;

		for (int j = 0; j < n; j++)
			s[j] = alphabet[next_rand() % (sizeof(alphabet) - 1)];
		if (n > 2 && next_rand() % 2)
			s[0] = '0', s[1] = 'x';
		s[n] = '\0';
		struct rs_arg a = { (const uint8_t *)s, (size_t)n };
		double d = 0, want;
		long double ld = 0, lwant;

		errno = 0;
		want = strtod(s, &end);
		bool whole = *end == '\0' && !isnan(want);
		bool strict = whole && n > 0 && !isspace((unsigned char)s[0]) &&
			      !(errno == ERANGE && (isinf(want) || want == 0));
		assert_int_equal(rs_arg_double(&a, &d), strict);
		if (strict)
			assert_memory_equal(&d, &want, sizeof(d));
		assert_int_equal(rs_arg_double_range(&a, &d), whole);
		if (whole)
			assert_memory_equal(&d, &want, sizeof(d));
		errno = 0;
		lwant = strtold(s, &end);
		strict = *end == '\0' && !isnan(lwant) && n > 0 && !isspace((unsigned char)s[0]) &&
			 !(errno == ERANGE && (isinf(lwant) || lwant == 0));
		assert_int_equal(rs_arg_ldouble(&a, &ld), strict);
		if (strict)
			assert_memory_equal(&ld, &lwant, 10);
	}
}

static void test_fmt_double_small_buffer(void **state)
{
	char buf[4];

	(void)state;
	assert_int_equal(rs_fmt_double(buf, sizeof(buf), 123456.0, false), 3);
	assert_string_equal(buf, "123");
}

static bool G(const char *pat, const char *s, bool nocase)
{
	return rs_glob((const uint8_t *)pat, strlen(pat), (const uint8_t *)s, strlen(s), nocase);
}

static void test_glob(void **state)
{
	(void)state;
	assert_true(G("*", "", false));
	assert_true(G("*", "abc", false));
	assert_true(G("a*c", "abbbc", false));
	assert_false(G("a*c", "abbbd", false));
	assert_true(G("h?llo", "hello", false));
	assert_false(G("h?llo", "hllo", false));
	assert_true(G("h[ae]llo", "hallo", false));
	assert_false(G("h[ae]llo", "hillo", false));
	assert_true(G("h[^e]llo", "hallo", false));
	assert_false(G("h[^e]llo", "hello", false));
	assert_true(G("h[a-b]llo", "hbllo", false));
	assert_true(G("h[b-a]llo", "hallo", false));
	assert_true(G("h\\*llo", "h*llo", false));
	assert_false(G("h\\*llo", "hello", false));
	assert_true(G("HELLO", "hello", true));
	assert_false(G("HELLO", "hello", false));
	assert_true(G("h[A-Z]llo", "hello", true));
	assert_true(G("[\\]]", "]", false));
	assert_true(G("a[bc", "ab", false));
	assert_true(G("\\", "\\", false));
	assert_false(G("", "a", false));
	assert_true(G("", "", false));
	assert_true(G("**a**", "xxa", false));
	assert_false(G("?", "", false));
	assert_true(G("*a*a*a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaab", false));
	assert_false(G("*a*a*a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false));
}

static void test_arg_eq(void **state)
{
	struct rs_arg a = A("GeT");

	(void)state;
	assert_true(rs_arg_eq(&a, "get"));
	assert_false(rs_arg_eq(&a, "ge"));
	assert_false(rs_arg_eq(&a, "gets"));
}

/* ---- an engine and a client ---- */

static struct rs_engine eng;
static struct rs_client *cl;
static char reply[1 << 16];
static size_t used_before;

static int setup(void **state)
{
	(void)state;
	used_before = rs_used();
	rs_host_fail_after = -1;
	assert_int_equal(rs_engine_init(&eng, 1700000000123ull, 7), 0);
	cl = rs_client_new(&eng);
	assert_non_null(cl);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rs_client_free(&eng, cl);
	rs_engine_free(&eng);
	rs_host_fail_after = -1;
	assert_int_equal(rs_used(), used_before); /* nothing leaked */
	return 0;
}

/* What c has to send, as a C string, taken out of its buffer. */
static const char *take(struct rs_client *c)
{
	assert_true(c->out_len < sizeof(reply));
	if (c->out_len > 0)
		memcpy(reply, c->out, c->out_len);
	reply[c->out_len] = '\0';
	rs_sent(c, c->out_len);
	return reply;
}

static size_t feedn(struct rs_client *c, const void *p, size_t n)
{
	return rs_feed(&eng, c, p, n);
}

static size_t feed(struct rs_client *c, const char *s)
{
	return feedn(c, s, strlen(s));
}

static void expect(const char *in, const char *out)
{
	assert_int_equal(feed(cl, in), strlen(in));
	assert_string_equal(take(cl), out);
	assert_false(cl->close_after_reply);
}

/* A protocol error: Redis' reply, the connection marked to close, and
 * nothing after the bad frame run (the PING that follows is unanswered). */
/* A keyspace of keys keys, expires of them with a time to live. */
static void make_keys(int keys, int expires)
{
	char cmd[64];

	for (int i = 0; i < keys; i++) {
		snprintf(cmd, sizeof(cmd), "SET k%d v%s\r\n", i, i < expires ? " EX 1000" : "");
		feed(cl, cmd);
		assert_string_equal(take(cl), "+OK\r\n");
	}
}

static void expect_proto_error(const char *in, const char *err)
{
	char buf[512], want[256];
	struct rs_client *c = rs_client_new(&eng);
	size_t n, used;

	snprintf(buf, sizeof(buf), "%sPING\r\n", in);
	snprintf(want, sizeof(want), "-ERR Protocol error: %s\r\n", err);
	n = strlen(buf);
	used = feedn(c, buf, n);
	assert_string_equal(take(c), want);
	assert_true(c->close_after_reply);
	assert_true(used < n);
	assert_int_equal(feed(c, "PING\r\n"), 0); /* and nothing more is read */
	assert_int_equal(c->out_len, 0);
	rs_client_free(&eng, c);
}

/* ---- framing ---- */

static const char pipeline[] = "*1\r\n$4\r\nPING\r\n"
			       "*2\r\n$4\r\necho\r\n$5\r\na\r\nb\0\r\n"
			       "PING \"hi there\"\r\n"
			       "*0\r\n"
			       "\r\n"
			       "echo 'it''s'\n"
			       "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n"
			       "eChO \"\\x41\\n\\t\\\"\" 'x'\r\n";

static const char pipeline_reply[] = "+PONG\r\n"
				     "$5\r\na\r\nb\0\r\n"
				     "$8\r\nhi there\r\n"
				     "-ERR Protocol error: unbalanced quotes in request\r\n";

static void test_pipeline_whole(void **state)
{
	size_t n = sizeof(pipeline) - 1;

	(void)state;
	assert_true(feedn(cl, pipeline, n) < n); /* "'it''s'" is unbalanced */
	assert_int_equal(cl->out_len, sizeof(pipeline_reply) - 1);
	assert_memory_equal(cl->out, pipeline_reply, sizeof(pipeline_reply) - 1);
	assert_true(cl->close_after_reply);
}

static const char good_pipeline[] = "*1\r\n$4\r\nPING\r\n"
				    "*2\r\n$4\r\necho\r\n$5\r\na\r\nb\0\r\n"
				    "PING \"hi there\"\r\n"
				    "*0\r\n"
				    "\r\n"
				    "  \r\n"
				    "*-1\r\n"
				    "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n"
				    "eChO \"\\x41\\n\\t\\\"\" 'x' \"\\x4\"\r\n"
				    "echo 'a\\'b'\n"
				    "*3\r\n$4\r\nPING\r\n$1\r\nx\r\n$1\r\ny\r\n";

static const char good_reply[] = "+PONG\r\n"
				 "$5\r\na\r\nb\0\r\n"
				 "$8\r\nhi there\r\n"
				 "$0\r\n\r\n"
				 "-ERR wrong number of arguments for 'echo' command\r\n"
				 "$3\r\na'b\r\n"
				 "-ERR wrong number of arguments for 'ping' command\r\n";

/* The same bytes, split in two at every point, give the same replies. */
static void test_every_split(void **state)
{
	size_t n = sizeof(good_pipeline) - 1, rn = sizeof(good_reply) - 1;

	(void)state;
	for (size_t cut = 0; cut <= n; cut++) {
		struct rs_client *c = rs_client_new(&eng);

		assert_int_equal(feedn(c, good_pipeline, cut), cut);
		assert_int_equal(feedn(c, good_pipeline + cut, n - cut), n - cut);
		assert_int_equal(c->out_len, rn);
		assert_memory_equal(c->out, good_reply, rn);
		assert_false(c->close_after_reply);
		assert_int_equal(c->in_len, 0);
		rs_client_free(&eng, c);
	}
}

static void test_byte_at_a_time(void **state)
{
	size_t n = sizeof(good_pipeline) - 1, rn = sizeof(good_reply) - 1;

	(void)state;
	for (size_t i = 0; i < n; i++)
		assert_int_equal(feedn(cl, good_pipeline + i, 1), 1);
	assert_int_equal(cl->out_len, rn);
	assert_memory_equal(cl->out, good_reply, rn);
}

/* Redis takes the two bytes after a count or a bulk as its CRLF unseen. */
static void test_crlf_not_checked(void **state)
{
	(void)state;
	expect("*1\rX$4\r\nPINGxy", "+PONG\r\n");
	expect("*1\r\n$4\r\nPING", "");
	expect("\r\n", "+PONG\r\n");
}

/* Redis looks for a line's end with strchr: a NUL before it hides it, and
 * the request waits (until it is too big), unanswered. */
static void test_nul_hides_line_end(void **state)
{
	(void)state;
	assert_int_equal(feedn(cl, "echo x\0y\r\nPING\r\n", 16), 16);
	assert_int_equal(cl->out_len, 0);
	assert_false(cl->close_after_reply);
	rs_client_free(&eng, cl);
	cl = rs_client_new(&eng);
	assert_int_equal(feedn(cl, "*1\r\n$4\0\r\nPING\r\n", 15), 15);
	assert_int_equal(cl->out_len, 0);
}

static void test_inline(void **state)
{
	(void)state;
	expect("PING\n", "+PONG\r\n");
	expect("ping\r\n", "+PONG\r\n");
	expect("  echo   \t x  \r\n", "$1\r\nx\r\n");
	expect("echo \"\"\r\n", "$0\r\n\r\n");
	expect("echo a\"b c\"\r\n", "$4\r\nab c\r\n");
	expect("echo \"a\\qb\"\r\n", "$3\r\naqb\r\n");
	expect("echo \"\\xzz\"\r\n", "$3\r\nxzz\r\n");
	expect("\n", "");
	expect("\n", "");
}

/* ---- protocol errors ---- */

static void test_protocol_errors(void **state)
{
	(void)state;
	expect_proto_error("*x\r\n", "invalid multibulk length");
	expect_proto_error("*\r\n", "invalid multibulk length");
	expect_proto_error("*01\r\n", "invalid multibulk length");
	expect_proto_error("*2147483648\r\n", "invalid multibulk length");
	/* Redis 7.0 takes any count up to INT_MAX (6.2 refused past 1024*1024) */
	struct rs_client *big = rs_client_new(&eng);
	assert_int_equal(feed(big, "*1048577\r\n$4\r\nPING\r\n"), 20);
	assert_int_equal(big->out_len, 0); /* waiting for the other arguments */
	rs_client_free(&eng, big);
	eng.lim.max_args = 4; /* a policy's bound is still an error */
	expect_proto_error("*5\r\n", "invalid multibulk length");
	eng.lim.max_args = INT32_MAX;
	expect_proto_error("*1\r\n$x\r\n", "invalid bulk length");
	expect_proto_error("*1\r\n$-1\r\n", "invalid bulk length");
	expect_proto_error("*1\r\n$\r\n", "invalid bulk length");
	expect_proto_error("*1\r\n$536870913\r\n", "invalid bulk length");
	expect_proto_error("*1\r\n$99999999999999999999\r\n", "invalid bulk length");
	expect_proto_error("*1\r\n+PING\r\n", "expected '$', got '+'");
	expect_proto_error("*2\r\n$4\r\nECHO\r\n:1\r\n", "expected '$', got ':'");
	expect_proto_error("*1\r\n\r\n", "expected '$', got ' '");
	expect_proto_error("echo \"a\r\n", "unbalanced quotes in request");
	expect_proto_error("echo 'a\r\n", "unbalanced quotes in request");
	expect_proto_error("echo \"a\"b\r\n", "unbalanced quotes in request");
	expect_proto_error("echo 'a'b\r\n", "unbalanced quotes in request");
	expect_proto_error("echo \"a\\\"\r\n", "unbalanced quotes in request");
}

/* Floods without a line end: refused once past 64 KiB, nothing kept. */
static void flood(char first, const char *err)
{
	static uint8_t junk[70000];
	struct rs_client *c = rs_client_new(&eng);
	size_t used = 0;

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)('a' + i % 26);
	junk[0] = (uint8_t)first;
	for (size_t off = 0; off < sizeof(junk) && !c->close_after_reply; off += 1000)
		used += feedn(c, junk + off, sizeof(junk) - off < 1000 ? sizeof(junk) - off : 1000);
	assert_true(c->close_after_reply);
	assert_true(used < sizeof(junk));
	assert_string_equal(take(c), err);
	rs_client_free(&eng, c);
}

static void test_floods(void **state)
{
	(void)state;
	flood('x', "-ERR Protocol error: too big inline request\r\n");
	flood('*', "-ERR Protocol error: too big mbulk count string\r\n");
}

static void test_big_bulk_count_line(void **state)
{
	static char buf[70100];
	struct rs_client *c = rs_client_new(&eng);

	(void)state;
	memcpy(buf, "*1\r\n$", 5);
	memset(buf + 5, '1', sizeof(buf) - 5);
	feedn(c, buf, sizeof(buf));
	assert_string_equal(take(c), "-ERR Protocol error: too big bulk count string\r\n");
	assert_true(c->close_after_reply);
	rs_client_free(&eng, c);
}

/* Declared sizes cost nothing until the bytes come. */
static void test_huge_lengths_not_allocated(void **state)
{
	size_t before = rs_used();

	(void)state;
	expect("*1048576\r\n", "");
	expect("$536870912\r\n", "");
	assert_true(rs_used() - before < 4096);
	assert_int_equal(cl->ml_pending, 1048576);
	assert_int_equal(cl->bulk_len, 536870912);
}

/* One client's protocol error leaves the others as they were. */
static void test_other_clients_carry_on(void **state)
{
	struct rs_client *bad = rs_client_new(&eng);

	(void)state;
	expect("*2\r\n$4\r\nECHO\r\n$3\r\nab", "");
	feed(bad, "*1\r\n$x\r\n");
	assert_true(bad->close_after_reply);
	expect("c\r\n", "$3\r\nabc\r\n");
	rs_client_free(&eng, bad);
}

static void test_output_limit(void **state)
{
	static char big[5000];

	(void)state;
	cl->max_output = 1024;
	memcpy(big, "ECHO ", 5);
	memset(big + 5, 'z', sizeof(big) - 7);
	memcpy(big + sizeof(big) - 2, "\r\n", 2);
	feedn(cl, big, sizeof(big));
	assert_true(cl->out_overflow);
	assert_true(cl->close_after_reply);
	assert_true(cl->out_len <= 1024);
	assert_int_equal(feed(cl, "PING\r\n"), 0);
}

static void test_query_limit(void **state)
{
	(void)state;
	eng.lim.max_query = 100;
	feed(cl, "*1\r\n$200\r\n");
	assert_false(cl->close_after_reply);
	assert_int_equal(feedn(cl, pipeline, 95), 0);
	assert_true(cl->close_after_reply);
	assert_int_equal(cl->out_len, 0); /* Redis closes such a client unanswered */
}

static void test_out_of_memory_reading(void **state)
{
	struct rs_client *c = rs_client_new(&eng);

	(void)state;
	rs_host_fail_after = 0;
	assert_int_equal(feed(c, "PING\r\n"), 0);
	assert_true(c->close_after_reply);
	rs_host_fail_after = -1;
	rs_client_free(&eng, c);
}

/* ---- dispatch ---- */

static void test_unknown_and_arity(void **state)
{
	(void)state;
	expect("FOO a b\r\n", "-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n");
	expect("foo\r\n", "-ERR unknown command 'foo', with args beginning with: \r\n");
	expect("*2\r\n$3\r\nfoo\r\n$4\r\na\r\nb\r\n",
	       "-ERR unknown command 'foo', with args beginning with: 'a  b' \r\n");
	expect("ECHO\r\n", "-ERR wrong number of arguments for 'echo' command\r\n");
	expect("echo a b\r\n", "-ERR wrong number of arguments for 'echo' command\r\n");
	expect("PINGPINGPINGPINGPINGPINGPINGPINGPING\r\n",
	       "-ERR unknown command 'PINGPINGPINGPINGPINGPINGPINGPINGPING', with args beginning "
	       "with: \r\n");
}

static void test_unknown_long_args(void **state)
{
	char in[400], want[400];

	(void)state;
	snprintf(in, sizeof(in), "x %0100d %0100d %d\r\n", 0, 0, 7);
	snprintf(want, sizeof(want),
		 "-ERR unknown command 'x', with args beginning with: '%0100d' '%025d' \r\n", 0, 0);
	expect(in, want);
}

static void test_stats(void **state)
{
	(void)state;
	expect("PING\r\nPING\r\nNOPE\r\n",
	       "+PONG\r\n+PONG\r\n"
	       "-ERR unknown command 'NOPE', with args beginning with: \r\n");
	assert_int_equal(eng.stat_commands, 2);
	assert_string_equal(cl->last_cmd, "ping");
	assert_int_equal(eng.stat_connections, 1);
	assert_int_equal(eng.clients, 1);
}

/* Past maxmemory a DENYOOM command is refused before it runs, whatever
 * its arguments; others still run. Needs a DENYOOM command in the tables
 * (the data types' SET and the like), so it checks nothing before they
 * are merged. */
static void test_maxmemory(void **state)
{
	const struct rs_cmd *deny = NULL;
	char in[256];
	size_t n;

	(void)state;
	for (size_t i = 0; i < rs_cmd_count() && deny == NULL; i++)
		if (rs_cmd_at(i)->flags & RS_CMD_DENYOOM)
			deny = rs_cmd_at(i);
	if (deny == NULL)
		return;
	eng.lim.maxmemory = 1;
	n = (size_t)snprintf(in, sizeof(in), "%s", deny->name);
	for (int i = 1; i < (deny->arity < 0 ? -deny->arity : deny->arity); i++)
		n += (size_t)snprintf(in + n, sizeof(in) - n, " x");
	snprintf(in + n, sizeof(in) - n, "\r\n");
	expect(in, "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
	expect("PING\r\n", "+PONG\r\n");
	assert_int_equal(eng.stat_commands, 1);
}

static uint32_t prop_argc;
static char prop_first[32];

static void on_propagate(void *ctx, uint32_t argc, const struct rs_arg *argv)
{
	(void)ctx;
	prop_argc = argc;
	snprintf(prop_first, sizeof(prop_first), "%.*s", (int)argv[0].len, (const char *)argv[0].p);
}

static void test_propagate(void **state)
{
	(void)state;
	eng.propagate = on_propagate;
	prop_argc = 0;
	expect("PING\r\n", "+PONG\r\n");
	assert_int_equal(prop_argc, 0);
	expect("FLUSHDB ASYNC\r\n", "+OK\r\n");
	assert_int_equal(prop_argc, 2);
	assert_string_equal(prop_first, "FLUSHDB");
}

static void test_max_clients(void **state)
{
	(void)state;
	eng.lim.max_clients = 1;
	assert_null(rs_client_new(&eng));
	eng.lim.max_clients = 2;
	struct rs_client *c = rs_client_new(&eng);
	assert_non_null(c);
	assert_int_equal(c->id, 2);
	rs_client_free(&eng, c);
}

/* ---- server commands, byte for byte ---- */

static void test_ping_echo_quit(void **state)
{
	(void)state;
	expect("PING\r\n", "+PONG\r\n");
	expect("PING hello\r\n", "$5\r\nhello\r\n");
	expect("ECHO \"\"\r\n", "$0\r\n\r\n");
	assert_int_equal(feed(cl, "QUIT\r\nPING\r\n"), 6);
	assert_string_equal(take(cl), "+OK\r\n");
	assert_true(cl->close_after_reply);
}

static void test_hello(void **state)
{
	static const char map[] = "*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n"
				  "7.0.15\r\n$5\r\nproto\r\n:2\r\n$2\r\nid\r\n:1\r\n$4\r\nmode\r\n"
				  "$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules"
				  "\r\n*0\r\n";

	(void)state;
	expect("HELLO\r\n", map);
	expect("HELLO 2\r\n", map);
	expect("HELLO 3\r\n", "-NOPROTO unsupported protocol version\r\n");
	expect("HELLO 1\r\n", "-NOPROTO unsupported protocol version\r\n");
	expect("HELLO x\r\n", "-ERR Protocol version is not an integer or out of range\r\n");
	expect("HELLO 2 FOO\r\n", "-ERR Syntax error in HELLO option 'FOO'\r\n");
	expect("HELLO 2 SETNAME\r\n", "-ERR Syntax error in HELLO option 'SETNAME'\r\n");
	expect("HELLO 2 AUTH a b\r\n",
	       "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
	expect("HELLO 2 SETNAME bob\r\n", map);
	expect("CLIENT GETNAME\r\n", "$3\r\nbob\r\n");
	/* Redis 7.0 with no password: the default user takes any password */
	expect("HELLO 2 AUTH default pw SETNAME ann\r\n", map);
	expect("CLIENT GETNAME\r\n", "$3\r\nann\r\n");
	expect("HELLO 2 SETNAME eve AUTH Default pw\r\n",
	       "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
	expect("CLIENT GETNAME\r\n", "$3\r\neve\r\n"); /* the name took effect */
	expect("HELLO 2 AUTH bob pw SETNAME joe\r\n",
	       "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
	expect("CLIENT GETNAME\r\n", "$3\r\neve\r\n"); /* not reached */
	expect("HELLO 2 AUTH default\r\n", "-ERR Syntax error in HELLO option 'AUTH'\r\n");
	expect("AUTH default pw\r\n", "+OK\r\n");
	expect("AUTH pw\r\n", "-ERR AUTH <password> called without any password configured for "
			      "the default user. Are you sure your configuration is correct?\r\n");
	expect("AUTH bob pw\r\n",
	       "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
	expect("AUTH a b c\r\n", "-ERR syntax error\r\n");
}

static void test_client(void **state)
{
	(void)state;
	expect("CLIENT ID\r\n", ":1\r\n");
	expect("CLIENT GETNAME\r\n", "$-1\r\n");
	expect("CLIENT SETNAME app-1\r\n", "+OK\r\n");
	expect("client getname\r\n", "$5\r\napp-1\r\n");
	expect("CLIENT SETNAME \"a b\"\r\n",
	       "-ERR Client names cannot contain spaces, newlines or special characters.\r\n");
	expect("CLIENT SETNAME \"\"\r\n", "+OK\r\n");
	expect("CLIENT GETNAME\r\n", "$-1\r\n");
	expect("CLIENT\r\n", "-ERR wrong number of arguments for 'client' command\r\n");
	expect("CLIENT SETNAME\r\n",
	       "-ERR wrong number of arguments for 'client|setname' command\r\n");
	expect("CLIENT ID x\r\n", "-ERR wrong number of arguments for 'client|id' command\r\n");
	expect("CLIENT FOO\r\n", "-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n");
}

static void test_select_time_dbsize(void **state)
{
	(void)state;
	expect("SELECT 0\r\n", "+OK\r\n");
	expect("SELECT 1\r\n", "-ERR DB index is out of range\r\n");
	expect("SELECT -1\r\n", "-ERR DB index is out of range\r\n");
	expect("SELECT x\r\n", "-ERR value is not an integer or out of range\r\n");
	expect("SELECT 4294967296\r\n",
	       "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n");
	expect("TIME\r\n", "*2\r\n$10\r\n1700000000\r\n$6\r\n123000\r\n");
	expect("DBSIZE\r\n", ":0\r\n");
	make_keys(5, 2);
	expect("DBSIZE\r\n", ":5\r\n");
	expect("FLUSHALL SYNC\r\n", "+OK\r\n");
	expect("DBSIZE\r\n", ":0\r\n");
	expect("FLUSHDB x\r\n", "-ERR syntax error\r\n");
	expect("FLUSHDB ASYNC x\r\n", "-ERR syntax error\r\n");
}

static void test_config_get(void **state)
{
	(void)state;
	expect("CONFIG GET maxmemory\r\n", "*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n");
	expect("CONFIG GET MAXCLIENTS\r\n", "*2\r\n$10\r\nMAXCLIENTS\r\n$5\r\n10000\r\n");
	expect("CONFIG GET save appendonly\r\n",
	       "*4\r\n$4\r\nsave\r\n$0\r\n\r\n$10\r\nappendonly\r\n$2\r\nno\r\n");
	expect("CONFIG GET nosuch\r\n", "*0\r\n");
	/* redis-server 7.0's answers for what kv does the same way */
	expect("CONFIG GET timeout hz\r\n",
	       "*4\r\n$7\r\ntimeout\r\n$1\r\n0\r\n$2\r\nhz\r\n$2\r\n10\r\n");
	expect("CONFIG GET client-query-buffer-limit\r\n",
	       "*2\r\n$25\r\nclient-query-buffer-limit\r\n$10\r\n1073741824\r\n");
	expect("CONFIG GET proto*\r\n", "*2\r\n$18\r\nproto-max-bulk-len\r\n$9\r\n536870912\r\n");
	expect(
	    "CONFIG GET maxmemory* maxmemory\r\n",
	    "*4\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n$16\r\nmaxmemory-policy\r\n$10\r\nnoeviction\r\n");
	expect("CONFIG GET\r\n", "-ERR wrong number of arguments for 'config|get' command\r\n");
	expect("CONFIG FOO\r\n", "-ERR unknown subcommand 'FOO'. Try CONFIG HELP.\r\n");
}

static void test_config_set(void **state)
{
	(void)state;
	expect("CONFIG SET maxmemory 1mb\r\n", "+OK\r\n");
	assert_int_equal(eng.lim.maxmemory, 1024 * 1024);
	expect("CONFIG SET maxmemory 2k maxclients 7\r\n", "+OK\r\n");
	assert_int_equal(eng.lim.maxmemory, 2000);
	assert_int_equal(eng.lim.max_clients, 7);
	expect("CONFIG SET maxmemory 5 foo 1\r\n",
	       "-ERR Unknown option or number of arguments for CONFIG SET - 'foo'\r\n");
	assert_int_equal(eng.lim.maxmemory, 2000);
	expect("CONFIG SET maxmemory x\r\n", "-ERR CONFIG SET failed (possibly related to "
					     "argument 'maxmemory') - argument must be a memory "
					     "value\r\n");
	expect("CONFIG SET maxclients 0\r\n",
	       "-ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument "
	       "must be between 1 and 4294967295 inclusive\r\n");
	expect("CONFIG SET maxclients x\r\n",
	       "-ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument "
	       "couldn't be parsed into an integer\r\n");
	expect("CONFIG SET proto-max-bulk-len 1000\r\n",
	       "-ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - "
	       "argument must be between 1048576 and 9223372036854775807 inclusive\r\n");
	expect("CONFIG SET maxmemory 1 MAXMEMORY 2\r\n",
	       "-ERR CONFIG SET failed (possibly related to argument 'MAXMEMORY') - duplicate "
	       "parameter\r\n");
	expect("CONFIG SET maxmemory 1 maxclients\r\n", "-ERR syntax error\r\n");
	expect("CONFIG SET maxmemory 1 maxclients 2 save '' appendonly no databases 1 "
	       "maxmemory-policy noeviction proto-max-bulk-len 2mb maxmemory 3 maxmemory 4\r\n",
	       "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - duplicate "
	       "parameter\r\n");
	expect("CONFIG SET maxmemory\r\n",
	       "-ERR wrong number of arguments for 'config|set' command\r\n");
	expect("CONFIG SET save \"\"\r\n", "+OK\r\n");
	expect("CONFIG SET proto-max-bulk-len 2mb\r\n", "+OK\r\n");
	expect("*1\r\n$2097152\r\n", "");
	expect_proto_error("*1\r\n$2097153\r\n", "invalid bulk length");
}

/* Under a memory cap (what kv's log can hold) the memory settings stay
 * within it, by CONFIG SET or a policy's name=value arg. */
static void test_config_cap(void **state)
{
	static const char range[] = "-ERR CONFIG SET failed (possibly related to argument "
				    "'maxmemory') - argument must be between 1 and 3145728 "
				    "inclusive\r\n";
	struct rs_arg name = { (const uint8_t *)"maxmemory", 9 }, v = { (const uint8_t *)"4mb", 3 };

	(void)state;
	eng.lim.memory_cap = 3 << 20;
	expect("CONFIG SET maxmemory 2mb\r\n", "+OK\r\n");
	expect("CONFIG SET maxmemory 0\r\n", range); /* no limit: past the cap */
	expect("CONFIG SET maxmemory 4mb maxclients 9\r\n", range);
	assert_int_equal(eng.lim.maxmemory, 2 << 20); /* all or nothing */
	assert_string_equal(rs_config_set1(&eng, &name, &v),
			    "argument must be between 1 and 3145728 inclusive");
	v = (struct rs_arg){ (const uint8_t *)"1mb", 3 };
	assert_null(rs_config_set1(&eng, &name, &v));
	assert_int_equal(eng.lim.maxmemory, 1 << 20);
	name = (struct rs_arg){ (const uint8_t *)"nosuch", 6 };
	assert_string_equal(rs_config_set1(&eng, &name, &v), "Unknown option");
	eng.lim.memory_cap = 0;
}

static void test_info(void **state)
{
	const char *r;

	(void)state;
	feed(cl, "INFO\r\n");
	r = take(cl);
	assert_non_null(strstr(r, "\r\n# Server\r\nredis_version:7.0.15\r\n"));
	assert_non_null(strstr(r, "\r\n\r\n# Clients\r\nconnected_clients:1\r\n"));
	assert_non_null(strstr(r, "# Memory\r\nused_memory:"));
	assert_non_null(strstr(r, "# Stats\r\n"));
	assert_non_null(strstr(r, "# Keyspace\r\n"));
	assert_null(strstr(r, "db0:"));
	make_keys(3, 1);
	feed(cl, "INFO keyspace\r\n");
	assert_string_equal(take(cl),
			    "$44\r\n# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=0\r\n\r\n");
	expect("INFO nosuch\r\n", "$0\r\n\r\n");
	feed(cl, "INFO clients KEYSPACE\r\n");
	assert_string_equal(take(cl),
			    "$115\r\n# Clients\r\nconnected_clients:1\r\nmaxclients:10000\r\n"
			    "blocked_clients:0\r\n\r\n# Keyspace\r\n"
			    "db0:keys=3,expires=1,avg_ttl=0\r\n\r\n");
	eng.lim.maxmemory = 1536 * 1024;
	feed(cl, "INFO memory\r\n");
	assert_non_null(strstr(take(cl), "maxmemory:1572864\r\nmaxmemory_human:1.50M\r\n"));
}

static void test_command(void **state)
{
	char want[32];

	(void)state;
	assert_true(rs_cmd_count() >= 13);
	snprintf(want, sizeof(want), ":%zu\r\n", rs_cmd_count());
	expect("COMMAND COUNT\r\n", want);
	expect("COMMAND INFO nosuch\r\n", "*1\r\n$-1\r\n");
	expect("COMMAND INFO ping\r\n",
	       "*1\r\n*10\r\n$4\r\nping\r\n:-1\r\n*1\r\n+fast\r\n:0\r\n:0\r\n:0\r\n*2\r\n"
	       "+@fast\r\n+@connection\r\n*0\r\n*0\r\n*0\r\n");
	expect("COMMAND DOCS echo nosuch\r\n",
	       "*2\r\n$4\r\necho\r\n*6\r\n$7\r\nsummary\r\n$21\r\nEcho the given string\r\n"
	       "$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n");
	feed(cl, "COMMAND DOCS\r\n");
	snprintf(want, sizeof(want), "*%zu\r\n", 2 * rs_cmd_count());
	assert_memory_equal(take(cl), want, strlen(want));
	feed(cl, "COMMAND\r\n");
	snprintf(want, sizeof(want), "*%zu\r\n*10\r\n", rs_cmd_count());
	assert_memory_equal(take(cl), want, strlen(want));
	expect("COMMAND FOO\r\n", "-ERR unknown subcommand 'FOO'. Try COMMAND HELP.\r\n");
	/* GETKEYS: redis-server 7.0's answers */
	expect("COMMAND GETKEYS mset a 1 b\r\n", "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
	expect("COMMAND GETKEYS del a b c\r\n", "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n");
	expect("COMMAND GETKEYS SET a b\r\n", "*1\r\n$1\r\na\r\n");
	expect("COMMAND GETKEYS object encoding a\r\n", "*1\r\n$1\r\na\r\n");
	expect("COMMAND GETKEYS get\r\n",
	       "-ERR wrong number of arguments for 'command|getkeys' command\r\n");
	expect("COMMAND GETKEYS nosuch a\r\n", "-ERR Invalid command specified\r\n");
	expect("COMMAND GETKEYS get a b\r\n",
	       "-ERR Invalid number of arguments specified for command\r\n");
	expect("COMMAND GETKEYS scan 0\r\n", "-ERR The command has no key arguments\r\n");
	expect("COMMAND GETKEYS config get a\r\n", "-ERR The command has no key arguments\r\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arg_int),
		cmocka_unit_test(test_arg_double),
		cmocka_unit_test(test_double_vs_libc),
		cmocka_unit_test(test_fmt_double),
		cmocka_unit_test(test_fmt_double_small_buffer),
		cmocka_unit_test(test_incrbyfloat_form),
		cmocka_unit_test(test_ldouble_vs_libc),
		cmocka_unit_test(test_hex_and_range_vs_libc),
		cmocka_unit_test(test_glob),
		cmocka_unit_test(test_arg_eq),
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_pipeline_whole),
		T(test_every_split),
		T(test_byte_at_a_time),
		T(test_crlf_not_checked),
		T(test_inline),
		T(test_nul_hides_line_end),
		T(test_protocol_errors),
		T(test_floods),
		T(test_big_bulk_count_line),
		T(test_huge_lengths_not_allocated),
		T(test_other_clients_carry_on),
		T(test_output_limit),
		T(test_query_limit),
		T(test_out_of_memory_reading),
		T(test_unknown_and_arity),
		T(test_unknown_long_args),
		T(test_stats),
		T(test_maxmemory),
		T(test_propagate),
		T(test_max_clients),
		T(test_ping_echo_quit),
		T(test_hello),
		T(test_client),
		T(test_select_time_dbsize),
		T(test_config_get),
		T(test_config_set),
		T(test_config_cap),
		T(test_info),
		T(test_command),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
