/*
 * kv's Redis keyspace as the command handlers (cmd_*.c) see it: a binary
 * safe dict (keys, set members, hash fields, zset members), the objects a
 * key can hold (string, list, set, hash, zset), and lookups that expire a
 * key lazily. Every function that allocates can fail: it returns NULL or
 * -1 and leaves what it was given as it was, so the handler answers
 * RS_ERR_OOM and nothing is lost.
 */
#ifndef VESTA_KV_DB_H
#define VESTA_KV_DB_H

#include "resp.h"

/* ---- a dict: chained buckets, a power-of-two table ---- */

/* One entry; the key bytes follow it. The entry never moves once added
 * (a resize moves only pointers), so others may point into it. */
struct rs_dent {
	struct rs_dent *next;
	uint64_t hash;
	union {
		void *p;
		double d;
		int64_t i;
	} v;
	size_t klen;
	uint8_t key[];
};

struct rs_dict {
	struct rs_dent **tab; /* NULL while empty */
	uint64_t size;	      /* buckets: 0 or a power of two */
	uint64_t used;	      /* entries */
};

/* Where an iteration over a dict stands; the dict must not change. */
struct rs_dict_it {
	uint64_t b;
	struct rs_dent *e;
};

void rs_dict_init(struct rs_dict *d);
struct rs_dent *rs_dict_find(const struct rs_dict *d, const void *k, size_t n);
/* Add k, which must be absent. NULL when out of memory. */
struct rs_dent *rs_dict_add(struct rs_dict *d, const void *k, size_t n);
/* Take k out; the caller rs_free()s the entry. NULL if absent. */
struct rs_dent *rs_dict_unlink(struct rs_dict *d, const void *k, size_t n);
/* Free every entry, calling freev (if not NULL) on each first. */
void rs_dict_clear(struct rs_dict *d, void (*freev)(struct rs_dent *));
/* Calls fn on every entry of the buckets cursor names; returns the next
 * cursor (0: done). Redis' reverse-binary increment: an entry present for
 * the whole scan is visited at least once across any number of resizes. */
uint64_t rs_dict_scan(const struct rs_dict *d, uint64_t cursor,
		      void (*fn)(void *ctx, struct rs_dent *e), void *ctx);
/* A random entry (NULL if empty); *rand is the xorshift state. */
struct rs_dent *rs_dict_random(const struct rs_dict *d, uint64_t *rand);
struct rs_dent *rs_dict_next(const struct rs_dict *d, struct rs_dict_it *it);
uint64_t rs_rand(uint64_t *state);

/* ---- objects ---- */

enum rs_type { RS_T_STRING, RS_T_LIST, RS_T_SET, RS_T_HASH, RS_T_ZSET };

/* A list element. */
struct rs_bytes {
	size_t len;
	uint8_t p[];
};

/* A hash value. seq numbers the fields in the order they were added: a
 * small hash (Redis' listpack) lists its fields in that order. */
struct rs_hval {
	uint64_t seq;
	size_t len;
	uint8_t p[];
};

/* A list: a ring of element pointers (a deque: O(1) at both ends and by
 * index). */
struct rs_list {
	struct rs_bytes **a;
	size_t head, len, cap;
};

struct rs_zsl; /* zsl.c's skiplist, below */

/* A zset: member -> node (score and rank order in the skiplist). */
struct rs_zset {
	struct rs_dict d;
	struct rs_zsl *sl;
};

struct rs_obj {
	uint8_t type;
	/* Redis' encodings only grow (int/embstr -> raw, intset/listpack ->
	 * hashtable/skiplist): big records that this object has. */
	bool big;
	bool noint;	   /* a string made by INCRBYFLOAT: never "int" */
	bool copied;	   /* a string COPY made: never a shared integer */
	uint64_t next_seq; /* a hash: the seq its next new field gets */
	union {
		struct {
			uint8_t *p;
			size_t len, cap;
		} s;
		struct rs_list l;
		struct rs_dict d; /* set (no values), hash (rs_hval values) */
		struct rs_zset z;
	};
};

