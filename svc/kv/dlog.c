/*
 * kv's log on a disk (dlog.h has the contract): superblocks, checkpoints
 * and a log of checksummed records, over a device that may lose, tear or
 * reorder every write not yet flushed.
 *
 * The format, version 1 (little-endian, sectors of 512 bytes):
 *
 *   sector 0    superblock slot 0
 *   sector 8    superblock slot 1: not in slot 0's 4 KiB, so that a disk
 *               with 4 KiB physical sectors, which rewrites a whole one for
 *               a 512-byte write, cannot tear both slots with one write
 *   sector 16   checkpoint area 0, then area 1 (ckpt_sectors each)
 *   then        the log, to the disk's end as formatted
 *
 * A slot (struct sb) holds the magic "vestadk1", the version, the disk's
 * id, a generation, the live checkpoint area and its records' sectors and
 * count, the layout, and a CRC-32C over the rest of the sector. A newer
 * version keeps magic, version and that CRC where they are, so an older
 * dlog can tell a newer disk from a damaged one. Generation g always lives
 * in slot (g & 1) ^ 1; a commit writes the other slot, one sector in one
 * write. dlog_format writes slot 1 (generation 0, empty), flushes, then
 * slot 0 (generation 1, empty) and flushes: a formatted disk has both.
 *
 * A record (struct rec_hdr, then the payload, zero-padded to a sector):
 * kind (log or checkpoint), length, generation, seq (0, 1, ... within its
 * area and generation), prev_crc (the CRC of the record before it in the
 * area), epoch (of the open that wrote it: log_epoch), flushed (the seq
 * below which every log record was durable when this one was written)
 * and a CRC-32C seeded with the disk's id over the header, payload and
 * padding. Each record checks by itself; prev_crc and epoch make sure a
 * record left behind after a lost one never chains onto what an open
 * appends in the lost one's place.
 *
 * Which slot wins (dlog_open):
 *   - any slot that checks with a newer version: DLOG_VERSION_NEW;
 *   - both all zeros: DLOG_BLANK; slot 0 all zeros and slot 1 failing
 *     its check: the first write of a format was torn, nothing was ever
 *     stored: DLOG_BLANK too;
 *   - no slot has the magic: DLOG_FOREIGN; else none checks: DLOG_CORRUPT;
 *   - both check: they must agree (id, layout, adjacent generations), and
 *     the newer wins;
 *   - one checks: it wins. The other is an older generation that rotted,
 *     or a newer one whose single-sector write was torn by a cut before
 *     its commit's last flush ended -- then the newer checkpoint was never
 *     committed, and the older one, its area and its log are untouched
 *     (the commit wrote only the other area and slot). What a newer,
 *     committed slot leaves behind is its log: a record there that checks
 *     with a later generation proves the lost slot was committed, and is
 *     DLOG_CORRUPT, never a silent fall back. (A committed slot that rots
 *     before its generation's first record is written goes unseen: the
 *     older checkpoint and log are read.)
 *
 * Where the log ends: at the first record that is not the next one (kind,
 * generation, seq, prev_crc) or does not check. If a record found after it
 * (within DLOG_PROBE bytes past it) checks with this generation and says
 * that the bad one had been flushed (its flushed field is past the bad
 * one's seq), a durable record failed: DLOG_CORRUPT. A later record that
 * does not say so was written with the bad one unflushed: the device lost
 * or reordered them in a cut, and the log ends cleanly at the bad one
 * (appends overwrite it). A record of a later generation anywhere there
 * is DLOG_CORRUPT (see above). The cost of telling a cut from damage this
 * way: a record synced together with those after it, or the last one
 * synced, has no later record to vouch for it, and its damage reads as a
 * cut there (the records from it on are lost, torn_bytes says how many
 * bytes when its header is intact). A cut never reads as corruption.
 */
#include "dlog.h"

#include "resp.h"
#include "rlog.h"
#include "string.h"

#define SB_MAGIC "vestadk1"
#define SLOT1_SECTOR 8u
#define FIRST_AREA 16u
#define REC_MAGIC 0x63657264u /* "drec" */
#define REC_LOG 1u
#define REC_CKPT 2u
#define READ_CHUNK 256u /* sectors one read asks for: 128 KiB */

