/*
 * The command table and dispatch: the seven group tables merged into one
 * sorted index at engine init, case-insensitive lookup, Redis' arity,
 * unknown-command and maxmemory refusals, the stats INFO shows, and
 * propagation of what a write command did. Also the engine's and a
 * client's life, and COMMAND (COUNT, INFO, DOCS), which redis-cli reads
 * at start to build its help and hints.
 */
#include "resp.h"

#include "fmt.h"
#include "string.h"

#define CMD_MAX 256 /* commands in all tables; init fails past it */
#define CMD_NAME_MAX 32

static const struct rs_cmd *cmd_index[CMD_MAX]; /* sorted by name */
static size_t cmd_n;

/* ---- the index ---- */

static bool cmd_insert(const struct rs_cmd *cmd)
{
	size_t i = cmd_n;

	if (cmd_n == CMD_MAX || strlen(cmd->name) >= CMD_NAME_MAX)
		return false;
	while (i > 0 && strcmp(cmd_index[i - 1]->name, cmd->name) > 0) {
		cmd_index[i] = cmd_index[i - 1];
		i--;
	}
	cmd_index[i] = cmd;
	cmd_n++;
	return true;
}

/* Every table's commands, once; the tables are constant, so building the
 * index again for a second engine gives the same result. */
static bool cmd_build_index(void)
{
	const struct rs_cmd *tables[] = { rs_cmds_server, rs_cmds_string, rs_cmds_keys,
					  rs_cmds_list,	  rs_cmds_set,	  rs_cmds_hash,
					  rs_cmds_zset };

	cmd_n = 0;
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
		for (const struct rs_cmd *c = tables[t]; c->name != NULL; c++)
			if (!cmd_insert(c))
				return false;
	return true;
}

