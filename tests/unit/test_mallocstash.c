/*
 * svc/lib's heap (malloc.c) with a stash heap, on the host: a program
 * linked with user-stash.ld and VE_STASH_HEAP gets __stash_heap_start and
 * __stash_heap_end, and then every block, small or big, must come from
 * that region (memory from ve_vm_alloc would not outlive the incarnation),
 * freed big blocks are reused rather than unmapped, and a used-up region
 * gives NULL, never a mapping.
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

#define REGION (1u << 20)

/* The region the linker script would give, and its two symbols. */
__attribute__((aligned(4096))) uint8_t stash_region[REGION];
__asm__(".globl __stash_heap_start\n.set __stash_heap_start, stash_region\n"
	".globl __stash_heap_end\n.set __stash_heap_end, stash_region + 1048576\n");

long ve_vm_alloc(uint64_t addr, uint64_t len, unsigned prot)
{
	(void)addr, (void)len, (void)prot;
	fail_msg("ve_vm_alloc called with a stash heap");
	return -VE_NOMEM;
}

int ve_vm_free(uint64_t addr, uint64_t len)
{
	(void)addr, (void)len;
	fail_msg("ve_vm_free called with a stash heap");
	return 0;
}

static bool inside(const void *p, size_t n)
{
	return (const uint8_t *)p >= stash_region &&
	       (const uint8_t *)p + n <= stash_region + REGION;
}

static void test_blocks_in_region(void **state)
{
	static const size_t sizes[] = { 0, 1, 16, 100, 4096, 32768, 32769, 100000 };
	void *p[sizeof(sizes) / sizeof(sizes[0])];

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		p[i] = ve_malloc(sizes[i]);
		assert_non_null(p[i]);
		assert_true(inside(p[i], sizes[i]));
		assert_int_equal((uintptr_t)p[i] % 16, 0);
		memset(p[i], (int)i, sizes[i]);
	}
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (size_t k = 0; k < sizes[i]; k++)
			assert_int_equal(((uint8_t *)p[i])[k], (uint8_t)i);
		ve_free(p[i]);
	}
	assert_int_equal(ve_heap_used(), 0);
}

static void test_big_reused(void **state)
{
	void *a = ve_malloc(200000), *b;

	(void)state;
	assert_non_null(a);
	ve_free(a);
	b = ve_malloc(150000); /* fits in a's block: first fit */
	assert_ptr_equal(a, b);
	ve_free(b);
	for (int i = 0; i < 100; i++) { /* no growth for the same size again */
		void *p = ve_malloc(200000);

		assert_ptr_equal(p, a);
		ve_free(p);
	}
	assert_int_equal(ve_heap_used(), 0);
}

static void test_used_up(void **state)
{
	void *p;
	int n = 0;

	(void)state;
	while ((p = ve_malloc(60000)) != NULL) {
		assert_true(inside(p, 60000));
		n++;
	}
	assert_true(n > 0);
	assert_null(ve_malloc(300000));
	assert_null(ve_realloc(NULL, 300000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blocks_in_region),
		cmocka_unit_test(test_big_reused),
		cmocka_unit_test(test_used_up),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
