/*
 * kv's table in its stash (svc/kv/table.c). A flipped bit anywhere in the
 * stored structures must be reported, never taken for valid data. A change
 * is made in place and the stash's recovery window makes it all or nothing
 * (the window's rollback is test_stashwin's); should a stash ever hold a
 * change cut short after any store, or in the middle of one, the start-up
 * check must report it or find the table exactly as it was before the
 * change (no replay recognised) or after it, never another. And the
 * layout is the stash format: a kv restarted from an older one's stash
 * reads it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "table.h"

/* The stash format as kv has written it since KV_VERSION 5 (no redo
 * record): these may only change together with the version. */
_Static_assert(sizeof(struct kv_entry) == 164, "entry layout");
_Static_assert(offsetof(struct kv_stash, unposted) == 56 && offsetof(struct kv_stash, table) == 64,
	       "stash layout");
_Static_assert(offsetof(struct kv_stash, hash) == 84032, "stash layout");
_Static_assert(sizeof(struct kv_stash) == 88128, "stash layout");

#define GEN 0x5f0e3a91c2d4b786ull
#define FILLED 30   /* entries in the table a change is made to */
#define MAX_SNAPS 8 /* stash snapshots one change can take */

/* Stash snapshots taken at each fence of the code under test. */
struct snaps {
	int n;
	struct kv_stash s[MAX_SNAPS];
};

static struct kv_stash *watched; /* whose fences are recorded, or NULL */
static struct snaps *recording;

void kv_test_fence(void);
void kv_test_fence(void)
{
	if (!watched)
		return;
	assert_true(recording->n < MAX_SNAPS);
	recording->s[recording->n++] = *watched;
}

static void record(struct kv_stash *st, struct snaps *into)
{
	into->n = 0;
	watched = st;
	recording = into;
}

static void stop_recording(void)
{
	watched = NULL;
}

/* A used entry whose content says which one it is. */
static struct kv_entry entry_of(unsigned n, uint8_t vlen)
{
	struct kv_entry e;

	memset(&e, 0, sizeof(e));
	e.used = 1;
	e.klen = (uint8_t)(1 + n % KV_KEY_MAX);
	e.vlen = vlen;
	for (unsigned i = 0; i < e.klen; i++)
		e.key[i] = (char)('a' + (n + i) % 26);
	for (unsigned i = 0; i < vlen; i++)
		e.val[i] = (char)(n * 7 + i);
	return e;
}

/* Slot of the k-th entry of a filled table: spread over the table. */
static uint32_t slot_of(unsigned k)
{
	return (k * 17 + 3) % KV_ENTRIES;
}

/* A table of generation GEN holding FILLED entries, made by ids 1..FILLED. */
static void fill(struct kv_stash *st)
{
	kv_stash_init(st, GEN, KV_WHY_NONE);
	for (unsigned k = 0; k < FILLED; k++) {
		struct kv_entry e = entry_of(k, (uint8_t)(k * 5 % (KV_VAL_MAX + 1)));

		assert_true(kv_change(st, slot_of(k), &e, k + 1));
	}
}

/* Whether a and b hold the same table (what an answer rests on). */
static bool same_table(const struct kv_stash *a, const struct kv_stash *b)
{
	return memcmp(a->table, b->table, sizeof(a->table)) == 0 &&
	       memcmp(a->hash, b->hash, sizeof(a->hash)) == 0 && a->count == b->count &&
	       a->sum == b->sum && a->gen == b->gen && kv_gen_ok(a);
}

static void test_layout_and_hash(void **state)
{
	struct kv_entry e;

	(void)state;
	memset(&e, 0, sizeof(e));
	/* kv_slot_hash is part of the format too: values of KV_VERSION 3 to 5. */
	assert_true(kv_slot_hash(0, &e) == 0x35da762063936645ull);
	e.used = 1;
	e.klen = 3;
	e.vlen = 2;
	memcpy(e.key, "abc", 3);
	memcpy(e.val, "xy", 2);
	assert_true(kv_slot_hash(7, &e) == 0xc36158bba3c44667ull);
	assert_true(KV_MAGIC == 0x31766b6174736576ull && KV_VERSION == 5);
}

static struct kv_stash st, t;

