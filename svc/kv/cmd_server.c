/*
 * Connection and server commands: PING, ECHO, QUIT, HELLO, CLIENT, INFO,
 * DBSIZE, CONFIG, TIME, SELECT, FLUSHDB, FLUSHALL, with Redis 7.0's
 * replies and error texts. kv speaks RESP2 only and has one database.
 */
#include "db.h"
#include "resp.h"

#include <stdarg.h>

#include "fmt.h"
#include "string.h"

/* What kv answers as its Redis version (HELLO, INFO): the release whose
 * semantics it keeps, so that clients choose the same features. */
#define RS_REDIS_VERSION "7.0.15"

/* ---- container commands (CLIENT, CONFIG): Redis' subcommand errors ---- */

struct subcmd {
	const char *name; /* lower case */
	int arity;	  /* as rs_cmd's, the container's name counted */
	rs_cmd_fn *fn;
};

/* Run argv[1] from subs, or answer as Redis does for an unknown one or a
 * wrong count ("ERR wrong number of arguments for 'client|setname' ..."). */
static void run_subcmd(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv,
		       const struct subcmd *subs, const char *container)
{
	const struct subcmd *s = subs;

	while (s->name != NULL && !rs_arg_eq(&argv[1], s->name))
		s++;
	if (s->name == NULL) {
		rs_reply_errorf(x->c, "ERR unknown subcommand '%.*s'. Try %s HELP.",
				(int)(argv[1].len < 128 ? argv[1].len : 128),
				(const char *)argv[1].p, container);
		return;
	}
	if (s->arity > 0 ? argc != (uint32_t)s->arity : argc < (uint32_t)-s->arity) {
		char lower[16];
		size_t i;

		for (i = 0; container[i] != '\0' && i + 1 < sizeof(lower); i++)
			lower[i] = (char)(container[i] | 0x20);
		lower[i] = '\0';
		rs_reply_errorf(x->c, "ERR wrong number of arguments for '%s|%s' command", lower,
				s->name);
		return;
	}
	s->fn(x, argc, argv);
}

/* ---- connection ---- */

static void cmd_ping(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	if (argc > 2)
		rs_reply_error(x->c, "ERR wrong number of arguments for 'ping' command");
	else if (argc == 2)
		rs_reply_bulk(x->c, argv[1].p, argv[1].len);
	else
		rs_reply_simple(x->c, "PONG");
}

static void cmd_echo(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	rs_reply_bulk(x->c, argv[1].p, argv[1].len);
}

static void cmd_quit(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	(void)argv;
	rs_reply_ok(x->c);
	x->c->close_after_reply = true;
}

/* Redis' rule for a client name: printable ASCII, no spaces (so CLIENT
 * LIST splits on spaces); kv also bounds it to its name field. "" clears. */
static bool set_name(struct rs_client *c, const struct rs_arg *name)
{
	for (size_t i = 0; i < name->len; i++) {
		if (name->p[i] < '!' || name->p[i] > '~') {
			rs_reply_error(c, "ERR Client names cannot contain spaces, newlines or "
					  "special characters.");
			return false;
		}
	}
	if (name->len >= sizeof(c->name)) {
		rs_reply_errorf(c, "ERR Client names longer than %u bytes are not supported",
				(unsigned)sizeof(c->name) - 1);
		return false;
	}
	memcpy(c->name, name->p, name->len);
	c->name[name->len] = '\0';
	return true;
}

#define WRONGPASS "WRONGPASS invalid username-password pair or user is disabled."

/* kv has Redis' default configuration's one user: "default", with no
 * password (nopass), so any password is right for it and every other
 * name is refused. */
static bool auth_ok(struct rs_ctx *x, const struct rs_arg *user)
{
	if (user->len == 7 && memcmp(user->p, "default", 7) == 0)
		return true;
	rs_reply_error(x->c, WRONGPASS);
	return false;
}

/* AUTH [username] password, as Redis 7.0 answers it with no password
 * configured. */
