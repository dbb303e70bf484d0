/*
 * Redis 7.0's sorted-set commands kv has: ZADD (NX XX GT LT CH INCR),
 * ZINCRBY, ZRANGE (by rank, BYSCORE, BYLEX, REV, LIMIT, WITHSCORES),
 * ZPOPMIN, ZCARD, ZSCORE. The skiplist (zsl.c) finds a rank or a score
 * bound in O(log n); a range then walks the level-0 links.
 */
#include "db.h"
#include "string.h"

/* ---- ZADD and ZINCRBY ---- */

enum { Z_NX = 1, Z_XX = 2, Z_GT = 4, Z_LT = 8, Z_INCR = 16, Z_CH = 32 };

#define Z_NANERR "ERR resulting score is not a number (NaN)"

struct zadd {
	int flags;
	uint32_t first; /* argv index of the first score */
	uint32_t n;	/* score-member pairs */
	double score;	/* INCR's result */
	int64_t added, updated, processed;
};

static uint32_t zadd_flags(uint32_t argc, const struct rs_arg *argv, int *flags)
{
	static const char *const names[] = { "nx", "xx", "gt", "lt", "incr", "ch" };
	uint32_t j = 2;
	for (; j < argc; j++) {
		int k = 0;
		while (k < 6 && !rs_arg_eq(&argv[j], names[k]))
			k++;
		if (k == 6)
			break;
		*flags |= 1 << k;
	}
	return j;
}

static bool zadd_parse(struct rs_ctx *x, struct zadd *z, uint32_t argc, const struct rs_arg *argv)
{
	z->first = zadd_flags(argc, argv, &z->flags);
	uint32_t left = argc - z->first;
	const char *err = NULL;
	if (left % 2 || !left)
		err = RS_ERR_SYNTAX;
	else if ((z->flags & Z_NX) && (z->flags & Z_XX))
		err = "ERR XX and NX options at the same time are not compatible";
	else if (((z->flags & (Z_GT | Z_LT)) && (z->flags & Z_NX)) ||
		 ((z->flags & Z_GT) && (z->flags & Z_LT)))
		err = "ERR GT, LT, and/or NX options at the same time are not compatible";
	else if ((z->flags & Z_INCR) && left > 2)
		err = "ERR INCR option supports a single increment-element pair";
	if (err) {
		rs_reply_error(x->c, err);
		return false;
	}
	z->n = left / 2;
	for (uint32_t j = 0; j < z->n; j++) {
		double d;
		if (!rs_arg_double(&argv[z->first + 2 * j], &d)) {
			rs_reply_error(x->c, RS_ERR_NOTFLOAT);
			return false;
		}
	}
	return true;
}

/* The score a zset keeps: a small one (Redis' listpack) stores a whole
 * score as an integer, so -0 comes back as 0; a skiplist keeps -0. big:
 * the zset is a skiplist once this member is in. */
static double kept_score(double score, bool big)
{
	return score == 0 && !big ? 0.0 : score;
}

/* Redis' zsetAdd for one pair: 0 done (or skipped by a flag), -1 NaN,
 * -2 no memory. */
static int zadd_one(struct rs_ctx *x, struct rs_obj *o, struct zadd *z, double score,
		    const struct rs_arg *m)
{
	struct rs_dent *de = rs_dict_find(&o->z.d, m->p, m->len);
	if (de) {
		struct rs_znode *n = de->v.p;
		if (z->flags & Z_NX)
			return 0;
		if (z->flags & Z_INCR)
			score += n->score;
		if (score != score)
			return -1; /* inf + -inf */
		if (((z->flags & Z_LT) && score >= n->score) ||
		    ((z->flags & Z_GT) && score <= n->score))
			return 0;
		z->score = score;
		z->processed++;
		if (score != n->score) {
			rs_zset_update(&o->z, n, kept_score(score, o->big));
			z->updated++;
		}
		return 0;
	}
	if (z->flags & Z_XX)
		return 0;
	bool big = o->big || o->z.sl->len + 1 > RS_ZSET_LP_ENTRIES || m->len > RS_ZSET_LP_VALUE;
	if (rs_zset_add(&o->z, m->p, m->len, kept_score(score, big), &x->e->rand_state) < 0)
		return -2;
	rs_zset_note(o, m->len);
	z->score = score;
	z->processed++;
	z->added++;
	return 0;
}

static void zadd_reply(struct rs_ctx *x, const struct zadd *z)
{
	if (!(z->flags & Z_INCR))
		rs_reply_int(x->c, z->flags & Z_CH ? z->added + z->updated : z->added);
	else if (z->processed)
		rs_reply_double(x->c, z->score);
	else
		rs_reply_nil(x->c);
}