const struct rs_cmd *rs_cmd_lookup(const struct rs_arg *name)
{
	char low[CMD_NAME_MAX];
	size_t lo = 0, hi = cmd_n;

	if (name->len >= CMD_NAME_MAX)
		return NULL;
	for (size_t i = 0; i < name->len; i++) {
		uint8_t ch = name->p[i];

		low[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch + ('a' - 'A') : ch);
	}
	low[name->len] = '\0';
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(cmd_index[mid]->name, low);

		if (r == 0)
			return strlen(low) == name->len ? cmd_index[mid] : NULL;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

size_t rs_cmd_count(void)
{
	return cmd_n;
}

const struct rs_cmd *rs_cmd_at(size_t i)
{
	return i < cmd_n ? cmd_index[i] : NULL;
}

/* ---- dispatch ---- */

/* An argument as C's "%.*s" shows it: up to its first NUL, at most max. */
static int shown_len(const struct rs_arg *a, size_t max)
{
	size_t n = 0;

	while (n < a->len && n < max && a->p[n] != 0)
		n++;
	return (int)n;
}

/* "ERR unknown command 'foo', with args beginning with: 'a' 'b' ", Redis'
 * words: each argument quoted while the list is under 128 bytes. */
static void reply_unknown(struct rs_client *c, uint32_t argc, const struct rs_arg *argv)
{
	char args[300]; /* under 128, then one more of at most 128 + 3 */
	size_t n = 0;

	args[0] = '\0';
	for (uint32_t i = 1; i < argc && n < 128; i++) {
		int w = shown_len(&argv[i], 128 - n);

		n += (size_t)fmt_snprintf(args + n, sizeof(args) - n, "'%.*s' ", w,
					  (const char *)argv[i].p);
	}
	rs_reply_errorf(c, "ERR unknown command '%.*s', with args beginning with: %s",
			shown_len(&argv[0], 128), (const char *)argv[0].p, args);
}

static bool arity_ok(const struct rs_cmd *cmd, uint32_t argc)
{
	return cmd->arity > 0 ? argc == (uint32_t)cmd->arity : argc >= (uint32_t)-cmd->arity;
}

void rs_dispatch(struct rs_engine *e, struct rs_client *c, uint32_t argc, const struct rs_arg *argv)
{
	const struct rs_cmd *cmd = rs_cmd_lookup(&argv[0]);
	struct rs_ctx x = { e, c, false, false, false };

	c->last_cmd_ms = e->now_ms;
	if (cmd == NULL) {
		reply_unknown(c, argc, argv);
		return;
	}
	if (!arity_ok(cmd, argc)) {
		rs_reply_errorf(c, "ERR wrong number of arguments for '%s' command", cmd->name);
		return;
	}
	if (e->disk_error && ((cmd->flags & RS_CMD_WRITE) || !strcmp(cmd->name, "ping"))) {
		rs_reply_errorf(c, "MISCONF Errors writing to the AOF file: %s", e->disk_error);
		return;
	}
	if ((cmd->flags & RS_CMD_DENYOOM) && e->lim.maxmemory != 0 &&
	    rs_used() > e->lim.maxmemory) {
		rs_reply_error(c, RS_ERR_OOM);
		return;
	}
	c->last_cmd = cmd->name;
	e->stat_commands++;
	cmd->fn(&x, argc, argv);
	/* A command that ran out of memory changed nothing, or said with
	 * rs_propagate_prefix what it did: its whole argv would replay more. */
	if ((cmd->flags & RS_CMD_WRITE) && x.dirty && !x.propagated && !x.oom && e->propagate)
		e->propagate(e->propagate_ctx, argc, argv);
}

void rs_propagate(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	x->propagated = true;
	if (x->e->propagate)
		x->e->propagate(x->e->propagate_ctx, argc, argv);
}

void rs_propagate_prefix(struct rs_ctx *x, uint32_t n, uint32_t min, const struct rs_arg *argv)
{
	if (n > min)
		rs_propagate(x, n, argv);
}

/* ---- COMMAND ---- */

static const struct {
	uint32_t flag;
	const char *name;
} flag_names[] = {
	{ RS_CMD_WRITE, "write" },     { RS_CMD_READONLY, "readonly" },
	{ RS_CMD_DENYOOM, "denyoom" }, { RS_CMD_NOSCRIPT, "noscript" },
	{ RS_CMD_LOADING, "loading" }, { RS_CMD_STALE, "stale" },
	{ RS_CMD_FAST, "fast" },
};

static void reply_flags(struct rs_client *c, uint32_t flags)
{
	size_t n = 0;

	for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
		n += (flags & flag_names[i].flag) != 0;
	rs_reply_array(c, (int64_t)n);
	for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
		if (flags & flag_names[i].flag)
			rs_reply_simple(c, flag_names[i].name);
}

/* The ACL categories Redis gives such a command, in Redis' order: a
 * keyspace-wide command's, its kind of access, its data type, whether it
 * is fast, a connection command's. Close to Redis' own lists; kv keeps no
 * per-command list (@dangerous, @admin, ... are left out). */
static void reply_categories(struct rs_client *c, const struct rs_cmd *cmd)
{
	static const char *const order[][2] = {
		{ "@keyspace", "generic" },
		{ "@read", NULL },
		{ "@write", NULL },
		{ "@set", "set" },
		{ "@sortedset", "sorted-set" },
		{ "@list", "list" },
		{ "@hash", "hash" },
		{ "@string", "string" },
		{ "@fast", NULL },
		{ "@slow", NULL },
		{ "@connection", "connection" },
	};
	const char *group = cmd->group ? cmd->group : "";
	bool rw = (cmd->flags & (RS_CMD_WRITE | RS_CMD_READONLY)) != 0, on[11];
	int n = 0;

	for (size_t i = 0; i < 11; i++)
		on[i] = order[i][1] != NULL && strcmp(group, order[i][1]) == 0;
	on[0] |= rw && strcmp(group, "server") == 0; /* DBSIZE, FLUSHDB */
	on[1] = (cmd->flags & RS_CMD_READONLY) != 0;
	on[2] = (cmd->flags & RS_CMD_WRITE) != 0;
	on[8] = (cmd->flags & RS_CMD_FAST) != 0;
	on[9] = !on[8];
	for (size_t i = 0; i < 11; i++)
		n += on[i];
	rs_reply_array(c, n);
	for (size_t i = 0; i < 11; i++)
		if (on[i])
			rs_reply_simple(c, order[i][0]);
}

/* One command as COMMAND INFO shows it (10 fields, as Redis 7.0); kv has
 * no tips, key specifications or subcommand entries to list. */
static void reply_info(struct rs_client *c, const struct rs_cmd *cmd)
{
	if (cmd == NULL) {
		rs_reply_nil(c);
		return;
	}
	rs_reply_array(c, 10);
	rs_reply_bulk_cstr(c, cmd->name);
	rs_reply_int(c, cmd->arity);
	reply_flags(c, cmd->flags);
	rs_reply_int(c, cmd->first_key);
	rs_reply_int(c, cmd->last_key);
	rs_reply_int(c, cmd->key_step);
	reply_categories(c, cmd);
	rs_reply_array(c, 0);
	rs_reply_array(c, 0);
	rs_reply_array(c, 0);
}

/* A command's name and its COMMAND DOCS map (flat, as RESP2 shows maps):
 * summary, since and group, the fields redis-cli reads for its help. */
static void reply_docs(struct rs_client *c, const struct rs_cmd *cmd)
{
	rs_reply_bulk_cstr(c, cmd->name);
	rs_reply_array(c, 6);
	rs_reply_bulk_cstr(c, "summary");
	rs_reply_bulk_cstr(c, cmd->summary ? cmd->summary : "");
	rs_reply_bulk_cstr(c, "since");
	rs_reply_bulk_cstr(c, cmd->since ? cmd->since : "1.0.0");
	rs_reply_bulk_cstr(c, "group");
	rs_reply_bulk_cstr(c, cmd->group ? cmd->group : "server");
}

static void command_all(struct rs_client *c)
{
	rs_reply_array(c, (int64_t)cmd_n);
	for (size_t i = 0; i < cmd_n; i++)
		reply_info(c, cmd_index[i]);
}

static void command_info(struct rs_client *c, uint32_t argc, const struct rs_arg *argv)
{
	if (argc == 2) {
		command_all(c);
		return;
	}
	rs_reply_array(c, argc - 2);
	for (uint32_t i = 2; i < argc; i++)
		reply_info(c, rs_cmd_lookup(&argv[i]));
}

static void command_docs(struct rs_client *c, uint32_t argc, const struct rs_arg *argv)
{
	int64_t n = 0;

	for (uint32_t i = 2; i < argc; i++)
		n += rs_cmd_lookup(&argv[i]) != NULL;
	rs_reply_array(c, 2 * (argc == 2 ? (int64_t)cmd_n : n));
	for (size_t i = 0; argc == 2 && i < cmd_n; i++)
		reply_docs(c, cmd_index[i]);
	for (uint32_t i = 2; i < argc; i++)
		if (rs_cmd_lookup(&argv[i]) != NULL)
			reply_docs(c, rs_cmd_lookup(&argv[i]));
}

/* COMMAND GETKEYS cmd arg...: the keys of that command by its key
 * positions, with Redis 7.0's errors. OBJECT's key is that of its
 * subcommand (all of which but HELP take one, third). */
static void command_getkeys(struct rs_client *c, uint32_t argc, const struct rs_arg *argv)
{
	static const char *const object_subs[] = { "encoding", "freq", "idletime", "refcount" };
	const struct rs_cmd *cmd = rs_cmd_lookup(&argv[2]);
	uint32_t n = argc - 2; /* the command's own argc */
	int64_t first, last, step;

	if (cmd == NULL) {
		rs_reply_error(c, "ERR Invalid command specified");
		return;
	}
	first = cmd->first_key, last = cmd->last_key, step = cmd->key_step;
	if (strcmp(cmd->name, "object") == 0) {
		bool keyed = false;
		for (size_t i = 0; i < sizeof(object_subs) / sizeof(object_subs[0]); i++)
			keyed |= rs_arg_eq(&argv[3], object_subs[i]);
		if (!keyed && !rs_arg_eq(&argv[3], "help")) {
			rs_reply_error(c, "ERR Invalid command specified");
			return;
		}
		if (keyed && n != 3) {
			rs_reply_error(c, "ERR Invalid number of arguments specified for command");
			return;
		}
		first = last = step = keyed ? 2 : 0;
	} else if (!arity_ok(cmd, n)) {
		rs_reply_error(c, "ERR Invalid number of arguments specified for command");
		return;
	}
	if (first == 0) {
		rs_reply_error(c, "ERR The command has no key arguments");
		return;
	}
	if (last < 0)
		last += n;
	rs_reply_array(c, (last - first) / step + 1);
	for (int64_t i = first; i <= last; i += step)
		rs_reply_bulk(c, argv[2 + i].p, argv[2 + i].len);
}

static void command_list(struct rs_client *c)
{
	rs_reply_array(c, (int64_t)cmd_n);
	for (size_t i = 0; i < cmd_n; i++)
		rs_reply_bulk_cstr(c, cmd_index[i]->name);
}

void rs_cmd_command(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv)
{
	struct rs_client *c = x->c;

	if (argc == 1)
		command_all(c);
	else if (rs_arg_eq(&argv[1], "count") && argc == 2)
		rs_reply_int(c, (int64_t)cmd_n);
	else if (rs_arg_eq(&argv[1], "info"))
		command_info(c, argc, argv);
	else if (rs_arg_eq(&argv[1], "docs"))
		command_docs(c, argc, argv);
	else if (rs_arg_eq(&argv[1], "list") && argc == 2)
		command_list(c);
	else if (rs_arg_eq(&argv[1], "getkeys") && argc >= 4)
		command_getkeys(c, argc, argv);
	else if (rs_arg_eq(&argv[1], "getkeys"))
		rs_reply_error(c, "ERR wrong number of arguments for 'command|getkeys' command");
	else if (rs_arg_eq(&argv[1], "count"))
		rs_reply_error(c, "ERR wrong number of arguments for 'command|count' command");
	else if (rs_arg_eq(&argv[1], "list"))
		rs_reply_error(c, RS_ERR_SYNTAX); /* kv has no FILTERBY */
	else
		rs_reply_errorf(c, "ERR unknown subcommand '%.*s'. Try COMMAND HELP.",
				(int)(argv[1].len < 128 ? argv[1].len : 128),
				(const char *)argv[1].p);
}

/* ---- the engine and its clients ---- */

int rs_engine_init(struct rs_engine *e, uint64_t now_ms, uint64_t seed)
{
	memset(e, 0, sizeof(*e));
	if (!cmd_build_index())
		return -1;
	e->lim.maxmemory = 0;
	e->lim.proto_max_bulk_len = 512ull << 20;
	e->lim.max_args = INT32_MAX; /* Redis 7.0's multibulk bound (6.2's was 1024*1024) */
	e->lim.max_inline = 64 * 1024;
	e->lim.max_clients = 10000;
	e->lim.max_output = 256ull << 20;
	e->lim.max_query = 1ull << 30;
	e->now_ms = e->start_ms = now_ms;
	e->next_client_id = 1;
	e->rand_state = seed ? seed : 0x9e3779b97f4a7c15ull; /* xorshift must not start at 0 */
	e->db = rs_db_new();
	rs_new_run_id(e);
	return e->db ? 0 : -1;
}

void rs_engine_free(struct rs_engine *e)
{
	if (e->db)
		rs_db_free(e->db);
	e->db = NULL;
}

struct rs_client *rs_client_new(struct rs_engine *e)
{
	struct rs_client *c;

	if (e->clients >= e->lim.max_clients)
		return NULL;
	c = rs_alloc(sizeof(*c));
	if (c == NULL)
		return NULL;
	memset(c, 0, sizeof(*c));
	c->id = e->next_client_id++;
	c->created_ms = c->last_cmd_ms = e->now_ms;
	c->max_output = e->lim.max_output;
	c->ml_pending = -1;
	c->bulk_len = -1;
	c->last_cmd = "NULL";
	e->clients++;
	e->stat_connections++;
	return c;
}

void rs_client_free(struct rs_engine *e, struct rs_client *c)
{
	if (c == NULL)
		return;
	rs_free(c->in);
	rs_free(c->out);
	rs_free(c->argv);
	rs_free(c->arg_off);
	rs_free(c);
	e->clients--;
}

size_t rs_active_expire(struct rs_engine *e, size_t budget)
{
	return rs_db_active_expire(e, budget);
}
