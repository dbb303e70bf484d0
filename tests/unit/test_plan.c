/*
 * Tests of supervisor/plan.c: a checked policy set becomes a tree spec that
 * sup_init accepts (parents first, children in start order, enums mapped
 * by name) and spawn requests with exactly the policy's grants.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "plan.h"

static struct pol_set set;
static struct sup_plan plan;
static struct sup_tree tree;

/* Parse the given files ("name", "text", ..., NULL) into set. */
static void parse_all(const char *first, va_list ap)
{
	struct pol_error e;
	const char *name = first;

	pol_init(&set);
	while (name) {
		const char *text = va_arg(ap, const char *);

		if (pol_parse_file(&set, name, text, strlen(text), &e))
			fail_msg("%s", e.msg);
		name = va_arg(ap, const char *);
	}
}

/* Parse the given files, then check them with what the supervisor runs at
 * boot and polcheck at build time. Returns sup_plan_check's result. */
static int boot_check(struct pol_error *e, const char *first, ...)
{
	va_list ap;

	va_start(ap, first);
	parse_all(first, ap);
	va_end(ap);
	return sup_plan_check(&plan, &set, &tree, 7, e);
}

/* Parse and check the given files ("name", "text", ..., NULL). */
static int load(const char *first, ...)
{
	struct pol_error e;
	va_list ap;
	int r;

	va_start(ap, first);
	parse_all(first, ap);
	va_end(ap);
	r = pol_check(&set, &e);
	if (r)
		fail_msg("%s", e.msg);
	return r;
}

static const char tree_text[] = "supervisor root\n"
				"  strategy rest_for_one\n"
				"  intensity 2 per 3s\n"
				"  on_giveup reboot\n"
				"  children uart store shell\n"
				"supervisor store\n"
				"  strategy one_for_all\n"
				"  children kv\n";
static const char svc_text[] = "service uart\n"
			       "  priority driver\n"
			       "  shutdown brutal_kill\n"
			       "  ports 0x3f8-0x3ff 0x60\n"
			       "  irqs 4\n"
			       "  device 8086:100e index 1\n"
			       "  device 1af4:1000 at 00:1f.7\n"
			       "  serves console max_messages 64 max_bytes 16KiB\n"
			       "service kv\n"
			       "  restart transient\n"
			       "  heartbeat 500ms\n"
			       "  ready_timeout 10s\n"
			       "  backoff 10ms..1s\n"
			       "  state keep\n"
			       "  serves kv max_redeliveries 5\n"
			       "  opens console\n"
			       "service shell\n"
			       "  image sh\n"
			       "  restart temporary\n"
			       "  grants halt kill inject\n"
			       "  opens console sup\n"
			       "  args -x  1\n";