/* A superblock slot: one sector. */
struct sb {
	char magic[8];
	uint32_t version;
	uint32_t live; /* the live checkpoint area, 0 or 1 */
	uint64_t disk_id;
	uint64_t generation;
	uint64_t disk_sectors; /* the layout, as formatted */
	uint64_t ckpt_start[2];
	uint64_t ckpt_sectors;
	uint64_t log_start;
	uint64_t log_sectors;
	uint64_t ckpt_used;    /* sectors of the live checkpoint's records */
	uint64_t ckpt_records; /* and how many */
	uint8_t zero[DLOG_SECTOR - 100];
	uint32_t crc; /* CRC-32C of the bytes before it */
};

/* A record's header, at the start of its first sector. */
struct rec_hdr {
	uint32_t magic; /* REC_MAGIC */
	uint32_t kind;	/* REC_LOG or REC_CKPT */
	uint32_t len;	/* payload bytes */
	uint32_t prev_crc;
	uint64_t generation;
	uint64_t seq;
	uint64_t flushed;
	uint32_t epoch; /* log: the open that wrote it (see log_epoch) */
	uint32_t crc;	/* seeded with disk_id, over the header before it and the rest */
};

_Static_assert(sizeof(struct sb) == DLOG_SECTOR, "a slot is one sector");
_Static_assert(sizeof(struct rec_hdr) == 48, "the record header is 48 bytes");

#define HDR sizeof(struct rec_hdr)

/* What a slot holds. */
enum slot_kind { SLOT_ZERO, SLOT_ALIEN, SLOT_BAD, SLOT_NEWER, SLOT_GOOD };

/* dlog_open's reading: where apply's value and the report go. */
struct reader {
	struct dlog *d;
	int (*apply)(void *ctx, const uint8_t *rec, size_t n, bool in_ckpt);
	void *ctx;
	struct dlog_report *rep;
	int applied; /* apply's nonzero value */
};

/* ---- sizes and buffers ---- */

uint64_t dlog_rec_bytes(size_t n)
{
	return ((uint64_t)n + HDR + DLOG_SECTOR - 1) / DLOG_SECTOR * DLOG_SECTOR;
}

