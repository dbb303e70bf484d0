/*
 * The durable log of kv's Redis keyspace: a region of kv's stash that holds
 * a snapshot and the records written since, so that a kv restarted after a
 * death at any instruction rebuilds exactly what it had acknowledged.
 * Redis' AOF with a rewrite, kept in memory the kernel keeps across the
 * death instead of on disk.
 *
 * The region: a header, two snapshot areas (one live, one being written)
 * and the log. A record is its length, its CRC-32C and its bytes; what the
 * bytes mean is the caller's (svc/kv/rstore.c). Everything changes through
 * one 8-byte store, the *commit word*: which snapshot is live, how many
 * log bytes count, and a check over both, so a flipped bit in it shows.
 *
 *   append   write the record past the committed log bytes, then store the
 *            commit word with the new length. A death before the store
 *            leaves the record uncommitted: it never happened.
 *   snapshot write records into the other snapshot area and its length
 *            and CRC into the header, then store the commit word naming
 *            that area, with a log of 0 bytes. A death before the store
 *            leaves the old snapshot and log.
 *
 * Reading back (rlog_replay) checks every record's CRC: the first one that
 * fails ends what is read (it and everything after it is reported; the
 * caller then takes a snapshot of what it read, which replaces them), so
 * flipped bits in the region cost the records they hit and those after,
 * never a wrong record, a hang or a fault. Plain data and pure functions over a
 * caller's buffer: test_rlog runs it through a death after every store.
 */
#ifndef VESTA_SVC_KV_RLOG_H
#define VESTA_SVC_KV_RLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RLOG_MAGIC 0x31676f6c61747365ull /* "estalog1" */
#define RLOG_VERSION 1u
#define RLOG_HDR_SIZE 4096u
#define RLOG_REC_HDR 8u		 /* u32 length, u32 CRC-32C */
#define RLOG_REC_MAX (64u << 20) /* no record is longer: a larger length is damage */

/* The header at the start of the region. */
struct rlog_hdr {
	uint64_t magic; /* RLOG_MAGIC, written last when a region is made */
	uint32_t version;
	uint32_t pad;
	uint64_t size;	      /* the region's bytes, as made */
	uint64_t commit;      /* the commit word: see rlog.c */
	uint64_t snap_len[2]; /* bytes of records in each snapshot area */
	uint64_t snapshots;   /* snapshots taken since the region was made */
};

/* One piece of a record (a record is written from several). */
struct rlog_part {
	const void *p;
	size_t n;
};

/* A view of a region. Not stored in it: rebuilt by rlog_open. */
struct rlog {
	uint8_t *base;
	size_t size;
	size_t snap_cap; /* bytes of each snapshot area */
	size_t log_cap;	 /* bytes of the log */
	unsigned live;	 /* the live snapshot area, 0 or 1 */
	size_t log_len;	 /* committed log bytes */
	size_t snap_w;	 /* rlog_snap_add: bytes written into the other area */
	bool snap_full;	 /* a snapshot record did not fit */
};

/* What rlog_open and rlog_replay found. */
struct rlog_report {
	const char *made;	/* NULL: the region was kept; else why it was made
			     new: "new" (never made), "magic", "version",
			     "size", "commit" (the commit word fails its check) */
	uint64_t records;	/* records read back (snapshot and log) */
	uint64_t bad_records;	/* 1 if a record failed its check (reading stopped) */
	uint64_t dropped_bytes; /* bytes from that record to the end */
	bool bad_in_snapshot;	/* the failed record was in the snapshot */
};

/* Smallest region that holds a header, two snapshots and a log. */
#define RLOG_MIN_SIZE (RLOG_HDR_SIZE + 3 * 4096u)

/* CRC-32C (Castagnoli) of p[0..n), continuing from crc (0 to start). */
uint32_t rlog_crc32c(uint32_t crc, const void *p, size_t n);

/*
 * Open the region [base, base + size): check its header and commit word,
 * or make it new (empty snapshot, empty log) when they fail, saying why in
 * rep->made. Returns 0, or -1 if size is below RLOG_MIN_SIZE.
 */
int rlog_open(struct rlog *l, void *base, size_t size, struct rlog_report *rep);

/*
 * Call apply(ctx, bytes, n) for every record of the live snapshot, then of
 * the log, in order, checking each. A record that fails its check ends the
 * reading and rep says so; the region is not changed, so the caller must
 * take a snapshot of what it read before it appends (else a new record
 * would follow the bad one, unread). apply returning nonzero stops the
 * reading there too. Returns 0, or apply's nonzero value.
 */
int rlog_replay(struct rlog *l, int (*apply)(void *ctx, const uint8_t *rec, size_t n), void *ctx,
		struct rlog_report *rep);

/* Append one record made of parts[0..n) and commit it. Returns 0, or -1
 * if the log has no room for it (take a snapshot, then append again). */
int rlog_append(struct rlog *l, const struct rlog_part *parts, size_t n);

/* Bytes a record of payload n takes in the log or a snapshot. */
static inline size_t rlog_rec_size(size_t n)
{
	return RLOG_REC_HDR + ((n + 7) & ~(size_t)7);
}

/* Free bytes left in the log. */
size_t rlog_log_room(const struct rlog *l);

/* Start a snapshot in the area that is not live. */
void rlog_snap_begin(struct rlog *l);

/* Add one record to the snapshot begun. Returns 0, or -1 if it does not
 * fit (the snapshot cannot be committed then). */
int rlog_snap_add(struct rlog *l, const struct rlog_part *parts, size_t n);

/* Commit the snapshot begun: it becomes live, with an empty log. Returns
 * 0, or -1 if a record did not fit (nothing changes: the old snapshot and
 * log stay live). */
int rlog_snap_commit(struct rlog *l);

#endif
