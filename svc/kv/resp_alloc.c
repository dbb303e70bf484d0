/*
 * The engine's allocator in the guest: rs_alloc and the rest over svc/lib's
 * heap (the host tests link tests/unit/rs_host_alloc.c instead).
 */
#include "resp.h"
#include "vesta.h"

void *rs_alloc(size_t n)
{
	return ve_malloc(n);
}

void *rs_realloc(void *p, size_t n)
{
	return ve_realloc(p, n);
}

void rs_free(void *p)
{
	ve_free(p);
}

size_t rs_used(void)
{
	return ve_heap_used();
}
