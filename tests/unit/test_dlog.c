/*
 * kv's log on a disk (svc/kv/dlog.c) over a memory disk: records come back
 * in order across checkpoints and generations; a power cut after any write
 * -- with any subset of the writes since the last flush lost, or a sector
 * torn -- reads back a prefix of what was appended that holds everything
 * synced; a flipped bit in any sector in use is reported or harmless,
 * never a wrong record; and every state dlog_open can report.
 *
 * The memory disk can record its write stream (writes and flushes), which
 * is how the crash states are built: the image after the last flush before
 * the cut, plus a subset of the sectors written since (the ALICE and
 * CrashMonkey idea).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dlog.h"
#include "rlog.h"
#include "rs_host_alloc.h"

#define SEC DLOG_SECTOR

/* ---- the memory disk ---- */

struct op {
	bool flush;
	uint64_t sector;
	uint32_t count;
	uint8_t *data;	/* writes: a copy of what was written */
	size_t durable; /* flushes: records appended before this flush */
	size_t issued;	/* records appended when this op was issued */
};

struct mdisk {
	struct dlog_dev dev;
	uint8_t *bytes;
	bool record;
	struct op *ops;
	size_t nops;
	long fail_read, fail_write, fail_flush; /* -1, or calls until one fails (-5) */
	long reads;
};

static size_t appended; /* records the workload has appended so far */

static bool fail_now(long *n)
{
	if (*n < 0)
		return false;
	return (*n)-- == 0;
}

static int md_read(void *ctx, uint64_t sector, void *buf, uint32_t count)
{
	struct mdisk *m = ctx;

	assert_true(count > 0 && sector + count <= m->dev.sectors);
	m->reads++;
	if (fail_now(&m->fail_read))
		return -5;
	memcpy(buf, m->bytes + sector * SEC, (size_t)count * SEC);
	return 0;
}

static void record_op(struct mdisk *m, struct op op)
{
	m->ops = realloc(m->ops, (m->nops + 1) * sizeof(op));
	assert_non_null(m->ops);
	m->ops[m->nops++] = op;
}

static int md_write(void *ctx, uint64_t sector, const void *buf, uint32_t count)
{
	struct mdisk *m = ctx;

	assert_true(count > 0 && sector + count <= m->dev.sectors);
	if (fail_now(&m->fail_write))
		return -5;
	memcpy(m->bytes + sector * SEC, buf, (size_t)count * SEC);
	if (m->record) {
		struct op op = { false, sector, count, malloc((size_t)count * SEC), 0, appended };
		assert_non_null(op.data);
		memcpy(op.data, buf, (size_t)count * SEC);
		record_op(m, op);
	}
	return 0;
}

static int md_flush(void *ctx)
{
	struct mdisk *m = ctx;

	if (fail_now(&m->fail_flush))
		return -5;
	if (m->record)
		record_op(m, (struct op){ true, 0, 0, NULL, appended, appended });
	return 0;
}

static void md_init(struct mdisk *m, uint64_t sectors)
{
	memset(m, 0, sizeof(*m));
	m->dev = (struct dlog_dev){ m, sectors, md_read, md_write, md_flush };
	m->bytes = calloc(sectors, SEC);
	assert_non_null(m->bytes);
	m->fail_read = m->fail_write = m->fail_flush = -1;
}

static void md_free(struct mdisk *m)
{
	for (size_t i = 0; i < m->nops; i++)
		free(m->ops[i].data);
	free(m->ops);
	free(m->bytes);
}

/* ---- records and what was read back ---- */

/* Record id's payload: its length and bytes follow from the id. */
static size_t rec_len(size_t id, const size_t *lens, size_t nlens)
{
	return lens[id % nlens];
}

static void rec_fill(uint8_t *p, size_t id, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(id * 131 + i * 7 + (i >> 9));
}

static const size_t small_lens[] = { 20, 700, 0, 300, 1, 511 };
#define NSMALL (sizeof(small_lens) / sizeof(small_lens[0]))

struct seen {
	size_t n, cap;
	uint8_t **rec;
	size_t *len;
	bool *in_ckpt;
};

static int collect(void *ctx, const uint8_t *rec, size_t n, bool in_ckpt)
{
	struct seen *s = ctx;

	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		s->rec = realloc(s->rec, s->cap * sizeof(*s->rec));
		s->len = realloc(s->len, s->cap * sizeof(*s->len));
		s->in_ckpt = realloc(s->in_ckpt, s->cap * sizeof(*s->in_ckpt));
		assert_true(s->rec && s->len && s->in_ckpt);
	}
	s->rec[s->n] = malloc(n + 1);
	assert_non_null(s->rec[s->n]);
	memcpy(s->rec[s->n], rec, n);
	s->len[s->n] = n;
	s->in_ckpt[s->n] = in_ckpt;
	s->n++;
	return 0;
}

