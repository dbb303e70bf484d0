/*
 * Unit tests for kernel/lib/fmt.c.
 *
 * Where fmt follows C99, its output is compared with the host's vsnprintf:
 * a table of chosen cases, then many random directives from a fixed seed.
 * Every comparison is repeated with buffer sizes that cut the output, to
 * check the return value and the NUL. Where fmt differs on purpose (%p,
 * NULL %s with a precision, unknown conversions, errors), the expected
 * text is written out.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "fmt.h"
#include <vesta/abi.h>

#define OUT_MAX 512

static bool same_bytes(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/* Format with both into size bytes and insist on the same result. */
static void compare_size(size_t size, const char *fmt, va_list ap)
{
	char want[OUT_MAX], got[OUT_MAX];
	va_list a1, a2;
	int rw, rg;

	for (size_t i = 0; i < OUT_MAX; i++) {
		want[i] = 'W';
		got[i] = 'W';
	}
	va_copy(a1, ap);
	va_copy(a2, ap);
	rw = vsnprintf(size ? want : NULL, size, fmt, a1);
	rg = fmt_vsnprintf(size ? got : NULL, size, fmt, a2);
	va_end(a1);
	va_end(a2);
	/* Compare every byte written, the NUL and one past it. */
	if (rw != rg || !same_bytes(want, got, OUT_MAX)) {
		print_error("format \"%s\" size %zu: want %d \"%.*s\", got %d "
			    "\"%.*s\"\n",
			    fmt, size, rw, rw, want, rg, rg, got);
		fail();
	}
}

/*
 * Compare fmt with the host for fmt and its arguments, whole and cut to a
 * few sizes.
 */
static void vcompare(const char *fmt, va_list ap)
{
	va_list a;
	int len;

	va_copy(a, ap);
	len = vsnprintf(NULL, 0, fmt, a);
	va_end(a);
	assert_true(len >= 0 && len < OUT_MAX - 1);

	size_t sizes[] = { 0, 1, 2, (size_t)len / 2, (size_t)len, (size_t)len + 1, OUT_MAX };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		compare_size(sizes[i], fmt, ap);
}

static void __attribute__((format(printf, 1, 2))) same(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vcompare(fmt, ap);
	va_end(ap);
}

/*
 * same() for the cases GCC's -Wformat frowns on although C defines them
 * ('+' on %u, ' ' with '+', NULL %s in glibc, ...): no format attribute.
 */
static void same_unchecked(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vcompare(fmt, ap);
	va_end(ap);
}

/* fmt's own output for fmt, whole; checks the return value too. */
static void vexpect(const char *want, const char *fmt, va_list ap)
{
	char got[OUT_MAX];
	size_t n = 0;

	while (want[n] != '\0')
		n++;
	assert_int_equal(fmt_vsnprintf(got, sizeof(got), fmt, ap), n);
	assert_string_equal(got, want);
}

static void __attribute__((format(printf, 2, 3))) expect(const char *want, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vexpect(want, fmt, ap);
	va_end(ap);
}

/* expect() without the compiler's format check, like same_unchecked(). */
static void expect_unchecked(const char *want, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vexpect(want, fmt, ap);
	va_end(ap);
}

static void test_integers(void **state)
{
	(void)state;
	same("%d %i %u", 0, -1, 0u);
	same("%d %d", INT32_MAX, INT32_MIN);
	same("%u %x %X %o", UINT32_MAX, UINT32_MAX, 0xabcdefu, 0777u);
	same_unchecked("[%5d][%-5d][%05d][%+d][% d][%+ d]", 42, 42, 42, 42, 42, 42);
	same("[%5d][%-5d][%05d][%+d][% d]", -42, -42, -42, -42, -42);
	same("[%.3d][%.0d][%.0d][%5.0d][%-5.0d]", 7, 0, 1, 0, 0);
	same_unchecked("[%08.3d][%-08d][%+08d][% 08d]", 5, 5, 5, 5);
	same("[%#x][%#X][%#o][%#x][%#o]", 255u, 255u, 8u, 0u, 0u);
	same("[%#.0o][%#.0x][%#5o][%#05x][%#-8x]", 0u, 0u, 8u, 10u, 10u);
	same("[%#.3o][%#.4o][%#10.4x][%#010x]", 8u, 8u, 0x1fu, 0x1fu);
	same_unchecked("[%+u][% u][%+x][% o]", 3u, 3u, 3u, 3u);
	same_unchecked("%hhd %hhd %hhu %hhx", 127, 128, 511, -1);
	same_unchecked("%hd %hd %hu %hx", 32767, 32768, 70000, -1);
	same("%ld %lu %lx", (long)INT64_MIN, (unsigned long)UINT64_MAX,
	     (unsigned long)0xdeadbeefcafeull);
	same("%lld %llu %llo", (long long)INT64_MIN, (unsigned long long)-1,
	     (unsigned long long)-1);
	same("%zu %zx %zd", (size_t)-1, (size_t)4096, (size_t)12);
	same("%td %tu %tx", (ptrdiff_t)-5, (ptrdiff_t)5, (ptrdiff_t)-1);
	same("%jd %ju %jX", (intmax_t)INT64_MIN, (uintmax_t)UINT64_MAX, (uintmax_t)0xabcull);
	same("[%*d][%-*d][%*d]", 6, 1, 6, 2, -6, 3);
	same("[%.*d][%.*d][%*.*d]", 4, 9, -1, 9, 8, 3, -7);
	same_unchecked("[%020.15lld]", (long long)-123456789);
	same("[%.40u]", 1u);
}