static void test_tree_order_and_enums(void **state)
{
	struct sup_spec spec;

	(void)state;
	load("tree.policy", tree_text, "svc.policy", svc_text, NULL);
	assert_int_equal(sup_plan_build(&plan, &set, NULL), 0);
	assert_int_equal(plan.n, 5);
	/* Breadth first: root, its children in order, then store's. */
	assert_string_equal(plan.node[0].name, "root");
	assert_string_equal(plan.node[1].name, "uart");
	assert_string_equal(plan.node[2].name, "store");
	assert_string_equal(plan.node[3].name, "shell");
	assert_string_equal(plan.node[4].name, "kv");
	assert_int_equal(plan.spec[0].parent, -1);
	assert_int_equal(plan.spec[4].parent, 2);
	assert_int_equal(plan.spec[0].sup.strategy, SUP_REST_FOR_ONE);
	assert_int_equal(plan.spec[0].sup.giveup, SUP_GIVEUP_REBOOT);
	assert_int_equal(plan.spec[0].sup.intensity, 2);
	assert_true(plan.spec[0].sup.period_ns == 3000000000ull);
	assert_int_equal(plan.spec[2].kind, SUP_SUPERVISOR);
	assert_int_equal(plan.spec[2].restart, SUP_PERMANENT);
	assert_int_equal(plan.spec[2].sup.strategy, SUP_ONE_FOR_ALL);
	assert_int_equal(plan.spec[4].restart, SUP_TRANSIENT);
	assert_int_equal(plan.spec[3].restart, SUP_TEMPORARY);
	assert_true(plan.spec[1].svc.shutdown_ns == SUP_BRUTAL_KILL);
	assert_true(plan.spec[3].svc.shutdown_ns == 5000000000ull);
	assert_true(plan.spec[4].svc.heartbeat_ns == 500000000ull);
	assert_true(plan.spec[4].svc.ready_timeout_ns == 10000000000ull);
	assert_true(plan.spec[3].svc.ready_timeout_ns == 0);
	assert_true(plan.spec[4].svc.backoff_initial_ns == 10000000ull);
	assert_true(plan.spec[4].svc.backoff_max_ns == 1000000000ull);
	assert_int_equal(plan.spec[4].svc.stash, SUP_STASH_KEEP);
	assert_int_equal(plan.spec[1].svc.stash, SUP_STASH_DISCARD);
	assert_int_equal(sup_plan_find(&plan, "kv"), 4);
	assert_int_equal(sup_plan_find(&plan, "nope"), SUP_NO_NODE);
	spec = (struct sup_spec){ .nodes = plan.spec, .n = plan.n };
	assert_int_equal(sup_init(&tree, &spec, 0), 0);
}

static void test_spawn_grants(void **state)
{
	const struct ve_spawn *u, *k, *sh;

	(void)state;
	load("tree.policy", tree_text, "svc.policy", svc_text, NULL);
	assert_int_equal(sup_plan_build(&plan, &set, NULL), 0);
	u = &plan.spawn[1];
	k = &plan.spawn[4];
	sh = &plan.spawn[3];
	assert_string_equal(u->name, "uart");
	assert_string_equal(u->image, "uart");
	assert_int_equal(u->prio, 0);
	assert_int_equal(u->irqs, 1u << 4);
	assert_int_equal(u->devs[0].vendor, 0x8086);
	assert_int_equal(u->devs[0].device, 0x100e);
	assert_int_equal(u->devs[0].index, 1);
	assert_int_equal(u->devs[0].flags, 0);
	assert_int_equal(u->devs[1].vendor, 0x1af4);
	assert_int_equal(u->devs[1].bus, 0);
	assert_int_equal(u->devs[1].devfn, 0x1f << 3 | 7);
	assert_int_equal(u->devs[1].flags, VE_DEVSEL_AT);
	assert_int_equal(k->devs[0].vendor, 0); /* none */
	assert_int_equal(u->nports, 2);
	assert_int_equal(u->ports[0].first, 0x3f8);
	assert_int_equal(u->ports[0].last, 0x3ff);
	assert_int_equal(u->ports[1].first, 0x60);
	assert_int_equal(u->ports[1].last, 0x60);
	assert_string_equal(u->serve[0], "console");
	assert_string_equal(u->serve[1], "");
	assert_int_equal(u->queue, 64);
	assert_int_equal(u->qbytes, 16384);
	assert_int_equal(u->redeliveries, 0);
	assert_int_equal(u->grants, 0);
	assert_int_equal(plan.node[1].nserves, 1);
	/* A heartbeat lets it open the supervisor's channel. */
	assert_string_equal(k->open[0], "console");
	assert_string_equal(k->open[1], POL_SUP_CHANNEL);
	assert_int_equal(k->redeliveries, 5);
	/* Opening sup by hand does not add it twice. */
	assert_string_equal(sh->image, "sh");
	assert_string_equal(sh->open[1], POL_SUP_CHANNEL);
	assert_string_equal(sh->open[2], "");
	assert_string_equal(sh->args, "-x 1");
	assert_int_equal(sh->grants, VE_GRANT_HALT | VE_GRANT_KILL | VE_GRANT_INJECT);
	assert_int_equal(VE_GRANT_INJECT, VE_GRANT_INJECT);
	assert_int_equal(sh->prio, 1);
	assert_int_equal(plan.node[3].nserves, 0);
}

