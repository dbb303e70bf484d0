/*
 * kv's keyspace on a disk (svc/kv/rdisk.c over the engine, rstore and
 * dlog, on a memory disk): what a client was answered survives a power
 * cut (stash and memory gone, the disk as flushed), a stash made anew and
 * a stash that is ahead of the disk; what was not answered may be lost
 * but is never half there; a disk that fails a write refuses writes with
 * Redis' MISCONF until a checkpoint commits; a disk that is not kv's is
 * reported and never written.
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

#include "rdisk.h"
#include "rtable.h"

#define REGION (RLOG_HDR_SIZE + 256 * 4096u)
#define SECTORS_MAX 40960u /* 20 MiB */
static uint32_t SECTORS = SECTORS_MAX;

static uint8_t region[REGION];
static struct kv_stash table; /* the channel table: in the stash too */

/* The memory disk: what is flushed, and what is written but not yet. */
static struct {
	uint8_t *durable, *cache;
	bool fail_write, fail_read;
	int64_t fail_sector; /* a write touching it fails (-1: none) */
	unsigned writes, flushes;
} disk;

static int mem_read(void *ctx, uint64_t sector, void *buf, uint32_t count)
{
	(void)ctx;
	if (disk.fail_read)
		return -5;
	assert_true(sector + count <= SECTORS);
	memcpy(buf, disk.cache + sector * DLOG_SECTOR, (size_t)count * DLOG_SECTOR);
	return 0;
}

static int mem_write(void *ctx, uint64_t sector, const void *buf, uint32_t count)
{
	(void)ctx;
	if (disk.fail_write || (disk.fail_sector >= 0 && (uint64_t)disk.fail_sector >= sector &&
				(uint64_t)disk.fail_sector < sector + count))
		return -5;
	assert_true(sector + count <= SECTORS);
	memcpy(disk.cache + sector * DLOG_SECTOR, buf, (size_t)count * DLOG_SECTOR);
	disk.writes++;
	return 0;
}

static int mem_flush(void *ctx)
{
	(void)ctx;
	if (disk.fail_write)
		return -5;
	memcpy(disk.durable, disk.cache, (size_t)SECTORS * DLOG_SECTOR);
	disk.flushes++;
	return 0;
}

static void disk_blank_of(uint32_t sectors)
{
	free(disk.durable);
	free(disk.cache);
	memset(&disk, 0, sizeof(disk));
	SECTORS = sectors;
	disk.fail_sector = -1;
	disk.durable = calloc(SECTORS, DLOG_SECTOR);
	disk.cache = calloc(SECTORS, DLOG_SECTOR);
	assert_non_null(disk.durable);
	assert_non_null(disk.cache);
}

static void disk_blank(void)
{
	disk_blank_of(SECTORS_MAX);
}

/* A power cut: whatever was not flushed is gone. */
static void power_cut(void)
{
	memcpy(disk.cache, disk.durable, (size_t)SECTORS * DLOG_SECTOR);
	memset(region, 0, sizeof(region));
	memset(&table, 0, sizeof(table));
}

struct inc {
	struct rs_engine e;
	struct rstore s;
	struct rlog_report rep;
	struct rdisk d;
};

/* A new kv on the region and the disk as they are. */
static struct inc *start(void)
{
	static uint64_t seed = 7;
	struct inc *k = calloc(1, sizeof(*k));

	assert_non_null(k);
	assert_int_equal(rs_engine_init(&k->e, 1000, seed++), 0);
	k->e.now_ms = 1000;
	assert_int_equal(rstore_open(&k->s, &k->e, region, REGION, &k->rep), 0);
	k->d.st = &k->s;
	if (kv_stash_check(&table) != KV_WHY_NONE) /* as kv's stash_open */
		kv_stash_init(&table, 0x5eed0000u + seed, KV_WHY_NEW);
	k->d.table = &table;
	k->d.dev = (struct dlog_dev){
		.sectors = SECTORS, .read = mem_read, .write = mem_write, .flush = mem_flush
	};
	if (k->s.disk_pending) { /* as rnet does: the disk's keyspace, not the stash's */
		static const uint8_t flushall[] = "*1\r\n$8\r\nFLUSHALL\r\n";

		while (k->s.conns)
			rstore_forget(&k->s, k->s.conns);
		rstore_run(&k->s, flushall, sizeof(flushall) - 1);
	}
	assert_int_equal(rdisk_load(&k->d, k->s.disk_pending, 0x1234567890abcdefull), 0);
	return k;
}

