/*
 * kv's channel table (table.h) on its disk, beside the Redis keyspace
 * (rdisk.h): the bytes of its disk records and how they are applied. A
 * checkpoint holds the table's image ('T'); the log, its changes since
 * ('U'), each naming the generation it was made in. Pure functions over
 * the table: test_rdisk runs them.
 *
 *   image   u64 gen, u32 count, then count entries: u8 klen, u8 vlen, key, value
 *   change  u64 gen, u8 op ('P' put, 'D' delete), u8 klen, u8 vlen, key, value
 */
#ifndef VESTA_SVC_KV_RTABLE_H
#define VESTA_SVC_KV_RTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "table.h"

/* The most bytes rtable_image and rtable_change write. */
#define RTABLE_CHANGE_MAX (11u + KV_KEY_MAX + KV_VAL_MAX)
#define RTABLE_IMAGE_MAX (12u + KV_ENTRIES * (2u + KV_KEY_MAX + KV_VAL_MAX))

/* The table's image into out (RTABLE_IMAGE_MAX bytes). Returns its length. */
size_t rtable_image(const struct kv_stash *st, uint8_t *out);

/* One change into out (RTABLE_CHANGE_MAX bytes): op 'P' (key = val) or 'D'
 * (val unused) in generation gen. Returns its length. */
size_t rtable_change(uint8_t *out, uint64_t gen, char op, const char *key, size_t klen,
		     const char *val, size_t vlen);

/* Make st the table an image holds: a new table of its generation, still
 * marked made for `why` (kv_unposted), so that a kv that dies before the
 * whole disk is read takes it for unread again; kv_posted() once it is.
 * Returns 0, or -1 if the image does not parse (st then holds part of it:
 * the caller makes a new table). */
int rtable_load_image(struct kv_stash *st, const uint8_t *p, size_t n, enum kv_why why);

/* Apply a run of changes to st (those of another generation are skipped:
 * they were made in a table that is gone). Returns 0, or -1 if one does
 * not parse. */
int rtable_apply(struct kv_stash *st, const uint8_t *p, size_t n);

#endif
