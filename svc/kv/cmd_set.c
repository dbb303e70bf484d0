/*
 * Redis 7.0's set commands kv has: SADD, SREM, SPOP (with a count),
 * SCARD, SMEMBERS, SISMEMBER. A set is a dict of members. SPOP draws at
 * random, so what it did is propagated as SREM of the members popped (DEL
 * when it took them all).
 */
#include "db.h"
#include "string.h"

/* A new set goes into the keyspace only once a member is in it. */
static void cmd_sadd(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	struct rs_obj *o = rs_lookup_write(x, &argv[1]);
	if (rs_wrongtype(x, o, RS_T_SET))
		return;
	bool fresh = !o, oom = false;
	if (fresh && !(o = rs_obj_new(RS_T_SET))) {
		rs_reply_oom(x);
		return;
	}
	int64_t added = 0;
	uint32_t j; /* argv[2..j) are in the set */
	for (j = 2; j < argc; j++) {
		if (rs_dict_find(&o->d, argv[j].p, argv[j].len))
			continue;
		if (!rs_dict_add(&o->d, argv[j].p, argv[j].len)) {
			oom = true;
			break;
		}
		rs_set_note(o, argv[j].p, argv[j].len);
		added++;
	}
	if (fresh && (!added || rs_db_add(x, &argv[1], o) < 0)) {
		rs_obj_free(o);
		oom = true;
		j = 0; /* none */
	} else if (added) {
		rs_db_touch(x);
	}
	if (!oom) {
		rs_reply_int(x->c, added);
		return;
	}
	rs_reply_oom(x);
	rs_propagate_prefix(x, j, 2, argv);
}

static void cmd_srem(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	struct rs_obj *o = rs_lookup_write(x, &argv[1]);
	if (rs_wrongtype(x, o, RS_T_SET))
		return;
	int64_t removed = 0;
	for (uint32_t j = 2; o && j < argc; j++) {
		struct rs_dent *e = rs_dict_unlink(&o->d, argv[j].p, argv[j].len);
		removed += e != NULL;
		rs_free(e);
	}
	if (removed) {
		rs_db_touch(x);
		rs_db_drop_if_empty(x, &argv[1], o);
	}
	rs_reply_int(x->c, removed);
}

static void cmd_scard(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	struct rs_obj *o = rs_lookup_read(x, &argv[1]);
	if (rs_wrongtype(x, o, RS_T_SET))
		return;
	rs_reply_int(x->c, o ? (int64_t)o->d.used : 0);
}

static void cmd_sismember(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	struct rs_obj *o = rs_lookup_read(x, &argv[1]);
	if (rs_wrongtype(x, o, RS_T_SET))
		return;
	rs_reply_int(x->c, o && rs_dict_find(&o->d, argv[2].p, argv[2].len));
}

struct member {
	int64_t v;
	const struct rs_dent *e;
};

/* A small all-integer set (Redis' intset) lists its members in numeric
 * order, as an intset is stored; false if out of memory (nothing sent). */
static bool reply_intset(struct rs_ctx *x, const struct rs_obj *o)
{
	struct member *m = rs_alloc(o->d.used * sizeof(*m) + 1);
	size_t n = 0;
	if (!m)
		return false;
	struct rs_dict_it it = { 0, NULL };
	for (const struct rs_dent *e; (e = rs_dict_next(&o->d, &it));) {
		struct member cur = { 0, e };
		rs_arg_int(&(struct rs_arg){ e->key, e->klen }, &cur.v); /* all are (big is not) */
		size_t i = n++;
		for (; i > 0 && m[i - 1].v > cur.v; i--)
			m[i] = m[i - 1];
		m[i] = cur;
	}
	rs_reply_array(x->c, (int64_t)n);
	for (size_t i = 0; i < n; i++)
		rs_reply_bulk(x->c, m[i].e->key, m[i].e->klen);
	rs_free(m);
	return true;
}

/* Every member; false if out of memory (nothing sent). */
static bool reply_members(struct rs_ctx *x, const struct rs_obj *o)
{
	if (o && !o->big)
		return reply_intset(x, o);
	rs_reply_array(x->c, o ? (int64_t)o->d.used : 0);
	struct rs_dict_it it = { 0, NULL };
	for (struct rs_dent *e; o && (e = rs_dict_next(&o->d, &it));)
		rs_reply_bulk(x->c, e->key, e->klen);
	return true;
}

