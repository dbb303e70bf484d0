/*
 * kv's Redis engine: RESP2 framing, the command table, and the keyspace
 * the commands work on. Redis 7.0's semantics, reply types and error texts
 * are the contract (a client must not tell the difference for the commands
 * kv has).
 *
 * The engine is a host-testable core (STYLE.md): it includes only the C
 * headers below and kernel/lib's string/fmt/num, gets memory through
 * rs_alloc/rs_free/rs_realloc (resp_alloc.c in the guest, libc on the
 * host) and time through struct rs_engine.now_ms, which the caller sets
 * before each call. It does no I/O: bytes come in through rs_feed and
 * replies go out through each client's output buffer.
 *
 * Layers, one concept per file:
 *   resp.c        request framing (multibulk and inline), protocol errors,
 *                 the reply encoder (the rs_reply_* functions below)
 *   cmd.c         the command table, arity and dispatch, COMMAND
 *   cmd_server.c  connection and server commands (PING ... TIME, INFO,
 *                 CONFIG, CLIENT, HELLO, SELECT, FLUSHDB/ALL, DBSIZE)
 *   db.c          the keyspace: a dict of keys to objects, expiry (lazy on
 *                 lookup, and an active sweep), memory accounting
 *   cmd_string.c  the string group; cmd_keys.c the generic group
 *   cmd_list.c, cmd_set.c, cmd_hash.c, cmd_zset.c  the other types
 *   util.c        Redis' number parsing and formatting, glob matching
 */
#ifndef VESTA_KV_RESP_H
#define VESTA_KV_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- memory: every engine allocation goes through these ---- */
void *rs_alloc(size_t n);	     /* NULL when out of memory */
void *rs_realloc(void *p, size_t n); /* NULL (p untouched) when out of memory */
void rs_free(void *p);
size_t rs_used(void); /* bytes the engine holds now (INFO used_memory) */

/* ---- limits; CONFIG GET/SET names in brackets ---- */
struct rs_limits {
	uint64_t maxmemory;	     /* [maxmemory] 0: none; past it, writes that
				        grow memory get "-OOM command not allowed
				        when used memory > 'maxmemory'." */
	uint64_t proto_max_bulk_len; /* [proto-max-bulk-len] default 512 MiB */
	uint32_t max_args;	     /* most arguments in one command; Redis
				        7.0's is INT_MAX multibulk items (memory
				        follows the arguments that arrive) */
	uint32_t max_inline;	     /* inline request bytes: 64 KiB as Redis */
	uint32_t max_clients;	     /* [maxclients] */
	uint64_t max_output;	     /* a client's unsent reply bytes before it
				        is closed (client-output-buffer-limit) */
	uint64_t max_query;	     /* a client's unparsed request bytes before it
				        is closed (client-query-buffer-limit) */
	uint64_t memory_cap;	     /* 0: none; else maxmemory and
				        proto-max-bulk-len stay in [1, it]: what
				        the keyspace's store can hold */
};

struct rs_db; /* db.c */

/* ---- a connection ---- */
struct rs_client {
	uint64_t id;   /* CLIENT ID: from 1, never reused */
	char name[64]; /* CLIENT SETNAME; "" for none */
	uint8_t *in;   /* bytes received, not yet a whole request */
	size_t in_len, in_cap;
	uint8_t *out; /* reply bytes not yet sent */
	size_t out_len, out_cap;
	bool close_after_reply; /* QUIT, or a protocol error: close once out
				   has been sent */
	bool out_overflow;	/* out went past limits.max_output */
	uint64_t created_ms, last_cmd_ms;
	const char *last_cmd; /* name of the last command (CLIENT LIST) */
	uint64_t max_output;  /* copy of limits.max_output, for the encoder */
	/* parser state across rs_feed calls is resp.c's */
	int64_t ml_pending; /* multibulk items still to read, -1 none */
	int64_t bulk_len;   /* length of the bulk being read, -1 none */
	size_t in_pos;	    /* in[0..in_pos) has been parsed */
	size_t req_start;   /* where the request being parsed begins in in */
	size_t *arg_off;    /* each argument's offset from req_start, until
				 the request is whole and argv can point in in */
	struct rs_arg *argv;
	uint32_t argc, argv_cap;
};

