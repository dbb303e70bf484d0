/*
 * The values a key can hold: strings, lists (a ring deque of elements),
 * sets and hashes (dicts), zsets (dict + skiplist); their creation, copy,
 * release, and the encoding names OBJECT ENCODING reports. The engine
 * stores every type one way; the names are derived by Redis 7.0's rules
 * and thresholds (its default config) from what was done to the object.
 */
#include "db.h"
#include "string.h"

/* Redis 7.0's defaults. */
#define EMBSTR_MAX 44	 /* OBJ_ENCODING_EMBSTR_SIZE_LIMIT */
#define INTSET_MAX 512	 /* set-max-intset-entries */
#define HASH_LP_VALUE 64 /* hash-max-listpack-value */

struct rs_bytes *rs_bytes_new(const void *p, size_t n)
{
	if (n > SIZE_MAX - sizeof(struct rs_bytes))
		return NULL;
	struct rs_bytes *b = rs_alloc(sizeof(*b) + n);
	if (!b)
		return NULL;
	b->len = n;
	memcpy(b->p, p, n);
	return b;
}

struct rs_hval *rs_hval_new(const void *p, size_t n, uint64_t seq)
{
	if (n > SIZE_MAX - sizeof(struct rs_hval))
		return NULL;
	struct rs_hval *v = rs_alloc(sizeof(*v) + n);
	if (!v)
		return NULL;
	v->seq = seq;
	v->len = n;
	memcpy(v->p, p, n);
	return v;
}

struct rs_obj *rs_obj_new(enum rs_type t)
{
	struct rs_obj *o = rs_alloc(sizeof(*o));
	if (!o)
		return NULL;
	memset(o, 0, sizeof(*o));
	o->type = (uint8_t)t;
	if (t == RS_T_SET || t == RS_T_HASH)
		rs_dict_init(&o->d);
	if (t == RS_T_ZSET && rs_zset_init(&o->z) < 0) {
		rs_free(o);
		return NULL;
	}
	return o;
}

struct rs_obj *rs_obj_string(const void *p, size_t n)
{
	struct rs_obj *o = rs_obj_new(RS_T_STRING);
	if (!o)
		return NULL;
	o->s.p = rs_alloc(n ? n : 1);
	if (!o->s.p) {
		rs_free(o);
		return NULL;
	}
	if (n)
		memcpy(o->s.p, p, n);
	o->s.len = o->s.cap = n;
	return o;
}

static void free_bytes_val(struct rs_dent *e)
{
	rs_free(e->v.p);
}

void rs_obj_free(struct rs_obj *o)
{
	if (!o)
		return;
	switch (o->type) {
	case RS_T_STRING:
		rs_free(o->s.p);
		break;
	case RS_T_LIST:
		rs_list_clear(&o->l);
		break;
	case RS_T_SET:
		rs_dict_clear(&o->d, NULL);
		break;
	case RS_T_HASH:
		rs_dict_clear(&o->d, free_bytes_val);
		break;
	case RS_T_ZSET:
		rs_zset_clear(&o->z);
		break;
	}
	rs_free(o);
}

uint64_t rs_obj_len(const struct rs_obj *o)
{
	switch (o->type) {
	case RS_T_LIST:
		return o->l.len;
	case RS_T_SET:
	case RS_T_HASH:
		return o->d.used;
	case RS_T_ZSET:
		return o->z.sl->len;
	}
	return 0;
}

/* ---- lists ---- */

static int list_grow(struct rs_list *l)
{
	size_t cap = l->cap ? l->cap * 2 : 8;
	if (cap > SIZE_MAX / sizeof(*l->a))
		return -1;
	struct rs_bytes **a = rs_alloc(cap * sizeof(*a));
	if (!a)
		return -1;
	for (size_t i = 0; i < l->len; i++)
		a[i] = l->a[(l->head + i) % l->cap];
	rs_free(l->a);
	l->a = a;
	l->head = 0;
	l->cap = cap;
	return 0;
}

int rs_list_push(struct rs_list *l, struct rs_bytes *b, bool left)
{
	if (l->len == l->cap && list_grow(l) < 0)
		return -1;
	if (left) {
		l->head = (l->head + l->cap - 1) % l->cap;
		l->a[l->head] = b;
	} else {
		l->a[(l->head + l->len) % l->cap] = b;
	}
	l->len++;
	return 0;
}

struct rs_bytes **rs_list_at(const struct rs_list *l, size_t i)
{
	return &l->a[(l->head + i) % l->cap];
}

struct rs_bytes *rs_list_pop(struct rs_list *l, bool left)
{
	if (!l->len)
		return NULL;
	struct rs_bytes *b;
	if (left) {
		b = l->a[l->head];
		l->head = (l->head + 1) % l->cap;
	} else {
		b = *rs_list_at(l, l->len - 1);
	}
	l->len--;
	return b;
}

/* Close the gap at i (the element there is the caller's). */
void rs_list_remove_at(struct rs_list *l, size_t i)
{
	for (size_t j = i; j + 1 < l->len; j++)
		*rs_list_at(l, j) = *rs_list_at(l, j + 1);
	l->len--;
}

void rs_list_clear(struct rs_list *l)
{
	for (size_t i = 0; i < l->len; i++)
		rs_free(*rs_list_at(l, i));
	rs_free(l->a);
	memset(l, 0, sizeof(*l));
}

/* ---- copies (COPY) ---- */

static int dup_list(struct rs_obj *to, const struct rs_obj *o)
{
	for (size_t i = 0; i < o->l.len; i++) {
		const struct rs_bytes *b = *rs_list_at(&o->l, i);
		struct rs_bytes *c = rs_bytes_new(b->p, b->len);
		if (!c || rs_list_push(&to->l, c, false) < 0) {
			rs_free(c);
			return -1;
		}
	}
	return 0;
}

