/*
 * The durable log of kv's Redis keyspace (svc/kv/rlog.c): records come back
 * in order, across a snapshot; a death before a commit word's store leaves
 * what was there (whatever it had written past the committed bytes); and a
 * flipped bit anywhere in the region is reported or harmless, never read
 * back as a wrong record.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rlog.h"

#define REGION (RLOG_HDR_SIZE + 4 * 4096u) /* snapshot areas of 4 KiB, log 8 KiB */
#define MAXREC 1024

static uint8_t region[REGION];

/* What a replay read. */
struct seen {
	size_t n;
	char rec[MAXREC][64];
};

static int collect(void *ctx, const uint8_t *rec, size_t n)
{
	struct seen *s = ctx;

	assert_true(n < 64 && s->n < MAXREC);
	memcpy(s->rec[s->n], rec, n);
	s->rec[s->n][n] = 0;
	s->n++;
	return 0;
}

static int append_str(struct rlog *l, const char *s)
{
	struct rlog_part p = { s, strlen(s) };
	return rlog_append(l, &p, 1);
}

static int snap_str(struct rlog *l, const char *s)
{
	struct rlog_part p[2] = { { s, 3 }, { s + 3, strlen(s) - 3 } }; /* two parts */
	return rlog_snap_add(l, p, 2);
}

/* Open the region again, as a new incarnation would, and read it. */
static void reopen(struct rlog *l, struct seen *s, struct rlog_report *rep)
{
	memset(s, 0, sizeof(*s));
	assert_int_equal(rlog_open(l, region, REGION, rep), 0);
	assert_int_equal(rlog_replay(l, collect, s, rep), 0);
}

static void test_crc32c(void **state)
{
	(void)state;
	/* The check value of CRC-32C. */
	assert_int_equal(rlog_crc32c(0, "123456789", 9), 0xe3069283u);
	assert_int_equal(rlog_crc32c(rlog_crc32c(0, "1234", 4), "56789", 5), 0xe3069283u);
}

static void test_new_append_replay(void **state)
{
	struct rlog l;
	struct rlog_report rep;
	struct seen s;

	(void)state;
	memset(region, 0, sizeof(region));
	reopen(&l, &s, &rep);
	assert_string_equal(rep.made, "new");
	assert_int_equal(s.n, 0);
	assert_int_equal(append_str(&l, "set a 1"), 0);
	assert_int_equal(append_str(&l, "set b 22"), 0);
	reopen(&l, &s, &rep);
	assert_null(rep.made);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.rec[0], "set a 1");
	assert_string_equal(s.rec[1], "set b 22");
	assert_int_equal(rep.bad_records, 0);
	/* Too small a region is refused. */
	assert_int_equal(rlog_open(&l, region, RLOG_MIN_SIZE - 1, &rep), -1);
	/* Another size than it was made with: made again. */
	assert_int_equal(rlog_open(&l, region, REGION - 4096, &rep), 0);
	assert_string_equal(rep.made, "size");
}

/* A full log refuses a record; a snapshot empties it; a snapshot that
 * does not fit changes nothing. */
static void test_full_and_snapshot(void **state)
{
	struct rlog l;
	struct rlog_report rep;
	struct seen s;
	char buf[64];
	int n = 0;

	(void)state;
	memset(region, 0, sizeof(region));
	reopen(&l, &s, &rep);
	while (snprintf(buf, sizeof(buf), "record %d", n), append_str(&l, buf) == 0)
		n++;
	assert_true(n > 100 && rlog_log_room(&l) < rlog_rec_size(strlen(buf)));
	reopen(&l, &s, &rep);
	assert_int_equal((int)s.n, n);
	/* A snapshot that is too large: nothing changes. */
	rlog_snap_begin(&l);
	while (snap_str(&l, "snapshot record padded to be long enough") == 0)
		;
	assert_int_equal(rlog_snap_commit(&l), -1);
	reopen(&l, &s, &rep);
	assert_int_equal((int)s.n, n);
	/* One that fits replaces snapshot and log. */
	rlog_snap_begin(&l);
	assert_int_equal(snap_str(&l, "snap one"), 0);
	assert_int_equal(snap_str(&l, "snap two"), 0);
	assert_int_equal(rlog_snap_commit(&l), 0);
	assert_int_equal(append_str(&l, "after"), 0);
	reopen(&l, &s, &rep);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.rec[0], "snap one");
	assert_string_equal(s.rec[1], "snap two");
	assert_string_equal(s.rec[2], "after");
	/* And the next goes to the other area. */
	rlog_snap_begin(&l);
	assert_int_equal(snap_str(&l, "snap three"), 0);
	assert_int_equal(rlog_snap_commit(&l), 0);
	reopen(&l, &s, &rep);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.rec[0], "snap three");
}