static void cmd_auth(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	if (argc > 3)
		rs_reply_error(x->c, RS_ERR_SYNTAX);
	else if (argc == 2)
		rs_reply_error(x->c, "ERR AUTH <password> called without any password configured "
				     "for the default user. Are you sure your configuration is "
				     "correct?");
	else if (auth_ok(x, &argv[1]))
		rs_reply_ok(x->c);
}

/* HELLO's options after the version, each taking effect as it is read
 * (Redis 7.0's order: a name set before a wrong user or a syntax error
 * stays): AUTH username password, SETNAME name. */
static bool hello_options(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{

	for (uint32_t j = 2; j < argc; j++) {
		uint32_t more = argc - 1 - j;

		if (rs_arg_eq(&argv[j], "auth") && more >= 2) {
			if (!auth_ok(x, &argv[j + 1]))
				return false;
			j += 2;
		} else if (rs_arg_eq(&argv[j], "setname") && more >= 1) {
			if (!set_name(x->c, &argv[++j]))
				return false;
		} else {
			rs_reply_errorf(x->c, "ERR Syntax error in HELLO option '%.*s'",
					(int)(argv[j].len < 128 ? argv[j].len : 128),
					(const char *)argv[j].p);
			return false;
		}
	}
	return true;
}

static void cmd_hello(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	struct rs_client *c = x->c;
	int64_t ver = 2;

	if (argc >= 2 && !rs_arg_int(&argv[1], &ver)) {
		rs_reply_error(c, "ERR Protocol version is not an integer or out of range");
		return;
	}
	if (ver != 2) { /* 3 too: kv speaks RESP2 only */
		rs_reply_error(c, "NOPROTO unsupported protocol version");
		return;
	}
	if (argc >= 3 && !hello_options(x, argc, argv))
		return;
	rs_reply_array(c, 14); /* Redis' map, flattened as RESP2 does */
	rs_reply_bulk_cstr(c, "server");
	rs_reply_bulk_cstr(c, "redis");
	rs_reply_bulk_cstr(c, "version");
	rs_reply_bulk_cstr(c, RS_REDIS_VERSION);
	rs_reply_bulk_cstr(c, "proto");
	rs_reply_int(c, 2);
	rs_reply_bulk_cstr(c, "id");
	rs_reply_int(c, (int64_t)c->id);
	rs_reply_bulk_cstr(c, "mode");
	rs_reply_bulk_cstr(c, "standalone");
	rs_reply_bulk_cstr(c, "role");
	rs_reply_bulk_cstr(c, "master");
	rs_reply_bulk_cstr(c, "modules");
	rs_reply_array(c, 0);
}

static void client_id(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	(void)argv;
	rs_reply_int(x->c, (int64_t)x->c->id);
}

static void client_setname(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	if (set_name(x->c, &argv[2]))
		rs_reply_ok(x->c);
}

static void client_getname(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	(void)argv;
	if (x->c->name[0] == '\0')
		rs_reply_nil(x->c);
	else
		rs_reply_bulk_cstr(x->c, x->c->name);
}

static const struct subcmd client_subs[] = {
	{ "id", 2, client_id },
	{ "setname", 3, client_setname },
	{ "getname", 2, client_getname },
	{ NULL, 0, NULL },
};

static void cmd_client(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	run_subcmd(x, argc, argv, client_subs, "CLIENT");
}

/* ---- INFO ---- */

struct text {
	char buf[3072];
	size_t len;
};

static void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = fmt_vsnprintf(t->buf + t->len, sizeof(t->buf) - t->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->len +=
		    (size_t)n < sizeof(t->buf) - t->len ? (size_t)n : sizeof(t->buf) - t->len - 1;
}

/* Redis' bytesToHuman: "%.2f" of n in the largest unit under it, rounded
 * half to even as printf does. */
static void add_human(struct text *t, const char *key, uint64_t n)
{
	static const char units[] = "KMGTP";
	uint64_t unit = 1024, q, r;
	int u = 0;

	if (n < 1024) {
		text_add(t, "%s:%lluB\r\n", key, (unsigned long long)n);
		return;
	}
	while (u < 4 && n >= unit * 1024) {
		unit *= 1024;
		u++;
	}
	q = n / unit * 100 + n % unit * 100 / unit;
	r = n % unit * 100 % unit;
	if (2 * r > unit || (2 * r == unit && (q & 1)))
		q++;
	text_add(t, "%s:%llu.%02llu%c\r\n", key, (unsigned long long)(q / 100),
		 (unsigned long long)(q % 100), units[u]);
}

void rs_new_run_id(struct rs_engine *e)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i + 1 < sizeof(e->run_id); i += 16) {
		uint64_t r = rs_rand(&e->rand_state);

		for (size_t j = 0; j < 16 && i + j + 1 < sizeof(e->run_id); j++, r >>= 4)
			e->run_id[i + j] = hex[r & 15];
	}
	e->run_id[sizeof(e->run_id) - 1] = 0;
}

