/*
 * Unit and model tests for kernel/stashwin: recovery windows' commit and
 * rollback bookkeeping. Frames are pages of a host buffer; a write goes
 * through the same rule as the kernel's fault (a clean page is saved
 * first). The model is the stash's bytes at the last commit: after every
 * rollback the stash must equal it, byte for byte, and the invariants
 * must hold after every step.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stashwin.h"

#define PG 64u /* bytes per page: small, so a run covers many states */
#define MAXPAGES 32u

/* 2 * MAXPAGES frames, frame f (1-based) at mem[f - 1]. */
static uint8_t mem[2 * MAXPAGES][PG];
static uint64_t cur[MAXPAGES], shadow[MAXPAGES];
static uint8_t saved[MAXPAGES];
static uint32_t list[MAXPAGES];
static unsigned protects;

static uint8_t *frame(uint64_t f)
{
	return mem[f - 1];
}

static void copy(void *ctx, uint64_t dst, uint64_t src)
{
	(void)ctx;
	memcpy(frame(dst), frame(src), PG);
}

static void protect(void *ctx, uint32_t page)
{
	(void)ctx, (void)page;
	protects++;
}

static const struct stashwin_env env = { .copy = copy, .protect = protect };

static void setup(struct stashwin *w, uint32_t n)
{
	memset(mem, 0, sizeof(mem));
	memset(saved, 0, sizeof(saved));
	for (uint32_t i = 0; i < n; i++) {
		cur[i] = 1 + 2 * i;
		shadow[i] = 2 + 2 * (n - 1 - i); /* interleaved, not in step */
	}
	stashwin_init(w, n, cur, shadow, saved, list);
	protects = 0;
	assert_int_equal(stashwin_check(w), 0);
}

/* The process writes v at byte off of page: the kernel's rule. */
static void write_byte(struct stashwin *w, uint32_t page, uint32_t off, uint8_t v)
{
	if (!stashwin_is_saved(w, page))
		assert_int_equal(stashwin_save(w, &env, page), 0);
	frame(w->cur[page])[off] = v;
}

static void assert_equals_model(const struct stashwin *w, uint8_t model[][PG])
{
	for (uint32_t i = 0; i < w->npages; i++)
		assert_memory_equal(frame(w->cur[i]), model[i], PG);
}

static void test_save_commit_rollback(void **state)
{
	(void)state;
	struct stashwin w;
	uint8_t model[MAXPAGES][PG] = { { 0 } };

	setup(&w, 4);
	write_byte(&w, 1, 3, 7);
	write_byte(&w, 1, 4, 8); /* the same page: saved once */
	assert_int_equal(w.nsaved, 1);
	assert_int_equal(stashwin_save(&w, &env, 1), -1);
	assert_int_equal(stashwin_save(&w, &env, 4), -1); /* out of range */
	assert_int_equal(stashwin_commit(&w, &env), 1);
	assert_int_equal(protects, 1);
	model[1][3] = 7;
	model[1][4] = 8;
	assert_equals_model(&w, model);

	write_byte(&w, 1, 3, 9);
	write_byte(&w, 0, 0, 1);
	assert_int_equal(stashwin_committed(&w, 1), w.shadow[1]);
	assert_int_equal(frame(stashwin_committed(&w, 1))[3], 7);
	assert_int_equal(stashwin_check(&w), 0);
	assert_int_equal(stashwin_rollback(&w), 2);
	assert_equals_model(&w, model);
	assert_int_equal(stashwin_check(&w), 0);
	assert_int_equal(w.rolledback, 2);
	assert_int_equal(w.rollbacks, 1);
	assert_int_equal(w.commits, 1);
	assert_int_equal(w.saves, 3);
	/* Nothing saved: commit and rollback are no-ops and count nothing. */
	assert_int_equal(stashwin_commit(&w, &env), 0);
	assert_int_equal(stashwin_rollback(&w), 0);
	assert_int_equal(w.commits, 1);
	assert_int_equal(w.rollbacks, 1);
}

