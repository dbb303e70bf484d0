/*
 * Unit tests for tools/campaign_resp.c, the campaign's --resp reading:
 * respcheck's summary line into the record, its incidents lined up with
 * the faults' windows (by start for a stall; none before the first fault
 * or from the read-back), and the merge of jobs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <stdio.h>
#include <unistd.h>

#include "campaign.h"

static const char summary[] =
    "{\"respcheck\":\"FAIL\",\"host\":\"127.0.0.1\",\"port\":6379,\"conns\":16,"
    "\"seconds\":12.01,\"requests\":137747,\"replies\":137715,\"ok\":137700,\"lost\":2,"
    "\"wrong\":1,\"duplicated\":3,\"errors\":4,\"timeouts\":5,\"ambiguous\":32,\"resets\":30,"
    "\"reconnects\":31,\"connect_failures\":208,\"incr_ok\":27552,\"incr_ambiguous\":2,"
    "\"stall_ms_max\":2294.6,\"final\":\"mismatch\"}\n";

static void test_summary(void **state)
{
	struct camp_resp s = { 0 };

	(void)state;
	assert_int_equal(camp_resp_summary(&s, summary), 0);
	assert_true(s.reported);
	assert_int_equal(s.requests, 137747);
	assert_int_equal(s.replies, 137715);
	assert_int_equal(s.lost, 2);
	assert_int_equal(s.wrong, 1);
	assert_int_equal(s.dup, 3);
	assert_int_equal(s.errors, 4);
	assert_int_equal(s.timeouts, 5);
	assert_int_equal(s.ambiguous, 32);
	assert_int_equal(s.resets, 30);
	assert_int_equal(s.reconnects, 31);
	assert_true(s.stall_ms_max > 2294.5 && s.stall_ms_max < 2294.7);
	assert_string_equal(s.final, "mismatch");
	memset(&s, 0, sizeof(s));
	assert_int_equal(camp_resp_summary(&s, "{\"nicpump\":\"PASS\"}"), -1);
	assert_int_equal(camp_resp_summary(&s, "respcheck: oops"), -1);
	assert_false(s.reported);
}

static void test_attribute(void **state)
{
	struct camp_fault f[3] = { { .index = 1, .host_at = 100.0 },
				   { .index = 2, .host_at = 110.0 },
				   { .index = 3, .host_at = 120.0 } };
	struct camp_record r = { .f = f, .nf = 3 };
	const char *log =
	    "{\"t\":99.5,\"conn\":0,\"what\":\"reset\",\"ms\":0.000}\n"	     /* boot: none */
	    "{\"t\":100.0,\"conn\":0,\"what\":\"eof\",\"ms\":0.000}\n"	     /* #1 */
	    "{\"t\":112.0,\"conn\":1,\"what\":\"timeout\",\"ms\":10000.0}\n" /* sent in #1 */
	    "{\"t\":112.0,\"conn\":1,\"what\":\"drop\",\"ms\":0.000}\n"	     /* no reset */
	    "{\"t\":112.5,\"conn\":1,\"what\":\"excused\",\"ms\":0}\n"	     /* #2 */
	    "{\"t\":111.0,\"conn\":2,\"what\":\"stall\",\"ms\":2000.000}\n"  /* began in #1 */
	    "{\"t\":112.0,\"conn\":2,\"what\":\"stall\",\"ms\":500.000}\n"   /* #2 */
	    "{\"t\":113.0,\"conn\":2,\"what\":\"wrong\",\"ms\":0}\n"	     /* #2 */
	    "{\"t\":113.5,\"conn\":2,\"what\":\"duplicated\",\"ms\":0}\n"    /* #2 */
	    "{\"t\":125.0,\"conn\":3,\"what\":\"lost\",\"ms\":0}\n"	     /* #3 */
	    "{\"t\":125.0,\"conn\":3,\"what\":\"reconnect\",\"ms\":0}\n"     /* not counted */
	    "{\"t\":130.0,\"conn\":3,\"what\":\"final_lost\",\"ms\":0}\n"    /* the read-back */
	    "not json\n"
	    "{\"t\":126.0,\"conn\":3,\"what\":\"error\",\"ms\":0}"; /* no newline */

	(void)state;
	camp_resp_attribute(&r, log);
	assert_int_equal(f[0].resp_resets, 1);
	assert_int_equal(f[0].resp_lost, 1);
	assert_true(f[0].resp_stall_ms > 1999.0 && f[0].resp_stall_ms < 2001.0);
	assert_int_equal(f[1].resp_resets, 0);
	assert_int_equal(f[1].resp_wrong, 2);
	assert_int_equal(f[1].resp_excused, 1);
	assert_int_equal(f[1].resp_lost, 0);
	assert_true(f[1].resp_stall_ms > 499.0 && f[1].resp_stall_ms < 501.0);
	assert_int_equal(f[2].resp_lost, 1);
	assert_int_equal(f[2].resp_wrong, 1);
	assert_int_equal(f[2].resp_resets, 0);
	camp_resp_attribute(&r, NULL); /* no log: nothing */
	camp_resp_attribute(&r, "");
	assert_int_equal(f[0].resp_resets, 1);
}

