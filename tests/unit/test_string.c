/*
 * Unit tests for kernel/lib/string.c.
 *
 * Built with -DVESTA_STRING_RENAME, so the functions under test are
 * vs_memcpy and so on and do not clash with the host libc; every call of a
 * standard name in this file goes to them. The expected results come from
 * byte-by-byte oracles written here. Buffers are heap blocks of the exact
 * size so AddressSanitizer catches any read or write past them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "string.h"

#define SPAN 80 /* lengths tried: 0 .. SPAN-1 */
#define OFFS 16 /* alignments tried: 0 .. OFFS-1 */
#define BUF (OFFS + SPAN + OFFS)

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed * 131 + i * 7 + 1);
}

static void assert_bytes(const unsigned char *a, const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(a[i], b[i]);
}

static void test_memcpy(void **state)
{
	unsigned char *src = malloc(BUF), *dst = malloc(BUF), *want = malloc(BUF);

	(void)state;
	for (size_t so = 0; so < OFFS; so++)
		for (size_t d = 0; d < OFFS; d++)
			for (size_t n = 0; n < SPAN; n++) {
				fill(src, BUF, 1);
				fill(dst, BUF, 2);
				fill(want, BUF, 2);
				for (size_t i = 0; i < n; i++)
					want[d + i] = src[so + i];
				assert_ptr_equal(memcpy(dst + d, src + so, n), dst + d);
				assert_bytes(dst, want, BUF);
			}
	free(src);
	free(dst);
	free(want);
}

static void test_memmove(void **state)
{
	unsigned char *buf = malloc(BUF), *want = malloc(BUF), *tmp = malloc(BUF);

	(void)state;
	/* Both directions, every overlap, every alignment. */
	for (size_t s = 0; s < 2 * OFFS; s++)
		for (size_t d = 0; d < 2 * OFFS; d++)
			for (size_t n = 0; n + 2 * OFFS <= BUF; n++) {
				fill(buf, BUF, 3);
				fill(want, BUF, 3);
				for (size_t i = 0; i < n; i++)
					tmp[i] = want[s + i];
				for (size_t i = 0; i < n; i++)
					want[d + i] = tmp[i];
				assert_ptr_equal(memmove(buf + d, buf + s, n), buf + d);
				assert_bytes(buf, want, BUF);
			}
	free(buf);
	free(want);
	free(tmp);
}

static void test_memset(void **state)
{
	unsigned char *buf = malloc(BUF), *want = malloc(BUF);

	(void)state;
	for (size_t d = 0; d < OFFS; d++)
		for (size_t n = 0; n < SPAN; n++) {
			fill(buf, BUF, 4);
			fill(want, BUF, 4);
			for (size_t i = 0; i < n; i++)
				want[d + i] = 0xab;
			/* Only the low byte of c counts. */
			assert_ptr_equal(memset(buf + d, 0x7ab, n), buf + d);
			assert_bytes(buf, want, BUF);
		}
	fill(buf, BUF, 4);
	memset(buf, 0, BUF);
	for (size_t i = 0; i < BUF; i++)
		assert_int_equal(buf[i], 0);
	free(buf);
	free(want);
}

static void test_memcmp(void **state)
{
	unsigned char a[] = { 1, 2, 3, 0x80 };
	unsigned char b[] = { 1, 2, 3, 0x01 };

	(void)state;
	assert_int_equal(memcmp(a, b, 0), 0);
	assert_int_equal(memcmp(a, b, 3), 0);
	/* Bytes compare as unsigned: 0x80 > 0x01. */
	assert_true(memcmp(a, b, 4) > 0);
	assert_true(memcmp(b, a, 4) < 0);
	assert_int_equal(memcmp(a, a, 4), 0);
}

/* A heap copy of s with no byte after its NUL, or none at all. */
static char *exact(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);

	for (size_t i = 0; i < n; i++)
		p[i] = s[i];
	return p;
}