static void info_server(struct rs_engine *e, struct text *t)
{
	uint64_t up = (e->now_ms - e->start_ms) / 1000;

	text_add(t, "# Server\r\nredis_version:%s\r\nredis_mode:standalone\r\n", RS_REDIS_VERSION);
	text_add(t, "os:Vesta\r\narch_bits:64\r\nmultiplexing_api:vesta\r\nprocess_id:1\r\n");
	text_add(t, "run_id:%s\r\n", e->run_id);
	text_add(t, "tcp_port:6379\r\nuptime_in_seconds:%llu\r\nuptime_in_days:%llu\r\nhz:10\r\n",
		 (unsigned long long)up, (unsigned long long)(up / 86400));
	text_add(t, "executable:/kv\r\nconfig_file:\r\n");
}

static void info_clients(struct rs_engine *e, struct text *t)
{
	text_add(t, "# Clients\r\nconnected_clients:%u\r\nmaxclients:%u\r\nblocked_clients:0\r\n",
		 e->clients, e->lim.max_clients);
}

static void info_memory(struct rs_engine *e, struct text *t)
{
	text_add(t, "# Memory\r\nused_memory:%llu\r\n", (unsigned long long)rs_used());
	add_human(t, "used_memory_human", rs_used());
	text_add(t, "maxmemory:%llu\r\n", (unsigned long long)e->lim.maxmemory);
	add_human(t, "maxmemory_human", e->lim.maxmemory);
	text_add(t, "maxmemory_policy:noeviction\r\nmem_allocator:vesta\r\n");
}

/* Redis' AOF fields for kv's disk log (svc/kv/rdisk.h), and its counts:
 * kv_disk_commits (group commits) and kv_disk_flushes. */
static void info_persistence(struct rs_engine *e, struct text *t)
{
	const struct rs_persist *p = &e->persist;

	text_add(t,
		 "# Persistence\r\nloading:0\r\nrdb_changes_since_last_save:0\r\n"
		 "rdb_bgsave_in_progress:0\r\naof_enabled:%d\r\naof_rewrite_in_progress:0\r\n",
		 p->enabled);
	if (!p->enabled)
		return;
	text_add(t, "aof_rewrites:%llu\r\naof_last_write_status:%s\r\n",
		 (unsigned long long)p->rewrites, p->write_ok ? "ok" : "err");
	text_add(t, "kv_disk_commits:%llu\r\nkv_disk_flushes:%llu\r\n",
		 (unsigned long long)p->commits, (unsigned long long)p->flushes);
}

static void info_stats(struct rs_engine *e, struct text *t)
{
	text_add(t, "# Stats\r\ntotal_connections_received:%llu\r\n",
		 (unsigned long long)e->stat_connections);
	text_add(t, "total_commands_processed:%llu\r\nexpired_keys:%llu\r\nevicted_keys:0\r\n",
		 (unsigned long long)e->stat_commands, (unsigned long long)e->stat_expired);
	text_add(t, "keyspace_hits:%llu\r\nkeyspace_misses:%llu\r\n",
		 (unsigned long long)e->stat_keyspace_hits,
		 (unsigned long long)e->stat_keyspace_misses);
}

