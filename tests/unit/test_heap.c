/*
 * Host tests of the kernel heap (kernel/heap.c): size classes, alignment,
 * slabs given back when empty, large runs, bad and double frees, running
 * out of pages, and a randomized alloc/free mix checked for overlap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "heap.h"
#include <vesta/abi.h>

/* A page source with a budget, so tests can run it dry. */
struct pages {
	long budget; /* pages it may still give */
	long out;    /* pages given and not returned */
};

static void *pages_alloc(void *ctx, size_t n)
{
	struct pages *ps = ctx;
	if ((long)n > ps->budget)
		return NULL;
	void *p = aligned_alloc(HEAP_PAGE, n * HEAP_PAGE);
	if (p) {
		ps->budget -= (long)n;
		ps->out += (long)n;
	}
	return p;
}

static void pages_free(void *ctx, void *p, size_t n)
{
	struct pages *ps = ctx;
	ps->budget += (long)n;
	ps->out -= (long)n;
	free(p);
}

static void test_classes_and_alignment(void **state)
{
	(void)state;
	struct pages ps = { .budget = 1000 };
	struct heap h;
	heap_init(&h, pages_alloc, pages_free, &ps);
	assert_null(heap_alloc(&h, 0));
	size_t sizes[] = { 1, 15, 16, 17, 100, 512, 1000, 2048, 2049, 5000, 40000 };
	void *p[sizeof(sizes) / sizeof(sizes[0])];
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		p[i] = heap_alloc(&h, sizes[i]);
		assert_non_null(p[i]);
		assert_int_equal((uintptr_t)p[i] % 16, 0);
		memset(p[i], (int)i, sizes[i]); /* ASan checks the bounds */
	}
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		assert_int_equal(heap_free(&h, p[i]), 0);
	assert_int_equal(h.allocs, 0);
	assert_int_equal(h.pages, 0);
	assert_int_equal(ps.out, 0);
}

static void test_empty_slab_returned(void **state)
{
	(void)state;
	struct pages ps = { .budget = 1000 };
	struct heap h;
	heap_init(&h, pages_alloc, pages_free, &ps);
	void *a[300];
	for (int i = 0; i < 300; i++)
		assert_non_null(a[i] = heap_alloc(&h, 64));
	assert_true(ps.out >= 5); /* 300 * 64 bytes need several slabs */
	for (int i = 0; i < 300; i++)
		assert_int_equal(heap_free(&h, a[i]), 0);
	assert_int_equal(ps.out, 0);
}

static void test_bad_and_double_free(void **state)
{
	(void)state;
	struct pages ps = { .budget = 10 };
	struct heap h;
	heap_init(&h, pages_alloc, pages_free, &ps);
	char *a = heap_alloc(&h, 32), *b = heap_alloc(&h, 32);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(heap_free(&h, a + 8), -VE_INVAL); /* inside a slot */
	assert_int_equal(heap_free(&h, a), 0);
	assert_int_equal(heap_free(&h, a), -VE_INVAL); /* double free */
	assert_int_equal(heap_free(&h, NULL), 0);
	assert_int_equal(h.allocs, 1);
	assert_int_equal(heap_free(&h, b), 0);
	assert_int_equal(ps.out, 0);
}

static void test_out_of_pages(void **state)
{
	(void)state;
	struct pages ps = { .budget = 3 };
	struct heap h;
	heap_init(&h, pages_alloc, pages_free, &ps);
	assert_null(heap_alloc(&h, 4 * HEAP_PAGE)); /* large: needs 5 pages */
	void *a = heap_alloc(&h, 2048), *b = heap_alloc(&h, 1024);
	assert_non_null(a);
	assert_non_null(b);
	void *more[8];
	int got = 0;
	while (got < 8 && (more[got] = heap_alloc(&h, 2048)))
		got++;
	assert_true(got >= 1 && got < 8);
	assert_null(heap_alloc(&h, 2048)); /* still refused, nothing broken */
	while (got > 0)
		assert_int_equal(heap_free(&h, more[--got]), 0);
	assert_int_equal(heap_free(&h, b), 0);
	assert_int_equal(heap_free(&h, a), 0);
}

static void test_random_mix_no_overlap(void **state)
{
	(void)state;
	enum { N = 400 };
	struct pages ps = { .budget = 100000 };
	struct heap h;
	heap_init(&h, pages_alloc, pages_free, &ps);
	unsigned char *ptr[N] = { 0 };
	size_t len[N] = { 0 };
	unsigned seed = 12345;
	for (int step = 0; step < 20000; step++) {
		seed = seed * 1103515245u + 12345u;
		int i = (int)((seed >> 8) % N);
		if (ptr[i]) {
			for (size_t k = 0; k < len[i]; k++)
				assert_int_equal(ptr[i][k], (unsigned char)i);
			assert_int_equal(heap_free(&h, ptr[i]), 0);
			ptr[i] = NULL;
		} else {
			len[i] = 1 + (seed >> 12) % 3000;
			ptr[i] = heap_alloc(&h, len[i]);
			assert_non_null(ptr[i]);
			memset(ptr[i], i, len[i]);
		}
	}
	for (int i = 0; i < N; i++)
		if (ptr[i])
			assert_int_equal(heap_free(&h, ptr[i]), 0);
	assert_int_equal(ps.out, 0);
}

/* heap_footprint is what allocations really take: n objects of a size hold
 * n footprints of pages, give or take the last slab's free slots and the
 * rounding up of a slot's share of its page. */
static void test_footprint(void **state)
{
	(void)state;
	size_t sizes[] = { 1, 16, 17, 100, 1000, 1024, 2048, 2049, 2120, 4032, 4033, 40000 };
	enum { N = 50 };
	assert_int_equal(heap_footprint(0), 0);
	assert_int_equal(heap_footprint(2120), HEAP_PAGE); /* a chan_msg of VE_MSG_MAX */
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct pages ps = { .budget = 1000 };
		struct heap h;
		void *p[N];
		size_t fp = heap_footprint(sizes[i]);
		heap_init(&h, pages_alloc, pages_free, &ps);
		for (int k = 0; k < N; k++)
			assert_non_null(p[k] = heap_alloc(&h, sizes[i]));
		size_t held = (size_t)ps.out * HEAP_PAGE;
		assert_true(N * fp >= held - (fp < HEAP_PAGE ? HEAP_PAGE : 0));
		assert_true(N * fp <= held + N);
		for (int k = 0; k < N; k++)
			assert_int_equal(heap_free(&h, p[k]), 0);
		assert_int_equal(ps.out, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classes_and_alignment),
		cmocka_unit_test(test_empty_slab_returned),
		cmocka_unit_test(test_bad_and_double_free),
		cmocka_unit_test(test_out_of_pages),
		cmocka_unit_test(test_random_mix_no_overlap),
		cmocka_unit_test(test_footprint),
	};
	return cmocka_run_group_tests_name("heap", tests, NULL, NULL);
}
