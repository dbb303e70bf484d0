/*
 * Unit tests for the policy language (supervisor/policy*.c): every key with
 * its values and defaults, the derived fields pol_check() fills in, and
 * every message, word for word, both from parsing one file and from the
 * checks across files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"

#define NAME_RULE "a name of 1-31 characters from [A-Za-z0-9_.-]"
#define DURATION_RULE "a duration from 1ms to 60m (like 500ms, 10s or 1m)"
#define SIZE_RULE "a size from 1 to 16MiB (like 4096, 64KiB or 1MiB)"
#define RANGE_RULE "a port range N or N-M with N <= M <= 0xffff"
#define IRQ_RULE "an IRQ line 1-15 other than 2"
#define DEVICE_RULE "a device like 8086:100e (vendor:device, 1-4 hex digits each)"
#define DEVICE_AT_RULE "a bus address BB:DD.F (hex bus and slot up to 0x1f, function 0-7)"

/* A tree that holds services a and b, for tests of one service's keys. */
#define TREE "supervisor r\n\tchildren a b\n"

static struct pol_set set; /* ~100 KiB: not on the stack */
static struct pol_error err;

static int parse(const char *fname, const char *text)
{
	return pol_parse_file(&set, fname, text, strlen(text), &err);
}

/* Parses text as t.policy into an empty set; it must parse. */
static void parse_ok(const char *text)
{
	pol_init(&set);
	if (parse("t.policy", text) != 0)
		fail_msg("unexpected error: %s", err.msg);
}

/* ---- keys and defaults ---- */

static void test_defaults(void **state)
{
	const struct pol_service *a;
	const struct pol_supervisor *r;

	(void)state;
	parse_ok("supervisor r\nchildren a\nservice a\n");
	assert_int_equal(pol_check(&set, &err), 0);
	assert_true(set.checked);
	a = &set.services[0];
	assert_string_equal(a->name, "a");
	assert_string_equal(a->image, "a");
	assert_string_equal(a->args, "");
	assert_int_equal(a->restart, SUP_PERMANENT);
	assert_int_equal(a->shutdown_ms, 5000);
	assert_int_equal(a->heartbeat_ms, 0);
	assert_int_equal(a->ready_timeout_ms, 0);
	assert_int_equal(a->backoff_min_ms, 0);
	assert_int_equal(a->backoff_max_ms, 0);
	assert_int_equal(a->state, SUP_STASH_DISCARD);
	assert_int_equal(a->prio, VE_PRIO_SERVICE);
	assert_int_equal(a->grants, 0);
	assert_int_equal(a->irqs, 0);
	assert_int_equal(a->nports, 0);
	assert_int_equal(a->nserves, 0);
	assert_int_equal(a->nopens, 0);
	assert_int_equal(a->pos.line, 3);
	assert_int_equal(a->pos.col, 9);
	assert_int_equal(a->parent, 0);
	r = &set.supervisors[0];
	assert_int_equal(r->strategy, SUP_ONE_FOR_ONE);
	assert_int_equal(r->intensity, 1);
	assert_int_equal(r->period_ms, 5000);
	assert_int_equal(r->on_giveup, SUP_GIVEUP_HALT);
	assert_false(r->has_giveup);
	assert_int_equal(r->parent, -1);
	assert_int_equal(set.root, 0);
}

static void test_service_keys(void **state)
{
	const struct pol_service *a;

	(void)state;
	parse_ok("# a comment line\n"
		 "service a   # a comment after a header\n"
		 "\timage     a-img.1\n"
		 "\trestart   transient\n"
		 "\tshutdown  2s\n"
		 "\theartbeat 500ms\n"
		 "\tbackoff   100ms..1m\n"
		 "\tstate     keep\n"
		 "\tpriority  driver\n"
		 "\tserves    kv  max_messages 64  max_bytes 64KiB  max_redeliveries 5\n"
		 "\tserves    kv.ctl\n"
		 "\topens     log console\n"
		 "\topens     other\n"
		 "\tports     0x3f8-0x3ff 0x60 100-0X1Ff\n"
		 "\tports     0x2f8-0x2ff\n"
		 "\tirqs      4 3\n"
		 "\tirqs      15\n"
		 "\tgrants    spawn halt kill\n"
		 "\targs      --table   256\t-v # not an argument\n"
		 "\tready_timeout 7s\n");
	a = &set.services[0];
	assert_int_equal(set.nservices, 1);
	assert_string_equal(a->image, "a-img.1");
	assert_int_equal(a->restart, SUP_TRANSIENT);
	assert_int_equal(a->shutdown_ms, 2000);
	assert_int_equal(a->heartbeat_ms, 500);
	assert_int_equal(a->ready_timeout_ms, 7000);
	assert_int_equal(a->backoff_min_ms, 100);
	assert_int_equal(a->backoff_max_ms, 60000);
	assert_int_equal(a->state, SUP_STASH_KEEP);
	assert_int_equal(a->prio, VE_PRIO_DRIVER);
	assert_int_equal(a->nserves, 2);
	assert_string_equal(a->serves[0].name, "kv");
	assert_int_equal(a->serves[0].max_messages, 64);
	assert_int_equal(a->serves[0].max_bytes, 65536);
	assert_int_equal(a->serves[0].max_redeliveries, 5);
	assert_int_equal(a->serves[0].pos.line, 10);
	assert_int_equal(a->serves[0].pos.col, 12);
	assert_string_equal(a->serves[1].name, "kv.ctl");
	assert_int_equal(a->serves[1].max_messages, 0);
	assert_int_equal(a->serves[1].max_bytes, 0);
	assert_int_equal(a->serves[1].max_redeliveries, 0);
	assert_int_equal(a->nopens, 3);
	assert_string_equal(a->opens[0].name, "log");
	assert_string_equal(a->opens[1].name, "console");
	assert_string_equal(a->opens[2].name, "other");
	assert_int_equal(a->opens[1].pos.col, 16);
	assert_int_equal(a->nports, 4);
	assert_int_equal(a->ports[0].first, 0x3f8);
	assert_int_equal(a->ports[0].last, 0x3ff);
	assert_int_equal(a->ports[1].first, 0x60);
	assert_int_equal(a->ports[1].last, 0x60);
	assert_int_equal(a->ports[2].first, 100);
	assert_int_equal(a->ports[2].last, 0x1ff);
	assert_int_equal(a->ports[3].first, 0x2f8);
	assert_int_equal(a->irqs, (1u << 3) | (1u << 4) | (1u << 15));
	assert_int_equal(a->irq_pos[3].line, 16);
	assert_int_equal(a->irq_pos[3].col, 14);
	assert_int_equal(a->grants, VE_GRANT_SPAWN | VE_GRANT_HALT | VE_GRANT_KILL);
	assert_string_equal(a->args, "--table 256 -v");
}

static void test_service_values(void **state)
{
	(void)state;
	parse_ok("service a\nrestart temporary\nshutdown brutal_kill\nbackoff 1s\n"
		 "priority besteffort\nstate discard\n");
	assert_int_equal(set.services[0].restart, SUP_TEMPORARY);
	assert_int_equal(set.services[0].shutdown_ms, 0);
	assert_int_equal(set.services[0].backoff_min_ms, 1000);
	assert_int_equal(set.services[0].backoff_max_ms, 1000);
	assert_int_equal(set.services[0].prio, VE_PRIO_BESTEFFORT);
	assert_int_equal(set.services[0].state, SUP_STASH_DISCARD);
	parse_ok("service a\nrestart permanent\npriority service\ngrants halt\n");
	assert_int_equal(set.services[0].restart, SUP_PERMANENT);
	assert_int_equal(set.services[0].prio, VE_PRIO_SERVICE);
	assert_int_equal(set.services[0].grants, VE_GRANT_HALT);
	parse_ok("service a\ngrants inject kill\n");
	assert_int_equal(set.services[0].grants, VE_GRANT_INJECT | VE_GRANT_KILL);
}

