/*
 * Weak stand-ins for the keyspace (db.c) and the data-type command tables,
 * which another branch writes: with them the protocol layer's tests link
 * alone; the real definitions override them once both are merged (then
 * this file goes).
 */
#include "resp.h"

struct rs_db {
	int unused;
};

static const struct rs_cmd none[] = { { .name = NULL } };

__attribute__((weak)) const struct rs_cmd rs_cmds_string[1] = { { .name = NULL } };
__attribute__((weak)) const struct rs_cmd rs_cmds_keys[1] = { { .name = NULL } };
__attribute__((weak)) const struct rs_cmd rs_cmds_list[1] = { { .name = NULL } };
__attribute__((weak)) const struct rs_cmd rs_cmds_set[1] = { { .name = NULL } };
__attribute__((weak)) const struct rs_cmd rs_cmds_hash[1] = { { .name = NULL } };
__attribute__((weak)) const struct rs_cmd rs_cmds_zset[1] = { { .name = NULL } };

static struct rs_db the_db;
static uint64_t fake_keys, fake_expires;

__attribute__((weak)) struct rs_db *rs_db_new(void)
{
	(void)none;
	return &the_db;
}

__attribute__((weak)) void rs_db_free(struct rs_db *db)
{
	(void)db;
}

__attribute__((weak)) uint64_t rs_db_size(const struct rs_db *db)
{
	(void)db;
	return fake_keys;
}

__attribute__((weak)) uint64_t rs_db_expires(const struct rs_db *db)
{
	(void)db;
	return fake_expires;
}

__attribute__((weak)) void rs_db_flush(struct rs_db *db)
{
	(void)db;
	fake_keys = fake_expires = 0;
}

__attribute__((weak)) size_t rs_db_active_expire(struct rs_engine *e, size_t budget)
{
	(void)e;
	(void)budget;
	return 0;
}

/* For tests: what the stand-in keyspace reports. */
void rs_weak_set_keys(uint64_t keys, uint64_t expires)
{
	fake_keys = keys;
	fake_expires = expires;
}
