/*
 * The split virtqueue of the virtio drivers (svc/lib/virtq.c) against a
 * model device that reads the available ring and writes the used ring as
 * a virtio device would: buffers of one to four descriptors, completed
 * in any order, long enough for the 16-bit indices to wrap several times;
 * a full queue; a device that names a descriptor not in flight; and a new
 * incarnation starting over ring memory a dead one left half-used.
 * vq_check holds after every step.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "virtq.h"

#define QSIZE 256

/* The model device's view: what it has taken from the available ring and
 * not yet put in the used ring. */
struct dev {
	uint16_t last_avail;
	uint16_t used_idx;
	uint16_t pending[VQ_MAX]; /* heads */
	uint32_t want_len[VQ_MAX];
	unsigned npending;
};

static _Alignas(4096) uint8_t ring_mem[65536];

static uint16_t avail_idx(const struct virtq *q)
{
	return q->avail[1];
}

/* Take every newly available buffer; check each chain is well formed. */
static void dev_fetch(struct virtq *q, struct dev *d)
{
	while (d->last_avail != avail_idx(q)) {
		uint16_t head = q->avail[2 + (d->last_avail & (q->size - 1))], i = head;
		uint32_t total = 0;
		unsigned n = 0;

		assert_true(head < q->size);
		for (;;) {
			total += q->desc[i].len;
			assert_true(++n <= VQ_SEGS_MAX);
			if (!(q->desc[i].flags & VQ_DESC_F_NEXT))
				break;
			i = q->desc[i].next;
			assert_true(i < q->size);
		}
		d->pending[d->npending] = head;
		d->want_len[d->npending++] = total;
		d->last_avail++;
	}
}

/* Complete pending buffer k (its id and the length it was given). */
static void dev_complete(struct virtq *q, struct dev *d, unsigned k)
{
	volatile struct vq_used_elem *ring = (volatile struct vq_used_elem *)(q->used + 2);

	ring[d->used_idx & (q->size - 1)].id = d->pending[k];
	ring[d->used_idx & (q->size - 1)].len = d->want_len[k];
	d->used_idx++;
	q->used[1] = d->used_idx;
	d->pending[k] = d->pending[--d->npending];
	d->want_len[k] = d->want_len[d->npending];
}

static void test_sizes(void **state)
{
	struct virtq q;

	(void)state;
	assert_int_equal(vq_init(&q, 0, ring_mem), -1);
	assert_int_equal(vq_init(&q, 100, ring_mem), -1);
	assert_int_equal(vq_init(&q, 2048, ring_mem), -1);
	assert_int_equal(vq_init(&q, QSIZE, ring_mem), 0);
	/* The legacy layout for QEMU's default queue: 3 pages and a bit. */
	assert_int_equal(vq_used_offset(256), 8192);
	assert_int_equal(vq_bytes(256), 8192 + 6 + 8 * 256);
	assert_true(vq_bytes(VQ_MAX) <= sizeof(ring_mem));
	assert_int_equal(vq_check(&q), 0);
}

/* Add single-descriptor buffers until full; the device takes them all. */
static void test_fill_and_drain(void **state)
{
	static struct virtq q;
	struct dev d = { 0 };
	struct vq_seg s = { .addr = 0x100000, .len = 2048, .write = true };
	uint32_t tok, len;

	(void)state;
	vq_init(&q, QSIZE, ring_mem);
	for (unsigned i = 0; i < QSIZE; i++) {
		assert_int_equal(vq_next_head(&q), (int)i);
		assert_int_equal(vq_add(&q, &s, 1, 1000 + i), (int)i);
	}
	assert_int_equal(vq_next_head(&q), -1);
	assert_int_equal(vq_add(&q, &s, 1, 7), -1);
	assert_int_equal(vq_check(&q), 0);
	assert_int_equal(vq_take(&q, &tok, &len), VQ_NONE);
	dev_fetch(&q, &d);
	assert_int_equal(d.npending, QSIZE);
	while (d.npending)
		dev_complete(&q, &d, 0);
	for (unsigned i = 0; i < QSIZE; i++) {
		assert_int_equal(vq_take(&q, &tok, &len), VQ_GOT);
		assert_true(tok >= 1000 && tok < 1000 + QSIZE);
		assert_int_equal(len, 2048);
	}
	assert_int_equal(vq_take(&q, &tok, &len), VQ_NONE);
	assert_int_equal(q.num_free, QSIZE);
	assert_int_equal(vq_check(&q), 0);
}

/* Random chains, completed in random order, for 300,000 buffers: the
 * 16-bit indices wrap four times. Every token comes back exactly once. */
