/*
 * The e1000 descriptor rings of svc/e1000 (ering.c) against a model device
 * that moves RDH/TDH as the 8254x does: frames received in order into the
 * slots between head and tail, transmit descriptors sent and marked done,
 * wrapping the rings thousands of times; slots the device marks bad; and a
 * new incarnation starting over rings a dead one left half-used.
 * erx_check/etx_check hold after every step.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ering.h"

#define N 64
#define BUF 2048
#define BUF_PHYS 0x200000ull

static _Alignas(16) uint8_t mem[ERING_MAX * 16];

/* The device receives one frame of len bytes at head if head != tail
 * (its RDT): it writes the slot and advances head. Returns whether it could. */
static bool dev_receive(struct erx *r, uint16_t *head, uint16_t len, uint8_t status, uint8_t err)
{
	if (*head == r->tail)
		return false;
	assert_int_equal(r->d[*head].addr, BUF_PHYS + (uint64_t)*head * BUF);
	r->d[*head].len = len;
	r->d[*head].errors = err;
	r->d[*head].status = status;
	*head = (uint16_t)((*head + 1) % r->n);
	return true;
}

/* The device sends up to k descriptors from its head toward the tail. */
static void dev_send(struct etx *t, uint16_t *head, unsigned k)
{
	while (k-- && *head != t->tail) {
		assert_true(t->d[*head].cmd & ETX_CMD_RS);
		assert_true(t->d[*head].cmd & ETX_CMD_EOP);
		t->d[*head].status = ETX_DD;
		*head = (uint16_t)((*head + 1) % t->n);
	}
}

static void test_sizes(void **state)
{
	struct erx r;
	static struct etx t;

	(void)state;
	assert_int_equal(erx_init(&r, 0, mem, BUF_PHYS, BUF), -1);
	assert_int_equal(erx_init(&r, 12, mem, BUF_PHYS, BUF), -1);
	assert_int_equal(erx_init(&r, 512, mem, BUF_PHYS, BUF), -1);
	assert_int_equal(etx_init(&t, 4, mem), -1);
	assert_int_equal(erx_init(&r, N, mem, BUF_PHYS, BUF), N - 1);
	assert_int_equal(erx_check(&r), 0);
	assert_int_equal(sizeof(struct erx_desc), 16);
	assert_int_equal(sizeof(struct etx_desc), 16);
}

/* 10,000 frames through a 64-slot ring, the device racing ahead by a
 * random amount: every frame comes out in order, the ring never holds
 * more than n - 1, and the tail trails the next slot by one. */
static void test_rx_wrap(void **state)
{
	struct erx r;
	uint16_t head = 0, slot, len;
	unsigned seed = 7, sent = 0, got = 0;

	(void)state;
	erx_init(&r, N, mem, BUF_PHYS, BUF);
	while (got < 10000) {
		unsigned burst = (unsigned)rand_r(&seed) % (N + 8);

		for (unsigned k = 0; k < burst; k++)
			if (dev_receive(&r, &head, (uint16_t)(60 + sent % 1400), ERX_DD | ERX_EOP,
					0))
				sent++;
		assert_true(sent - got <= N - 1);
		while (erx_take(&r, &slot, &len) == ERX_FRAME) {
			assert_int_equal(slot, got % N);
			assert_int_equal(len, 60 + got % 1400);
			got++;
			erx_give_back(&r);
			assert_int_equal(erx_check(&r), 0);
		}
		assert_int_equal(erx_take(&r, &slot, &len), ERX_NONE);
	}
}

/* Slots the device marks with an error, without EOP, or with a length
 * past the buffer are skipped and given back; good frames around them
 * still come through. */
