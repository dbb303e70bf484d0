/*
 * kv's table in its stash (svc/kv/table.c): a death after any store of a
 * change, or in the middle of one, must leave a stash that the next start
 * checks and finds holding the table either as it was before the change or
 * as it is after it, never in between, and after it whenever the redo
 * record was armed (the redo finishes it, also when a death cuts the redo
 * short). A flipped bit anywhere in the stored structures must be
 * reported, never taken for valid data. And the layout is the stash
 * format: a kv restarted from an older one's stash reads it.
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

/* The stash format as kv has written it since KV_VERSION 3 (4 changed
 * only what unposted holds): these may only change together with the
 * version. */
_Static_assert(sizeof(struct kv_entry) == 164, "entry layout");
_Static_assert(sizeof(struct kv_redo) == 216, "redo layout");
_Static_assert(offsetof(struct kv_redo, slot) == 40 && offsetof(struct kv_redo, entry) == 48,
	       "redo layout");
_Static_assert(offsetof(struct kv_stash, unposted) == 56 && offsetof(struct kv_stash, redo) == 64,
	       "stash layout");
_Static_assert(offsetof(struct kv_stash, table) == 280 && offsetof(struct kv_stash, hash) == 84248,
	       "stash layout");
_Static_assert(sizeof(struct kv_stash) == 88344, "stash layout");

#define GEN 0x5f0e3a91c2d4b786ull
#define FILLED 30	 /* entries in the table a change is made to */
#define MAX_SNAPS 24	 /* stash snapshots one change or redo can take */
#define CHANGE_STORES 15 /* fences of kv_change; svc/kv/crashhook.c counts on it */

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
	/* kv_slot_hash is part of the format too: values of KV_VERSION 3 and 4. */
	assert_true(kv_slot_hash(0, &e) == 0x35da762063936645ull);
	e.used = 1;
	e.klen = 3;
	e.vlen = 2;
	memcpy(e.key, "abc", 3);
	memcpy(e.val, "xy", 2);
	assert_true(kv_slot_hash(7, &e) == 0xc36158bba3c44667ull);
	assert_true(KV_MAGIC == 0x31766b6174736576ull && KV_VERSION == 4);
}

static struct kv_stash st, t;

static void test_new_init_and_magic(void **state)
{
	bool redone;

	(void)state;
	memset(&st, 0, sizeof(st));
	assert_int_equal(kv_stash_check(&st, &redone), KV_WHY_NEW);
	kv_stash_init(&st, GEN, KV_WHY_NEW);
	assert_int_equal(kv_unposted(&st), KV_WHY_NEW);
	kv_posted(&st);
	assert_int_equal(kv_unposted(&st), KV_WHY_NONE);
	assert_int_equal(kv_stash_check(&st, &redone), KV_WHY_NONE);
	assert_false(redone);
	assert_int_equal(st.count, 0);
	st.version = 2;
	assert_int_equal(kv_stash_check(&st, &redone), KV_WHY_MAGIC);
	st.version = KV_VERSION;
	st.magic ^= 1ull << 40;
	assert_int_equal(kv_stash_check(&st, &redone), KV_WHY_MAGIC);
	assert_string_equal(kv_why_names[KV_WHY_RUNTIME], "runtime");
	assert_string_equal(kv_why_names[KV_WHY_COUNT], "count");
}

/* A death anywhere in making a new table over an old one: "new" until the
 * magic is written last, then the empty table. */
static void test_death_in_init(void **state)
{
	static struct snaps sn;
	bool redone;

	(void)state;
	fill(&st);
	record(&st, &sn);
	kv_stash_init(&st, GEN + 1, KV_WHY_RUNTIME);
	stop_recording();
	assert_int_equal(sn.n, 3);
	for (int k = 0; k < sn.n; k++) {
		t = sn.s[k];
		assert_int_equal(kv_stash_check(&t, &redone), k < 2 ? KV_WHY_NEW : KV_WHY_NONE);
	}
	assert_int_equal(t.count, 0);
	assert_true(t.gen == GEN + 1);
}