static int dup_dict(struct rs_obj *to, const struct rs_obj *o)
{
	struct rs_dict_it it = { 0, NULL };
	for (struct rs_dent *e; (e = rs_dict_next(&o->d, &it));) {
		struct rs_dent *c = rs_dict_add(&to->d, e->key, e->klen);
		if (!c)
			return -1;
		if (o->type == RS_T_HASH) {
			const struct rs_hval *v = e->v.p;
			if (!(c->v.p = rs_hval_new(v->p, v->len, v->seq)))
				return -1;
		}
	}
	return 0;
}

static int dup_zset(struct rs_obj *to, const struct rs_obj *o, uint64_t *rand)
{
	for (struct rs_znode *n = o->z.sl->head->lv[0].fwd; n; n = n->lv[0].fwd)
		if (rs_zset_add(&to->z, n->ele, n->len, n->score, rand) < 0)
			return -1;
	return 0;
}

struct rs_obj *rs_obj_dup(const struct rs_obj *o)
{
	if (o->type == RS_T_STRING) {
		struct rs_obj *c = rs_obj_string(o->s.p, o->s.len);
		if (c)
			c->big = o->big, c->noint = o->noint, c->copied = true;
		return c;
	}
	struct rs_obj *c = rs_obj_new(o->type);
	if (!c)
		return NULL;
	c->big = o->big;
	c->next_seq = o->next_seq;
	uint64_t rand = 0x2545f4914f6cdd1dull; /* levels need not be random across copies */
	int r = o->type == RS_T_LIST   ? dup_list(c, o)
		: o->type == RS_T_ZSET ? dup_zset(c, o, &rand)
				       : dup_dict(c, o);
	if (r < 0) {
		rs_obj_free(c);
		return NULL;
	}
	return c;
}

/* ---- encodings ---- */

static bool is_int(const uint8_t *p, size_t n)
{
	struct rs_arg a = { p, n };
	int64_t v;
	return n <= 20 && rs_arg_int(&a, &v);
}

void rs_set_note(struct rs_obj *o, const uint8_t *m, size_t n)
{
	if (!o->big && (o->d.used > INTSET_MAX || !is_int(m, n)))
		o->big = true;
}

void rs_hash_note(struct rs_obj *o, size_t flen, size_t vlen)
{
	if (o->d.used > RS_HASH_LP_ENTRIES || flen > HASH_LP_VALUE || vlen > HASH_LP_VALUE)
		o->big = true;
}

static uint64_t seq_of(const struct rs_dent *e)
{
	return ((const struct rs_hval *)e->v.p)->seq;
}

/* Heapsort's sift-down of a[i] among a[0..n), by seq. */
static void sift(const struct rs_dent **a, size_t i, size_t n)
{
	for (size_t c; (c = 2 * i + 1) < n; i = c) {
		if (c + 1 < n && seq_of(a[c + 1]) > seq_of(a[c]))
			c++;
		if (seq_of(a[i]) >= seq_of(a[c]))
			return;
		const struct rs_dent *t = a[i];
		a[i] = a[c];
		a[c] = t;
	}
}

size_t rs_hash_in_order(const struct rs_obj *o, const struct rs_dent **v)
{
	struct rs_dict_it it = { 0 };
	const struct rs_dent *e;
	size_t n = 0;

	while (n < RS_HASH_LP_ENTRIES && (e = rs_dict_next(&o->d, &it)))
		v[n++] = e;
	for (size_t i = n / 2; i-- > 0;)
		sift(v, i, n);
	for (size_t m = n; m-- > 1;) {
		const struct rs_dent *t = v[0];
		v[0] = v[m];
		v[m] = t;
		sift(v, 0, m);
	}
	return n;
}

void rs_zset_note(struct rs_obj *o, size_t mlen)
{
	if (o->z.sl->len > RS_ZSET_LP_ENTRIES || mlen > RS_ZSET_LP_VALUE)
		o->big = true;
}

static const char *string_encoding(const struct rs_obj *o)
{
	if (o->big)
		return "raw";
	if (!o->noint && is_int(o->s.p, o->s.len))
		return "int";
	return o->s.len <= EMBSTR_MAX ? "embstr" : "raw";
}

const char *rs_obj_encoding(const struct rs_obj *o)
{
	switch (o->type) {
	case RS_T_STRING:
		return string_encoding(o);
	case RS_T_LIST:
		return "quicklist"; /* Redis 7.0: every list (7.2 added listpack) */
	case RS_T_SET:
		return o->big ? "hashtable" : "intset";
	case RS_T_HASH:
		return o->big ? "hashtable" : "listpack";
	}
	return o->big ? "skiplist" : "listpack";
}

#define SHARED_INTEGERS 10000 /* Redis' OBJ_SHARED_INTEGERS */

int64_t rs_obj_refcount(const struct rs_obj *o)
{
	struct rs_arg a = { o->type == RS_T_STRING ? o->s.p : NULL,
			    o->type == RS_T_STRING ? o->s.len : 0 };
	int64_t v;
	if (o->type != RS_T_STRING || o->copied || strcmp(string_encoding(o), "int") != 0 ||
	    !rs_arg_int(&a, &v) || v < 0 || v >= SHARED_INTEGERS)
		return 1;
	return INT32_MAX;
}

const char *rs_type_name(const struct rs_obj *o)
{
	static const char *const names[] = { "string", "list", "set", "hash", "zset" };
	return names[o->type];
}
