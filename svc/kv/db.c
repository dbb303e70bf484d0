/*
 * The keyspace: one dict from keys to objects and one from keys to their
 * absolute expiry (ms, against rs_engine.now_ms). A key whose time has
 * come is deleted when a command looks it up (lazy expiry) or when the
 * active sweep reaches it; either way its deletion is propagated as DEL,
 * as Redis does, so that a log replays the same keyspace.
 */
#include "db.h"
#include "string.h"
#include "fmt.h"

#include <stdarg.h>

struct rs_db *rs_db_new(void)
{
	struct rs_db *db = rs_alloc(sizeof(*db));
	if (!db)
		return NULL;
	rs_dict_init(&db->keys);
	rs_dict_init(&db->expires);
	db->sweep = 0;
	return db;
}

static void free_obj_val(struct rs_dent *e)
{
	rs_obj_free(e->v.p);
}

void rs_db_flush(struct rs_db *db)
{
	rs_dict_clear(&db->keys, free_obj_val);
	rs_dict_clear(&db->expires, NULL);
	db->sweep = 0;
}

void rs_db_free(struct rs_db *db)
{
	if (!db)
		return;
	rs_db_flush(db);
	rs_free(db);
}

uint64_t rs_db_size(const struct rs_db *db)
{
	return db->keys.used;
}

uint64_t rs_db_expires(const struct rs_db *db)
{
	return db->expires.used;
}

void rs_db_touch(struct rs_ctx *x)
{
	x->dirty = true;
}

void rs_reply_oom(struct rs_ctx *x)
{
	x->oom = true;
	rs_reply_error(x->c, RS_ERR_OOM);
}

/* Delete the key k[0..n) from both dicts; false if absent. k may be
 * the key bytes of either entry: both are unlinked before either is
 * freed. */
static bool db_remove(struct rs_db *db, const uint8_t *k, size_t n)
{
	struct rs_dent *ex = rs_dict_unlink(&db->expires, k, n);
	struct rs_dent *e = rs_dict_unlink(&db->keys, k, n);
	rs_free(ex);
	if (!e)
		return false;
	rs_obj_free(e->v.p);
	rs_free(e);
	return true;
}

/* An expired key goes as Redis' deleteExpiredKeyAndPropagate: counted,
 * and logged as DEL before the command that found it. */
static void expire_now(struct rs_engine *e, const uint8_t *k, size_t n)
{
	if (e->propagate) {
		struct rs_arg argv[2] = { { (const uint8_t *)"DEL", 3 }, { k, n } };
		e->propagate(e->propagate_ctx, 2, argv);
	}
	db_remove(e->db, k, n);
	e->stat_expired++;
}

/* Redis' keyIsExpired: past (not at) its time. */
static bool expired(const struct rs_engine *e, const struct rs_dent *ex)
{
	return (int64_t)e->now_ms > ex->v.i;
}

bool rs_db_is_expired(const struct rs_engine *e, const uint8_t *k, size_t n)
{
	if (!e->db->expires.used)
		return false;
	struct rs_dent *ex = rs_dict_find(&e->db->expires, k, n);
	return ex && expired(e, ex);
}

bool rs_db_expire_if_needed(struct rs_engine *e, const uint8_t *k, size_t n)
{
	if (!rs_db_is_expired(e, k, n))
		return false;
	expire_now(e, k, n);
	return true;
}

struct rs_obj *rs_lookup_write(struct rs_ctx *x, const struct rs_arg *key)
{
	rs_db_expire_if_needed(x->e, key->p, key->len);
	struct rs_dent *d = rs_dict_find(&x->e->db->keys, key->p, key->len);
	return d ? d->v.p : NULL;
}

struct rs_obj *rs_lookup_read(struct rs_ctx *x, const struct rs_arg *key)
{
	struct rs_obj *o = rs_lookup_write(x, key);
	if (o)
		x->e->stat_keyspace_hits++;
	else
		x->e->stat_keyspace_misses++;
	return o;
}

bool rs_wrongtype(struct rs_ctx *x, const struct rs_obj *o, enum rs_type t)
{
	if (!o || o->type == t)
		return false;
	rs_reply_error(x->c, RS_ERR_WRONGTYPE);
	return true;
}

int rs_db_add(struct rs_ctx *x, const struct rs_arg *key, struct rs_obj *o)
{
	struct rs_dent *d = rs_dict_add(&x->e->db->keys, key->p, key->len);
	if (!d)
		return -1;
	d->v.p = o;
	x->dirty = true;
	return 0;
}

/* The expiry entry is made first, so that nothing can fail once the
 * value is in place; a failed add undoes it. */
int rs_db_set(struct rs_ctx *x, const struct rs_arg *key, struct rs_obj *o, int64_t when,
	      struct rs_obj **old)
{
	struct rs_db *db = x->e->db;
	struct rs_dent *ex = rs_dict_find(&db->expires, key->p, key->len);
	bool fresh = false;
	if (when >= 0 && !ex) {
		if (!(ex = rs_dict_add(&db->expires, key->p, key->len)))
			return -1;
		fresh = true;
	}
	struct rs_dent *d = rs_dict_find(&db->keys, key->p, key->len);
	if (!d && !(d = rs_dict_add(&db->keys, key->p, key->len))) {
		if (fresh)
			rs_free(rs_dict_unlink(&db->expires, key->p, key->len));
		return -1;
	}
	if (old)
		*old = d->v.p;
	else
		rs_obj_free(d->v.p);
	d->v.p = o;
	if (when >= 0)
		ex->v.i = when;
	else if (when == RS_NOTTL)
		rs_free(rs_dict_unlink(&db->expires, key->p, key->len));
	x->dirty = true;
	return 0;
}