static uint64_t rec_sectors(uint64_t n)
{
	return dlog_rec_bytes(n) / DLOG_SECTOR;
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* Make d->buf hold n bytes (at most a largest record's). */
static int buf_reserve(struct dlog *d, size_t n)
{
	size_t cap = d->buf_cap ? d->buf_cap : 8 * DLOG_SECTOR;
	uint8_t *p;

	if (n <= d->buf_cap)
		return 0;
	while (cap < n)
		cap *= 2;
	if (cap > dlog_rec_bytes(DLOG_REC_MAX))
		cap = dlog_rec_bytes(DLOG_REC_MAX);
	p = rs_realloc(d->buf, cap);
	if (p == NULL)
		return -1;
	d->buf = p;
	d->buf_cap = cap;
	return 0;
}

/* ---- the layout ---- */

static uint64_t slot_sector(unsigned slot)
{
	return slot ? SLOT1_SECTOR : 0;
}

/* The slot generation g is written to. */
static unsigned slot_of(uint64_t g)
{
	return (unsigned)(g & 1) ^ 1;
}

/* Lay out a disk of `sectors` with checkpoint areas of ckpt sectors.
 * Returns false if they do not fit with a log of at least one sector. */
static bool set_layout(struct dlog *d, uint64_t sectors, uint64_t ckpt)
{
	if (ckpt == 0 || sectors < FIRST_AREA || ckpt >= (sectors - FIRST_AREA) / 2)
		return false;
	d->ckpt_sectors = ckpt;
	d->ckpt_start[0] = FIRST_AREA;
	d->ckpt_start[1] = FIRST_AREA + ckpt;
	d->log_start = FIRST_AREA + 2 * ckpt;
	d->log_sectors = sectors - d->log_start;
	return true;
}

/* Does the slot's layout say what set_layout would? */
static bool layout_ok(const struct sb *s)
{
	struct dlog l;

	if (s->disk_sectors < DLOG_MIN_SECTORS || !set_layout(&l, s->disk_sectors, s->ckpt_sectors))
		return false;
	return s->ckpt_start[0] == l.ckpt_start[0] && s->ckpt_start[1] == l.ckpt_start[1] &&
	       s->log_start == l.log_start && s->log_sectors == l.log_sectors;
}

/* ---- records ---- */

/* The record's CRC: over its header before the crc field and everything
 * after the header, padding included (so no flipped bit in its sectors
 * goes unseen). rec is the record's sectors. */
static uint32_t rec_crc(uint64_t disk_id, const struct rec_hdr *h, const uint8_t *rec)
{
	uint32_t crc = rlog_crc32c(0, &disk_id, sizeof(disk_id));

	crc = rlog_crc32c(crc, h, offsetof(struct rec_hdr, crc));
	return rlog_crc32c(crc, rec + HDR, dlog_rec_bytes(h->len) - HDR);
}

/* Lay the record h (its len and crc filled here) with payload parts[0..n)
 * out in d->buf. Returns its sectors, 0 if it is over DLOG_REC_MAX, or -1
 * out of memory. */
static long build_rec(struct dlog *d, struct rec_hdr *h, const struct dlog_part *parts, size_t n)
{
	size_t len = 0, at = HDR;
	uint64_t bytes;

	for (size_t i = 0; i < n; i++) {
		if (parts[i].n > DLOG_REC_MAX - len)
			return 0;
		len += parts[i].n;
	}
	bytes = dlog_rec_bytes(len);
	if (buf_reserve(d, bytes))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (parts[i].n)
			memcpy(d->buf + at, parts[i].p, parts[i].n);
		at += parts[i].n;
	}
	memset(d->buf + at, 0, bytes - at);
	h->magic = REC_MAGIC;
	h->len = (uint32_t)len;
	h->crc = rec_crc(d->disk_id, h, d->buf);
	memcpy(d->buf, h, HDR);
	return (long)(bytes / DLOG_SECTOR);
}

/* Read count sectors from `sector` into d->buf + off, in chunks. */
static int read_sectors(struct dlog *d, uint64_t sector, size_t off, uint64_t count)
{
	while (count) {
		uint32_t n = count < READ_CHUNK ? (uint32_t)count : READ_CHUNK;
		int r = d->dev->read(d->dev->ctx, sector, d->buf + off, n);

		if (r)
			return r;
		sector += n;
		off += (size_t)n * DLOG_SECTOR;
		count -= n;
	}
	return 0;
}

/*
 * Read the record at `sector`, with room sectors before its area ends,
 * into d->buf and its header into *h (whatever the first sector says).
 * Returns 1 if it checks, 0 if not, or a negative error (-1 out of
 * memory, else the device's).
 */
static int read_rec(struct dlog *d, uint64_t sector, uint64_t room, struct rec_hdr *h)
{
	uint64_t sectors;
	int r;

	if (room == 0)
		return 0;
	if (buf_reserve(d, DLOG_SECTOR))
		return -1;
	if ((r = read_sectors(d, sector, 0, 1)) != 0)
		return r;
	memcpy(h, d->buf, HDR);
	if (h->magic != REC_MAGIC || h->len > DLOG_REC_MAX)
		return 0;
	sectors = rec_sectors(h->len);
	if (sectors > room)
		return 0;
	if (sectors > 1) {
		if (buf_reserve(d, sectors * DLOG_SECTOR))
			return -1;
		if ((r = read_sectors(d, sector + 1, DLOG_SECTOR, sectors - 1)) != 0)
			return r;
	}
	return rec_crc(d->disk_id, h, d->buf) == h->crc;
}

/* ---- superblocks ---- */

static void slot_fill(const struct dlog *d, struct sb *s, uint64_t gen, unsigned live,
		      uint64_t used, uint64_t records)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->magic, SB_MAGIC, 8);
	s->version = DLOG_VERSION;
	s->live = live;
	s->disk_id = d->disk_id;
	s->generation = gen;
	s->disk_sectors = d->log_start + d->log_sectors;
	s->ckpt_start[0] = d->ckpt_start[0];
	s->ckpt_start[1] = d->ckpt_start[1];
	s->ckpt_sectors = d->ckpt_sectors;
	s->log_start = d->log_start;
	s->log_sectors = d->log_sectors;
	s->ckpt_used = used;
	s->ckpt_records = records;
	s->crc = rlog_crc32c(0, s, offsetof(struct sb, crc));
}