static void test_supervisor_keys(void **state)
{
	const struct pol_supervisor *r, *sub;

	(void)state;
	parse_ok("supervisor r\n"
		 "  strategy rest_for_one\n"
		 "  intensity 2 per 1m\n"
		 "  on_giveup panic\n"
		 "  children a\n"
		 "  children sub b\n"
		 "supervisor sub\n"
		 "  strategy one_for_all\n"
		 "  intensity 1000 per 250ms\n"
		 "  children c\n"
		 "service a\nrestart temporary\n"
		 "service b\nrestart transient\n"
		 "service c\n");
	assert_int_equal(pol_check(&set, &err), 0);
	r = &set.supervisors[0];
	sub = &set.supervisors[1];
	assert_int_equal(r->strategy, SUP_REST_FOR_ONE);
	assert_int_equal(r->intensity, 2);
	assert_int_equal(r->period_ms, 60000);
	assert_int_equal(r->intensity_pos.line, 3);
	assert_int_equal(r->intensity_pos.col, 13);
	assert_int_equal(r->on_giveup, SUP_GIVEUP_PANIC);
	assert_true(r->has_giveup);
	assert_int_equal(r->nchildren, 3);
	assert_string_equal(r->children[0].name, "a");
	assert_false(r->children[0].is_supervisor);
	assert_int_equal(r->children[0].index, 0);
	assert_string_equal(r->children[1].name, "sub");
	assert_true(r->children[1].is_supervisor);
	assert_int_equal(r->children[1].index, 1);
	assert_int_equal(r->children[2].index, 1);
	assert_int_equal(r->children[1].pos.line, 6);
	assert_int_equal(r->children[1].pos.col, 12);
	assert_int_equal(sub->strategy, SUP_ONE_FOR_ALL);
	assert_int_equal(sub->intensity, 1000);
	assert_int_equal(sub->period_ms, 250);
	assert_int_equal(sub->parent, 0);
	assert_int_equal(set.services[2].parent, 1);
	assert_int_equal(set.root, 0);

	parse_ok("supervisor r\non_giveup reboot\nstrategy one_for_one\n");
	assert_int_equal(set.supervisors[0].on_giveup, SUP_GIVEUP_REBOOT);
	parse_ok("supervisor r\non_giveup halt\n");
	assert_int_equal(set.supervisors[0].on_giveup, SUP_GIVEUP_HALT);
}

/* Units and limits of durations and sizes, accepted and refused. */
static void test_units(void **state)
{
	static const struct {
		const char *word;
		uint32_t ms; /* 0: refused */
	} d[] = {
		{ "1ms", 1 },
		{ "500ms", 500 },
		{ "10s", 10000 },
		{ "1m", 60000 },
		{ "60m", 3600000 },
		{ "3600s", 3600000 },
		{ "007s", 7000 },
		{ "0ms", 0 },
		{ "0s", 0 },
		{ "61m", 0 },
		{ "3600001ms", 0 },
		{ "1h", 0 },
		{ "10", 0 },
		{ "s", 0 },
		{ "1.5s", 0 },
		{ "10S", 0 },
		{ "99999999999999999999ms", 0 },
	};
	static const struct {
		const char *word;
		uint32_t bytes;
	} z[] = {
		{ "1", 1 },	     { "4096", 4096 },	    { "64KiB", 65536 },
		{ "1MiB", 1048576 }, { "16MiB", 16777216 }, { "16777216", 16777216 },
		{ "0", 0 },	     { "17MiB", 0 },	    { "16777217", 0 },
		{ "64kib", 0 },	     { "64K", 0 },	    { "KiB", 0 },
		{ "0KiB", 0 },
	};
	char text[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		snprintf(text, sizeof(text), "service a\nheartbeat %s\n", d[i].word);
		pol_init(&set);
		if (d[i].ms) {
			assert_int_equal(parse("t.policy", text), 0);
			assert_int_equal(set.services[0].heartbeat_ms, d[i].ms);
		} else {
			char want[160];

			assert_int_equal(parse("t.policy", text), -VE_INVAL);
			snprintf(want, sizeof(want), "t.policy:2:11: expected %s, found '%s'",
				 DURATION_RULE, d[i].word);
			assert_string_equal(err.msg, want);
		}
	}
	for (i = 0; i < sizeof(z) / sizeof(z[0]); i++) {
		snprintf(text, sizeof(text), "service a\nserves c max_bytes %s\n", z[i].word);
		pol_init(&set);
		if (z[i].bytes) {
			assert_int_equal(parse("t.policy", text), 0);
			assert_int_equal(set.services[0].serves[0].max_bytes, z[i].bytes);
		} else {
			char want[160];

			assert_int_equal(parse("t.policy", text), -VE_INVAL);
			snprintf(want, sizeof(want), "t.policy:2:20: expected %s, found '%s'",
				 SIZE_RULE, z[i].word);
			assert_string_equal(err.msg, want);
		}
	}
}

/* Blank lines, comments, CRLF, tabs, no final newline, an empty file. */
static void test_layout(void **state)
{
	(void)state;
	parse_ok("");
	assert_int_equal(set.nservices, 0);
	assert_int_equal(set.nfiles, 1);
	parse_ok("\n\n   \n\t# only comments\r\n#\n");
	assert_int_equal(set.nservices, 0);
	parse_ok("service a\r\n\trestart temporary\r\n\r\nservice b\n  state keep");
	assert_int_equal(set.nservices, 2);
	assert_int_equal(set.services[0].restart, SUP_TEMPORARY);
	assert_int_equal(set.services[1].state, SUP_STASH_KEEP);
	/* '#' only starts a comment where a word would start: */
	pol_init(&set);
	assert_int_equal(parse("t.policy", "service a\nopens b#c\n"), -VE_INVAL);
	assert_string_equal(err.msg, "t.policy:2:7: expected " NAME_RULE ", found 'b#c'");
	/* Bytes after a NUL are still read: the text has a length. */
	pol_init(&set);
	assert_int_equal(pol_parse_file(&set, "t.policy", "service a\0b\n", 12, &err), -VE_INVAL);
	assert_string_equal(err.msg, "t.policy:1:9: expected " NAME_RULE ", found 'a?b'");
	/* A NUL inside a key word does not match the key it starts like. */
	pol_init(&set);
	assert_int_equal(pol_parse_file(&set, "t.policy", "service a\nimage\0 x\n", 19, &err),
			 -VE_INVAL);
	assert_string_equal(err.msg, "t.policy:2:1: expected a service key, found 'image?'");
}

/* ---- messages from one file ---- */

