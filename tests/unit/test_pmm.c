/*
 * Unit tests for kernel/pmm: the physical frame bitmap allocator.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pmm.h"
#include <vesta/abi.h>

#define FRAME PMM_FRAME_SIZE
#define NFRAMES_BIG 4096u

static uint64_t bitmap[NFRAMES_BIG / 64 + 1];

static void setup_pmm(struct pmm *p, uint64_t nframes)
{
	assert_int_equal(pmm_init(p, bitmap, sizeof(bitmap), nframes), 0);
}

/* Small deterministic PRNG so every run sees the same sequence. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static void test_bitmap_bytes(void **state)
{
	(void)state;
	assert_int_equal(pmm_bitmap_bytes(0), 0);
	assert_int_equal(pmm_bitmap_bytes(1), 8);
	assert_int_equal(pmm_bitmap_bytes(64), 8);
	assert_int_equal(pmm_bitmap_bytes(65), 16);
	assert_int_equal(pmm_bitmap_bytes(1u << 20), (1u << 20) / 8);
}

static void test_init_errors(void **state)
{
	struct pmm p;
	uint64_t a;

	(void)state;
	assert_int_equal(pmm_init(&p, bitmap, 8, 65), -VE_RANGE);
	assert_int_equal(pmm_init(&p, bitmap, sizeof(bitmap), PMM_MAX_FRAMES + 1), -VE_RANGE);
	assert_int_equal(pmm_init(&p, NULL, 64, 10), -VE_INVAL);
	assert_int_equal(pmm_init(NULL, bitmap, 64, 10), -VE_INVAL);
	assert_int_equal(pmm_init(&p, (char *)bitmap + 1, 64, 10), -VE_INVAL);

	/* Everything starts reserved. */
	setup_pmm(&p, 100);
	assert_int_equal(p.nfree, 0);
	assert_int_equal(p.ntotal, 0);
	assert_int_equal(pmm_alloc(&p, &a), -VE_NOMEM);
	assert_int_equal(pmm_alloc_contig(&p, 1, 1, &a), -VE_NOMEM);
	assert_int_equal(pmm_alloc(&p, NULL), -VE_INVAL);
}

static void test_release_rounds_inward(void **state)
{
	struct pmm p;
	uint64_t a, b;

	(void)state;
	setup_pmm(&p, 100);
	/* [0x1800, 0x4800) holds whole frames 2 and 3 only. */
	pmm_release(&p, 0x1800, 0x3000);
	assert_int_equal(p.nfree, 2);
	assert_int_equal(p.ntotal, 2);
	/* Less than one whole frame: nothing. */
	pmm_release(&p, 0x10010, 0xff0);
	pmm_release(&p, 0x20000, 0);
	assert_int_equal(p.ntotal, 2);
	/* Releasing again counts nothing. */
	pmm_release(&p, 0x2000, 0x2000);
	assert_int_equal(p.ntotal, 2);
	assert_int_equal(pmm_alloc(&p, &a), 0);
	assert_int_equal(pmm_alloc(&p, &b), 0);
	assert_true((a == 0x2000 && b == 0x3000) || (a == 0x3000 && b == 0x2000));
	assert_int_equal(pmm_alloc(&p, &a), -VE_NOMEM);
}

static void test_release_clips_and_skips_frame0(void **state)
{
	struct pmm p;
	uint64_t a;
	unsigned i;

	(void)state;
	setup_pmm(&p, 100);
	/* Way past the end, and wrapping 2^64: clipped, no crash. */
	pmm_release(&p, 0, UINT64_MAX);
	assert_int_equal(p.nfree, 99);
	assert_int_equal(p.ntotal, 99);
	pmm_release(&p, UINT64_MAX - 10, 100);
	pmm_reserve(&p, UINT64_MAX - 10, 100);
	pmm_release(&p, 1000 * FRAME, 10 * FRAME);
	assert_int_equal(p.ntotal, 99);

	/* Every frame handed out is in [1, 100): never 0, never the tail. */
	for (i = 0; i < 99; i++) {
		assert_int_equal(pmm_alloc(&p, &a), 0);
		assert_true(a >= FRAME && a < 100 * FRAME);
		assert_int_equal(a % FRAME, 0);
	}
	assert_int_equal(pmm_alloc(&p, &a), -VE_NOMEM);
	assert_int_equal(p.nfree, 0);
}

