/*
 * kv's log on a disk: a checksummed append-only log with checkpoints, so
 * that every write kv acknowledged survives a power cut, a stash that was
 * discarded and corrupted memory. The disk twin of rlog.h (the stash's
 * log), written for a device that may lose, tear or reorder every write
 * not yet flushed, and whose flushed sectors may still rot.
 *
 * The disk (sectors of DLOG_SECTOR bytes, reached through struct
 * dlog_dev): two superblock slots, two checkpoint areas and the log. A
 * record is a header (its length, the generation and sequence number it
 * belongs to, a CRC-32C over the header and payload seeded with the disk's
 * random id) and its payload, padded to a whole sector. What the payload
 * means is the caller's (svc/kv/rdisk.c).
 *
 *   append     write one record at the log's end (whole sectors, never
 *              over a sector that holds an earlier record). Not durable
 *              until dlog_sync.
 *   checkpoint write records into the checkpoint area that is not live,
 *              flush, then write the superblock slot that is not the
 *              newest naming that area, the next generation and an empty
 *              log, and flush. A cut before the second flush ends leaves
 *              the old checkpoint and log readable: the newest superblock
 *              slot that checks wins.
 *
 * Reading back (dlog_open) takes the newest superblock that checks, the
 * checkpoint it names (every record must check: one that does not is
 * corruption), then log records of that generation in sequence order
 * until the first one that does not check. That one ends the log: a torn
 * or lost unflushed write. But if a record of that generation checks
 * after it (within DLOG_PROBE bytes) that was written after a sync that
 * covered the bad one (each record says which records were durable when
 * it was written), the bad one had been flushed: that is corruption, and
 * is reported so. (So damage to the last records synced, with none
 * written after them, reads as a torn tail: dlog.c says why.)
 *
 * Plain data and functions over the device's three calls: test_dlog runs
 * it over a memory disk, cut at every byte and with every bit flipped;
 * fuzz_dlog opens arbitrary disk contents.
 */
#ifndef VESTA_SVC_KV_DLOG_H
#define VESTA_SVC_KV_DLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DLOG_SECTOR 512u
#define DLOG_VERSION 1u
#define DLOG_PROBE (1u << 20)	/* bytes after a bad log record searched for a good one */
#define DLOG_REC_MAX (8u << 20) /* no record is longer: a larger length is damage */

/* The device: sectors [0, sectors). Each call returns 0 or a negative
 * error (its value is passed back to dlog's caller). */
struct dlog_dev {
	void *ctx;
	uint64_t sectors;
	int (*read)(void *ctx, uint64_t sector, void *buf, uint32_t count);
	int (*write)(void *ctx, uint64_t sector, const void *buf, uint32_t count);
	int (*flush)(void *ctx);
};

/* One piece of a record (a record is written from several). */
struct dlog_part {
	const void *p;
	size_t n;
};

/* What dlog_open found. */
enum dlog_state {
	DLOG_OK,	  /* a dlog disk, read back whole */
	DLOG_BLANK,	  /* both superblock slots are all zeros: never formatted */
	DLOG_FOREIGN,	  /* not a dlog disk (no slot has the magic): someone's data */
	DLOG_VERSION_NEW, /* a dlog disk of a newer format version */
	DLOG_CORRUPT,	  /* a superblock, checkpoint or flushed log record fails its check */
	DLOG_SMALL,	  /* the disk is below DLOG_MIN_SECTORS */
	DLOG_IOERR,	  /* the device failed a read */
};

struct dlog_report {
	enum dlog_state state;
	const char *why;     /* DLOG_CORRUPT and others: what failed, for people */
	uint64_t generation; /* the live checkpoint's */
	uint64_t records;    /* records read back (checkpoint and log) */
	uint64_t log_bytes;  /* log bytes read back */
	uint64_t torn_bytes; /* bytes of a record at the log's end that did not check */
	int io_err;	     /* DLOG_IOERR: the device's error */
};