static void test_random_wrap(void **state)
{
	static struct virtq q;
	static struct dev d;
	static uint8_t out[1u << 20];
	uint32_t next_tok = 0, taken = 0, tok, len;
	unsigned seed = 12345;

	(void)state;
	memset(&d, 0, sizeof(d));
	memset(out, 0, sizeof(out));
	vq_init(&q, 64, ring_mem);
	while (taken < 300000) {
		unsigned op = (unsigned)rand_r(&seed) % 4;

		if (op < 2) {
			struct vq_seg s[VQ_SEGS_MAX];
			unsigned n = 1 + (unsigned)rand_r(&seed) % VQ_SEGS_MAX;

			for (unsigned k = 0; k < n; k++)
				s[k] = (struct vq_seg){ .addr = 0x1000u * k,
							.len = 100 + k,
							.write = k };
			if (vq_add(&q, s, n, next_tok) >= 0)
				out[next_tok++ % sizeof(out)] = 1;
			else
				assert_true(q.num_free < n);
		} else if (op == 2) {
			dev_fetch(&q, &d);
			if (d.npending)
				dev_complete(&q, &d, (unsigned)rand_r(&seed) % d.npending);
		} else {
			while (vq_take(&q, &tok, &len) == VQ_GOT) {
				assert_int_equal(out[tok % sizeof(out)], 1);
				out[tok % sizeof(out)] = 0;
				taken++;
			}
		}
		assert_int_equal(vq_check(&q), 0);
	}
	assert_true(next_tok > 4 * 65536u);
	assert_int_equal(q.avail_idx, (uint16_t)next_tok);
}

/* A device that names a descriptor not in flight, or claims more used
 * buffers than there are, is refused and nothing is taken. */
static void test_bad_device(void **state)
{
	static struct virtq q;
	struct vq_seg s = { .addr = 0x2000, .len = 64, .write = false };
	volatile struct vq_used_elem *ring;
	uint32_t tok, len;

	(void)state;
	vq_init(&q, 16, ring_mem);
	ring = (volatile struct vq_used_elem *)(q.used + 2);
	vq_add(&q, &s, 1, 1);
	ring[0].id = 5; /* not a head in flight */
	q.used[1] = 1;
	assert_int_equal(vq_take(&q, &tok, &len), VQ_BAD);
	ring[0].id = 999; /* past the table */
	assert_int_equal(vq_take(&q, &tok, &len), VQ_BAD);
	ring[0].id = 0;
	q.used[1] = 3; /* more than in flight */
	assert_int_equal(vq_take(&q, &tok, &len), VQ_BAD);
	assert_int_equal(vq_check(&q), 0);
	q.used[1] = 1;
	assert_int_equal(vq_take(&q, &tok, &len), VQ_GOT);
	assert_int_equal(tok, 1);
	assert_int_equal(vq_check(&q), 0);
}

/* A dead incarnation left the ring half-used (indices advanced, chains in
 * flight, used entries pending) and then garbage; a new one starts over
 * the same memory after a device reset: nothing old is seen. */
static void test_reinit_half_used(void **state)
{
	static struct virtq q;
	static struct dev d;
	struct vq_seg s = { .addr = 0x3000, .len = 1514, .write = true };
	uint32_t tok, len;

	(void)state;
	memset(&d, 0, sizeof(d));
	vq_init(&q, QSIZE, ring_mem);
	for (unsigned i = 0; i < 200; i++)
		vq_add(&q, &s, 1, i);
	dev_fetch(&q, &d);
	for (unsigned i = 0; i < 90; i++)
		dev_complete(&q, &d, 0);
	for (unsigned i = 0; i < 40; i++)
		assert_int_equal(vq_take(&q, &tok, &len), VQ_GOT);
	/* The dead one's memory, scribbled on for good measure. */
	memset(ring_mem + 100, 0xa5, 300);
	memset(&q, 0x5a, sizeof(q));
	assert_int_equal(vq_init(&q, QSIZE, ring_mem), 0);
	assert_int_equal(vq_check(&q), 0);
	assert_int_equal(vq_take(&q, &tok, &len), VQ_NONE);
	assert_int_equal(q.num_free, QSIZE);
	/* The reset device starts from index 0 too. */
	memset(&d, 0, sizeof(d));
	for (unsigned i = 0; i < 3 * QSIZE; i++) {
		assert_true(vq_add(&q, &s, 1, 5000 + i) >= 0);
		dev_fetch(&q, &d);
		dev_complete(&q, &d, 0);
		assert_int_equal(vq_take(&q, &tok, &len), VQ_GOT);
		assert_int_equal(tok, 5000 + i);
		assert_int_equal(vq_check(&q), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_fill_and_drain),
		cmocka_unit_test(test_random_wrap),
		cmocka_unit_test(test_bad_device),
		cmocka_unit_test(test_reinit_half_used),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