static void test_reserve_rounds_outward(void **state)
{
	struct pmm p;
	uint64_t a;

	(void)state;
	setup_pmm(&p, 64);
	pmm_release(&p, 0, 64 * FRAME);
	assert_int_equal(p.ntotal, 63);
	/* Two bytes straddling frames 2 and 3 take both. */
	pmm_reserve(&p, 0x2fff, 2);
	assert_int_equal(p.nfree, 61);
	assert_int_equal(p.ntotal, 61);
	/* Reserving again changes nothing. */
	pmm_reserve(&p, 0x2000, 0x2000);
	assert_int_equal(p.ntotal, 61);
	/* Zero length reserves nothing. */
	pmm_reserve(&p, 0x5000, 0);
	assert_int_equal(p.ntotal, 61);
	/* Hole in the middle: reserve frames 10..19, check none is given. */
	pmm_reserve(&p, 10 * FRAME + 1, 10 * FRAME - 1);
	assert_int_equal(p.ntotal, 51);
	while (pmm_alloc(&p, &a) == 0) {
		uint64_t f = a / FRAME;

		assert_true(f != 0 && f != 2 && f != 3);
		assert_false(f >= 10 && f < 20);
	}
	assert_int_equal(p.nfree, 0);
	assert_int_equal(p.ntotal, 51);
}

static void test_exhaust_and_reuse(void **state)
{
	static uint8_t seen[NFRAMES_BIG];
	struct pmm p;
	uint64_t a;
	unsigned i;

	(void)state;
	memset(seen, 0, sizeof(seen));
	setup_pmm(&p, NFRAMES_BIG);
	pmm_release(&p, 0, NFRAMES_BIG * FRAME);
	for (i = 0; i < NFRAMES_BIG - 1; i++) {
		assert_int_equal(pmm_alloc(&p, &a), 0);
		assert_int_not_equal(a, 0);
		assert_int_equal(seen[a / FRAME], 0);
		seen[a / FRAME] = 1;
	}
	assert_int_equal(pmm_alloc(&p, &a), -VE_NOMEM);
	/* A frame below the hint is still found (the search wraps). */
	assert_int_equal(pmm_free(&p, 5 * FRAME), 0);
	assert_int_equal(pmm_alloc(&p, &a), 0);
	assert_int_equal(a, 5 * FRAME);
	assert_int_equal(pmm_alloc(&p, &a), -VE_NOMEM);
}

static void test_free_errors(void **state)
{
	struct pmm p;
	uint64_t a, b;

	(void)state;
	setup_pmm(&p, 128);
	pmm_release(&p, 0, 128 * FRAME);
	assert_int_equal(pmm_alloc(&p, &a), 0);
	assert_int_equal(pmm_alloc(&p, &b), 0);
	/* Nothing allocated beyond a and b: any other frame is free. */
	assert_int_equal(pmm_free(&p, 0), -VE_INVAL);
	assert_int_equal(pmm_free(&p, a + 1), -VE_INVAL);
	assert_int_equal(pmm_free(&p, 128 * FRAME), -VE_INVAL);
	assert_int_equal(pmm_free(&p, UINT64_MAX & ~(FRAME - 1)), -VE_INVAL);
	assert_int_equal(pmm_free(&p, a), 0);
	/* Double free: detected, counters unchanged. */
	assert_int_equal(p.nfree, 126);
	assert_int_equal(pmm_free(&p, a), -VE_INVAL);
	assert_int_equal(p.nfree, 126);
	assert_int_equal(pmm_free(&p, b), 0);
	assert_int_equal(p.nfree, p.ntotal);
	/* A reserved frame cannot be "freed" into the pool. */
	setup_pmm(&p, 128);
	pmm_release(&p, 64 * FRAME, 64 * FRAME);
	assert_int_equal(pmm_free(&p, 3 * FRAME), -VE_INVAL);
	assert_int_equal(p.nfree, 64);
}

