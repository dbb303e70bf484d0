/*
 * The engine's one hash table (keyspace, expiries, set members, hash
 * fields, zset members): binary-safe keys, chained buckets, a power-of-two
 * table resized in one step.
 *
 * One step, not Redis' incremental rehash: the engine is single-threaded
 * and a resize is O(n) pointer moves once per doubling (amortised O(1) per
 * add), and with one table the SCAN cursor and the random pick stay
 * simple. A failed resize only keeps the old table: no add or delete ever
 * fails because of it.
 */
#include "db.h"
#include "string.h"

#define DICT_MIN 4 /* smallest table: no point rehashing below it */

/* FNV-1a with a murmur finaliser, so that the low bits (the bucket) mix
 * all of the key. */
static uint64_t dict_hash(const uint8_t *k, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ k[i]) * 0x100000001b3ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

uint64_t rs_rand(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

void rs_dict_init(struct rs_dict *d)
{
	d->tab = NULL;
	d->size = d->used = 0;
}

/* Move every entry into a table of size buckets; false (nothing changed)
 * when out of memory. */
static bool dict_rehash(struct rs_dict *d, uint64_t size)
{
	struct rs_dent **t = rs_alloc(size * sizeof(*t));
	if (!t)
		return false;
	memset(t, 0, size * sizeof(*t));
	for (uint64_t b = 0; b < d->size; b++) {
		struct rs_dent *e = d->tab[b], *next;
		for (; e; e = next) {
			next = e->next;
			e->next = t[e->hash & (size - 1)];
			t[e->hash & (size - 1)] = e;
		}
	}
	rs_free(d->tab);
	d->tab = t;
	d->size = size;
	return true;
}

static uint64_t pow2_at_least(uint64_t n)
{
	uint64_t s = DICT_MIN;
	while (s < n)
		s <<= 1;
	return s;
}

/* Grow at load factor 1; shrink below 1/8 (Redis' 10%), so a random pick
 * finds a full bucket in a few tries. */
static void dict_fit(struct rs_dict *d)
{
	if (d->used >= d->size)
		dict_rehash(d, pow2_at_least(d->used * 2));
	else if (d->size > DICT_MIN && d->used * 8 < d->size)
		dict_rehash(d, pow2_at_least(d->used));
}

struct rs_dent *rs_dict_find(const struct rs_dict *d, const void *k, size_t n)
{
	if (!d->size)
		return NULL;
	uint64_t h = dict_hash(k, n);
	for (struct rs_dent *e = d->tab[h & (d->size - 1)]; e; e = e->next)
		if (e->hash == h && e->klen == n && !memcmp(e->key, k, n))
			return e;
	return NULL;
}

struct rs_dent *rs_dict_add(struct rs_dict *d, const void *k, size_t n)
{
	if (n > SIZE_MAX - sizeof(struct rs_dent))
		return NULL;
	struct rs_dent *e = rs_alloc(sizeof(*e) + n);
	if (!e)
		return NULL;
	if (!d->size && !dict_rehash(d, DICT_MIN)) {
		rs_free(e);
		return NULL;
	}
	e->hash = dict_hash(k, n);
	e->klen = n;
	e->v.p = NULL;
	memcpy(e->key, k, n);
	e->next = d->tab[e->hash & (d->size - 1)];
	d->tab[e->hash & (d->size - 1)] = e;
	d->used++;
	dict_fit(d);
	return e;
}

struct rs_dent *rs_dict_unlink(struct rs_dict *d, const void *k, size_t n)
{
	if (!d->size)
		return NULL;
	uint64_t h = dict_hash(k, n);
	struct rs_dent **pp = &d->tab[h & (d->size - 1)];
	for (; *pp; pp = &(*pp)->next) {
		struct rs_dent *e = *pp;
		if (e->hash == h && e->klen == n && !memcmp(e->key, k, n)) {
			*pp = e->next;
			d->used--;
			dict_fit(d);
			return e;
		}
	}
	return NULL;
}

void rs_dict_clear(struct rs_dict *d, void (*freev)(struct rs_dent *))
{
	for (uint64_t b = 0; b < d->size; b++) {
		struct rs_dent *e = d->tab[b], *next;
		for (; e; e = next) {
			next = e->next;
			if (freev)
				freev(e);
			rs_free(e);
		}
	}
	rs_free(d->tab);
	rs_dict_init(d);
}

static uint64_t rev64(uint64_t v)
{
	uint64_t r = 0;
	for (int i = 0; i < 64; i++, v >>= 1)
		r = (r << 1) | (v & 1);
	return r;
}

/* The cursor counts up in reversed bit order over the bucket index: the
 * buckets a visited one splits into (growth) or merges from (shrink) are
 * all in the part already visited or all in the part to come. */
uint64_t rs_dict_scan(const struct rs_dict *d, uint64_t v, void (*fn)(void *, struct rs_dent *),
		      void *ctx)
{
	if (!d->size)
		return 0;
	uint64_t m = d->size - 1;
	for (struct rs_dent *e = d->tab[v & m]; e; e = e->next)
		fn(ctx, e);
	v |= ~m;
	v = rev64(v);
	v++;
	return rev64(v);
}

struct rs_dent *rs_dict_random(const struct rs_dict *d, uint64_t *rand)
{
	if (!d->used)
		return NULL;
	struct rs_dent *e;
	do
		e = d->tab[rs_rand(rand) & (d->size - 1)];
	while (!e);
	size_t n = 0;
	for (struct rs_dent *p = e; p; p = p->next)
		n++;
	for (size_t i = rs_rand(rand) % n; i; i--)
		e = e->next;
	return e;
}

struct rs_dent *rs_dict_next(const struct rs_dict *d, struct rs_dict_it *it)
{
	if (it->e && it->e->next)
		return it->e = it->e->next;
	uint64_t b = it->e ? it->b + 1 : it->b;
	for (; b < d->size; b++) {
		if (d->tab[b]) {
			it->b = b;
			return it->e = d->tab[b];
		}
	}
	it->b = b;
	it->e = NULL;
	return NULL;
}
