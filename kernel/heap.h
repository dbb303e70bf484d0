/*
 * The kernel heap: small objects from per-size slabs (one page each), large
 * ones from whole contiguous pages. Host-testable: pages come from callbacks.
 */
#ifndef VESTA_HEAP_H
#define VESTA_HEAP_H

#include <stddef.h>
#include <stdint.h>

#define HEAP_PAGE 4096u
#define HEAP_NCLASSES 8 /* 16, 32, ..., 2048 bytes */

struct heap_page;

struct heap {
	/* Give npages contiguous, HEAP_PAGE-aligned pages, or NULL. */
	void *(*pages_alloc)(void *ctx, size_t npages);
	void (*pages_free)(void *ctx, void *p, size_t npages);
	void *ctx;
	struct heap_page *partial[HEAP_NCLASSES]; /* slabs with a free slot */
	uint64_t pages;				  /* pages held now */
	uint64_t allocs;			  /* live allocations */
};

void heap_init(struct heap *h, void *(*pages_alloc)(void *, size_t),
	       void (*pages_free)(void *, void *, size_t), void *ctx);
/* n bytes, 16-byte aligned, or NULL when out of pages (or n == 0). */
void *heap_alloc(struct heap *h, size_t n);
/* The memory an n-byte heap_alloc takes: its slot's part of a slab page
 * (header and slack shared out), or its run of pages. 0 for n == 0. */
size_t heap_footprint(size_t n);
/* Free what heap_alloc gave; NULL is ignored. Returns -VE_INVAL for a
 * pointer the heap did not give (detected by the page's magic and slot
 * alignment) or a double free of a slab slot. */
int heap_free(struct heap *h, void *p);

#endif