static void seen_free(struct seen *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->rec[i]);
	free(s->rec);
	free(s->len);
	free(s->in_ckpt);
	memset(s, 0, sizeof(*s));
}

/* Is record i of s record id of the workload? */
static bool seen_is(const struct seen *s, size_t i, size_t id, const size_t *lens, size_t nlens)
{
	size_t n = rec_len(id, lens, nlens);
	uint8_t *want = malloc(n + 1);
	bool ok;

	rec_fill(want, id, n);
	ok = s->len[i] == n && memcmp(s->rec[i], want, n) == 0;
	free(want);
	return ok;
}

/* Are the records read back records 0, 1, ... of the workload? */
static bool seen_prefix(const struct seen *s, const size_t *lens, size_t nlens)
{
	for (size_t i = 0; i < s->n; i++)
		if (!seen_is(s, i, i, lens, nlens))
			return false;
	return true;
}

static uint8_t *scratch(size_t n)
{
	static uint8_t *buf;
	static size_t cap;

	if (n + 1 > cap) {
		cap = n + 1;
		buf = realloc(buf, cap);
		assert_non_null(buf);
	}
	return buf;
}

static int append_id(struct dlog *d, size_t id, const size_t *lens, size_t nlens)
{
	size_t n = rec_len(id, lens, nlens);
	uint8_t *p = scratch(n);
	struct dlog_part parts[2] = { { p, n / 3 }, { p + n / 3, n - n / 3 } }; /* two parts */
	int r;

	rec_fill(p, id, n);
	r = dlog_append(d, parts, 2);
	if (r == 0)
		appended++;
	return r;
}

static int ckpt_id(struct dlog *d, size_t id, const size_t *lens, size_t nlens)
{
	size_t n = rec_len(id, lens, nlens);
	uint8_t *p = scratch(n);
	struct dlog_part part = { p, n };

	rec_fill(p, id, n);
	return dlog_ckpt_add(d, &part, 1);
}

/* A checkpoint of records 0..upto). */
static int ckpt_all(struct dlog *d, size_t upto, const size_t *lens, size_t nlens)
{
	int r;

	dlog_ckpt_begin(d);
	for (size_t i = 0; i < upto; i++)
		if ((r = ckpt_id(d, i, lens, nlens)) != 0)
			return r;
	return dlog_ckpt_commit(d);
}

static enum dlog_state reopen(struct mdisk *m, struct dlog *d, struct seen *s,
			      struct dlog_report *rep)
{
	dlog_close(d);
	seen_free(s);
	assert_int_equal(dlog_open(d, &m->dev, collect, s, rep), 0);
	return rep->state;
}

/* ---- 1. round trip ---- */

static void test_round_trip(void **state)
{
	static const size_t lens[] = { 0, 1, 511, 512, 513, 100 << 10, 77, 4096 };
	const size_t nl = sizeof(lens) / sizeof(lens[0]);
	struct mdisk m;
	struct dlog d = { 0 };
	struct dlog_report rep;
	struct seen s = { 0 };
	size_t next = 0;

	(void)state;
	md_init(&m, 8192);
	assert_int_equal(dlog_format(&d, &m.dev, 512 << 10, 0x1234), 0);
	for (; next < nl; next++)
		assert_int_equal(append_id(&d, next, lens, nl), 0);
	assert_int_equal(dlog_sync(&d), 0);
	assert_int_equal(reopen(&m, &d, &s, &rep), DLOG_OK);
	assert_int_equal(s.n, nl);
	assert_true(seen_prefix(&s, lens, nl));
	assert_int_equal(rep.generation, 1);
	assert_int_equal(rep.torn_bytes, 0);
	/* Generations: a checkpoint of everything, then more log. */
	for (int g = 0; g < 6; g++) {
		assert_int_equal(ckpt_all(&d, next, lens, nl), 0);
		for (int k = 0; k < 3; k++, next++)
			assert_int_equal(append_id(&d, next, lens, nl), 0);
		assert_int_equal(dlog_sync(&d), 0);
		assert_int_equal(reopen(&m, &d, &s, &rep), DLOG_OK);
		assert_int_equal(rep.generation, 2 + g);
		assert_int_equal(s.n, next);
		assert_true(seen_prefix(&s, lens, nl));
		for (size_t i = 0; i < s.n; i++)
			assert_int_equal(s.in_ckpt[i], i < next - 3);
	}
	dlog_close(&d);
	seen_free(&s);
	md_free(&m);
}

/* ---- 2. power cuts ---- */

#define CRASH_SECTORS 2048u
#define CRASH_CKPT (64u << 10)
#define CRASH_EXHAUSTIVE 12 /* sectors written since a flush: every subset up to this */
#define CRASH_SAMPLES 512   /* else this many seeded subsets */