/* Run the pairs; a new zset goes into the keyspace only once it holds
 * something. */
static void zadd_run(struct rs_ctx *x, struct zadd *z, const struct rs_arg *argv)
{
	struct rs_obj *o = rs_lookup_write(x, &argv[1]);
	if (rs_wrongtype(x, o, RS_T_ZSET))
		return;
	bool fresh = !o;
	if (fresh && (z->flags & Z_XX)) {
		zadd_reply(x, z); /* nothing to do */
		return;
	}
	if (fresh && !(o = rs_obj_new(RS_T_ZSET))) {
		rs_reply_oom(x);
		return;
	}
	int r = 0;
	uint32_t j; /* the pairs before j are done */
	for (j = 0; j < z->n && !r; j++) {
		double score;
		rs_arg_double(&argv[z->first + 2 * j], &score); /* checked by the parse */
		r = zadd_one(x, o, z, score, &argv[z->first + 2 * j + 1]);
	}
	uint32_t done = z->first + 2 * (r ? j - 1 : j); /* argv[0..done) applied */
	if (fresh && (!rs_obj_len(o) || rs_db_add(x, &argv[1], o) < 0)) {
		rs_obj_free(o);
		r = r ? r : -2;
		done = 0;
	} else if (z->added || z->updated) {
		rs_db_touch(x);
	}
	if (r == -1) {
		rs_reply_error(x->c, Z_NANERR);
	} else if (r == -2) {
		rs_reply_oom(x);
		rs_propagate_prefix(x, done, z->first, argv);
	} else {
		zadd_reply(x, z);
	}
}

static void cmd_zadd(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	struct zadd z = { 0 };
	if (zadd_parse(x, &z, argc, argv))
		zadd_run(x, &z, argv);
}

static void cmd_zincrby(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	struct zadd z = { .flags = Z_INCR, .first = 2, .n = 1 };
	double d;
	if (!rs_arg_double(&argv[2], &d)) {
		rs_reply_error(x->c, RS_ERR_NOTFLOAT);
		return;
	}
	zadd_run(x, &z, argv);
}

/* ---- reads ---- */

static void cmd_zcard(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	struct rs_obj *o = rs_lookup_read(x, &argv[1]);
	if (rs_wrongtype(x, o, RS_T_ZSET))
		return;
	rs_reply_int(x->c, o ? (int64_t)o->z.sl->len : 0);
}

static void cmd_zscore(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	struct rs_obj *o = rs_lookup_read(x, &argv[1]);
	if (rs_wrongtype(x, o, RS_T_ZSET))
		return;
	struct rs_dent *de = o ? rs_dict_find(&o->z.d, argv[2].p, argv[2].len) : NULL;
	if (de)
		rs_reply_double(x->c, ((struct rs_znode *)de->v.p)->score);
	else
		rs_reply_nil(x->c);
}

static void reply_node(struct rs_ctx *x, const struct rs_znode *n, bool scores)
{
	rs_reply_bulk(x->c, n->ele, n->len);
	if (scores)
		rs_reply_double(x->c, n->score);
}

/* ZPOPMIN: the lowest count (default 1), flat member/score pairs. */
static void cmd_zpopmin(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	int64_t count = 1;
	if (argc > 3) {
		rs_reply_error(x->c, RS_ERR_SYNTAX);
		return;
	}
	if (argc == 3 && !rs_count_or_reply(x, &argv[2], &count))
		return;
	struct rs_obj *o = rs_lookup_write(x, &argv[1]);
	if (rs_wrongtype(x, o, RS_T_ZSET))
		return;
	if (!o || !count) {
		rs_reply_array(x->c, 0);
		return;
	}
	if ((uint64_t)count > o->z.sl->len)
		count = (int64_t)o->z.sl->len;
	rs_reply_array(x->c, count * 2);
	for (int64_t i = 0; i < count; i++) {
		struct rs_znode *n = o->z.sl->head->lv[0].fwd;
		reply_node(x, n, true);
		rs_zset_delete(&o->z, n->ele, n->len);
	}
	rs_db_touch(x);
	rs_db_drop_if_empty(x, &argv[1], o);
}

/* ---- ZRANGE ---- */

enum zrange_by { BY_RANK, BY_SCORE, BY_LEX };

struct zrange {
	enum zrange_by by;
	bool rev, scores;
	int64_t offset, limit;
	const struct rs_arg *min, *max; /* after REV's swap */
};

/* A score bound: value and whether it is exclusive ("(1.5"). */
struct zbound {
	double v;
	bool ex;
};

struct zspec {
	struct zbound min, max;
};

/* A lex bound: "-" (dir -1), "+" (dir 1), or [m / (m. */
struct lbound {
	int inf;
	bool ex;
	const uint8_t *p;
	size_t n;
};