static const struct {
	const char *text;
	const char *msg;
} parse_errors[] = {
	/* sections and keys */
	{ "image kv\n",
	  "t.policy:1:1: expected 'service', 'supervisor' or 'process', found 'image'" },
	{ "  # c\n\tstrategy x\n",
	  "t.policy:2:2: expected 'service', 'supervisor' or 'process', found 'strategy'" },
	{ "service\n", "t.policy:1:8: expected " NAME_RULE ", found end of line" },
	{ "service # c\n", "t.policy:1:9: expected " NAME_RULE ", found end of line" },
	{ "service k/v\n", "t.policy:1:9: expected " NAME_RULE ", found 'k/v'" },
	{ "service abcdefghijabcdefghijabcdefghij12\n",
	  "t.policy:1:9: expected " NAME_RULE ", found 'abcdefghijabcdefghijabcdefghij12'" },
	{ "service abcdefghijabcdefghijabcdefghijabcdefghij\n",
	  "t.policy:1:9: expected " NAME_RULE
	  ", found 'abcdefghijabcdefghijabcdefghijabcdefghij'" },
	{ "service abcdefghijabcdefghijabcdefghijabcdefghijX\n",
	  "t.policy:1:9: expected " NAME_RULE
	  ", found 'abcdefghijabcdefghijabcdefghijabcdefghij...'" },
	{ "service kv extra\n", "t.policy:1:12: expected end of line, found 'extra'" },
	{ "supervisor\n", "t.policy:1:11: expected " NAME_RULE ", found end of line" },
	{ "service kv\nservice kv\n",
	  "t.policy:2:9: expected a name not yet defined, found 'kv', already defined at "
	  "t.policy:1:9" },
	{ "  service kv\nsupervisor kv\n",
	  "t.policy:2:12: expected a name not yet defined, found 'kv', already defined at "
	  "t.policy:1:11" },
	{ "service kv\n\trestrat permanent\n",
	  "t.policy:2:2: expected a service key, found 'restrat'" },
	{ "service kv\n\tstrategy one_for_one\n",
	  "t.policy:2:2: expected a service key, found 'strategy'" },
	{ "supervisor r\n\timage x\n", "t.policy:2:2: expected a supervisor key, found 'image'" },
	{ "supervisor r\n\tIntensity 1 per 1s\n",
	  "t.policy:2:2: expected a supervisor key, found 'Intensity'" },
	{ "service kv\n\trestart permanent\n\trestart temporary\n",
	  "t.policy:3:2: expected each key at most once in a section, found 'restart' again "
	  "(first on line 2)" },
	{ "supervisor r\nstrategy one_for_one\nchildren a\nstrategy one_for_all\n",
	  "t.policy:4:1: expected each key at most once in a section, found 'strategy' again "
	  "(first on line 2)" },
	{ "service kv\n\trestart permanent x\n", "t.policy:2:20: expected end of line, found 'x'" },
	/* image */
	{ "service a\nimage\n", "t.policy:2:6: expected " NAME_RULE ", found end of line" },
	{ "service a\nimage a b\n", "t.policy:2:9: expected end of line, found 'b'" },
	{ "service a\nimage a:b\n", "t.policy:2:7: expected " NAME_RULE ", found 'a:b'" },
	/* restart, state, priority */
	{ "service a\nrestart always\n",
	  "t.policy:2:9: expected 'permanent', 'transient' or 'temporary', found 'always'" },
	{ "service a\nrestart\n",
	  "t.policy:2:8: expected 'permanent', 'transient' or 'temporary', found end of line" },
	{ "service a\nstate kept\n", "t.policy:2:7: expected 'keep' or 'discard', found 'kept'" },
	{ "service a\nstate keep discard\n",
	  "t.policy:2:12: expected end of line, found 'discard'" },
	{ "service a\npriority high\n",
	  "t.policy:2:10: expected 'driver', 'service' or 'besteffort', found 'high'" },
	/* shutdown, heartbeat, backoff */
	{ "service a\nshutdown 5\n",
	  "t.policy:2:10: expected " DURATION_RULE " or 'brutal_kill', found '5'" },
	{ "service a\nshutdown\n",
	  "t.policy:2:9: expected " DURATION_RULE " or 'brutal_kill', found end of line" },
	{ "service a\nshutdown brutal_kill 5s\n",
	  "t.policy:2:22: expected end of line, found '5s'" },
	{ "service a\nheartbeat 10 s\n", "t.policy:2:11: expected " DURATION_RULE ", found '10'" },
	{ "service a\nheartbeat\n",
	  "t.policy:2:10: expected " DURATION_RULE ", found end of line" },
	{ "service a\nheartbeat 1s 2s\n", "t.policy:2:14: expected end of line, found '2s'" },
	{ "service a\nbackoff\n",
	  "t.policy:2:8: expected a backoff like 100ms..5s or 1s, found end of line" },
	{ "service a\nbackoff fast\n",
	  "t.policy:2:9: expected a backoff like 100ms..5s or 1s, found 'fast'" },
	{ "service a\nbackoff 1s..\n",
	  "t.policy:2:9: expected a backoff like 100ms..5s or 1s, found '1s..'" },
	{ "service a\nbackoff ..1s\n",
	  "t.policy:2:9: expected a backoff like 100ms..5s or 1s, found '..1s'" },
	{ "service a\nbackoff 1x..2s\n", "t.policy:2:9: expected " DURATION_RULE ", found '1x'" },
	{ "service a\nbackoff 1s..2\n", "t.policy:2:13: expected " DURATION_RULE ", found '2'" },
	{ "service a\nbackoff 1s...2s\n",
	  "t.policy:2:13: expected " DURATION_RULE ", found '.2s'" },
	{ "service a\nbackoff 1s..100ms\n",
	  "t.policy:2:13: expected a longest backoff no shorter than the first, found '100ms'" },
	{ "service a\nbackoff 1s 2s\n", "t.policy:2:12: expected end of line, found '2s'" },
	/* serves */
	{ "service a\nserves\n", "t.policy:2:7: expected a channel name, found end of line" },
	{ "service a\nserves c/d\n", "t.policy:2:8: expected " NAME_RULE ", found 'c/d'" },
	{ "service a\nserves kv queue 5\n",
	  "t.policy:2:11: expected 'max_messages', 'max_bytes', 'max_redeliveries' or end of "
	  "line, found 'queue'" },
	{ "service a\nserves kv max_messages 0\n",
	  "t.policy:2:24: expected a number of messages from 1 to 4096, found '0'" },
	{ "service a\nserves kv max_messages 4097\n",
	  "t.policy:2:24: expected a number of messages from 1 to 4096, found '4097'" },
	{ "service a\nserves kv max_messages\n",
	  "t.policy:2:23: expected a number of messages from 1 to 4096, found end of line" },
	{ "service a\nserves kv max_messages 0x10\n",
	  "t.policy:2:24: expected a number of messages from 1 to 4096, found '0x10'" },
	{ "service a\nserves kv max_bytes\n",
	  "t.policy:2:20: expected " SIZE_RULE ", found end of line" },
	{ "service a\nserves kv max_redeliveries 0\n",
	  "t.policy:2:28: expected a number from 1 to 1000, found '0'" },
	{ "service a\nserves kv max_redeliveries 1001\n",
	  "t.policy:2:28: expected a number from 1 to 1000, found '1001'" },
	{ "service a\nserves kv max_bytes 1KiB max_bytes 2KiB\n",
	  "t.policy:2:26: expected each limit once, found 'max_bytes'" },
	{ "service a\nserves kv\nserves kv\n",
	  "t.policy:3:8: expected a channel not already in serves, found 'kv'" },
	{ "service a\nserves a\nserves b\nserves c\nserves d\nserves e\n",
	  "t.policy:6:8: expected at most 4 served channels per service, found 'e'" },
	/* opens */
	{ "service a\nopens\n", "t.policy:2:6: expected a channel name, found end of line" },
	{ "service a\nopens a b a\n",
	  "t.policy:2:11: expected a channel not already in opens, found 'a'" },
	{ "service a\nopens a b\nopens c b\n",
	  "t.policy:3:9: expected a channel not already in opens, found 'b'" },
	{ "service a\nopens a b c d e\n",
	  "t.policy:2:15: expected at most 4 opened channels per service, found 'e'" },
	/* ports */
	{ "service a\nports\n", "t.policy:2:6: expected " RANGE_RULE ", found end of line" },
	{ "service a\nports 0x3ff-0x3f8\n",
	  "t.policy:2:7: expected " RANGE_RULE ", found '0x3ff-0x3f8'" },
	{ "service a\nports 0x10000\n", "t.policy:2:7: expected " RANGE_RULE ", found '0x10000'" },
	{ "service a\nports 65536\n", "t.policy:2:7: expected " RANGE_RULE ", found '65536'" },
	{ "service a\nports 5-\n", "t.policy:2:7: expected " RANGE_RULE ", found '5-'" },
	{ "service a\nports -5\n", "t.policy:2:7: expected " RANGE_RULE ", found '-5'" },
	{ "service a\nports 0x\n", "t.policy:2:7: expected " RANGE_RULE ", found '0x'" },
	{ "service a\nports 1-2-3\n", "t.policy:2:7: expected " RANGE_RULE ", found '1-2-3'" },
	{ "service a\nports 0xfg\n", "t.policy:2:7: expected " RANGE_RULE ", found '0xfg'" },
	{ "service a\nports 1 2 3 4\nports 5 6 7 8 9\n",
	  "t.policy:3:15: expected at most 8 port ranges per service, found '9'" },
	/* irqs */
	{ "service a\nirqs\n", "t.policy:2:5: expected " IRQ_RULE ", found end of line" },
	{ "service a\nirqs 0\n", "t.policy:2:6: expected " IRQ_RULE ", found '0'" },
	{ "service a\nirqs 2\n", "t.policy:2:6: expected " IRQ_RULE ", found '2'" },
	{ "service a\nirqs 16\n", "t.policy:2:6: expected " IRQ_RULE ", found '16'" },
	{ "service a\nirqs 0x4\n", "t.policy:2:6: expected " IRQ_RULE ", found '0x4'" },
	{ "service a\nirqs 4 x\n", "t.policy:2:8: expected " IRQ_RULE ", found 'x'" },
	{ "service a\nirqs 4\nirqs 3 4\n",
	  "t.policy:3:8: expected an IRQ line not already in irqs, found '4'" },
	/* device */
	{ "service a\ndevice\n", "t.policy:2:7: expected " DEVICE_RULE ", found end of line" },
	{ "service a\ndevice 8086\n", "t.policy:2:8: expected " DEVICE_RULE ", found '8086'" },
	{ "service a\ndevice 0:100e\n", "t.policy:2:8: expected " DEVICE_RULE ", found '0:100e'" },
	{ "service a\ndevice ffff:100e\n",
	  "t.policy:2:8: expected " DEVICE_RULE ", found 'ffff:100e'" },
	{ "service a\ndevice 8086:1000e\n",
	  "t.policy:2:8: expected " DEVICE_RULE ", found '8086:1000e'" },
	{ "service a\ndevice 0x8086:100e\n",
	  "t.policy:2:8: expected " DEVICE_RULE ", found '0x8086:100e'" },
	{ "service a\ndevice 8086:100g\n",
	  "t.policy:2:8: expected " DEVICE_RULE ", found '8086:100g'" },
	{ "service a\ndevice 8086:100e slot 1\n",
	  "t.policy:2:18: expected 'index' or 'at', or the end of the line, found 'slot'" },
	{ "service a\ndevice 8086:100e index\n",
	  "t.policy:2:23: expected an index 0-255, found end of line" },
	{ "service a\ndevice 8086:100e index 256\n",
	  "t.policy:2:24: expected an index 0-255, found '256'" },
	{ "service a\ndevice 8086:100e at 0:3\n",
	  "t.policy:2:21: expected " DEVICE_AT_RULE ", found '0:3'" },
	{ "service a\ndevice 8086:100e at 0:20.0\n",
	  "t.policy:2:21: expected " DEVICE_AT_RULE ", found '0:20.0'" },
	{ "service a\ndevice 8086:100e at 0:3.8\n",
	  "t.policy:2:21: expected " DEVICE_AT_RULE ", found '0:3.8'" },
	{ "service a\ndevice 8086:100e index 1 x\n",
	  "t.policy:2:26: expected end of line, found 'x'" },
	{ "service a\ndevice 8086:100e\ndevice 8086:100e index 0\n",
	  "t.policy:3:8: expected a device not already granted, found the same device" },
	{ "service a\ndevice 8086:100e\ndevice 1af4:1000\ndevice 8086:100e index 1\n",
	  "t.policy:4:8: expected at most 2 devices per service, found '8086:100e'" },
	/* grants */
	{ "service a\ngrants\n",
	  "t.policy:2:7: expected 'spawn', 'halt', 'kill' or 'inject', found end of line" },
	{ "service a\ngrants root\n",
	  "t.policy:2:8: expected 'spawn', 'halt', 'kill' or 'inject', found 'root'" },
	{ "service a\ngrants inject halt inject\n",
	  "t.policy:2:20: expected a grant not already in grants, found 'inject'" },
	{ "service a\ngrants halt halt\n",
	  "t.policy:2:13: expected a grant not already in grants, found 'halt'" },
	/* args */
	{ "service a\nargs\n", "t.policy:2:5: expected an argument, found end of line" },
	{ "service a\nargs # none\n", "t.policy:2:6: expected an argument, found end of line" },
	{ "service a\nargs x\nargs y\n", "t.policy:3:1: expected each key at most once in a "
					 "section, found 'args' again (first on line 2)" },
	{ "service a\nargs "
	  "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567"
	  "890123"
	  " 5\n",
	  "t.policy:2:6: expected arguments of at most 95 bytes, found 96 bytes" },
	/* strategy, intensity, on_giveup, children */
	{ "supervisor r\nstrategy one_for_some\n",
	  "t.policy:2:10: expected 'one_for_one', 'one_for_all' or 'rest_for_one', found "
	  "'one_for_some'" },
	{ "supervisor r\nintensity x per 5s\n",
	  "t.policy:2:11: expected a number of restarts from 0 to 1000, found 'x'" },
	{ "supervisor r\nintensity 1001 per 5s\n",
	  "t.policy:2:11: expected a number of restarts from 0 to 1000, found '1001'" },
	{ "supervisor r\nintensity\n",
	  "t.policy:2:10: expected a number of restarts from 0 to 1000, found end of line" },
	{ "supervisor r\nintensity 3\n", "t.policy:2:12: expected 'per', found end of line" },
	{ "supervisor r\nintensity 3 in 5s\n", "t.policy:2:13: expected 'per', found 'in'" },
	{ "supervisor r\nintensity 3 per\n",
	  "t.policy:2:16: expected " DURATION_RULE ", found end of line" },
	{ "supervisor r\nintensity 3 per 5\n",
	  "t.policy:2:17: expected " DURATION_RULE ", found '5'" },
	{ "supervisor r\nintensity 3 per 5s x\n",
	  "t.policy:2:20: expected end of line, found 'x'" },
	{ "supervisor r\non_giveup explode\n",
	  "t.policy:2:11: expected 'reboot', 'halt' or 'panic', found 'explode'" },
	{ "supervisor r\non_giveup\n",
	  "t.policy:2:10: expected 'reboot', 'halt' or 'panic', found end of line" },
	{ "supervisor r\nchildren\n",
	  "t.policy:2:9: expected a service or supervisor name, found end of line" },
	{ "supervisor r\nchildren a ~b\n", "t.policy:2:12: expected " NAME_RULE ", found '~b'" },
	{ "supervisor r\nchildren a b\nchildren c a\n",
	  "t.policy:3:12: expected a child not already in children, found 'a'" },
};