/* One argument of a command: bytes, not NUL-terminated (binary-safe). */
struct rs_arg {
	const uint8_t *p;
	size_t len;
};

/* ---- the engine ---- */
struct rs_engine {
	struct rs_db *db;
	struct rs_limits lim;
	uint64_t now_ms;   /* the caller sets it before each call (kernel clock) */
	uint64_t start_ms; /* uptime_in_seconds */
	uint64_t next_client_id;
	uint32_t clients; /* connected now (INFO clients) */
	uint64_t stat_commands, stat_connections, stat_expired, stat_keyspace_hits,
	    stat_keyspace_misses;
	uint64_t rand_state; /* xorshift state for RANDOMKEY, SPOP, SCAN */
	/* INFO's run_id: names the dataset, not the process. A keyspace that
	 * carries on across a restart keeps it; one made anew or found
	 * damaged gets a new one (rs_new_run_id), so a client comparing it
	 * learns that what it wrote before may be gone. */
	char run_id[41];
	/* propagation: the effect of the last write command as a command
	 * that replays deterministically (relative expiry made absolute,
	 * SPOP as SREM, INCRBYFLOAT as SET ... KEEPTTL), for a log */
	void (*propagate)(void *ctx, uint32_t argc, const struct rs_arg *argv);
	void *propagate_ctx;
	/* Non-NULL while kv's disk cannot take writes (rdisk.h): write
	 * commands and PING get "-MISCONF Errors writing to the AOF file: "
	 * and it, as Redis answers when its AOF cannot be written. */
	const char *disk_error;
	/* INFO's Persistence section, kept up to date by the disk's side
	 * (rdisk.h): whether a disk is in use, and its counts. */
	struct rs_persist {
		bool enabled;
		bool write_ok;	   /* the last write or flush succeeded */
		uint64_t commits;  /* group commits: log records written and flushed */
		uint64_t flushes;  /* flushes asked of the disk */
		uint64_t rewrites; /* checkpoints */
	} persist;
};

/* Set up an empty engine with default limits. Returns 0 or -1 (no memory). */
int rs_engine_init(struct rs_engine *e, uint64_t now_ms, uint64_t seed);
void rs_engine_free(struct rs_engine *e);

/* Set one CONFIG SET setting (a policy's "name=value" arg) as CONFIG SET
 * would: NULL, or the error text CONFIG SET would give. */
const char *rs_config_set1(struct rs_engine *e, const struct rs_arg *name,
			   const struct rs_arg *value);

/* A new random run_id (40 hex digits, Redis' form) for e's dataset. */
void rs_new_run_id(struct rs_engine *e);

/* A new client (rs_client_free ends it). NULL if out of memory or past
 * maxclients (the caller then writes "-ERR max number of clients
 * reached\r\n" and closes). */
struct rs_client *rs_client_new(struct rs_engine *e);
void rs_client_free(struct rs_engine *e, struct rs_client *c);

/*
 * Feed n bytes received from c's connection: every whole request in them
 * (and in what earlier calls left) is run and its reply appended to c->out.
 * A malformed request gets Redis' "-ERR Protocol error: ..." reply and
 * c->close_after_reply; what follows it is not read. Returns the number of
 * bytes of data consumed (all of them unless c->close_after_reply).
 */
size_t rs_feed(struct rs_engine *e, struct rs_client *c, const uint8_t *data, size_t n);

/* Bytes fed to c that are not yet part of a request that ran: the start
 * of the next request (its residue). A caller that must keep a request's
 * bytes until it runs (svc/kv/rstore.c) keeps the last that many. */
size_t rs_pending(const struct rs_client *c);

/* The output bytes c->out[0..n) have been sent: drop them. */
void rs_sent(struct rs_client *c, size_t n);