static void test_chars_strings(void **state)
{
	(void)state;
	same("[%c][%5c][%-5c]", 'a', 'b', 'c');
	same("a%cb", 0); /* a NUL byte counts like any other */
	same("[%s][%s][%10s][%-10s]", "", "abc", "abc", "abc");
	same("[%.0s][%.2s][%.10s][%5.1s][%-5.1s]", "abc", "abc", "abc", "abc", "abc");
	same("[%*s][%-*s][%.*s][%.*s]", 4, "x", 4, "x", 2, "abcd", -1, "abcd");
	same_unchecked("[%s]", (const char *)NULL);
	same("100%% [%%] %s%%", "x");
	same("no directives at all");
	same("%s", "");
	same_unchecked("");
}

static void test_width_large(void **state)
{
	(void)state;
	same("[%300d]", 1);
	same("[%-300s]", "left");
	same("[%.300d]", -1);
	same("[%0300x]", 0xffu);
	/* Past the buffer: only the count and the cut prefix matter. */
	expect("", "%.0s", "x");
	assert_int_equal(fmt_snprintf(NULL, 0, "%100000d", 1), 100000);
	assert_int_equal(fmt_snprintf(NULL, 0, "%.*d", 70000, 1), 70000);
}

static void test_pointer(void **state)
{
	(void)state;
	expect("0x0000000000000000", "%p", (void *)0);
	expect("0x00000000deadbeef", "%p", (void *)0xdeadbeefu);
	expect("0xffff800000001000", "%p", (void *)0xffff800000001000ull);
	expect("[    0x0000000000000010]", "[%22p]", (void *)0x10);
	expect("[0x0000000000000010    ]", "[%-22p]", (void *)0x10);
	expect("[0x0000000000000010]", "[%5p]", (void *)0x10);
}

static void test_fmt_own_rules(void **state)
{
	(void)state;
	/* NULL %s is "(null)", cut like any string. */
	expect_unchecked("(null)", "%s", (const char *)NULL);
	expect_unchecked("(nu", "%.3s", (const char *)NULL);
	expect_unchecked("[  (null)]", "[%8s]", (const char *)NULL);
	/* The precision bounds the read: s need not end in a NUL. */
	char raw[3] = { 'a', 'b', 'c' };
	expect("abc", "%.3s", raw);
}

/* fmt_snprintf without the compiler's format check, for odd formats. */
static int snprintf_unchecked(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = fmt_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return r;
}

/* Unknown conversions and a '%' at the end print as written. */
static void test_unknown(void **state)
{
	char got[64];
	const char *f;
	int r;

	(void)state;
	f = "a%yb";
	assert_int_equal(snprintf_unchecked(got, sizeof(got), f), 4);
	assert_string_equal(got, "a%yb");
	f = "[%-5.2y]";
	assert_int_equal(snprintf_unchecked(got, sizeof(got), f), 8);
	assert_string_equal(got, "[%-5.2y]");
	f = "100%";
	assert_int_equal(snprintf_unchecked(got, sizeof(got), f), 4);
	assert_string_equal(got, "100%");
	f = "%-";
	assert_int_equal(snprintf_unchecked(got, sizeof(got), f), 2);
	assert_string_equal(got, "%-");
	/* %f is not supported and takes no argument: %d gets the 5. */
	f = "%f %d";
	assert_int_equal(snprintf_unchecked(got, sizeof(got), f, 5), 4);
	assert_string_equal(got, "%f 5");
	/* %n never writes. */
	int n = 99;
	f = "ab%n";
	r = snprintf_unchecked(got, sizeof(got), f, &n);
	assert_int_equal(r, 4);
	assert_string_equal(got, "ab%n");
	assert_int_equal(n, 99);
	/* Long double and wide strings are unknown too. */
	f = "%Lf|%ls";
	assert_int_equal(snprintf_unchecked(got, sizeof(got), f), 7);
	assert_string_equal(got, "%Lf|%ls");
	/* A '*' of an unknown conversion still takes its int. */
	f = "%*y%d";
	assert_int_equal(snprintf_unchecked(got, sizeof(got), f, 3, 4), 4);
	assert_string_equal(got, "%*y4");
}

