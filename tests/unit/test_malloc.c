/*
 * svc/lib's heap (malloc.c) on the host, over a ve_vm_alloc stand-in that
 * counts mappings and can run out: sizes, alignment, reuse, realloc's
 * copy, big blocks given back, and NULL on out of memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define main vesta_main /* vesta.h declares a program's main */
#include "vesta.h"
#undef main

static long maps, unmaps;
static bool no_memory;

long ve_vm_alloc(uint64_t addr, uint64_t len, unsigned prot)
{
	void *p;

	assert_int_equal(addr, 0);
	assert_int_equal(len % 4096, 0);
	assert_int_equal(prot, VE_PROT_READ | VE_PROT_WRITE);
	if (no_memory || posix_memalign(&p, 4096, len) != 0)
		return -VE_NOMEM;
	memset(p, 0, len);
	maps++;
	return (long)p;
}

int ve_vm_free(uint64_t addr, uint64_t len)
{
	assert_int_equal(addr % 4096, 0);
	assert_true(len > 0);
	free((void *)addr);
	unmaps++;
	return 0;
}

static void test_sizes_and_alignment(void **state)
{
	static const size_t sizes[] = { 0, 1, 15, 16, 17, 100, 1000, 4096, 32768, 32769, 100000 };
	void *p[sizeof(sizes) / sizeof(sizes[0])];

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		p[i] = ve_malloc(sizes[i]);
		assert_non_null(p[i]);
		assert_int_equal((uintptr_t)p[i] % 16, 0);
		memset(p[i], (int)i, sizes[i]);
	}
	assert_true(ve_heap_used() >=
		    1 + 15 + 16 + 17 + 100 + 1000 + 4096 + 32768 + 32769 + 100000);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (size_t k = 0; k < sizes[i]; k++)
			assert_int_equal(((uint8_t *)p[i])[k], (uint8_t)i);
		ve_free(p[i]);
	}
	assert_int_equal(ve_heap_used(), 0);
	ve_free(NULL);
}

static void test_reuse(void **state)
{
	void *a, *b;
	long before;

	(void)state;
	a = ve_malloc(200);
	ve_free(a);
	b = ve_malloc(250); /* same class: the same block again */
	assert_ptr_equal(a, b);
	ve_free(b);
	before = maps;
	for (int i = 0; i < 1000; i++) {
		void *p = ve_malloc(1000);

		assert_non_null(p);
		ve_free(p);
	}
	assert_int_equal(maps, before); /* no new arena for a freed block's size */
	assert_int_equal(ve_heap_used(), 0);
}

static void test_big_blocks_unmapped(void **state)
{
	long u = unmaps;
	void *p = ve_malloc(1 << 20);

	(void)state;
	assert_non_null(p);
	memset(p, 7, 1 << 20);
	ve_free(p);
	assert_int_equal(unmaps, u + 1);
	assert_int_equal(ve_heap_used(), 0);
}

static void test_resize(void **state)
{
	uint8_t *p = ve_realloc(NULL, 10);

	(void)state;
	for (int i = 0; i < 10; i++)
		p[i] = (uint8_t)i;
	p = ve_realloc(p, 100000);
	assert_non_null(p);
	for (int i = 0; i < 10; i++)
		assert_int_equal(p[i], i);
	p[99999] = 1;
	p = ve_realloc(p, 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(p[i], i);
	ve_free(p);
	assert_int_equal(ve_heap_used(), 0);
}

static void test_out_of_memory(void **state)
{
	void *p = ve_malloc(64), *q;

	(void)state;
	no_memory = true;
	assert_null(ve_malloc(1 << 20));
	q = ve_realloc(p, 1 << 20);
	assert_null(q);			   /* p untouched */
	for (int i = 0; i < 100000; i++) { /* the current arena runs out */
		q = ve_malloc(4096);
		if (q == NULL)
			break;
	}
	assert_null(q);
	no_memory = false;
	ve_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes_and_alignment), cmocka_unit_test(test_reuse),
		cmocka_unit_test(test_big_blocks_unmapped), cmocka_unit_test(test_resize),
		cmocka_unit_test(test_out_of_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