/* Expire keys whose time has come, for at most budget keys (the active
 * sweep; call it every 100 ms as Redis' hz 10). Returns how many expired. */
size_t rs_active_expire(struct rs_engine *e, size_t budget);

/* ---- replies (resp.c): append to c->out ---- */
void rs_reply_simple(struct rs_client *c, const char *s);	  /* +s */
void rs_reply_error(struct rs_client *c, const char *s);	  /* -s (s has its
							     prefix: "ERR ...",
							     "WRONGTYPE ...") */
void rs_reply_errorf(struct rs_client *c, const char *fmt, ...);  /* ve_snprintf-style */
void rs_reply_int(struct rs_client *c, int64_t v);		  /* :v */
void rs_reply_bulk(struct rs_client *c, const void *p, size_t n); /* $n p */
void rs_reply_bulk_cstr(struct rs_client *c, const char *s);
void rs_reply_bulk_int(struct rs_client *c, int64_t v); /* a number as a bulk */
void rs_reply_double(struct rs_client *c, double d);	/* a bulk, formatted as Redis does
						     (ZSCORE: "%.17g", inf as "inf") */
void rs_reply_nil(struct rs_client *c);			/* $-1 */
void rs_reply_array(struct rs_client *c, int64_t n);	/* *n, then n replies */
void rs_reply_nil_array(struct rs_client *c);		/* *-1 */
void rs_reply_ok(struct rs_client *c);			/* +OK */

/* The standard errors, word for word as Redis 7.0 sends them. */
#define RS_ERR_WRONGTYPE "WRONGTYPE Operation against a key holding the wrong kind of value"
#define RS_ERR_NOTINT "ERR value is not an integer or out of range"
#define RS_ERR_NOTFLOAT "ERR value is not a valid float"
#define RS_ERR_SYNTAX "ERR syntax error"
#define RS_ERR_OVERFLOW "ERR increment or decrement would overflow"
#define RS_ERR_NOKEY "ERR no such key"
#define RS_ERR_RANGE "ERR index out of range"
#define RS_ERR_OOM "OOM command not allowed when used memory > 'maxmemory'."

/* ---- commands (cmd.c and the cmd_*.c files) ---- */
enum {
	RS_CMD_WRITE = 1 << 0, /* changes the keyspace: propagated when it did */
	RS_CMD_READONLY = 1 << 1,
	RS_CMD_DENYOOM = 1 << 2, /* refused past maxmemory */
	RS_CMD_FAST = 1 << 3,
	RS_CMD_NOSCRIPT = 1 << 4,
	RS_CMD_LOADING = 1 << 5,
	RS_CMD_STALE = 1 << 6,
};

struct rs_ctx {
	struct rs_engine *e;
	struct rs_client *c;
	bool dirty;	 /* the command changed the keyspace (set by db.c) */
	bool propagated; /* the handler called rs_propagate itself */
	bool oom;	 /* the handler answered RS_ERR_OOM: only what it
			    propagated itself applied */
};

typedef void rs_cmd_fn(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv);

/* One command as COMMAND describes it. arity as Redis: N exactly N
 * arguments including the name, -N at least N. */
struct rs_cmd {
	const char *name; /* lower case */
	int arity;
	uint32_t flags;
	int first_key, last_key, key_step;
	const char *group; /* "string", "generic", "list", ... (COMMAND DOCS) */
	const char *summary;
	const char *since;
	rs_cmd_fn *fn;
};

/* Each group's table ends with an entry whose name is NULL. */
extern const struct rs_cmd rs_cmds_server[], rs_cmds_string[], rs_cmds_keys[], rs_cmds_list[],
    rs_cmds_set[], rs_cmds_hash[], rs_cmds_zset[];

/* Run one whole request (resp.c calls it; argc >= 1): look the command
 * up, check arity and maxmemory, run it, count it and propagate it. */
void rs_dispatch(struct rs_engine *e, struct rs_client *c, uint32_t argc,
		 const struct rs_arg *argv);