/* Record sizes of the crash tests: one of 16 sectors, torn sector by sector. */
static const size_t crash_lens[] = { 20, 700, 0, 300, 1, 511, 8000 };
#define NCRASH (sizeof(crash_lens) / sizeof(crash_lens[0]))

/* The workload of the crash tests: appends, syncs, checkpoints. */
static void crash_workload(struct dlog *d)
{
	size_t id = 0;

	for (; id < 3; id++)
		assert_int_equal(append_id(d, id, crash_lens, NCRASH), 0);
	assert_int_equal(dlog_sync(d), 0);
	for (; id < 6; id++)
		assert_int_equal(append_id(d, id, crash_lens, NCRASH), 0);
	assert_int_equal(ckpt_all(d, id, crash_lens, NCRASH), 0);
	for (; id < 9; id++)
		assert_int_equal(append_id(d, id, crash_lens, NCRASH), 0);
	assert_int_equal(dlog_sync(d), 0);
	assert_int_equal(append_id(d, id++, crash_lens, NCRASH), 0);
	assert_int_equal(ckpt_all(d, id, crash_lens, NCRASH), 0);
	for (; id < 13; id++)
		assert_int_equal(append_id(d, id, crash_lens, NCRASH), 0);
}

/* One sector written since the last flush: the op and which of its sectors. */
struct unit {
	size_t op;
	uint32_t k;
};

static long crash_states, crash_torn, crash_sampled;

/* Open the image and check the invariant: DLOG_OK, a prefix of what was
 * appended, holding every record durable at the cut. The image is
 * written (an append after the open). */
static void check_state(uint8_t *img, size_t durable, size_t at_cut)
{
	struct mdisk m;
	struct dlog d = { 0 };
	struct dlog_report rep;
	struct seen s = { 0 };
	size_t n;

	memset(&m, 0, sizeof(m));
	m.dev = (struct dlog_dev){ &m, CRASH_SECTORS, md_read, md_write, md_flush };
	m.bytes = img; /* opening it writes nothing */
	m.fail_read = m.fail_write = m.fail_flush = -1;
	if (reopen(&m, &d, &s, &rep) != DLOG_OK || !seen_prefix(&s, crash_lens, NCRASH) ||
	    s.n < durable || s.n > at_cut) {
		fprintf(stderr, "state %s (%s): %zu records, durable %zu, appended %zu\n",
			dlog_state_name(rep.state), rep.why ? rep.why : "", s.n, durable, at_cut);
		fail();
	}
	crash_states++;
	/* Then the next record appended again (the same bytes as the one the
	 * cut may have lost, the hardest case for what was left after it):
	 * read back after what was read, and nothing else. */
	if (append_id(&d, n = s.n, crash_lens, NCRASH) == 0) {
		assert_int_equal(dlog_sync(&d), 0);
		if (reopen(&m, &d, &s, &rep) != DLOG_OK || s.n != n + 1 ||
		    !seen_prefix(&s, crash_lens, NCRASH)) {
			fprintf(stderr, "after an append: %s (%s): %zu records, wanted %zu\n",
				dlog_state_name(rep.state), rep.why ? rep.why : "", s.n, n + 1);
			fail();
		}
	}
	dlog_close(&d);
	seen_free(&s);
}

static void apply_unit(uint8_t *img, const struct mdisk *w, struct unit u)
{
	const struct op *op = &w->ops[u.op];

	memcpy(img + (op->sector + u.k) * SEC, op->data + (size_t)u.k * SEC, SEC);
}

/* Every crash state of a cut after op `cut`: base is the image after the
 * last flush before it, units the sectors written since. */
static void crash_at(const struct mdisk *w, const uint8_t *base, size_t durable, size_t at_cut,
		     const struct unit *units, size_t nu, uint8_t *img)
{
	size_t img_bytes = (size_t)CRASH_SECTORS * SEC;
	bool exhaustive = nu <= CRASH_EXHAUSTIVE;
	uint64_t subsets = exhaustive ? 1ull << nu : CRASH_SAMPLES;
	uint64_t rnd = 0x9e3779b97f4a7c15ull ^ nu;

	/* Every subset of the sectors, or a seeded sample (with none and all). */
	for (uint64_t sub = 0; sub < subsets; sub++) {
		memcpy(img, base, img_bytes);
		for (size_t i = 0; i < nu; i++) {
			bool take;

			rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
			take = exhaustive ? (sub >> i) & 1 : sub < 2 ? sub == 1 : rnd & 1;
			if (take)
				apply_unit(img, w, units[i]);
		}
		check_state(img, durable, at_cut);
		crash_sampled += !exhaustive;
	}
	/* Each sector torn: the units before it whole, half of it new. */
	for (size_t t = 0; t < nu; t++)
		for (int half = 0; half < 2; half++) {
			const struct op *op = &w->ops[units[t].op];
			size_t at = (op->sector + units[t].k) * SEC + (half ? SEC / 2 : 0);

			memcpy(img, base, img_bytes);
			for (size_t i = 0; i < t; i++)
				apply_unit(img, w, units[i]);
			memcpy(img + at, op->data + (size_t)units[t].k * SEC + (half ? SEC / 2 : 0),
			       SEC / 2);
			check_state(img, durable, at_cut);
			crash_torn++;
		}
}

