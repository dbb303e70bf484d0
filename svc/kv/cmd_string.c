/*
 * Redis 7.0's string group: GET and SET with all its options and their
 * variants, counters, ranges, MGET/MSET and LCS, with Redis' replies and
 * error texts. A relative expiry is propagated as an absolute one (SET ...
 * PXAT, PEXPIREAT), INCRBYFLOAT as SET ... KEEPTTL, so a log replays the
 * same keyspace at any later time.
 */
#include "db.h"
#include "string.h"
#include "fmt.h"

#define ARG(s) (&(struct rs_arg){ (const uint8_t *)(s), sizeof(s) - 1 })

/* ---- SET and GETEX options ---- */

enum {
	O_NX = 1 << 0,
	O_XX = 1 << 1,
	O_EX = 1 << 2,
	O_PX = 1 << 3,
	O_KEEPTTL = 1 << 4,
	O_GET = 1 << 5,
	O_EXAT = 1 << 6,
	O_PXAT = 1 << 7,
	O_PERSIST = 1 << 8,
};
#define O_EXPIRE (O_EX | O_PX | O_EXAT | O_PXAT)

struct setopts {
	uint32_t flags;
	const struct rs_arg *expire; /* the time argument, or NULL */
};

/* One option; false if it is unknown or conflicts with one already seen
 * (Redis' parseExtendedStringArgumentsOrReply: a syntax error). */
static bool set_option(struct setopts *o, const struct rs_arg *a, const struct rs_arg *next,
		       bool is_set)
{
	static const struct {
		const char *name;
		uint32_t flag, excl;
		bool set_only, get_only, timed;
	} opts[] = {
		{ "nx", O_NX, O_XX, true, false, false },
		{ "xx", O_XX, O_NX, true, false, false },
		{ "get", O_GET, 0, true, false, false },
		{ "keepttl", O_KEEPTTL, O_PERSIST | O_EXPIRE, true, false, false },
		{ "persist", O_PERSIST, O_EXPIRE | O_KEEPTTL, false, true, false },
		{ "ex", O_EX, O_KEEPTTL | O_PERSIST | O_EXAT | O_PX | O_PXAT, false, false, true },
		{ "px", O_PX, O_KEEPTTL | O_PERSIST | O_EX | O_EXAT | O_PXAT, false, false, true },
		{ "exat", O_EXAT, O_KEEPTTL | O_PERSIST | O_EX | O_PX | O_PXAT, false, false,
		  true },
		{ "pxat", O_PXAT, O_KEEPTTL | O_PERSIST | O_EX | O_EXAT | O_PX, false, false,
		  true },
	};
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		if (!rs_arg_eq(a, opts[i].name))
			continue;
		if ((o->flags & opts[i].excl) || (opts[i].set_only && !is_set) ||
		    (opts[i].get_only && is_set) || (opts[i].timed && !next))
			return false;
		o->flags |= opts[i].flag;
		if (opts[i].timed)
			o->expire = next;
		return true;
	}
	return false;
}

static bool parse_setopts(struct rs_ctx *x, struct setopts *o, uint32_t from, uint32_t argc,
			  const struct rs_arg *argv, bool is_set)
{
	o->flags = 0;
	o->expire = NULL;
	for (uint32_t j = from; j < argc; j++) {
		const struct rs_arg *next = j + 1 < argc ? &argv[j + 1] : NULL;
		if (!set_option(o, &argv[j], next, is_set)) {
			rs_reply_error(x->c, RS_ERR_SYNTAX);
			return false;
		}
		if (o->expire == next && next)
			j++;
	}
	return true;
}

/* Redis' getExpireMillisecondsOrReply: the absolute expiry in ms. */
static bool expire_ms(struct rs_ctx *x, const struct rs_arg *a, uint32_t flags, const char *cmd,
		      int64_t *ms)
{
	if (!rs_int_or_reply(x, a, ms))
		return false;
	bool secs = flags & (O_EX | O_EXAT);
	int64_t now = (int64_t)x->e->now_ms;
	if (*ms <= 0 || (secs && *ms > INT64_MAX / 1000))
		goto bad;
	if (secs)
		*ms *= 1000;
	if (flags & (O_EX | O_PX)) {
		if (*ms > INT64_MAX - now)
			goto bad;
		*ms += now;
	}
	return true;
bad:
	rs_reply_errorf(x->c, "ERR invalid expire time in '%s' command", cmd);
	return false;
}