static void test_parse_errors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(parse_errors) / sizeof(parse_errors[0]); i++) {
		pol_init(&set);
		if (parse("t.policy", parse_errors[i].text) != -VE_INVAL)
			fail_msg("case %zu parsed: %s", i, parse_errors[i].text);
		if (strcmp(err.msg, parse_errors[i].msg) != 0)
			fail_msg("case %zu:\n  got  %s\n  want %s", i, err.msg,
				 parse_errors[i].msg);
		assert_int_equal(set.nservices, 0);
		assert_int_equal(set.nsupervisors, 0);
		assert_int_equal(set.nfiles, 0);
	}
}

/* Where a message points is also in err.line and err.col. */
static void test_error_position(void **state)
{
	(void)state;
	pol_init(&set);
	assert_int_equal(parse("dir/x.policy", "\n\nservice a\n   restart maybe\n"), -VE_INVAL);
	assert_int_equal(err.line, 4);
	assert_int_equal(err.col, 12);
	assert_string_equal(err.msg, "dir/x.policy:4:12: expected 'permanent', 'transient' or "
				     "'temporary', found 'maybe'");
}

/* Too many of a thing. */
static void test_limits(void **state)
{
	char *text = malloc(8192);
	size_t n = 0;
	unsigned i;

	(void)state;
	assert_non_null(text);
	for (i = 0; i < POL_MAX_SERVICES; i++)
		n += (size_t)sprintf(text + n, "service s%u\n", i);
	parse_ok(text);
	assert_int_equal(set.nservices, POL_MAX_SERVICES);
	assert_int_equal(parse("u.policy", "service one-more\n"), -VE_INVAL);
	assert_string_equal(err.msg,
			    "u.policy:1:9: expected at most 64 services, found 'one-more'");
	assert_int_equal(set.nservices, POL_MAX_SERVICES);

	n = 0;
	for (i = 0; i < POL_MAX_SUPERVISORS; i++)
		n += (size_t)sprintf(text + n, "supervisor s%u\n", i);
	parse_ok(text);
	assert_int_equal(parse("u.policy", "\nsupervisor x\n"), -VE_INVAL);
	assert_string_equal(err.msg, "u.policy:2:12: expected at most 16 supervisors, found 'x'");

	n = (size_t)sprintf(text, "supervisor r\nchildren");
	for (i = 0; i < POL_MAX_CHILDREN; i++)
		n += (size_t)sprintf(text + n, " c%u", i);
	parse_ok(text);
	assert_int_equal(set.supervisors[0].nchildren, POL_MAX_CHILDREN);
	strcpy(text + n, "\nchildren extra\n");
	pol_init(&set);
	assert_int_equal(parse("t.policy", text), -VE_INVAL);
	assert_string_equal(
	    err.msg, "t.policy:3:10: expected at most 32 children per supervisor, found 'extra'");

	/* 95 bytes of arguments fit. */
	parse_ok("service a\nargs "
		 "012345678901234567890123456789012345678901234567890123456789012345678901234567890"
		 "1234567890123\n");
	assert_int_equal(strlen(set.services[0].args), 94);
	parse_ok("service a\nargs "
		 "012345678901234567890123456789012345678901234567890123456789012345678901234567890"
		 "123456789012"
		 " 4\n");
	assert_int_equal(strlen(set.services[0].args), POL_ARGS_MAX - 1);

	/* 64 files, then no more. */
	pol_init(&set);
	for (i = 0; i < POL_MAX_FILES; i++)
		assert_int_equal(parse("f.policy", "# empty\n"), 0);
	assert_int_equal(parse("g.policy", "service a\n"), -VE_RANGE);
	assert_string_equal(err.msg,
			    "g.policy:0:0: expected at most 64 policy files, found one more");
	free(text);
}

