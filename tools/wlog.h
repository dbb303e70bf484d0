/*
 * The write log of QEMU's blklogwrites block filter (the dm-log-writes
 * format), as tools/crashstates reads it: a superblock, then one entry per
 * request the guest's disk completed, in the order they completed -- a
 * write with its data, a flush marker, a discard, a mark. Host-testable:
 * parsing takes a buffer and allocates only the entry array.
 *
 * Layout (little-endian, in log sectors of the superblock's sectorsize):
 *   sector 0   magic 0x6a736677736872, version 1, nr_entries, sectorsize
 *   sector 1.. each entry: one sector holding sector, nr_sectors, flags,
 *              data_len; then nr_sectors sectors of data (none for a
 *              discard, none for a flush: its nr_sectors is 0)
 * The superblock's nr_entries is rewritten at every flush (and every
 * few thousand entries), so entries logged after the last flush may lie
 * past it: wlog_parse reads on while an entry is plausible.
 */
#ifndef VESTA_TOOLS_WLOG_H
#define VESTA_TOOLS_WLOG_H

#include <stddef.h>
#include <stdint.h>

#define WLOG_MAGIC 0x6a736677736872ull
#define WLOG_FLUSH 1u
#define WLOG_FUA 2u
#define WLOG_DISCARD 4u
#define WLOG_MARK 8u

struct wlog_entry {
	uint64_t sector;     /* first disk sector (of sectorsize bytes) */
	uint64_t nr_sectors; /* 0 for a flush */
	uint64_t flags;	     /* WLOG_* */
	size_t data;	     /* offset of the data in the log buffer */
};

struct wlog {
	uint32_t sectorsize;
	uint64_t nr_entries; /* what the superblock says */
	size_t n;	     /* entries parsed (>= nr_entries) */
	struct wlog_entry *e;
	size_t flushes; /* entries with WLOG_FLUSH */
	size_t writes;	/* entries with data (not flush, discard or mark) */
};

/* Parses log[0..len) into *w (free with wlog_free). 0, or -1 with a
 * sentence in err: a bad superblock, or an entry the superblock counts
 * that is malformed or runs past the buffer. */
int wlog_parse(const uint8_t *log, size_t len, struct wlog *w, char *err, size_t errlen);
void wlog_free(struct wlog *w);

/* Whether entry i is a write that carries data onto the disk. */
int wlog_is_write(const struct wlog *w, size_t i);

/* The index of the k-th flush entry (k >= 1), or w->n if there are fewer. */
size_t wlog_flush_at(const struct wlog *w, size_t k);

/* Applies the sectors of write entry i whose bit is set in keep (bit j for
 * the entry's sector j, all of them when keep is NULL) to disk[0..size).
 * A discard zeroes its range. Ranges past size are refused: -1. */
int wlog_apply(const struct wlog *w, const uint8_t *log, size_t i, const uint8_t *keep,
	       uint8_t *disk, size_t size);

#endif