static void test_check_catches(void **state)
{
	(void)state;
	struct stashwin w;

	setup(&w, 3);
	saved[2] = 1; /* flagged, not listed */
	assert_int_equal(stashwin_check(&w), -4);
	saved[2] = 0;
	uint64_t keep = shadow[0];
	shadow[0] = cur[2]; /* a frame twice */
	assert_int_equal(stashwin_check(&w), -7);
	shadow[0] = keep;
	write_byte(&w, 0, 0, 1);
	list[w.nsaved++] = 0; /* listed twice */
	saved[1] = 1;	      /* so the count agrees */
	assert_int_not_equal(stashwin_check(&w), 0);
}

static uint64_t rng(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* Random writes, commits and deaths; a death may come at every point. */
static void test_model(void **state)
{
	(void)state;
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	unsigned rollbacks = 0, commits = 0;

	for (unsigned run = 0; run < 200; run++) {
		struct stashwin w;
		uint32_t n = 1 + (uint32_t)(rng(&seed) % MAXPAGES);
		uint8_t model[MAXPAGES][PG] = { { 0 } };
		uint8_t live[MAXPAGES][PG] = { { 0 } };

		setup(&w, n);
		for (unsigned step = 0; step < 2000; step++) {
			uint64_t r = rng(&seed) % 100;
			if (r < 80) {
				uint32_t page = (uint32_t)(rng(&seed) % n);
				uint32_t off = (uint32_t)(rng(&seed) % PG);
				uint8_t v = (uint8_t)rng(&seed);
				write_byte(&w, page, off, v);
				live[page][off] = v;
			} else if (r < 92) {
				uint32_t before = w.nsaved;
				assert_int_equal(stashwin_commit(&w, &env), before);
				memcpy(model, live, sizeof(model));
				commits++;
			} else {
				stashwin_rollback(&w);
				memcpy(live, model, sizeof(live));
				rollbacks++;
			}
			assert_int_equal(stashwin_check(&w), 0);
			assert_equals_model(&w, live);
			for (uint32_t i = 0; i < n; i++)
				assert_memory_equal(frame(stashwin_committed(&w, i)), model[i], PG);
		}
		stashwin_rollback(&w);
		assert_equals_model(&w, model);
	}
	assert_true(rollbacks > 1000 && commits > 1000);
}

/* One script of writes and commits, and a death after every prefix of
 * it: each time the rolled-back stash is the state at the prefix's last
 * commit. */
static void test_death_at_every_point(void **state)
{
	(void)state;
	enum { OPS = 300, N = 8 };
	uint64_t seed = 12345, ops[OPS];
	for (unsigned k = 0; k < OPS; k++)
		ops[k] = rng(&seed);
	for (unsigned cut = 0; cut <= OPS; cut++) {
		struct stashwin w;
		uint8_t model[MAXPAGES][PG] = { { 0 } };
		uint8_t live[MAXPAGES][PG] = { { 0 } };
		setup(&w, N);
		for (unsigned k = 0; k < cut; k++) {
			uint64_t r = ops[k];
			if (r % 10 == 0) {
				stashwin_commit(&w, &env);
				memcpy(model, live, sizeof(model));
				continue;
			}
			uint32_t page = (uint32_t)((r >> 8) % N), off = (uint32_t)((r >> 16) % PG);
			write_byte(&w, page, off, (uint8_t)(r >> 32));
			live[page][off] = (uint8_t)(r >> 32);
		}
		stashwin_rollback(&w);
		assert_int_equal(stashwin_check(&w), 0);
		assert_equals_model(&w, model);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_save_commit_rollback),
		cmocka_unit_test(test_check_catches),
		cmocka_unit_test(test_model),
		cmocka_unit_test(test_death_at_every_point),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
