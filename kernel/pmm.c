/*
 * Physical frame allocator: a bitmap with one bit per 4 KiB frame.
 *
 * Bit set means the frame is not available (reserved, never released, or
 * allocated); bit clear means free. Bits past nframes in the last word are
 * kept set, so a search never has to treat the tail specially.
 *
 * Single frames are found next-fit: the search starts at the word of the last
 * allocation and skips whole words that are full, so a mostly-used bitmap
 * costs one compare per 64 frames. Contiguous runs are rare (DMA buffers) and
 * are searched first-fit from the bottom.
 */
#include <stdbool.h>

#include "pmm.h"
#include <vesta/abi.h>

#define WORD_BITS 64u

static uint64_t words_for(uint64_t nframes)
{
	return nframes / WORD_BITS + (nframes % WORD_BITS != 0);
}

/* Bits [lo, hi) of one word; 0 <= lo < hi <= 64. */
static uint64_t word_mask(unsigned lo, unsigned hi)
{
	uint64_t upto = hi == WORD_BITS ? ~0ull : (1ull << hi) - 1;

	return upto & (~0ull << lo);
}

/* Own popcount: the compiler builtin may become a libgcc call. */
static uint64_t popcount64(uint64_t x)
{
	x = x - ((x >> 1) & 0x5555555555555555ull);
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (x * 0x0101010101010101ull) >> 56;
}

/* Index of the lowest set bit; x != 0. Compiles to one bsf/tzcnt. */
static unsigned lowest_bit(uint64_t x)
{
	return (unsigned)__builtin_ctzll(x);
}

/*
 * Set (used) or clear (free) the bits of frames [from, to), to <= nframes.
 * Returns how many bits actually changed.
 */
static uint64_t mark_range(struct pmm *p, uint64_t from, uint64_t to, bool used)
{
	uint64_t changed = 0;

	while (from < to) {
		uint64_t wi = from / WORD_BITS;
		unsigned lo = from % WORD_BITS;
		uint64_t span = to - from;
		unsigned hi = span >= WORD_BITS - lo ? WORD_BITS : lo + (unsigned)span;
		uint64_t m = word_mask(lo, hi);

		if (used) {
			changed += popcount64(~p->bits[wi] & m);
			p->bits[wi] |= m;
		} else {
			changed += popcount64(p->bits[wi] & m);
			p->bits[wi] &= ~m;
		}
		from = wi * WORD_BITS + hi;
	}
	return changed;
}

/*
 * First frame in [from, to) whose bit equals `used`, or `to` if none.
 * to <= nframes.
 */
static uint64_t find_frame(const struct pmm *p, uint64_t from, uint64_t to, bool used)
{
	while (from < to) {
		uint64_t base = from & ~(uint64_t)(WORD_BITS - 1);
		uint64_t w = p->bits[from / WORD_BITS];

		if (!used)
			w = ~w;
		w &= ~0ull << (from % WORD_BITS);
		if (w) {
			uint64_t f = base + lowest_bit(w);
			return f < to ? f : to;
		}
		from = base + WORD_BITS;
	}
	return to;
}

size_t pmm_bitmap_bytes(uint64_t nframes)
{
	return (size_t)(words_for(nframes) * sizeof(uint64_t));
}

int pmm_init(struct pmm *p, void *bitmap, size_t bitmap_bytes, uint64_t nframes)
{
	uint64_t nwords, i;

	if (!p || !bitmap || (uintptr_t)bitmap % sizeof(uint64_t))
		return -VE_INVAL;
	if (nframes > PMM_MAX_FRAMES || bitmap_bytes < pmm_bitmap_bytes(nframes))
		return -VE_RANGE;

	p->bits = bitmap;
	p->nframes = nframes;
	p->nfree = 0;
	p->ntotal = 0;
	p->hint = 0;
	nwords = words_for(nframes);
	for (i = 0; i < nwords; i++)
		p->bits[i] = ~0ull;
	return 0;
}

void pmm_release(struct pmm *p, uint64_t phys, uint64_t len)
{
	uint64_t first, last, changed;

	if (len == 0)
		return;
	first = phys / PMM_FRAME_SIZE + (phys % PMM_FRAME_SIZE != 0);
	if (phys + len < phys) /* runs past 2^64: clip */
		last = PMM_MAX_FRAMES;
	else
		last = (phys + len) / PMM_FRAME_SIZE;
	if (first == 0)
		first = 1; /* frame 0 is never usable */
	if (last > p->nframes)
		last = p->nframes;
	if (first >= last)
		return;
	changed = mark_range(p, first, last, false);
	p->nfree += changed;
	p->ntotal += changed;
}

