/*
 * A split virtqueue (virtio 1.x section 2.7, in its legacy layout) as a
 * state machine over ring memory, kept free of the device so it can be
 * tested on the host (tests/unit/test_virtq.c).
 *
 * The ring memory is shared with the device: the descriptor table, the
 * available ring (driver -> device) and the used ring (device -> driver).
 * The driver's own bookkeeping lives in struct virtq, never in the shared
 * memory, and nothing the device writes is trusted: a used entry naming a
 * descriptor that is not in flight is refused (VQ_BAD), not followed.
 *
 * Free descriptors form a list through desc[i].next, headed by free_head.
 * A buffer is a chain of 1..VQ_SEGS_MAX descriptors; its head index names
 * it. avail_idx and last_used are free-running 16-bit counters that wrap:
 * only their difference (mod 2^16) means anything. At every moment:
 *
 *   num_free + (descriptors in the chains of buffers in flight) == size
 *   (uint16_t)(avail_idx - last_used) == buffers in flight <= size
 *
 * A new incarnation of a driver calls vq_init on fresh memory after
 * resetting the device; vq_init writes every byte it will rely on, so
 * memory left half-used by a dead incarnation is as good as zeroed.
 */
#ifndef VESTA_VIRTQ_H
#define VESTA_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VQ_MAX 1024   /* the largest queue a legacy device may ask for */
#define VQ_ALIGN 4096 /* the legacy layout's alignment of the used ring */
#define VQ_SEGS_MAX 4 /* descriptors in one buffer */

#define VQ_DESC_F_NEXT 1
#define VQ_DESC_F_WRITE 2 /* the device writes this buffer (receive) */

struct vq_desc {
	uint64_t addr; /* bus address */
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vq_used_elem {
	uint32_t id;  /* head of the chain */
	uint32_t len; /* bytes the device wrote */
};

/* One segment of a buffer to add. */
struct vq_seg {
	uint64_t addr;
	uint32_t len;
	bool write;
};

struct virtq {
	uint16_t size; /* power of two, <= VQ_MAX */
	volatile struct vq_desc *desc;
	volatile uint16_t *avail; /* flags, idx, ring[size], used_event */
	volatile uint16_t *used;  /* flags, idx, then struct vq_used_elem[size] */
	uint16_t free_head;	  /* first free descriptor */
	uint16_t num_free;
	uint16_t avail_idx;	/* our copy of avail->idx */
	uint16_t last_used;	/* used entries taken so far */
	uint16_t chain[VQ_MAX]; /* descriptors in the chain headed here; 0: not a head in flight */
	uint32_t token[VQ_MAX]; /* the caller's name for the buffer headed here */
};

/* Results of vq_take. */
enum vq_take { VQ_NONE = 0, VQ_GOT = 1, VQ_BAD = -1 };

/* Bytes of ring memory a queue of size entries takes (legacy layout). */
size_t vq_bytes(uint16_t size);

/* Byte offset of the used ring in that memory. */
size_t vq_used_offset(uint16_t size);

/*
 * Start q over the vq_bytes(size) bytes at mem (VQ_ALIGN-aligned): zero
 * them, every descriptor free. Returns 0, or -1 if size is not a power of
 * two in 1..VQ_MAX.
 */
int vq_init(struct virtq *q, uint16_t size, void *mem);

/* The head the next vq_add will use (so a caller with one buffer per
 * descriptor can fill it first), or -1 if none is free. */
int vq_next_head(const struct virtq *q);

/*
 * Make the n segments one buffer, named token, and publish it to the
 * device. Returns its head index, or -1 if fewer than n descriptors are
 * free or n is not 1..VQ_SEGS_MAX (nothing changed).
 */
int vq_add(struct virtq *q, const struct vq_seg *seg, unsigned n, uint32_t token);

/*
 * Take the next buffer the device has used: its token in *token, the bytes
 * it wrote in *len; its descriptors go back to the free list. Returns
 * VQ_GOT, VQ_NONE (nothing new), or VQ_BAD: the device's used ring names a
 * descriptor that is not the head of a buffer in flight, or claims more
 * used buffers than are in flight; nothing is taken (reset the device).
 */
enum vq_take vq_take(struct virtq *q, uint32_t *token, uint32_t *len);

/* Buffers in flight (added, not yet taken back). */
uint16_t vq_inflight(const struct virtq *q);

/* Check the invariants above. Returns 0, or a positive number saying which
 * failed (for a test's message). */
int vq_check(const struct virtq *q);

#endif
