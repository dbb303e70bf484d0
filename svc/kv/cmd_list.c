/*
 * Redis 7.0's list commands kv has: pushes and pops at both ends (pops
 * with a count), LLEN, LRANGE, LINDEX, LSET, LREM. A list is a ring deque
 * (obj.c): O(1) at the ends and by index. A list emptied by a pop or
 * LREM is deleted, as in Redis.
 */
#include "db.h"
#include "string.h"

static void push_generic(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv, bool left)
{
	struct rs_obj *o = rs_lookup_write(x, &argv[1]);
	if (rs_wrongtype(x, o, RS_T_LIST))
		return;
	bool fresh = !o;
	if (fresh && !(o = rs_obj_new(RS_T_LIST))) {
		rs_reply_oom(x);
		return;
	}
	uint32_t j;
	for (j = 2; j < argc; j++) {
		struct rs_bytes *b = rs_bytes_new(argv[j].p, argv[j].len);
		if (!b || rs_list_push(&o->l, b, left) < 0) {
			rs_free(b);
			goto oom;
		}
	}
	if (fresh && rs_db_add(x, &argv[1], o) < 0)
		goto oom;
	rs_db_touch(x);
	rs_reply_int(x->c, (int64_t)o->l.len);
	return;
oom:
	rs_reply_oom(x);
	if (fresh) {
		rs_obj_free(o);
		return;
	}
	rs_db_touch(x);
	rs_propagate_prefix(x, j, 2, argv); /* the elements before it are pushed */
}

static void cmd_lpush(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	push_generic(x, argc, argv, true);
}

static void cmd_rpush(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	push_generic(x, argc, argv, false);
}

static void reply_elem(struct rs_ctx *x, const struct rs_bytes *b)
{
	rs_reply_bulk(x->c, b->p, b->len);
}

static void pop_generic(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv, bool left)
{
	int64_t count = 0;
	if (argc > 3) {
		rs_reply_errorf(x->c, "ERR wrong number of arguments for '%s' command",
				left ? "lpop" : "rpop");
		return;
	}
	if (argc == 3 && !rs_count_or_reply(x, &argv[2], &count))
		return;
	struct rs_obj *o = rs_lookup_write(x, &argv[1]);
	if (!o) {
		if (argc == 3)
			rs_reply_nil_array(x->c);
		else
			rs_reply_nil(x->c);
		return;
	}
	if (rs_wrongtype(x, o, RS_T_LIST))
		return;
	if (argc == 2) {
		struct rs_bytes *b = rs_list_pop(&o->l, left);
		reply_elem(x, b);
		rs_free(b);
	} else {
		if ((uint64_t)count > o->l.len)
			count = (int64_t)o->l.len;
		rs_reply_array(x->c, count);
		for (int64_t i = 0; i < count; i++) {
			struct rs_bytes *b = rs_list_pop(&o->l, left);
			reply_elem(x, b);
			rs_free(b);
		}
		if (!count)
			return;
	}
	rs_db_touch(x);
	rs_db_drop_if_empty(x, &argv[1], o);
}

static void cmd_lpop(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	pop_generic(x, argc, argv, true);
}

static void cmd_rpop(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	pop_generic(x, argc, argv, false);
}

static void cmd_llen(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	struct rs_obj *o = rs_lookup_read(x, &argv[1]);
	if (rs_wrongtype(x, o, RS_T_LIST))
		return;
	rs_reply_int(x->c, o ? (int64_t)o->l.len : 0);
}

/* Redis' addListRangeReply: the reply holds at most the list's length. */
static void cmd_lrange(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	int64_t start, end;
	if (!rs_int_or_reply(x, &argv[2], &start) || !rs_int_or_reply(x, &argv[3], &end))
		return;
	struct rs_obj *o = rs_lookup_read(x, &argv[1]);
	if (rs_wrongtype(x, o, RS_T_LIST))
		return;
	if (!rs_rank_range(o ? (int64_t)o->l.len : 0, &start, &end)) {
		rs_reply_array(x->c, 0);
		return;
	}
	rs_reply_array(x->c, end - start + 1);
	for (int64_t i = start; i <= end; i++)
		reply_elem(x, *rs_list_at(&o->l, (size_t)i));
}

/* A list index (negative from the tail) as a position, or -1. */
static int64_t list_index(const struct rs_obj *o, int64_t i)
{
	int64_t len = (int64_t)o->l.len;
	if (i < 0)
		i += len;
	return i >= 0 && i < len ? i : -1;
}

/* As Redis: the key before the index (a missing key is nil, whatever
 * the index says). */
