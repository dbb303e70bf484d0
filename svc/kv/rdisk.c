/*
 * kv's keyspace on a disk (rdisk.h has the contract and the records).
 */
#include "rdisk.h"

#include "rtable.h"
#include "string.h"

#define CKPT_CHUNK (64u * 1024) /* 'K' records group commands up to this */
/* A log over this many sectors, and over twice the checkpoint, is folded
 * into a new checkpoint (as Redis rewrites its AOF at 100% growth), so
 * reading the disk back costs about the keyspace, not its history. */
#define LOG_FOLD_MIN 2048u /* 1 MiB */

static const char *const state_names[] = {
	[RDISK_OFF] = "off",	   [RDISK_WAIT] = "wait",	  [RDISK_OK] = "ok",
	[RDISK_FAILED] = "failed", [RDISK_UNUSABLE] = "unusable",
};

const char *rdisk_state_name(enum rdisk_state s)
{
	return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "?";
}

/* Writes are refused with MISCONF while the disk cannot take them. */
static void set_state(struct rdisk *d, enum rdisk_state s, const char *why)
{
	struct rs_persist *p = &d->st->e->persist;

	d->state = s;
	d->why = why;
	d->st->e->disk_error = s == RDISK_FAILED || s == RDISK_UNUSABLE ? RDISK_EIO_TEXT : NULL;
	p->enabled = s != RDISK_OFF;
	p->write_ok = s == RDISK_OK;
	p->commits = d->commits;
	p->flushes = d->flushes;
	p->rewrites = d->checkpoints;
}

void rdisk_unusable(struct rdisk *d, const char *why)
{
	set_state(d, RDISK_UNUSABLE, why);
}

/* ---- pending commands ---- */

/* Add p[0..n) to a pending buffer; out of memory makes the next commit a
 * checkpoint instead. */
static void pend_add(struct rdisk *d, uint8_t **buf, size_t *len, size_t *cap, const uint8_t *p,
		     size_t n)
{
	if (d->state == RDISK_OFF || d->state == RDISK_UNUSABLE || n == 0)
		return;
	d->dirty = true;
	if (d->pend_failed)
		return;
	if (*len + n > *cap) {
		size_t c = *cap ? *cap : 4096;
		uint8_t *q;

		while (c < *len + n)
			c *= 2;
		if (!(q = rs_realloc(*buf, c))) {
			d->pend_failed = true; /* the checkpoint takes it instead */
			return;
		}
		*buf = q;
		*cap = c;
	}
	memcpy(*buf + *len, p, n);
	*len += n;
}

void rdisk_note(struct rdisk *d, const uint8_t *cmds, size_t n)
{
	pend_add(d, &d->pend, &d->pend_len, &d->pend_cap, cmds, n);
}

void rdisk_note_table(struct rdisk *d, const uint8_t *p, size_t n)
{
	pend_add(d, &d->tpend, &d->tpend_len, &d->tpend_cap, p, n);
}

bool rdisk_holding(const struct rdisk *d)
{
	switch (d->state) {
	case RDISK_WAIT:
	case RDISK_FAILED:
		return true;
	case RDISK_OK:
		return d->dirty;
	default:
		return false;
	}
}

static void pend_clear(struct rdisk *d)
{
	d->pend_len = 0;
	d->tpend_len = 0;
	d->pend_failed = false;
	d->dirty = false;
}

/* ---- checkpoints ---- */

struct ckpt_ctx {
	struct rdisk *d;
	uint8_t *buf;
	size_t len, cap;
	int err;
};

static int ckpt_flush(struct ckpt_ctx *x)
{
	uint8_t type = 'K';
	struct dlog_part p[2] = { { &type, 1 }, { x->buf, x->len } };

	if (x->len && (x->err = dlog_ckpt_add(&x->d->log, p, 2)) != 0)
		return -1;
	x->len = 0;
	return 0;
}