static void test_crash_states(void **state)
{
	struct mdisk m;
	struct dlog d = { 0 };
	size_t img_bytes = (size_t)CRASH_SECTORS * SEC, durable = 0, nu = 0, at_cut = 0;
	uint8_t *base, *img = malloc(img_bytes);
	struct unit units[256];

	(void)state;
	md_init(&m, CRASH_SECTORS);
	assert_int_equal(dlog_format(&d, &m.dev, CRASH_CKPT, 0x5eed), 0);
	base = malloc(img_bytes);
	assert_true(base && img);
	memcpy(base, m.bytes, img_bytes);
	appended = 0;
	m.record = true;
	crash_workload(&d);
	dlog_close(&d);
	/* A cut after each op k (k = 0: before the first). */
	for (size_t k = 0; k <= m.nops; k++) {
		crash_at(&m, base, durable, at_cut, units, nu, img);
		if (k == m.nops)
			break;
		if (m.ops[k].flush) {
			for (size_t i = 0; i < nu; i++)
				apply_unit(base, &m, units[i]);
			nu = 0;
			durable = m.ops[k].durable;
		} else {
			for (uint32_t s = 0; s < m.ops[k].count; s++) {
				assert_true(nu < 256);
				units[nu++] = (struct unit){ k, s };
			}
		}
		/* At most the records appended, and the one being written. */
		at_cut = m.ops[k].issued + 1;
	}
	print_message("dlog: %ld crash states (%ld with a torn sector, %ld sampled subsets) over "
		      "%zu writes and flushes\n",
		      crash_states, crash_torn, crash_sampled, m.nops);
	free(base);
	free(img);
	md_free(&m);
}

/* The state after a cut in a format: blank, foreign if a sector was torn
 * (a torn magic reads as someone's data), or formatted and empty. */
static void check_format_state(uint8_t *img, bool torn)
{
	struct mdisk c;
	struct dlog d = { 0 };
	struct dlog_report rep;
	struct seen s = { 0 };

	memset(&c, 0, sizeof(c));
	c.dev = (struct dlog_dev){ &c, CRASH_SECTORS, md_read, md_write, md_flush };
	c.bytes = img;
	c.fail_read = c.fail_write = c.fail_flush = -1;
	reopen(&c, &d, &s, &rep);
	assert_true(rep.state == DLOG_OK || rep.state == DLOG_BLANK ||
		    (rep.state == DLOG_FOREIGN && torn));
	assert_int_equal(s.n, 0);
	dlog_close(&d);
}

/* A format cut at any point, with any of its writes since the last flush
 * lost or torn, reads as blank or as a formatted, empty disk. */
static void test_format_cut(void **state)
{
	struct mdisk m;
	struct dlog d = { 0 };
	size_t bytes = (size_t)CRASH_SECTORS * SEC, pend[8], np = 0;
	uint8_t *base = calloc(1, bytes), *img = malloc(bytes);

	(void)state;
	assert_true(base && img);
	md_init(&m, CRASH_SECTORS);
	m.record = true;
	assert_int_equal(dlog_format(&d, &m.dev, CRASH_CKPT, 0x77), 0);
	dlog_close(&d);
	for (size_t k = 0; k <= m.nops; k++) {
		for (unsigned mask = 0; mask < 1u << np; mask++)
			for (size_t t = 0; t <= 2 * np; t++) { /* t > 0: pend[(t-1)/2] torn */
				const struct op *to = t ? &m.ops[pend[(t - 1) / 2]] : NULL;

				memcpy(img, base, bytes);
				for (size_t i = 0; i < np; i++)
					if (mask >> i & 1)
						memcpy(img + m.ops[pend[i]].sector * SEC,
						       m.ops[pend[i]].data, SEC);
				if (to)
					memcpy(img + to->sector * SEC + (t & 1) * SEC / 2,
					       to->data + (t & 1) * SEC / 2, SEC / 2);
				check_format_state(img, to != NULL);
			}
		if (k == m.nops)
			break;
		if (m.ops[k].flush) {
			for (size_t i = 0; i < np; i++)
				memcpy(base + m.ops[pend[i]].sector * SEC, m.ops[pend[i]].data,
				       SEC);
			np = 0;
		} else {
			assert_true(np < 8 && m.ops[k].count == 1);
			pend[np++] = k;
		}
	}
	free(base);
	free(img);
	md_free(&m);
}

/* A committed superblock slot that rots: its generation's log proves it was
 * committed (corrupt). With nothing in that log yet, the older slot's
 * checkpoint and log are read: the one loss that goes unseen. */