struct lspec {
	struct lbound min, max;
};

static bool zrange_option(struct zrange *r, uint32_t *j, uint32_t argc, const struct rs_arg *argv,
			  struct rs_ctx *x, bool *err)
{
	const struct rs_arg *a = &argv[*j];
	if (rs_arg_eq(a, "withscores"))
		r->scores = true;
	else if (rs_arg_eq(a, "limit") && *j + 2 < argc) {
		if (!rs_int_or_reply(x, &argv[*j + 1], &r->offset) ||
		    !rs_int_or_reply(x, &argv[*j + 2], &r->limit)) {
			*err = true;
			return false;
		}
		*j += 2;
	} else if (rs_arg_eq(a, "rev") && !r->rev)
		r->rev = true;
	else if (rs_arg_eq(a, "bylex") && r->by == BY_RANK)
		r->by = BY_LEX;
	else if (rs_arg_eq(a, "byscore") && r->by == BY_RANK)
		r->by = BY_SCORE;
	else
		return false;
	return true;
}

static bool zrange_parse(struct rs_ctx *x, struct zrange *r, uint32_t argc,
			 const struct rs_arg *argv)
{
	bool err = false;
	r->limit = -1;
	for (uint32_t j = 4; j < argc; j++) {
		if (!zrange_option(r, &j, argc, argv, x, &err)) {
			if (!err)
				rs_reply_error(x->c, RS_ERR_SYNTAX);
			return false;
		}
	}
	if (r->limit != -1 && r->by == BY_RANK) {
		rs_reply_error(x->c, "ERR syntax error, LIMIT is only supported in combination "
				     "with either BYSCORE or BYLEX");
		return false;
	}
	if (r->scores && r->by == BY_LEX) {
		rs_reply_error(
		    x->c, "ERR syntax error, WITHSCORES not supported in combination with BYLEX");
		return false;
	}
	bool swap = r->rev && r->by != BY_RANK;
	r->min = &argv[swap ? 3 : 2];
	r->max = &argv[swap ? 2 : 3];
	return true;
}

static bool parse_zbound(const struct rs_arg *a, struct zbound *b)
{
	struct rs_arg v = *a;
	b->ex = v.len && v.p[0] == '(';
	if (b->ex)
		v.p++, v.len--;
	return rs_arg_double_range(&v, &b->v);
}

static bool parse_lbound(const struct rs_arg *a, struct lbound *b)
{
	b->inf = 0;
	b->ex = false;
	b->p = a->len ? a->p + 1 : NULL;
	b->n = a->len ? a->len - 1 : 0;
	if (a->len == 1 && (a->p[0] == '-' || a->p[0] == '+')) {
		b->inf = a->p[0] == '-' ? -1 : 1;
		return true;
	}
	if (!a->len || (a->p[0] != '[' && a->p[0] != '('))
		return false;
	b->ex = a->p[0] == '(';
	return true;
}

/* Predicates for rs_zsl_first/last: below the min, within the max. */
static bool score_below(const struct rs_znode *n, const void *spec)
{
	const struct zspec *s = spec;
	return s->min.ex ? n->score <= s->min.v : n->score < s->min.v;
}

static bool score_within(const struct rs_znode *n, const void *spec)
{
	const struct zspec *s = spec;
	return s->max.ex ? n->score < s->max.v : n->score <= s->max.v;
}

/* Member against a lex bound: <0, 0 or >0 as member - bound. */
static int lex_cmp(const struct rs_znode *n, const struct lbound *b)
{
	if (b->inf)
		return -b->inf;
	return rs_zcmp_ele(n->ele, n->len, b->p, b->n);
}

static bool lex_below(const struct rs_znode *n, const void *spec)
{
	const struct lspec *s = spec;
	int c = lex_cmp(n, &s->min);
	return s->min.ex ? c <= 0 : c < 0;
}

static bool lex_within(const struct rs_znode *n, const void *spec)
{
	const struct lspec *s = spec;
	int c = lex_cmp(n, &s->max);
	return s->max.ex ? c < 0 : c <= 0;
}

/* A range by score or lex: from the first node in range (last with
 * REV), skip offset, then up to limit nodes while still in range. Run
 * twice: to count (reply) = false, then to reply. */