static void test_changes(void **state)
{
	struct kv_entry e = entry_of(99, 10), empty;
	bool redone;
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
	assert_int_equal(kv_stash_check(&st, &redone), KV_WHY_NONE);
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
 * What the next start makes of a stash s that a death left while a change
 * of id turned `before` into `after`: it checks out, holds exactly after
 * if want_after (else exactly before), recognises id as a replay exactly
 * when after, and says it redid a change exactly when s was armed.
 */
static void assert_recovers(const struct kv_stash *s, const struct kv_stash *before,
			    const struct kv_stash *after, bool want_after, uint64_t id)
{
	static struct kv_stash r;
	bool redone;

	r = *s;
	assert_int_equal(kv_stash_check(&r, &redone), KV_WHY_NONE);
	assert_true(same_table(&r, want_after ? after : before));
	assert_int_equal(kv_replayed(&r, id), want_after);
	assert_int_equal(redone, s->redo.armed == 1);
	assert_int_equal(r.redo.armed, 0);
}

/* A death after each store of the redo that a start makes of the armed
 * stash s: the next start still finishes the change. */
static void assert_redo_survives_death(const struct kv_stash *s, const struct kv_stash *before,
				       const struct kv_stash *after, uint64_t id)
{
	static struct snaps sn;
	static struct kv_stash r;
	bool redone;

	r = *s;
	record(&r, &sn);
	assert_int_equal(kv_stash_check(&r, &redone), KV_WHY_NONE);
	stop_recording();
	assert_true(sn.n >= 6);
	for (int k = 0; k < sn.n; k++)
		assert_recovers(&sn.s[k], before, after, sn.s[k].redo.armed == 1 || k == sn.n - 1,
				id);
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
 * A death in the middle of a struct copy between snapshots a and b: their
 * differing bytes, the first n of them taken from b, for every n, in
 * ascending and in descending address order (rep movsb may stop after any
 * byte). An aligned scalar store is never torn.
 */
static void assert_torn_recover(const struct kv_stash *a, const struct kv_stash *b,
				const struct kv_stash *before, const struct kv_stash *after,
				bool after_seen, uint64_t id)
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
			assert_recovers(&m, before, after, after_seen || m.redo.armed == 1, id);
		}
	}
}

/* Every death point of the change of slot to *e with id, made to a filled
 * table. */
static void check_death_points(uint32_t slot, const struct kv_entry *e, uint64_t id)
{
	static struct kv_stash before, after;
	static struct snaps sn;
	bool after_seen = false;

	fill(&st);
	before = st;
	record(&st, &sn);
	assert_true(kv_change(&st, slot, e, id));
	stop_recording();
	after = st;
	assert_int_equal(sn.n, CHANGE_STORES);
	assert_false(same_table(&before, &after));
	assert_recovers(&before, &before, &after, false, id);
	assert_torn_recover(&before, &sn.s[0], &before, &after, false, id);
	for (int k = 0; k < sn.n; k++) {
		after_seen = after_seen || sn.s[k].redo.armed == 1;
		assert_recovers(&sn.s[k], &before, &after, after_seen, id);
		if (sn.s[k].redo.armed == 1)
			assert_redo_survives_death(&sn.s[k], &before, &after, id);
		if (k + 1 < sn.n)
			assert_torn_recover(&sn.s[k], &sn.s[k + 1], &before, &after, after_seen,
					    id);
	}
	assert_true(after_seen);
}

static void test_death_in_insert(void **state)
{
	struct kv_entry e = entry_of(200, KV_VAL_MAX);

	(void)state;
	fill(&st);
	check_death_points((uint32_t)kv_find_free(&st), &e, 1000);
}

static void test_death_in_overwrite(void **state)
{
	struct kv_entry e = entry_of(3, 77);

	(void)state;
	check_death_points(slot_of(3), &e, 1001);
}

static void test_death_in_delete(void **state)
{
	struct kv_entry empty;

	(void)state;
	memset(&empty, 0, sizeof(empty));
	check_death_points(slot_of(FILLED - 1), &empty, 1002);
}

/*
 * Whether a flipped bit at byte `at` of a stash may leave it usable: it is
 * in a field that no answer rests on. last_id/last_inv: only replays are
 * no longer recognised (table.h). unposted: one flip is outvoted
 * (test_unposted_flip_is_outvoted checks it is set right). An unarmed redo record is not read; an
 * armed one overwrites its slot, that slot's hash, the count, the sum and
 * the ids, and its tail padding is not read.
 */
static bool may_keep(size_t at, const struct kv_stash *clean)
{
	size_t redo = offsetof(struct kv_stash, redo), slot = clean->redo.slot;
	size_t entry = offsetof(struct kv_stash, table) + slot * sizeof(struct kv_entry);
	size_t hash = offsetof(struct kv_stash, hash) + slot * sizeof(uint64_t);

	if (at >= offsetof(struct kv_stash, last_id) && at < offsetof(struct kv_stash, gen))
		return true;
	if (at >= offsetof(struct kv_stash, unposted) && at < offsetof(struct kv_stash, pad))
		return true;
	if (!clean->redo.armed)
		return at >= redo && at < redo + sizeof(struct kv_redo);
	return (at >= offsetof(struct kv_stash, count) &&
		at < offsetof(struct kv_stash, last_id)) ||
	       (at >= redo + offsetof(struct kv_redo, entry) + sizeof(struct kv_entry) &&
		at < redo + sizeof(struct kv_redo)) ||
	       (at >= entry && at < entry + sizeof(struct kv_entry)) ||
	       (at >= hash && at < hash + sizeof(uint64_t));
}

/*
 * Flip bit `bit` of the stash clean (whose start-up check gives want; before:
 * the table before its armed change, if any) and check it is reported, or
 * kept exactly: as want, or as before when the flip disarmed the record
 * (the change was never acknowledged; its request replays).
 */
