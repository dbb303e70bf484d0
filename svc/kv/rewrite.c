/*
 * The keyspace as commands that rebuild it (rstore.h: rs_db_rewrite), for
 * kv's snapshots: Redis' AOF rewrite. A container goes out in commands of
 * at most REWRITE_ITEMS elements, as Redis' does, so no command is large;
 * a score as "%.17g", which reads back to the same double; an expiry as
 * PEXPIREAT with its absolute time.
 */
#include "db.h"
#include "rstore.h"

#include "fmt.h"
#include "string.h"

#define REWRITE_ITEMS 64

/* One command being built. */
struct cmdbuf {
	uint8_t *p;
	size_t len, cap;
	uint32_t argc; /* arguments after the head */
	bool failed;
	int (*emit)(void *ctx, const uint8_t *resp, size_t n);
	void *ctx;
};

static void put(struct cmdbuf *b, const void *p, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 512;
		uint8_t *q;
		while (cap < b->len + n)
			cap *= 2;
		if (!(q = rs_realloc(b->p, cap))) {
			b->failed = true;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void arg(struct cmdbuf *b, const void *p, size_t n)
{
	char head[24];
	int k = fmt_snprintf(head, sizeof(head), "$%llu\r\n", (unsigned long long)n);

	put(b, head, (size_t)k);
	put(b, p, n);
	put(b, "\r\n", 2);
	b->argc++;
}

/* The arguments of a command go after a placeholder header, written once
 * the count is known: the buffer starts at the header's end. */
#define HDR_ROOM 16

static void begin(struct cmdbuf *b, const char *name, const uint8_t *key, size_t klen)
{
	b->len = 0;
	b->argc = 0;
	put(b, "                ", HDR_ROOM);
	arg(b, name, strlen(name));
	arg(b, key, klen);
}

/* Emit the command built. Returns 0 or -1. */
static int end(struct cmdbuf *b)
{
	char head[HDR_ROOM + 1];
	int k;

	if (b->failed)
		return -1;
	k = fmt_snprintf(head, sizeof(head), "*%u\r\n", (unsigned)b->argc);
	memcpy(b->p + HDR_ROOM - k, head, (size_t)k);
	return b->emit(b->ctx, b->p + HDR_ROOM - k, b->len - HDR_ROOM + (size_t)k) ? -1 : 0;
}

/* End the command if it holds a full batch, and begin the next. */
static int batch(struct cmdbuf *b, const char *name, const struct rs_dent *k, uint32_t per)
{
	if (b->argc < 2 + REWRITE_ITEMS * per)
		return 0;
	if (end(b) < 0)
		return -1;
	begin(b, name, k->key, k->klen);
	return 0;
}

static int list_out(struct cmdbuf *b, const struct rs_dent *k, const struct rs_list *l)
{
	begin(b, "RPUSH", k->key, k->klen);
	for (size_t i = 0; i < l->len; i++) {
		const struct rs_bytes *e = *rs_list_at(l, i);
		arg(b, e->p, e->len);
		if (i + 1 < l->len && batch(b, "RPUSH", k, 1) < 0)
			return -1;
	}
	return end(b);
}

/* A set's members, or a hash's fields and values. */
static int dict_out(struct cmdbuf *b, const struct rs_dent *k, const struct rs_dict *d, bool hash)
{
	const char *name = hash ? "HSET" : "SADD";
	struct rs_dict_it it = { 0 };
	uint64_t left = d->used;
	struct rs_dent *e;

	begin(b, name, k->key, k->klen);
	while ((e = rs_dict_next(d, &it))) {
		arg(b, e->key, e->klen);
		if (hash) {
			const struct rs_hval *v = e->v.p;
			arg(b, v->p, v->len);
		}
		if (--left && batch(b, name, k, hash ? 2 : 1) < 0)
			return -1;
	}
	return end(b);
}

/* A small hash lists its fields in the order they came (Redis' listpack):
 * it goes out in that order, so the next incarnation lists them alike. */
static int hash_out(struct cmdbuf *b, const struct rs_dent *k, const struct rs_obj *o)
{
	static const struct rs_dent *v[RS_HASH_LP_ENTRIES];
	size_t n;

	if (o->big)
		return dict_out(b, k, &o->d, true);
	n = rs_hash_in_order(o, v);
	begin(b, "HSET", k->key, k->klen);
	for (size_t i = 0; i < n; i++) {
		const struct rs_hval *hv = v[i]->v.p;
		arg(b, v[i]->key, v[i]->klen);
		arg(b, hv->p, hv->len);
	}
	return end(b);
}

static int zset_out(struct cmdbuf *b, const struct rs_dent *k, const struct rs_zset *z)
{
	char num[64];

	begin(b, "ZADD", k->key, k->klen);
	for (const struct rs_znode *n = z->sl->head->lv[0].fwd; n; n = n->lv[0].fwd) {
		size_t len = rs_fmt_double(num, sizeof(num), n->score, false);
		arg(b, num, len);
		arg(b, n->ele, n->len);
		if (n->lv[0].fwd && batch(b, "ZADD", k, 2) < 0)
			return -1;
	}
	return end(b);
}

static int key_out(struct cmdbuf *b, struct rs_engine *e, const struct rs_dent *k)
{
	const struct rs_obj *o = k->v.p;
	struct rs_arg key = { k->key, k->klen };
	int64_t when = rs_db_get_expire(e->db, &key);
	int r;

	switch (o->type) {
	case RS_T_STRING:
		begin(b, "SET", k->key, k->klen);
		arg(b, o->s.p, o->s.len);
		r = end(b);
		break;
	case RS_T_LIST:
		r = list_out(b, k, &o->l);
		break;
	case RS_T_SET:
		r = dict_out(b, k, &o->d, false);
		break;
	case RS_T_HASH:
		r = hash_out(b, k, o);
		break;
	default:
		r = zset_out(b, k, &o->z);
		break;
	}
	if (r == 0 && when >= 0) {
		char ms[24];
		int n = fmt_snprintf(ms, sizeof(ms), "%lld", (long long)when);
		begin(b, "PEXPIREAT", k->key, k->klen);
		arg(b, ms, (size_t)n);
		r = end(b);
	}
	return r;
}

int rs_db_rewrite(struct rs_engine *e, int (*emit)(void *ctx, const uint8_t *resp, size_t n),
		  void *ctx)
{
	struct cmdbuf b = { .emit = emit, .ctx = ctx };
	struct rs_dict_it it = { 0 };
	struct rs_dent *k;
	int r = 0;

	while (r == 0 && (k = rs_dict_next(&e->db->keys, &it)))
		r = key_out(&b, e, k);
	rs_free(b.p);
	return r;
}
