/*
 * The workload's record copies (svc/workload/record.c): a death at any
 * point of a commit, and any one bit flipped anywhere in the stash, must
 * leave a pick that never goes back to an older commit silently: either
 * the newest complete commit, or CHECKSUM (the newest is gone, and the
 * workload then treats every key as unknown).
 */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "record.h"

static struct wl_stash st;

/* A record whose content says which commit it is. */
static struct wl_record rec_of(uint64_t seq)
{
	struct wl_record r;

	memset(&r, 0, sizeof(r));
	r.next_seq = 1000 + seq;
	r.ok = seq * 7;
	for (unsigned i = 0; i < WL_KEYS; i++)
		r.keys[i].seq = seq * 100 + i;
	return r;
}

/* Commits 1..n as the workload makes them: into the older copy. */
static unsigned commit_to(uint64_t n)
{
	unsigned cur = 0;

	memset(&st, 0, sizeof(st));
	for (uint64_t seq = 1; seq <= n; seq++) {
		struct wl_record r = rec_of(seq);

		cur = 1 - cur;
		wl_copy_write(&st.copy[cur], &r, seq);
	}
	return cur; /* the copy holding commit n */
}

static void assert_picks(enum wl_pick want, unsigned want_copy)
{
	unsigned i = 99;

	assert_int_equal(wl_pick(&st, &i), want);
	assert_int_equal(i, want_copy);
}

static void test_new_and_lost(void **state)
{
	unsigned i;

	(void)state;
	memset(&st, 0, sizeof(st));
	assert_int_equal(wl_pick(&st, &i), WL_PICK_NEW);
	commit_to(2);
	st.copy[0].rec.ok ^= 1;
	st.copy[1].rec.ok ^= 1;
	assert_int_equal(wl_pick(&st, &i), WL_PICK_LOST);
}

static void test_newest_wins(void **state)
{
	(void)state;
	for (uint64_t n = 2; n < 6; n++) {
		unsigned cur = commit_to(n);

		assert_picks(WL_PICK_OK, cur);
		assert_int_equal(wl_copy_seq(&st.copy[cur], &st.copy[cur].rec), n);
	}
}

/* A death after each byte of commit 4 into the copy holding commit 2:
 * until the commit is complete (its sum written) commit 3 is the truth,
 * after it commit 4; never CHECKSUM, nothing is lost. */
static void test_death_mid_commit(void **state)
{
	(void)state;
	unsigned cur = commit_to(3);
	struct wl_copy before = st.copy[1 - cur], after;
	struct wl_record r4 = rec_of(4);
	size_t sum_end = offsetof(struct wl_copy, sum) + sizeof(after.sum);

	after.begin = 4;
	after.rec = r4;
	after.sum = wl_rec_sum(&r4, 4);
	after.seq = 4;
	for (size_t n = 0; n <= sizeof(after); n++) {
		memcpy(&st.copy[1 - cur], &before, sizeof(before));
		memcpy(&st.copy[1 - cur], &after, n);
		assert_picks(WL_PICK_OK, n < sum_end ? cur : 1 - cur);
	}
}

/* Every single bit flipped in either copy: the newest commit is kept
 * whenever it can still be checked, and a damaged newest copy is
 * reported, never passed off as a commit cut short. */
static void test_every_flip(void **state)
{
	(void)state;
	unsigned cur = commit_to(5);
	struct wl_stash clean = st;
	size_t sum_end = offsetof(struct wl_copy, sum) + sizeof(uint64_t);
	int checksums = 0;

	for (unsigned copy = 0; copy < 2; copy++) {
		for (size_t bit = 0; bit < sizeof(struct wl_copy) * 8; bit++) {
			uint8_t *b = (uint8_t *)&st.copy[copy];
			size_t byte = bit / 8;
			bool in_body = byte >= offsetof(struct wl_copy, rec) && byte < sum_end;

			st = clean;
			b[byte] ^= (uint8_t)(1u << (bit % 8));
			if (copy == cur && in_body) {
				assert_picks(WL_PICK_CHECKSUM, 1 - cur);
				checksums++;
			} else {
				assert_picks(WL_PICK_OK, cur);
			}
		}
	}
	assert_int_equal(checksums, (int)(sum_end - offsetof(struct wl_copy, rec)) * 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_and_lost),
		cmocka_unit_test(test_newest_wins),
		cmocka_unit_test(test_death_mid_commit),
		cmocka_unit_test(test_every_flip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
