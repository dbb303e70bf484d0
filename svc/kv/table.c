/* kv's table in its stash: see table.h. */
#include "table.h"

/*
 * Keep the stash stores in program order. The window undoes a death
 * between two of them; the order is for the checks, should a change cut
 * short ever be seen (table.h). (One CPU writes and later reads the stash;
 * only the compiler could reorder.) A fence follows every store of a
 * change, so a death at a fence is a death right after that store. Test
 * builds replace it with a hook: the unit test looks at the stash there,
 * and kv's crash hook (svc/kv/hook.h) dies there, to show the window
 * undoes it.
 */
#ifdef KV_TEST_FENCE
void kv_test_fence(void);
#define KV_ORDERED() kv_test_fence()
#else
#define KV_ORDERED() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#endif

const char *const kv_why_names[KV_WHY_N] = {
	[KV_WHY_NONE] = "none",	      [KV_WHY_NEW] = "new",	      [KV_WHY_MAGIC] = "magic",
	[KV_WHY_CORRUPT] = "corrupt", [KV_WHY_CHECKSUM] = "checksum", [KV_WHY_COUNT] = "count",
	[KV_WHY_RUNTIME] = "runtime",
};

/* unposted's word for why: why in each of its four bytes. */
#define UNPOSTED(why) ((uint32_t)(why)*0x01010101u)

enum kv_why kv_unposted(const struct kv_stash *st)
{
	uint32_t w = st->unposted;

	/* If three of the four bytes agree, byte 0 or byte 1 is one of them. */
	for (int i = 0; i < 2; i++) {
		uint32_t c = (w >> (8 * i)) & 0xff, n = 0;

		for (int b = 0; b < 4; b++)
			n += ((w >> (8 * b)) & 0xff) == c;
		if (n >= 3)
			return c < KV_WHY_N ? (enum kv_why)c : KV_WHY_N;
	}
	return KV_WHY_N;
}

void kv_posted(struct kv_stash *st)
{
	st->unposted = UNPOSTED(KV_WHY_NONE);
}

uint64_t kv_slot_hash(uint32_t slot, const struct kv_entry *e)
{
	const uint8_t *p = (const uint8_t *)e;
	uint64_t h = 0xcbf29ce484222325ull;

	for (int i = 0; i < 4; i++) {
		h ^= (slot >> (8 * i)) & 0xff;
		h *= 0x100000001b3ull;
	}
	for (size_t i = 0; i < sizeof(*e); i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/*
 * Whether slot e is well formed: used is 0 or 1, a used slot's lengths are
 * in range, and an unused slot is all zero (a delete writes zeros). Only
 * lengths checked here are ever used to copy or compare bytes.
 */
static bool entry_ok(const struct kv_entry *e)
{
	if (e->used == 1)
		return e->klen >= 1 && e->klen <= KV_KEY_MAX && e->vlen <= KV_VAL_MAX &&
		       e->pad == 0;
	return e->used == 0 && e->klen == 0 && e->vlen == 0 && e->pad == 0;
}

bool kv_slot_ok(const struct kv_stash *st, uint32_t i)
{
	return entry_ok(&st->table[i]) && st->hash[i] == kv_slot_hash(i, &st->table[i]);
}

bool kv_gen_ok(const struct kv_stash *st)
{
	return st->gen != 0 && st->gen == ~st->gen_inv;
}

enum kv_why kv_table_problem(const struct kv_stash *st)
{
	uint64_t sum = 0;
	uint32_t count = 0;

	for (uint32_t i = 0; i < KV_ENTRIES; i++) {
		if (!kv_slot_ok(st, i))
			return KV_WHY_CHECKSUM;
		sum += st->hash[i];
		count += st->table[i].used;
	}
	if (sum != st->sum)
		return KV_WHY_CHECKSUM;
	if (count != st->count)
		return KV_WHY_COUNT;
	return KV_WHY_NONE;
}

bool kv_change(struct kv_stash *st, uint32_t slot, const struct kv_entry *e, uint64_t id)
{
	const struct kv_entry *old = &st->table[slot];
	uint64_t h = kv_slot_hash(slot, e);
	uint32_t count;
	uint64_t sum;

	if (!kv_slot_ok(st, slot))
		return false;
	count = st->count + (e->used && !old->used) - (!e->used && old->used);
	sum = st->sum - st->hash[slot] + h;
	/* The slot and its hash before the totals, the id last: a stash that
	 * still held this change cut short would fail the slot's hash or the
	 * checksum, or hold the whole change with no replay recognised. */
	st->table[slot] = *e;
	KV_ORDERED();
	st->hash[slot] = h;
	KV_ORDERED();
	st->count = count;
	KV_ORDERED();
	st->sum = sum;
	KV_ORDERED();
	st->last_id = id;
	KV_ORDERED();
	st->last_inv = ~id;
	KV_ORDERED();
	return true;
}

/* Whether every slot of the table is well formed. */
static bool table_ok(const struct kv_stash *st)
{
	for (uint32_t i = 0; i < KV_ENTRIES; i++)
		if (!entry_ok(&st->table[i]))
			return false;
	return true;
}

enum kv_why kv_stash_check(struct kv_stash *st)
{
	if (st->magic == 0)
		return KV_WHY_NEW;
	if (st->magic != KV_MAGIC || st->version != KV_VERSION)
		return KV_WHY_MAGIC;
	enum kv_why unposted = kv_unposted(st);
	if (st->count > KV_ENTRIES || unposted == KV_WHY_N || st->pad != 0 || !kv_gen_ok(st))
		return KV_WHY_CORRUPT;
	/* One store, and either word means the same: a death here is harmless. */
	st->unposted = UNPOSTED(unposted);
	return table_ok(st) ? kv_table_problem(st) : KV_WHY_CORRUPT;
}

void kv_stash_init(struct kv_stash *st, uint64_t gen, enum kv_why why)
{
	static const struct kv_entry empty;

	st->magic = 0;
	KV_ORDERED();
	st->sum = 0;
	for (uint32_t i = 0; i < KV_ENTRIES; i++) {
		st->table[i] = empty;
		st->hash[i] = kv_slot_hash(i, &empty);
		st->sum += st->hash[i];
	}
	st->version = KV_VERSION;
	st->count = 0;
	st->last_id = 0;
	st->gen = gen;
	st->gen_inv = ~gen;
	st->unposted = UNPOSTED(why);
	st->pad = 0;
	KV_ORDERED();
	st->magic = KV_MAGIC;
	KV_ORDERED();
}

/* Whether used slot e holds key[0..klen). */
static bool holds(const struct kv_entry *e, const char *key, size_t klen)
{
	if (!e->used || e->klen != klen)
		return false;
	for (size_t i = 0; i < klen; i++)
		if (e->key[i] != key[i])
			return false;
	return true;
}

int kv_find(const struct kv_stash *st, const char *key, size_t klen)
{
	for (int i = 0; i < KV_ENTRIES; i++)
		if (holds(&st->table[i], key, klen))
			return i;
	return -1;
}

int kv_find_free(const struct kv_stash *st)
{
	for (int i = 0; i < KV_ENTRIES; i++)
		if (!st->table[i].used)
			return i;
	return -1;
}

bool kv_replayed(const struct kv_stash *st, uint64_t id)
{
	return st->last_id == id && st->last_inv == ~id;
}