static void test_lost_slot(void **state)
{
	struct mdisk m;
	struct dlog d = { 0 };
	struct dlog_report rep;
	struct seen s = { 0 };

	(void)state;
	md_init(&m, DLOG_MIN_SECTORS);
	assert_int_equal(dlog_format(&d, &m.dev, 4096, 3), 0);
	appended = 0;
	assert_int_equal(append_id(&d, 0, small_lens, NSMALL), 0);
	assert_int_equal(ckpt_all(&d, 1, small_lens, NSMALL), 0); /* generation 2: slot 1 */
	m.bytes[8 * SEC + 100] ^= 1;
	assert_int_equal(reopen(&m, &d, &s, &rep), DLOG_OK);
	assert_int_equal(rep.generation, 1);
	assert_int_equal(s.n, 1); /* generation 1's log still holds record 0 */
	m.bytes[8 * SEC + 100] ^= 1;
	assert_int_equal(reopen(&m, &d, &s, &rep), DLOG_OK);
	assert_int_equal(append_id(&d, 1, small_lens, NSMALL), 0);
	assert_int_equal(dlog_sync(&d), 0);
	m.bytes[8 * SEC + 100] ^= 1;
	assert_int_equal(reopen(&m, &d, &s, &rep), DLOG_CORRUPT);
	dlog_close(&d);
	seen_free(&s);
	md_free(&m);
}

/* After a torn tail with a later record left behind, new appends overwrite
 * the tail; the left-over record must never be read back after them. */
static void test_stale_tail(void **state)
{
	struct mdisk m;
	struct dlog d = { 0 };
	struct dlog_report rep;
	struct seen s = { 0 };
	static const size_t lens[] = { 600, 600, 600, 600, 600, 600 };
	uint64_t r3;

	(void)state;
	md_init(&m, CRASH_SECTORS);
	assert_int_equal(dlog_format(&d, &m.dev, CRASH_CKPT, 0x99), 0);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(append_id(&d, i, lens, 6), 0);
	assert_int_equal(dlog_sync(&d), 0);
	r3 = d.log_start + d.log_end;
	assert_int_equal(append_id(&d, 3, lens, 6), 0);
	assert_int_equal(append_id(&d, 4, lens, 6), 0);
	/* The cut lost record 3 and kept record 4. */
	memset(m.bytes + r3 * SEC, 0xa5, 2 * SEC);
	assert_int_equal(reopen(&m, &d, &s, &rep), DLOG_OK);
	assert_int_equal(s.n, 3);
	/* A different record 3 (same size), synced: record 4 follows it on the
	 * disk with seq 4, but chains onto the lost record 3. */
	assert_int_equal(append_id(&d, 9, lens, 6), 0);
	assert_int_equal(dlog_sync(&d), 0);
	assert_int_equal(reopen(&m, &d, &s, &rep), DLOG_OK);
	assert_int_equal(s.n, 4);
	assert_true(seen_is(&s, 3, 9, lens, 6));
	dlog_close(&d);
	seen_free(&s);
	md_free(&m);
}

/* ---- 3. flipped bits ---- */

static void test_bit_flips(void **state)
{
	struct mdisk m;
	struct dlog d = { 0 };
	struct dlog_report rep;
	struct seen s = { 0 };
	uint64_t used[64], newest_slot, ckpt_lo, ckpt_hi, log_hi, last_rec;
	size_t nused = 0, id = 0;
	long flips = 0, corrupt = 0, ok = 0;

	(void)state;
	md_init(&m, DLOG_MIN_SECTORS);
	/* Checkpoint areas of 960 sectors leave a log of 112: probes stay short. */
	assert_int_equal(dlog_format(&d, &m.dev, 960 * SEC, 0xb17f), 0);
	for (; id < 3; id++)
		assert_int_equal(append_id(&d, id, small_lens, NSMALL), 0);
	assert_int_equal(ckpt_all(&d, id, small_lens, NSMALL), 0);
	for (; id < 7; id++) {
		last_rec = d.log_start + d.log_end;
		assert_int_equal(append_id(&d, id, small_lens, NSMALL), 0);
		assert_int_equal(dlog_sync(&d), 0);
	}
	newest_slot = d.newest_slot ? 8 : 0;
	ckpt_lo = d.ckpt_start[d.live];
	ckpt_hi = ckpt_lo + d.ckpt_w;
	log_hi = d.log_start + d.log_end;
	used[nused++] = 0;
	used[nused++] = 8;
	for (uint64_t sct = ckpt_lo; sct < ckpt_hi; sct++)
		used[nused++] = sct;
	for (uint64_t sct = d.log_start; sct < log_hi; sct++)
		used[nused++] = sct;
	dlog_close(&d);
	for (size_t u = 0; u < nused; u++)
		for (size_t bit = 0; bit < SEC * 8; bit++) {
			uint8_t *b = m.bytes + used[u] * SEC + bit / 8;
			enum dlog_state st;

			*b ^= (uint8_t)(1u << (bit % 8));
			st = reopen(&m, &d, &s, &rep);
			*b ^= (uint8_t)(1u << (bit % 8));
			flips++;
			/* Never a wrong record. */
			assert_true(seen_prefix(&s, small_lens, NSMALL));
			if (used[u] == newest_slot || (used[u] >= ckpt_lo && used[u] < ckpt_hi)) {
				assert_int_equal(st, DLOG_CORRUPT);
			} else if (used[u] < 16) { /* the older slot */
				assert_int_equal(st, DLOG_OK);
				assert_int_equal(s.n, 7);
			} else if (used[u] < last_rec) { /* a log record with a later one */
				assert_int_equal(st, DLOG_CORRUPT);
			} else { /* the last record: reads as a torn tail */
				assert_int_equal(st, DLOG_OK);
				assert_int_equal(s.n, 6);
			}
			if (st == DLOG_CORRUPT)
				corrupt++;
			else
				ok++;
		}
	print_message("dlog: %ld bits flipped in %zu sectors: %ld corrupt, %ld read back\n", flips,
		      nused, corrupt, ok);
	dlog_close(&d);
	seen_free(&s);
	md_free(&m);
}

