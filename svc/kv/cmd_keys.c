/*
 * Redis 7.0's generic (keyspace) group as far as one database allows:
 * deleting, testing and renaming keys, KEYS and SCAN, expiry and time to
 * live, OBJECT ENCODING. A relative expiry is propagated as PEXPIREAT of
 * the absolute time, one already past as DEL.
 */
#include "db.h"
#include "string.h"

/* ---- existence ---- */

static void del_generic(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	int64_t n = 0;
	for (uint32_t j = 1; j < argc; j++) {
		rs_db_expire_if_needed(x->e, argv[j].p, argv[j].len);
		n += rs_db_delete(x, &argv[j]);
	}
	rs_reply_int(x->c, n);
}

static void cmd_del(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	del_generic(x, argc, argv);
}

static void cmd_unlink(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	del_generic(x, argc, argv);
}

/* EXISTS and TOUCH: how many of the arguments exist (repeats count). */
static void count_existing(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	int64_t n = 0;
	for (uint32_t j = 1; j < argc; j++)
		n += rs_lookup_read(x, &argv[j]) != NULL;
	rs_reply_int(x->c, n);
}

static void cmd_exists(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	count_existing(x, argc, argv);
}

static void cmd_touch(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	count_existing(x, argc, argv);
}

static void cmd_type(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	struct rs_obj *o = rs_lookup_read(x, &argv[1]);
	rs_reply_simple(x->c, o ? rs_type_name(o) : "none");
}

/* ---- KEYS, SCAN, RANDOMKEY ---- */

static bool keys_match(const struct rs_arg *pat, const struct rs_dent *e)
{
	bool all = pat->len == 1 && pat->p[0] == '*';
	return all || rs_glob(pat->p, pat->len, e->key, e->klen, false);
}

/* Two passes (count, then reply) so that KEYS allocates nothing; keys
 * past their time are left out, not deleted, as Redis. */
static void cmd_keys(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	const struct rs_dict *d = &x->e->db->keys;
	int64_t n = 0;
	for (int pass = 0; pass < 2; pass++) {
		struct rs_dict_it it = { 0, NULL };
		if (pass)
			rs_reply_array(x->c, n);
		for (struct rs_dent *e; (e = rs_dict_next(d, &it));) {
			if (!keys_match(&argv[1], e) || rs_db_is_expired(x->e, e->key, e->klen))
				continue;
			if (pass)
				rs_reply_bulk(x->c, e->key, e->klen);
			else
				n++;
		}
	}
}

struct scan {
	struct rs_dent **v; /* entries collected */
	size_t n, cap;
	bool oom;
	int64_t count;
	const struct rs_arg *pat, *type;
};

static void scan_collect(void *ctx, struct rs_dent *e)
{
	struct scan *s = ctx;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct rs_dent **v = rs_realloc(s->v, cap * sizeof(*v));
		if (!v) {
			s->oom = true;
			return;
		}
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = e;
}

/* Redis' parseScanCursorOrReply: strtoul(cursor, 10) on the argument as
 * a C string (up to a NUL byte), which must take all of it: an optional
 * sign ('-' negates modulo 2^64), digits, or nothing at all (cursor 0);
 * no leading space, no overflow. */
static bool scan_cursor(struct rs_ctx *x, const struct rs_arg *a, uint64_t *cur)
{
	size_t n = 0, i = 0;
	while (n < a->len && a->p[n] != 0)
		n++;
	bool neg = n > 0 && a->p[0] == '-';
	i = n > 0 && (a->p[0] == '-' || a->p[0] == '+');
	*cur = 0;
	if (i == n && n > 0)
		goto bad; /* a sign alone: strtoul converts nothing */
	for (; i < n; i++) {
		unsigned d = (unsigned)a->p[i] - '0';
		if (d > 9 || *cur > (UINT64_MAX - d) / 10)
			goto bad;
		*cur = *cur * 10 + d;
	}
	if (neg)
		*cur = 0 - *cur;
	return true;
bad:
	rs_reply_error(x->c, "ERR invalid cursor");
	return false;
}

