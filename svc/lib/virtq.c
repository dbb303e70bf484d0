/* A split virtqueue's bookkeeping over shared ring memory: see virtq.h. */
#include "virtq.h"

#include <string.h>

/*
 * The device reads the ring after we publish an index, and we read what it
 * wrote after we see its index move. x86 keeps stores in order and loads
 * in order, so only the compiler could reorder them around the index.
 */
#define VQ_ORDERED() __atomic_signal_fence(__ATOMIC_SEQ_CST)

#define AVAIL_FLAGS 0
#define AVAIL_IDX 1
#define AVAIL_RING 2
#define USED_IDX 1

size_t vq_used_offset(uint16_t size)
{
	size_t a = 16u * size + 2u * (3u + size);

	return (a + VQ_ALIGN - 1) & ~(size_t)(VQ_ALIGN - 1);
}

size_t vq_bytes(uint16_t size)
{
	return vq_used_offset(size) + 2u * 3u + 8u * size;
}

int vq_init(struct virtq *q, uint16_t size, void *mem)
{
	if (size == 0 || size > VQ_MAX || (size & (size - 1)))
		return -1;
	memset(mem, 0, vq_bytes(size));
	q->size = size;
	q->desc = mem;
	q->avail = (volatile uint16_t *)((char *)mem + 16u * size);
	q->used = (volatile uint16_t *)((char *)mem + vq_used_offset(size));
	for (uint16_t i = 0; i < size; i++) {
		q->desc[i].next = (uint16_t)(i + 1 < size ? i + 1 : 0);
		q->chain[i] = 0;
		q->token[i] = 0;
	}
	q->free_head = 0;
	q->num_free = size;
	q->avail_idx = 0;
	q->last_used = 0;
	return 0;
}

int vq_next_head(const struct virtq *q)
{
	return q->num_free ? q->free_head : -1;
}

int vq_add(struct virtq *q, const struct vq_seg *seg, unsigned n, uint32_t token)
{
	uint16_t head = q->free_head, i = head;

	if (n == 0 || n > VQ_SEGS_MAX || n > q->num_free)
		return -1;
	for (unsigned k = 0; k < n; k++) {
		uint16_t next = q->desc[i].next;

		q->desc[i].addr = seg[k].addr;
		q->desc[i].len = seg[k].len;
		q->desc[i].flags = (uint16_t)((seg[k].write ? VQ_DESC_F_WRITE : 0) |
					      (k + 1 < n ? VQ_DESC_F_NEXT : 0));
		if (k + 1 < n)
			i = next;
		else
			q->free_head = next;
	}
	q->num_free = (uint16_t)(q->num_free - n);
	q->chain[head] = (uint16_t)n;
	q->token[head] = token;
	q->avail[AVAIL_RING + (q->avail_idx & (q->size - 1))] = head;
	VQ_ORDERED(); /* the entry before the index that publishes it */
	q->avail_idx++;
	q->avail[AVAIL_IDX] = q->avail_idx;
	return head;
}

/* Give the chain headed by head back to the free list, head first. */
static void free_chain(struct virtq *q, uint16_t head)
{
	uint16_t i = head, n = q->chain[head];

	for (uint16_t k = 1; k < n; k++)
		i = q->desc[i].next;
	q->desc[i].next = q->free_head;
	q->free_head = head;
	q->num_free = (uint16_t)(q->num_free + n);
	q->chain[head] = 0;
}

enum vq_take vq_take(struct virtq *q, uint32_t *token, uint32_t *len)
{
	uint16_t used_idx = q->used[USED_IDX];
	volatile struct vq_used_elem *ring = (volatile struct vq_used_elem *)(q->used + 2);
	uint32_t id;

	if (used_idx == q->last_used)
		return VQ_NONE;
	if ((uint16_t)(used_idx - q->last_used) > vq_inflight(q))
		return VQ_BAD;
	VQ_ORDERED(); /* the entry after the index that says it is there */
	id = ring[q->last_used & (q->size - 1)].id;
	if (id >= q->size || q->chain[id] == 0)
		return VQ_BAD;
	*len = ring[q->last_used & (q->size - 1)].len;
	*token = q->token[id];
	free_chain(q, (uint16_t)id);
	q->last_used++;
	return VQ_GOT;
}

uint16_t vq_inflight(const struct virtq *q)
{
	return (uint16_t)(q->avail_idx - q->last_used);
}

/* Walk the free list: 0 if it has exactly num_free distinct entries, none
 * of them in a chain in flight. seen[] marks what it met. */
static int check_free(const struct virtq *q, uint8_t *seen)
{
	uint16_t i = q->free_head;

	for (uint16_t k = 0; k < q->num_free; k++) {
		if (i >= q->size || seen[i] || q->chain[i])
			return 1;
		seen[i] = 1;
		i = q->desc[i].next;
	}
	return 0;
}

int vq_check(const struct virtq *q)
{
	static uint8_t seen[VQ_MAX];
	unsigned busy = 0, heads = 0;

	if (q->size == 0 || q->size > VQ_MAX || (q->size & (q->size - 1)))
		return 1;
	memset(seen, 0, sizeof(seen));
	if (q->num_free > q->size || check_free(q, seen))
		return 2;
	for (uint16_t h = 0; h < q->size; h++) {
		uint16_t i = h;

		if (q->chain[h] == 0)
			continue;
		heads++;
		for (uint16_t k = 0; k < q->chain[h]; k++) {
			if (i >= q->size || seen[i])
				return 3;
			seen[i] = 1;
			busy++;
			i = q->desc[i].next;
		}
	}
	if (busy + q->num_free != q->size)
		return 4;
	if (heads != vq_inflight(q))
		return 5;
	if (q->avail[AVAIL_IDX] != q->avail_idx)
		return 6;
	return 0;
}