static void test_errors(void **state)
{
	char got[8] = "xxxxxxx";

	(void)state;
	assert_int_equal(snprintf_unchecked(got, sizeof(got), NULL), -VE_INVAL);
	assert_int_equal(snprintf_unchecked(NULL, 4, "abc"), -VE_INVAL);
	assert_int_equal(fmt_snprintf(NULL, 0, "abc"), 3);
	/* Always NUL-terminated when size > 0. */
	assert_int_equal(fmt_snprintf(got, 1, "abc"), 3);
	assert_int_equal(got[0], '\0');
	assert_int_equal(got[1], 'x');
}

struct sink {
	char text[64];
	size_t len;
	int calls;
};

static void sink_emit(void *ctx, const char *s, size_t n)
{
	struct sink *k = ctx;

	assert_true(n > 0);
	assert_true(k->len + n < sizeof(k->text));
	for (size_t i = 0; i < n; i++)
		k->text[k->len++] = s[i];
	k->text[k->len] = '\0';
	k->calls++;
}

static int call_vcallback(void (*emit)(void *, const char *, size_t), void *ctx, const char *fmt,
			  ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = fmt_vcallback(emit, ctx, fmt, ap);
	va_end(ap);
	return r;
}

static void test_vcallback(void **state)
{
	struct sink k = { .len = 0, .calls = 0 };

	(void)state;
	assert_int_equal(call_vcallback(sink_emit, &k, "pid %d: %s%c", 12, "up", '!'), 11);
	assert_string_equal(k.text, "pid 12: up!");
	assert_int_equal(call_vcallback(NULL, &k, "x"), -VE_INVAL);
	k.calls = 0;
	assert_int_equal(call_vcallback(sink_emit, &k, ""), 0);
	assert_int_equal(k.calls, 0);
}

/*
 * More than INT_MAX bytes is an error, as in C. Both widths saturate at
 * INT_MAX, so this formats (and counts) 4 GiB of padding.
 */
static void test_overflow(void **state)
{
	char got[4];
	const char *f = "%2147483647d%99999999999d";

	(void)state;
	assert_int_equal(snprintf_unchecked(got, sizeof(got), f, 1, 2), -VE_RANGE);
	assert_string_equal(got, "   ");
}

/* A small fixed-seed generator, so a failure always repeats. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static uint64_t rnd_below(uint64_t n)
{
	return rnd() % n;
}

/* A random 64-bit value, often near an edge. */
static uint64_t rnd_value(void)
{
	static const uint64_t edges[] = {
		0,
		1,
		2,
		7,
		8,
		9,
		10,
		15,
		16,
		127,
		128,
		255,
		256,
		0x7fff,
		0x8000,
		0xffff,
		0x7fffffff,
		0x80000000,
		0xffffffff,
		0x7fffffffffffffff,
		0x8000000000000000,
		UINT64_MAX,
		UINT64_MAX - 1,
	};

	switch (rnd_below(4)) {
	case 0:
		return edges[rnd_below(sizeof(edges) / sizeof(edges[0]))];
	case 1:
		return rnd_below(1000);
	case 2:
		return 0 - rnd_below(1000);
	default:
		return rnd();
	}
}

/* Call vcompare with the star arguments that fmt asks for, then v. */
#define DEFINE_CALL(name, type)                                                                    \
	static void name(const char *fmt, int nstar, int s1, int s2, type v)                       \
	{                                                                                          \
		if (nstar == 2)                                                                    \
			call_compare(fmt, s1, s2, v);                                              \
		else if (nstar == 1)                                                               \
			call_compare(fmt, s1, v);                                                  \
		else                                                                               \
			call_compare(fmt, v);                                                      \
	}

static void call_compare(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vcompare(fmt, ap);
	va_end(ap);
}

