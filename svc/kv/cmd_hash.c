/*
 * Redis 7.0's hash commands kv has: HSET, HGET, HDEL, HGETALL, HLEN,
 * HINCRBY. A hash is a dict of fields whose values are struct rs_hval.
 * A hash emptied by HDEL is deleted, as in Redis. A small hash lists its
 * fields in the order they were added, as Redis' listpack does; a big one
 * in its dict's order (Redis' hashtable has no order either).
 */
#include "db.h"
#include "string.h"
#include "fmt.h"

/* Set field to value; 1 if the field is new, 0 if replaced, -1 when out
 * of memory (the hash unchanged). */
static int hash_set(struct rs_obj *o, const struct rs_arg *f, const void *v, size_t vlen)
{
	struct rs_dent *e = rs_dict_find(&o->d, f->p, f->len);
	int fresh = !e;
	/* a replaced value keeps its field's place */
	struct rs_hval *b = rs_hval_new(v, vlen, e ? ((struct rs_hval *)e->v.p)->seq : o->next_seq);
	if (!b)
		return -1;
	if (fresh && !(e = rs_dict_add(&o->d, f->p, f->len))) {
		rs_free(b);
		return -1;
	}
	o->next_seq += fresh;
	rs_free(e->v.p);
	e->v.p = b;
	rs_hash_note(o, f->len, vlen);
	return fresh;
}

/* The key's hash, made (and stored) if absent; NULL after a reply. */
static struct rs_obj *hash_for_write(struct rs_ctx *x, const struct rs_arg *key)
{
	struct rs_obj *o = rs_lookup_write(x, key);
	if (rs_wrongtype(x, o, RS_T_HASH))
		return NULL;
	if (o)
		return o;
	if (!(o = rs_obj_new(RS_T_HASH)) || rs_db_add(x, key, o) < 0) {
		rs_obj_free(o);
		rs_reply_oom(x);
		return NULL;
	}
	return o;
}

static void cmd_hset(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	if (argc % 2 == 1) {
		rs_reply_error(x->c, "ERR wrong number of arguments for 'hset' command");
		return;
	}
	struct rs_obj *o = hash_for_write(x, &argv[1]);
	if (!o)
		return;
	int64_t created = 0;
	for (uint32_t j = 2; j < argc; j += 2) {
		int r = hash_set(o, &argv[j], argv[j + 1].p, argv[j + 1].len);
		if (r < 0) {
			rs_db_drop_if_empty(x, &argv[1], o);
			rs_reply_oom(x);
			rs_propagate_prefix(x, j, 2, argv); /* the pairs before it are set */
			return;
		}
		created += r;
	}
	rs_db_touch(x);
	rs_reply_int(x->c, created);
}

static void cmd_hget(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	struct rs_obj *o = rs_lookup_read(x, &argv[1]);
	if (rs_wrongtype(x, o, RS_T_HASH))
		return;
	struct rs_dent *e = o ? rs_dict_find(&o->d, argv[2].p, argv[2].len) : NULL;
	if (!e) {
		rs_reply_nil(x->c);
		return;
	}
	const struct rs_hval *b = e->v.p;
	rs_reply_bulk(x->c, b->p, b->len);
}

static void cmd_hdel(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	struct rs_obj *o = rs_lookup_write(x, &argv[1]);
	if (rs_wrongtype(x, o, RS_T_HASH))
		return;
	int64_t n = 0;
	for (uint32_t j = 2; o && j < argc; j++) {
		struct rs_dent *e = rs_dict_unlink(&o->d, argv[j].p, argv[j].len);
		if (!e)
			continue;
		rs_free(e->v.p);
		rs_free(e);
		n++;
	}
	if (n) {
		rs_db_touch(x);
		rs_db_drop_if_empty(x, &argv[1], o);
	}
	rs_reply_int(x->c, n);
}

static void reply_field(struct rs_ctx *x, const struct rs_dent *e)
{
	const struct rs_hval *v = e->v.p;
	rs_reply_bulk(x->c, e->key, e->klen);
	rs_reply_bulk(x->c, v->p, v->len);
}