static bool scan_options(struct rs_ctx *x, struct scan *s, uint32_t argc, const struct rs_arg *argv)
{
	for (uint32_t i = 2; i < argc; i += 2) {
		if (i + 1 >= argc) {
			rs_reply_error(x->c, RS_ERR_SYNTAX);
			return false;
		}
		if (rs_arg_eq(&argv[i], "count")) {
			if (!rs_int_or_reply(x, &argv[i + 1], &s->count))
				return false;
			if (s->count < 1) {
				rs_reply_error(x->c, RS_ERR_SYNTAX);
				return false;
			}
		} else if (rs_arg_eq(&argv[i], "match")) {
			s->pat = &argv[i + 1];
		} else if (rs_arg_eq(&argv[i], "type")) {
			s->type = &argv[i + 1];
		} else {
			rs_reply_error(x->c, RS_ERR_SYNTAX);
			return false;
		}
	}
	return true;
}

/* Whether SCAN returns e: its pattern and type, and not past its time. */
static bool scan_keep(struct rs_ctx *x, const struct scan *s, const struct rs_dent *e)
{
	if (s->pat && !keys_match(s->pat, e))
		return false;
	if (rs_db_is_expired(x->e, e->key, e->klen))
		return false;
	return !s->type || rs_arg_eq(s->type, rs_type_name(e->v.p));
}

/* Keys found past their time are left out, then deleted, as Redis. */
static void scan_reply(struct rs_ctx *x, struct scan *s, uint64_t cursor)
{
	int64_t kept = 0;
	for (size_t i = 0; i < s->n; i++)
		kept += scan_keep(x, s, s->v[i]);
	rs_reply_array(x->c, 2);
	rs_reply_bulk_int(x->c, (int64_t)cursor);
	rs_reply_array(x->c, kept);
	for (size_t i = 0; i < s->n; i++)
		if (scan_keep(x, s, s->v[i]))
			rs_reply_bulk(x->c, s->v[i]->key, s->v[i]->klen);
	for (size_t i = 0; i < s->n; i++)
		rs_db_expire_if_needed(x->e, s->v[i]->key, s->v[i]->klen);
}

static void cmd_scan(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	uint64_t cursor;
	struct scan s = { .count = 10 };
	if (!scan_cursor(x, &argv[1], &cursor) || !scan_options(x, &s, argc, argv))
		return;
	const struct rs_dict *d = &x->e->db->keys;
	int64_t tries = s.count > INT64_MAX / 10 ? INT64_MAX : s.count * 10;
	do
		cursor = rs_dict_scan(d, cursor, scan_collect, &s);
	while (cursor && --tries > 0 && (int64_t)s.n < s.count && !s.oom);
	if (s.oom)
		rs_reply_oom(x);
	else
		scan_reply(x, &s, cursor);
	rs_free(s.v);
}

/* Redis' dbRandomKey: a key found expired is deleted and another drawn
 * (each draw deletes one or returns, so this ends). */
static void cmd_randomkey(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc, (void)argv;
	for (;;) {
		struct rs_dent *e = rs_dict_random(&x->e->db->keys, &x->e->rand_state);
		if (!e) {
			rs_reply_nil(x->c);
			return;
		}
		if (!rs_db_expire_if_needed(x->e, e->key, e->klen)) {
			rs_reply_bulk(x->c, e->key, e->klen);
			return;
		}
	}
}

/* ---- RENAME, COPY ---- */

static bool same_key(const struct rs_arg *a, const struct rs_arg *b)
{
	return a->len == b->len && !memcmp(a->p, b->p, a->len);
}

static void rename_generic(struct rs_ctx *x, const struct rs_arg *argv, bool nx)
{
	struct rs_obj *o = rs_lookup_write(x, &argv[1]);
	if (!o) {
		rs_reply_error(x->c, RS_ERR_NOKEY);
		return;
	}
	if (same_key(&argv[1], &argv[2])) {
		if (nx)
			rs_reply_int(x->c, 0);
		else
			rs_reply_ok(x->c);
		return;
	}
	if (nx && rs_lookup_write(x, &argv[2])) {
		rs_reply_int(x->c, 0);
		return;
	}
	int64_t when = rs_db_get_expire(x->e->db, &argv[1]);
	if (rs_db_set(x, &argv[2], o, when >= 0 ? when : RS_NOTTL, NULL) < 0) {
		rs_reply_oom(x);
		return;
	}
	rs_db_take(x, &argv[1]); /* o now lives at the new name */
	if (nx)
		rs_reply_int(x->c, 1);
	else
		rs_reply_ok(x->c);
}

static void cmd_rename(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	rename_generic(x, argv, false);
}

static void cmd_renamenx(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	rename_generic(x, argv, true);
}