static void info_replication(struct rs_engine *e, struct text *t)
{
	(void)e;
	text_add(t, "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n");
}

/* An empty database is left out, as Redis does. */
static void info_keyspace(struct rs_engine *e, struct text *t)
{
	uint64_t keys = rs_db_size(e->db);

	text_add(t, "# Keyspace\r\n");
	if (keys > 0)
		text_add(t, "db0:keys=%llu,expires=%llu,avg_ttl=0\r\n", (unsigned long long)keys,
			 (unsigned long long)rs_db_expires(e->db));
}

static const struct info_section {
	const char *name;
	void (*fn)(struct rs_engine *e, struct text *t);
} info_sections[] = {
	{ "server", info_server },     { "clients", info_clients },
	{ "memory", info_memory },     { "persistence", info_persistence },
	{ "stats", info_stats },       { "replication", info_replication },
	{ "keyspace", info_keyspace }, { NULL, NULL },
};

/* Is section s asked for? No argument, "default", "all" and "everything"
 * ask for all of kv's sections. */
static bool info_wanted(const char *s, uint32_t argc, const struct rs_arg *argv)
{
	if (argc < 2)
		return true;
	for (uint32_t i = 1; i < argc; i++)
		if (rs_arg_eq(&argv[i], s) || rs_arg_eq(&argv[i], "default") ||
		    rs_arg_eq(&argv[i], "all") || rs_arg_eq(&argv[i], "everything"))
			return true;
	return false;
}

static void cmd_info(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	static struct text t; /* 3 KiB: off the guest's stack */
	int n = 0;

	t.len = 0;
	for (const struct info_section *s = info_sections; s->name != NULL; s++) {
		if (!info_wanted(s->name, argc, argv))
			continue;
		if (n++ > 0)
			text_add(&t, "\r\n");
		s->fn(x->e, &t);
	}
	rs_reply_bulk(x->c, t.buf, t.len);
}

/* ---- the keyspace as a whole ---- */

static void cmd_dbsize(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	(void)argv;
	rs_reply_int(x->c, (int64_t)rs_db_size(x->e->db));
}

static void cmd_select(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	int64_t id;

	(void)argc;
	if (!rs_arg_int(&argv[1], &id))
		rs_reply_error(x->c, RS_ERR_NOTINT);
	else if (id < INT32_MIN || id > INT32_MAX)
		rs_reply_error(x->c,
			       "ERR value is out of range, value must between -2147483648 and "
			       "2147483647");
	else if (id != 0)
		rs_reply_error(x->c, "ERR DB index is out of range");
	else
		rs_reply_ok(x->c);
}

/* FLUSHDB and FLUSHALL [ASYNC|SYNC]: kv frees at once either way. */
static void cmd_flush(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	if (argc > 2 ||
	    (argc == 2 && !rs_arg_eq(&argv[1], "sync") && !rs_arg_eq(&argv[1], "async"))) {
		rs_reply_error(x->c, RS_ERR_SYNTAX);
		return;
	}
	rs_db_flush(x->e->db);
	x->dirty = true;
	rs_reply_ok(x->c);
}

static void cmd_time(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	(void)argc;
	(void)argv;
	rs_reply_array(x->c, 2);
	rs_reply_bulk_int(x->c, (int64_t)(x->e->now_ms / 1000));
	rs_reply_bulk_int(x->c, (int64_t)(x->e->now_ms % 1000 * 1000));
}

/* ---- CONFIG ---- */

/* The settings kv has; any other name reads as absent and cannot be set.
 * A fixed one has only its value (kv writes no snapshots). */
struct setting {
	const char *name;
	bool memory;	   /* takes "1gb", "100mb", ... as Redis' memtoull */
	uint64_t lo, hi;   /* bounds, as Redis' for the same setting */
	size_t off;	   /* its place in struct rs_limits; fixed: SIZE_MAX */
	unsigned width;	   /* 4 or 8 bytes there */
	const char *fixed; /* the value of a fixed setting */
};