static void test_new_init_and_magic(void **state)
{
	(void)state;
	memset(&st, 0, sizeof(st));
	assert_int_equal(kv_stash_check(&st), KV_WHY_NEW);
	kv_stash_init(&st, GEN, KV_WHY_NEW);
	assert_int_equal(kv_unposted(&st), KV_WHY_NEW);
	kv_posted(&st);
	assert_int_equal(kv_unposted(&st), KV_WHY_NONE);
	assert_int_equal(kv_stash_check(&st), KV_WHY_NONE);
	assert_int_equal(st.count, 0);
	st.version = 4; /* the last layout with a redo record */
	assert_int_equal(kv_stash_check(&st), KV_WHY_MAGIC);
	st.version = KV_VERSION;
	st.magic ^= 1ull << 40;
	assert_int_equal(kv_stash_check(&st), KV_WHY_MAGIC);
	assert_string_equal(kv_why_names[KV_WHY_RUNTIME], "runtime");
	assert_string_equal(kv_why_names[KV_WHY_COUNT], "count");
}

/* A death anywhere in making a new table over an old one: "new" until the
 * magic is written last, then the empty table. */
static void test_death_in_init(void **state)
{
	static struct snaps sn;

	(void)state;
	fill(&st);
	record(&st, &sn);
	kv_stash_init(&st, GEN + 1, KV_WHY_RUNTIME);
	stop_recording();
	assert_int_equal(sn.n, 3);
	for (int k = 0; k < sn.n; k++) {
		t = sn.s[k];
		assert_int_equal(kv_stash_check(&t), k < 2 ? KV_WHY_NEW : KV_WHY_NONE);
	}
	assert_int_equal(t.count, 0);
	assert_true(t.gen == GEN + 1);
}

static void test_changes(void **state)
{
	struct kv_entry e = entry_of(99, 10), empty;
	int i;

	(void)state;
	memset(&empty, 0, sizeof(empty));
	fill(&st);
	assert_int_equal(st.count, FILLED);
	assert_int_equal(kv_table_problem(&st), KV_WHY_NONE);
	assert_int_equal(kv_find(&st, e.key, e.klen), -1);
	i = kv_find_free(&st);
	assert_true(i >= 0 && st.table[i].used == 0);
	assert_true(kv_change(&st, (uint32_t)i, &e, 100));
	assert_int_equal(kv_find(&st, e.key, e.klen), i);
	assert_int_equal(st.count, FILLED + 1);
	assert_true(kv_replayed(&st, 100));
	assert_false(kv_replayed(&st, 99));
	assert_true(kv_change(&st, (uint32_t)i, &empty, 101));
	assert_int_equal(kv_find(&st, e.key, e.klen), -1);
	assert_int_equal(st.count, FILLED);
	assert_int_equal(kv_stash_check(&st), KV_WHY_NONE);
	/* A slot that does not match its hash is not changed. */
	st.table[slot_of(2)].val[0] ^= 4;
	t = st;
	assert_false(kv_change(&st, slot_of(2), &e, 102));
	assert_memory_equal(&st, &t, sizeof(st));
	assert_int_equal(kv_table_problem(&st), KV_WHY_CHECKSUM);
	st.table[slot_of(2)].val[0] ^= 4;
	st.count++;
	assert_int_equal(kv_table_problem(&st), KV_WHY_COUNT);
}

/*
 * What a start would make of a stash s holding the change of id that
 * turns `before` into `after` cut short (the window undoes it; this is the
 * checks' second line): reported, or exactly before with id not taken for
 * a replay, or exactly after.
 */
static void assert_cut_short_safe(const struct kv_stash *s, const struct kv_stash *before,
				  const struct kv_stash *after, uint64_t id)
{
	static struct kv_stash r;

	r = *s;
	if (kv_stash_check(&r) != KV_WHY_NONE)
		return;
	if (same_table(&r, before) && !kv_replayed(&r, id))
		return;
	assert_true(same_table(&r, after));
}

/* Whether a and b differ in more than one aligned 8-byte word: a store
 * the CPU may be stopped in the middle of (a struct copy). */