/* A file with a mistake adds nothing, and the next file goes on from there. */
static void test_rollback(void **state)
{
	(void)state;
	parse_ok("service a\nsupervisor r\n");
	assert_int_equal(parse("bad.policy", "service b\nsupervisor q\nservice c\nrestart x\n"),
			 -VE_INVAL);
	assert_int_equal(set.nservices, 1);
	assert_int_equal(set.nsupervisors, 1);
	assert_int_equal(set.nfiles, 1);
	assert_int_equal(pol_service_find(&set, "b"), -VE_NOENT);
	assert_int_equal(parse("good.policy", "service b\n"), 0);
	assert_int_equal(set.nfiles, 2);
	assert_string_equal(set.files[1], "good.policy");
	assert_int_equal(set.services[1].pos.file, 1);
}

/* A long file name is kept by its tail, which names the file. */
static void test_long_fname(void **state)
{
	char name[300];

	(void)state;
	memset(name, 'd', sizeof(name));
	strcpy(name + 280, "/x.policy");
	parse_ok("service a\n");
	assert_int_equal(parse(name, "service a\n"), -VE_INVAL);
	/* the message in err names the file in full, up to POL_ERR_MAX */
	assert_int_equal(strncmp(err.msg, name, 100), 0);
	assert_int_equal(parse(name, "service b\n"), 0);
	assert_int_equal(strlen(set.files[1]), POL_FILE_MAX - 1);
	assert_string_equal(set.files[1] + POL_FILE_MAX - 1 - 9, "/x.policy");
}

/* A message quotes unprintable bytes (a NUL too) as '?', and one too long
 * for err.msg is its first POL_ERR_MAX - 1 bytes. */
