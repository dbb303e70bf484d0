/*
 * Physical frame allocator: one bit per 4 KiB frame of physical memory.
 *
 * The bitmap's memory and the number of frames come in from the caller, so
 * the same code runs in the kernel and in host unit tests. Every frame starts
 * reserved; boot code releases the usable ranges from the firmware memory map
 * and then reserves what is already taken (kernel image, modules, the bitmap
 * itself). After that the kernel only allocates and frees.
 *
 * Frame 0 is never handed out: physical address 0 stays free to mean "no
 * frame", and on a PC it holds the real-mode IVT/BDA anyway.
 *
 * Locking is the caller's: a struct pmm has no lock of its own.
 */
#ifndef VESTA_PMM_H
#define VESTA_PMM_H

#include <stddef.h>
#include <stdint.h>

#define PMM_FRAME_SIZE 4096ull
#define PMM_FRAME_SHIFT 12

/* Frames whose address no longer fits in 64 bits cannot exist. */
#define PMM_MAX_FRAMES (1ull << (64 - PMM_FRAME_SHIFT))

struct pmm {
	uint64_t *bits;	  /* bit set = used or reserved; bits past nframes set */
	uint64_t nframes; /* frames the bitmap covers: [0, nframes) */
	uint64_t nfree;	  /* frames free now */
	uint64_t ntotal;  /* frames managed: released as usable and not
			     reserved again; free + allocated */
	uint64_t hint;	  /* bitmap word where the next search starts */
};

/*
 * Bytes of bitmap needed to cover nframes frames (a whole number of 64-bit
 * words).
 */
size_t pmm_bitmap_bytes(uint64_t nframes);

/*
 * Set up p over the caller's bitmap (8-byte aligned, at least
 * pmm_bitmap_bytes(nframes) bytes), with every frame reserved.
 * Errors: -VE_INVAL if p or bitmap is NULL or bitmap is misaligned;
 * -VE_RANGE if the bitmap is too small or nframes > PMM_MAX_FRAMES.
 */
int pmm_init(struct pmm *p, void *bitmap, size_t bitmap_bytes, uint64_t nframes);

/*
 * Mark the whole frames inside [phys, phys+len) usable and free. The range
 * is rounded inward and clipped to the frames the bitmap covers; frame 0 is
 * never released. Only frames that were reserved are counted into nfree and
 * ntotal, so releasing a range twice is harmless.
 * Boot-time only: call before the first pmm_alloc, because a reserved frame
 * and an allocated one look the same in the bitmap.
 */
void pmm_release(struct pmm *p, uint64_t phys, uint64_t len);

/*
 * Mark every frame touching [phys, phys+len) used and no longer managed
 * (rounded outward, clipped). A frame that was free leaves both nfree and
 * ntotal. Boot-time only, like pmm_release.
 */
void pmm_reserve(struct pmm *p, uint64_t phys, uint64_t len);

/*
 * Allocate one frame and store its physical address in *phys.
 * Errors: -VE_INVAL if phys is NULL; -VE_NOMEM if no frame is free.
 */
int pmm_alloc(struct pmm *p, uint64_t *phys);

/*
 * Allocate n physically contiguous frames whose first frame number is a
 * multiple of align_frames; store the first address in *phys.
 * Errors: -VE_INVAL if n is 0, align_frames is not a power of two or phys
 * is NULL; -VE_NOMEM if no such run is free.
 */
int pmm_alloc_contig(struct pmm *p, uint64_t n, uint64_t align_frames, uint64_t *phys);

/*
 * Give back one frame from pmm_alloc (or one frame of a contiguous run).
 * Errors: -VE_INVAL if phys is unaligned, frame 0, past the bitmap, already
 * free (a double free), or could not have been allocated (every managed
 * frame is already free). On error nothing changes.
 */
int pmm_free(struct pmm *p, uint64_t phys);

/*
 * Give back n contiguous frames starting at phys. All n are checked before
 * any is freed. Errors: as pmm_free, for any frame of the run, and -VE_INVAL
 * for n == 0 or a run past the bitmap. On error nothing changes.
 */
int pmm_free_contig(struct pmm *p, uint64_t phys, uint64_t n);

#endif