static bool tearable(const struct kv_stash *a, const struct kv_stash *b)
{
	const uint8_t *pa = (const uint8_t *)a, *pb = (const uint8_t *)b;
	size_t first = sizeof(*a), last = 0;

	for (size_t j = 0; j < sizeof(*a); j++) {
		if (pa[j] != pb[j]) {
			first = j < first ? j : first;
			last = j;
		}
	}
	return first < sizeof(*a) && first / 8 != last / 8;
}

/*
 * A struct copy between snapshots a and b cut short: their differing
 * bytes, the first n of them taken from b, for every n, in ascending and
 * in descending address order (rep movsb may stop after any byte). An
 * aligned scalar store is never torn.
 */
static void assert_torn_safe(const struct kv_stash *a, const struct kv_stash *b,
			     const struct kv_stash *before, const struct kv_stash *after,
			     uint64_t id)
{
	static struct kv_stash m;
	const uint8_t *pa = (const uint8_t *)a, *pb = (const uint8_t *)b;

	if (!tearable(a, b))
		return;
	for (int dir = 0; dir < 2; dir++) {
		m = *a;
		for (size_t j = 0; j < sizeof(m); j++) {
			size_t at = dir ? sizeof(m) - 1 - j : j;

			if (pa[at] == pb[at])
				continue;
			((uint8_t *)&m)[at] = pb[at];
			assert_cut_short_safe(&m, before, after, id);
		}
	}
}

/*
 * The change of slot to *e with id, made to a filled table, cut short
 * after each of its stores and in the middle of each: never taken for
 * another table. Its first store alone (the slot, not its hash) is
 * reported, and the whole change holds after and is recognised as a
 * replay.
 */
static void check_cut_short(uint32_t slot, const struct kv_entry *e, uint64_t id)
{
	static struct kv_stash before, after, r;
	static struct snaps sn;

	fill(&st);
	before = st;
	record(&st, &sn);
	assert_true(kv_change(&st, slot, e, id));
	stop_recording();
	after = st;
	/* svc/kv/crashhook.c names a death point after each of them. */
	assert_int_equal(sn.n, KV_CHANGE_STORES);
	assert_false(same_table(&before, &after));
	r = sn.s[0];
	assert_int_equal(kv_stash_check(&r), KV_WHY_CHECKSUM);
	assert_torn_safe(&before, &sn.s[0], &before, &after, id);
	for (int k = 0; k < sn.n; k++) {
		assert_cut_short_safe(&sn.s[k], &before, &after, id);
		if (k + 1 < sn.n)
			assert_torn_safe(&sn.s[k], &sn.s[k + 1], &before, &after, id);
	}
	r = after;
	assert_int_equal(kv_stash_check(&r), KV_WHY_NONE);
	assert_true(same_table(&r, &after) && kv_replayed(&r, id));
}

static void test_cut_short_insert(void **state)
{
	struct kv_entry e = entry_of(200, KV_VAL_MAX);

	(void)state;
	fill(&st);
	check_cut_short((uint32_t)kv_find_free(&st), &e, 1000);
}

static void test_cut_short_overwrite(void **state)
{
	struct kv_entry e = entry_of(3, 77);

	(void)state;
	check_cut_short(slot_of(3), &e, 1001);
}

static void test_cut_short_delete(void **state)
{
	struct kv_entry empty;

	(void)state;
	memset(&empty, 0, sizeof(empty));
	check_cut_short(slot_of(FILLED - 1), &empty, 1002);
}

/*
 * Whether a flipped bit at byte `at` of a stash may leave it usable: it is
 * in a field that no answer rests on. last_id/last_inv: only replays are
 * no longer recognised (table.h). unposted: one flip is outvoted
 * (test_unposted_flip_is_outvoted checks it is set right).
 */
static bool may_keep(size_t at)
{
	if (at >= offsetof(struct kv_stash, last_id) && at < offsetof(struct kv_stash, gen))
		return true;
	return at >= offsetof(struct kv_stash, unposted) && at < offsetof(struct kv_stash, pad);
}

/* Flip bit `bit` of the stash clean (whose start-up check gives want) and
 * check it is reported, or kept exactly as want. */
