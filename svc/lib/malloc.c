/*
 * A heap for user programs over ve_vm_alloc: ve_malloc, ve_free,
 * ve_realloc and ve_heap_used.
 *
 * Small blocks come in size classes about 1.5x apart, carved from 256 KiB
 * arenas and kept on one free list per class once freed; a block's class
 * is in its 16-byte header. A block larger than the biggest class is its
 * own ve_vm_alloc mapping, unmapped when freed. Arenas are never given
 * back: a program's small-block memory is its high-water mark, which for a
 * long-running server that frees and reallocates the same kinds of blocks
 * is close to what it holds. Single-threaded, as every Vesta program is.
 *
 * A program linked with svc/lib/user-stash.ld and a VE_STASH_HEAP keeps
 * its heap in its stash, between __stash_heap_start and __stash_heap_end:
 * then every block comes from there, since memory from ve_vm_alloc would
 * not outlive the incarnation that the heap's pointers (kept in the
 * stash) outlive. The region is one arena; a big block is carved from it
 * too, and once freed is kept on a list of its own, first fit, rather
 * than unmapped. The heap's own state is in the stash as well, so a new
 * incarnation carries on where the last commit left it. When the region
 * is used up, ve_malloc returns NULL.
 */
#include "vesta.h"

#define HDR 16		   /* header before every block; keeps 16-byte alignment */
#define ARENA (256 * 1024) /* bytes mapped at once for small blocks */
#define PAGE 4096ull
#define BIG_CLASS 0xffffffffu	   /* the class of a block that is its own mapping */
#define HEAP_MAGIC 0x6b76686561ull /* "kvhea": catches a free of a foreign pointer */

/* Usable sizes of the classes, the header not counted. */
static const uint32_t class_size[] = { 16,   32,   48,	  64,	 96,	128,  192,  256,
				       384,  512,  768,	  1024,	 1536,	2048, 3072, 4096,
				       6144, 8192, 12288, 16384, 24576, 32768 };
#define NCLASS (sizeof(class_size) / sizeof(class_size[0]))

struct hdr {
	uint32_t cls; /* index in class_size, or BIG_CLASS */
	uint32_t magic;
	uint64_t size; /* usable bytes: the class's, or a mapping's less HDR */
};

struct free_block {
	struct free_block *next;
};

static struct free_block *free_list[NCLASS];
static uint8_t *arena_next, *arena_end; /* the unused rest of the current arena */
static size_t heap_used;		/* usable bytes of the blocks handed out */
static struct free_block *big_free;	/* freed big blocks of the stash heap */

/* The stash heap (user-stash.ld); both 0 for a program without one (weak:
 * user.ld does not define them). */
extern uint8_t __stash_heap_start[] __attribute__((weak));
extern uint8_t __stash_heap_end[] __attribute__((weak));

static bool stash_heap(void)
{
	uintptr_t a = (uintptr_t)__stash_heap_start, b = (uintptr_t)__stash_heap_end;

	return a != 0 && b > a;
}

static bool in_stash_heap(const void *p)
{
	return stash_heap() && (const uint8_t *)p >= __stash_heap_start &&
	       (const uint8_t *)p < __stash_heap_end;
}

/* Bytes from the stash heap's unused rest, or NULL. The first use makes
 * the whole region the arena. */
static uint8_t *stash_carve(size_t need)
{
	uint8_t *p;

	if (arena_next == NULL) {
		arena_next = __stash_heap_start;
		arena_end = __stash_heap_end;
	}
	if ((size_t)(arena_end - arena_next) < need)
		return NULL;
	p = arena_next;
	arena_next += need;
	return p;
}

static int class_of(size_t n)
{
	for (size_t i = 0; i < NCLASS; i++)
		if (n <= class_size[i])
			return (int)i;
	return -1;
}

/* A fresh block of class cls from the current arena, mapping a new one
 * when it is used up (the old one's tail is left unused). */
static struct hdr *carve(int cls)
{
	size_t need = HDR + class_size[cls];
	struct hdr *h;