static void flip_one(const struct kv_stash *clean, const struct kv_stash *want,
		     const struct kv_stash *before, size_t bit)
{
	size_t at = bit / 8;
	bool redone;

	t = *clean;
	((uint8_t *)&t)[at] ^= (uint8_t)(1u << (bit % 8));
	if (kv_stash_check(&t, &redone) != KV_WHY_NONE)
		return; /* reported */
	if (clean->redo.armed && !t.redo.armed && !redone &&
	    bit == offsetof(struct kv_stash, redo) * 8) {
		assert_true(same_table(&t, before));
		return;
	}
	if (!may_keep(at, clean) || !same_table(&t, want))
		fail_msg("bit %zu (byte %zu) flipped and kept: taken for valid data", bit, at);
}

/* Every bit of the byte range [from, to) of the stash, flipped in turn. */
static void flip_range(const struct kv_stash *clean, const struct kv_stash *want,
		       const struct kv_stash *before, size_t from, size_t to)
{
	for (size_t bit = from * 8; bit < to * 8; bit++)
		flip_one(clean, want, before, bit);
}

/*
 * Every bit of every structure in the stash: the header, the redo record,
 * slots (first, last, used, unused, the redo's) and their hash words. The
 * slots all pass through the same code, and a start-up check hashes the
 * whole table, so one bit of each other slot and hash word is flipped,
 * not all of them (that would be 700k checks).
 */
static void flip_all(const struct kv_stash *clean, const struct kv_stash *before)
{
	static struct kv_stash want;
	const uint32_t slots[] = { 0, slot_of(4), slot_of(4) + 1, clean->redo.slot,
				   KV_ENTRIES - 1 };
	bool redone;

	want = *clean;
	assert_int_equal(kv_stash_check(&want, &redone), KV_WHY_NONE);
	flip_range(clean, &want, before, 0, offsetof(struct kv_stash, table));
	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		size_t e = offsetof(struct kv_stash, table) + slots[i] * sizeof(struct kv_entry);
		size_t h = offsetof(struct kv_stash, hash) + slots[i] * sizeof(uint64_t);

		flip_range(clean, &want, before, e, e + sizeof(struct kv_entry));
		flip_range(clean, &want, before, h, h + sizeof(uint64_t));
	}
	for (uint32_t i = 0; i < KV_ENTRIES; i++) {
		size_t e = offsetof(struct kv_stash, table) + i * sizeof(struct kv_entry);
		size_t h = offsetof(struct kv_stash, hash) + i * sizeof(uint64_t);

		flip_one(clean, &want, before, e * 8 + i % (8 * sizeof(struct kv_entry)));
		flip_one(clean, &want, before, h * 8 + i % 64);
	}
}

static void test_every_flip(void **state)
{
	static struct kv_stash clean;

	(void)state;
	fill(&clean);
	flip_all(&clean, &clean);
}

/* The same with a change written and armed, not applied: as a death left
 * it. */
static void test_every_flip_armed(void **state)
{
	static struct kv_stash clean, before;
	struct kv_entry e = entry_of(7, 40);

	(void)state;
	fill(&before);
	clean = before;
	kv_redo_write(&clean, slot_of(7), &e, 500);
	clean.redo.armed = 1;
	flip_all(&clean, &before);
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
	bool redone;

	kv_stash_init(&clean, GEN, why);
	for (unsigned k = 0; k < FILLED; k++) {
		struct kv_entry e = entry_of(k, 9);

		assert_true(kv_change(&clean, slot_of(k), &e, k + 1));
	}
	for (size_t bit = at * 8; bit < (at + sizeof(clean.unposted)) * 8; bit++) {
		t = clean;
		((uint8_t *)&t)[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(kv_unposted(&t), why); /* as kv reads it while serving */
		assert_int_equal(kv_stash_check(&t, &redone), KV_WHY_NONE);
		assert_true(same_table(&t, &clean));
		assert_int_equal(t.unposted, clean.unposted); /* repaired */
	}
}

static void test_unposted_flip_is_outvoted(void **state)
{
	bool redone;

	(void)state;
	check_unposted_flips(KV_WHY_NONE);
	check_unposted_flips(KV_WHY_CHECKSUM);
	/* Two flips in two bytes leave no majority: a corruption, reported. */
	t.unposted ^= 0x0404;
	assert_int_equal(kv_unposted(&t), KV_WHY_N);
	assert_int_equal(kv_stash_check(&t, &redone), KV_WHY_CORRUPT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_and_hash),
		cmocka_unit_test(test_new_init_and_magic),
		cmocka_unit_test(test_death_in_init),
		cmocka_unit_test(test_changes),
		cmocka_unit_test(test_death_in_insert),
		cmocka_unit_test(test_death_in_overwrite),
		cmocka_unit_test(test_death_in_delete),
		cmocka_unit_test(test_every_flip),
		cmocka_unit_test(test_every_flip_armed),
		cmocka_unit_test(test_unposted_flip_is_outvoted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
