/*
 * The campaign's event-log bookkeeping (tools/campaign_track.c) on real
 * event logs: each fixture in tests/unit/fixtures/campaign/ is a few dozen
 * COM2 lines cut from a campaign run (the boot, the processes current at
 * the cut, then the faults), and each test checks what the campaign makes
 * of it: which fault killed what, which restarts were a service's own,
 * what kept state was lost, and the news the driver acts on.
 *
 * The replay does what the driver (tools/campaign.c) does around the
 * events: it types a fault just before its inject event (target, kind,
 * arg and seed as the event gives them), ends a fault still being handled
 * when the next one is typed (the driver types the next only after a
 * bound), and honours a line `timeout` where a fixture says the
 * campaign's bound ran out. Lines starting with # are comments.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "campaign_track.h"

#define FIXTURES "tests/unit/fixtures/campaign/"
#define LINE_MAX_ 4096

/* A fixture replayed: the record, and how often each news came. */
struct replay {
	struct camp_record r;
	struct camp_track t;
	int news[CAMP_NEWS_SUP_RESTART + 1];
};

static const char *value(const struct jsonline *o, const char *key)
{
	const struct jsonline_pair *p = jsonline_find(o, key);

	assert_non_null(p);
	return p->value;
}

/* What the driver does when it types the fault this inject event reports. */
static void type_fault(struct replay *p, const struct jsonline *inject)
{
	struct camp_fault *f;

	if (p->t.ph != CAMP_F_IDLE)
		camp_track_timeout(&p->t); /* its bound passed before the next */
	p->r.f = realloc(p->r.f, (p->r.nf + 1) * sizeof(*p->r.f));
	assert_non_null(p->r.f);
	f = &p->r.f[p->r.nf++];
	memset(f, 0, sizeof(*f));
	f->index = (int)p->r.nf;
	snprintf(f->target, sizeof(f->target), "%s", value(inject, "target"));
	snprintf(f->kind, sizeof(f->kind), "%s", value(inject, "kind"));
	f->arg = strtoull(value(inject, "arg"), NULL, 10);
	f->seed = strtoull(value(inject, "seed"), NULL, 10);
	camp_track_begin(&p->t, f);
}

static void replay_line(struct replay *p, const char *line)
{
	static char buf[LINE_MAX_];
	struct jsonline o;
	struct camp_news n;

	if (!strcmp(line, "timeout")) {
		camp_track_timeout(&p->t);
		return;
	}
	assert_true(jsonline_parse(line, strlen(line), buf, sizeof(buf), &o) > 0);
	if (!strcmp(value(&o, "ev"), "inject") && p->t.ph != CAMP_F_TYPED)
		type_fault(p, &o);
	n = camp_track_event(&p->t, &o);
	p->news[n.what]++;
}

/* Replay fixture name into p (zeroed first). */
static void replay(struct replay *p, const char *name)
{
	char path[128], line[LINE_MAX_];
	FILE *in;

	memset(p, 0, sizeof(*p));
	p->t.r = &p->r;
	snprintf(path, sizeof(path), FIXTURES "%s", name);
	in = fopen(path, "r");
	assert_non_null(in);
	while (fgets(line, sizeof(line), in)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (*line && *line != '#')
			replay_line(p, line);
	}
	fclose(in);
}

static const struct camp_svc *svc(struct replay *p, const char *name)
{
	const struct camp_svc *s = camp_svc_get(&p->r, name);

	assert_non_null(s);
	return s;
}

/* The check the report makes (campaign_report.c, check_restarts) with no
 * escalation: restarts seen equal the faults that killed the service plus
 * its own failures. */
static void assert_restarts_balance(struct replay *p, const char *name)
{
	const struct camp_svc *s = svc(p, name);
	int kills = 0;

	for (size_t i = 0; i < p->r.nf; i++)
		kills += camp_fault_killed(&p->r.f[i]) && !strcmp(p->r.f[i].target, name);
	assert_int_equal(s->restarts_seen, kills + s->own_exits);
}

/* Plain: a hang caught by the heartbeat and a div0 into uart, each
 * killing it, each restarted and serving again: recovered transparently,
 * one restart each, detection and recovery measured from the log. */
