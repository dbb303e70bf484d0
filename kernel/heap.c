/*
 * Slab heap. Each slab is one page: a header, then equal slots of one size
 * class threaded on a free list. A slab that becomes entirely free goes back
 * to the page allocator, so the heap holds no memory it does not use. A large
 * allocation is a run of pages with the same header at its start.
 */
#include "heap.h"

#include <vesta/abi.h>

#define SLAB_MAGIC 0x51ab51abu
#define LARGE_MAGIC 0x1a26e000u
#define HDR_SIZE 64u

struct heap_slot {
	struct heap_slot *next;
};

struct heap_page {
	uint32_t magic;
	uint16_t cls;	 /* size class, for slabs */
	uint16_t nfree;	 /* free slots, for slabs */
	uint64_t npages; /* for large runs */
	struct heap_slot *free;
	struct heap_page *next, *prev; /* on partial[cls] */
};

_Static_assert(sizeof(struct heap_page) <= HDR_SIZE, "header fits");

static size_t class_size(unsigned cls)
{
	return (size_t)16 << cls;
}

static unsigned slots_per_slab(unsigned cls)
{
	return (unsigned)((HEAP_PAGE - HDR_SIZE) / class_size(cls));
}

void heap_init(struct heap *h, void *(*pages_alloc)(void *, size_t),
	       void (*pages_free)(void *, void *, size_t), void *ctx)
{
	*h = (struct heap){ .pages_alloc = pages_alloc, .pages_free = pages_free, .ctx = ctx };
}

static void partial_remove(struct heap *h, struct heap_page *pg)
{
	if (pg->prev)
		pg->prev->next = pg->next;
	else
		h->partial[pg->cls] = pg->next;
	if (pg->next)
		pg->next->prev = pg->prev;
	pg->next = pg->prev = NULL;
}

static void partial_push(struct heap *h, struct heap_page *pg)
{
	pg->prev = NULL;
	pg->next = h->partial[pg->cls];
	if (pg->next)
		pg->next->prev = pg;
	h->partial[pg->cls] = pg;
}

static struct heap_page *slab_new(struct heap *h, unsigned cls)
{
	struct heap_page *pg = h->pages_alloc(h->ctx, 1);
	if (!pg)
		return NULL;
	h->pages++;
	*pg = (struct heap_page){ .magic = SLAB_MAGIC, .cls = (uint16_t)cls };
	char *base = (char *)pg + HDR_SIZE;
	for (unsigned i = slots_per_slab(cls); i-- > 0;) {
		struct heap_slot *s = (struct heap_slot *)(base + i * class_size(cls));
		s->next = pg->free;
		pg->free = s;
		pg->nfree++;
	}
	partial_push(h, pg);
	return pg;
}

static size_t large_pages(size_t n)
{
	return (n + HDR_SIZE + HEAP_PAGE - 1) / HEAP_PAGE;
}

static void *large_alloc(struct heap *h, size_t n)
{
	if (n > ((size_t)1 << 40))
		return NULL;
	size_t npages = large_pages(n);
	struct heap_page *pg = h->pages_alloc(h->ctx, npages);
	if (!pg)
		return NULL;
	*pg = (struct heap_page){ .magic = LARGE_MAGIC, .npages = npages };
	h->pages += npages;
	h->allocs++;
	return (char *)pg + HDR_SIZE;
}

/* The size class of an n-byte allocation; HEAP_NCLASSES: a large one. */
static unsigned class_of(size_t n)
{
	if (n <= class_size(0))
		return 0;
	/* The smallest cls with 16 << cls >= n: the bit length of n - 1, less 4. */
	unsigned cls = (unsigned)(64 - __builtin_clzll((unsigned long long)(n - 1))) - 4;
	return cls < HEAP_NCLASSES ? cls : HEAP_NCLASSES;
}

size_t heap_footprint(size_t n)
{
	if (n == 0)
		return 0;
	unsigned cls = class_of(n);
	if (cls == HEAP_NCLASSES)
		return large_pages(n) * HEAP_PAGE;
	return (HEAP_PAGE + slots_per_slab(cls) - 1) / slots_per_slab(cls);
}

void *heap_alloc(struct heap *h, size_t n)
{
	if (n == 0)
		return NULL;
	unsigned cls = class_of(n);
	if (cls == HEAP_NCLASSES)
		return large_alloc(h, n);
	struct heap_page *pg = h->partial[cls];
	if (!pg && !(pg = slab_new(h, cls)))
		return NULL;
	struct heap_slot *s = pg->free;
	pg->free = s->next;
	if (--pg->nfree == 0)
		partial_remove(h, pg);
	h->allocs++;
	return s;
}

int heap_free(struct heap *h, void *p)
{
	if (!p)
		return 0;
	uintptr_t a = (uintptr_t)p;
	struct heap_page *pg = (struct heap_page *)(a & ~(uintptr_t)(HEAP_PAGE - 1));
	uintptr_t off = a - (uintptr_t)pg;

	if (pg->magic == LARGE_MAGIC && off == HDR_SIZE) {
		size_t npages = pg->npages;
		pg->magic = 0;
		h->pages -= npages;
		h->allocs--;
		h->pages_free(h->ctx, pg, npages);
		return 0;
	}
	if (pg->magic != SLAB_MAGIC || pg->cls >= HEAP_NCLASSES || off < HDR_SIZE ||
	    (off - HDR_SIZE) % class_size(pg->cls) != 0 ||
	    (off - HDR_SIZE) / class_size(pg->cls) >= slots_per_slab(pg->cls))
		return -VE_INVAL;
	for (struct heap_slot *s = pg->free; s; s = s->next)
		if (s == p)
			return -VE_INVAL; /* double free */
	struct heap_slot *s = p;
	s->next = pg->free;
	pg->free = s;
	if (pg->nfree++ == 0)
		partial_push(h, pg);
	h->allocs--;
	if (pg->nfree == slots_per_slab(pg->cls)) {
		partial_remove(h, pg);
		pg->magic = 0;
		h->pages--;
		h->pages_free(h->ctx, pg, 1);
	}
	return 0;
}
