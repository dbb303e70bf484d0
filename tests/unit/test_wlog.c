/*
 * Unit tests for tools/wlog.c, the reader of QEMU's blklogwrites log that
 * tools/crashstates builds crash disks from: logs built here byte by byte
 * (writes, flushes, a discard, entries past the superblock's count, cut
 * and malformed logs) and the replay of whole and torn writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wlog.h"

#define SS 512u

/* A log under construction: the superblock, then entries appended. */
struct blog {
	uint8_t b[64 * SS];
	size_t len;
	uint64_t n;
};

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void blog_init(struct blog *l)
{
	memset(l, 0, sizeof(*l));
	put64(l->b, WLOG_MAGIC);
	put64(l->b + 8, 1);
	put64(l->b + 24, SS); /* 32-bit field, upper bytes zero */
	l->len = SS;
}

/* Appends an entry; data sectors are filled with fill + their index.
 * counted: whether the superblock's nr_entries covers it. */
static void blog_add(struct blog *l, uint64_t sector, uint64_t nr, uint64_t flags, uint8_t fill,
		     int counted)
{
	uint8_t *e = l->b + l->len;

	put64(e, sector);
	put64(e + 8, nr);
	put64(e + 16, flags);
	l->len += SS;
	if (!(flags & WLOG_DISCARD))
		for (uint64_t j = 0; j < nr; j++, l->len += SS)
			memset(l->b + l->len, fill + (int)j, SS);
	if (counted)
		put64(l->b + 16, ++l->n);
}

static void test_writes_and_flushes(void **state)
{
	struct blog l;
	struct wlog w;
	char err[128];

	(void)state;
	blog_init(&l);
	blog_add(&l, 0, 1, 0, 0x10, 1);
	blog_add(&l, 0, 0, WLOG_FLUSH, 0, 1);
	blog_add(&l, 4, 2, 0, 0x20, 1);
	blog_add(&l, 8, 1, 0, 0x30, 1);
	blog_add(&l, 0, 0, WLOG_FLUSH, 0, 1);
	blog_add(&l, 2, 1, 0, 0x40, 0); /* after the last flush: uncounted */
	assert_int_equal(wlog_parse(l.b, sizeof(l.b), &w, err, sizeof(err)), 0);
	assert_int_equal(w.sectorsize, SS);
	assert_int_equal(w.nr_entries, 5);
	assert_int_equal(w.n, 6);
	assert_int_equal(w.flushes, 2);
	assert_int_equal(w.writes, 4);
	assert_int_equal(wlog_flush_at(&w, 1), 1);
	assert_int_equal(wlog_flush_at(&w, 2), 4);
	assert_int_equal(wlog_flush_at(&w, 3), 6);
	assert_true(wlog_is_write(&w, 2));
	assert_false(wlog_is_write(&w, 1));
	assert_int_equal(w.e[2].sector, 4);
	assert_int_equal(w.e[2].nr_sectors, 2);
	assert_int_equal(l.b[w.e[2].data], 0x20);
	assert_int_equal(l.b[w.e[2].data + SS], 0x21);
	wlog_free(&w);
}

static void test_apply_whole_and_torn(void **state)
{
	struct blog l;
	struct wlog w;
	char err[128];
	uint8_t disk[16 * SS] = { 0 }, keep = 0x2; /* sector 1 of 3 only */

	(void)state;
	blog_init(&l);
	blog_add(&l, 3, 3, 0, 0x50, 1);
	blog_add(&l, 4, 1, WLOG_DISCARD, 0, 1);
	blog_add(&l, 15, 2, 0, 0x60, 1); /* runs past a 16-sector disk */
	assert_int_equal(wlog_parse(l.b, sizeof(l.b), &w, err, sizeof(err)), 0);
	assert_int_equal(w.n, 3);
	assert_int_equal(wlog_apply(&w, l.b, 0, &keep, disk, sizeof(disk)), 0);
	assert_int_equal(disk[3 * SS], 0);
	assert_int_equal(disk[4 * SS], 0x51);
	assert_int_equal(disk[5 * SS], 0);
	assert_int_equal(wlog_apply(&w, l.b, 0, NULL, disk, sizeof(disk)), 0);
	assert_int_equal(disk[3 * SS], 0x50);
	assert_int_equal(disk[5 * SS + SS - 1], 0x52);
	assert_int_equal(wlog_apply(&w, l.b, 1, NULL, disk, sizeof(disk)), 0);
	assert_int_equal(disk[4 * SS], 0);
	assert_int_equal(disk[5 * SS], 0x52);
	assert_int_equal(wlog_apply(&w, l.b, 2, NULL, disk, sizeof(disk)), -1);
	wlog_free(&w);
}

static void test_bad_logs(void **state)
{
	struct blog l;
	struct wlog w;
	char err[128];

	(void)state;
	blog_init(&l);
	blog_add(&l, 0, 4, 0, 1, 1);
	/* The superblock counts an entry whose data the file does not hold. */
	assert_int_equal(wlog_parse(l.b, 3 * SS, &w, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "entry 0"));
	assert_int_equal(wlog_parse(l.b, 20, &w, err, sizeof(err)), -1);
	l.b[0] ^= 1;
	assert_int_equal(wlog_parse(l.b, l.len, &w, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "magic"));
	l.b[0] ^= 1;
	put64(l.b + SS + 16, 0x80); /* an unknown flag */
	assert_int_equal(wlog_parse(l.b, l.len, &w, err, sizeof(err)), -1);
	put64(l.b + SS + 16, 0);
	put64(l.b + 24, 300); /* not a power of two */
	assert_int_equal(wlog_parse(l.b, l.len, &w, err, sizeof(err)), -1);
}

static void test_empty_log(void **state)
{
	struct blog l;
	struct wlog w;
	char err[128];

	(void)state;
	blog_init(&l);
	assert_int_equal(wlog_parse(l.b, sizeof(l.b), &w, err, sizeof(err)), 0);
	assert_int_equal(w.n, 0);
	assert_int_equal(wlog_flush_at(&w, 1), 0);
	wlog_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writes_and_flushes),
		cmocka_unit_test(test_apply_whole_and_torn),
		cmocka_unit_test(test_bad_logs),
		cmocka_unit_test(test_empty_log),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