static void test_strlen(void **state)
{
	char *s = exact("hello", 6);
	char *unterminated = exact("abc", 3);

	(void)state;
	assert_int_equal(strlen(""), 0);
	assert_int_equal(strlen(s), 5);
	assert_int_equal(strnlen(s, 0), 0);
	assert_int_equal(strnlen(s, 3), 3);
	assert_int_equal(strnlen(s, 5), 5);
	assert_int_equal(strnlen(s, 100), 5);
	/* Reads no byte past max: ASan would trip on s[3]. */
	assert_int_equal(strnlen(unterminated, 3), 3);
	free(s);
	free(unterminated);
}

static void test_strcmp(void **state)
{
	(void)state;
	assert_int_equal(strcmp("", ""), 0);
	assert_int_equal(strcmp("abc", "abc"), 0);
	assert_true(strcmp("abc", "abd") < 0);
	assert_true(strcmp("abd", "abc") > 0);
	assert_true(strcmp("ab", "abc") < 0);
	assert_true(strcmp("abc", "ab") > 0);
	assert_true(strcmp("\x80", "\x01") > 0);

	assert_int_equal(strncmp("abc", "abd", 0), 0);
	assert_int_equal(strncmp("abc", "abd", 2), 0);
	assert_true(strncmp("abc", "abd", 3) < 0);
	assert_int_equal(strncmp("abc", "abc", 10), 0);
	assert_true(strncmp("ab", "abc", 10) < 0);
	assert_true(strncmp("\xff", "a", 1) > 0);
	/* Stops at the NUL: nothing after it is compared. */
	assert_int_equal(strncmp("ab\0x", "ab\0y", 4), 0);
}

static void test_strlcpy(void **state)
{
	char dst[8];

	(void)state;
	memset(dst, 'z', sizeof(dst));
	assert_int_equal(strlcpy(dst, "hello", 0), 5);
	assert_int_equal(dst[0], 'z'); /* size 0 writes nothing */

	assert_int_equal(strlcpy(dst, "hello", 1), 5);
	assert_string_equal(dst, "");

	assert_int_equal(strlcpy(dst, "hello", 4), 5);
	assert_string_equal(dst, "hel");

	memset(dst, 'z', sizeof(dst));
	assert_int_equal(strlcpy(dst, "hello", 6), 5);
	assert_string_equal(dst, "hello");
	assert_int_equal(dst[6], 'z'); /* nothing past the NUL */

	assert_int_equal(strlcpy(dst, "", sizeof(dst)), 0);
	assert_string_equal(dst, "");

	assert_int_equal(strlcpy(dst, "a longer string", sizeof(dst)), 15);
	assert_string_equal(dst, "a longe");
}

static void test_strchr(void **state)
{
	const char *s = "abcab\xe9";

	(void)state;
	assert_ptr_equal(strchr(s, 'a'), s);
	assert_ptr_equal(strchr(s, 'b'), s + 1);
	assert_ptr_equal(strchr(s, 'z'), NULL);
	assert_ptr_equal(strchr(s, '\0'), s + 6);
	/* c is converted to char, so 0xe9 and (char)0xe9 both match. */
	assert_ptr_equal(strchr(s, 0xe9), s + 5);
	assert_ptr_equal(strchr(s, (char)0xe9), s + 5);
	assert_ptr_equal(strchr("", 'a'), NULL);
}

static void test_memchr(void **state)
{
	const char s[] = "ab\0b\xe9";

	(void)state;
	assert_ptr_equal(memchr(s, 'b', 5), s + 1);
	assert_ptr_equal(memchr(s, '\0', 5), s + 2); /* NUL is a byte like any */
	assert_ptr_equal(memchr(s, 0xe9, 5), s + 4);
	assert_ptr_equal(memchr(s, (char)0xe9, 5), s + 4);
	assert_ptr_equal(memchr(s, 0xe9, 4), NULL); /* n bytes only */
	assert_ptr_equal(memchr(s, 'a', 0), NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memcpy),	cmocka_unit_test(test_memmove),
		cmocka_unit_test(test_memset),	cmocka_unit_test(test_memcmp),
		cmocka_unit_test(test_strlen),	cmocka_unit_test(test_strcmp),
		cmocka_unit_test(test_strlcpy), cmocka_unit_test(test_strchr),
		cmocka_unit_test(test_memchr),
	};

	return cmocka_run_group_tests_name("string", tests, NULL, NULL);
}
