/* Host tests of num_parse (kernel/lib/num.c), the number parser of the
 * policy language and the boot manifest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "num.h"

static bool parse(const char *s, bool hex_ok, uint64_t max, uint64_t *out)
{
	return num_parse(s, strlen(s), hex_ok, max, out);
}

static void test_accepts(void **state)
{
	(void)state;
	uint64_t v = 0;
	assert_true(parse("0", false, 10, &v) && v == 0);
	assert_true(parse("4096", false, 4096, &v) && v == 4096);
	assert_true(parse("0x3f8", true, 0xffff, &v) && v == 0x3f8);
	assert_true(parse("0XFFFF", true, 0xffff, &v) && v == 0xffff);
	assert_true(parse("18446744073709551615", false, UINT64_MAX, &v) && v == UINT64_MAX);
	assert_true(parse("0xffffffffffffffff", true, UINT64_MAX, &v) && v == UINT64_MAX);
}

static void test_refuses(void **state)
{
	(void)state;
	uint64_t v = 77;
	const char *bad[] = { "", "0x", "-1", " 1", "1 ", "12a", "0x3g", "ff" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(parse(bad[i], true, UINT64_MAX, &v));
	assert_false(parse("0x10", false, 100, &v));  /* hex only when allowed */
	assert_false(parse("4097", false, 4096, &v)); /* one past max */
	assert_false(parse("9", false, 5, &v));	      /* a digit above max */
	assert_false(parse("18446744073709551616", false, UINT64_MAX, &v)); /* 2^64 */
	assert_false(parse("0x10000000000000000", true, UINT64_MAX, &v));
	assert_int_equal(v, 77); /* untouched on failure */
}

static void test_length_bounds_the_text(void **state)
{
	(void)state;
	uint64_t v = 0;
	assert_true(num_parse("123xyz", 3, false, 1000, &v) && v == 123);
	assert_false(num_parse("123", 0, false, 1000, &v));
}

static void test_bare_hex(void **state)
{
	(void)state;
	uint64_t v = 0;
	assert_true(num_parse_hex("8086", 4, 0xffff, &v) && v == 0x8086);
	assert_true(num_parse_hex("100E", 4, 0xffff, &v) && v == 0x100e);
	assert_false(num_parse_hex("0x10", 4, 0xffff, &v)); /* no prefix here */
	assert_false(num_parse_hex("100g", 4, 0xffff, &v));
	assert_false(num_parse_hex("ffff", 4, 0xfffe, &v));
	assert_false(num_parse_hex("", 0, 0xffff, &v));
	assert_int_equal(v, 0x100e); /* untouched on failure */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_refuses),
		cmocka_unit_test(test_length_bounds_the_text),
		cmocka_unit_test(test_bare_hex),
	};
	return cmocka_run_group_tests_name("num", tests, NULL, NULL);
}
