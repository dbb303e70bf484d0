/*
 * The e1000's receive and transmit descriptor rings (Intel 8254x manual,
 * sections 3.2 and 3.3, legacy descriptors) as state machines over ring
 * memory, kept free of the device so they can be tested on the host
 * (tests/unit/test_ering.c).
 *
 * Both rings are arrays of n descriptors in memory the device reads by DMA,
 * with a head the device advances (RDH/TDH) and a tail the driver writes
 * (RDT/TDT). The device owns [head, tail); the driver the rest. A slot
 * always stays empty so head == tail means "nothing for the device".
 *
 * Receive: every slot i has the buffer rx buf_phys + i * buf_size. All but
 * one are given to the device at start. The device fills a slot and sets
 * its DD bit; the driver takes slots in order while DD is set, and gives
 * each back (status cleared, the tail moved onto it) when done with it.
 * Invariant: tail == next - 1 (mod n) while no slot is taken; at most one
 * slot is out (taken, not yet given back) at a time.
 *
 * Transmit: the driver fills slots at tail and moves the tail on; the
 * device sets DD in each descriptor it has sent (RS asks it to). The driver
 * reclaims from clean while DD is set. Invariant: in flight ==
 * (tail - clean) mod n <= n - 1, and every slot in flight has a token.
 *
 * A new incarnation of the driver resets the device, then calls erx_init /
 * etx_init on fresh memory: they write every descriptor, so a ring left
 * half-used by a dead incarnation is never trusted. Nothing the device
 * writes is trusted either: a length above the buffer is refused.
 */
#ifndef VESTA_ERING_H
#define VESTA_ERING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ERING_MAX 256 /* descriptors in one ring */

#define ERX_DD 0x01  /* descriptor done */
#define ERX_EOP 0x02 /* end of packet */
#define ETX_CMD_EOP 0x01
#define ETX_CMD_IFCS 0x02 /* insert the FCS */
#define ETX_CMD_RS 0x08	  /* report status: set DD when sent */
#define ETX_DD 0x01

struct erx_desc {
	uint64_t addr;
	uint16_t len;
	uint16_t csum;
	uint8_t status;
	uint8_t errors;
	uint16_t special;
};

struct etx_desc {
	uint64_t addr;
	uint16_t len;
	uint8_t cso;
	uint8_t cmd;
	uint8_t status;
	uint8_t css;
	uint16_t special;
};

struct erx {
	uint16_t n; /* multiple of 8 (the ring is a multiple of 128 bytes) */
	volatile struct erx_desc *d;
	uint64_t buf_phys;
	uint32_t buf_size;
	uint16_t next; /* the slot to look at next */
	uint16_t tail; /* what RDT holds */
	bool out;      /* slot next is taken, not yet given back */
};

struct etx {
	uint16_t n;
	volatile struct etx_desc *d;
	uint16_t clean; /* oldest slot in flight */
	uint16_t tail;	/* what TDT holds: the next slot to fill */
	uint32_t token[ERING_MAX];
};

/* Results of erx_take. */
enum erx_take { ERX_NONE = 0, ERX_FRAME = 1, ERX_SKIP = 2 };

/*
 * Start r over n descriptors at mem (16-byte aligned), slot i's buffer at
 * buf_phys + i * buf_size. Returns the tail to write to RDT (n - 1), or -1
 * if n is not a multiple of 8 in 8..ERING_MAX.
 */
int erx_init(struct erx *r, uint16_t n, void *mem, uint64_t buf_phys, uint32_t buf_size);

/*
 * Look at the next slot. ERX_FRAME: a whole frame is there, slot *slot,
 * *len bytes; ERX_SKIP: the slot is done but holds no usable frame (an
 * error, a frame split over slots, a length past the buffer): give it
 * back all the same; ERX_NONE: the device has not filled it. After
 * ERX_FRAME or ERX_SKIP the slot is out until erx_give_back.
 */
enum erx_take erx_take(struct erx *r, uint16_t *slot, uint16_t *len);

/* Give the slot out back to the device. Returns the new tail for RDT. */
uint16_t erx_give_back(struct erx *r);

/* Check the receive invariants. Returns 0 or which failed (> 0). */
int erx_check(const struct erx *r);

/* Start t over n descriptors at mem. Returns 0, or -1 as erx_init. */
int etx_init(struct etx *t, uint16_t n, void *mem);

/* The slot the next etx_add fills, or -1 if the ring is full. */
int etx_slot(const struct etx *t);

/* Hand the frame of len bytes at addr, named token, to the device in slot
 * etx_slot(). Returns the new tail for TDT, or -1 if the ring is full or
 * len is 0 (nothing changed). */
int etx_add(struct etx *t, uint64_t addr, uint16_t len, uint32_t token);

/* Reclaim the oldest sent slot: its token in *token. Returns true, or
 * false if the oldest is not sent yet (or nothing is in flight). */
bool etx_reclaim(struct etx *t, uint32_t *token);

/* Frames in flight. */
uint16_t etx_inflight(const struct etx *t);

/* Check the transmit invariants. Returns 0 or which failed (> 0). */
int etx_check(const struct etx *t);

#endif