static void test_rx_skip(void **state)
{
	struct erx r;
	uint16_t head = 0, slot, len;

	(void)state;
	erx_init(&r, N, mem, BUF_PHYS, BUF);
	dev_receive(&r, &head, 100, ERX_DD | ERX_EOP, 0);
	dev_receive(&r, &head, 100, ERX_DD | ERX_EOP, 0x80);
	dev_receive(&r, &head, 100, ERX_DD, 0);
	dev_receive(&r, &head, BUF + 1, ERX_DD | ERX_EOP, 0);
	dev_receive(&r, &head, 0, ERX_DD | ERX_EOP, 0);
	dev_receive(&r, &head, 200, ERX_DD | ERX_EOP, 0);
	assert_int_equal(erx_take(&r, &slot, &len), ERX_FRAME);
	assert_int_equal(erx_take(&r, &slot, &len), ERX_SKIP); /* not given back yet */
	erx_give_back(&r);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(erx_take(&r, &slot, &len), ERX_SKIP);
		erx_give_back(&r);
	}
	assert_int_equal(erx_take(&r, &slot, &len), ERX_FRAME);
	assert_int_equal(len, 200);
	assert_int_equal(slot, 5);
	assert_int_equal(erx_give_back(&r), 5);
	assert_int_equal(erx_check(&r), 0);
}

/* Transmit 20,000 frames, the device sending a random number at a time:
 * tokens come back in order, the ring refuses the n-th frame in flight. */
static void test_tx_wrap(void **state)
{
	static struct etx t;
	uint16_t head = 0;
	uint32_t next = 0, done = 0, tok;
	unsigned seed = 99;

	(void)state;
	etx_init(&t, N, mem);
	while (done < 20000) {
		unsigned burst = (unsigned)rand_r(&seed) % (N + 8);

		for (unsigned k = 0; k < burst; k++) {
			int slot = etx_slot(&t);

			if (slot < 0) {
				assert_int_equal(etx_inflight(&t), N - 1);
				assert_int_equal(etx_add(&t, 0x1000, 60, next), -1);
				break;
			}
			assert_int_equal(etx_add(&t, 0x1000 + (uint64_t)slot * BUF, 60, next),
					 (slot + 1) % N);
			next++;
		}
		assert_int_equal(etx_check(&t), 0);
		dev_send(&t, &head, (unsigned)rand_r(&seed) % N);
		while (etx_reclaim(&t, &tok))
			assert_int_equal(tok, done++);
		assert_int_equal(etx_check(&t), 0);
	}
	assert_int_equal(etx_add(&t, 0x1000, 0, 1), -1);
}

/* A dead incarnation left both rings half-used: receive slots done and not
 * taken, transmit slots in flight and some done. After the device reset a
 * new incarnation starts over the same memory and sees none of it. */
static void test_reinit_half_used(void **state)
{
	struct erx r;
	static struct etx t;
	uint16_t head = 0, slot, len;
	uint32_t tok;

	(void)state;
	erx_init(&r, N, mem, BUF_PHYS, BUF);
	for (int i = 0; i < 30; i++)
		dev_receive(&r, &head, 64, ERX_DD | ERX_EOP, 0);
	erx_take(&r, &slot, &len);    /* died holding one out */
	memset(mem + 200, 0xff, 100); /* and scribbled */
	memset(&r, 0x5a, sizeof(r));
	assert_int_equal(erx_init(&r, N, mem, BUF_PHYS, BUF), N - 1);
	assert_int_equal(erx_check(&r), 0);
	assert_int_equal(erx_take(&r, &slot, &len), ERX_NONE);
	head = 0; /* reset */
	dev_receive(&r, &head, 99, ERX_DD | ERX_EOP, 0);
	assert_int_equal(erx_take(&r, &slot, &len), ERX_FRAME);
	assert_int_equal(slot, 0);
	assert_int_equal(len, 99);

	etx_init(&t, N, mem);
	head = 0;
	for (uint32_t i = 0; i < 40; i++)
		etx_add(&t, 0x1000, 60, i);
	dev_send(&t, &head, 20);
	memset(&t, 0x5a, sizeof(t));
	assert_int_equal(etx_init(&t, N, mem), 0);
	assert_int_equal(etx_check(&t), 0);
	assert_false(etx_reclaim(&t, &tok));
	assert_int_equal(etx_inflight(&t), 0);
	head = 0;
	etx_add(&t, 0x1000, 60, 77);
	dev_send(&t, &head, 1);
	assert_true(etx_reclaim(&t, &tok));
	assert_int_equal(tok, 77);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_rx_wrap),
		cmocka_unit_test(test_rx_skip),
		cmocka_unit_test(test_tx_wrap),
		cmocka_unit_test(test_reinit_half_used),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