/* rs_db_rewrite's emit: group commands into 'K' records. */
static int ckpt_emit(void *ctx, const uint8_t *resp, size_t n)
{
	struct ckpt_ctx *x = ctx;

	if (x->len >= CKPT_CHUNK && ckpt_flush(x) < 0)
		return -1;
	if (x->len + n > x->cap) {
		size_t cap = x->cap ? x->cap : CKPT_CHUNK;
		uint8_t *p;

		while (cap < x->len + n)
			cap *= 2;
		if (!(p = rs_realloc(x->buf, cap))) {
			x->err = -1;
			return -1;
		}
		x->buf = p;
		x->cap = cap;
	}
	memcpy(x->buf + x->len, resp, n);
	x->len += n;
	return 0;
}

/* The table's image as a checkpoint record. Returns dlog_ckpt_add's value
 * or -1 out of memory. */
static int table_image(struct rdisk *d)
{
	uint8_t *img = rs_alloc(1 + RTABLE_IMAGE_MAX);
	int r;

	if (!img)
		return -1;
	img[0] = 'T';
	struct dlog_part p = { img, 1 + rtable_image(d->table, img + 1) };
	r = dlog_ckpt_add(&d->log, &p, 1);
	rs_free(img);
	return r;
}

int rdisk_checkpoint(struct rdisk *d)
{
	struct rs_engine *e = d->st->e;
	struct ckpt_ctx x = { .d = d };
	uint8_t id[1 + sizeof(e->run_id)] = { 'I' };
	struct dlog_part p = { id, sizeof(id) };
	int r;

	memcpy(id + 1, e->run_id, sizeof(e->run_id));
	dlog_ckpt_begin(&d->log);
	r = dlog_ckpt_add(&d->log, &p, 1);
	if (r == 0 && d->table && (r = table_image(d)) != 0)
		r = r < 0 ? r : -1;
	if (r == 0 && (rs_db_rewrite(e, ckpt_emit, &x) != 0 || ckpt_flush(&x) < 0))
		r = x.err ? x.err : -1;
	rs_free(x.buf);
	if (r == 0)
		r = dlog_ckpt_commit(&d->log);
	if (r != 0)
		return r;
	d->checkpoints++;
	d->flushes += 2;
	d->ckpt_sectors = d->log.ckpt_w;
	pend_clear(d);
	return 0;
}

/* dlog_open's apply when only the disk's state is wanted. */
static int ignore(void *ctx, const uint8_t *rec, size_t n, bool in_ckpt)
{
	(void)ctx;
	(void)rec;
	(void)n;
	(void)in_ckpt;
	return 0;
}

/* A checkpoint, after a failure. If a superblock write failed, the disk
 * holds the old generation or the new one and dlog writes nothing until
 * it has read which: open it again first. Returns 0 or an error. */
static int recover(struct rdisk *d)
{
	if (d->log.reopen) {
		struct dlog_report rep;

		dlog_close(&d->log);
		if (dlog_open(&d->log, &d->dev, ignore, NULL, &rep) != 0)
			return -1;
		if (rep.state != DLOG_OK)
			return rep.io_err ? rep.io_err : -1;
	}
	return rdisk_checkpoint(d);
}

/* ---- group commit ---- */

bool rdisk_commit(struct rdisk *d)
{
	int r;

	if (!rdisk_holding(d))
		return true;
	if (d->state == RDISK_WAIT || d->state == RDISK_UNUSABLE)
		return false;
	if (d->state == RDISK_FAILED || d->pend_failed) {
		r = recover(d);
	} else if (d->pend_len == 0 && d->tpend_len == 0) {
		r = 0; /* changed nothing the disk keeps (a write that failed) */
		pend_clear(d);
	} else {
		uint8_t b = 'B', u = 'U';
		struct dlog_part p[2] = { { &b, 1 }, { d->pend, d->pend_len } };
		struct dlog_part t[2] = { { &u, 1 }, { d->tpend, d->tpend_len } };

		r = d->pend_len ? dlog_append(&d->log, p, 2) : 0;
		if (r == 0 && d->tpend_len)
			r = dlog_append(&d->log, t, 2);
		if (r == 1) /* the log is full: the checkpoint has it all */
			r = rdisk_checkpoint(d);
		else if (r == 0 && (r = dlog_sync(&d->log)) == 0) {
			d->commits++;
			d->flushes++;
			pend_clear(d);
			if (d->log.log_end > LOG_FOLD_MIN && d->log.log_end > 2 * d->ckpt_sectors &&
			    rdisk_checkpoint(d) != 0) {
				/* What the replies answer is durable: they go out;
				 * the disk is retried as after any failure. */
				set_state(d, RDISK_FAILED, "the disk failed a write");
				return true;
			}
		}
	}
	if (r != 0) {
		set_state(d, RDISK_FAILED, r == -1 ? "out of memory" : "the disk failed a write");
		return false;
	}
	set_state(d, RDISK_OK, NULL); /* and the counts for INFO */
	return true;
}