static void test_message_bytes(void **state)
{
	static const char text[] = "service a\nimage a\x01"
				   "b\x7f\0c\n";
	char name[POL_ERR_MAX + 20], whole[2 * POL_ERR_MAX];

	(void)state;
	pol_init(&set);
	assert_int_equal(pol_parse_file(&set, "t.policy", text, sizeof(text) - 1, &err), -VE_INVAL);
	assert_string_equal(err.msg, "t.policy:2:7: expected " NAME_RULE ", found 'a?b??c'");
	memset(name, 'd', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	pol_init(&set);
	assert_int_equal(parse(name, "restart\n"), -VE_INVAL);
	snprintf(whole, sizeof(whole),
		 "%s:1:1: expected 'service', 'supervisor' or 'process', found 'restart'", name);
	assert_int_equal(strlen(err.msg), POL_ERR_MAX - 1);
	assert_int_equal(strncmp(err.msg, whole, POL_ERR_MAX - 1), 0);
}

static void test_bad_args(void **state)
{
	(void)state;
	pol_init(&set);
	assert_int_equal(pol_init(NULL), -VE_INVAL);
	assert_int_equal(pol_parse_file(NULL, "f", "", 0, &err), -VE_INVAL);
	assert_int_equal(pol_parse_file(&set, NULL, "", 0, &err), -VE_INVAL);
	assert_int_equal(pol_parse_file(&set, "f", NULL, 1, &err), -VE_INVAL);
	assert_int_equal(pol_parse_file(&set, "f", NULL, 0, &err), 0);
	assert_int_equal(pol_parse_file(&set, "f", "bad\n", 4, NULL), -VE_INVAL);
	assert_int_equal(pol_check(NULL, &err), -VE_INVAL);
	assert_int_equal(pol_check(&set, NULL), -VE_INVAL); /* no root */
	assert_int_equal(pol_service_find(NULL, "a"), -VE_INVAL);
	assert_int_equal(pol_service_find(&set, NULL), -VE_INVAL);
	assert_int_equal(pol_supervisor_find(NULL, "a"), -VE_INVAL);
}

static void test_names(void **state)
{
	(void)state;
	parse_ok("service a\nsupervisor r\nservice b\n");
	assert_int_equal(pol_service_find(&set, "a"), 0);
	assert_int_equal(pol_service_find(&set, "b"), 1);
	assert_int_equal(pol_service_find(&set, "r"), -VE_NOENT);
	assert_int_equal(pol_supervisor_find(&set, "r"), 0);
	assert_int_equal(pol_supervisor_find(&set, "a"), -VE_NOENT);
	assert_string_equal(pol_restart_name(SUP_PERMANENT), "permanent");
	assert_string_equal(pol_restart_name(SUP_TRANSIENT), "transient");
	assert_string_equal(pol_restart_name(SUP_TEMPORARY), "temporary");
	assert_string_equal(pol_restart_name((enum sup_restart)3), "?");
	assert_string_equal(pol_strategy_name(SUP_ONE_FOR_ONE), "one_for_one");
	assert_string_equal(pol_strategy_name(SUP_ONE_FOR_ALL), "one_for_all");
	assert_string_equal(pol_strategy_name(SUP_REST_FOR_ONE), "rest_for_one");
	assert_string_equal(pol_strategy_name((enum sup_strategy)9), "?");
	assert_string_equal(pol_giveup_name(SUP_GIVEUP_HALT), "halt");
	assert_string_equal(pol_giveup_name(SUP_GIVEUP_REBOOT), "reboot");
	assert_string_equal(pol_giveup_name(SUP_GIVEUP_PANIC), "panic");
	assert_string_equal(pol_state_name(SUP_STASH_KEEP), "keep");
	assert_string_equal(pol_state_name(SUP_STASH_DISCARD), "discard");
	assert_string_equal(pol_state_name((enum sup_stash)2), "?");
	assert_string_equal(pol_prio_name(VE_PRIO_DRIVER), "driver");
	assert_string_equal(pol_prio_name(VE_PRIO_SERVICE), "service");
	assert_string_equal(pol_prio_name(VE_PRIO_BESTEFFORT), "besteffort");
}

/* ---- checks across files ---- */

/* The default appliance's set, split into files as in policies/. */
static const char *const appliance[][2] = {
	{ "tree.policy", "supervisor root\n"
			 "\tintensity 5 per 10s\n"
			 "\ton_giveup reboot\n"
			 "\tchildren uart log storage shell\n"
			 "supervisor storage\n"
			 "\tintensity 3 per 5s\n"
			 "\tchildren kv workload\n" },
	{ "uart.policy", "service uart\npriority driver\nports 0x3f8-0x3ff\nirqs 4\n"
			 "serves console max_messages 64 max_bytes 16KiB\n" },
	{ "log.policy", "service log\nserves log\nopens console\n" },
	{ "kv.policy", "service kv\nstate keep\nheartbeat 500ms\nbackoff 10ms..1s\n"
		       "serves kv\nopens log\n" },
	{ "shell.policy", "service shell\nopens console log\n" },
	{ "workload.policy", "service workload\nopens kv log\nargs --interval 1s\n" },
};

static void test_appliance(void **state)
{
	size_t i;
	const struct pol_supervisor *root, *storage;

	(void)state;
	pol_init(&set);
	/* Order of files does not matter: the tree may come last. */
	for (i = 6; i-- > 0;)
		assert_int_equal(parse(appliance[i][0], appliance[i][1]), 0);
	assert_int_equal(pol_check(&set, &err), 0);
	assert_true(set.checked);
	root = &set.supervisors[set.root];
	assert_string_equal(root->name, "root");
	assert_int_equal(root->on_giveup, SUP_GIVEUP_REBOOT);
	assert_int_equal(root->nchildren, 4);
	assert_true(root->children[2].is_supervisor);
	storage = &set.supervisors[root->children[2].index];
	assert_string_equal(storage->name, "storage");
	assert_string_equal(set.services[storage->children[0].index].name, "kv");
	assert_string_equal(set.services[root->children[0].index].name, "uart");
	assert_int_equal(set.services[pol_service_find(&set, "kv")].parent,
			 pol_supervisor_find(&set, "storage"));
	/* Parsing another file unchecks the set. */
	assert_int_equal(parse("more.policy", "# nothing\n"), 0);
	assert_false(set.checked);
}

struct file {
	const char *name, *text;
};

static const struct {
	struct file files[3];
	const char *msg;
} check_errors[] = {
	{ { { "t.policy", "supervisor r\nchildren kvv\n" } },
	  "t.policy:2:10: expected a defined service or supervisor, found 'kvv'" },
	{ { { "t.policy", "supervisor r\nchildren a q\nsupervisor q\nchildren a\nservice a\n" } },
	  "t.policy:4:10: expected a child of one supervisor only, found 'a', already a child of "
	  "'r'" },
	{ { { "t.policy", "supervisor r\nchildren q\nsupervisor q\n" },
	    { "u.policy", "supervisor p\nchildren q\n" } },
	  "u.policy:2:10: expected a child of one supervisor only, found 'q', already a child of "
	  "'r'" },
	{ { { "t.policy", "supervisor r\nchildren s\nservice s\nsupervisor a\nchildren a\n" } },
	  "t.policy:5:10: expected a supervisor that does not contain itself, found a > a" },
	{ { { "t.policy", "supervisor r\nchildren s\nservice s\nsupervisor a\nchildren b\n"
			  "supervisor b\nchildren a\n" } },
	  "t.policy:7:10: expected a supervisor that does not contain itself, found a > b > a" },
	{ { { "t.policy", "supervisor r\nchildren a\nsupervisor a\nchildren b\n"
			  "supervisor b\nchildren c\nsupervisor c\nchildren a\n" } },
	  "t.policy:8:10: expected a child of one supervisor only, found 'a', already a child of "
	  "'r'" },
	{ { { "t.policy", "supervisor a\nchildren b\nsupervisor b\nchildren c\n"
			  "supervisor c\nchildren a\n" } },
	  "t.policy:6:10: expected a supervisor that does not contain itself, found a > b > c > "
	  "a" },
	{ { { "t.policy", "# nothing\n" } },
	  "t.policy:1:1: expected a root supervisor, found none" },
	{ { { "t.policy", "service a\n" }, { "u.policy", "service b\n" } },
	  "t.policy:1:1: expected a root supervisor, found none" },
	{ { { "t.policy", "supervisor r\nchildren a\nservice a\nservice b\n" } },
	  "t.policy:4:9: expected 'b' among the children of a supervisor, found it in none (the "
	  "root is 'r')" },
	{ { { "t.policy", "supervisor r\nservice a\n" }, { "u.policy", "  supervisor q\n" } },
	  "u.policy:1:14: expected 'q' among the children of a supervisor, found it in none (the "
	  "root is 'r')" },
	{ { { "t.policy", "supervisor r\nchildren q\nsupervisor q\non_giveup halt\n" } },
	  "t.policy:4:11: expected on_giveup only in the root supervisor, found it in 'q', a child "
	  "of 'r'" },
	{ { { "t.policy", "supervisor r\nintensity 0 per 1s\nchildren t a\nservice a\n"
			  "service t\nrestart transient\n" } },
	  "t.policy:2:11: expected an intensity above 0 for a supervisor with a permanent child, "
	  "found 0 (child 'a' is permanent)" },
	{ { { "t.policy", "supervisor r\nchildren q\nsupervisor q\nintensity 0 per 1s\n"
			  "children a\nsupervisor z\nservice a\n" } },
	  "t.policy:6:12: expected 'z' among the children of a supervisor, found it in none (the "
	  "root is 'r')" },
	{ { { "t.policy", "supervisor r\n  intensity 0 per 1s\nchildren q\nsupervisor q\n" } },
	  "t.policy:2:13: expected an intensity above 0 for a supervisor with a permanent child, "
	  "found 0 (child 'q' is permanent)" },
	{ { { "t.policy", TREE },
	    { "a.policy", "service a\nserves x\nserves kv\n" },
	    { "b.policy", "service b\nserves y\nserves kv\n" } },
	  "b.policy:3:8: expected a channel no other service serves, found 'kv', served by 'a'" },
	{ { { "t.policy", TREE },
	    { "a.policy", "service a\nserves kv\nopens tty0\n" },
	    { "b.policy", "service b\nopens kv tty1\n" } },
	  "a.policy:3:7: expected a channel some service serves, found 'tty0'" },
	{ { { "t.policy", TREE },
	    { "a.policy", "service a\nirqs 3 4\n" },
	    { "b.policy", "service b\nirqs 5\nirqs 4\n" } },
	  "b.policy:3:6: expected an IRQ line no other service has, found '4', granted to 'a'" },
	{ { { "t.policy", TREE },
	    { "a.policy", "service a\ndevice 8086:100e\n" },
	    { "b.policy", "service b\ndevice 1af4:1000\ndevice 8086:100e index 0\n" } },
	  "b.policy:3:8: expected a device no other service has, found '8086:100e', granted to "
	  "'a'" },
	{ { { "t.policy", TREE },
	    { "a.policy", "service a\ndevice 8086:100e at 00:03.0\n" },
	    { "b.policy", "service b\ndevice 1af4:1000 at 0:3.0\n" } },
	  "b.policy:2:8: expected a device no other service has, found '1af4:1000', granted to "
	  "'a'" },
	{ { { "t.policy", TREE },
	    { "a.policy", "service a\nports 0x3f8-0x3ff\n" },
	    { "b.policy", "service b\nports 0x60 0x3fc\n" } },
	  "b.policy:2:12: expected ports no other service has, found '0x3fc', overlapping "
	  "0x3f8-0x3ff of 'a'" },
	{ { { "t.policy", TREE },
	    { "a.policy", "service a\nports 10 20-30\n" },
	    { "b.policy", "service b\nports 0-10\n" } },
	  "b.policy:2:7: expected ports no other service has, found '0x0-0xa', overlapping 0xa of "
	  "'a'" },
	/* "sup" is the supervisor's own channel: nobody else serves it. */
	{ { { "t.policy", TREE },
	    { "a.policy", "service a\nserves sup\n" },
	    { "b.policy", "service b\n" } },
	  "a.policy:2:8: expected a channel no other service serves, found 'sup', served by the "
	  "supervisor" },
};

/* Any service may open "sup" though no service serves it. */
static void test_sup_channel_open(void **state)
{
	(void)state;
	pol_init(&set);
	assert_int_equal(pol_parse_file(&set, "t.policy", TREE, strlen(TREE), &err), 0);
	const char *a = "service a\nopens sup\n", *b = "service b\n";
	assert_int_equal(pol_parse_file(&set, "a.policy", a, strlen(a), &err), 0);
	assert_int_equal(pol_parse_file(&set, "b.policy", b, strlen(b), &err), 0);
	assert_int_equal(pol_check(&set, &err), 0);
}

static void test_check_errors(void **state)
{
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(check_errors) / sizeof(check_errors[0]); i++) {
		pol_init(&set);
		for (k = 0; k < 3 && check_errors[i].files[k].name; k++)
			if (parse(check_errors[i].files[k].name, check_errors[i].files[k].text) !=
			    0)
				fail_msg("case %zu: parse error %s", i, err.msg);
		assert_int_equal(pol_check(&set, &err), -VE_INVAL);
		assert_false(set.checked);
		if (strcmp(err.msg, check_errors[i].msg) != 0)
			fail_msg("case %zu:\n  got  %s\n  want %s", i, err.msg,
				 check_errors[i].msg);
	}
}