/* Write generation gen's slot: one sector, one write. */
static int slot_write(struct dlog *d, uint64_t gen, unsigned live, uint64_t used, uint64_t records)
{
	struct sb s;

	slot_fill(d, &s, gen, live, used, records);
	return d->dev->write(d->dev->ctx, slot_sector(slot_of(gen)), &s, 1);
}

static enum slot_kind slot_kind(const struct sb *s, unsigned slot)
{
	if (all_zero(s, sizeof(*s)))
		return SLOT_ZERO;
	if (memcmp(s->magic, SB_MAGIC, 8) != 0)
		return SLOT_ALIEN;
	if (rlog_crc32c(0, s, offsetof(struct sb, crc)) != s->crc)
		return SLOT_BAD;
	if (s->version > DLOG_VERSION)
		return SLOT_NEWER;
	if (s->version != DLOG_VERSION || s->live > 1 || s->disk_id == 0 ||
	    slot_of(s->generation) != slot || !all_zero(s->zero, sizeof(s->zero)) ||
	    !layout_ok(s) || s->ckpt_used > s->ckpt_sectors || s->ckpt_records > s->ckpt_used)
		return SLOT_BAD;
	return SLOT_GOOD;
}

/* Do two good slots belong to one history? */
static bool slots_agree(const struct sb *a, const struct sb *b)
{
	uint64_t ga = a->generation, gb = b->generation;

	return a->disk_id == b->disk_id && a->disk_sectors == b->disk_sectors &&
	       a->ckpt_sectors == b->ckpt_sectors && (ga == gb + 1 || gb == ga + 1);
}

static bool state(struct reader *rd, enum dlog_state st, const char *why)
{
	rd->rep->state = st;
	rd->rep->why = why;
	return false;
}

static bool io_fail(struct reader *rd, int err)
{
	rd->rep->io_err = err;
	return state(rd, DLOG_IOERR, err == -1 ? "out of memory" : "the device failed a read");
}

/* Which slot wins (see the top of this file): DLOG_OK and its index in
 * *w, or the state the slots leave the disk in and why. */
static enum dlog_state slot_choose(const struct sb s[2], int *w, const char **why)
{
	enum slot_kind k0 = slot_kind(&s[0], 0), k1 = slot_kind(&s[1], 1);

	*why = NULL;
	if (k0 == SLOT_NEWER || k1 == SLOT_NEWER)
		return *why = "a newer format version", DLOG_VERSION_NEW;
	if (k0 == SLOT_ZERO && k1 == SLOT_ZERO)
		return DLOG_BLANK;
	if (k0 == SLOT_ZERO && k1 == SLOT_BAD)
		return *why = "a format's first write was torn", DLOG_BLANK;
	if (k0 != SLOT_GOOD && k1 != SLOT_GOOD) {
		if (k0 != SLOT_BAD && k1 != SLOT_BAD)
			return *why = "no superblock slot has the magic", DLOG_FOREIGN;
		return *why = "no superblock slot checks", DLOG_CORRUPT;
	}
	if (k0 == SLOT_GOOD && k1 == SLOT_GOOD && !slots_agree(&s[0], &s[1]))
		return *why = "the superblock slots disagree", DLOG_CORRUPT;
	if (k0 == SLOT_GOOD && k1 == SLOT_GOOD)
		*w = s[1].generation > s[0].generation;
	else
		*w = k1 == SLOT_GOOD;
	return DLOG_OK;
}

/* Read both slots and take the winner's layout and generation into d.
 * Returns false with the state set. */
static bool read_super(struct reader *rd, uint64_t *used, uint64_t *records)
{
	struct dlog *d = rd->d;
	struct sb s[2];
	enum dlog_state st;
	const char *why;
	int r, w = 0;

	for (unsigned i = 0; i < 2; i++) {
		if ((r = d->dev->read(d->dev->ctx, slot_sector(i), &s[i], 1)) != 0)
			return io_fail(rd, r);
	}
	if ((st = slot_choose(s, &w, &why)) != DLOG_OK)
		return state(rd, st, why);
	if (s[w].disk_sectors > d->dev->sectors)
		return state(rd, DLOG_CORRUPT, "the disk is smaller than its superblock's layout");
	set_layout(d, s[w].disk_sectors, s[w].ckpt_sectors);
	d->disk_id = s[w].disk_id;
	d->generation = s[w].generation;
	d->live = s[w].live;
	d->newest_slot = (unsigned)w;
	*used = s[w].ckpt_used;
	*records = s[w].ckpt_records;
	rd->rep->generation = d->generation;
	return true;
}

