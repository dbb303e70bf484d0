/* The workload's record copies: see record.h. */
#include "record.h"

#include <stdbool.h>
#include <stddef.h>

/* The write order below depends on this layout. */
_Static_assert(offsetof(struct wl_copy, begin) == 0, "begin comes first");
_Static_assert(offsetof(struct wl_copy, sum) + 8 == offsetof(struct wl_copy, seq),
	       "sum comes just before seq");
_Static_assert(offsetof(struct wl_copy, seq) + 8 == sizeof(struct wl_copy), "seq comes last");

/* Keep the stores of one commit in program order: a death between two of
 * them must leave what record.h says. (One CPU writes and later reads the
 * stash; only the compiler could reorder.) The unit test replaces it with
 * a hook that looks at the copy between the stores. */
#ifdef WL_TEST_FENCE
void wl_test_fence(void);
#define WL_ORDERED() wl_test_fence()
#else
#define WL_ORDERED() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#endif

uint64_t wl_words_sum(const uint64_t *p, size_t n, uint64_t h)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
		h ^= h >> 29;
	}
	return h;
}

uint64_t wl_rec_sum(const struct wl_record *r, uint64_t seq)
{
	_Static_assert(sizeof(*r) % 8 == 0, "the record is summed in words");
	return wl_words_sum((const uint64_t *)r, sizeof(*r) / 8, 0xcbf29ce484222325ull ^ seq);
}

uint64_t wl_copy_seq(const struct wl_copy *c, const struct wl_record *rec)
{
	if (c->seq != 0 && c->sum == wl_rec_sum(rec, c->seq))
		return c->seq;
	if (c->begin != 0 && c->begin != c->seq && c->sum == wl_rec_sum(rec, c->begin))
		return c->begin;
	return 0;
}

void wl_copy_write(struct wl_copy *c, const struct wl_record *r, uint64_t seq)
{
	c->begin = seq;
	WL_ORDERED();
	c->rec = *r;
	WL_ORDERED();
	c->sum = wl_rec_sum(r, seq);
	WL_ORDERED();
	c->seq = seq;
	WL_ORDERED();
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

enum wl_pick wl_pick(const struct wl_stash *st, unsigned *i)
{
	const struct wl_copy *c = st->copy;
	uint64_t s0 = wl_copy_seq(&c[0], &c[0].rec), s1 = wl_copy_seq(&c[1], &c[1].rec);
	const struct wl_copy *bad;
	uint64_t good;

	if (all_zero(st, sizeof(*st)))
		return WL_PICK_NEW;
	if (!s0 && !s1)
		return WL_PICK_LOST;
	*i = s0 && s1 ? s1 > s0 : s1 != 0;
	if (s0 && s1)
		return WL_PICK_OK;
	good = *i ? s1 : s0;
	bad = &c[1 - *i];
	if (bad->seq + 1 == good && bad->begin == good + 1)
		return WL_PICK_OK; /* being written: that commit never happened */
	if (bad->seq + 1 == good && bad->begin == bad->seq)
		return WL_PICK_OK; /* the older commit, damaged: superseded */
	return WL_PICK_CHECKSUM;
}
