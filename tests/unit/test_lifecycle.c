/*
 * The process lifecycle (kernel/lifecycle.c): exactly the edges listed in
 * lifecycle.h are allowed, and each says what proc.c must do besides
 * writing the state (run queue, SENDING count, parent's ZOMBIE count).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lifecycle.h"

#define NSTATES (PROC_DEAD + 1)

/* The listing in lifecycle.h, written out: row = from, column = to, in
 * enum order (free runnable running sleeping waiting calling sending
 * polling zombie dead). */
static const char *const allowed[NSTATES] = {
	[PROC_FREE] = ".x........",    [PROC_RUNNABLE] = "..xx....xx",
	[PROC_RUNNING] = ".x.xxxxxxx", [PROC_SLEEPING] = ".x......xx",
	[PROC_WAITING] = ".x......xx", [PROC_CALLING] = ".xx.....xx",
	[PROC_SENDING] = ".x......xx", [PROC_POLLING] = ".xx.....xx",
	[PROC_ZOMBIE] = "x.........",  [PROC_DEAD] = "x.........",
};

static void test_edges_are_the_listed_ones(void **state)
{
	(void)state;
	for (int f = 0; f < NSTATES; f++) {
		for (int t = 0; t < NSTATES; t++) {
			struct lifecycle_step st;
			bool ok = lifecycle_step((enum proc_state)f, (enum proc_state)t, &st);
			if (ok != (allowed[f][t] == 'x'))
				fail_msg("%s -> %s: %s", lifecycle_name((enum proc_state)f),
					 lifecycle_name((enum proc_state)t),
					 ok ? "allowed" : "refused");
		}
	}
}

static void test_run_queue_follows_runnable(void **state)
{
	(void)state;
	for (int f = 0; f < NSTATES; f++) {
		for (int t = 0; t < NSTATES; t++) {
			struct lifecycle_step st;
			if (!lifecycle_step((enum proc_state)f, (enum proc_state)t, &st))
				continue;
			assert_int_equal(st.enqueue, t == PROC_RUNNABLE);
			/* Off the queue only by dying: RUNNING and SLEEPING
			 * are entered after the scheduler's pick took it off,
			 * or (a handoff) from POLLING or CALLING, never queued. */
			assert_int_equal(st.dequeue, f == PROC_RUNNABLE &&
							 (t == PROC_ZOMBIE || t == PROC_DEAD));
		}
	}
}

static void test_counters(void **state)
{
	struct lifecycle_step st;
	(void)state;
	assert_true(lifecycle_step(PROC_RUNNING, PROC_SENDING, &st));
	assert_int_equal(st.senders, 1);
	assert_true(lifecycle_step(PROC_SENDING, PROC_RUNNABLE, &st));
	assert_int_equal(st.senders, -1);
	assert_true(lifecycle_step(PROC_SENDING, PROC_ZOMBIE, &st)); /* killed while SENDING */
	assert_int_equal(st.senders, -1);
	assert_int_equal(st.zombies, 1);
	assert_true(lifecycle_step(PROC_SENDING, PROC_DEAD, &st));
	assert_int_equal(st.senders, -1);
	assert_int_equal(st.zombies, 0);
	assert_true(lifecycle_step(PROC_ZOMBIE, PROC_FREE, &st));
	assert_int_equal(st.zombies, -1);
	assert_int_equal(st.senders, 0);
	assert_true(lifecycle_step(PROC_DEAD, PROC_FREE, &st));
	assert_int_equal(st.zombies, 0);
	assert_true(lifecycle_step(PROC_RUNNING, PROC_CALLING, &st));
	assert_int_equal(st.senders, 0);
}

static void test_blocked_states_and_names(void **state)
{
	(void)state;
	for (int s = 0; s < NSTATES; s++)
		assert_int_equal(lifecycle_blocked((enum proc_state)s),
				 s >= PROC_SLEEPING && s <= PROC_POLLING);
	assert_string_equal(lifecycle_name(PROC_ZOMBIE), "zombie");
	assert_string_equal(lifecycle_name((enum proc_state)NSTATES), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edges_are_the_listed_ones),
		cmocka_unit_test(test_run_queue_follows_runnable),
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_blocked_states_and_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