/* ---- 4. states ---- */

static void test_states(void **state)
{
	struct mdisk m;
	struct dlog d = { 0 };
	struct dlog_report rep;
	struct seen s = { 0 };
	uint64_t x = 88172645463325252ull;

	(void)state;
	md_init(&m, DLOG_MIN_SECTORS);
	assert_int_equal(reopen(&m, &d, &s, &rep), DLOG_BLANK);
	assert_string_equal(dlog_state_name(rep.state), "blank");
	/* Someone's data. */
	for (size_t i = 0; i < 16 * SEC; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		m.bytes[i] = (uint8_t)x;
	}
	assert_int_equal(reopen(&m, &d, &s, &rep), DLOG_FOREIGN);
	/* A partition table in sector 0, zeros in sector 8. */
	memset(m.bytes + 8 * SEC, 0, SEC);
	assert_int_equal(reopen(&m, &d, &s, &rep), DLOG_FOREIGN);
	/* Too small: refused by open and format. */
	m.dev.sectors = DLOG_MIN_SECTORS - 1;
	assert_int_equal(reopen(&m, &d, &s, &rep), DLOG_SMALL);
	assert_int_equal(dlog_format(&d, &m.dev, 4096, 1), -1);
	m.dev.sectors = DLOG_MIN_SECTORS;
	dlog_close(&d);
	assert_int_equal(dlog_format(&d, &m.dev, 1 << 20, 1), -1); /* no room for the log */
	assert_int_equal(dlog_format(&d, &m.dev, 4096, 0), -1);	   /* disk_id 0 */
	assert_int_equal(dlog_format(&d, &m.dev, 0, 1), 0);	   /* the default, cut to fit */
	assert_int_equal(d.ckpt_sectors, DLOG_MIN_SECTORS / 4);
	assert_int_equal(dlog_log_room(&d), (DLOG_MIN_SECTORS / 2 - 16) * SEC);
	assert_int_equal(reopen(&m, &d, &s, &rep), DLOG_OK);
	/* The disk shrank under its layout. */
	m.dev.sectors = DLOG_MIN_SECTORS + 100;
	m.bytes = realloc(m.bytes, (DLOG_MIN_SECTORS + 100) * SEC);
	memset(m.bytes + DLOG_MIN_SECTORS * SEC, 0, 100 * SEC);
	dlog_close(&d);
	assert_int_equal(dlog_format(&d, &m.dev, 4096, 1), 0);
	m.dev.sectors = DLOG_MIN_SECTORS;
	assert_int_equal(reopen(&m, &d, &s, &rep), DLOG_CORRUPT);
	/* A read error. */
	m.dev.sectors = DLOG_MIN_SECTORS + 100;
	m.fail_read = 0;
	assert_int_equal(reopen(&m, &d, &s, &rep), DLOG_IOERR);
	assert_int_equal(rep.io_err, -5);
	m.fail_read = 2; /* the log's first read */
	assert_int_equal(reopen(&m, &d, &s, &rep), DLOG_IOERR);
	m.fail_flush = 0;
	assert_int_equal(reopen(&m, &d, &s, &rep), DLOG_IOERR);
	assert_int_equal(reopen(&m, &d, &s, &rep), DLOG_OK);
	dlog_close(&d);
	seen_free(&s);
	md_free(&m);
}