/* A disk in use. Not stored on the disk: rebuilt by dlog_open. */
struct dlog {
	const struct dlog_dev *dev;
	uint64_t disk_id;		      /* random, from dlog_format: seeds every CRC */
	uint64_t generation;		      /* the live checkpoint's */
	uint64_t seq;			      /* the next log record's sequence number */
	uint64_t synced;		      /* log records below this seq are durable */
	uint32_t prev_crc;		      /* the last log record's CRC: the next chains on it */
	uint32_t epoch;			      /* this open's, in the log records it appends */
	uint64_t log_start, log_sectors;      /* the log area */
	uint64_t log_end;		      /* sectors of the log in use */
	uint64_t ckpt_start[2], ckpt_sectors; /* the two checkpoint areas */
	unsigned live;			      /* the live checkpoint area, 0 or 1 */
	unsigned newest_slot;		      /* the superblock slot written last */
	uint64_t ckpt_w;		      /* dlog_ckpt_add: sectors written so far */
	uint64_t ckpt_records;
	uint32_t ckpt_prev; /* the last checkpoint record's CRC */
	bool ckpt_full;	    /* a checkpoint record did not fit */
	int ckpt_err;	    /* a device error during the checkpoint */
	int broken;	    /* the device error that broke the log, or 0 */
	bool reopen;	    /* a superblock write failed: nothing is written until dlog_open */
	uint8_t *buf;	    /* a record's sectors, grown as needed (rs_alloc) */
	size_t buf_cap;
};

/* Smallest disk dlog_format takes (1 MiB), and the checkpoint area a
 * format gives unless asked for another size. */
#define DLOG_MIN_SECTORS 2048u
#define DLOG_CKPT_DEFAULT (4u << 20)

/*
 * Open the disk and read it back: apply(ctx, payload, n, in_ckpt) is
 * called for every record of the live checkpoint, then of the log, in
 * order. Returns 0 with rep->state DLOG_OK (the log is ready for appends:
 * what was read back has been flushed), another state (the disk must not
 * be written: dlog_format only on DLOG_BLANK; out of memory is DLOG_IOERR
 * with io_err -1), or apply's nonzero value (reading stopped there, and d
 * refuses every write). d must hold no buffer (new, or dlog_close'd).
 */
int dlog_open(struct dlog *d, const struct dlog_dev *dev,
	      int (*apply)(void *ctx, const uint8_t *rec, size_t n, bool in_ckpt), void *ctx,
	      struct dlog_report *rep);

/*
 * Make the disk a dlog disk with an empty checkpoint and log: checkpoint
 * areas of ckpt_bytes (rounded up to sectors; 0: DLOG_CKPT_DEFAULT, or
 * a quarter of the disk each if that is less) and
 * the rest for the log, disk_id for its CRCs (random, nonzero). Writes
 * and flushes. Returns 0, -1 if the disk is too small for the layout (or
 * disk_id is 0), or the device's error.
 */
int dlog_format(struct dlog *d, const struct dlog_dev *dev, uint64_t ckpt_bytes, uint64_t disk_id);

/* Append one record made of parts[0..n) at the log's end (not durable
 * until dlog_sync). Returns 0, 1 if the log has no room for it (take a
 * checkpoint, then append again; a record over DLOG_REC_MAX never has
 * room), -1 out of memory, or the device's error. After a device error
 * in dlog_append or dlog_sync the log is *broken* (a record may be partly
 * written, and one after it would read as corruption): every append and
 * sync returns that error until a checkpoint commits, which starts a new
 * generation's empty log. */
int dlog_append(struct dlog *d, const struct dlog_part *parts, size_t n);

/* Flush: every record appended before is durable. Returns 0 or the
 * device's error. */
int dlog_sync(struct dlog *d);

/* Bytes a record of payload n takes on the disk. */
uint64_t dlog_rec_bytes(size_t n);

/* Free bytes left in the log. */
uint64_t dlog_log_room(const struct dlog *d);

/* Start a checkpoint in the area that is not live. */
void dlog_ckpt_begin(struct dlog *d);

/* Add one record to the checkpoint begun. Returns 0, 1 if it does not fit
 * the area, -1 out of memory, or the device's error (then commit fails). */
int dlog_ckpt_add(struct dlog *d, const struct dlog_part *parts, size_t n);

/* Commit the checkpoint begun: flush, write the next superblock, flush.
 * It becomes live, with an empty log of the next generation. Returns 0,
 * 1 if a record did not fit, or the device's error. If the first flush
 * failed, the old checkpoint and log stay live (the log broken, as
 * above); if the superblock's write or the flush after it failed, the
 * disk holds the old or the new generation, and every append, sync and
 * checkpoint returns that error until dlog_open reads which. */
int dlog_ckpt_commit(struct dlog *d);

/* Free d's buffer. */
void dlog_close(struct dlog *d);

/* A name for a state, for events: "ok", "blank", "foreign", "version",
 * "corrupt", "small", "ioerr". */
const char *dlog_state_name(enum dlog_state s);

#endif