static void test_merge(void **state)
{
	struct camp_resp a = { 0 },
			 b = { .on = true,
			       .reported = true,
			       .lost = 1,
			       .resets = 2,
			       .stall_ms_max = 5,
			       .final = "ok" },
			 c = { .on = true,
			       .reported = true,
			       .status = 1,
			       .resets = 3,
			       .stall_ms_max = 9,
			       .final = "mismatch" };

	(void)state;
	camp_resp_merge(&a, &b, true);
	camp_resp_merge(&a, &c, false);
	assert_true(a.on && a.reported);
	assert_int_equal(a.lost, 1);
	assert_int_equal(a.resets, 5);
	assert_int_equal(a.status, 1);
	assert_true(a.stall_ms_max > 8.9);
	assert_string_equal(a.final, "mismatch");
	c.reported = false;
	camp_resp_merge(&a, &c, false);
	assert_false(a.reported);
}

/* The whole file dir/name, NUL-terminated, into buf. */
static void read_all(const char *dir, const char *name, char *buf, size_t cap)
{
	char path[128];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, cap - 1, f);
	buf[n] = 0;
	fclose(f);
	unlink(path);
}

/* The report: respcheck's figures per target in text and JSON, and a lost
 * answer fails the campaign. */
static void test_report(void **state)
{
	static char txt[65536], json[65536], svg[65536];
	struct camp_fault f[2] = {
		{ .index = 1,
		  .target = "kv",
		  .kind = "kill",
		  .resp_resets = 3,
		  .resp_lost = 1,
		  .resp_stall_ms = 812.5,
		  .death = CAMP_RECOVERED },
		{ .index = 2,
		  .target = "net",
		  .kind = "hang",
		  .resp_wrong = 2,
		  .death = CAMP_RECOVERED },
	};
	struct camp_record r = { .f = f,
				 .nf = 2,
				 .accel = "tcg",
				 .kinds = "kill",
				 .targets = "kv,net",
				 .finished = true,
				 .tree_checked = true };
	char dir[] = "/tmp/test_campaign_resp.XXXXXX";

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(camp_resp_summary(&r.resp, summary), 0);
	r.resp.on = true;
	assert_false(camp_report(&r, dir, NULL));
	read_all(dir, "report.txt", txt, sizeof(txt));
	read_all(dir, "report.json", json, sizeof(json));
	read_all(dir, "recovery.svg", svg, sizeof(svg));
	rmdir(dir);
	assert_non_null(
	    strstr(txt, "Redis clients: 2 lost, 1 wrong, 3 duplicated, 4 errors, 5 timeouts"));
	assert_non_null(strstr(txt, "the read-back at the end: mismatch"));
	assert_non_null(
	    strstr(txt, "kv               1       3       1       0       0       812.5 ms"));
	assert_non_null(
	    strstr(txt, "net              1       0       0       2       0         0.0 ms"));
	assert_non_null(strstr(json, "\"kv\": {\"faults\": 1, \"resets\": 3, \"lost\": 1, "
				     "\"wrong\": 0, \"excused\": 0, \"stall_ms_max\": 812.5}"));
	assert_non_null(strstr(json, "\"final\": \"mismatch\""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_attribute),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_report),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