static void cmd_lindex(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	int64_t i;
	struct rs_obj *o = rs_lookup_read(x, &argv[1]);
	if (!o) {
		rs_reply_nil(x->c);
		return;
	}
	if (rs_wrongtype(x, o, RS_T_LIST) || !rs_int_or_reply(x, &argv[2], &i))
		return;
	if ((i = list_index(o, i)) < 0)
		rs_reply_nil(x->c);
	else
		reply_elem(x, *rs_list_at(&o->l, (size_t)i));
}

static void cmd_lset(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	struct rs_obj *o = rs_lookup_write(x, &argv[1]);
	int64_t i;
	if (!o) {
		rs_reply_error(x->c, RS_ERR_NOKEY);
		return;
	}
	if (rs_wrongtype(x, o, RS_T_LIST) || !rs_int_or_reply(x, &argv[2], &i))
		return;
	if ((i = list_index(o, i)) < 0) {
		rs_reply_error(x->c, RS_ERR_RANGE);
		return;
	}
	struct rs_bytes *b = rs_bytes_new(argv[3].p, argv[3].len);
	if (!b) {
		rs_reply_oom(x);
		return;
	}
	struct rs_bytes **at = rs_list_at(&o->l, (size_t)i);
	rs_free(*at);
	*at = b;
	rs_db_touch(x);
	rs_reply_ok(x->c);
}

static bool elem_eq(const struct rs_bytes *b, const struct rs_arg *a)
{
	return b->len == a->len && !memcmp(b->p, a->p, a->len);
}

/* Remove up to max (0: all) elements equal to v in one pass, from the
 * head or (tail) from the tail; the kept ones close up toward where the
 * pass started. Returns how many went. */
static int64_t list_remove(struct rs_list *l, const struct rs_arg *v, int64_t max, bool tail)
{
	size_t n = l->len, w = 0;
	int64_t removed = 0;
	for (size_t r = 0; r < n; r++) {
		struct rs_bytes **at = rs_list_at(l, tail ? n - 1 - r : r);
		if ((!max || removed < max) && elem_eq(*at, v)) {
			rs_free(*at);
			removed++;
			continue;
		}
		*rs_list_at(l, tail ? n - 1 - w : w) = *at;
		w++;
	}
	if (tail)
		l->head = (l->head + (size_t)removed) % (l->cap ? l->cap : 1);
	l->len = w;
	return removed;
}

static void cmd_lrem(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	int64_t count;
	if (!rs_int_or_reply(x, &argv[2], &count))
		return;
	struct rs_obj *o = rs_lookup_write(x, &argv[1]);
	if (rs_wrongtype(x, o, RS_T_LIST))
		return;
	int64_t removed = 0;
	if (o) {
		/* -INT64_MIN is out of range; any count past the length is "all" */
		int64_t max = count < 0 ? (count == INT64_MIN ? INT64_MAX : -count) : count;
		removed = list_remove(&o->l, &argv[3], max, count < 0);
		if (removed)
			rs_db_touch(x);
		rs_db_drop_if_empty(x, &argv[1], o);
	}
	rs_reply_int(x->c, removed);
}

const struct rs_cmd rs_cmds_list[] = {
	/* from Redis 7.0's src/commands/<name>.json, as COMMAND reports */
	{ "lpush", -3, RS_CMD_WRITE | RS_CMD_DENYOOM | RS_CMD_FAST, 1, 1, 1, "list",
	  "Prepend one or multiple elements to a list", "1.0.0", cmd_lpush },
	{ "rpush", -3, RS_CMD_WRITE | RS_CMD_DENYOOM | RS_CMD_FAST, 1, 1, 1, "list",
	  "Append one or multiple elements to a list", "1.0.0", cmd_rpush },
	{ "lpop", -2, RS_CMD_WRITE | RS_CMD_FAST, 1, 1, 1, "list",
	  "Remove and get the first elements in a list", "1.0.0", cmd_lpop },
	{ "rpop", -2, RS_CMD_WRITE | RS_CMD_FAST, 1, 1, 1, "list",
	  "Remove and get the last elements in a list", "1.0.0", cmd_rpop },
	{ "llen", 2, RS_CMD_READONLY | RS_CMD_FAST, 1, 1, 1, "list", "Get the length of a list",
	  "1.0.0", cmd_llen },
	{ "lrange", 4, RS_CMD_READONLY, 1, 1, 1, "list", "Get a range of elements from a list",
	  "1.0.0", cmd_lrange },
	{ "lindex", 3, RS_CMD_READONLY, 1, 1, 1, "list", "Get an element from a list by its index",
	  "1.0.0", cmd_lindex },
	{ "lset", 4, RS_CMD_WRITE | RS_CMD_DENYOOM, 1, 1, 1, "list",
	  "Set the value of an element in a list by its index", "1.0.0", cmd_lset },
	{ "lrem", 4, RS_CMD_WRITE, 1, 1, 1, "list", "Remove elements from a list", "1.0.0",
	  cmd_lrem },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};