/* A slot of a newer version (CRC-32C over the sector but its last 4 bytes). */
static void test_version_new(void **state)
{
	struct mdisk m;
	struct dlog d = { 0 };
	struct dlog_report rep;
	struct seen s = { 0 };
	uint32_t v = DLOG_VERSION + 1, crc;

	(void)state;
	md_init(&m, DLOG_MIN_SECTORS);
	assert_int_equal(dlog_format(&d, &m.dev, 4096, 5), 0);
	memcpy(m.bytes + 8 * SEC + 8, &v, 4);
	crc = rlog_crc32c(0, m.bytes + 8 * SEC, SEC - 4);
	memcpy(m.bytes + 8 * SEC + SEC - 4, &crc, 4);
	assert_int_equal(reopen(&m, &d, &s, &rep), DLOG_VERSION_NEW);
	/* The same version field flipped without its CRC: a damaged older slot. */
	v = DLOG_VERSION;
	memcpy(m.bytes + 8 * SEC + 8, &v, 4);
	assert_int_equal(reopen(&m, &d, &s, &rep), DLOG_OK);
	dlog_close(&d);
	seen_free(&s);
	md_free(&m);
}

/* Device errors: a broken log until a checkpoint commits; a failed
 * superblock write until dlog_open. */
static void test_device_errors(void **state)
{
	struct mdisk m;
	struct dlog d = { 0 };
	struct dlog_report rep;
	struct seen s = { 0 };

	(void)state;
	md_init(&m, DLOG_MIN_SECTORS);
	assert_int_equal(dlog_format(&d, &m.dev, 4096, 7), 0);
	appended = 0;
	assert_int_equal(append_id(&d, 0, small_lens, NSMALL), 0);
	m.fail_write = 0;
	assert_int_equal(append_id(&d, 1, small_lens, NSMALL), -5);
	assert_int_equal(append_id(&d, 1, small_lens, NSMALL), -5); /* sticky */
	assert_int_equal(dlog_sync(&d), -5);
	assert_int_equal(ckpt_all(&d, 1, small_lens, NSMALL), 0);
	assert_int_equal(append_id(&d, 1, small_lens, NSMALL), 0);
	m.fail_flush = 0;
	assert_int_equal(dlog_sync(&d), -5);
	assert_int_equal(append_id(&d, 2, small_lens, NSMALL), -5);
	assert_int_equal(ckpt_all(&d, 2, small_lens, NSMALL), 0);
	assert_int_equal(dlog_sync(&d), 0);
	/* The superblock's write fails: nothing more until dlog_open. */
	m.fail_write = 2; /* after two checkpoint records */
	assert_int_equal(ckpt_all(&d, 2, small_lens, NSMALL), -5);
	assert_int_equal(append_id(&d, 2, small_lens, NSMALL), -5);
	assert_int_equal(ckpt_all(&d, 2, small_lens, NSMALL), -5);
	assert_int_equal(reopen(&m, &d, &s, &rep), DLOG_OK);
	assert_int_equal(s.n, 2);
	assert_true(seen_prefix(&s, small_lens, NSMALL));
	/* A checkpoint record's write fails: the commit fails, the log goes on. */
	m.fail_write = 1;
	assert_int_equal(ckpt_all(&d, 2, small_lens, NSMALL), -5);
	assert_int_equal(append_id(&d, 2, small_lens, NSMALL), 0);
	assert_int_equal(dlog_sync(&d), 0);
	/* Out of memory. */
	dlog_close(&d);
	rs_host_fail_after = 0;
	assert_int_equal(append_id(&d, 3, small_lens, NSMALL), -1);
	rs_host_fail_after = -1;
	assert_int_equal(reopen(&m, &d, &s, &rep), DLOG_OK);
	assert_int_equal(s.n, 3);
	rs_host_fail_after = 0;
	assert_int_equal(reopen(&m, &d, &s, &rep), DLOG_IOERR);
	assert_int_equal(rep.io_err, -1);
	rs_host_fail_after = -1;
	dlog_close(&d);
	seen_free(&s);
	md_free(&m);
}

static int stop_at_second(void *ctx, const uint8_t *rec, size_t n, bool in_ckpt)
{
	int *calls = ctx;

	(void)rec, (void)n, (void)in_ckpt;
	return ++*calls == 2 ? 7 : 0;
}

/* apply's nonzero value stops the reading, and nothing is written then. */
static void test_apply_stops(void **state)
{
	struct mdisk m;
	struct dlog d = { 0 };
	struct dlog_report rep;
	int calls = 0;

	(void)state;
	md_init(&m, DLOG_MIN_SECTORS);
	assert_int_equal(dlog_format(&d, &m.dev, 4096, 21), 0);
	for (size_t id = 0; id < 3; id++)
		assert_int_equal(append_id(&d, id, small_lens, NSMALL), 0);
	assert_int_equal(dlog_sync(&d), 0);
	dlog_close(&d);
	assert_int_equal(dlog_open(&d, &m.dev, stop_at_second, &calls, &rep), 7);
	assert_int_equal(calls, 2);
	assert_int_equal(rep.records, 1);
	assert_int_not_equal(append_id(&d, 3, small_lens, NSMALL), 0);
	assert_int_not_equal(dlog_sync(&d), 0);
	dlog_close(&d);
	md_free(&m);
}