/* A small hash's fields in the order they were added. */
static void reply_small_hash(struct rs_ctx *x, const struct rs_obj *o)
{
	static const struct rs_dent *v[RS_HASH_LP_ENTRIES]; /* 4 KiB: off the small guest stack */
	size_t n = rs_hash_in_order(o, v);

	for (size_t i = 0; i < n; i++)
		reply_field(x, v[i]);
}

static void cmd_hgetall(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	struct rs_obj *o = rs_lookup_read(x, &argv[1]);
	if (rs_wrongtype(x, o, RS_T_HASH))
		return;
	rs_reply_array(x->c, o ? (int64_t)o->d.used * 2 : 0);
	if (o && !o->big && o->d.used <= RS_HASH_LP_ENTRIES) {
		reply_small_hash(x, o);
		return;
	}
	struct rs_dict_it it = { 0, NULL };
	for (struct rs_dent *e; o && (e = rs_dict_next(&o->d, &it));)
		reply_field(x, e);
}

static void cmd_hlen(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	struct rs_obj *o = rs_lookup_read(x, &argv[1]);
	if (rs_wrongtype(x, o, RS_T_HASH))
		return;
	rs_reply_int(x->c, o ? (int64_t)o->d.used : 0);
}

/* The field's current integer (0 if absent); false after a reply. */
static bool hash_int(struct rs_ctx *x, const struct rs_obj *o, const struct rs_arg *f, int64_t *v)
{
	*v = 0;
	struct rs_dent *e = o ? rs_dict_find(&o->d, f->p, f->len) : NULL;
	if (!e)
		return true;
	const struct rs_hval *b = e->v.p;
	if (rs_arg_int(&(struct rs_arg){ b->p, b->len }, v))
		return true;
	rs_reply_error(x->c, "ERR hash value is not an integer");
	return false;
}

static void cmd_hincrby(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	int64_t incr, v;
	if (!rs_int_or_reply(x, &argv[3], &incr))
		return;
	struct rs_obj *o = rs_lookup_write(x, &argv[1]);
	if (rs_wrongtype(x, o, RS_T_HASH) || !hash_int(x, o, &argv[2], &v))
		return;
	if (!rs_add_or_reply(x, &v, incr))
		return;
	char buf[24];
	int n = fmt_snprintf(buf, sizeof(buf), "%lld", (long long)v);
	if (!(o = hash_for_write(x, &argv[1])))
		return;
	if (hash_set(o, &argv[2], buf, (size_t)n) < 0) {
		rs_db_drop_if_empty(x, &argv[1], o);
		rs_reply_oom(x);
		return;
	}
	rs_db_touch(x);
	rs_reply_int(x->c, v);
}

const struct rs_cmd rs_cmds_hash[] = {
	/* from Redis 7.0's src/commands/<name>.json, as COMMAND reports */
	{ "hset", -4, RS_CMD_WRITE | RS_CMD_DENYOOM | RS_CMD_FAST, 1, 1, 1, "hash",
	  "Set the string value of a hash field", "2.0.0", cmd_hset },
	{ "hget", 3, RS_CMD_READONLY | RS_CMD_FAST, 1, 1, 1, "hash",
	  "Get the value of a hash field", "2.0.0", cmd_hget },
	{ "hdel", -3, RS_CMD_WRITE | RS_CMD_FAST, 1, 1, 1, "hash", "Delete one or more hash fields",
	  "2.0.0", cmd_hdel },
	{ "hgetall", 2, RS_CMD_READONLY, 1, 1, 1, "hash", "Get all the fields and values in a hash",
	  "2.0.0", cmd_hgetall },
	{ "hlen", 2, RS_CMD_READONLY | RS_CMD_FAST, 1, 1, 1, "hash",
	  "Get the number of fields in a hash", "2.0.0", cmd_hlen },
	{ "hincrby", 4, RS_CMD_WRITE | RS_CMD_DENYOOM | RS_CMD_FAST, 1, 1, 1, "hash",
	  "Increment the integer value of a hash field by the given number", "2.0.0", cmd_hincrby },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};