static void flip_one(const struct kv_stash *clean, const struct kv_stash *want, size_t bit)
{
	size_t at = bit / 8;

	t = *clean;
	((uint8_t *)&t)[at] ^= (uint8_t)(1u << (bit % 8));
	if (kv_stash_check(&t) != KV_WHY_NONE)
		return; /* reported */
	if (!may_keep(at) || !same_table(&t, want))
		fail_msg("bit %zu (byte %zu) flipped and kept: taken for valid data", bit, at);
}

/* Every bit of the byte range [from, to) of the stash, flipped in turn. */
static void flip_range(const struct kv_stash *clean, const struct kv_stash *want, size_t from,
		       size_t to)
{
	for (size_t bit = from * 8; bit < to * 8; bit++)
		flip_one(clean, want, bit);
}

/*
 * Every bit of every structure in the stash: the header, slots (first,
 * last, used, unused) and their hash words. The slots all pass through
 * the same code, and a start-up check hashes the whole table, so one bit
 * of each other slot and hash word is flipped, not all of them (that
 * would be 700k checks).
 */
static void flip_all(const struct kv_stash *clean)
{
	static struct kv_stash want;
	const uint32_t slots[] = { 0, slot_of(4), slot_of(4) + 1, KV_ENTRIES - 1 };

	want = *clean;
	assert_int_equal(kv_stash_check(&want), KV_WHY_NONE);
	flip_range(clean, &want, 0, offsetof(struct kv_stash, table));
	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		size_t e = offsetof(struct kv_stash, table) + slots[i] * sizeof(struct kv_entry);
		size_t h = offsetof(struct kv_stash, hash) + slots[i] * sizeof(uint64_t);

		flip_range(clean, &want, e, e + sizeof(struct kv_entry));
		flip_range(clean, &want, h, h + sizeof(uint64_t));
	}
	for (uint32_t i = 0; i < KV_ENTRIES; i++) {
		size_t e = offsetof(struct kv_stash, table) + i * sizeof(struct kv_entry);
		size_t h = offsetof(struct kv_stash, hash) + i * sizeof(uint64_t);

		flip_one(clean, &want, e * 8 + i % (8 * sizeof(struct kv_entry)));
		flip_one(clean, &want, h * 8 + i % 64);
	}
}

static void test_every_flip(void **state)
{
	static struct kv_stash clean;

	(void)state;
	fill(&clean);
	flip_all(&clean);
}

/*
 * A flipped bit in `unposted` (whether the table's kv_reset is still to be
 * posted) is outvoted and repaired at start: the table is kept, and the
 * event is posted exactly when it was due, never for a table kv kept.
 */
static void check_unposted_flips(enum kv_why why)
{
	static struct kv_stash clean;
	size_t at = offsetof(struct kv_stash, unposted);

	kv_stash_init(&clean, GEN, why);
	for (unsigned k = 0; k < FILLED; k++) {
		struct kv_entry e = entry_of(k, 9);

		assert_true(kv_change(&clean, slot_of(k), &e, k + 1));
	}
	for (size_t bit = at * 8; bit < (at + sizeof(clean.unposted)) * 8; bit++) {
		t = clean;
		((uint8_t *)&t)[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(kv_unposted(&t), why); /* as kv reads it while serving */
		assert_int_equal(kv_stash_check(&t), KV_WHY_NONE);
		assert_true(same_table(&t, &clean));
		assert_int_equal(t.unposted, clean.unposted); /* repaired */
	}
}

static void test_unposted_flip_is_outvoted(void **state)
{
	(void)state;
	check_unposted_flips(KV_WHY_NONE);
	check_unposted_flips(KV_WHY_CHECKSUM);
	/* Two flips in two bytes leave no majority: a corruption, reported. */
	t.unposted ^= 0x0404;
	assert_int_equal(kv_unposted(&t), KV_WHY_N);
	assert_int_equal(kv_stash_check(&t), KV_WHY_CORRUPT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_and_hash),
		cmocka_unit_test(test_new_init_and_magic),
		cmocka_unit_test(test_death_in_init),
		cmocka_unit_test(test_changes),
		cmocka_unit_test(test_cut_short_insert),
		cmocka_unit_test(test_cut_short_overwrite),
		cmocka_unit_test(test_cut_short_delete),
		cmocka_unit_test(test_every_flip),
		cmocka_unit_test(test_unposted_flip_is_outvoted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