#define LIM(f) offsetof(struct rs_limits, f), sizeof(((struct rs_limits *)0)->f)

static const struct setting settings[] = {
	{ "maxmemory", true, 0, UINT64_MAX, LIM(maxmemory), NULL },
	{ "maxclients", false, 1, UINT32_MAX, LIM(max_clients), NULL },
	{ "proto-max-bulk-len", true, 1024 * 1024, INT64_MAX, LIM(proto_max_bulk_len), NULL },
	{ "client-query-buffer-limit", true, 1024 * 1024, INT64_MAX, LIM(max_query), NULL },
	{ "maxmemory-policy", false, 0, 0, SIZE_MAX, 0, "noeviction" },
	{ "save", false, 0, 0, SIZE_MAX, 0, "" },
	{ "appendonly", false, 0, 0, SIZE_MAX, 0, "no" },
	{ "databases", false, 0, 0, SIZE_MAX, 0, "1" },
	{ "timeout", false, 0, 0, SIZE_MAX, 0, "0" }, /* an idle client is never closed */
	{ "hz", false, 0, 0, SIZE_MAX, 0, "10" },     /* the active expiry's rate */
	{ NULL, false, 0, 0, 0, 0, NULL },
};

static uint64_t setting_get(const struct rs_engine *e, const struct setting *s)
{
	const uint8_t *p = (const uint8_t *)&e->lim + s->off;

	return s->width == 4 ? *(const uint32_t *)p : *(const uint64_t *)p;
}

/* Set s to v (a fixed setting has nothing to set). */
static void setting_put(struct rs_engine *e, const struct setting *s, uint64_t v)
{
	uint8_t *p = (uint8_t *)&e->lim + s->off;

	if (s->fixed != NULL)
		return;
	if (s->width == 4)
		*(uint32_t *)p = (uint32_t)v;
	else
		*(uint64_t *)p = v;
}

static const struct setting *setting_find(const struct rs_arg *name)
{
	for (const struct setting *s = settings; s->name != NULL; s++)
		if (rs_arg_eq(name, s->name))
			return s;
	return NULL;
}

static void reply_setting(struct rs_ctx *x, const struct setting *s, const uint8_t *name, size_t n)
{
	rs_reply_bulk(x->c, name, n);
	if (s->fixed != NULL)
		rs_reply_bulk_cstr(x->c, s->fixed);
	else
		rs_reply_bulk_int(x->c, (int64_t)setting_get(x->e, s));
}

static bool has_glob(const struct rs_arg *a)
{
	for (size_t i = 0; i < a->len; i++)
		if (a->p[i] == '*' || a->p[i] == '?' || a->p[i] == '[')
			return true;
	return false;
}

/* Which settings CONFIG GET's patterns name, and the name to answer with:
 * a name asked for plainly is answered as it was written, as Redis does. */
struct asked {
	const uint8_t *name; /* NULL: not asked for */
	size_t len;
};

static size_t config_matches(uint32_t argc, const struct rs_arg *argv, struct asked *out)
{
	size_t n = 0;

	for (uint32_t i = 2; i < argc; i++) {
		bool glob = has_glob(&argv[i]);

		for (size_t k = 0; settings[k].name != NULL; k++) {
			const char *nm = settings[k].name;
			bool m = glob ? rs_glob(argv[i].p, argv[i].len, (const uint8_t *)nm,
						strlen(nm), true)
				      : rs_arg_eq(&argv[i], nm);

			if (!m || out[k].name != NULL)
				continue;
			out[k].name = glob ? (const uint8_t *)nm : argv[i].p;
			out[k].len = glob ? strlen(nm) : argv[i].len;
			n++;
		}
	}
	return n;
}