	if (stash_heap())
		return (struct hdr *)stash_carve(need);
	if (arena_next == NULL || (size_t)(arena_end - arena_next) < need) {
		long a = ve_vm_alloc(0, ARENA, VE_PROT_READ | VE_PROT_WRITE);

		if (a < 0)
			return NULL;
		arena_next = (uint8_t *)a;
		arena_end = arena_next + ARENA;
	}
	h = (struct hdr *)arena_next;
	arena_next += need;
	return h;
}

/* A big block of len bytes (header included) from the stash heap: a
 * freed one that is large enough, first fit, or a new one. */
static struct hdr *stash_big(uint64_t len)
{
	for (struct free_block **f = &big_free; *f; f = &(*f)->next) {
		struct hdr *h = (struct hdr *)((uint8_t *)*f - HDR);

		if (h->size + HDR >= len) {
			*f = (*f)->next;
			return h;
		}
	}
	struct hdr *h = (struct hdr *)stash_carve(len);

	if (h)
		h->size = len - HDR;
	return h;
}

static void *big_alloc(size_t n)
{
	uint64_t len;
	long a;
	struct hdr *h;

	if (n > UINT64_MAX - HDR - PAGE)
		return NULL;
	len = (n + HDR + PAGE - 1) & ~(PAGE - 1);
	if (stash_heap()) {
		if (!(h = stash_big(len)))
			return NULL;
		h->cls = BIG_CLASS;
		h->magic = (uint32_t)HEAP_MAGIC;
		heap_used += h->size;
		return (uint8_t *)h + HDR;
	}
	a = ve_vm_alloc(0, len, VE_PROT_READ | VE_PROT_WRITE);
	if (a < 0)
		return NULL;
	h = (struct hdr *)a;
	h->cls = BIG_CLASS;
	h->magic = (uint32_t)HEAP_MAGIC;
	h->size = len - HDR;
	heap_used += h->size;
	return (uint8_t *)h + HDR;
}

void *ve_malloc(size_t n)
{
	int cls = class_of(n);
	struct hdr *h;

	if (cls < 0)
		return big_alloc(n);
	if (free_list[cls] != NULL) {
		h = (struct hdr *)((uint8_t *)free_list[cls] - HDR);
		free_list[cls] = free_list[cls]->next;
	} else {
		h = carve(cls);
		if (h == NULL)
			return NULL;
	}
	h->cls = (uint32_t)cls;
	h->magic = (uint32_t)HEAP_MAGIC;
	h->size = class_size[cls];
	heap_used += h->size;
	return (uint8_t *)h + HDR;
}

static struct hdr *header_of(void *p)
{
	struct hdr *h = (struct hdr *)((uint8_t *)p - HDR);

	/* a pointer this heap did not give, or one freed twice: stop here
	 * rather than corrupt the free lists */
	if (h->magic != (uint32_t)HEAP_MAGIC || (h->cls >= NCLASS && h->cls != BIG_CLASS))
		__builtin_trap();
	return h;
}

void ve_free(void *p)
{
	struct hdr *h;
	struct free_block *f = p;

	if (p == NULL)
		return;
	h = header_of(p);
	heap_used -= h->size;
	h->magic = 0;
	if (h->cls == BIG_CLASS && in_stash_heap(h)) {
		f->next = big_free;
		big_free = f;
		return;
	}
	if (h->cls == BIG_CLASS) {
		ve_vm_free((uint64_t)h, h->size + HDR);
		return;
	}
	f->next = free_list[h->cls];
	free_list[h->cls] = f;
}

void *ve_realloc(void *p, size_t n)
{
	struct hdr *h;
	void *q;

	if (p == NULL)
		return ve_malloc(n);
	h = header_of(p);
	/* stay put while the block fits and is not far too big for n */
	if (n <= h->size && (h->cls == BIG_CLASS ? n > h->size / 2 : class_of(n) == (int)h->cls))
		return p;
	q = ve_malloc(n);
	if (q == NULL)
		return NULL;
	memcpy(q, p, n < h->size ? n : h->size);
	ve_free(p);
	return q;
}

size_t ve_heap_used(void)
{
	return heap_used;
}