void pmm_reserve(struct pmm *p, uint64_t phys, uint64_t len)
{
	uint64_t first, last, end, changed;

	if (len == 0)
		return;
	first = phys / PMM_FRAME_SIZE;
	end = phys + len;
	if (end < phys)
		last = PMM_MAX_FRAMES;
	else
		last = end / PMM_FRAME_SIZE + (end % PMM_FRAME_SIZE != 0);
	if (last > p->nframes)
		last = p->nframes;
	if (first >= last)
		return;
	changed = mark_range(p, first, last, true);
	p->nfree -= changed;
	p->ntotal -= changed;
}

int pmm_alloc(struct pmm *p, uint64_t *phys)
{
	uint64_t nwords = words_for(p->nframes);
	uint64_t k;

	if (!phys)
		return -VE_INVAL;
	if (p->nfree == 0)
		return -VE_NOMEM;
	for (k = 0; k < nwords; k++) {
		uint64_t wi = (p->hint + k) % nwords;
		uint64_t f;

		if (p->bits[wi] == ~0ull)
			continue;
		f = wi * WORD_BITS + lowest_bit(~p->bits[wi]);
		p->bits[wi] |= 1ull << (f % WORD_BITS);
		p->nfree--;
		p->hint = wi;
		*phys = f * PMM_FRAME_SIZE;
		return 0;
	}
	return -VE_NOMEM; /* nfree was wrong; cannot happen */
}

int pmm_alloc_contig(struct pmm *p, uint64_t n, uint64_t align_frames, uint64_t *phys)
{
	uint64_t cand = 0;

	if (!phys || n == 0 || align_frames == 0 || (align_frames & (align_frames - 1)))
		return -VE_INVAL;
	/* With align > nframes only frame 0 is aligned, and it is reserved. */
	if (n > p->nfree || align_frames > p->nframes)
		return -VE_NOMEM;

	for (;;) {
		uint64_t busy;

		cand = find_frame(p, cand, p->nframes, false);
		cand = (cand + align_frames - 1) & ~(align_frames - 1);
		if (cand >= p->nframes || n > p->nframes - cand)
			return -VE_NOMEM;
		busy = find_frame(p, cand, cand + n, true);
		if (busy == cand + n)
			break;
		cand = busy + 1;
	}
	mark_range(p, cand, cand + n, true);
	p->nfree -= n;
	*phys = cand * PMM_FRAME_SIZE;
	return 0;
}

/* Checks shared by the two free calls; returns the first frame or 0. */
static uint64_t free_check(const struct pmm *p, uint64_t phys, uint64_t n)
{
	uint64_t f = phys / PMM_FRAME_SIZE;

	if (n == 0 || phys % PMM_FRAME_SIZE || f == 0 || f >= p->nframes || n > p->nframes - f)
		return 0;
	if (find_frame(p, f, f + n, false) != f + n)
		return 0; /* some frame is already free */
	if (n > p->ntotal - p->nfree)
		return 0; /* more than is allocated: not ours */
	return f;
}

/* pmm_free_contig's checks for one frame, on its one bit: a process's
 * death frees each of its tens of frames this way. */
int pmm_free(struct pmm *p, uint64_t phys)
{
	uint64_t f = phys / PMM_FRAME_SIZE, bit = 1ull << (f % WORD_BITS);

	if (phys % PMM_FRAME_SIZE || f == 0 || f >= p->nframes)
		return -VE_INVAL;
	if (!(p->bits[f / WORD_BITS] & bit) || p->nfree >= p->ntotal)
		return -VE_INVAL; /* already free, or nothing is allocated */
	p->bits[f / WORD_BITS] &= ~bit;
	p->nfree++;
	return 0;
}

int pmm_free_contig(struct pmm *p, uint64_t phys, uint64_t n)
{
	uint64_t f = free_check(p, phys, n);

	if (f == 0)
		return -VE_INVAL;
	mark_range(p, f, f + n, false);
	p->nfree += n;
	return 0;
}
