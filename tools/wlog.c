/*
 * Reading QEMU's blklogwrites log (wlog.h has the layout): the parser and
 * the replay of one entry onto a disk image, for tools/crashstates.
 */
#include "wlog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WLOG_VERSION 1u
#define WLOG_FLAGS (WLOG_FLUSH | WLOG_FUA | WLOG_DISCARD | WLOG_MARK)

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int fail(char *err, size_t errlen, const char *what, size_t at)
{
	snprintf(err, errlen, "%s (log entry %zu)", what, at);
	return -1;
}

static int check_super(const uint8_t *log, size_t len, struct wlog *w, char *err, size_t errlen)
{
	uint32_t ss;

	if (len < 32)
		return fail(err, errlen, "log shorter than its superblock", 0);
	if (le64(log) != WLOG_MAGIC)
		return fail(err, errlen, "not a blklogwrites log: bad magic", 0);
	if (le64(log + 8) != WLOG_VERSION)
		return fail(err, errlen, "unknown blklogwrites log version", 0);
	ss = le32(log + 24);
	if (ss < 32 || (ss & (ss - 1)) || ss > (1u << 20))
		return fail(err, errlen, "bad log sector size", 0);
	w->sectorsize = ss;
	w->nr_entries = le64(log + 16);
	return 0;
}

/* Reads the entry at byte offset off into *e; returns the offset after it,
 * or 0 if it does not fit or is not an entry. */
static size_t read_entry(const uint8_t *log, size_t len, size_t off, uint32_t ss,
			 struct wlog_entry *e)
{
	size_t data_bytes;

	if (off > len || len - off < ss)
		return 0;
	e->sector = le64(log + off);
	e->nr_sectors = le64(log + off + 8);
	e->flags = le64(log + off + 16);
	e->data = off + ss;
	if (e->flags & ~(uint64_t)WLOG_FLAGS)
		return 0;
	if (e->nr_sectors > (len - e->data) / ss && !(e->flags & WLOG_DISCARD))
		return 0;
	data_bytes = (e->flags & WLOG_DISCARD) ? 0 : (size_t)e->nr_sectors * ss;
	return e->data + data_bytes;
}

/* An entry past nr_entries counts only if it looks like one QEMU wrote:
 * a flush, or a write or discard of at least one sector. Past the log's
 * end the file is zeros, which is none of these. */
static int plausible(const struct wlog_entry *e)
{
	if (e->flags & WLOG_FLUSH)
		return e->nr_sectors == 0 && e->sector == 0;
	return e->nr_sectors > 0;
}

static int push(struct wlog *w, const struct wlog_entry *e, size_t *cap)
{
	if (w->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct wlog_entry *ne = realloc(w->e, ncap * sizeof(*ne));

		if (!ne)
			return -1;
		w->e = ne;
		*cap = ncap;
	}
	w->e[w->n++] = *e;
	if (e->flags & WLOG_FLUSH)
		w->flushes++;
	if (wlog_is_write(w, w->n - 1))
		w->writes++;
	return 0;
}

int wlog_parse(const uint8_t *log, size_t len, struct wlog *w, char *err, size_t errlen)
{
	size_t off, cap = 0;

	memset(w, 0, sizeof(*w));
	if (check_super(log, len, w, err, errlen))
		return -1;
	off = w->sectorsize;
	for (;;) {
		struct wlog_entry e;
		size_t next = read_entry(log, len, off, w->sectorsize, &e);

		if (w->n < w->nr_entries && !next) {
			wlog_free(w);
			return fail(err, errlen, "malformed or cut entry the superblock counts",
				    w->n);
		}
		if (w->n >= w->nr_entries && (!next || !plausible(&e)))
			return 0;
		if (push(w, &e, &cap)) {
			wlog_free(w);
			return fail(err, errlen, "out of memory", w->n);
		}
		off = next;
	}
}

void wlog_free(struct wlog *w)
{
	free(w->e);
	w->e = NULL;
	w->n = 0;
}

int wlog_is_write(const struct wlog *w, size_t i)
{
	return i < w->n && !(w->e[i].flags & (WLOG_FLUSH | WLOG_MARK)) && w->e[i].nr_sectors > 0;
}

size_t wlog_flush_at(const struct wlog *w, size_t k)
{
	size_t seen = 0;

	for (size_t i = 0; i < w->n; i++)
		if ((w->e[i].flags & WLOG_FLUSH) && ++seen == k)
			return i;
	return w->n;
}

int wlog_apply(const struct wlog *w, const uint8_t *log, size_t i, const uint8_t *keep,
	       uint8_t *disk, size_t size)
{
	const struct wlog_entry *e = &w->e[i];
	size_t ss = w->sectorsize;

	if (!wlog_is_write(w, i))
		return 0;
	if (e->sector > size / ss || e->nr_sectors > size / ss - e->sector)
		return -1;
	for (size_t j = 0; j < e->nr_sectors; j++) {
		uint8_t *to = disk + (e->sector + j) * ss;

		if (keep && !(keep[j / 8] & (1u << (j % 8))))
			continue;
		if (e->flags & WLOG_DISCARD)
			memset(to, 0, ss);
		else
			memcpy(to, log + e->data + j * ss, ss);
	}
	return 0;
}
