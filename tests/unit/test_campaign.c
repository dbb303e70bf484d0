/*
 * The campaign's judgement (tools/campaign_report.c, campaign_record.c):
 * records built by hand, judged as the tool judges a guest's. What a
 * record holds is whatever the event log said; these tests check what the
 * verdict makes of it, above all when several guests' records are merged.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "campaign.h"

static char dir[64];

/* A guest's record with kv up, its workload counting ok, the final tree
 * read: a clean campaign until the test adds to it. */
static void guest(struct camp_record *r, int job)
{
	struct camp_svc *kv;

	memset(r, 0, sizeof(*r));
	r->jobs = 1;
	r->accel = "tcg";
	r->kinds = "kill";
	r->targets = "kv";
	r->tree_checked = true;
	r->workload_alive = true;
	r->wl.seen = true;
	r->wl.ok = 100;
	kv = camp_svc_get(r, "kv");
	kv->pid = 20 + job;
	kv->serves = kv->in_tree = kv->tree_up = true;
}

/* A kill into kv, whose process was pid and which the tree restarted (or
 * not: recovered false). */
static void kill_kv(struct camp_record *r, int job, int pid, bool recovered)
{
	struct camp_fault *f;
	struct camp_svc *kv = camp_svc_get(r, "kv");

	r->f = realloc(r->f, (r->nf + 1) * sizeof(*r->f));
	assert_non_null(r->f);
	f = &r->f[r->nf++];
	memset(f, 0, sizeof(*f));
	f->index = (int)r->nf;
	f->job = job;
	strcpy(f->target, "kv");
	strcpy(f->kind, "kill");
	strcpy(f->reason, "killed");
	f->pid = pid;
	f->death = recovered ? CAMP_RECOVERED : CAMP_DIED;
	f->recovery_us = 1000;
	f->outcome = recovered ? CAMP_TRANSPARENT : CAMP_NOT_RECOVERED;
	kv->restarts_seen += recovered;
}

/* The report's value for "key": NUMBER in report.json. */
static long json_num(const char *key)
{
	char path[96], line[256], want[64];
	FILE *in;
	long v = -1;

	snprintf(path, sizeof(path), "%s/report.json", dir);
	snprintf(want, sizeof(want), "\"%s\": ", key);
	in = fopen(path, "r");
	assert_non_null(in);
	while (fgets(line, sizeof(line), in))
		if (strstr(line, want) && v < 0)
			v = strtol(strstr(line, want) + strlen(want), NULL, 10);
	fclose(in);
	return v;
}

/* The line of report.txt that starts with prefix, in line (cap bytes);
 * false if there is none. */
static bool text_line(const char *prefix, char *line, size_t cap)
{
	char path[96];
	FILE *in;
	bool found = false;

	snprintf(path, sizeof(path), "%s/report.txt", dir);
	in = fopen(path, "r");
	assert_non_null(in);
	while (!found && fgets(line, (int)cap, in))
		found = strncmp(line, prefix, strlen(prefix)) == 0;
	fclose(in);
	return found;
}

/* Judge r as the tool does once a guest's campaign ended. */
static bool judge_guest(struct camp_record *r)
{
	camp_record_finish(r);
	return camp_report(r, dir, NULL);
}

/* a and b merged into all as `campaign --jobs 2` does: the strings are
 * the parent's. */
static void merge(struct camp_record *all, const struct camp_record *a, const struct camp_record *b)
{
	camp_record_merge(all, a);
	camp_record_merge(all, b);
	all->accel = a->accel;
	all->kinds = a->kinds;
	all->targets = a->targets;
}

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/test_campaign.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	static const char *const files[] = { "report.txt", "report.json", "recovery.svg" };
	char path[96];

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	return rmdir(dir);
}

/* Faults all recovered from, nothing lost: a pass, once the record is
 * closed. */