/* ---- reading back ---- */

static bool deliver(struct reader *rd, const struct rec_hdr *h, bool in_ckpt)
{
	int r = rd->apply(rd->ctx, rd->d->buf + HDR, h->len, in_ckpt);

	if (r) {
		rd->applied = r;
		return false;
	}
	rd->rep->records++;
	return true;
}

/* Read the live checkpoint: count records in exactly `used` sectors. */
static bool read_ckpt(struct reader *rd, uint64_t used, uint64_t count)
{
	struct dlog *d = rd->d;
	uint64_t at = 0;
	uint32_t prev = 0;
	struct rec_hdr h;

	for (uint64_t i = 0; i < count; i++) {
		int r = read_rec(d, d->ckpt_start[d->live] + at, used - at, &h);

		if (r < 0)
			return io_fail(rd, r);
		if (!r || h.kind != REC_CKPT || h.generation != d->generation || h.seq != i ||
		    h.prev_crc != prev)
			return state(rd, DLOG_CORRUPT, "a checkpoint record fails its check");
		if (!deliver(rd, &h, true))
			return false;
		at += rec_sectors(h.len);
		prev = h.crc;
	}
	if (at != used)
		return state(rd, DLOG_CORRUPT,
			     "the checkpoint's length does not match its records");
	return true;
}

/*
 * Every open that continues a generation's log writes a new epoch into
 * its records, above that of any record of the generation it has seen:
 * a record it appends where a lost one was differs from the lost one even
 * when its bytes are the same, so that a record left after the lost one
 * (whose prev_crc names the lost one) never chains onto the new one.
 */
static void log_epoch(struct dlog *d, const struct rec_hdr *h)
{
	if (h->generation == d->generation && h->epoch >= d->epoch)
		d->epoch = h->epoch == UINT32_MAX ? UINT32_MAX : h->epoch + 1;
}

/* Is h, which checks, the log's next record? */
static bool log_next(const struct dlog *d, const struct rec_hdr *h)
{
	return h->kind == REC_LOG && h->generation == d->generation && h->seq == d->seq &&
	       h->prev_crc == d->prev_crc;
}

/*
 * Past the log's end (a bad record at log_end, `span` sectors as far as
 * its header tells), look for a record that proves the bad one durable or
 * a later generation committed. Returns false with the state set.
 */
static bool probe(struct reader *rd, uint64_t span)
{
	struct dlog *d = rd->d;
	uint64_t p = d->log_end + 1, end = d->log_end + span + DLOG_PROBE / DLOG_SECTOR;
	struct rec_hdr h;

	if (end > d->log_sectors)
		end = d->log_sectors;
	while (p < end) {
		int r = read_rec(d, d->log_start + p, d->log_sectors - p, &h);

		if (r < 0)
			return io_fail(rd, r);
		if (r && h.generation > d->generation)
			return state(rd, DLOG_CORRUPT,
				     "a log record of a later generation: its superblock is lost");
		if (r && h.kind == REC_LOG && h.generation == d->generation && h.flushed > d->seq)
			return state(rd, DLOG_CORRUPT, "a flushed log record fails its check");
		if (r)
			log_epoch(d, &h);
		p += r ? rec_sectors(h.len) : 1;
	}
	return true;
}

/* The log ended at log_end: the record there (r: does it check) is not
 * the next one. Is that a clean end, a torn tail, or corruption? */
static bool log_ended(struct reader *rd, int r, const struct rec_hdr *h)
{
	struct dlog *d = rd->d;
	uint64_t span = 1;

	if (r && h->generation > d->generation)
		return state(rd, DLOG_CORRUPT,
			     "a log record of a later generation: its superblock is lost");
	if (h->magic == REC_MAGIC)
		log_epoch(d, h);
	if (!r && h->magic == REC_MAGIC && h->kind == REC_LOG && h->generation == d->generation &&
	    h->seq == d->seq && h->len <= DLOG_REC_MAX) {
		/* This generation's next record, torn (or rotted: see probe). */
		span = rec_sectors(h->len);
		if (span > d->log_sectors - d->log_end)
			span = d->log_sectors - d->log_end;
		rd->rep->torn_bytes = span * DLOG_SECTOR;
	}
	return probe(rd, span);
}

