/*
 * Block devices over channels: the protocol of a disk's channel (e.g.
 * "blk0"), which a block driver (svc/virtio-blk) serves, so that a service
 * keeps data on a disk without owning the device.
 *
 * Every request is a *call* (a cast is acked and ignored). Sectors are
 * BLK_SECTOR bytes; a request moves at most BLK_XFER_MAX of them, so that
 * a request or a reply with its data fits one message. Fields are
 * little-endian and packed as the structs lay them out.
 *
 *   INFO   struct blk_req (sector 0, count 0) -> struct blk_rep: sectors is
 *          the disk's size; flags says BLK_F_RO (read-only), BLK_F_FLUSH
 *          (the disk has a write cache: FLUSH makes writes durable).
 *   READ   struct blk_req -> struct blk_rep, then count * BLK_SECTOR bytes.
 *   WRITE  struct blk_req, then count * BLK_SECTOR bytes -> struct blk_rep.
 *          Done means the device has the data; durable only after a FLUSH
 *          (on a disk without BLK_F_FLUSH, at once).
 *   FLUSH  struct blk_req (sector 0, count 0) -> struct blk_rep: every
 *          WRITE answered before this FLUSH was sent is durable.
 *
 * The reply's err is 0 or a negative BLK_E* code; an error reply is a bare
 * struct blk_rep (no data) and its sectors field is the disk's size. A
 * request the driver does not understand (unknown op, a length that does
 * not match count, count 0 or above BLK_XFER_MAX for READ or WRITE, a
 * nonzero field that must be 0) is -BLK_EINVAL; sector + count past the
 * disk's end is -BLK_ERANGE; a WRITE to a read-only disk is -BLK_EROFS;
 * anything the device reports failed is -BLK_EIO, never success. Nothing
 * is done for a request that gets EINVAL, ERANGE or EROFS.
 *
 * Across the driver's deaths: a request in flight when the driver dies is
 * replayed by the kernel to its next incarnation, which does it again
 * (whole-sector writes are idempotent), so a client blocked in a call just
 * gets its answer later. A client's call timeout should be 0 or generous.
 */
#ifndef VESTA_BLK_H
#define VESTA_BLK_H

#include <stdint.h>

#include "vesta/abi.h"

#define BLK_SECTOR 512u

enum {
	BLK_OP_INFO = 'I',
	BLK_OP_READ = 'R',
	BLK_OP_WRITE = 'W',
	BLK_OP_FLUSH = 'F',
};

enum {
	BLK_EINVAL = 22,
	BLK_EIO = 5,
	BLK_ERANGE = 34,
	BLK_EROFS = 30,
};

#define BLK_F_RO 0x1u
#define BLK_F_FLUSH 0x2u

struct blk_req {
	uint8_t op;	 /* BLK_OP_* */
	uint8_t pad[3];	 /* 0 */
	uint32_t count;	 /* sectors (READ, WRITE), else 0 */
	uint64_t sector; /* first sector (READ, WRITE), else 0 */
} __attribute__((packed));

struct blk_rep {
	int32_t err;	  /* 0 or -BLK_E* */
	uint32_t flags;	  /* INFO: BLK_F_*; else 0 */
	uint64_t sectors; /* the disk's size in sectors */
} __attribute__((packed));

/* Most sectors one READ or WRITE moves: its data and header fit one message. */
#define BLK_XFER_MAX ((VE_MSG_MAX - 16u) / BLK_SECTOR)

_Static_assert(sizeof(struct blk_req) == 16, "blk_req is 16 bytes");
_Static_assert(sizeof(struct blk_rep) == 16, "blk_rep is 16 bytes");
_Static_assert(BLK_XFER_MAX >= 1, "a sector fits a message");

#endif
