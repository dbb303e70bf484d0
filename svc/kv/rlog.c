/*
 * The durable log of kv's Redis keyspace (rlog.h has the contract): a
 * snapshot and a log of records in a region of the stash, committed by one
 * store of the commit word.
 *
 * The commit word: bit 63 names the live snapshot area, bits 0-39 count
 * the committed log bytes, and bits 40-62 hold 23 bits of the CRC-32C of
 * those two and of the live area's length (written before the word), so
 * that one flipped bit in any of the three is seen at open: a length cut
 * at a record boundary would otherwise drop records unseen.
 */
#include "rlog.h"

#include "string.h"

#define LEN_BITS 40
#define LEN_MASK ((1ull << LEN_BITS) - 1)
#define CHECK_MASK 0x7fffffull

/* Keep the compiler from moving stores across this point: a death between
 * two instructions must find the record whole before the commit says so. */
static inline void ordered(void)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

uint32_t rlog_crc32c(uint32_t crc, const void *p, size_t n)
{
	static uint32_t table[256];
	const uint8_t *b = p;

	if (!table[1])
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
			table[i] = c;
		}
	crc = ~crc;
	while (n--)
		crc = table[(crc ^ *b++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static uint64_t commit_word(unsigned live, uint64_t len, uint64_t snap_len)
{
	uint64_t body[2] = { ((uint64_t)live << 63) | (len & LEN_MASK), snap_len };
	uint64_t check = rlog_crc32c(0, body, sizeof(body)) & CHECK_MASK;

	return body[0] | (check << LEN_BITS);
}

static bool commit_ok(uint64_t w, const uint64_t snap_len[2])
{
	unsigned live = (unsigned)(w >> 63);

	return commit_word(live, w & LEN_MASK, snap_len[live]) == w;
}

static struct rlog_hdr *hdr(const struct rlog *l)
{
	return (struct rlog_hdr *)l->base;
}

static uint8_t *area(const struct rlog *l, unsigned which)
{
	return l->base + RLOG_HDR_SIZE + which * l->snap_cap;
}

static uint8_t *log_start(const struct rlog *l)
{
	return l->base + RLOG_HDR_SIZE + 2 * l->snap_cap;
}

static void store_commit(struct rlog *l, unsigned live, size_t len)
{
	ordered();
	__atomic_store_n(&hdr(l)->commit, commit_word(live, len, hdr(l)->snap_len[live]),
			 __ATOMIC_RELAXED);
	ordered();
	l->live = live;
	l->log_len = len;
}

/* Make the region new: empty snapshot 0, empty log; magic last. */
static void make(struct rlog *l)
{
	struct rlog_hdr *h = hdr(l);

	h->magic = 0;
	ordered();
	memset(h, 0, sizeof(*h));
	h->version = RLOG_VERSION;
	h->size = l->size;
	store_commit(l, 0, 0);
	h->magic = RLOG_MAGIC;
	ordered();
}

/* Why the header cannot be trusted, or NULL. */
static const char *hdr_problem(const struct rlog *l)
{
	const struct rlog_hdr *h = hdr(l);

	if (h->magic == 0 && h->commit == 0)
		return "new";
	if (h->magic != RLOG_MAGIC)
		return "magic";
	if (h->version != RLOG_VERSION)
		return "version";
	if (h->size != l->size)
		return "size";
	if (!commit_ok(h->commit, h->snap_len) || (h->commit & LEN_MASK) > l->log_cap ||
	    h->snap_len[h->commit >> 63] > l->snap_cap)
		return "commit";
	return NULL;
}

int rlog_open(struct rlog *l, void *base, size_t size, struct rlog_report *rep)
{
	memset(rep, 0, sizeof(*rep));
	if (size < RLOG_MIN_SIZE)
		return -1;
	memset(l, 0, sizeof(*l));
	l->base = base;
	l->size = size;
	l->snap_cap = ((size - RLOG_HDR_SIZE) / 4) & ~(size_t)4095;
	l->log_cap = size - RLOG_HDR_SIZE - 2 * l->snap_cap;
	rep->made = hdr_problem(l);
	if (rep->made) {
		make(l);
		return 0;
	}
	l->live = (unsigned)(hdr(l)->commit >> 63);
	l->log_len = hdr(l)->commit & LEN_MASK;
	return 0;
}

/* The record at buf[pos..len): its payload length, or -1 if it is not a
 * whole record that checks. */
static long record_at(const uint8_t *buf, size_t pos, size_t len)
{
	uint32_t n, crc;

	if (len - pos < RLOG_REC_HDR)
		return -1;
	memcpy(&n, buf + pos, 4);
	memcpy(&crc, buf + pos + 4, 4);
	if (n > RLOG_REC_MAX || rlog_rec_size(n) > len - pos)
		return -1;
	if (rlog_crc32c(rlog_crc32c(0, &n, 4), buf + pos + RLOG_REC_HDR, n) != crc)
		return -1;
	return (long)n;
}

/* Read the records of buf[0..len) into apply. Returns apply's nonzero
 * value, 0 when all were read, or -1 when a record failed (rep says so). */
static int read_records(const uint8_t *buf, size_t len,
			int (*apply)(void *, const uint8_t *, size_t), void *ctx,
			struct rlog_report *rep)
{
	size_t pos = 0;

	while (pos < len) {
		long n = record_at(buf, pos, len);
		int r;

		if (n < 0) {
			rep->bad_records = 1;
			rep->dropped_bytes = len - pos;
			return -1;
		}
		if ((r = apply(ctx, buf + pos + RLOG_REC_HDR, (size_t)n)) != 0)
			return r;
		rep->records++;
		pos += rlog_rec_size((size_t)n);
	}
	return 0;
}

int rlog_replay(struct rlog *l, int (*apply)(void *ctx, const uint8_t *rec, size_t n), void *ctx,
		struct rlog_report *rep)
{
	int r = read_records(area(l, l->live), hdr(l)->snap_len[l->live], apply, ctx, rep);

	if (r == -1) {
		rep->bad_in_snapshot = true;
		rep->dropped_bytes += l->log_len;
		return 0;
	}
	if (r != 0)
		return r;
	r = read_records(log_start(l), l->log_len, apply, ctx, rep);
	return r == -1 ? 0 : r;
}

/* Write a record of parts[0..n) at dst (room bytes). Returns its size in
 * the area, or 0 if it does not fit. */
static size_t put_record(uint8_t *dst, size_t room, const struct rlog_part *parts, size_t n)
{
	size_t len = 0, at = RLOG_REC_HDR;
	uint32_t len32, crc;

	for (size_t i = 0; i < n; i++)
		len += parts[i].n;
	if (len > RLOG_REC_MAX || rlog_rec_size(len) > room)
		return 0;
	len32 = (uint32_t)len;
	crc = rlog_crc32c(0, &len32, 4);
	for (size_t i = 0; i < n; i++) {
		if (parts[i].n == 0)
			continue;
		memcpy(dst + at, parts[i].p, parts[i].n);
		crc = rlog_crc32c(crc, parts[i].p, parts[i].n);
		at += parts[i].n;
	}
	memset(dst + at, 0, rlog_rec_size(len) - at);
	memcpy(dst, &len32, 4);
	memcpy(dst + 4, &crc, 4);
	return rlog_rec_size(len);
}

int rlog_append(struct rlog *l, const struct rlog_part *parts, size_t n)
{
	size_t sz = put_record(log_start(l) + l->log_len, l->log_cap - l->log_len, parts, n);

	if (sz == 0)
		return -1;
	store_commit(l, l->live, l->log_len + sz);
	return 0;
}

size_t rlog_log_room(const struct rlog *l)
{
	return l->log_cap - l->log_len;
}

void rlog_snap_begin(struct rlog *l)
{
	l->snap_w = 0;
	l->snap_full = false;
}

int rlog_snap_add(struct rlog *l, const struct rlog_part *parts, size_t n)
{
	size_t sz;

	if (l->snap_full)
		return -1;
	sz = put_record(area(l, !l->live) + l->snap_w, l->snap_cap - l->snap_w, parts, n);
	if (sz == 0) {
		l->snap_full = true;
		return -1;
	}
	l->snap_w += sz;
	return 0;
}

int rlog_snap_commit(struct rlog *l)
{
	unsigned next = !l->live;

	if (l->snap_full)
		return -1;
	hdr(l)->snap_len[next] = l->snap_w;
	hdr(l)->snapshots++;
	store_commit(l, next, 0);
	return 0;
}