static int64_t zrange_walk(struct rs_ctx *x, const struct rs_zsl *sl, const struct zrange *r,
			   bool (*below)(const struct rs_znode *, const void *),
			   bool (*within)(const struct rs_znode *, const void *), const void *spec,
			   bool reply)
{
	struct rs_znode *n = r->rev ? rs_zsl_last(sl, within, spec) : rs_zsl_first(sl, below, spec);
	int64_t off = r->offset, lim = r->limit, out = 0;
	if (off < 0)
		return 0;
	for (; n && off; off--)
		n = r->rev ? n->back : n->lv[0].fwd;
	for (; n && lim; lim--, out++) {
		if (r->rev ? below(n, spec) : !within(n, spec))
			break;
		if (reply)
			reply_node(x, n, r->scores);
		n = r->rev ? n->back : n->lv[0].fwd;
	}
	return out;
}

static void zrange_spec(struct rs_ctx *x, const struct rs_obj *o, const struct zrange *r,
			const void *spec)
{
	bool (*below)(const struct rs_znode *, const void *) =
	    r->by == BY_SCORE ? score_below : lex_below;
	bool (*within)(const struct rs_znode *, const void *) =
	    r->by == BY_SCORE ? score_within : lex_within;
	if (!o) {
		rs_reply_array(x->c, 0);
		return;
	}
	int64_t n = zrange_walk(x, o->z.sl, r, below, within, spec, false);
	rs_reply_array(x->c, r->scores ? n * 2 : n);
	zrange_walk(x, o->z.sl, r, below, within, spec, true);
}

/* By rank: O(log n) to the start, then the links. */
static void zrange_rank(struct rs_ctx *x, const struct rs_obj *o, const struct zrange *r,
			int64_t start, int64_t end)
{
	int64_t len = o ? (int64_t)o->z.sl->len : 0;
	if (!rs_rank_range(len, &start, &end)) {
		rs_reply_array(x->c, 0);
		return;
	}
	int64_t n = end - start + 1;
	rs_reply_array(x->c, r->scores ? n * 2 : n);
	uint64_t first = (uint64_t)(r->rev ? len - 1 - start : start);
	const struct rs_znode *z = rs_zsl_at(o->z.sl, first);
	for (; n--; z = r->rev ? z->back : z->lv[0].fwd)
		reply_node(x, z, r->scores);
}

static void cmd_zrange(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	struct zrange r = { 0 };
	struct zspec zs;
	struct lspec ls;
	int64_t start = 0, end = 0;
	if (!zrange_parse(x, &r, argc, argv))
		return;
	if (r.by == BY_RANK &&
	    (!rs_int_or_reply(x, r.min, &start) || !rs_int_or_reply(x, r.max, &end)))
		return;
	if (r.by == BY_SCORE && (!parse_zbound(r.min, &zs.min) || !parse_zbound(r.max, &zs.max))) {
		rs_reply_error(x->c, "ERR min or max is not a float");
		return;
	}
	if (r.by == BY_LEX && (!parse_lbound(r.min, &ls.min) || !parse_lbound(r.max, &ls.max))) {
		rs_reply_error(x->c, "ERR min or max not valid string range item");
		return;
	}
	struct rs_obj *o = rs_lookup_read(x, &argv[1]);
	if (rs_wrongtype(x, o, RS_T_ZSET))
		return;
	if (r.by == BY_RANK)
		zrange_rank(x, o, &r, start, end);
	else
		zrange_spec(x, o, &r, r.by == BY_SCORE ? (const void *)&zs : (const void *)&ls);
}

const struct rs_cmd rs_cmds_zset[] = {
	/* from Redis 7.0's src/commands/<name>.json, as COMMAND reports */
	{ "zadd", -4, RS_CMD_WRITE | RS_CMD_DENYOOM | RS_CMD_FAST, 1, 1, 1, "sorted_set",
	  "Add one or more members to a sorted set, or update its score if it already exists",
	  "1.2.0", cmd_zadd },
	{ "zrange", -4, RS_CMD_READONLY, 1, 1, 1, "sorted_set",
	  "Return a range of members in a sorted set", "1.2.0", cmd_zrange },
	{ "zpopmin", -2, RS_CMD_WRITE | RS_CMD_FAST, 1, 1, 1, "sorted_set",
	  "Remove and return members with the lowest scores in a sorted set", "5.0.0",
	  cmd_zpopmin },
	{ "zcard", 2, RS_CMD_READONLY | RS_CMD_FAST, 1, 1, 1, "sorted_set",
	  "Get the number of members in a sorted set", "1.2.0", cmd_zcard },
	{ "zscore", 3, RS_CMD_READONLY | RS_CMD_FAST, 1, 1, 1, "sorted_set",
	  "Get the score associated with the given member in a sorted set", "1.2.0", cmd_zscore },
	{ "zincrby", 4, RS_CMD_WRITE | RS_CMD_DENYOOM | RS_CMD_FAST, 1, 1, 1, "sorted_set",
	  "Increment the score of a member in a sorted set", "1.2.0", cmd_zincrby },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};
