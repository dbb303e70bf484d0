/*
 * kv's table as it lies in the stash, and how it is checked against
 * flipped bits. Plain data and pure functions, so that the host unit test
 * (test_kvtable) runs them through every single flipped bit and every
 * change cut short; svc/kv/kv.c serves the protocol on top and
 * tests/boot/progs/kvself.c flips bits in the guest.
 *
 * kv maps its stash with recovery windows (VE_STASH_WINDOWS, abi.h): a
 * death at any instruction gives the next incarnation the stash as it was
 * at the last commit, and kv's next commit after a change is its reply
 * (or a disk or socket call before it: svc/kv/README.md). So a change is
 * made in place, slot, hash, count, checksum and message id one after the
 * other, and is all or nothing without a redo record of its own. The id
 * of the last applied change is kept with the table, so a request the
 * kernel replays after a commit that came before its reply (same message
 * id) is answered without being applied twice.
 *
 * The checks below are for damage, which windows do not undo: bits that
 * flip in the stash. They would also report a change cut short (were the
 * window ever to fail): its slot no longer matches its hash, or the hashes
 * the checksum, until the totals are written.
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
/* 2: generations, slot hashes; 3: checked ids; 4: unposted once per byte;
 * 5: no redo record (recovery windows) */
#define KV_VERSION 5u

/* One slot. An unused slot is all zero, so its hash is fixed. */
struct kv_entry {
	uint8_t used; /* 0 or 1 */
	uint8_t klen; /* 1..KV_KEY_MAX when used */
	uint8_t vlen; /* 0..KV_VAL_MAX */
	uint8_t pad;
	char key[KV_KEY_MAX];
	char val[KV_VAL_MAX];
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
	struct kv_entry table[KV_ENTRIES];
	uint64_t hash[KV_ENTRIES]; /* kv_slot_hash(i, &table[i]) */
};

_Static_assert(sizeof(struct kv_stash) <= KV_STASH_SIZE, "kv table outgrew its stash");

/* Why a table was made: the kv_reset event's reason (svc/kv/README.md). */
enum kv_why {
	KV_WHY_NONE,
	KV_WHY_NEW,	 /* the stash is all new (magic 0) */
	KV_WHY_MAGIC,	 /* another magic or layout version */
	KV_WHY_CORRUPT,	 /* a field out of range or a bad generation */
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
 * Why the stash cannot be used as it is, or KV_WHY_NONE if it can, setting
 * unposted right if one of its bits flipped (kv_unposted). Every number read from the stash is range-checked
 * before it indexes, sizes or bounds anything, and every loop runs over
 * KV_ENTRIES, never over a count from the stash, so a stash with any bits
 * flipped ends in a reason, never a hang or a fault.
 */
enum kv_why kv_stash_check(struct kv_stash *st);

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
 * Make slot `slot` (< KV_ENTRIES) hold *e (all zero: deleted; else a used,
 * well-formed entry) as the change of message id, in place: the slot, its
 * hash, the count, the checksum, then the id (KV_CHANGE_STORES stores; the
 * window makes them one at kv's next commit). Returns false, changing
 * nothing, if the slot does not match its hash (the table is not to be
 * trusted).
 */
bool kv_change(struct kv_stash *st, uint32_t slot, const struct kv_entry *e, uint64_t id);

/* The stores of one kv_change, each followed by a fence (table.c): the
 * test hooks count on it. */
#define KV_CHANGE_STORES 6

/* The slot holding key[0..klen), or -1. */
int kv_find(const struct kv_stash *st, const char *key, size_t klen);

/* An unused slot, or -1. */
int kv_find_free(const struct kv_stash *st);

/*
 * Whether message id is the change applied last (the kernel replayed it
 * after a death that came after a commit that followed the change, but
 * before the reply: a disk call while the reply waits for the disk, an
 * exit on a failed image check). Only if
 * last_id and its complement agree: a flipped bit there must not make kv
 * answer "+" to a change it never applied; at worst it applies a replayed
 * change again, which is harmless (a put writes the same value, a delete
 * answers "-nokey", which a resending client takes as done).
 */
bool kv_replayed(const struct kv_stash *st, uint64_t id);

#endif