/* CONFIG GET pattern...: name/value pairs, flat as RESP2 shows a map. */
static void config_get(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	struct asked asked[sizeof(settings) / sizeof(settings[0])] = { { NULL, 0 } };
	size_t n = config_matches(argc, argv, asked);

	rs_reply_array(x->c, (int64_t)n * 2);
	for (size_t k = 0; settings[k].name != NULL; k++)
		if (asked[k].name != NULL)
			reply_setting(x, &settings[k], asked[k].name, asked[k].len);
}

/* Redis' memtoull: digits, then an optional unit b, k, kb, m, mb, g, gb. */
static bool parse_memory(const struct rs_arg *a, uint64_t *out)
{
	static const struct {
		const char *unit;
		uint64_t mul;
	} units[] = { { "", 1 },	   { "b", 1 },
		      { "k", 1000 },	   { "kb", 1024 },
		      { "m", 1000000 },	   { "mb", 1024 * 1024 },
		      { "g", 1000000000 }, { "gb", 1024 * 1024 * 1024 } };
	size_t d = 0;
	uint64_t v = 0;

	for (; d < a->len && a->p[d] >= '0' && a->p[d] <= '9'; d++) {
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (a->p[d] - '0');
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		struct rs_arg u = { a->p + d, a->len - d };

		if (d > 0 && rs_arg_eq(&u, units[i].unit) && v <= UINT64_MAX / units[i].mul) {
			*out = v * units[i].mul;
			return true;
		}
	}
	return false;
}

/* The new value of s from a, or an error text for the reply. Under a
 * memory cap (what kv's log can keep) a memory setting stays in [1, cap]. */
static const char *setting_parse(const struct rs_engine *e, const struct setting *s,
				 const struct rs_arg *a, uint64_t *v)
{
	static char range[96];
	uint64_t lo = s->lo, hi = s->hi, cap = e->lim.memory_cap;
	int64_t i;

	if (s->memory && cap) {
		lo = lo ? lo : 1;
		hi = hi < cap ? hi : cap;
	}
	if (s->fixed != NULL)
		return rs_arg_eq(a, s->fixed) ? NULL : "kv does not support other values";
	if (s->memory && !parse_memory(a, v))
		return "argument must be a memory value";
	if (!s->memory && !rs_arg_int(a, &i))
		return "argument couldn't be parsed into an integer";
	if (!s->memory)
		*v = (uint64_t)i; /* a negative one fails the bounds, as in Redis */
	if (*v < lo || *v > hi) {
		fmt_snprintf(range, sizeof(range),
			     "argument must be between %llu and %llu inclusive",
			     (unsigned long long)lo, (unsigned long long)hi);
		return range;
	}
	return NULL;
}

#define NSETTINGS (sizeof(settings) / sizeof(settings[0]) - 1)

/* Which setting each name of CONFIG SET's pairs is, or Redis' error for
 * the first unknown or repeated one. With more pairs than settings one of
 * them is either, so which[] never fills. */
static bool config_set_names(struct rs_ctx *x, const struct rs_arg *argv, uint32_t n,
			     const struct setting **which)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct rs_arg *name = &argv[2 + 2 * i];
		int w = (int)(name->len < 128 ? name->len : 128);

		which[i] = setting_find(name);
		if (which[i] == NULL) {
			rs_reply_errorf(
			    x->c,
			    "ERR Unknown option or number of arguments for CONFIG SET - '%.*s'", w,
			    (const char *)name->p);
			return false;
		}
		for (uint32_t j = 0; j < i; j++) {
			if (which[j] == which[i]) {
				rs_reply_errorf(
				    x->c,
				    "ERR CONFIG SET failed (possibly related to argument "
				    "'%.*s') - duplicate parameter",
				    w, (const char *)name->p);
				return false;
			}
		}
	}
	return true;
}

const char *rs_config_set1(struct rs_engine *e, const struct rs_arg *name,
			   const struct rs_arg *value)
{
	const struct setting *s = setting_find(name);
	const char *err;
	uint64_t v;

	if (!s)
		return "Unknown option";
	if ((err = setting_parse(e, s, value, &v)))
		return err;
	setting_put(e, s, v);
	return NULL;
}