static bool copy_options(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv, bool *replace)
{
	for (uint32_t j = 3; j < argc; j++) {
		int64_t db;
		if (rs_arg_eq(&argv[j], "replace")) {
			*replace = true;
		} else if (rs_arg_eq(&argv[j], "db") && j + 1 < argc) {
			if (!rs_int_or_reply(x, &argv[++j], &db))
				return false;
			if (db != 0) { /* the one database there is */
				rs_reply_error(x->c, "ERR DB index is out of range");
				return false;
			}
		} else {
			rs_reply_error(x->c, RS_ERR_SYNTAX);
			return false;
		}
	}
	return true;
}

static void cmd_copy(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	bool replace = false;
	if (!copy_options(x, argc, argv, &replace))
		return;
	if (same_key(&argv[1], &argv[2])) {
		rs_reply_error(x->c, "ERR source and destination objects are the same");
		return;
	}
	struct rs_obj *o = rs_lookup_read(x, &argv[1]);
	if (!o || (rs_lookup_write(x, &argv[2]) && !replace)) {
		rs_reply_int(x->c, 0);
		return;
	}
	int64_t when = rs_db_get_expire(x->e->db, &argv[1]);
	struct rs_obj *c = rs_obj_dup(o);
	if (!c || rs_db_set(x, &argv[2], c, when >= 0 ? when : RS_NOTTL, NULL) < 0) {
		rs_obj_free(c);
		rs_reply_oom(x);
		return;
	}
	rs_reply_int(x->c, 1);
}

/* ---- expiry ---- */

/* Redis' parseExtendedExpireArgumentsOrReply. */
enum { E_NX = 1, E_XX = 2, E_GT = 4, E_LT = 8 };

static bool expire_flags(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv, int *f)
{
	static const char *const names[] = { "nx", "xx", "gt", "lt" };
	*f = 0;
	for (uint32_t j = 3; j < argc; j++) {
		int k = 0;
		while (k < 4 && !rs_arg_eq(&argv[j], names[k]))
			k++;
		if (k == 4) {
			rs_reply_errorf(x->c, "ERR Unsupported option %.*s", (int)argv[j].len,
					(const char *)argv[j].p);
			return false;
		}
		*f |= 1 << k;
	}
	if ((*f & E_NX) && (*f & (E_XX | E_GT | E_LT))) {
		rs_reply_error(
		    x->c, "ERR NX and XX, GT or LT options at the same time are not compatible");
		return false;
	}
	if ((*f & E_GT) && (*f & E_LT)) {
		rs_reply_error(x->c, "ERR GT and LT options at the same time are not compatible");
		return false;
	}
	return true;
}

/* Whether NX/XX/GT/LT let the new time `when` replace `cur` (-1: none). */
static bool expire_allowed(int f, int64_t when, int64_t cur)
{
	if ((f & E_NX) && cur != -1)
		return false;
	if ((f & E_XX) && cur == -1)
		return false;
	if ((f & E_GT) && (when <= cur || cur == -1))
		return false;
	return !((f & E_LT) && cur != -1 && when >= cur);
}

/* The absolute time in ms, or false after "invalid expire time". */
static bool expire_when(struct rs_ctx *x, const struct rs_arg *a, int64_t base, bool secs,
			const char *cmd, int64_t *when)
{
	if (!rs_int_or_reply(x, a, when))
		return false;
	if (secs && (*when > INT64_MAX / 1000 || *when < INT64_MIN / 1000))
		goto bad;
	if (secs)
		*when *= 1000;
	if (*when > INT64_MAX - base)
		goto bad;
	*when += base;
	return true;
bad:
	rs_reply_errorf(x->c, "ERR invalid expire time in '%s' command", cmd);
	return false;
}

static void expire_generic(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv, int64_t base,
			   bool secs, const char *cmd)
{
	const struct rs_arg *key = &argv[1];
	int f;
	int64_t when;
	if (!expire_flags(x, argc, argv, &f) || !expire_when(x, &argv[2], base, secs, cmd, &when))
		return;
	if (!rs_lookup_write(x, key) || !expire_allowed(f, when, rs_db_get_expire(x->e->db, key))) {
		rs_reply_int(x->c, 0);
		return;
	}
	if (when <= (int64_t)x->e->now_ms) {
		rs_db_delete(x, key);
		rs_propagatef(x, "sa", "DEL", key);
	} else if (rs_db_set_expire(x, key, when) < 0) {
		rs_reply_oom(x);
		return;
	} else {
		rs_propagatef(x, "sai", "PEXPIREAT", key, when);
	}
	rs_reply_int(x->c, 1);
}