/* What is allowed: the edges of the checks above. */
static void test_check_ok(void **state)
{
	static const char *const ok[] = {
		/* intensity 0 with only transient and temporary children */
		"supervisor r\nintensity 0 per 1s\nchildren a b\nservice a\nrestart transient\n"
		"service b\nrestart temporary\n",
		/* an empty supervisor; a service opening its own channel */
		"supervisor r\nchildren q a\nsupervisor q\nservice a\nserves c\nopens c\n",
		/* one service's own ranges may overlap; touching ranges of two do not */
		"supervisor r\nchildren a b\nservice a\nports 1-10 5-6\nservice b\nports 11 0\n",
		/* the root defined after its children; a deeper tree */
		"supervisor q\nchildren p\nsupervisor p\nchildren a\nsupervisor r\nchildren q\n"
		"service a\n",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		parse_ok(ok[i]);
		if (pol_check(&set, &err) != 0)
			fail_msg("case %zu: %s", i, err.msg);
	}
	assert_string_equal(set.supervisors[set.root].name, "r");
	assert_int_equal(set.supervisors[0].parent, 2);
	assert_int_equal(set.supervisors[1].parent, 0);
	/* check again: the derived fields are recomputed, not accumulated */
	assert_int_equal(pol_check(&set, &err), 0);
	assert_int_equal(set.services[0].parent, 1);
}

/* ---- process sections ---- */

/* A process: the keys that describe a process, its defaults, and start. */
static void test_process_keys(void **state)
{
	const struct pol_service *p, *q;

	(void)state;
	parse_ok("process p\n"
		 "\timage img\n\tpriority driver\n\tgrants spawn kill halt supervisor inject\n"
		 "\tserves c max_messages 8 max_bytes 1KiB max_redeliveries 2\n"
		 "\tserves d max_messages 8 max_bytes 1KiB max_redeliveries 2\n"
		 "\topens c\n\tports 0x60 0x64-0x65\n\tirqs 1 12\n\targs a  b\n\tstart spawn\n"
		 "process q\n");
	assert_int_equal(set.nprocesses, 2);
	assert_int_equal(set.nservices, 0);
	p = &set.processes[0];
	q = &set.processes[1];
	assert_string_equal(p->image, "img");
	assert_int_equal(p->image_pos.line, 2);
	assert_int_equal(p->image_pos.col, 8);
	assert_int_equal(p->prio, VE_PRIO_DRIVER);
	assert_int_equal(p->grants, VE_GRANT_SPAWN | VE_GRANT_KILL | VE_GRANT_HALT |
					VE_GRANT_SUPERVISOR | VE_GRANT_INJECT);
	assert_int_equal(p->nserves, 2);
	assert_int_equal(p->serves[1].max_bytes, 1024);
	assert_int_equal(p->nopens, 1);
	assert_int_equal(p->nports, 2);
	assert_int_equal(p->irqs, (1u << 1) | (1u << 12));
	assert_string_equal(p->args, "a b");
	assert_int_equal(p->start, POL_START_SPAWN);
	assert_string_equal(pol_start_name(p->start), "spawn");
	/* defaults: image = name, service priority, started at boot */
	assert_string_equal(q->image, "q");
	assert_int_equal(q->image_pos.line, 12);
	assert_int_equal(q->prio, VE_PRIO_SERVICE);
	assert_int_equal(q->grants, 0);
	assert_int_equal(q->start, POL_START_BOOT);
	assert_string_equal(pol_start_name(POL_START_BOOT), "boot");
	assert_string_equal(pol_start_name((enum pol_start)2), "?");
	/* processes alone: no tree to check */
	assert_int_equal(pol_check(&set, &err), 0);
}