static void die(struct inc *k)
{
	for (struct rconn *c = k->s.conns, *n; c; c = n) {
		n = c->next;
		rs_client_free(&k->e, c->c);
		rs_free(c->resid);
		rs_free(c);
	}
	rs_client_free(&k->e, k->s.loader);
	rs_free(k->s.prop);
	rs_free(k->d.pend);
	rs_free(k->d.tpend);
	dlog_close(&k->d.log);
	rs_engine_free(&k->e);
	free(k);
}

/* Run bytes on connection cid as rnet does; the replies, as a string. */
static const char *run(struct inc *k, uint64_t cid, const char *bytes)
{
	static char out[4096];
	struct rconn *c = rstore_conn(&k->s, cid, true);

	assert_non_null(c);
	size_t before = c->c->out_len;
	assert_int_equal(rstore_batch(&k->s, c, (const uint8_t *)bytes, strlen(bytes)), 0);
	rdisk_note(&k->d, k->s.prop, k->s.prop_len);
	size_t n = c->c->out_len - before;
	assert_true(n < sizeof(out));
	memcpy(out, c->c->out + before, n);
	out[n] = 0;
	return out;
}

static const char *get(struct inc *k, const char *key)
{
	char req[128];

	snprintf(req, sizeof(req), "GET %s\r\n", key);
	return run(k, 99, req);
}

static void test_power_cut_keeps_acked(void **state)
{
	(void)state;
	disk_blank();
	memset(region, 0, sizeof(region));
	struct inc *k = start();
	assert_int_equal(k->d.state, RDISK_OK);
	assert_int_equal(k->d.report.state, DLOG_BLANK);
	char run_id[41];
	memcpy(run_id, k->e.run_id, sizeof(run_id));

	assert_string_equal(run(k, 1, "SET a 1\r\nSET b 2\r\n"), "+OK\r\n+OK\r\n");
	assert_true(rdisk_holding(&k->d));
	unsigned flushes = disk.flushes;
	assert_true(rdisk_commit(&k->d)); /* acknowledged from here */
	assert_int_equal(disk.flushes, flushes + 1);
	assert_false(rdisk_holding(&k->d));
	assert_string_equal(run(k, 2, "SET c 3\r\n"), "+OK\r\n"); /* never acknowledged */
	die(k);
	power_cut();

	k = start();
	assert_true(k->d.from_disk);
	assert_string_equal(get(k, "a"), "$1\r\n1\r\n");
	assert_string_equal(get(k, "b"), "$1\r\n2\r\n");
	assert_string_equal(get(k, "c"), "$-1\r\n");
	assert_memory_equal(k->e.run_id, run_id, sizeof(run_id)); /* nothing acked lost */
	die(k);
}

static void test_group_commit_one_flush(void **state)
{
	(void)state;
	disk_blank();
	memset(region, 0, sizeof(region));
	struct inc *k = start();
	unsigned flushes = disk.flushes;

	for (int i = 0; i < 20; i++) {
		char req[64];
		snprintf(req, sizeof(req), "INCR n%d\r\n", i % 4);
		run(k, 1 + (uint64_t)i % 5, req);
	}
	assert_true(rdisk_commit(&k->d));
	assert_int_equal(disk.flushes, flushes + 1);
	assert_true(rdisk_commit(&k->d)); /* nothing pending: no flush */
	assert_int_equal(disk.flushes, flushes + 1);
	assert_true(k->e.persist.enabled && k->e.persist.write_ok);
	assert_int_equal(k->e.persist.flushes, k->d.flushes);
	assert_int_equal(k->e.persist.commits, k->d.commits);
	assert_true(strstr(run(k, 1, "INFO persistence\r\n"), "aof_enabled:1\r\n"));
	die(k);
	power_cut();
	k = start();
	assert_string_equal(get(k, "n3"), "$1\r\n5\r\n");
	die(k);
}

/* kv died after its stash took a batch but before the disk did: the next
 * incarnation has it (stash kept) and writes it to the disk first. */
static void test_stash_ahead(void **state)
{
	(void)state;
	disk_blank();
	memset(region, 0, sizeof(region));
	struct inc *k = start();
	run(k, 1, "SET x old\r\n");
	assert_true(rdisk_commit(&k->d));
	run(k, 1, "SET x new\r\n");
	die(k); /* no commit */

	k = start(); /* the stash is kept */
	assert_false(k->d.from_disk);
	assert_int_equal(k->d.state, RDISK_OK);
	assert_false(rdisk_holding(&k->d)); /* the checkpoint has it */
	die(k);
	power_cut();
	k = start();
	assert_string_equal(get(k, "x"), "$3\r\nnew\r\n");
	die(k);
}