/* ---- GET, SET and its variants ---- */

/* Redis' getGenericCommand: false after a WRONGTYPE reply. */
static bool get_generic(struct rs_ctx *x, const struct rs_arg *key)
{
	struct rs_obj *o = rs_lookup_read(x, key);
	if (!o) {
		rs_reply_nil(x->c);
		return true;
	}
	if (rs_wrongtype(x, o, RS_T_STRING))
		return false;
	rs_reply_bulk(x->c, o->s.p, o->s.len);
	return true;
}

/* A string's value, or nil. */
static void reply_value(struct rs_ctx *x, const struct rs_obj *o)
{
	if (o)
		rs_reply_bulk(x->c, o->s.p, o->s.len);
	else
		rs_reply_nil(x->c);
}

static void cmd_get(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	get_generic(x, &argv[1]);
}

/* Redis' setGenericCommand. ok/abort: the replies other than +OK/nil
 * (SETNX's 1/0), as integers; -1 for the default. */
static void set_generic(struct rs_ctx *x, const struct setopts *so, const struct rs_arg *key,
			const struct rs_arg *val, const char *cmd, int ok, int abort)
{
	int64_t when = so->flags & O_KEEPTTL ? RS_KEEPTTL : RS_NOTTL;
	if (so->expire && !expire_ms(x, so->expire, so->flags, cmd, &when))
		return;
	if (so->flags & O_GET) {
		struct rs_obj *old = rs_lookup_read(x, key);
		if (rs_wrongtype(x, old, RS_T_STRING))
			return;
	}
	bool found = rs_lookup_write(x, key) != NULL;
	if (((so->flags & O_NX) && found) || ((so->flags & O_XX) && !found)) {
		if (so->flags & O_GET)
			get_generic(x, key);
		else if (abort >= 0)
			rs_reply_int(x->c, abort);
		else
			rs_reply_nil(x->c);
		return;
	}
	struct rs_obj *o = rs_obj_string(val->p, val->len), *old = NULL;
	if (!o || rs_db_set(x, key, o, when, &old) < 0) {
		rs_obj_free(o);
		rs_reply_oom(x);
		return;
	}
	if (so->flags & O_GET) {
		reply_value(x, old);
	} else {
		if (ok >= 0)
			rs_reply_int(x->c, ok);
		else
			rs_reply_ok(x->c);
	}
	rs_obj_free(old);
	if (so->expire)
		rs_propagatef(x, "saasi", "SET", key, val, "PXAT", when);
}

static void cmd_set(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	struct setopts so;
	if (parse_setopts(x, &so, 3, argc, argv, true))
		set_generic(x, &so, &argv[1], &argv[2], "set", -1, -1);
}

static void cmd_setnx(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	struct setopts so = { O_NX, NULL };
	set_generic(x, &so, &argv[1], &argv[2], "setnx", 1, 0);
}

static void cmd_setex(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	struct setopts so = { O_EX, &argv[2] };
	set_generic(x, &so, &argv[1], &argv[3], "setex", -1, -1);
}

static void cmd_psetex(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	struct setopts so = { O_PX, &argv[2] };
	set_generic(x, &so, &argv[1], &argv[3], "psetex", -1, -1);
}

static void cmd_getset(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	struct rs_obj *old = rs_lookup_read(x, &argv[1]);
	if (rs_wrongtype(x, old, RS_T_STRING))
		return;
	struct rs_obj *o = rs_obj_string(argv[2].p, argv[2].len);
	if (!o || rs_db_set(x, &argv[1], o, RS_NOTTL, &old) < 0) {
		rs_obj_free(o);
		rs_reply_oom(x);
		return;
	}
	reply_value(x, old);
	rs_obj_free(old);
	rs_propagatef(x, "saa", "SET", &argv[1], &argv[2]);
}

