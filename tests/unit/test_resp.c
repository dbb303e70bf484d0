/*
 * kv's Redis protocol layer (svc/kv/resp.c, cmd.c, cmd_server.c, util.c)
 * against the bytes Redis 7.0 sends: number parsing and formatting, the
 * reply encoder, framing across every split, the protocol errors, and
 * each server command's reply.
 */
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

static struct rs_arg A(const char *s)
{
	struct rs_arg a = { (const uint8_t *)s, strlen(s) };
	return a;
}

static void test_arg_int(void **state)
{
	static const char *good[] = { "0", "1", "-1", "9223372036854775807", "-9223372036854775808",
				      "123" };
	static const int64_t want[] = { 0, 1, -1, INT64_MAX, INT64_MIN, 123 };
	static const char *bad[] = { "", "-", "+1", " 1", "1 ", "01", "-0", "00",
				     "9223372036854775808", "-9223372036854775809", "1a", "1.0",
				     "18446744073709551616", "99999999999999999999" };
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
	static const char *bad[] = { "", " 1", "1 ", "nan", "NaN", "-nan", "1e", "1e+", ".", "-",
				     "+", "e5", "1e400", "-1e400", "1e-400", "0x10", "inf ", "in",
				     "infinit", "1..2", "1.2.3", "--1" };
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arg_int),	    cmocka_unit_test(test_arg_double),
		cmocka_unit_test(test_double_vs_libc), cmocka_unit_test(test_fmt_double),
		cmocka_unit_test(test_fmt_double_small_buffer), cmocka_unit_test(test_glob),
		cmocka_unit_test(test_arg_eq),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