static void test_contig_alignment(void **state)
{
	struct pmm p;
	uint64_t a, b;

	(void)state;
	setup_pmm(&p, 1024);
	pmm_release(&p, 0, 1024 * FRAME);
	assert_int_equal(pmm_alloc_contig(&p, 0, 1, &a), -VE_INVAL);
	assert_int_equal(pmm_alloc_contig(&p, 1, 0, &a), -VE_INVAL);
	assert_int_equal(pmm_alloc_contig(&p, 1, 3, &a), -VE_INVAL);
	assert_int_equal(pmm_alloc_contig(&p, 1, 1, NULL), -VE_INVAL);
	assert_int_equal(pmm_alloc_contig(&p, 1, 2048, &a), -VE_NOMEM);
	assert_int_equal(pmm_alloc_contig(&p, 1024, 1, &a), -VE_NOMEM);

	/* Frame 0 is reserved, so an 8-aligned run of 8 starts at 8. */
	assert_int_equal(pmm_alloc_contig(&p, 8, 8, &a), 0);
	assert_int_equal(a, 8 * FRAME);
	assert_int_equal(p.nfree, 1023 - 8);
	/* Unaligned run of 3 fits below it. */
	assert_int_equal(pmm_alloc_contig(&p, 3, 1, &b), 0);
	assert_int_equal(b, 1 * FRAME);
	/* Big aligned block. */
	assert_int_equal(pmm_alloc_contig(&p, 100, 256, &a), 0);
	assert_int_equal(a, 256 * FRAME);
	/* 256..1023 is blocked by that block until it is freed. */
	assert_int_equal(pmm_alloc_contig(&p, 768, 256, &b), -VE_NOMEM);
	assert_int_equal(pmm_free_contig(&p, a, 100), 0);
	assert_int_equal(pmm_alloc_contig(&p, 768, 256, &b), 0);
	assert_int_equal(b, 256 * FRAME);
	assert_int_equal(pmm_free_contig(&p, b, 768), 0);
}

/* DMA memory (kernel/mem.c dma_pages_alloc) is one contiguous run given
 * back frame by frame, as a dead driver's address space is freed: every
 * frame is free again after, and a second free of one is refused. */
static void test_contig_freed_by_frame(void **state)
{
	struct pmm p;
	uint64_t a, b;
	unsigned i;

	(void)state;
	setup_pmm(&p, 256);
	pmm_release(&p, 0, 256 * FRAME);
	assert_int_equal(pmm_alloc_contig(&p, 16, 1, &a), 0);
	assert_int_equal(pmm_alloc_contig(&p, 16, 1, &b), 0);
	assert_true(b >= a + 16 * FRAME || b + 16 * FRAME <= a); /* distinct runs */
	assert_int_equal(p.nfree, 255 - 32);
	for (i = 16; i-- > 0;)
		assert_int_equal(pmm_free(&p, a + i * FRAME), 0);
	assert_int_equal(pmm_free(&p, a), -VE_INVAL);
	assert_int_equal(p.nfree, 255 - 16);
	/* The same run is whole again. */
	assert_int_equal(pmm_alloc_contig(&p, 16, 1, &b), 0);
	assert_int_equal(b, a);
}

static void test_contig_fragmented(void **state)
{
	struct pmm p;
	uint64_t a;
	unsigned i;

	(void)state;
	setup_pmm(&p, 256);
	pmm_release(&p, 0, 256 * FRAME);
	while (pmm_alloc(&p, &a) == 0)
		;
	/* Free every other frame: plenty free, no run of two. */
	for (i = 1; i < 256; i += 2)
		assert_int_equal(pmm_free(&p, i * FRAME), 0);
	assert_int_equal(p.nfree, 128);
	assert_int_equal(pmm_alloc_contig(&p, 2, 1, &a), -VE_NOMEM);
	assert_int_equal(pmm_alloc_contig(&p, 1, 1, &a), 0);
	assert_int_equal(a, 1 * FRAME);
	/* Open a run of 4 at 200..203 (200 and 202 were still used). */
	assert_int_equal(pmm_free(&p, 200 * FRAME), 0);
	assert_int_equal(pmm_free(&p, 202 * FRAME), 0);
	assert_int_equal(pmm_alloc_contig(&p, 4, 4, &a), 0);
	assert_int_equal(a, 200 * FRAME);
	assert_int_equal(pmm_alloc_contig(&p, 2, 1, &a), -VE_NOMEM);

	/* free_contig is all-or-nothing: frame 7 of 4..9 is free. */
	assert_int_equal(pmm_free_contig(&p, 4 * FRAME, 6), -VE_INVAL);
	assert_int_equal(pmm_free(&p, 4 * FRAME), 0); /* was untouched */
	assert_int_equal(pmm_free_contig(&p, 4 * FRAME, 0), -VE_INVAL);
	assert_int_equal(pmm_free_contig(&p, 254 * FRAME, 3), -VE_INVAL);
	assert_int_equal(pmm_free_contig(&p, 254 * FRAME, UINT64_MAX), -VE_INVAL);
	assert_int_equal(pmm_free_contig(&p, 0, 2), -VE_INVAL);
	assert_int_equal(pmm_free_contig(&p, 200 * FRAME + 8, 4), -VE_INVAL);
	assert_int_equal(pmm_free_contig(&p, 200 * FRAME, 4), 0);
}