static void cmd_getdel(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	if (get_generic(x, &argv[1]) && rs_db_delete(x, &argv[1]))
		rs_propagatef(x, "sa", "DEL", &argv[1]);
}

/* GETEX's change of the key's time to live, after its value was read. */
static void getex_apply(struct rs_ctx *x, const struct rs_arg *key, const struct rs_obj *o,
			const struct setopts *so, int64_t ms)
{
	if ((so->flags & (O_EXAT | O_PXAT)) && ms <= (int64_t)x->e->now_ms) {
		rs_reply_bulk(x->c, o->s.p, o->s.len);
		rs_db_delete(x, key);
		rs_propagatef(x, "sa", "DEL", key);
	} else if (so->expire) {
		if (rs_db_set_expire(x, key, ms) < 0) {
			rs_reply_oom(x);
			return;
		}
		rs_reply_bulk(x->c, o->s.p, o->s.len);
		rs_propagatef(x, "sai", "PEXPIREAT", key, ms);
	} else {
		rs_reply_bulk(x->c, o->s.p, o->s.len);
		if ((so->flags & O_PERSIST) && rs_db_persist(x, key))
			rs_propagatef(x, "sa", "PERSIST", key);
	}
}

static void cmd_getex(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	struct setopts so;
	if (!parse_setopts(x, &so, 2, argc, argv, false))
		return;
	struct rs_obj *o = rs_lookup_read(x, &argv[1]);
	if (!o) {
		rs_reply_nil(x->c);
		return;
	}
	if (rs_wrongtype(x, o, RS_T_STRING))
		return;
	int64_t ms = 0;
	if (so.expire && !expire_ms(x, so.expire, so.flags, "getex", &ms))
		return;
	getex_apply(x, &argv[1], o, &so, ms);
}

/* ---- in-place changes ---- */

