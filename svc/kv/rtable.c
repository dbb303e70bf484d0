/*
 * kv's channel table on its disk (rtable.h has the records).
 */
#include "rtable.h"

#include "string.h"

static uint8_t *put_u64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
	return p + 8;
}

size_t rtable_image(const struct kv_stash *st, uint8_t *out)
{
	uint8_t *p = put_u64(out, st->gen) + 4;
	uint32_t count = 0;

	for (uint32_t i = 0; i < KV_ENTRIES; i++) {
		const struct kv_entry *e = &st->table[i];

		if (!e->used || e->klen < 1 || e->klen > KV_KEY_MAX || e->vlen > KV_VAL_MAX)
			continue;
		*p++ = e->klen;
		*p++ = e->vlen;
		memcpy(p, e->key, e->klen);
		memcpy(p + e->klen, e->val, e->vlen);
		p += e->klen + e->vlen;
		count++;
	}
	memcpy(out + 8, &count, 4);
	return (size_t)(p - out);
}

size_t rtable_change(uint8_t *out, uint64_t gen, char op, const char *key, size_t klen,
		     const char *val, size_t vlen)
{
	uint8_t *p = put_u64(out, gen);

	if (op != 'P')
		vlen = 0;
	*p++ = (uint8_t)op;
	*p++ = (uint8_t)klen;
	*p++ = (uint8_t)vlen;
	memcpy(p, key, klen);
	memcpy(p + klen, val, vlen);
	return (size_t)(p + klen + vlen - out);
}

/* Put (vlen bytes of val) or delete key in st. Returns 0 or -1. */
static int apply_one(struct kv_stash *st, char op, const uint8_t *key, size_t klen,
		     const uint8_t *val, size_t vlen)
{
	static const struct kv_entry empty;
	struct kv_entry e;
	int i = kv_find(st, (const char *)key, klen);

	if (op == 'D')
		return i < 0 || kv_change(st, (uint32_t)i, &empty, 0) ? 0 : -1;
	if (i < 0 && (i = kv_find_free(st)) < 0)
		return -1;
	memset(&e, 0, sizeof(e));
	e.used = 1;
	e.klen = (uint8_t)klen;
	e.vlen = (uint8_t)vlen;
	memcpy(e.key, key, klen);
	memcpy(e.val, val, vlen);
	return kv_change(st, (uint32_t)i, &e, 0) ? 0 : -1;
}

/* The key and value lengths at p (n bytes left) check: 0, or -1. */
static int lens_ok(const uint8_t *p, size_t n, size_t *klen, size_t *vlen)
{
	if (n < 2)
		return -1;
	*klen = p[0];
	*vlen = p[1];
	if (*klen < 1 || *klen > KV_KEY_MAX || *vlen > KV_VAL_MAX || n - 2 < *klen + *vlen)
		return -1;
	return 0;
}

int rtable_load_image(struct kv_stash *st, const uint8_t *p, size_t n, enum kv_why why)
{
	uint64_t gen;
	uint32_t count;
	size_t klen, vlen;

	if (n < 12)
		return -1;
	memcpy(&gen, p, 8);
	memcpy(&count, p + 8, 4);
	if (gen == 0 || count > KV_ENTRIES)
		return -1;
	kv_stash_init(st, gen, why);
	p += 12;
	n -= 12;
	for (uint32_t i = 0; i < count; i++) {
		if (lens_ok(p, n, &klen, &vlen) < 0 ||
		    apply_one(st, 'P', p + 2, klen, p + 2 + klen, vlen) < 0)
			return -1;
		p += 2 + klen + vlen;
		n -= 2 + klen + vlen;
	}
	return n == 0 ? 0 : -1;
}

int rtable_apply(struct kv_stash *st, const uint8_t *p, size_t n)
{
	while (n) {
		uint64_t gen;
		size_t klen, vlen;

		if (n < 9)
			return -1;
		memcpy(&gen, p, 8);
		char op = (char)p[8];
		if ((op != 'P' && op != 'D') || lens_ok(p + 9, n - 9, &klen, &vlen) < 0)
			return -1;
		if (gen == st->gen && apply_one(st, op, p + 11, klen, p + 11 + klen, vlen) < 0)
			return -1;
		p += 11 + klen + vlen;
		n -= 11 + klen + vlen;
	}
	return 0;
}
