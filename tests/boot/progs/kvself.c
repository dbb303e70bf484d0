/*
 * kvself: kv's start-up check (svc/kv/table.c) against random bit flips,
 * as compiled for the guest. Args "trials=N [seed=S]": N times it builds a
 * scratch table (in its own memory, never a stash) with a few entries,
 * flips 1..8 random bits anywhere in it, and checks that kv_stash_check() either
 * rejects it or keeps exactly the table the unflipped copy checks to.
 * The host unit test (test_kvtable) flips every single bit; this adds
 * several at once, in the freestanding build.
 *
 * Everything random comes from S (by default one from the clock), posted
 * before the first trial:
 *   {"ev":"kv_selftest_seed","seed":S}
 * so a failure replays with seed=S. At the end:
 *   {"ev":"kv_selftest","trials":N,"reset":R,"kept":K,"bad":B,"seed":S}
 * Exit 0 if no trial went bad, 3 if one did, 2 bad args, 1 no memory.
 */
#include "vesta.h"

#include "table.h"

#define FILLS 40     /* changes made to each scratch table */
#define MAX_FLIPS 8  /* bits flipped per trial, at most */
#define SEED_BITS 48 /* a clock seed fits the event's signed number */

struct self {
	uint64_t trials, seed;
	struct ve_rng rng;
	uint64_t reset, kept, bad;
};

/* A random nonzero generation. */
static uint64_t some_gen(struct self *s)
{
	return ve_rng_next(&s->rng) | 1;
}

/* A random well-formed used entry whose key starts with c. */
static void some_entry(struct self *s, struct kv_entry *e, char c)
{
	memset(e, 0, sizeof(*e));
	e->used = 1;
	e->klen = (uint8_t)(1 + ve_rng_below(&s->rng, KV_KEY_MAX));
	e->vlen = (uint8_t)ve_rng_below(&s->rng, KV_VAL_MAX + 1);
	memset(e->key, c, e->klen);
	memset(e->val, 'v', e->vlen);
}

/* A table with FILLS changes in st. */
static void scratch_table(struct self *s, struct kv_stash *st)
{
	struct kv_entry e;

	kv_stash_init(st, some_gen(s), KV_WHY_NONE);
	for (uint32_t i = 0; i < FILLS; i++) {
		some_entry(s, &e, (char)('a' + (int)(i % 26)));
		kv_change(st, (uint32_t)ve_rng_below(&s->rng, KV_ENTRIES), &e, i + 1);
	}
}

/* Whether t holds the same table as want. */
static bool same_table(const struct kv_stash *t, const struct kv_stash *want)
{
	return memcmp(t->table, want->table, sizeof(t->table)) == 0 &&
	       memcmp(t->hash, want->hash, sizeof(t->hash)) == 0 && t->count == want->count &&
	       t->sum == want->sum && t->gen == want->gen;
}

/* One trial on the scratch tables orig, want and t. */
static void trial(struct self *s, struct kv_stash *orig, struct kv_stash *want, struct kv_stash *t)
{
	scratch_table(s, orig);
	*want = *orig;
	if (kv_stash_check(want) != KV_WHY_NONE) {
		s->bad++; /* a sound table must pass */
		return;
	}
	*t = *orig;
	for (uint64_t f = 1 + ve_rng_below(&s->rng, MAX_FLIPS); f > 0; f--) {
		uint64_t bit = ve_rng_below(&s->rng, sizeof(*t) * 8);
		((uint8_t *)t)[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	if (kv_stash_check(t) != KV_WHY_NONE)
		s->reset++;
	else if (same_table(t, want))
		s->kept++;
	else
		s->bad++;
}

/* Parse "trials=N [seed=S]" into *s. Returns 0 or -VE_INVAL. */
static int parse_args(const char *args, struct self *s)
{
	const char *p = ve_skip_space(args);
	bool seeded = false;

	while (*p) {
		size_t n = ve_word_len(p);
		const char *end = p + n;

		if (n > 7 && strncmp(p, "trials=", 7) == 0) {
			p += 7;
			if (ve_parse_u64(&p, &s->trials) < 0 || p != end)
				return -VE_INVAL;
		} else if (n > 5 && strncmp(p, "seed=", 5) == 0) {
			p += 5;
			if (ve_parse_u64(&p, &s->seed) < 0 || p != end)
				return -VE_INVAL;
			seeded = true;
		} else {
			return -VE_INVAL;
		}
		p = ve_skip_space(p);
	}
	if (!seeded)
		s->seed = ve_clock_ns() & ((1ull << SEED_BITS) - 1);
	return s->trials > 0 ? 0 : -VE_INVAL;
}

int main(const char *args)
{
	static struct self s;
	uint64_t size = (sizeof(struct kv_stash) + 4095) & ~4095ull;
	long a;

	if (parse_args(args, &s) < 0) {
		ve_printf("kvself: bad args '%s' (want trials=N [seed=S])\n", args);
		return 2;
	}
	ve_event1("kv_selftest_seed", "seed", (int64_t)s.seed);
	ve_rng_seed(&s.rng, s.seed);
	a = ve_vm_alloc(0, 3 * size, VE_PROT_READ | VE_PROT_WRITE);
	if (a < 0) {
		ve_printf("kvself: vm_alloc: %s\n", ve_strerror(a));
		return 1;
	}
	for (uint64_t n = 0; n < s.trials; n++)
		trial(&s, (struct kv_stash *)(uintptr_t)a,
		      (struct kv_stash *)(uintptr_t)(a + (long)size),
		      (struct kv_stash *)(uintptr_t)(a + 2 * (long)size));
	struct ve_kv f[] = {
		VE_KV_NUM("trials", s.trials), VE_KV_NUM("reset", s.reset),
		VE_KV_NUM("kept", s.kept),     VE_KV_NUM("bad", s.bad),
		VE_KV_NUM("seed", s.seed),
	};
	ve_event("kv_selftest", f, 5);
	return s.bad ? 3 : 0;
}