/* Full: the log returns 1 (then a checkpoint makes room), and so does a
 * checkpoint too big for its area. */
static void test_full(void **state)
{
	static const size_t lens[] = { 3000 };
	struct mdisk m;
	struct dlog d = { 0 };
	struct dlog_report rep;
	struct seen s = { 0 };
	size_t id = 0;
	int r;

	(void)state;
	md_init(&m, DLOG_MIN_SECTORS);
	assert_int_equal(dlog_format(&d, &m.dev, 900 * SEC, 11), 0); /* log: 232 sectors */
	while ((r = append_id(&d, id, lens, 1)) == 0)
		id++;
	assert_int_equal(r, 1);
	assert_int_equal(id, 232 / (dlog_rec_bytes(3000) / SEC));
	assert_true(dlog_log_room(&d) < dlog_rec_bytes(3000));
	assert_int_equal(dlog_sync(&d), 0);
	assert_int_equal(ckpt_all(&d, id, lens, 1), 0);
	assert_int_equal(dlog_log_room(&d), 232 * SEC);
	assert_int_equal(append_id(&d, id++, lens, 1), 0);
	/* A record over DLOG_REC_MAX never fits. */
	{
		struct dlog_part big = { scratch(1), (size_t)DLOG_REC_MAX + 1 };
		assert_int_equal(dlog_append(&d, &big, 1), 1);
	}
	/* A checkpoint over its area: 1 from add and commit, nothing changes. */
	dlog_ckpt_begin(&d);
	for (size_t i = 0; i < 200 && (r = ckpt_id(&d, i, lens, 1)) == 0; i++)
		;
	assert_int_equal(r, 1);
	assert_int_equal(dlog_ckpt_commit(&d), 1);
	assert_int_equal(dlog_sync(&d), 0);
	assert_int_equal(reopen(&m, &d, &s, &rep), DLOG_OK);
	assert_int_equal(s.n, id);
	assert_true(seen_prefix(&s, lens, 1));
	assert_int_equal(rep.generation, 2);
	dlog_close(&d);
	seen_free(&s);
	md_free(&m);
}

/* ---- 5. the fuzzer's seeds ---- */

/* Write the disk, up to its last nonzero sector, to dir/name. */
static void seed_write(const struct mdisk *m, const char *dir, const char *name)
{
	char path[512];
	uint64_t n = m->dev.sectors;
	FILE *f;

	while (n > 0) {
		const uint8_t *p = m->bytes + (n - 1) * SEC;
		size_t i = 0;

		while (i < SEC && p[i] == 0)
			i++;
		if (i < SEC)
			break;
		n--;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(m->bytes, SEC, n, f), n);
	fclose(f);
}

/* DLOG_FUZZ_SEEDS=dir: write fuzz_dlog's seeds there (small checkpoint
 * areas, so that the log is in the first sectors). */
static void test_fuzz_seeds(void **state)
{
	const char *dir = getenv("DLOG_FUZZ_SEEDS");
	struct mdisk m;
	struct dlog d = { 0 };
	size_t id = 0;

	(void)state;
	if (dir == NULL)
		skip();
	md_init(&m, DLOG_MIN_SECTORS);
	assert_int_equal(dlog_format(&d, &m.dev, 4096, 0xf022), 0);
	seed_write(&m, dir, "formatted");
	for (; id < 4; id++)
		assert_int_equal(append_id(&d, id, small_lens, NSMALL), 0);
	assert_int_equal(dlog_sync(&d), 0);
	seed_write(&m, dir, "log");
	assert_int_equal(ckpt_all(&d, id, small_lens, NSMALL), 0);
	for (; id < 7; id++) {
		assert_int_equal(append_id(&d, id, small_lens, NSMALL), 0);
		assert_int_equal(dlog_sync(&d), 0);
	}
	seed_write(&m, dir, "ckpt-log");
	m.bytes[(d.log_start + d.log_end - 1) * SEC + 9] ^= 4; /* the last record torn */
	seed_write(&m, dir, "torn");
	dlog_close(&d);
	md_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),    cmocka_unit_test(test_crash_states),
		cmocka_unit_test(test_format_cut),    cmocka_unit_test(test_lost_slot),
		cmocka_unit_test(test_stale_tail),    cmocka_unit_test(test_bit_flips),
		cmocka_unit_test(test_states),	      cmocka_unit_test(test_version_new),
		cmocka_unit_test(test_device_errors), cmocka_unit_test(test_full),
		cmocka_unit_test(test_apply_stops),   cmocka_unit_test(test_fuzz_seeds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