static void cmd_smembers(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	struct rs_obj *o = rs_lookup_read(x, &argv[1]);
	if (!rs_wrongtype(x, o, RS_T_SET) && !reply_members(x, o))
		rs_reply_oom(x);
}

/* SPOP with a count below the set's size: count random members, taken
 * out first (so that nothing changes if memory runs out), then replied
 * and propagated as one SREM. */
static void spop_some(struct rs_ctx *x, const struct rs_arg *key, struct rs_obj *o, uint64_t count)
{
	struct rs_dent **v = rs_alloc(count * sizeof(*v));
	struct rs_arg *pv = rs_alloc((count + 2) * sizeof(*pv));
	if (!v || !pv) {
		rs_free(v);
		rs_free(pv);
		rs_reply_oom(x);
		return;
	}
	pv[0] = (struct rs_arg){ (const uint8_t *)"SREM", 4 };
	pv[1] = *key;
	rs_reply_array(x->c, (int64_t)count);
	for (uint64_t i = 0; i < count; i++) {
		struct rs_dent *e = rs_dict_random(&o->d, &x->e->rand_state);
		v[i] = rs_dict_unlink(&o->d, e->key, e->klen);
		pv[i + 2] = (struct rs_arg){ v[i]->key, v[i]->klen };
		rs_reply_bulk(x->c, v[i]->key, v[i]->klen);
	}
	rs_db_touch(x);
	rs_propagate(x, (uint32_t)count + 2, pv);
	for (uint64_t i = 0; i < count; i++)
		rs_free(v[i]);
	rs_free(v);
	rs_free(pv);
}

static void spop_count(struct rs_ctx *x, const struct rs_arg *key, const struct rs_arg *arg)
{
	int64_t count;
	if (!rs_count_or_reply(x, arg, &count))
		return;
	struct rs_obj *o = rs_lookup_write(x, key);
	if (rs_wrongtype(x, o, RS_T_SET))
		return;
	if (!o || !count) {
		rs_reply_array(x->c, 0);
		return;
	}
	if ((uint64_t)count < o->d.used) {
		spop_some(x, key, o, (uint64_t)count);
		return;
	}
	if (!reply_members(x, o)) {
		rs_reply_oom(x);
		return;
	}
	rs_db_delete(x, key);
	rs_propagatef(x, "sa", "DEL", key);
}

static void cmd_spop(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	if (argc == 3) {
		spop_count(x, &argv[1], &argv[2]);
		return;
	}
	if (argc > 3) {
		rs_reply_error(x->c, RS_ERR_SYNTAX);
		return;
	}
	struct rs_obj *o = rs_lookup_write(x, &argv[1]);
	if (!o) {
		rs_reply_nil(x->c);
		return;
	}
	if (rs_wrongtype(x, o, RS_T_SET))
		return;
	struct rs_dent *e = rs_dict_random(&o->d, &x->e->rand_state);
	e = rs_dict_unlink(&o->d, e->key, e->klen);
	struct rs_arg m = { e->key, e->klen };
	rs_reply_bulk(x->c, m.p, m.len);
	rs_db_touch(x);
	rs_propagatef(x, "saa", "SREM", &argv[1], &m);
	rs_free(e);
	rs_db_drop_if_empty(x, &argv[1], o);
}

const struct rs_cmd rs_cmds_set[] = {
	/* from Redis 7.0's src/commands/<name>.json, as COMMAND reports */
	{ "sadd", -3, RS_CMD_WRITE | RS_CMD_DENYOOM | RS_CMD_FAST, 1, 1, 1, "set",
	  "Add one or more members to a set", "1.0.0", cmd_sadd },
	{ "srem", -3, RS_CMD_WRITE | RS_CMD_FAST, 1, 1, 1, "set",
	  "Remove one or more members from a set", "1.0.0", cmd_srem },
	{ "spop", -2, RS_CMD_WRITE | RS_CMD_FAST, 1, 1, 1, "set",
	  "Remove and return one or multiple random members from a set", "1.0.0", cmd_spop },
	{ "scard", 2, RS_CMD_READONLY | RS_CMD_FAST, 1, 1, 1, "set",
	  "Get the number of members in a set", "1.0.0", cmd_scard },
	{ "smembers", 2, RS_CMD_READONLY, 1, 1, 1, "set", "Get all the members in a set", "1.0.0",
	  cmd_smembers },
	{ "sismember", 3, RS_CMD_READONLY | RS_CMD_FAST, 1, 1, 1, "set",
	  "Determine if a given value is a member of a set", "1.0.0", cmd_sismember },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};