static void cmd_expire(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	expire_generic(x, argc, argv, (int64_t)x->e->now_ms, true, "expire");
}

static void cmd_pexpire(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	expire_generic(x, argc, argv, (int64_t)x->e->now_ms, false, "pexpire");
}

static void cmd_expireat(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	expire_generic(x, argc, argv, 0, true, "expireat");
}

static void cmd_pexpireat(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	expire_generic(x, argc, argv, 0, false, "pexpireat");
}

/* TTL and its kin: -2 no key, -1 no expiry; ms rounded to seconds as
 * Redis ((ms + 500) / 1000). */
static void ttl_generic(struct rs_ctx *x, const struct rs_arg *key, bool secs, bool abs)
{
	if (!rs_lookup_read(x, key)) {
		rs_reply_int(x->c, -2);
		return;
	}
	int64_t when = rs_db_get_expire(x->e->db, key);
	if (when < 0) {
		rs_reply_int(x->c, -1);
		return;
	}
	int64_t v = abs ? when : when - (int64_t)x->e->now_ms;
	if (v < 0)
		v = 0;
	rs_reply_int(x->c, secs ? (v + 500) / 1000 : v);
}

static void cmd_ttl(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	ttl_generic(x, &argv[1], true, false);
}

static void cmd_pttl(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	ttl_generic(x, &argv[1], false, false);
}

static void cmd_expiretime(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	ttl_generic(x, &argv[1], true, true);
}

static void cmd_pexpiretime(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	ttl_generic(x, &argv[1], false, true);
}

static void cmd_persist(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	bool done = rs_lookup_write(x, &argv[1]) && rs_db_persist(x, &argv[1]);
	rs_reply_int(x->c, done);
}

/* ---- OBJECT ---- */

static const char *const object_help[] = {
	"OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"ENCODING <key>",
	"    Return the kind of internal representation used in order to store the value",
	"    associated with a <key>.",
	"FREQ <key>",
	"    Return the access frequency index of the <key>. The returned integer is",
	"    proportional to the logarithm of the recent access frequency of the key.",
	"IDLETIME <key>",
	"    Return the idle time of the <key>, that is the approximated number of",
	"    seconds elapsed since the last access to the key.",
	"REFCOUNT <key>",
	"    Return the number of references of the value associated with the specified",
	"    <key>.",
	"HELP",
	"    Prints this help.",
};

static void object_reply_help(struct rs_ctx *x)
{
	size_t n = sizeof(object_help) / sizeof(object_help[0]);
	rs_reply_array(x->c, (int64_t)n);
	for (size_t i = 0; i < n; i++)
		rs_reply_simple(x->c, object_help[i]);
}

/* OBJECT ENCODING, REFCOUNT and FREQ of a key (nil for none). FREQ is
 * Redis' error for a server whose maxmemory-policy is not LFU, as kv's
 * (noeviction) is. */
static void object_of_key(struct rs_ctx *x, const struct rs_arg *sub, const struct rs_arg *key)
{
	struct rs_obj *o = rs_lookup_read(x, key);
	if (!o)
		rs_reply_nil(x->c);
	else if (rs_arg_eq(sub, "encoding"))
		rs_reply_bulk_cstr(x->c, rs_obj_encoding(o));
	else if (rs_arg_eq(sub, "refcount"))
		rs_reply_int(x->c, rs_obj_refcount(o));
	else
		rs_reply_error(x->c,
			       "ERR An LFU maxmemory policy is not selected, access frequency "
			       "not tracked. Please note that when switching between policies "
			       "at runtime LRU and LFU data will take some time to adjust.");
}

/* OBJECT's subcommands: those above and HELP. IDLETIME is not kept (kv
 * keeps no access times), so it is an unknown subcommand here. */
static void cmd_object(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	static const char *const subs[] = { "encoding", "refcount", "freq" };
	if (argc == 2 && rs_arg_eq(&argv[1], "help")) {
		object_reply_help(x);
		return;
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (!rs_arg_eq(&argv[1], subs[i]))
			continue;
		if (argc == 3)
			object_of_key(x, &argv[1], &argv[2]);
		else
			rs_reply_errorf(
			    x->c, "ERR wrong number of arguments for 'object|%s' command", subs[i]);
		return;
	}
	rs_reply_errorf(x->c, "ERR unknown subcommand '%.*s'. Try OBJECT HELP.",
			(int)(argv[1].len > 128 ? 128 : argv[1].len), (const char *)argv[1].p);
}