/* Redis' checkStringLength against proto-max-bulk-len. */
static bool length_ok(struct rs_ctx *x, uint64_t size, uint64_t add)
{
	uint64_t max = x->e->lim.proto_max_bulk_len;
	if (size + add < size || size + add > max) {
		rs_reply_error(x->c,
			       "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
		return false;
	}
	return true;
}

/* Make room for n bytes in the string o (new bytes zero). -1: no memory. */
static int str_reserve(struct rs_obj *o, size_t n)
{
	if (n <= o->s.cap)
		return 0;
	size_t cap = o->s.cap * 2 > n ? o->s.cap * 2 : n;
	uint8_t *p = rs_realloc(o->s.p, cap);
	if (!p && !(p = rs_realloc(o->s.p, cap = n)))
		return -1;
	memset(p + o->s.len, 0, cap - o->s.len);
	o->s.p = p;
	o->s.cap = cap;
	return 0;
}

static void cmd_append(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	struct rs_obj *o = rs_lookup_write(x, &argv[1]);
	if (rs_wrongtype(x, o, RS_T_STRING))
		return;
	if (!o) {
		if (!(o = rs_obj_string(argv[2].p, argv[2].len)) || rs_db_add(x, &argv[1], o) < 0) {
			rs_obj_free(o);
			rs_reply_oom(x);
			return;
		}
	} else {
		if (!length_ok(x, o->s.len, argv[2].len))
			return;
		if (str_reserve(o, o->s.len + argv[2].len) < 0) {
			rs_reply_oom(x);
			return;
		}
		memcpy(o->s.p + o->s.len, argv[2].p, argv[2].len);
		o->s.len += argv[2].len;
		o->big = true;
		rs_db_touch(x);
	}
	rs_reply_int(x->c, (int64_t)o->s.len);
}

static void cmd_strlen(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	struct rs_obj *o = rs_lookup_read(x, &argv[1]);
	if (rs_wrongtype(x, o, RS_T_STRING))
		return;
	rs_reply_int(x->c, o ? (int64_t)o->s.len : 0);
}

static void cmd_getrange(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	int64_t start, end;
	if (!rs_int_or_reply(x, &argv[2], &start) || !rs_int_or_reply(x, &argv[3], &end))
		return;
	struct rs_obj *o = rs_lookup_read(x, &argv[1]);
	if (rs_wrongtype(x, o, RS_T_STRING))
		return;
	int64_t len = o ? (int64_t)o->s.len : 0;
	if (start < 0 && end < 0 && start > end) {
		rs_reply_bulk(x->c, "", 0);
		return;
	}
	if (start < 0)
		start = len + start;
	if (end < 0)
		end = len + end;
	if (start < 0)
		start = 0;
	if (end < 0)
		end = 0;
	if (end >= len)
		end = len - 1;
	if (start > end || len == 0)
		rs_reply_bulk(x->c, "", 0);
	else
		rs_reply_bulk(x->c, o->s.p + start, (size_t)(end - start + 1));
}

static struct rs_obj *setrange_target(struct rs_ctx *x, const struct rs_arg *key, int64_t off,
				      const struct rs_arg *val)
{
	struct rs_obj *o = rs_obj_string("", 0);
	if (!o || str_reserve(o, (size_t)off + val->len) < 0 || rs_db_add(x, key, o) < 0) {
		rs_obj_free(o);
		return NULL;
	}
	return o;
}

static void cmd_setrange(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	int64_t off;
	const struct rs_arg *val = &argv[3];
	if (!rs_int_or_reply(x, &argv[2], &off))
		return;
	if (off < 0) {
		rs_reply_error(x->c, "ERR offset is out of range");
		return;
	}
	struct rs_obj *o = rs_lookup_write(x, &argv[1]);
	if (rs_wrongtype(x, o, RS_T_STRING))
		return;
	if (!val->len) {
		rs_reply_int(x->c, o ? (int64_t)o->s.len : 0);
		return;
	}
	if (!length_ok(x, (uint64_t)off, val->len))
		return;
	if (!o ? !(o = setrange_target(x, &argv[1], off, val))
	       : str_reserve(o, (size_t)off + val->len) < 0) {
		rs_reply_oom(x);
		return;
	}
	memcpy(o->s.p + off, val->p, val->len);
	if ((size_t)off + val->len > o->s.len)
		o->s.len = (size_t)off + val->len;
	o->big = true;
	rs_db_touch(x);
	rs_reply_int(x->c, (int64_t)o->s.len);
}

/* ---- counters ---- */

/* Replace the string o's bytes (the key keeps its time to live). */
static int str_assign(struct rs_obj *o, const char *p, size_t n)
{
	if (n > o->s.cap) {
		uint8_t *q = rs_realloc(o->s.p, n);
		if (!q)
			return -1;
		o->s.p = q;
		o->s.cap = n;
	}
	memcpy(o->s.p, p, n);
	o->s.len = n;
	o->big = false;
	return 0;
}

/* Store the text p[0..n) at key: in place (keeping the time to live) if
 * o is the key's string, else as a new key. -1: no memory. */
static int store_text(struct rs_ctx *x, const struct rs_arg *key, struct rs_obj *o, const char *p,
		      size_t n)
{
	if (o) {
		if (str_assign(o, p, n) < 0)
			return -1;
		rs_db_touch(x);
		return 0;
	}
	if (!(o = rs_obj_string(p, n)) || rs_db_add(x, key, o) < 0) {
		rs_obj_free(o);
		return -1;
	}
	return 0;
}

static void incr_generic(struct rs_ctx *x, const struct rs_arg *key, int64_t incr)
{
	struct rs_obj *o = rs_lookup_write(x, key);
	if (rs_wrongtype(x, o, RS_T_STRING))
		return;
	int64_t v = 0;
	if (o && !rs_int_or_reply(x, &(struct rs_arg){ o->s.p, o->s.len }, &v))
		return;
	if (!rs_add_or_reply(x, &v, incr))
		return;
	char buf[24];
	int n = fmt_snprintf(buf, sizeof(buf), "%lld", (long long)v);
	if (store_text(x, key, o, buf, (size_t)n) < 0) {
		rs_reply_oom(x);
		return;
	}
	if (o)
		o->noint = false;
	rs_reply_int(x->c, v);
}

static void cmd_incr(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	incr_generic(x, &argv[1], 1);
}

static void cmd_decr(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	incr_generic(x, &argv[1], -1);
}

static void cmd_incrby(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	int64_t incr;
	if (rs_int_or_reply(x, &argv[2], &incr))
		incr_generic(x, &argv[1], incr);
}

static void cmd_decrby(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	int64_t incr;
	if (!rs_int_or_reply(x, &argv[2], &incr))
		return;
	if (incr == INT64_MIN) {
		rs_reply_error(x->c, "ERR decrement would overflow");
		return;
	}
	incr_generic(x, &argv[1], -incr);
}

static bool ldouble_or_reply(struct rs_ctx *x, const struct rs_arg *a, long double *d)
{
	if (rs_arg_ldouble(a, d))
		return true;
	rs_reply_error(x->c, RS_ERR_NOTFLOAT);
	return false;
}

/* INCRBYFLOAT: as Redis, in x87's long double (so 10.5 + 0.1 is 10.6 and
 * 5010.6 shows its binary tail) and stored as Redis' "%.17Lf" form. */
static void cmd_incrbyfloat(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	static char buf[RS_LDOUBLE_BUF]; /* off the small guest stack */
	struct rs_obj *o = rs_lookup_write(x, &argv[1]);
	if (rs_wrongtype(x, o, RS_T_STRING))
		return;
	long double v = 0, incr;
	if ((o && !ldouble_or_reply(x, &(struct rs_arg){ o->s.p, o->s.len }, &v)) ||
	    !ldouble_or_reply(x, &argv[2], &incr))
		return;
	v += incr;
	if (v != v || v - v != 0) { /* NaN, or an infinity (inf - inf is NaN) */
		rs_reply_error(x->c, "ERR increment would produce NaN or Infinity");
		return;
	}
	size_t n = rs_fmt_ldouble(buf, sizeof(buf), v);
	if (store_text(x, &argv[1], o, buf, n) < 0) {
		rs_reply_oom(x);
		return;
	}
	o = rs_lookup_write(x, &argv[1]);
	o->noint = true; /* Redis makes it with createStringObject: embstr or raw */
	rs_reply_bulk(x->c, buf, n);
	struct rs_arg val = { (const uint8_t *)buf, n };
	rs_propagatef(x, "saas", "SET", &argv[1], &val, "KEEPTTL");
}

/* ---- many keys ---- */

static void cmd_mget(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	rs_reply_array(x->c, argc - 1);
	for (uint32_t j = 1; j < argc; j++) {
		struct rs_obj *o = rs_lookup_read(x, &argv[j]);
		if (o && o->type == RS_T_STRING)
			rs_reply_bulk(x->c, o->s.p, o->s.len);
		else
			rs_reply_nil(x->c);
	}
}

static void mset_generic(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv, bool nx)
{
	if (argc % 2 == 0) {
		rs_reply_errorf(x->c, "ERR wrong number of arguments for '%s' command",
				nx ? "msetnx" : "mset");
		return;
	}
	for (uint32_t j = 1; nx && j < argc; j += 2) {
		if (rs_lookup_write(x, &argv[j])) {
			rs_reply_int(x->c, 0);
			return;
		}
	}
	for (uint32_t j = 1; j < argc; j += 2) {
		struct rs_obj *o = rs_obj_string(argv[j + 1].p, argv[j + 1].len);
		if (!o || rs_db_set(x, &argv[j], o, RS_NOTTL, NULL) < 0) {
			rs_obj_free(o);
			rs_reply_oom(x);
			rs_propagate_prefix(x, j, 1, argv); /* the pairs before it are set */
			return;
		}
	}
	if (nx)
		rs_reply_int(x->c, 1);
	else
		rs_reply_ok(x->c);
}

static void cmd_mset(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	mset_generic(x, argc, argv, false);
}

static void cmd_msetnx(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	mset_generic(x, argc, argv, true);
}

static void cmd_substr(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	cmd_getrange(x, argc, argv);
}

/* ---- LCS ---- */

struct lcs {
	const uint8_t *a, *b;
	uint32_t alen, blen;
	uint32_t *t; /* (alen+1) x (blen+1): LCS lengths of the prefixes */
	bool idx, len, withlen;
	int64_t minlen;
};

struct lcs_match {
	uint32_t a0, a1, b0, b1;
};

#define LCS_T(l, i, j) ((l)->t[(size_t)(j) + (size_t)(i) * ((l)->blen + 1)])

static bool lcs_options(struct rs_ctx *x, struct lcs *l, uint32_t argc, const struct rs_arg *argv)
{
	for (uint32_t j = 3; j < argc; j++) {
		if (rs_arg_eq(&argv[j], "idx")) {
			l->idx = true;
		} else if (rs_arg_eq(&argv[j], "len")) {
			l->len = true;
		} else if (rs_arg_eq(&argv[j], "withmatchlen")) {
			l->withlen = true;
		} else if (rs_arg_eq(&argv[j], "minmatchlen") && j + 1 < argc) {
			if (!rs_int_or_reply(x, &argv[++j], &l->minlen))
				return false;
			if (l->minlen < 0)
				l->minlen = 0;
		} else {
			rs_reply_error(x->c, RS_ERR_SYNTAX);
			return false;
		}
	}
	if (l->len && l->idx) {
		rs_reply_error(x->c,
			       "ERR If you want both the length and indexes, please just use IDX.");
		return false;
	}
	return true;
}

/* The table, bounded as Redis bounds it: by proto-max-bulk-len. */
static bool lcs_table(struct rs_ctx *x, struct lcs *l)
{
	uint64_t cells = (uint64_t)(l->alen + 1) * (l->blen + 1);
	if (cells * sizeof(uint32_t) > x->e->lim.proto_max_bulk_len) {
		rs_reply_error(x->c, "ERR Insufficient memory, transient memory for LCS "
				     "exceeds proto-max-bulk-len");
		return false;
	}
	if (!(l->t = rs_alloc((size_t)cells * sizeof(uint32_t)))) {
		rs_reply_error(
		    x->c, "ERR Insufficient memory, failed allocating transient memory for LCS");
		return false;
	}
	for (uint32_t i = 0; i <= l->alen; i++) {
		for (uint32_t j = 0; j <= l->blen; j++) {
			if (!i || !j)
				LCS_T(l, i, j) = 0;
			else if (l->a[i - 1] == l->b[j - 1])
				LCS_T(l, i, j) = LCS_T(l, i - 1, j - 1) + 1;
			else if (LCS_T(l, i - 1, j) > LCS_T(l, i, j - 1))
				LCS_T(l, i, j) = LCS_T(l, i - 1, j);
			else
				LCS_T(l, i, j) = LCS_T(l, i, j - 1);
		}
	}
	return true;
}

/* Walk back from the end as Redis does: the common string into out, the
 * matching ranges (last first) into m; returns how many ranges. */
static uint32_t lcs_walk(const struct lcs *l, uint8_t *out, struct lcs_match *m)
{
	uint32_t i = l->alen, j = l->blen, k = LCS_T(l, i, j), n = 0;
	struct lcs_match cur = { l->alen, 0, 0, 0 }; /* a0 == alen: none open */
	while (i > 0 && j > 0) {
		bool emit = false;
		if (l->a[i - 1] == l->b[j - 1]) {
			out[--k] = l->a[i - 1];
			if (cur.a0 == l->alen)
				cur = (struct lcs_match){ i - 1, i - 1, j - 1, j - 1 };
			else if (cur.a0 == i && cur.b0 == j)
				cur.a0--, cur.b0--;
			else
				emit = true;
			if (cur.a0 == 0 || cur.b0 == 0)
				emit = true;
			i--, j--;
		} else {
			if (LCS_T(l, i - 1, j) > LCS_T(l, i, j - 1))
				i--;
			else
				j--;
			emit = cur.a0 != l->alen;
		}
		if (emit) {
			if (m && cur.a1 - cur.a0 + 1 >= l->minlen)
				m[n++] = cur;
			cur.a0 = l->alen;
		}
	}
	return n;
}

static void lcs_reply_idx(struct rs_ctx *x, const struct lcs *l, const struct lcs_match *m,
			  uint32_t n)
{
	rs_reply_array(x->c, 4);
	rs_reply_bulk_cstr(x->c, "matches");
	rs_reply_array(x->c, n);
	for (uint32_t i = 0; i < n; i++) {
		rs_reply_array(x->c, 2 + l->withlen);
		rs_reply_array(x->c, 2);
		rs_reply_int(x->c, m[i].a0);
		rs_reply_int(x->c, m[i].a1);
		rs_reply_array(x->c, 2);
		rs_reply_int(x->c, m[i].b0);
		rs_reply_int(x->c, m[i].b1);
		if (l->withlen)
			rs_reply_int(x->c, m[i].a1 - m[i].a0 + 1);
	}
	rs_reply_bulk_cstr(x->c, "len");
	rs_reply_int(x->c, LCS_T(l, l->alen, l->blen));
}

static void lcs_reply(struct rs_ctx *x, struct lcs *l)
{
	if (l->len) {
		rs_reply_int(x->c, LCS_T(l, l->alen, l->blen));
		return;
	}
	uint32_t most = (l->alen < l->blen ? l->alen : l->blen) + 1;
	uint8_t *out = rs_alloc(most);
	struct lcs_match *m = l->idx ? rs_alloc(most * sizeof(*m)) : NULL;
	if (!out || (l->idx && !m)) {
		rs_reply_oom(x);
	} else {
		uint32_t n = lcs_walk(l, out, m);
		if (l->idx)
			lcs_reply_idx(x, l, m, n);
		else
			rs_reply_bulk(x->c, out, LCS_T(l, l->alen, l->blen));
	}
	rs_free(out);
	rs_free(m);
}

static const struct rs_arg *str_or_empty(const struct rs_obj *o, struct rs_arg *a)
{
	*a = o ? (struct rs_arg){ o->s.p, o->s.len } : (struct rs_arg){ (const uint8_t *)"", 0 };
	return a;
}

static void cmd_lcs(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	struct rs_obj *oa = rs_lookup_read(x, &argv[1]), *ob = rs_lookup_read(x, &argv[2]);
	if ((oa && oa->type != RS_T_STRING) || (ob && ob->type != RS_T_STRING)) {
		rs_reply_error(x->c, "ERR The specified keys must contain string values");
		return;
	}
	struct lcs l = { 0 };
	struct rs_arg a, b;
	str_or_empty(oa, &a);
	str_or_empty(ob, &b);
	if (!lcs_options(x, &l, argc, argv))
		return;
	if (a.len >= UINT32_MAX - 1 || b.len >= UINT32_MAX - 1) {
		rs_reply_error(x->c, "ERR String too long for LCS");
		return;
	}
	l.a = a.p, l.b = b.p, l.alen = (uint32_t)a.len, l.blen = (uint32_t)b.len;
	if (lcs_table(x, &l))
		lcs_reply(x, &l);
	rs_free(l.t);
}

const struct rs_cmd rs_cmds_string[] = {
	/* from Redis 7.0's src/commands/<name>.json, as COMMAND reports */
	{ "get", 2, RS_CMD_READONLY | RS_CMD_FAST, 1, 1, 1, "string", "Get the value of a key",
	  "1.0.0", cmd_get },
	{ "set", -3, RS_CMD_WRITE | RS_CMD_DENYOOM, 1, 1, 1, "string",
	  "Set the string value of a key", "1.0.0", cmd_set },
	{ "setnx", 3, RS_CMD_WRITE | RS_CMD_DENYOOM | RS_CMD_FAST, 1, 1, 1, "string",
	  "Set the value of a key, only if the key does not exist", "1.0.0", cmd_setnx },
	{ "setex", 4, RS_CMD_WRITE | RS_CMD_DENYOOM, 1, 1, 1, "string",
	  "Set the value and expiration of a key", "2.0.0", cmd_setex },
	{ "psetex", 4, RS_CMD_WRITE | RS_CMD_DENYOOM, 1, 1, 1, "string",
	  "Set the value and expiration in milliseconds of a key", "2.6.0", cmd_psetex },
	{ "getset", 3, RS_CMD_WRITE | RS_CMD_DENYOOM | RS_CMD_FAST, 1, 1, 1, "string",
	  "Set the string value of a key and return its old value", "1.0.0", cmd_getset },
	{ "getdel", 2, RS_CMD_WRITE | RS_CMD_FAST, 1, 1, 1, "string",
	  "Get the value of a key and delete the key", "6.2.0", cmd_getdel },
	{ "getex", -2, RS_CMD_WRITE | RS_CMD_FAST, 1, 1, 1, "string",
	  "Get the value of a key and optionally set its expiration", "6.2.0", cmd_getex },
	{ "append", 3, RS_CMD_WRITE | RS_CMD_DENYOOM | RS_CMD_FAST, 1, 1, 1, "string",
	  "Append a value to a key", "2.0.0", cmd_append },
	{ "strlen", 2, RS_CMD_READONLY | RS_CMD_FAST, 1, 1, 1, "string",
	  "Get the length of the value stored in a key", "2.2.0", cmd_strlen },
	{ "getrange", 4, RS_CMD_READONLY, 1, 1, 1, "string",
	  "Get a substring of the string stored at a key", "2.4.0", cmd_getrange },
	{ "setrange", 4, RS_CMD_WRITE | RS_CMD_DENYOOM, 1, 1, 1, "string",
	  "Overwrite part of a string at key starting at the specified offset", "2.2.0",
	  cmd_setrange },
	{ "incr", 2, RS_CMD_WRITE | RS_CMD_DENYOOM | RS_CMD_FAST, 1, 1, 1, "string",
	  "Increment the integer value of a key by one", "1.0.0", cmd_incr },
	{ "decr", 2, RS_CMD_WRITE | RS_CMD_DENYOOM | RS_CMD_FAST, 1, 1, 1, "string",
	  "Decrement the integer value of a key by one", "1.0.0", cmd_decr },
	{ "incrby", 3, RS_CMD_WRITE | RS_CMD_DENYOOM | RS_CMD_FAST, 1, 1, 1, "string",
	  "Increment the integer value of a key by the given amount", "1.0.0", cmd_incrby },
	{ "decrby", 3, RS_CMD_WRITE | RS_CMD_DENYOOM | RS_CMD_FAST, 1, 1, 1, "string",
	  "Decrement the integer value of a key by the given number", "1.0.0", cmd_decrby },
	{ "incrbyfloat", 3, RS_CMD_WRITE | RS_CMD_DENYOOM | RS_CMD_FAST, 1, 1, 1, "string",
	  "Increment the float value of a key by the given amount", "2.6.0", cmd_incrbyfloat },
	{ "mget", -2, RS_CMD_READONLY | RS_CMD_FAST, 1, -1, 1, "string",
	  "Get the values of all the given keys", "1.0.0", cmd_mget },
	{ "mset", -3, RS_CMD_WRITE | RS_CMD_DENYOOM, 1, -1, 2, "string",
	  "Set multiple keys to multiple values", "1.0.1", cmd_mset },
	{ "msetnx", -3, RS_CMD_WRITE | RS_CMD_DENYOOM, 1, -1, 2, "string",
	  "Set multiple keys to multiple values, only if none of the keys exist", "1.0.1",
	  cmd_msetnx },
	{ "lcs", -3, RS_CMD_READONLY, 1, 2, 1, "string", "Find longest common substring", "7.0.0",
	  cmd_lcs },
	{ "substr", 4, RS_CMD_READONLY, 1, 1, 1, "string",
	  "Get a substring of the string stored at a key", "1.0.0", cmd_substr },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};