struct rs_bytes *rs_bytes_new(const void *p, size_t n);
struct rs_hval *rs_hval_new(const void *p, size_t n, uint64_t seq);
struct rs_obj *rs_obj_new(enum rs_type t); /* empty; NULL out of memory */
struct rs_obj *rs_obj_string(const void *p, size_t n);
void rs_obj_free(struct rs_obj *o);
/* The name OBJECT ENCODING gives o, by Redis 7.0's rules. */
const char *rs_obj_encoding(const struct rs_obj *o);
/* What OBJECT REFCOUNT says of o: Redis shares one object for each
 * integer 0..9999 a string command stores (INT_MAX references), 1 else. */
int64_t rs_obj_refcount(const struct rs_obj *o);
const char *rs_type_name(const struct rs_obj *o);
/* A deep copy (COPY); NULL out of memory. */
struct rs_obj *rs_obj_dup(const struct rs_obj *o);
/* Keep the encoding right after an element is added: a set member, a
 * hash field and value, a zset member. */
void rs_set_note(struct rs_obj *o, const uint8_t *m, size_t n);
void rs_hash_note(struct rs_obj *o, size_t flen, size_t vlen);
void rs_zset_note(struct rs_obj *o, size_t mlen);
#define RS_ZSET_LP_ENTRIES 128 /* zset-max-listpack-entries */
#define RS_HASH_LP_ENTRIES 512 /* hash-max-listpack-entries: the most a small hash has */
/* A small hash's fields into v[0..RS_HASH_LP_ENTRIES) in the order they
 * were added (Redis' listpack order), n log n; how many. */
size_t rs_hash_in_order(const struct rs_obj *o, const struct rs_dent **v);
#define RS_ZSET_LP_VALUE 64 /* zset-max-listpack-value */
/* Elements a container holds (0 for strings). */
uint64_t rs_obj_len(const struct rs_obj *o);

/* ---- the keyspace ---- */

struct rs_db {
	struct rs_dict keys;	/* key -> struct rs_obj * */
	struct rs_dict expires; /* key -> absolute unix ms in v.i */
	uint64_t sweep;		/* the active sweep's cursor in expires */
};

/* The key's object, or NULL (absent or expired now, which deletes it).
 * _read counts a keyspace hit or miss; _write does not. */
struct rs_obj *rs_lookup_read(struct rs_ctx *x, const struct rs_arg *key);
struct rs_obj *rs_lookup_write(struct rs_ctx *x, const struct rs_arg *key);
/* True (and WRONGTYPE replied) if o exists and is not of type t. */
bool rs_wrongtype(struct rs_ctx *x, const struct rs_obj *o, enum rs_type t);
/* Store o at key, which must be absent; it owns o then. -1: no memory
 * (o is still the caller's). */
int rs_db_add(struct rs_ctx *x, const struct rs_arg *key, struct rs_obj *o);
/* Store o at key, replacing what is there, with the expiry when: an
 * absolute time in ms, RS_NOTTL (none) or RS_KEEPTTL (the key's own).
 * The old object is freed, or handed back in *old if old is not NULL
 * (NULL if there was none). -1: no memory (o is still the caller's, the
 * key unchanged). */
#define RS_NOTTL (-1)
#define RS_KEEPTTL (-2)
int rs_db_set(struct rs_ctx *x, const struct rs_arg *key, struct rs_obj *o, int64_t when,
	      struct rs_obj **old);
/* Take the key's object out of the keyspace (with its expiry); NULL if
 * absent. The caller owns the object. */
struct rs_obj *rs_db_take(struct rs_ctx *x, const struct rs_arg *key);
/* Whether the key k[0..n) is past its time (KEYS skips it)... */
bool rs_db_is_expired(const struct rs_engine *e, const uint8_t *k, size_t n);
/* ... and deleting it if so (propagated as DEL): true if it was. */
bool rs_db_expire_if_needed(struct rs_engine *e, const uint8_t *k, size_t n);
/* Delete key; false if it was not there. */
bool rs_db_delete(struct rs_ctx *x, const struct rs_arg *key);
/* Delete key if its container o is empty now (after a pop or remove). */
void rs_db_drop_if_empty(struct rs_ctx *x, const struct rs_arg *key, const struct rs_obj *o);
/* The key's absolute expiry in ms, -1 if it has none. */
int64_t rs_db_get_expire(const struct rs_db *db, const struct rs_arg *key);
/* Set the (existing) key's expiry. -1: no memory. */
int rs_db_set_expire(struct rs_ctx *x, const struct rs_arg *key, int64_t when_ms);
/* Remove the key's expiry; false if it had none. */
bool rs_db_persist(struct rs_ctx *x, const struct rs_arg *key);
/* Mark the keyspace changed by the running command. */
void rs_db_touch(struct rs_ctx *x);
/* Expire keys whose time has come, looking at most at budget keys with a
 * time to live (resumes where the last call stopped). Returns how many
 * expired. cmd.c's rs_active_expire calls it. */