static void test_plain_kill_restart_serve(void **state)
{
	struct replay p;

	(void)state;
	replay(&p, "plain.log");
	assert_true(p.t.sup_ready && p.t.shell_ready);
	assert_int_equal(p.r.nf, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(p.r.f[i].death, CAMP_RECOVERED);
		assert_int_equal(camp_outcome_of(&p.r.f[i]), CAMP_TRANSPARENT);
	}
	assert_string_equal(p.r.f[0].reason, "hung");
	assert_string_equal(p.r.f[1].reason, "de");
	/* inject 697733833, exit 1663106819, chan_serve 1665318829 */
	assert_int_equal(p.r.f[0].detect_us, (1663106819 - 697733833) / 1000);
	assert_int_equal(p.r.f[0].recovery_us, (1665318829 - 1663106819) / 1000);
	assert_int_equal(p.news[CAMP_NEWS_INJECTED], 2);
	assert_int_equal(p.news[CAMP_NEWS_KILLED], 2);
	assert_int_equal(p.news[CAMP_NEWS_OWN_RESTART], 2);
	assert_int_equal(p.news[CAMP_NEWS_RECOVERED], 2);
	assert_int_equal(p.t.ph, CAMP_F_IDLE);
	assert_int_equal(svc(&p, "uart")->restarts_seen, 2);
	assert_restarts_balance(&p, "uart");
	assert_int_equal(p.r.kv_resets, 0); /* the first table is no loss */
	assert_int_equal(p.r.workload_resets, 0);
	free(p.r.f);
}

/* A fault that changed nothing: no restart, nothing lost. */
static void test_no_effect(void **state)
{
	struct replay p;

	(void)state;
	replay(&p, "no_effect.log");
	assert_int_equal(p.r.nf, 1);
	assert_int_equal(p.r.f[0].death, CAMP_SURVIVED);
	assert_int_equal(camp_outcome_of(&p.r.f[0]), CAMP_NO_RESTART);
	assert_int_equal(p.news[CAMP_NEWS_KILLED], 0);
	assert_int_equal(svc(&p, "supervisor")->restarts_seen, 0);
	assert_int_equal(p.t.ph, CAMP_F_IDLE);
	free(p.r.f);
}

/* rest_for_one: kv's death stops and restarts workload too; that restart
 * is kv's, so workload's count stays 0 and both counts balance. */
static void test_sibling_restart(void **state)
{
	struct replay p;

	(void)state;
	replay(&p, "sibling_restart.log");
	assert_int_equal(p.r.nf, 1);
	assert_int_equal(p.r.f[0].death, CAMP_RECOVERED);
	assert_int_equal(camp_outcome_of(&p.r.f[0]), CAMP_TRANSPARENT);
	assert_int_equal(svc(&p, "kv")->restarts_seen, 1);
	assert_int_equal(svc(&p, "workload")->restarts_seen, 0);
	assert_int_equal(svc(&p, "workload")->own_exits, 0);
	assert_int_equal(svc(&p, "workload")->life, CAMP_SVC_UP);
	assert_restarts_balance(&p, "kv");
	assert_restarts_balance(&p, "workload");
	free(p.r.f);
}

/* A kv table reset after a fault is kept state lost, charged to it. */
static void test_kv_reset_is_state_lost(void **state)
{
	struct replay p;

	(void)state;
	replay(&p, "kv_reset.log");
	assert_int_equal(p.r.nf, 1);
	assert_int_equal(p.r.f[0].death, CAMP_RECOVERED);
	assert_true(p.r.f[0].state_lost);
	assert_string_equal(p.r.f[0].reason, "exit");
	assert_int_equal(camp_outcome_of(&p.r.f[0]), CAMP_STATE_LOST);
	assert_int_equal(p.r.kv_resets, 1);
	assert_restarts_balance(&p, "kv");
	assert_restarts_balance(&p, "workload");
	free(p.r.f);
}

/* kv's Redis keyspace: the boot's first is no loss, one kept whole is
 * none, one kept with records lost or made anew later is one each. */
static void test_redis_keyspace_resets(void **state)
{
	static const char *const lines[] = {
		"{\"ev\":\"kv_redis\",\"t_ns\":1,\"pid\":69,\"made\":\"new\",\"records\":0,"
		"\"bad_records\":0}",
		"{\"ev\":\"kv_redis\",\"t_ns\":2,\"pid\":133,\"made\":\"kept\",\"records\":9,"
		"\"bad_records\":0}",
		"{\"ev\":\"kv_redis\",\"t_ns\":3,\"pid\":197,\"made\":\"kept\",\"records\":7,"
		"\"bad_records\":1}",
		"{\"ev\":\"kv_redis\",\"t_ns\":4,\"pid\":261,\"made\":\"new\",\"records\":0,"
		"\"bad_records\":0}",
	};
	static const int after[] = { 0, 0, 1, 2 };
	struct replay p;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.t.r = &p.r;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		replay_line(&p, lines[i]);
		assert_int_equal(p.r.redis_resets, after[i]);
	}
}

/* A service that dies by itself during another fault, in the process a
 * fault into it left: that earlier fault killed it after all (a late
 * exit), its restart is its own, and the stop that follows kv's death is
 * not. */