/* ---- reading back ---- */

/* dlog_open's apply: the keyspace when it comes from the disk, the table
 * when it does; other records are counted and checked for their kind. */
static int load(void *ctx, const uint8_t *rec, size_t n, bool in_ckpt)
{
	struct rdisk *d = ctx;
	struct rs_engine *e = d->st->e;

	d->records_read++;
	if (n < 1)
		return -1;
	switch (rec[0]) {
	case 'I':
		if (!in_ckpt || n != 1 + sizeof(e->run_id) || rec[n - 1] != 0)
			return -1;
		if (d->from_disk)
			memcpy(e->run_id, rec + 1, sizeof(e->run_id));
		return 0;
	case 'K':
	case 'B':
		if ((rec[0] == 'K') != in_ckpt)
			return -1;
		if (d->from_disk)
			rstore_run(d->st, rec + 1, n - 1);
		return 0;
	case 'T':
		if (!in_ckpt)
			return -1;
		if (!d->table || !d->table_from_disk)
			return 0;
		d->table_found = true;
		return rtable_load_image(d->table, rec + 1, n - 1, d->table_why);
	case 'U':
		if (in_ckpt)
			return -1;
		if (!d->table || !d->table_from_disk || !d->table_found)
			return 0;
		return rtable_apply(d->table, rec + 1, n - 1);
	default:
		return -1;
	}
}

static const char *unusable_why(enum dlog_state s)
{
	switch (s) {
	case DLOG_FOREIGN:
		return "not a kv disk: it holds data kv did not write (not formatted over)";
	case DLOG_VERSION_NEW:
		return "a kv disk of a newer format version";
	case DLOG_CORRUPT:
		return "corrupt: a record that was written whole fails its check";
	case DLOG_SMALL:
		return "too small for kv's log";
	case DLOG_IOERR:
		return "the disk failed a read";
	default:
		return "unusable";
	}
}

int rdisk_load(struct rdisk *d, bool from_disk, uint64_t disk_id)
{
	int r;

	pend_clear(d);
	d->from_disk = from_disk;
	if (d->table) {
		d->table_why = kv_unposted(d->table);
		d->table_from_disk = d->table_why != KV_WHY_NONE;
	}
	if (dlog_open(&d->log, &d->dev, load, d, &d->report) != 0)
		return -1; /* a record that checks but does not parse: a writer's bug */
	set_state(d, RDISK_OK, NULL);
	if (d->report.state == DLOG_BLANK) {
		if ((r = dlog_format(&d->log, &d->dev, 0, disk_id)) != 0)
			set_state(d, r == -1 ? RDISK_UNUSABLE : RDISK_FAILED,
				  r == -1 ? "too small for kv's log" : "the disk failed a write");
	} else if (d->report.state != DLOG_OK) {
		set_state(d, RDISK_UNUSABLE, unusable_why(d->report.state));
		if (from_disk && d->report.state == DLOG_CORRUPT)
			rs_new_run_id(d->st->e); /* what was read is not all there was */
	}
	/* The stash takes what the disk gave (and reads it again at its next
	 * start while the disk is unusable); the disk takes what the stash
	 * has, in a first commit that is a checkpoint (a blank disk's too: it
	 * gets the run_id). */
	if (from_disk) {
		d->st->disk_pending = d->state == RDISK_UNUSABLE;
		if (rstore_snapshot(d->st) < 0)
			return -1;
	}
	/* A first commit that is a checkpoint: the stash's keyspace or table
	 * when they are ahead, a blank disk's run_id, and a log folded. */
	if (d->state != RDISK_UNUSABLE) {
		d->dirty = true;
		d->pend_failed = true;
		rdisk_commit(d);
	}
	return 0;
}