bool rs_int_or_reply(struct rs_ctx *x, const struct rs_arg *a, int64_t *v)
{
	if (rs_arg_int(a, v))
		return true;
	rs_reply_error(x->c, RS_ERR_NOTINT);
	return false;
}

bool rs_count_or_reply(struct rs_ctx *x, const struct rs_arg *a, int64_t *v)
{
	/* Redis' getPositiveLongFromObjectOrReply: one message for both */
	if (rs_arg_int(a, v) && *v >= 0)
		return true;
	rs_reply_error(x->c, "ERR value is out of range, must be positive");
	return false;
}

bool rs_add_or_reply(struct rs_ctx *x, int64_t *v, int64_t incr)
{
	if ((incr < 0 && *v < 0 && incr < INT64_MIN - *v) ||
	    (incr > 0 && *v > 0 && incr > INT64_MAX - *v)) {
		rs_reply_error(x->c, RS_ERR_OVERFLOW);
		return false;
	}
	*v += incr;
	return true;
}

bool rs_rank_range(int64_t len, int64_t *start, int64_t *end)
{
	if (*start < 0)
		*start = len + *start;
	if (*end < 0)
		*end = len + *end;
	if (*start < 0)
		*start = 0;
	if (*start > *end || *start >= len)
		return false;
	if (*end >= len)
		*end = len - 1;
	return true;
}

#define PROP_MAX 8 /* arguments of the longest rs_propagatef form */

void rs_propagatef(struct rs_ctx *x, const char *fmt, ...)
{
	struct rs_arg argv[PROP_MAX];
	char nums[PROP_MAX][24];
	uint32_t n = 0;
	va_list ap;
	va_start(ap, fmt);
	for (; fmt[n] && n < PROP_MAX; n++) {
		if (fmt[n] == 's') {
			const char *s = va_arg(ap, const char *);
			argv[n] = (struct rs_arg){ (const uint8_t *)s, strlen(s) };
		} else if (fmt[n] == 'a') {
			argv[n] = *va_arg(ap, const struct rs_arg *);
		} else {
			int len = fmt_snprintf(nums[n], sizeof(nums[n]), "%lld",
					       (long long)va_arg(ap, int64_t));
			argv[n] = (struct rs_arg){ (const uint8_t *)nums[n], (size_t)len };
		}
	}
	va_end(ap);
	rs_propagate(x, n, argv);
}

struct rs_obj *rs_db_take(struct rs_ctx *x, const struct rs_arg *key)
{
	struct rs_db *db = x->e->db;
	struct rs_dent *e = rs_dict_unlink(&db->keys, key->p, key->len);
	if (!e)
		return NULL;
	struct rs_obj *o = e->v.p;
	rs_free(e);
	rs_free(rs_dict_unlink(&db->expires, key->p, key->len));
	x->dirty = true;
	return o;
}

bool rs_db_delete(struct rs_ctx *x, const struct rs_arg *key)
{
	if (!db_remove(x->e->db, key->p, key->len))
		return false;
	x->dirty = true;
	return true;
}

void rs_db_drop_if_empty(struct rs_ctx *x, const struct rs_arg *key, const struct rs_obj *o)
{
	if (o->type != RS_T_STRING && !rs_obj_len(o))
		rs_db_delete(x, key);
}

int64_t rs_db_get_expire(const struct rs_db *db, const struct rs_arg *key)
{
	struct rs_dent *ex = rs_dict_find(&db->expires, key->p, key->len);
	return ex ? ex->v.i : -1;
}

int rs_db_set_expire(struct rs_ctx *x, const struct rs_arg *key, int64_t when_ms)
{
	struct rs_dict *d = &x->e->db->expires;
	struct rs_dent *ex = rs_dict_find(d, key->p, key->len);
	if (!ex && !(ex = rs_dict_add(d, key->p, key->len)))
		return -1;
	ex->v.i = when_ms;
	x->dirty = true;
	return 0;
}

bool rs_db_persist(struct rs_ctx *x, const struct rs_arg *key)
{
	struct rs_dent *ex = rs_dict_unlink(&x->e->db->expires, key->p, key->len);
	if (!ex)
		return false;
	rs_free(ex);
	x->dirty = true;
	return true;
}

/* ---- the active sweep ---- */

#define SWEEP_BATCH 32 /* expired keys one bucket visit can collect */

struct sweep {
	const struct rs_engine *e;
	size_t seen, n;
	struct rs_dent *due[SWEEP_BATCH];
};

static void sweep_one(void *ctx, struct rs_dent *ex)
{
	struct sweep *s = ctx;
	s->seen++;
	if (s->n < SWEEP_BATCH && expired(s->e, ex))
		s->due[s->n++] = ex;
}

/* A bucket at a time along the SCAN cursor, so every key with a time to
 * live is looked at once per cycle however the dict resizes; a due key
 * left out of a full batch is met again next cycle. */
size_t rs_db_active_expire(struct rs_engine *e, size_t budget)
{
	struct rs_db *db = e->db;
	size_t done = 0;
	struct sweep s = { .e = e, .seen = 0 };
	while (s.seen < budget && db->expires.used) {
		s.n = 0;
		db->sweep = rs_dict_scan(&db->expires, db->sweep, sweep_one, &s);
		for (size_t i = 0; i < s.n; i++)
			expire_now(e, s.due[i]->key, s.due[i]->klen);
		done += s.n;
		if (!db->sweep)
			break; /* one whole cycle per call at most */
	}
	return done;
}