/* CONFIG SET name value [name value ...]: all or nothing, as Redis 7.0. */
static void config_set(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	const struct setting *which[NSETTINGS + 1];
	uint64_t vals[NSETTINGS + 1];
	uint32_t n = (argc - 2) / 2;

	if (argc % 2 != 0) {
		rs_reply_error(x->c, RS_ERR_SYNTAX);
		return;
	}
	if (!config_set_names(x, argv, n, which))
		return;
	for (uint32_t i = 0; i < n; i++) {
		const char *err = setting_parse(x->e, which[i], &argv[3 + 2 * i], &vals[i]);

		if (err != NULL) {
			rs_reply_errorf(
			    x->c, "ERR CONFIG SET failed (possibly related to argument '%s') - %s",
			    which[i]->name, err);
			return;
		}
	}
	for (uint32_t i = 0; i < n; i++)
		setting_put(x->e, which[i], vals[i]);
	rs_reply_ok(x->c);
}

static void config_resetstat(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	struct rs_engine *e = x->e;

	(void)argc;
	(void)argv;
	e->stat_commands = e->stat_connections = e->stat_expired = 0;
	e->stat_keyspace_hits = e->stat_keyspace_misses = 0;
	rs_reply_ok(x->c);
}

static const struct subcmd config_subs[] = {
	{ "get", -3, config_get },
	{ "set", -4, config_set },
	{ "resetstat", 2, config_resetstat },
	{ NULL, 0, NULL },
};

static void cmd_config(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	run_subcmd(x, argc, argv, config_subs, "CONFIG");
}

/* ---- the table ---- */

#define CONN (RS_CMD_FAST | RS_CMD_LOADING | RS_CMD_STALE)
#define SRV(name, arity, flags, summary, since, fn)                                                \
	{                                                                                          \
		name, arity, flags, 0, 0, 0, "server", summary, since, fn                          \
	}
#define CONNCMD(name, arity, flags, summary, since, fn)                                            \
	{                                                                                          \
		name, arity, flags, 0, 0, 0, "connection", summary, since, fn                      \
	}

const struct rs_cmd rs_cmds_server[] = {
	CONNCMD("ping", -1, RS_CMD_FAST, "Ping the server", "1.0.0", cmd_ping),
	CONNCMD("echo", 2, CONN, "Echo the given string", "1.0.0", cmd_echo),
	CONNCMD("quit", -1, CONN | RS_CMD_NOSCRIPT, "Close the connection", "1.0.0", cmd_quit),
	CONNCMD("hello", -1, CONN | RS_CMD_NOSCRIPT, "Handshake with Redis", "6.0.0", cmd_hello),
	CONNCMD("auth", -2, CONN | RS_CMD_NOSCRIPT, "Authenticate to the server", "1.0.0",
		cmd_auth),
	CONNCMD("client", -2, 0, "A container for client connection commands", "2.4.0", cmd_client),
	CONNCMD("select", 2, CONN, "Change the selected database for the current connection",
		"1.0.0", cmd_select),
	SRV("info", -1, RS_CMD_LOADING | RS_CMD_STALE,
	    "Get information and statistics about the server", "1.0.0", cmd_info),
	SRV("dbsize", 1, RS_CMD_READONLY | RS_CMD_FAST,
	    "Return the number of keys in the selected database", "1.0.0", cmd_dbsize),
	SRV("flushdb", -1, RS_CMD_WRITE, "Remove all keys from the current database", "1.0.0",
	    cmd_flush),
	SRV("flushall", -1, RS_CMD_WRITE, "Remove all keys from all databases", "1.0.0", cmd_flush),
	SRV("time", 1, CONN, "Return the current server time", "2.6.0", cmd_time),
	SRV("config", -2, 0, "A container for server configuration commands", "2.0.0", cmd_config),
	SRV("command", -1, RS_CMD_LOADING | RS_CMD_STALE, "Get array of Redis command details",
	    "2.8.13", rs_cmd_command),
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};