size_t rs_db_active_expire(struct rs_engine *e, size_t budget);
/* Reply RS_ERR_OOM (every allocation failure in a handler). */
void rs_reply_oom(struct rs_ctx *x);
/* Parse an integer argument; false after replying RS_ERR_NOTINT. */
bool rs_int_or_reply(struct rs_ctx *x, const struct rs_arg *a, int64_t *v);
/* An integer of at least 0; else (not one either) false after replying
 * "value is out of range, must be positive", as Redis' pop counts. */
bool rs_count_or_reply(struct rs_ctx *x, const struct rs_arg *a, int64_t *v);
/* *v + incr, or false after replying RS_ERR_OVERFLOW (INCRBY, HINCRBY). */
bool rs_add_or_reply(struct rs_ctx *x, int64_t *v, int64_t incr);
/* Redis' rank range over len elements (LRANGE, ZRANGE by rank): negative
 * ranks count from the end, and the range is clipped to [0, len). False if
 * it holds nothing; else [*start, *end] are the ranks. */
bool rs_rank_range(int64_t len, int64_t *start, int64_t *end);
/* Propagate a command given as C strings and arguments: fmt has one
 * letter per argument: 's' a C string, 'a' a struct rs_arg *, 'i' an
 * int64_t. */
void rs_propagatef(struct rs_ctx *x, const char *fmt, ...);

/* ---- lists (obj.c) ---- */
int rs_list_push(struct rs_list *l, struct rs_bytes *b, bool left); /* -1 no memory */
struct rs_bytes *rs_list_pop(struct rs_list *l, bool left);
struct rs_bytes **rs_list_at(const struct rs_list *l, size_t i);
void rs_list_remove_at(struct rs_list *l, size_t i);
void rs_list_clear(struct rs_list *l);

/* ---- zsets (zsl.c): a skiplist with spans, plus the member dict ---- */
struct rs_znode {
	double score;
	const uint8_t *ele; /* the member: the key bytes of its dict entry */
	size_t len;
	int level; /* entries in lv */
	struct rs_znode *back;
	struct rs_zlevel {
		struct rs_znode *fwd;
		uint64_t span;
	} lv[];
};

struct rs_zsl {
	struct rs_znode *head, *tail;
	uint64_t len;
	int level;
};

int rs_zset_init(struct rs_zset *z); /* -1 no memory */
void rs_zset_clear(struct rs_zset *z);
/* Add member (absent) with score; -1 no memory, nothing changed. */
int rs_zset_add(struct rs_zset *z, const void *m, size_t n, double score, uint64_t *rand);
/* Change a present member's score (moves its node: cannot fail). */
void rs_zset_update(struct rs_zset *z, struct rs_znode *n, double score);
void rs_zset_delete(struct rs_zset *z, const void *m, size_t n);
/* The node at 0-based rank r (r < len). O(log n). */
struct rs_znode *rs_zsl_at(const struct rs_zsl *sl, uint64_t r);
/* The first node for which below() is false, or NULL. */
struct rs_znode *rs_zsl_first(const struct rs_zsl *sl,
			      bool (*below)(const struct rs_znode *n, const void *spec),
			      const void *spec);
/* The last node for which within() is true, or NULL (within must be
 * true of a prefix of the list). */
struct rs_znode *rs_zsl_last(const struct rs_zsl *sl,
			     bool (*within)(const struct rs_znode *n, const void *spec),
			     const void *spec);
/* Compare members as Redis does (memcmp, then length). */
int rs_zcmp_ele(const uint8_t *a, size_t an, const uint8_t *b, size_t bn);

#endif
