/*
 * The engine's allocator on the host (tests and fuzzer): libc malloc with
 * a byte count, so rs_used() is exact, and a failure switch so that tests
 * can check an allocation failure is answered rather than crashed on.
 */
#include <stdlib.h>

#include "resp.h"
#include "rs_host_alloc.h"

/* Each block carries its size in front, 16 bytes to keep alignment. */
#define HDR 16

static size_t used;
long rs_host_fail_after = -1; /* >= 0: that many more allocations succeed */

static bool fail_now(void)
{
	if (rs_host_fail_after < 0)
		return false;
	if (rs_host_fail_after == 0)
		return true;
	rs_host_fail_after--;
	return false;
}

void *rs_alloc(size_t n)
{
	unsigned char *p;

	if (fail_now() || n > SIZE_MAX - HDR)
		return NULL;
	p = malloc(n + HDR);
	if (p == NULL)
		return NULL;
	*(size_t *)p = n;
	used += n;
	return p + HDR;
}

void rs_free(void *q)
{
	unsigned char *p = q;

	if (p == NULL)
		return;
	p -= HDR;
	used -= *(size_t *)p;
	free(p);
}

void *rs_realloc(void *q, size_t n)
{
	unsigned char *p = q, *np;
	size_t old;

	if (p == NULL)
		return rs_alloc(n);
	if (fail_now() || n > SIZE_MAX - HDR)
		return NULL;
	p -= HDR;
	old = *(size_t *)p;
	np = realloc(p, n + HDR);
	if (np == NULL)
		return NULL;
	*(size_t *)np = n;
	used = used - old + n;
	return np + HDR;
}

size_t rs_used(void)
{
	return used;
}