/* The merged command table, sorted by name (cmd.c): lookup is
 * case-insensitive; NULL for an unknown name. */
const struct rs_cmd *rs_cmd_lookup(const struct rs_arg *name);
size_t rs_cmd_count(void);
const struct rs_cmd *rs_cmd_at(size_t i); /* i < rs_cmd_count() */
/* COMMAND [COUNT | INFO name... | DOCS [name...]] (cmd.c; in rs_cmds_server) */
void rs_cmd_command(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv);

/* A write handler whose effect is not its own argv (see rs_engine.propagate)
 * says what to log instead. */
void rs_propagate(struct rs_ctx *x, uint32_t argc, const struct rs_arg *argv);
/* A write of many items that ran out of memory with the items in
 * argv[0..n) applied (that prefix is itself the command for what it did)
 * propagates the prefix; nothing when n <= min (no item applied). Without
 * it a command answered with OOM propagates nothing. */
void rs_propagate_prefix(struct rs_ctx *x, uint32_t n, uint32_t min, const struct rs_arg *argv);

/* ---- helpers the handlers share (util.c) ---- */
bool rs_arg_eq(const struct rs_arg *a, const char *lower); /* case-insensitive */
/* Redis' string2ll: the whole argument a decimal int64, no spaces or '+'. */
bool rs_arg_int(const struct rs_arg *a, int64_t *out);
/* Redis' string2d, for scores: strtod's reading of the whole argument
 * (hex floats too, "inf" too), no leading space, no NaN, no overflow, no
 * nonzero value that underflows to zero. */
bool rs_arg_double(const struct rs_arg *a, double *out);
/* zslParseRange's strtod, for ZRANGE BYSCORE's bounds (after a '('): the
 * argument up to a NUL byte, leading spaces skipped, "" as 0, overflow as
 * an infinity and underflow as zero; NaN refused. */
bool rs_arg_double_range(const struct rs_arg *a, double *out);
/* Redis' string2ld, for INCRBYFLOAT and HINCRBYFLOAT: strtold's reading
 * (x86-64's 80-bit long double), refusing what rs_arg_double refuses, and
 * arguments of RS_LDOUBLE_BUF bytes or more. */
bool rs_arg_ldouble(const struct rs_arg *a, long double *out);
/* Redis' ld2string(LD_STR_HUMAN), INCRBYFLOAT's reply and stored value:
 * "%.17Lf" with trailing zeros (and then '.') dropped, "-0" as "0", "inf".
 * Returns the length written (< cap); cap RS_LDOUBLE_BUF holds any. */
size_t rs_fmt_ldouble(char *buf, size_t cap, long double v);
#define RS_LDOUBLE_BUF 5120 /* Redis' MAX_LONG_DOUBLE_CHARS */
/* Format as Redis' ld2string/%.17g; returns the length written (< cap).
 * humanfriendly: INCRBYFLOAT's form for a double (16 digits at most, which
 * hides a double's binary noise); rs_fmt_ldouble is Redis' own. */
size_t rs_fmt_double(char *buf, size_t cap, double d, bool humanfriendly);
#define RS_DOUBLE_BUF 400 /* room for any double in either form, with its NUL */
/* Redis' stringmatchlen: glob with * ? [...] and \ escapes. */
bool rs_glob(const uint8_t *pat, size_t plen, const uint8_t *s, size_t slen, bool nocase);

/* ---- the keyspace (db.c), as far as cmd.c and cmd_server.c need it ---- */
struct rs_db *rs_db_new(void);
void rs_db_free(struct rs_db *db);
uint64_t rs_db_size(const struct rs_db *db);	/* keys, expired ones not yet swept included */
uint64_t rs_db_expires(const struct rs_db *db); /* keys with a time to live */
void rs_db_flush(struct rs_db *db);
/* The active expiry sweep behind rs_active_expire: at most budget keys
 * looked at; returns how many expired (and counts them in stat_expired). */
size_t rs_db_active_expire(struct rs_engine *e, size_t budget);

#endif