DEFINE_CALL(call_int, int)
DEFINE_CALL(call_uint, unsigned int)
DEFINE_CALL(call_long, long)
DEFINE_CALL(call_ulong, unsigned long)
DEFINE_CALL(call_llong, long long)
DEFINE_CALL(call_ullong, unsigned long long)
DEFINE_CALL(call_size, size_t)
DEFINE_CALL(call_ptrdiff, ptrdiff_t)
DEFINE_CALL(call_intmax, intmax_t)
DEFINE_CALL(call_uintmax, uintmax_t)
DEFINE_CALL(call_str, const char *)

/* Append s to the format being built at f[*n]. */
static void add(char *f, size_t *n, const char *s)
{
	while (*s != '\0')
		f[(*n)++] = *s++;
	f[*n] = '\0';
}

/* Append a width or precision: none, digits, or '*' with a random int. */
static void add_number(char *f, size_t *n, int *stars, int *star_vals, int lo, int hi)
{
	char num[16];

	switch (rnd_below(3)) {
	case 0:
		return;
	case 1:
		snprintf(num, sizeof(num), "%d", (int)rnd_below(25));
		add(f, n, num);
		return;
	default:
		add(f, n, "*");
		star_vals[(*stars)++] = lo + (int)rnd_below((uint64_t)(hi - lo));
	}
}

/*
 * Build one random directive with only defined behaviour (no '#' on %d,
 * no '0' or precision on %c, no length on %c or %s) and compare it.
 */
static void random_case(void)
{
	static const char convs[] = "diuxXocs";
	static const char *const lens[] = { "", "hh", "h", "l", "ll", "z", "t", "j" };
	static const char *const strs[] = { "", "a", "hello", "0123456789",
					    "a somewhat longer string" };
	char conv = convs[rnd_below(sizeof(convs) - 1)];
	bool is_int = conv != 'c' && conv != 's';
	const char *flags = is_int ? "-0 +#" : "-";
	char f[64];
	size_t n = 0;
	int stars = 0, star_vals[2] = { 0, 0 };
	size_t li = is_int ? rnd_below(8) : 0;
	uint64_t v = rnd_value();

	add(f, &n, rnd_below(2) ? "<" : "");
	add(f, &n, "%");
	for (const char *p = flags; *p != '\0'; p++) {
		bool alt_ok = conv == 'x' || conv == 'X' || conv == 'o';

		if (*p == '#' && !alt_ok)
			continue;
		if (rnd_below(3) == 0) {
			char one[2] = { *p, '\0' };
			add(f, &n, one);
		}
	}
	add_number(f, &n, &stars, star_vals, -30, 30);
	if (conv != 'c' && rnd_below(2)) {
		add(f, &n, ".");
		add_number(f, &n, &stars, star_vals, -3, 30);
	}
	add(f, &n, lens[li]);
	f[n++] = conv;
	f[n] = '\0';
	add(f, &n, rnd_below(2) ? ">" : "");

	int s1 = star_vals[0], s2 = star_vals[1];
	bool sgn = conv == 'd' || conv == 'i';

	if (conv == 's') {
		call_str(f, stars, s1, s2, strs[rnd_below(5)]);
		return;
	}
	if (conv == 'c') {
		call_int(f, stars, s1, s2, (int)(v & 0xff));
		return;
	}
	switch (li) {
	case 3:
		sgn ? call_long(f, stars, s1, s2, (long)v)
		    : call_ulong(f, stars, s1, s2, (unsigned long)v);
		break;
	case 4:
		sgn ? call_llong(f, stars, s1, s2, (long long)v)
		    : call_ullong(f, stars, s1, s2, (unsigned long long)v);
		break;
	case 5:
		call_size(f, stars, s1, s2, (size_t)v);
		break;
	case 6:
		call_ptrdiff(f, stars, s1, s2, (ptrdiff_t)v);
		break;
	case 7:
		sgn ? call_intmax(f, stars, s1, s2, (intmax_t)v)
		    : call_uintmax(f, stars, s1, s2, (uintmax_t)v);
		break;
	default: /* none, hh, h: an int as passed after promotion */
		sgn ? call_int(f, stars, s1, s2, (int)v)
		    : call_uint(f, stars, s1, s2, (unsigned int)v);
		break;
	}
}

static void test_random(void **state)
{
	(void)state;
	for (int i = 0; i < 50000; i++)
		random_case();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_integers),      cmocka_unit_test(test_chars_strings),
		cmocka_unit_test(test_width_large),   cmocka_unit_test(test_pointer),
		cmocka_unit_test(test_fmt_own_rules), cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_errors),	      cmocka_unit_test(test_vcallback),
		cmocka_unit_test(test_overflow),      cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests_name("fmt", tests, NULL, NULL);
}