static void test_late_exit_during_other_fault(void **state)
{
	struct replay p;
	const struct camp_fault *slow, *kv;

	(void)state;
	replay(&p, "dies_during_other.log");
	assert_int_equal(p.r.nf, 3);
	slow = &p.r.f[0];
	kv = &p.r.f[2];
	assert_string_equal(slow->kind, "slow");
	assert_int_equal(slow->death, CAMP_DIED_LATE);
	assert_string_equal(slow->reason, "hung");
	assert_int_equal(camp_outcome_of(slow), CAMP_TRANSPARENT);
	assert_int_equal(kv->death, CAMP_RECOVERED);
	assert_int_equal(svc(&p, "workload")->restarts_seen, 1);
	assert_int_equal(svc(&p, "workload")->own_exits, 0);
	assert_restarts_balance(&p, "workload");
	assert_restarts_balance(&p, "kv");
	assert_restarts_balance(&p, "uart");
	free(p.r.f);
}

/* ... and one that no fault into it explains: its own failure, its own
 * restart, both counted so the restarts balance. */
static void test_own_exit_during_other_fault(void **state)
{
	struct replay p;

	(void)state;
	replay(&p, "own_exit.log");
	assert_int_equal(p.r.nf, 1);
	assert_int_equal(p.r.f[0].death, CAMP_RECOVERED);
	assert_int_equal(svc(&p, "workload")->own_exits, 1);
	assert_int_equal(svc(&p, "workload")->restarts_seen, 1);
	assert_restarts_balance(&p, "workload");
	assert_restarts_balance(&p, "kv");
	free(p.r.f);
}

/* A stop by the supervisor during a fault's window: the kill of the
 * fault's target that came just before it was the supervisor's (for a
 * sibling), not the fault's; its restart is the sibling's. */
static void test_stop_in_window(void **state)
{
	struct replay p;
	const struct camp_fault *leak, *ud2, *block;

	(void)state;
	replay(&p, "stop_in_window.log");
	assert_int_equal(p.r.nf, 3);
	leak = &p.r.f[0];
	ud2 = &p.r.f[1];
	block = &p.r.f[2];
	assert_int_equal(leak->death, CAMP_DIED_LATE);
	assert_string_equal(leak->reason, "hung");
	assert_int_equal(ud2->death, CAMP_SURVIVED);
	assert_string_equal(ud2->reason, "");
	assert_int_equal(camp_outcome_of(ud2), CAMP_NO_RESTART);
	assert_int_equal(block->death, CAMP_RECOVERED);
	assert_int_equal(camp_outcome_of(block), CAMP_TRANSPARENT);
	assert_int_equal(svc(&p, "workload")->restarts_seen, 1);
	assert_int_equal(svc(&p, "kv")->restarts_seen, 1);
	assert_restarts_balance(&p, "workload");
	assert_restarts_balance(&p, "kv");
	free(p.r.f);
}

/* A start by a new supervisor after its child died: the child that died
 * by itself counts that start as its own restart; the one its supervisor
 * had stopped for a sibling does not. (The fixture's faults were typed
 * at once, so its two kv kills never see kv serve again: the replay
 * counts them not recovered, as the campaign never would.) */
static void test_start_after_sup_death(void **state)
{
	struct replay p;

	(void)state;
	replay(&p, "start_after_sup_death.log");
	assert_int_equal(p.r.nf, 3);
	assert_int_equal(p.r.f[0].death, CAMP_DIED);
	assert_int_equal(p.r.f[1].death, CAMP_DIED);
	assert_int_equal(p.r.f[2].death, CAMP_RECOVERED);
	assert_string_equal(p.r.f[2].target, "supervisor");
	assert_int_equal(p.news[CAMP_NEWS_SUP_RESTART], 1);
	assert_int_equal(svc(&p, "kv")->restarts_seen, 2);
	assert_int_equal(svc(&p, "workload")->restarts_seen, 0);
	assert_int_equal(svc(&p, "supervisor")->restarts_seen, 1);
	assert_int_equal(svc(&p, "supervisor")->life, CAMP_SVC_UP);
	assert_restarts_balance(&p, "kv");
	assert_restarts_balance(&p, "workload");
	assert_restarts_balance(&p, "supervisor");
	free(p.r.f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_kill_restart_serve),
		cmocka_unit_test(test_no_effect),
		cmocka_unit_test(test_sibling_restart),
		cmocka_unit_test(test_kv_reset_is_state_lost),
		cmocka_unit_test(test_redis_keyspace_resets),
		cmocka_unit_test(test_late_exit_during_other_fault),
		cmocka_unit_test(test_own_exit_during_other_fault),
		cmocka_unit_test(test_stop_in_window),
		cmocka_unit_test(test_start_after_sup_death),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