static void test_write_error_misconf(void **state)
{
	(void)state;
	disk_blank();
	memset(region, 0, sizeof(region));
	struct inc *k = start();
	run(k, 1, "SET a 1\r\n");
	disk.fail_write = true;
	assert_false(rdisk_commit(&k->d));
	assert_int_equal(k->d.state, RDISK_FAILED);
	assert_true(rdisk_holding(&k->d));
	assert_string_equal(run(k, 1, "SET b 2\r\n"),
			    "-MISCONF Errors writing to the AOF file: Input/output error\r\n");
	assert_string_equal(run(k, 1, "PING\r\n"),
			    "-MISCONF Errors writing to the AOF file: Input/output error\r\n");
	assert_string_equal(get(k, "b"), "$-1\r\n");
	assert_false(rdisk_commit(&k->d)); /* still failing */
	disk.fail_write = false;
	assert_true(rdisk_commit(&k->d)); /* a checkpoint */
	assert_int_equal(k->d.state, RDISK_OK);
	assert_string_equal(run(k, 1, "SET b 2\r\n"), "+OK\r\n");
	assert_true(rdisk_commit(&k->d));
	die(k);
	power_cut();
	k = start();
	assert_string_equal(get(k, "a"), "$1\r\n1\r\n");
	assert_string_equal(get(k, "b"), "$1\r\n2\r\n");
	die(k);
}

/* A checkpoint whose superblock write fails: the disk may hold either
 * generation, so kv reads it again before the next checkpoint. */
static void test_superblock_write_fails(void **state)
{
	(void)state;
	disk_blank();
	memset(region, 0, sizeof(region));
	struct inc *k = start();
	run(k, 1, "SET a 1\r\n");
	assert_true(rdisk_commit(&k->d));
	run(k, 1, "SET b 2\r\n");
	k->d.pend_failed = true; /* this commit is a checkpoint */
	disk.fail_sector = 0;	 /* and slot 0 cannot be written */
	assert_false(rdisk_commit(&k->d));
	assert_int_equal(k->d.state, RDISK_FAILED);
	assert_true(k->d.log.reopen);
	disk.fail_sector = 8; /* the other slot: the retry fails too */
	run(k, 1, "SET c 3\r\n");
	disk.fail_sector = -1;
	assert_true(rdisk_commit(&k->d) || rdisk_commit(&k->d));
	assert_int_equal(k->d.state, RDISK_OK);
	run(k, 1, "SET d 4\r\n");
	assert_true(rdisk_commit(&k->d));
	die(k);
	power_cut();
	k = start();
	assert_string_equal(get(k, "a"), "$1\r\n1\r\n");
	assert_string_equal(get(k, "b"), "$1\r\n2\r\n");
	assert_string_equal(get(k, "d"), "$1\r\n4\r\n");
	die(k);
}

static void test_foreign_disk_untouched(void **state)
{
	(void)state;
	disk_blank();
	for (size_t i = 0; i < (size_t)SECTORS * DLOG_SECTOR; i += 97)
		disk.cache[i] = disk.durable[i] = (uint8_t)(i * 31 + 7);
	uint8_t *before = malloc((size_t)SECTORS * DLOG_SECTOR);
	assert_non_null(before);
	memcpy(before, disk.cache, (size_t)SECTORS * DLOG_SECTOR);
	memset(region, 0, sizeof(region));

	struct inc *k = start();
	assert_int_equal(k->d.state, RDISK_UNUSABLE);
	assert_int_equal(k->d.report.state, DLOG_FOREIGN);
	assert_non_null(k->d.why);
	assert_string_equal(run(k, 1, "SET a 1\r\n"),
			    "-MISCONF Errors writing to the AOF file: Input/output error\r\n");
	assert_string_equal(get(k, "a"), "$-1\r\n");
	assert_true(rdisk_commit(&k->d)); /* nothing held */
	assert_memory_equal(disk.cache, before, (size_t)SECTORS * DLOG_SECTOR);
	die(k);
	free(before);
}

