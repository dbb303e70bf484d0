/*
 * Physical memory and the kernel heap, glued to the boot information.
 * The frame bitmap is placed in the first usable RAM above the kernel that
 * the boot page tables reach (the first 4 GiB).
 */
#include "mem.h"

#include "arch.h"
#include "heap.h"
#include "klog.h"
#include "lib/string.h"
#include "pmm.h"

static struct pmm pmm;
static struct heap heap;

extern char __kernel_phys_start[], __kernel_phys_end[];

#define BOOT_MAPPED (4ull << 30) /* boot.asm maps this much */
#define LOW_RESERVED (1ull << 20)

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* The lowest spot of `len` bytes in an available region that avoids every
 * range in `busy`, below BOOT_MAPPED; 0 if none. */
static uint64_t find_spot(const struct mb2_region *avail, unsigned n, uint64_t len,
			  const struct mb2_region *busy, unsigned nbusy)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t at = (avail[i].base + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
		uint64_t end = avail[i].base + avail[i].len;
		if (at < LOW_RESERVED)
			at = LOW_RESERVED;
		for (unsigned j = 0; j < nbusy && at + len <= end;) {
			if (overlaps(at, len, busy[j].base, busy[j].len)) {
				at =
				    (busy[j].base + busy[j].len + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
				j = 0;
			} else {
				j++;
			}
		}
		if (at + len <= end && at + len <= BOOT_MAPPED)
			return at;
	}
	return 0;
}

/* A slab takes one page: pmm_alloc finds it next-fit from the last
 * allocation, where the first-fit search of a run starts from the bottom
 * each time (about 200 instructions against a few tens, on every slab
 * that a stream of messages makes and frees). */
static void *heap_pages_alloc(void *ctx, size_t npages)
{
	uint64_t phys;
	(void)ctx;
	int err = npages == 1 ? pmm_alloc(&pmm, &phys) : pmm_alloc_contig(&pmm, npages, 1, &phys);
	return err ? NULL : phys_to_virt(phys);
}

static void heap_pages_free(void *ctx, void *p, size_t npages)
{
	(void)ctx;
	if (npages == 1)
		pmm_free(&pmm, virt_to_phys(p));
	else
		pmm_free_contig(&pmm, virt_to_phys(p), npages);
}

int mem_init(const struct mb2_info *mb, uint64_t info_phys, uint64_t *top_out, const char **why)
{
	static struct mb2_region avail[MB2_MAX_REGIONS];
	struct mb2_region busy[MB2_MAX_MODS + 2];
	unsigned navail = 0, nbusy = 0;

	if (mb2_sanitize_regions(mb->region, mb->nregions, avail, MB2_MAX_REGIONS, &navail) ||
	    navail == 0) {
		*why = "no usable memory in the boot memory map";
		return -VE_NOMEM;
	}
	uint64_t top = avail[navail - 1].base + avail[navail - 1].len;
	uint64_t kstart = (uint64_t)(uintptr_t)__kernel_phys_start;
	uint64_t kend = (uint64_t)(uintptr_t)__kernel_phys_end;

	busy[nbusy++] = (struct mb2_region){ kstart, kend - kstart, 0 };
	busy[nbusy++] = (struct mb2_region){ info_phys, mb->total_size, 0 };
	for (unsigned i = 0; i < mb->nmods; i++)
		busy[nbusy++] =
		    (struct mb2_region){ mb->mod[i].start, mb->mod[i].end - mb->mod[i].start, 0 };

	uint64_t nframes = top / PAGE_SIZE;
	size_t bytes = pmm_bitmap_bytes(nframes);
	uint64_t bitmap = find_spot(avail, navail, bytes, busy, nbusy);
	if (!bitmap) {
		*why = "no room for the frame bitmap below 4 GiB";
		return -VE_NOMEM;
	}
	if (pmm_init(&pmm, phys_to_virt(bitmap), bytes, nframes)) {
		*why = "frame bitmap setup failed";
		return -VE_NOMEM;
	}
	for (unsigned i = 0; i < navail; i++)
		pmm_release(&pmm, avail[i].base, avail[i].len);
	pmm_reserve(&pmm, 0, LOW_RESERVED);
	pmm_reserve(&pmm, bitmap, bytes);
	for (unsigned i = 0; i < nbusy; i++)
		pmm_reserve(&pmm, busy[i].base, busy[i].len);

	if (arch_mmu_init(top, mem_frame_alloc)) {
		*why = "out of memory building the kernel page tables";
		return -VE_NOMEM;
	}
	heap_init(&heap, heap_pages_alloc, heap_pages_free, NULL);
	*top_out = top;
	return 0;
}

int mem_frame_alloc(uint64_t *phys)
{
	return pmm_alloc(&pmm, phys);
}

int mem_frame_alloc_zero(uint64_t *phys)
{
	int err = pmm_alloc(&pmm, phys);
	if (!err)
		memset(phys_to_virt(*phys), 0, PAGE_SIZE);
	return err;
}

void mem_frame_free(uint64_t phys)
{
	if (pmm_free(&pmm, phys))
		panic("freeing frame %#llx that is not allocated", (unsigned long long)phys);
}

int mem_frames_alloc(uint64_t n, uint64_t *phys)
{
	return pmm_alloc_contig(&pmm, n, 1, phys);
}

void mem_frames_free(uint64_t phys, uint64_t n)
{
	if (pmm_free_contig(&pmm, phys, n))
		panic("freeing frames %#llx+%llu that are not allocated", (unsigned long long)phys,
		      (unsigned long long)n);
}

int dma_pages_alloc(uint64_t n, uint64_t *phys)
{
	int err = pmm_alloc_contig(&pmm, n, 1, phys);
	if (!err)
		memset(phys_to_virt(*phys), 0, n * PAGE_SIZE);
	return err;
}

void mem_info(struct ve_meminfo *out)
{
	out->total_frames = pmm.ntotal;
	out->free_frames = pmm.nfree;
}

void *kmalloc(size_t n)
{
	return heap_alloc(&heap, n);
}

size_t kmalloc_footprint(size_t n)
{
	return heap_footprint(n);
}

void kfree(void *p)
{
	if (heap_free(&heap, p))
		panic("kfree of %p, which the heap did not give", p);
}