static void test_clean_passes(void **state)
{
	struct camp_record r;

	(void)state;
	guest(&r, 0);
	kill_kv(&r, 0, 18, true);
	kill_kv(&r, 0, 19, true);
	assert_false(camp_report(&r, dir, NULL)); /* not closed yet */
	assert_true(judge_guest(&r));
	assert_int_equal(json_num("services_down"), 0);
	assert_int_equal(json_num("faults"), 2);
	free(r.f);
}

/* A service still in the process its last fault stopped is down, even if
 * the final tree calls it up (a hang the tree has not seen yet). */
static void test_stuck_is_down(void **state)
{
	struct camp_record r;

	(void)state;
	guest(&r, 0);
	kill_kv(&r, 0, 19, true);
	kill_kv(&r, 0, 20, false);
	assert_false(judge_guest(&r));
	assert_int_equal(json_num("services_down"), 1);
	free(r.f);
}

/* A lost request fails the campaign however well the tree did. */
static void test_lost_fails(void **state)
{
	struct camp_record r;

	(void)state;
	guest(&r, 0);
	kill_kv(&r, 0, 19, true);
	r.wl.timeouts = 1;
	assert_false(judge_guest(&r));
	assert_int_equal(json_num("lost"), 1);
	free(r.f);
}

/* Merged guests: a service stuck in one guest is down, although another
 * guest's faults into it came later in the merged list and all recovered
 * (the merged record keeps one pid per service: the first guest's). */
static void test_merged_stuck_is_down(void **state)
{
	struct camp_record a, b, all = { 0 };

	(void)state;
	guest(&a, 0);
	kill_kv(&a, 0, 19, true);
	kill_kv(&a, 0, 20, false);
	camp_record_finish(&a);
	guest(&b, 1);
	kill_kv(&b, 1, 21, true);
	camp_record_finish(&b);
	merge(&all, &a, &b);
	assert_int_equal(all.jobs, 2);
	assert_int_equal(all.nf, 3);
	assert_false(camp_report(&all, dir, NULL));
	assert_int_equal(json_num("services_down"), 1);
	free(a.f);
	free(b.f);
	free(all.f);
}

/* ... and a guest whose killed pid never came back but whose service a
 * later incarnation serves is not down because that pid happens to be
 * the other guest's kv (pids are per guest). */
static void test_merged_pids_are_per_guest(void **state)
{
	struct camp_record a, b, all = { 0 };

	(void)state;
	guest(&a, 0); /* kv is pid 20 here */
	kill_kv(&a, 0, 19, true);
	camp_record_finish(&a);
	guest(&b, 1);
	kill_kv(&b, 1, 20, false);
	b.svc[0].pid = 24;
	camp_record_finish(&b);
	merge(&all, &a, &b);
	assert_false(camp_report(&all, dir, NULL)); /* the fault was not recovered from */
	assert_int_equal(json_num("services_down"), 0);
	free(a.f);
	free(b.f);
	free(all.f);
}

/* The report promises what a seed gives and no more: the same faults in
 * the same order, not the same run (when each lands is host time), so it
 * has no "replay:" line, and the command it gives is said to repeat the
 * faults. */
static void test_report_promises_the_faults_only(void **state)
{
	struct camp_record r;
	char line[512];

	(void)state;
	guest(&r, 0);
	r.faults_asked = 2;
	r.seed = 7;
	kill_kv(&r, 0, 18, true);
	assert_true(judge_guest(&r));
	assert_false(text_line("replay:", line, sizeof(line)));
	assert_true(
	    text_line("same faults: tools/campaign --faults 2 --seed 7 ", line, sizeof(line)));
	assert_non_null(strstr(line, "--kinds kill --targets kv"));
	assert_true(text_line("  (", line, sizeof(line)));
	assert_non_null(strstr(line, "not when"));
	free(r.f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_clean_passes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stuck_is_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merged_stuck_is_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merged_pids_are_per_guest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_promises_the_faults_only, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