static void test_log_full_checkpoints(void **state)
{
	(void)state;
	disk_blank_of(4096); /* 2 MiB: checkpoint areas of a quarter each, a log of ~1 MiB */
	memset(region, 0, sizeof(region));
	struct inc *k = start();
	char req[256], val[129];
	unsigned ckpts;

	memset(val, 'v', 128);
	val[128] = 0;
	ckpts = (unsigned)k->d.checkpoints;
	for (int i = 0; i < 3000; i++) { /* each commit takes whole sectors */
		snprintf(req, sizeof(req), "SET k%d %s\r\n", i % 50, val);
		run(k, 1, req);
		snprintf(req, sizeof(req), "INCR c\r\n");
		run(k, 1, req);
		assert_true(rdisk_commit(&k->d));
	}
	assert_true(k->d.checkpoints > ckpts); /* the log filled */
	die(k);
	power_cut();
	k = start();
	assert_string_equal(get(k, "c"), "$4\r\n3000\r\n");
	assert_int_equal(rs_db_size(k->e.db), 51);
	die(k);
}

/* A log that grew past twice the checkpoint (and 1 MiB) is folded into a
 * new checkpoint, so reading the disk back costs about the keyspace. */
static void test_log_folds(void **state)
{
	(void)state;
	disk_blank();
	memset(region, 0, sizeof(region));
	struct inc *k = start();
	uint64_t ckpts = k->d.checkpoints;

	for (int i = 0; i < 2500; i++) {
		run(k, 1, "INCR c\r\n");
		assert_true(rdisk_commit(&k->d));
		assert_true(k->d.log.log_end <= 2049);
	}
	assert_int_equal(k->d.checkpoints, ckpts + 1);
	die(k);
	power_cut();
	k = start();
	assert_string_equal(get(k, "c"), "$4\r\n2500\r\n");
	assert_true(k->d.records_read < 1000);
	die(k);
}

/* A table change as kv.c makes it: applied, then pending. */
static void table_put(struct inc *k, const char *key, const char *val)
{
	struct kv_entry e = { .used = 1,
			      .klen = (uint8_t)strlen(key),
			      .vlen = (uint8_t)strlen(val) };
	uint8_t c[RTABLE_CHANGE_MAX];
	int i = kv_find(&table, key, strlen(key));

	memcpy(e.key, key, e.klen);
	memcpy(e.val, val, e.vlen);
	if (i < 0)
		i = kv_find_free(&table);
	assert_true(i >= 0);
	assert_true(kv_change(&table, (uint32_t)i, &e, 0));
	rdisk_note_table(&k->d, c,
			 rtable_change(c, table.gen, 'P', key, strlen(key), val, strlen(val)));
}

static const char *table_get(const char *key)
{
	static char v[KV_VAL_MAX + 1];
	int i = kv_find(&table, key, strlen(key));

	if (i < 0)
		return NULL;
	memcpy(v, table.table[i].val, table.table[i].vlen);
	v[table.table[i].vlen] = 0;
	return v;
}

/* The channel table rides along: after a power cut (or a stash whose
 * table was made anew) it comes back from the disk, generation and all;
 * a change never committed is not there. */
static void test_table_survives(void **state)
{
	(void)state;
	disk_blank();
	power_cut();
	struct inc *k = start();
	assert_true(k->d.table_from_disk);
	assert_false(k->d.table_found); /* a blank disk: the new table stays */
	kv_posted(&table);
	uint64_t gen = table.gen;

	table_put(k, "alpha", "1");
	table_put(k, "beta", "2");
	assert_true(rdisk_holding(&k->d));
	assert_true(rdisk_commit(&k->d));
	table_put(k, "alpha", "3");
	assert_true(rdisk_commit(&k->d));
	table_put(k, "gamma", "never answered");
	die(k);
	power_cut();

	k = start();
	assert_true(k->d.table_from_disk);
	assert_true(k->d.table_found);
	assert_int_equal(table.gen, gen);
	assert_string_equal(table_get("alpha"), "3");
	assert_string_equal(table_get("beta"), "2");
	assert_null(table_get("gamma"));
	assert_int_equal(kv_table_problem(&table), KV_WHY_NONE);
	kv_posted(&table);
	die(k);

	/* the stash's table kept: it goes to the disk, not the other way */
	k = start();
	assert_false(k->d.table_from_disk);
	table_put(k, "delta", "4");
	die(k); /* not committed: the stash has it, the disk not */
	k = start();
	assert_false(k->d.table_from_disk);
	die(k);
	power_cut();
	k = start();
	assert_string_equal(table_get("delta"), "4");
	die(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_power_cut_keeps_acked),
		cmocka_unit_test(test_group_commit_one_flush),
		cmocka_unit_test(test_stash_ahead),
		cmocka_unit_test(test_write_error_misconf),
		cmocka_unit_test(test_superblock_write_fails),
		cmocka_unit_test(test_foreign_disk_untouched),
		cmocka_unit_test(test_log_full_checkpoints),
		cmocka_unit_test(test_log_folds),
		cmocka_unit_test(test_table_survives),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
