/*
 * libFuzzer target for kv's log on a disk (svc/kv/dlog.c): the input is a
 * disk's contents (zeros after it, up to DLOG_MIN_SECTORS), and dlog_open
 * over it must not crash, hang, leak or read out of bounds, whatever the
 * disk holds. When it reads the disk back (DLOG_OK), an append, a sync and
 * a second open must give back what the first read plus the new record.
 *
 * The seeds (tests/unit/fixtures/dlog) are formatted disks with
 * checkpoints and logs, cut after their last nonzero sector; test_dlog
 * writes them when DLOG_FUZZ_SEEDS names a directory.
 *
 *	make build/fuzz/fuzz_dlog
 *	build/fuzz/fuzz_dlog -max_total_time=60 -dict=tests/unit/fuzz_dlog.dict \
 *		build/fuzz/corpus-dlog tests/unit/fixtures/dlog
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlog.h"

#define SEC DLOG_SECTOR
#define DISK_SECTORS DLOG_MIN_SECTORS

static uint8_t disk[DISK_SECTORS * SEC];

static void check(bool ok)
{
	if (!ok)
		abort();
}

static int d_read(void *ctx, uint64_t sector, void *buf, uint32_t count)
{
	(void)ctx;
	check(count > 0 && sector < DISK_SECTORS && count <= DISK_SECTORS - sector);
	memcpy(buf, disk + sector * SEC, (size_t)count * SEC);
	return 0;
}

static int d_write(void *ctx, uint64_t sector, const void *buf, uint32_t count)
{
	(void)ctx;
	check(count > 0 && sector < DISK_SECTORS && count <= DISK_SECTORS - sector);
	memcpy(disk + sector * SEC, buf, (size_t)count * SEC);
	return 0;
}

static int d_flush(void *ctx)
{
	(void)ctx;
	return 0;
}

static const struct dlog_dev dev = { NULL, DISK_SECTORS, d_read, d_write, d_flush };

/* What a reading gave: a hash chain over the records, and their count. */
struct sum {
	uint64_t n, h;
};

static int sum_rec(void *ctx, const uint8_t *rec, size_t n, bool in_ckpt)
{
	struct sum *s = ctx;

	s->h = s->h * 1000003u ^ (n + in_ckpt);
	for (size_t i = 0; i < n; i++)
		s->h = (s->h ^ rec[i]) * 1099511628211ull;
	s->n++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char rec[] = "fuzz-appended record";
	struct dlog d;
	struct dlog_report rep;
	struct sum first = { 0, 0 }, second = { 0, 0 };
	struct dlog_part part = { rec, sizeof(rec) };

	if (size > sizeof(disk))
		size = sizeof(disk);
	memcpy(disk, data, size);
	memset(disk + size, 0, sizeof(disk) - size);
	check(dlog_open(&d, &dev, sum_rec, &first, &rep) == 0);
	check(rep.state != DLOG_OK || rep.records == first.n);
	if (rep.state != DLOG_OK || dlog_append(&d, &part, 1) != 0) {
		dlog_close(&d);
		return 0;
	}
	check(dlog_sync(&d) == 0);
	dlog_close(&d);
	/* The first reading, then the new record. */
	sum_rec(&first, (const uint8_t *)rec, sizeof(rec), false);
	check(dlog_open(&d, &dev, sum_rec, &second, &rep) == 0);
	check(rep.state == DLOG_OK && second.n == first.n && second.h == first.h);
	dlog_close(&d);
	return 0;
}
