/*
 * kv's table as it lies in the stash, and how it stays whole across a
 * death at any instruction and is checked against flipped bits. Plain data
 * and pure functions, so that the host unit test (test_kvtable) runs them
 * through every death point and every single flipped bit; svc/kv/kv.c
 * serves the protocol on top and tests/boot/progs/kvself.c flips bits in
 * the guest.
 *
 * Every change goes through a one-entry redo record: the new entry, its
 * slot hash, count, checksum and message id are written into the record,
 * the record is armed with one store, the table is updated in place, and
 * the record is disarmed. A death at any instruction leaves either an
 * unarmed record (nothing happened: the kernel replays the request) or an
 * armed one, which the next incarnation applies again before it serves
 * (applying it twice is harmless). The id of the last applied change is
 * kept with the table, so a replayed put or delete (same message id) is
 * answered without being applied twice.
 *
 * The layout is kv's stash format (KV_VERSION): a kv restarted from an
 * older incarnation's stash reads it, so it only changes with the version.
 */
#ifndef VESTA_SVC_KV_TABLE_H
#define VESTA_SVC_KV_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KV_KEY_MAX 32
#define KV_VAL_MAX 128
#define KV_ENTRIES 512
#define KV_STASH_SIZE (128u * 1024)    /* the table and its header, rounded up */
#define KV_MAGIC 0x31766b6174736576ull /* "vestakv1" */
/* 2: generations, slot hashes; 3: checked ids; 4: unposted once per byte */
#define KV_VERSION 4u

/* One slot. An unused slot is all zero, so its hash is fixed. */
struct kv_entry {
	uint8_t used; /* 0 or 1 */
	uint8_t klen; /* 1..KV_KEY_MAX when used */
	uint8_t vlen; /* 0..KV_VAL_MAX */
	uint8_t pad;
	char key[KV_KEY_MAX];
	char val[KV_VAL_MAX];
};

/* One change, complete before `armed` is set; see the file comment. */
struct kv_redo {
	uint64_t armed;	 /* 1: apply this again at start */
	uint64_t id;	 /* the message id of the change */
	uint64_t id_inv; /* ~id: a flipped bit in either shows */
	uint64_t sum;	 /* the table checksum after the change */
	uint64_t hash;	 /* kv_slot_hash(slot, &entry) */
	uint32_t slot;
	uint32_t count;
	struct kv_entry entry; /* the slot's new content */
};

/* The stash. magic is written last when a table is made. */
struct kv_stash {
	uint64_t magic;
	uint32_t version;
	uint32_t count;	   /* used slots */
	uint64_t sum;	   /* sum of hash[] */
	uint64_t last_id;  /* message id of the last applied change */
	uint64_t last_inv; /* ~last_id, or anything else: no replay is recognised */
	uint64_t gen;	   /* the table's generation, never 0 */
	uint64_t gen_inv;  /* ~gen: a flipped bit in either shows */
	uint32_t unposted; /* kv_unposted(): set by kv_stash_init, cleared by kv_posted */
	uint32_t pad;
	struct kv_redo redo;
	struct kv_entry table[KV_ENTRIES];
	uint64_t hash[KV_ENTRIES]; /* kv_slot_hash(i, &table[i]) */
};

_Static_assert(sizeof(struct kv_stash) <= KV_STASH_SIZE, "kv table outgrew its stash");

/* Why a table was made: the kv_reset event's reason (svc/kv/README.md). */
enum kv_why {
	KV_WHY_NONE,
	KV_WHY_NEW,	 /* the stash is all new (magic 0) */
	KV_WHY_MAGIC,	 /* another magic or layout version */
	KV_WHY_CORRUPT,	 /* a field out of range, a bad generation or redo record */
	KV_WHY_CHECKSUM, /* a slot differs from its hash, or the hashes from the sum */
	KV_WHY_COUNT,	 /* the count differs from the used slots */
	KV_WHY_RUNTIME,	 /* a check failed while serving */
	KV_WHY_N
};

/* The reason names of the kv_reset event, indexed by enum kv_why. */
extern const char *const kv_why_names[KV_WHY_N];

/* FNV-1a over the slot number and the whole entry: any one flipped bit in
 * either changes it. */
uint64_t kv_slot_hash(uint32_t slot, const struct kv_entry *e);

/* Whether slot i (< KV_ENTRIES) is well formed and matches its hash. */
bool kv_slot_ok(const struct kv_stash *st, uint32_t i);

/* Whether the generation is nonzero and its complement agrees. */
bool kv_gen_ok(const struct kv_stash *st);

/*
 * Why the table does not match its hashes, checksum and count, or
 * KV_WHY_NONE: KV_WHY_CHECKSUM or KV_WHY_COUNT. Runs over KV_ENTRIES only.
 */
enum kv_why kv_table_problem(const struct kv_stash *st);

/*
 * Why the stash cannot be used as it is, or KV_WHY_NONE if it can,
 * applying an armed redo record first if it checks out (*redone says
 * whether one was), and setting unposted right if one of its bits flipped
 * (kv_unposted). Every number read from the stash is range-checked
 * before it indexes, sizes or bounds anything, and every loop runs over
 * KV_ENTRIES, never over a count from the stash, so a stash with any bits
 * flipped ends in a reason, never a hang or a fault.
 */
enum kv_why kv_stash_check(struct kv_stash *st, bool *redone);

/*
 * Why this table was made, if its kv_reset is still to be posted, else
 * KV_WHY_NONE; KV_WHY_N if unposted is beyond repair (two or more flipped
 * bits). The reason is kept once in each byte of unposted, so one flipped
 * bit is outvoted: a flip there neither discards a table that is whole nor
 * posts a kv_reset for a table kv kept.
 */
enum kv_why kv_unposted(const struct kv_stash *st);

/* The table's kv_reset has been posted (one store). */
void kv_posted(struct kv_stash *st);

/*
 * Make st an empty table of generation gen (nonzero), made because of why,
 * whose kv_reset is still to be posted (unposted = why); magic last, so a
 * death midway means "new" next time.
 */
void kv_stash_init(struct kv_stash *st, uint64_t gen, enum kv_why why);

/*
 * Write (not arm) the redo record for making slot `slot` (< KV_ENTRIES)
 * hold *e as the change of message id. kv_change() arms and applies it;
 * a test arms it by hand to leave a change half done.
 */
void kv_redo_write(struct kv_stash *st, uint32_t slot, const struct kv_entry *e, uint64_t id);

/*
 * Make slot `slot` (< KV_ENTRIES) hold *e (all zero: deleted; else a used,
 * well-formed entry) as the change of message id, through the redo record.
 * Returns false, changing nothing, if the slot does not match its hash
 * (the table is not to be trusted).
 */
bool kv_change(struct kv_stash *st, uint32_t slot, const struct kv_entry *e, uint64_t id);

/* The slot holding key[0..klen), or -1. */
int kv_find(const struct kv_stash *st, const char *key, size_t klen);

/* An unused slot, or -1. */
int kv_find_free(const struct kv_stash *st);

/*
 * Whether message id is the change applied last (the kernel replayed it
 * after a death that came after the change but before the reply). Only if
 * last_id and its complement agree: a flipped bit there must not make kv
 * answer "+" to a change it never applied; at worst it applies a replayed
 * change again, which is harmless (a put writes the same value, a delete
 * answers "-nokey", which a resending client takes as done).
 */
bool kv_replayed(const struct kv_stash *st, uint64_t id);

#endif