const struct rs_cmd rs_cmds_keys[] = {
	/* from Redis 7.0's src/commands/<name>.json, as COMMAND reports;
	 * OBJECT's subcommands are its handler's */
	{ "del", -2, RS_CMD_WRITE, 1, -1, 1, "generic", "Delete a key", "1.0.0", cmd_del },
	{ "unlink", -2, RS_CMD_WRITE | RS_CMD_FAST, 1, -1, 1, "generic",
	  "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non "
	  "blocking.",
	  "4.0.0", cmd_unlink },
	{ "exists", -2, RS_CMD_READONLY | RS_CMD_FAST, 1, -1, 1, "generic",
	  "Determine if a key exists", "1.0.0", cmd_exists },
	{ "type", 2, RS_CMD_READONLY | RS_CMD_FAST, 1, 1, 1, "generic",
	  "Determine the type stored at key", "1.0.0", cmd_type },
	{ "keys", 2, RS_CMD_READONLY, 0, 0, 0, "generic",
	  "Find all keys matching the given pattern", "1.0.0", cmd_keys },
	{ "scan", -2, RS_CMD_READONLY, 0, 0, 0, "generic", "Incrementally iterate the keys space",
	  "2.8.0", cmd_scan },
	{ "randomkey", 1, RS_CMD_READONLY, 0, 0, 0, "generic",
	  "Return a random key from the keyspace", "1.0.0", cmd_randomkey },
	{ "rename", 3, RS_CMD_WRITE, 1, 2, 1, "generic", "Rename a key", "1.0.0", cmd_rename },
	{ "renamenx", 3, RS_CMD_WRITE | RS_CMD_FAST, 1, 2, 1, "generic",
	  "Rename a key, only if the new key does not exist", "1.0.0", cmd_renamenx },
	{ "copy", -3, RS_CMD_WRITE | RS_CMD_DENYOOM, 1, 2, 1, "generic", "Copy a key", "6.2.0",
	  cmd_copy },
	{ "expire", -3, RS_CMD_WRITE | RS_CMD_FAST, 1, 1, 1, "generic",
	  "Set a key's time to live in seconds", "1.0.0", cmd_expire },
	{ "pexpire", -3, RS_CMD_WRITE | RS_CMD_FAST, 1, 1, 1, "generic",
	  "Set a key's time to live in milliseconds", "2.6.0", cmd_pexpire },
	{ "expireat", -3, RS_CMD_WRITE | RS_CMD_FAST, 1, 1, 1, "generic",
	  "Set the expiration for a key as a UNIX timestamp", "1.2.0", cmd_expireat },
	{ "pexpireat", -3, RS_CMD_WRITE | RS_CMD_FAST, 1, 1, 1, "generic",
	  "Set the expiration for a key as a UNIX timestamp specified in milliseconds", "2.6.0",
	  cmd_pexpireat },
	{ "ttl", 2, RS_CMD_READONLY | RS_CMD_FAST, 1, 1, 1, "generic",
	  "Get the time to live for a key in seconds", "1.0.0", cmd_ttl },
	{ "pttl", 2, RS_CMD_READONLY | RS_CMD_FAST, 1, 1, 1, "generic",
	  "Get the time to live for a key in milliseconds", "2.6.0", cmd_pttl },
	{ "expiretime", 2, RS_CMD_READONLY | RS_CMD_FAST, 1, 1, 1, "generic",
	  "Get the expiration Unix timestamp for a key", "7.0.0", cmd_expiretime },
	{ "pexpiretime", 2, RS_CMD_READONLY | RS_CMD_FAST, 1, 1, 1, "generic",
	  "Get the expiration Unix timestamp for a key in milliseconds", "7.0.0", cmd_pexpiretime },
	{ "persist", 2, RS_CMD_WRITE | RS_CMD_FAST, 1, 1, 1, "generic",
	  "Remove the expiration from a key", "2.2.0", cmd_persist },
	{ "touch", -2, RS_CMD_READONLY | RS_CMD_FAST, 1, -1, 1, "generic",
	  "Alters the last access time of a key(s). Returns the number of existing keys specified.",
	  "3.2.1", cmd_touch },
	{ "object", -2, 0, 0, 0, 0, "generic", "A container for object introspection commands",
	  "2.2.3", cmd_object },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};