static const struct {
	const char *text;
	const char *msg;
} process_errors[] = {
	{ "process p\n\trestart permanent\n",
	  "t.policy:2:2: expected a process key (the kernel neither restarts, stops nor watches "
	  "a process), found 'restart'" },
	{ "process p\n\tshutdown 1s\n",
	  "t.policy:2:2: expected a process key (the kernel neither restarts, stops nor watches "
	  "a process), found 'shutdown'" },
	{ "process p\n\tbackoff 1s\n",
	  "t.policy:2:2: expected a process key (the kernel neither restarts, stops nor watches "
	  "a process), found 'backoff'" },
	{ "process p\n\tstate keep\n",
	  "t.policy:2:2: expected a process key (the kernel neither restarts, stops nor watches "
	  "a process), found 'state'" },
	{ "process p\n\tchildren a\n", "t.policy:2:2: expected a process key, found 'children'" },
	{ "process p\n\tstart\n", "t.policy:2:7: expected 'boot' or 'spawn', found end of line" },
	{ "process p\n\tstart spawn boot\n", "t.policy:2:14: expected end of line, found 'boot'" },
	{ "process p\n\tstart boot\n\tstart spawn\n",
	  "t.policy:3:2: expected each key at most once in a section, found 'start' again (first "
	  "on line 2)" },
	{ "process p\n\tgrants supervisor supervisor\n",
	  "t.policy:2:20: expected a grant not already in grants, found 'supervisor'" },
	{ "process p\n\topens a b c d e\n",
	  "t.policy:2:16: expected at most 4 opened channels per process, found 'e'" },
	/* a service may not hold the supervisor grant, nor say start */
	{ "service s\n\tgrants spawn supervisor\n",
	  "t.policy:2:15: expected 'spawn', 'halt', 'kill' or 'inject', found 'supervisor'" },
	{ "service s\n\tstart spawn\n", "t.policy:2:2: expected a service key, found 'start'" },
	/* one name space for services, supervisors and processes */
	{ "service s\nprocess s\n",
	  "t.policy:2:9: expected a name not yet defined, found 's', already defined at "
	  "t.policy:1:9" },
	{ "process s\nsupervisor s\n",
	  "t.policy:2:12: expected a name not yet defined, found 's', already defined at "
	  "t.policy:1:9" },
	/* a manifest's image line in a policy file */
	{ "image a a.elf\n",
	  "t.policy:1:1: expected 'service', 'supervisor' or 'process', found 'image'" },
};

static void test_process_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(process_errors) / sizeof(process_errors[0]); i++) {
		pol_init(&set);
		assert_int_equal(parse("t.policy", process_errors[i].text), -VE_INVAL);
		if (strcmp(err.msg, process_errors[i].msg) != 0)
			fail_msg("case %zu:\n  got  %s\n  want %s", i, err.msg,
				 process_errors[i].msg);
		assert_int_equal(set.nprocesses, 0); /* rolled back */
	}
}

/* Processes and services in one set: channels and hardware are checked
 * across both (what polcheck -m checks of a manifest beside its policies). */
static const struct {
	const char *text;
	const char *msg;
} mixed_errors[] = {
	{ TREE "service a\nserves log\nservice b\nprocess p\nserves log\n",
	  "t.policy:7:8: expected a channel no other service or process serves, found 'log', "
	  "served by 'a'" },
	{ TREE "service a\nservice b\nprocess p\nserves log\nprocess q\nserves log\n",
	  "t.policy:8:8: expected a channel no other process serves, found 'log', served by "
	  "'p'" },
	/* the boot table holds no services: a process opens what a process serves */
	{ TREE "service a\nserves log\nservice b\nprocess p\nopens log\n",
	  "t.policy:7:7: expected a channel some process serves, found 'log'" },
	{ TREE "service a\nirqs 4\nservice b\nprocess p\nirqs 3 4\n",
	  "t.policy:7:8: expected an IRQ line no other service or process has, found '4', "
	  "granted to 'a'" },
	{ TREE
	  "service a\ndevice 8086:100e index 1\nservice b\nprocess p\ndevice 8086:100e index 1\n",
	  "t.policy:7:8: expected a device no other service or process has, found '8086:100e', "
	  "granted to 'a'" },
	{ TREE "service a\nports 0x60\nservice b\nprocess p\nports 0x50-0x60\n",
	  "t.policy:7:7: expected ports no other service or process has, found '0x50-0x60', "
	  "overlapping 0x60 of 'a'" },
	{ "process p\nserves x max_bytes 4KiB\nserves y max_bytes 8KiB\n",
	  "t.policy:3:8: expected the limits of 'x' (a process serves every channel with the "
	  "same limits), found 'y' with others" },
	/* a set with a tree still needs its root */
	{ "service a\nprocess p\n", "t.policy:1:1: expected a root supervisor, found none" },
};

static void test_process_check(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(mixed_errors) / sizeof(mixed_errors[0]); i++) {
		parse_ok(mixed_errors[i].text);
		assert_int_equal(pol_check(&set, &err), -VE_INVAL);
		if (strcmp(err.msg, mixed_errors[i].msg) != 0)
			fail_msg("case %zu:\n  got  %s\n  want %s", i, err.msg,
				 mixed_errors[i].msg);
	}
	/* a service may open what a process serves; a process may serve "sup" */
	parse_ok(TREE "service a\nopens log\nservice b\nopens sup\nprocess p\nserves log\n"
		      "process supervisor\nserves sup\n");
	assert_int_equal(pol_check(&set, &err), 0);
}

/* A manifest: image lines, then processes that name them. */
static void test_manifest(void **state)
{
	static struct pol_images im;
	const char *text = "image a a.elf\nimage b /x/b.elf\nprocess a\nprocess c\n\timage b\n";

	(void)state;
	pol_init(&set);
	assert_int_equal(pol_parse_manifest(&set, &im, "m", text, strlen(text), &err), 0);
	assert_int_equal(im.n, 2);
	assert_string_equal(im.image[1].path, "/x/b.elf");
	assert_int_equal(im.image[1].pos.line, 2);
	assert_int_equal(im.image[1].pos.col, 9);
	assert_int_equal(set.nprocesses, 2);
	assert_string_equal(set.processes[1].image, "b");
	/* a process whose image no line names; the set is left as it was */
	text = "image a a.elf\nprocess b\n";
	assert_int_equal(pol_parse_manifest(&set, &im, "n", text, strlen(text), &err), -VE_INVAL);
	assert_string_equal(err.msg, "n:2:9: expected the name of an image line, found 'b'");
	assert_int_equal(set.nprocesses, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),       cmocka_unit_test(test_service_keys),
		cmocka_unit_test(test_service_values), cmocka_unit_test(test_supervisor_keys),
		cmocka_unit_test(test_units),	       cmocka_unit_test(test_layout),
		cmocka_unit_test(test_parse_errors),   cmocka_unit_test(test_error_position),
		cmocka_unit_test(test_limits),	       cmocka_unit_test(test_rollback),
		cmocka_unit_test(test_long_fname),     cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_names),	       cmocka_unit_test(test_appliance),
		cmocka_unit_test(test_check_errors),   cmocka_unit_test(test_sup_channel_open),
		cmocka_unit_test(test_check_ok),       cmocka_unit_test(test_message_bytes),
		cmocka_unit_test(test_process_keys),   cmocka_unit_test(test_process_errors),
		cmocka_unit_test(test_process_check),  cmocka_unit_test(test_manifest),
	};

	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
