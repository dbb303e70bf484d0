/*
 * The workload's record and the two copies of it in its stash: what must
 * survive a restart, and how the truth is found again after one. Plain
 * data and pure functions, so that the host unit test (test_wlrecord) runs
 * them through every death point and every single flipped bit.
 */
#ifndef VESTA_SVC_WORKLOAD_RECORD_H
#define VESTA_SVC_WORKLOAD_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define WL_KEYS 64 /* keys it cycles through */

/* What the workload believes about one key. seq 0 means "absent". */
struct wl_key {
	uint64_t seq;	   /* last committed: the value kv must hold */
	uint64_t pend_seq; /* a change that may or may not have happened */
	uint32_t pending;  /* 1: pend_seq is as right as seq */
	uint32_t unknown;  /* 1: any well-formed answer is right */
};

/* The record: everything that must survive a restart. */
struct wl_record {
	uint64_t gen; /* kv's table generation as last learnt; 0: none */
	uint64_t next_seq;
	uint64_t ok, bad, errors, timeouts, dups, lost, kv_resets;
	struct wl_key keys[WL_KEYS];
};

/*
 * One copy of the record, written in field order: begin, rec, sum, seq.
 * A complete copy has begin == seq, its commit number, and sum over rec
 * and that number. A copy being written when the workload died has begin
 * one above the other copy's number and, until its sum is in, seq one
 * below it; once the sum is in it is complete but for seq, and valid as
 * begin. (The first commits after a reset write over zeros or garbage: a
 * death there can leave no valid copy, which the next start reports as
 * "lost".)
 */
struct wl_copy {
	uint64_t begin; /* the commit number, written first */
	struct wl_record rec;
	uint64_t sum; /* written after rec */
	uint64_t seq; /* the commit number again, written last */
};

struct wl_stash {
	struct wl_copy copy[2];
};

/* A hash of the n words at p, from h: FNV-1a over 64-bit words with a mix
 * per word, so any one flipped bit changes it. */
uint64_t wl_words_sum(const uint64_t *p, size_t n, uint64_t h);

/* The checksum of record r committed as number seq: any one flipped bit
 * in r or seq changes it. */
uint64_t wl_rec_sum(const struct wl_record *r, uint64_t seq);

/*
 * The commit number copy c is valid as, checking rec (c's record, or a
 * copy of it taken to check what was read); 0 if it is not valid. A flip
 * in one of the two numbers leaves the other to check the sum with.
 */
uint64_t wl_copy_seq(const struct wl_copy *c, const struct wl_record *rec);

/* Write r into c as commit number seq, field by field in order. */
void wl_copy_write(struct wl_copy *c, const struct wl_record *r, uint64_t seq);

enum wl_pick {
	WL_PICK_OK,	  /* copy *i is the newest commit */
	WL_PICK_NEW,	  /* the stash is all zero: first start, or discarded */
	WL_PICK_LOST,	  /* neither copy is valid */
	WL_PICK_CHECKSUM, /* copy *i is valid but the newer one was damaged */
};

/*
 * Which copy of st is the truth at start (in *i, for OK and CHECKSUM): the
 * valid one with the higher number. With one copy valid, the other was
 * either being written at the death (nothing was lost), or is a complete
 * older commit that was damaged (superseded: nothing was lost), or was the
 * newest and was damaged: CHECKSUM, the truth is gone and only the older
 * copy is left. Never an older copy where a newer commit was complete.
 */
enum wl_pick wl_pick(const struct wl_stash *st, unsigned *i);

#endif