static void test_intensity_too_large(void **state)
{
	struct pol_error e;

	(void)state;
	load("t.policy", "supervisor root\n  intensity 33 per 1s\n  children a\nservice a\n", NULL);
	assert_int_equal(sup_plan_build(&plan, &set, &e), -VE_RANGE);
	assert_string_equal(e.msg, "t.policy:2:13: expected an intensity of at most 32 (the "
				   "supervisor's limit), found 33");
	assert_int_equal(e.line, 2);
	assert_int_equal(e.col, 13);
}

static void test_heartbeat_needs_an_open_slot(void **state)
{
	struct pol_error e;

	(void)state;
	load("t.policy",
	     "supervisor root\n  children a b\n"
	     "service a\n  serves c1\n  serves c2\n  serves c3\n  serves c4\n"
	     "service b\n  heartbeat 1s\n  opens c1 c2 c3 c4\n",
	     NULL);
	assert_int_equal(sup_plan_build(&plan, &set, &e), -VE_RANGE);
	assert_string_equal(e.msg,
			    "t.policy:8:9: expected at most 3 opened channels for a "
			    "service with a heartbeat, found 4 (it also opens 'sup' to beat)");
}

/* The one validation boundary: a set that the parser's own checks pass but
 * the supervisor would refuse is refused by sup_plan_check, with its
 * position, and a good set leaves the plan and the tree ready. */
static void test_boot_check(void **state)
{
	struct pol_error e;

	(void)state;
	assert_int_equal(boot_check(&e, "t.policy",
				    "supervisor root\n  children a b\n"
				    "service a\n  serves c1\n  serves c2\n  serves c3\n"
				    "  serves c4\nservice b\n  heartbeat 1s\n"
				    "  opens c1 c2 c3 c4\n",
				    NULL),
			 -VE_RANGE);
	assert_string_equal(e.msg,
			    "t.policy:8:9: expected at most 3 opened channels for a "
			    "service with a heartbeat, found 4 (it also opens 'sup' to beat)");
	assert_int_equal(boot_check(&e, "t.policy",
				    "supervisor root\n  intensity 40 per 1s\n  children a\n"
				    "service a\n",
				    NULL),
			 -VE_RANGE);
	assert_int_equal(e.line, 2);
	assert_int_equal(boot_check(&e, "t.policy", "supervisor root\n  children nobody\n", NULL),
			 -VE_INVAL); /* pol_check's own: an unknown child */
	/* a process section: the kernel's to start, never the supervisor's */
	assert_int_equal(boot_check(&e, "t.policy",
				    "supervisor root\n  children a\nservice a\nprocess p\n", NULL),
			 -VE_INVAL);
	assert_string_equal(e.msg, "t.policy:4:9: expected a service or supervisor (the kernel "
				   "starts a process, from a manifest), found process 'p'");
	assert_int_equal(boot_check(&e, "tree.policy", tree_text, "svc.policy", svc_text, NULL), 0);
	assert_int_equal(plan.n, 5);
	assert_int_equal(tree.n, plan.n);
	assert_int_equal(sup_next_deadline(&tree), 7); /* the root is due at now */
}

static void test_not_checked(void **state)
{
	(void)state;
	pol_init(&set);
	assert_int_equal(sup_plan_build(&plan, &set, NULL), -VE_INVAL);
	assert_int_equal(sup_plan_build(NULL, &set, NULL), -VE_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree_order_and_enums),
		cmocka_unit_test(test_spawn_grants),
		cmocka_unit_test(test_intensity_too_large),
		cmocka_unit_test(test_heartbeat_needs_an_open_slot),
		cmocka_unit_test(test_boot_check),
		cmocka_unit_test(test_not_checked),
	};

	return cmocka_run_group_tests_name("plan", tests, NULL, NULL);
}