/* Read the log from its start, record by record, to its end. */
static bool read_log(struct reader *rd)
{
	struct dlog *d = rd->d;
	struct rec_hdr h;

	while (d->log_end < d->log_sectors) {
		int r = read_rec(d, d->log_start + d->log_end, d->log_sectors - d->log_end, &h);

		if (r < 0)
			return io_fail(rd, r);
		if (!r || !log_next(d, &h))
			return log_ended(rd, r, &h);
		if (!deliver(rd, &h, false))
			return false;
		log_epoch(d, &h);
		d->log_end += rec_sectors(h.len);
		d->seq++;
		d->prev_crc = h.crc;
		rd->rep->log_bytes += dlog_rec_bytes(h.len);
	}
	return true;
}

int dlog_open(struct dlog *d, const struct dlog_dev *dev,
	      int (*apply)(void *ctx, const uint8_t *rec, size_t n, bool in_ckpt), void *ctx,
	      struct dlog_report *rep)
{
	struct reader rd = { d, apply, ctx, rep, 0 };
	uint64_t used, records;
	int r;

	memset(d, 0, sizeof(*d));
	memset(rep, 0, sizeof(*rep));
	d->dev = dev;
	/* Nothing may be written until the disk has been read whole. */
	d->broken = -1;
	d->reopen = true;
	if (dev->sectors < DLOG_MIN_SECTORS) {
		state(&rd, DLOG_SMALL, "the disk is below DLOG_MIN_SECTORS");
		return 0;
	}
	if (!read_super(&rd, &used, &records) || !read_ckpt(&rd, used, records) || !read_log(&rd))
		return rd.applied;
	/* What was read back may sit in the device's cache (kv died, the
	 * machine did not): make it durable before the caller acts on it. */
	if ((r = dev->flush(dev->ctx)) != 0) {
		rep->io_err = r;
		state(&rd, DLOG_IOERR, "the device failed a flush");
		return 0;
	}
	d->synced = d->seq;
	d->broken = 0;
	d->reopen = false;
	rep->state = DLOG_OK;
	return 0;
}

/* ---- writing ---- */

int dlog_format(struct dlog *d, const struct dlog_dev *dev, uint64_t ckpt_bytes, uint64_t disk_id)
{
	int r;

	memset(d, 0, sizeof(*d));
	d->dev = dev;
	d->broken = -1;
	d->reopen = true;
	/* The default leaves at least half of a small disk to the log. */
	if (ckpt_bytes == 0)
		ckpt_bytes = DLOG_CKPT_DEFAULT < dev->sectors / 4 * DLOG_SECTOR
				 ? DLOG_CKPT_DEFAULT
				 : dev->sectors / 4 * DLOG_SECTOR;
	if (dev->sectors < DLOG_MIN_SECTORS || disk_id == 0 ||
	    !set_layout(d, dev->sectors, (ckpt_bytes + DLOG_SECTOR - 1) / DLOG_SECTOR))
		return -1;
	d->disk_id = disk_id;
	/* Slot 1 first, flushed: a cut then leaves slot 0 blank, and a torn
	 * slot 1 beside a blank slot 0 reads as blank (nothing was stored). */
	if ((r = slot_write(d, 0, 1, 0, 0)) != 0 || (r = dev->flush(dev->ctx)) != 0 ||
	    (r = slot_write(d, 1, 0, 0, 0)) != 0 || (r = dev->flush(dev->ctx)) != 0) {
		d->broken = r;
		return r;
	}
	d->generation = 1;
	d->live = 0;
	d->newest_slot = 0;
	d->broken = 0;
	d->reopen = false;
	return 0;
}

