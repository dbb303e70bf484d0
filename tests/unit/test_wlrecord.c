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

/* What wl_pick made of the stash at each store barrier of a commit (the
 * build replaces wl_copy_write's barrier with this hook). */
static bool armed; /* only the commit under test is looked at */
static int fences;
static enum wl_pick fence_pick[8];
static unsigned fence_copy[8];
static uint64_t fence_seq[8];

void wl_test_fence(void);
void wl_test_fence(void)
{
	unsigned i = 99;

	if (!armed)
		return;
	assert_true(fences < 8);
	fence_pick[fences] = wl_pick(&st, &i);
	fence_copy[fences] = i;
	fence_seq[fences] = i < 2 ? wl_copy_seq(&st.copy[i], &st.copy[i].rec) : 0;
	fences++;
}

/* A death between any two stores of wl_copy_write itself: commit 3 holds
 * until the sum of commit 4 is in, then commit 4 (in the order the code
 * writes, which the byte-by-byte test above does not see). */
static void test_death_between_stores(void **state)
{
	(void)state;
	unsigned cur = commit_to(3);
	struct wl_record r4 = rec_of(4);

	fences = 0;
	armed = true;
	wl_copy_write(&st.copy[1 - cur], &r4, 4);
	armed = false;
	assert_int_equal(fences, 4); /* after begin, rec, sum, seq */
	for (int k = 0; k < fences; k++) {
		assert_int_equal(fence_pick[k], WL_PICK_OK);
		assert_int_equal(fence_copy[k], k < 2 ? cur : 1 - cur);
		assert_int_equal(fence_seq[k], k < 2 ? 3 : 4);
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

	for (unsigned copy = 0; copy < 2; copy++) {
		for (size_t bit = 0; bit < sizeof(struct wl_copy) * 8; bit++) {
			uint8_t *b = (uint8_t *)&st.copy[copy];
			size_t byte = bit / 8;
			bool in_body = byte >= offsetof(struct wl_copy, rec) && byte < sum_end;

			st = clean;
			b[byte] ^= (uint8_t)(1u << (bit % 8));
			if (copy == cur && in_body) {
				assert_picks(WL_PICK_CHECKSUM, 1 - cur);
				assert_int_equal(
				    wl_copy_seq(&st.copy[1 - cur], &st.copy[1 - cur].rec), 4);
			} else {
				assert_picks(WL_PICK_OK, cur);
				assert_int_equal(wl_copy_seq(&st.copy[cur], &st.copy[cur].rec), 5);
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_and_lost),
		cmocka_unit_test(test_newest_wins),
		cmocka_unit_test(test_death_mid_commit),
		cmocka_unit_test(test_death_between_stores),
		cmocka_unit_test(test_every_flip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