/* A death before the commit word's store: whatever the dying incarnation
 * wrote past the committed bytes (any prefix of a record, of a snapshot,
 * even a snapshot length) is not read back, and new records replace it. */
static void test_death_before_commit(void **state)
{
	struct rlog l;
	struct rlog_report rep;
	struct seen s;
	static uint8_t before[REGION], after[REGION];

	(void)state;
	memset(region, 0, sizeof(region));
	reopen(&l, &s, &rep);
	assert_int_equal(append_str(&l, "one"), 0);
	memcpy(before, region, REGION);
	assert_int_equal(append_str(&l, "two, a longer record"), 0);
	memcpy(after, region, REGION);
	/* Every byte of the second append landed but the commit word: a death
	 * at each point between them leaves a prefix of those bytes. */
	size_t commit_off = offsetof(struct rlog_hdr, commit);
	for (size_t cut = 0; cut <= REGION; cut += 8) {
		memcpy(region, before, REGION);
		for (size_t i = 0; i < cut; i++)
			if (i < commit_off || i >= commit_off + 8)
				region[i] = after[i];
		reopen(&l, &s, &rep);
		assert_null(rep.made);
		assert_int_equal(s.n, 1);
		assert_string_equal(s.rec[0], "one");
	}
	/* A snapshot written whole, its length too, but not committed. */
	memcpy(region, before, REGION);
	reopen(&l, &s, &rep);
	rlog_snap_begin(&l);
	assert_int_equal(snap_str(&l, "uncommitted"), 0);
	((struct rlog_hdr *)region)->snap_len[!l.live] = l.snap_w;
	reopen(&l, &s, &rep);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.rec[0], "one");
	assert_int_equal(append_str(&l, "three"), 0);
	reopen(&l, &s, &rep);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.rec[1], "three");
}

/* Every bit of a region with a snapshot and a log, flipped one at a time:
 * what is read back is a prefix of the records (never a changed one), a
 * flip inside a record's bytes ends the reading at that record or is
 * reported as the region made again, and after a snapshot of what was
 * read a new record follows it. */
static void test_bit_flips(void **state)
{
	struct rlog l;
	struct rlog_report rep;
	struct seen s, good;
	static uint8_t orig[REGION];
	const char *want[] = { "snap alpha", "snap beta", "log one", "log two two" };

	(void)state;
	memset(region, 0, sizeof(region));
	reopen(&l, &s, &rep);
	rlog_snap_begin(&l);
	assert_int_equal(snap_str(&l, want[0]), 0);
	assert_int_equal(snap_str(&l, want[1]), 0);
	assert_int_equal(rlog_snap_commit(&l), 0);
	assert_int_equal(append_str(&l, want[2]), 0);
	assert_int_equal(append_str(&l, want[3]), 0);
	memcpy(orig, region, REGION);
	reopen(&l, &good, &rep);
	assert_int_equal(good.n, 4);
	for (size_t bit = 0; bit < 8 * (size_t)REGION; bit++) {
		memcpy(region, orig, REGION);
		region[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		reopen(&l, &s, &rep);
		assert_true(s.n <= 4);
		for (size_t i = 0; i < s.n; i++)
			assert_string_equal(s.rec[i], want[i]);
		if (s.n < 4)
			assert_true(rep.made != NULL || rep.bad_records == 1);
		/* After a snapshot of what was read, the region is whole again. */
		size_t kept = s.n;
		if (rep.bad_records) {
			rlog_snap_begin(&l);
			for (size_t i = 0; i < kept; i++)
				assert_int_equal(snap_str(&l, s.rec[i]), 0);
			assert_int_equal(rlog_snap_commit(&l), 0);
		}
		assert_int_equal(append_str(&l, "new"), 0);
		reopen(&l, &s, &rep);
		assert_int_equal(rep.bad_records, 0);
		assert_int_equal(s.n, kept + 1);
		assert_string_equal(s.rec[kept], "new");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c),
		cmocka_unit_test(test_new_append_replay),
		cmocka_unit_test(test_full_and_snapshot),
		cmocka_unit_test(test_death_before_commit),
		cmocka_unit_test(test_bit_flips),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