int dlog_append(struct dlog *d, const struct dlog_part *parts, size_t n)
{
	struct rec_hdr h = { .kind = REC_LOG,
			     .prev_crc = d->prev_crc,
			     .generation = d->generation,
			     .seq = d->seq,
			     .flushed = d->synced,
			     .epoch = d->epoch };
	long sectors;
	int r;

	if (d->broken)
		return d->broken;
	sectors = build_rec(d, &h, parts, n);
	if (sectors < 0)
		return -1;
	if (sectors == 0 || (uint64_t)sectors > d->log_sectors - d->log_end)
		return 1;
	r = d->dev->write(d->dev->ctx, d->log_start + d->log_end, d->buf, (uint32_t)sectors);
	if (r) {
		d->broken = r;
		return r;
	}
	d->log_end += (uint64_t)sectors;
	d->seq++;
	d->prev_crc = h.crc;
	return 0;
}

int dlog_sync(struct dlog *d)
{
	int r;

	if (d->broken)
		return d->broken;
	if ((r = d->dev->flush(d->dev->ctx)) != 0) {
		d->broken = r;
		return r;
	}
	d->synced = d->seq;
	return 0;
}

uint64_t dlog_log_room(const struct dlog *d)
{
	return (d->log_sectors - d->log_end) * DLOG_SECTOR;
}

void dlog_ckpt_begin(struct dlog *d)
{
	d->ckpt_w = 0;
	d->ckpt_records = 0;
	d->ckpt_prev = 0;
	d->ckpt_full = false;
	d->ckpt_err = 0;
}

int dlog_ckpt_add(struct dlog *d, const struct dlog_part *parts, size_t n)
{
	struct rec_hdr h = { .kind = REC_CKPT,
			     .prev_crc = d->ckpt_prev,
			     .generation = d->generation + 1,
			     .seq = d->ckpt_records };
	long sectors;
	int r;

	if (d->reopen)
		return d->broken;
	if (d->ckpt_full)
		return 1;
	if (d->ckpt_err)
		return d->ckpt_err;
	sectors = build_rec(d, &h, parts, n);
	if (sectors < 0)
		return d->ckpt_err = -1;
	if (sectors == 0 || (uint64_t)sectors > d->ckpt_sectors - d->ckpt_w) {
		d->ckpt_full = true;
		return 1;
	}
	r = d->dev->write(d->dev->ctx, d->ckpt_start[!d->live] + d->ckpt_w, d->buf,
			  (uint32_t)sectors);
	if (r)
		return d->ckpt_err = r;
	d->ckpt_w += (uint64_t)sectors;
	d->ckpt_records++;
	d->ckpt_prev = h.crc;
	return 0;
}

/*
 * A failed flush breaks the log (an unsynced record may be lost, and one
 * appended after it would read as corruption). A failed superblock write
 * or the flush after it leaves the disk holding either generation: an
 * append to the old log could then hide behind the new slot, and a second
 * checkpoint rewriting the same area could tear one the slot names, so
 * nothing more is written until dlog_open has read which one is live.
 */
int dlog_ckpt_commit(struct dlog *d)
{
	uint64_t gen = d->generation + 1;
	int r;

	if (d->reopen)
		return d->broken;
	if (d->ckpt_full)
		return 1;
	if (d->ckpt_err)
		return d->ckpt_err;
	if ((r = d->dev->flush(d->dev->ctx)) != 0) {
		d->broken = r;
		return r;
	}
	if ((r = slot_write(d, gen, !d->live, d->ckpt_w, d->ckpt_records)) != 0 ||
	    (r = d->dev->flush(d->dev->ctx)) != 0) {
		d->broken = r;
		d->reopen = true;
		return r;
	}
	d->generation = gen;
	d->live = !d->live;
	d->newest_slot = slot_of(gen);
	d->log_end = 0;
	d->seq = 0;
	d->synced = 0;
	d->prev_crc = 0;
	d->epoch = 0;
	d->broken = 0;
	return 0;
}

void dlog_close(struct dlog *d)
{
	rs_free(d->buf);
	d->buf = NULL;
	d->buf_cap = 0;
}

const char *dlog_state_name(enum dlog_state s)
{
	switch (s) {
	case DLOG_OK:
		return "ok";
	case DLOG_BLANK:
		return "blank";
	case DLOG_FOREIGN:
		return "foreign";
	case DLOG_VERSION_NEW:
		return "version";
	case DLOG_CORRUPT:
		return "corrupt";
	case DLOG_SMALL:
		return "small";
	case DLOG_IOERR:
		return "ioerr";
	}
	return "?";
}