/* Count used bits among the frames, straight from the bitmap. */
static uint64_t count_used(const struct pmm *p)
{
	uint64_t f, n = 0;

	for (f = 0; f < p->nframes; f++)
		n += (p->bits[f / 64] >> (f % 64)) & 1;
	return n;
}

static void test_random_consistency(void **state)
{
	static uint64_t held[NFRAMES_BIG]; /* first frame of each run */
	static uint64_t held_n[NFRAMES_BIG];
	static uint8_t owner[NFRAMES_BIG];
	unsigned nheld = 0, i, step;
	uint64_t seed = 0x9e3779b97f4a7c15ull, allocated = 0, reserved;
	struct pmm p;

	(void)state;
	memset(owner, 0, sizeof(owner));
	setup_pmm(&p, NFRAMES_BIG);
	/* A memory map with holes and unaligned edges. */
	pmm_release(&p, 0x800, 1000 * FRAME);
	pmm_release(&p, 1500 * FRAME + 5, 2000 * FRAME);
	pmm_reserve(&p, 1800 * FRAME - 3, 40 * FRAME);
	reserved = p.nframes - p.ntotal;

	for (step = 0; step < 50000; step++) {
		uint64_t r = rng_next(&seed), a, n = 1, align = 1;
		int rc;

		if (nheld > 0 && (r % 100 < 45 || nheld == NFRAMES_BIG)) {
			i = (unsigned)((r >> 8) % nheld);
			a = held[i];
			n = held_n[i];
			rc = n == 1 ? pmm_free(&p, a) : pmm_free_contig(&p, a, n);
			assert_int_equal(rc, 0);
			/* Double free is caught. */
			assert_int_equal(pmm_free(&p, a), -VE_INVAL);
			for (uint64_t k = 0; k < n; k++)
				owner[a / FRAME + k] = 0;
			allocated -= n;
			held[i] = held[--nheld];
			held_n[i] = held_n[nheld];
			continue;
		}
		if (r % 100 < 90) {
			rc = pmm_alloc(&p, &a);
		} else {
			n = 1 + (r >> 16) % 9;
			align = 1ull << ((r >> 24) % 4);
			rc = pmm_alloc_contig(&p, n, align, &a);
		}
		if (rc == -VE_NOMEM) {
			assert_true(n > 1 || align > 1 || p.nfree == 0);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_not_equal(a, 0);
		for (uint64_t k = 0; k < n; k++) {
			assert_int_equal(owner[a / FRAME + k], 0);
			owner[a / FRAME + k] = 1;
		}
		allocated += n;
		held[nheld] = a;
		held_n[nheld++] = n;

		assert_int_equal(p.ntotal - p.nfree, allocated);
		if (step % 1000 == 0)
			assert_int_equal(count_used(&p), reserved + allocated);
	}
	while (nheld > 0) {
		nheld--;
		assert_int_equal(pmm_free_contig(&p, held[nheld], held_n[nheld]), 0);
	}
	assert_int_equal(p.nfree, p.ntotal);
	assert_int_equal(count_used(&p), reserved);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bitmap_bytes),
		cmocka_unit_test(test_init_errors),
		cmocka_unit_test(test_release_rounds_inward),
		cmocka_unit_test(test_release_clips_and_skips_frame0),
		cmocka_unit_test(test_reserve_rounds_outward),
		cmocka_unit_test(test_exhaust_and_reuse),
		cmocka_unit_test(test_free_errors),
		cmocka_unit_test(test_contig_alignment),
		cmocka_unit_test(test_contig_fragmented),
		cmocka_unit_test(test_contig_freed_by_frame),
		cmocka_unit_test(test_random_consistency),
	};

	return cmocka_run_group_tests_name("pmm", tests, NULL, NULL);
}
