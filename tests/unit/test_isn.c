/* Host tests of svc/net/isn.c: SipHash-2-4 against the reference vectors
 * of its paper, and RFC 6528's initial sequence numbers (a keyed hash of
 * the 4-tuple plus a 4-us clock). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "isn.h"

/* The paper's key: bytes 00 01 .. 0f. */
static const uint64_t ref_key[2] = { 0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull };

static void test_siphash_vectors(void **state)
{
	uint8_t msg[64];

	(void)state;
	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	assert_int_equal(siphash24(ref_key, msg, 0), 0x726fdb47dd0e0e31ull);
	assert_int_equal(siphash24(ref_key, msg, 15), 0xa129ca6149be45e5ull);
}

/* Every length 0..63 gives a different hash, and so does every key bit. */
static void test_siphash_spreads(void **state)
{
	uint8_t msg[64] = { 0 };
	uint64_t seen[64];

	(void)state;
	for (size_t n = 0; n < 64; n++) {
		seen[n] = siphash24(ref_key, msg, n);
		for (size_t j = 0; j < n; j++)
			assert_true(seen[j] != seen[n]);
	}
	for (int b = 0; b < 128; b++) {
		uint64_t k[2] = { ref_key[0], ref_key[1] };

		k[b / 64] ^= 1ull << (b % 64);
		assert_true(siphash24(k, msg, 12) != siphash24(ref_key, msg, 12));
	}
}

/* M: the same tuple a tick later is one more; 4 ms later, 1000 more. */
static void test_isn_clock(void **state)
{
	uint64_t t = 123456788000ull; /* on a tick */
	uint32_t a = isn_make(ref_key, 0x0f02000a, 7, 0x0202000a, 40000, t);

	(void)state;
	assert_int_equal(isn_make(ref_key, 0x0f02000a, 7, 0x0202000a, 40000, t + 3999), a);
	assert_int_equal(isn_make(ref_key, 0x0f02000a, 7, 0x0202000a, 40000, t + ISN_TICK_NS),
			 a + 1);
	assert_int_equal(isn_make(ref_key, 0x0f02000a, 7, 0x0202000a, 40000, t + 4000000),
			 a + 1000);
}

/* F: any change of the tuple or the secret moves the ISN far (not by a
 * clock's few ticks), and two tuples never share an offset. */
static void test_isn_tuple(void **state)
{
	uint64_t t = 5000000;
	uint32_t base = isn_make(ref_key, 0x0f02000a, 7, 0x0202000a, 40000, t);
	uint32_t v[5] = {
		isn_make(ref_key, 0x0f02000b, 7, 0x0202000a, 40000, t),
		isn_make(ref_key, 0x0f02000a, 8, 0x0202000a, 40000, t),
		isn_make(ref_key, 0x0f02000a, 7, 0x0302000a, 40000, t),
		isn_make(ref_key, 0x0f02000a, 7, 0x0202000a, 40001, t),
		isn_make((const uint64_t[2]){ ref_key[0] + 1, ref_key[1] }, 0x0f02000a, 7,
			 0x0202000a, 40000, t),
	};

	(void)state;
	for (int i = 0; i < 5; i++) {
		uint32_t d = v[i] - base;

		assert_true(d > 1000000 && d < 0xffffffffu - 1000000);
	}
}

/* A restarted stack with the same secret, later on the clock, is past the
 * numbers of the one before for the same tuple (no reuse). */
static void test_isn_restart(void **state)
{
	uint32_t before = isn_make(ref_key, 1, 7, 2, 3, 10000000000ull);
	uint32_t after = isn_make(ref_key, 1, 7, 2, 3, 10050000000ull);

	(void)state;
	assert_int_equal(after - before, 50000000ull / ISN_TICK_NS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash_vectors), cmocka_unit_test(test_siphash_spreads),
		cmocka_unit_test(test_isn_clock),	cmocka_unit_test(test_isn_tuple),
		cmocka_unit_test(test_isn_restart),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
