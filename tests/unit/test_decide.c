/*
 * Host tests of the supervisor's decision logic (supervisor/decide.h).
 *
 * A small simulator plays the world around the state machine: it answers
 * every START with STARTED (a fresh pid) and READY, every STOP with an exit
 * and every kill with a KILLED exit, unless a test tells a node to hang on
 * to one of those. Everything the machine does is written to a trace,
 * one word per action, so each test states the exact sequence it expects:
 *
 *	+a			START a
 *	stop:a kill:a killhung:a	STOP / KILL / KILL_HUNG a
 *	discard:a		DISCARD_STASH a
 *	GIVEUP:halt		the root's give-up action
 *	start:a restart:a/one_for_all/b exit:a/fault stopped:a hung:a
 *	escalate:s giveup:root/halt ready stash_discard:a	log lines
 *
 * SUP_ACT_WAIT is left out of the trace (tests of deadlines read
 * sup_next_deadline instead).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decide.h"
#include <vesta/abi.h>

#define MS 1000000ull
#define S 1000000000ull

/* How a simulated service behaves. */
struct sim {
	bool no_ready;	  /* never reports READY by itself */
	bool ignore_stop; /* does not exit when asked to stop */
	bool fail_spawn;  /* its spawn fails */
	bool no_device;	  /* its device is absent: the start is ignored */
};

struct fix {
	struct sup_node_spec ns[SUP_NODES_MAX];
	const char *name[SUP_NODES_MAX];
	struct sim sim[SUP_NODES_MAX];
	size_t n;
	struct sup_tree t;
	struct sup_action acts[SUP_STEP_MAX];
	struct sup_event q[512]; /* the simulator's answers, FIFO */
	size_t qh, qt;
	char trace[16384];
	uint64_t now;
	int32_t next_pid;
};

static struct fix *F;
/* What the random walk saw, by action kind and log kind: it must have
 * reached every corner it is meant to cover. */
static unsigned seen_act[SUP_NACTS], seen_log[SUP_NLOGS];

static int setup(void **state)
{
	F = calloc(1, sizeof(*F));
	assert_non_null(F);
	F->next_pid = 100;
	F->now = 1 * S;
	*state = F;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(F);
	F = NULL;
	return 0;
}

/* --- building a tree ---------------------------------------------------- */

static int add_sup(int parent, const char *name, enum sup_strategy st, uint32_t intensity,
		   uint64_t period)
{
	struct sup_node_spec *s = &F->ns[F->n];

	*s = (struct sup_node_spec){ .kind = SUP_SUPERVISOR, .parent = parent };
	s->sup.strategy = st;
	s->sup.intensity = intensity;
	s->sup.period_ns = period;
	s->sup.giveup = SUP_GIVEUP_HALT;
	F->name[F->n] = name;
	return (int)F->n++;
}

static int add_svc(int parent, const char *name, enum sup_restart rs)
{
	struct sup_node_spec *s = &F->ns[F->n];

	*s = (struct sup_node_spec){ .kind = SUP_SERVICE, .parent = parent, .restart = rs };
	s->svc.shutdown_ns = 1 * S;
	/* Kept stash, never discarded: the stash tests set their own. */
	s->svc.stash = SUP_STASH_KEEP;
	s->svc.stash_crashes = SUP_WINDOW_MAX;
	F->name[F->n] = name;
	return (int)F->n++;
}

static int init_tree(void)
{
	struct sup_spec spec = { F->ns, F->n };
	return sup_init(&F->t, &spec, F->now);
}

/* --- the simulator ------------------------------------------------------ */

static void tr(const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	size_t len = strlen(F->trace);

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	snprintf(F->trace + len, sizeof(F->trace) - len, "%s%s", len ? " " : "", buf);
}

static const char *nm(uint16_t node)
{
	return node < F->n ? F->name[node] : "-";
}

static void push(struct sup_event ev)
{
	assert_true(F->qt - F->qh < 512);
	F->q[F->qt++ % 512] = ev;
}

static void answer_start(uint16_t node)
{
	if (F->sim[node].no_device) {
		push((struct sup_event){ .kind = SUP_EV_START_IGNORED, .node = node });
		return;
	}
	if (F->sim[node].fail_spawn) {
		push((struct sup_event){ .kind = SUP_EV_START_FAILED, .node = node });
		return;
	}
	int32_t pid = F->next_pid++;
	push((struct sup_event){ .kind = SUP_EV_STARTED, .node = node, .pid = pid });
	if (!F->sim[node].no_ready)
		push((struct sup_event){ .kind = SUP_EV_READY, .node = node, .pid = pid });
}

static void record(const struct sup_action *a)
{
	seen_act[a->kind % SUP_NACTS]++;
	if (a->kind == SUP_ACT_LOG)
		seen_log[a->log % SUP_NLOGS]++;
	switch (a->kind) {
	case SUP_ACT_START:
		tr("+%s", nm(a->node));
		answer_start(a->node);
		break;
	case SUP_ACT_STOP:
		tr("stop:%s", nm(a->node));
		assert_int_equal(a->deadline, F->now + F->t.node[a->node].spec.svc.shutdown_ns);
		if (!F->sim[a->node].ignore_stop)
			push((struct sup_event){ .kind = SUP_EV_EXITED,
						 .node = a->node,
						 .pid = a->pid,
						 .exit = SUP_EXIT_NORMAL });
		break;
	case SUP_ACT_KILL:
	case SUP_ACT_KILL_HUNG:
		tr("%s:%s", a->kind == SUP_ACT_KILL ? "kill" : "killhung", nm(a->node));
		push((struct sup_event){ .kind = SUP_EV_EXITED,
					 .node = a->node,
					 .pid = a->pid,
					 .exit = SUP_EXIT_KILLED });
		break;
	case SUP_ACT_DISCARD_STASH:
		tr("discard:%s", nm(a->node));
		break;
	case SUP_ACT_GIVEUP:
		tr("GIVEUP:%s", sup_giveup_name(a->giveup));
		break;
	case SUP_ACT_LOG:
		switch (a->log) {
		case SUP_LOG_RESTART:
			tr("restart:%s/%s/%s", nm(a->node), sup_strategy_name(a->strategy),
			   nm(a->cause));
			break;
		case SUP_LOG_EXIT:
			tr("exit:%s/%s", nm(a->node), sup_exit_name(a->exit));
			break;
		case SUP_LOG_STOP:
			tr("stopped:%s", nm(a->node));
			break;
		case SUP_LOG_READY:
			tr("ready");
			break;
		case SUP_LOG_GIVEUP:
			tr("giveup:%s/%s", nm(a->node), sup_giveup_name(a->giveup));
			break;
		default:
			tr("%s:%s", sup_log_name(a->log), nm(a->node));
			break;
		}
		break;
	case SUP_ACT_WAIT:
		break;
	default:
		fail_msg("unknown action %u", a->kind);
	}
}

/* Feed one event at the current time; returns sup_step's result, with the
 * actions recorded (and answered). */
static int step1(struct sup_event ev)
{
	ev.now = F->now;
	int n = sup_step(&F->t, &ev, F->acts, SUP_STEP_MAX);
	if (n < 0)
		return n;
	assert_true(n <= SUP_STEP_MAX);
	assert_int_equal(F->t.dropped, 0);
	uint64_t next = sup_next_deadline(&F->t);
	if (next != SUP_NO_DEADLINE) {
		assert_true(n > 0);
		assert_int_equal(F->acts[n - 1].kind, SUP_ACT_WAIT);
		assert_int_equal(F->acts[n - 1].deadline, next);
	}
	for (int i = 0; i < n; i++)
		record(&F->acts[i]);
	return n;
}

/* Feed ev, then every answer it causes, until the world is quiet. */
static void run(struct sup_event ev)
{
	assert_true(step1(ev) >= 0);
	while (F->qh != F->qt) {
		struct sup_event a = F->q[F->qh++ % 512];
		int n = step1(a);
		assert_true(n >= 0 || n == -VE_NOENT); /* stale answers are fine */
	}
}

static void tick(void)
{
	run((struct sup_event){ .kind = SUP_EV_TICK });
}

/* Let time pass up to `to`, ticking at every deadline on the way. */
static void advance_to(uint64_t to)
{
	for (;;) {
		uint64_t d = sup_next_deadline(&F->t);
		if (d > to)
			break;
		if (d > F->now)
			F->now = d;
		tick();
	}
	F->now = to;
}

static void clear(void)
{
	F->trace[0] = 0;
}

static int32_t pid_of(int node)
{
	return F->t.node[node].pid;
}

static void crash(int node, enum sup_exit why)
{
	run((struct sup_event){ .kind = SUP_EV_EXITED,
				.node = (uint16_t)node,
				.pid = pid_of(node),
				.exit = (uint16_t)why });
}

static int cmd(enum sup_ev_kind k, int node)
{
	int n = step1((struct sup_event){ .kind = k, .node = (uint16_t)node });
	if (n >= 0) {
		while (F->qh != F->qt)
			assert_true(step1(F->q[F->qh++ % 512]) >= 0);
	}
	return n;
}

#define assert_trace(want) assert_string_equal(F->trace, want)

/* Boot the tree (the first tick) and forget the trace. */
static void boot(void)
{
	assert_int_equal(init_tree(), 0);
	tick();
	clear();
}

/* --- start and stop order ------------------------------------------------ */

static void test_boot_order(void **state)
{
	(void)state;
	int root = add_sup(-1, "root", SUP_ONE_FOR_ONE, 3, 5 * S);
	add_svc(root, "a", SUP_PERMANENT);
	int s = add_sup(root, "s", SUP_ONE_FOR_ALL, 1, 5 * S);
	add_svc(s, "b", SUP_PERMANENT);
	add_svc(s, "c", SUP_TRANSIENT);
	add_svc(root, "d", SUP_TEMPORARY);
	assert_int_equal(init_tree(), 0);
	assert_int_equal(sup_next_deadline(&F->t), F->now);
	tick();
	assert_trace("start:root start:a +a start:s start:b +b start:c +c start:d +d ready");
	assert_int_equal(sup_next_deadline(&F->t), SUP_NO_DEADLINE);
}

/* A child is not started before the one before it serves. */
static void test_start_waits_for_ready(void **state)
{
	(void)state;
	int root = add_sup(-1, "root", SUP_ONE_FOR_ONE, 3, 5 * S);
	add_svc(root, "a", SUP_PERMANENT);
	int b = add_svc(root, "b", SUP_PERMANENT);
	add_svc(root, "c", SUP_PERMANENT);
	F->sim[b].no_ready = true;
	assert_int_equal(init_tree(), 0);
	tick();
	assert_trace("start:root start:a +a start:b +b");
	/* A heartbeat or anything else from b does not count as ready. */
	clear();
	run((struct sup_event){ .kind = SUP_EV_HEARTBEAT, .node = b, .pid = pid_of(b) });
	assert_trace("");
	run((struct sup_event){ .kind = SUP_EV_READY, .node = b, .pid = pid_of(b) });
	assert_trace("start:c +c ready");
	/* A second READY changes nothing. */
	clear();
	run((struct sup_event){ .kind = SUP_EV_READY, .node = b, .pid = pid_of(b) });
	assert_trace("");
}

/* Stopping the tree: reverse start order, each child by its own policy:
 * graceful then kill at the deadline, or brutal_kill at once. */
static void test_stop_order(void **state)
{
	(void)state;
	int root = add_sup(-1, "root", SUP_ONE_FOR_ONE, 3, 5 * S);
	int a = add_svc(root, "a", SUP_PERMANENT);
	int s = add_sup(root, "s", SUP_ONE_FOR_ONE, 3, 5 * S);
	int b = add_svc(s, "b", SUP_PERMANENT);
	int c = add_svc(s, "c", SUP_PERMANENT);
	int d = add_svc(root, "d", SUP_PERMANENT);
	F->ns[b].svc.shutdown_ns = SUP_BRUTAL_KILL;
	F->ns[d].svc.shutdown_ns = 2 * S;
	F->sim[d].ignore_stop = true;
	boot();

	assert_int_equal(cmd(SUP_EV_CMD_STOP, root), 2); /* STOP, WAIT */
	assert_trace("stop:d");
	assert_int_equal(sup_next_deadline(&F->t), F->now + 2 * S);
	advance_to(F->now + 2 * S - 1);
	assert_trace("stop:d");
	advance_to(F->now + 1);
	assert_trace("stop:d kill:d stopped:d stop:c stopped:c kill:b stopped:b stopped:s stop:a "
		     "stopped:a stopped:root");
	(void)a;
	(void)c;
	/* And up again, in order. */
	clear();
	assert_int_equal(cmd(SUP_EV_CMD_START, root) > 0, true);
	assert_trace("start:root start:a +a start:s start:b +b start:c +c start:d +d ready");
}

/* --- every strategy x restart type x exit -------------------------------- */

struct strat_case {
	enum sup_strategy st;
	enum sup_restart rs;
	enum sup_exit why;
	const char *want; /* trace after b (of a, b, c, all of type rs) exits */
};

static const struct strat_case strat_cases[] = {
	{ SUP_ONE_FOR_ONE, SUP_PERMANENT, SUP_EXIT_FAULT,
	  "exit:b/fault restart:b/one_for_one/b +b" },
	{ SUP_ONE_FOR_ONE, SUP_PERMANENT, SUP_EXIT_NORMAL,
	  "exit:b/normal restart:b/one_for_one/b +b" },
	{ SUP_ONE_FOR_ONE, SUP_TRANSIENT, SUP_EXIT_FAULT,
	  "exit:b/fault restart:b/one_for_one/b +b" },
	{ SUP_ONE_FOR_ONE, SUP_TRANSIENT, SUP_EXIT_NORMAL, "exit:b/normal" },
	{ SUP_ONE_FOR_ONE, SUP_TEMPORARY, SUP_EXIT_FAULT, "exit:b/fault" },
	{ SUP_ONE_FOR_ONE, SUP_TEMPORARY, SUP_EXIT_NORMAL, "exit:b/normal" },

	{ SUP_ONE_FOR_ALL, SUP_PERMANENT, SUP_EXIT_ERROR,
	  "exit:b/error stop:c stopped:c stop:a stopped:a restart:a/one_for_all/b +a "
	  "restart:b/one_for_all/b +b restart:c/one_for_all/b +c ready" },
	{ SUP_ONE_FOR_ALL, SUP_PERMANENT, SUP_EXIT_NORMAL,
	  "exit:b/normal stop:c stopped:c stop:a stopped:a restart:a/one_for_all/b +a "
	  "restart:b/one_for_all/b +b restart:c/one_for_all/b +c ready" },
	{ SUP_ONE_FOR_ALL, SUP_TRANSIENT, SUP_EXIT_KILLED,
	  "exit:b/killed stop:c stopped:c stop:a stopped:a restart:a/one_for_all/b +a "
	  "restart:b/one_for_all/b +b restart:c/one_for_all/b +c ready" },
	{ SUP_ONE_FOR_ALL, SUP_TRANSIENT, SUP_EXIT_NORMAL, "exit:b/normal" },
	{ SUP_ONE_FOR_ALL, SUP_TEMPORARY, SUP_EXIT_FAULT, "exit:b/fault" },
	{ SUP_ONE_FOR_ALL, SUP_TEMPORARY, SUP_EXIT_NORMAL, "exit:b/normal" },

	{ SUP_REST_FOR_ONE, SUP_PERMANENT, SUP_EXIT_FAULT,
	  "exit:b/fault stop:c stopped:c restart:b/rest_for_one/b +b "
	  "restart:c/rest_for_one/b +c ready" },
	{ SUP_REST_FOR_ONE, SUP_PERMANENT, SUP_EXIT_NORMAL,
	  "exit:b/normal stop:c stopped:c restart:b/rest_for_one/b +b "
	  "restart:c/rest_for_one/b +c ready" },
	{ SUP_REST_FOR_ONE, SUP_TRANSIENT, SUP_EXIT_FAULT,
	  "exit:b/fault stop:c stopped:c restart:b/rest_for_one/b +b "
	  "restart:c/rest_for_one/b +c ready" },
	{ SUP_REST_FOR_ONE, SUP_TRANSIENT, SUP_EXIT_NORMAL, "exit:b/normal" },
	{ SUP_REST_FOR_ONE, SUP_TEMPORARY, SUP_EXIT_FAULT, "exit:b/fault" },
	{ SUP_REST_FOR_ONE, SUP_TEMPORARY, SUP_EXIT_NORMAL, "exit:b/normal" },
};

static void test_strategy_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(strat_cases) / sizeof(strat_cases[0]); i++) {
		const struct strat_case *k = &strat_cases[i];

		teardown(state);
		setup(state);
		int root = add_sup(-1, "root", k->st, 3, 5 * S);
		int a = add_svc(root, "a", k->rs);
		int b = add_svc(root, "b", k->rs);
		int c = add_svc(root, "c", k->rs);
		boot();
		int32_t pa = pid_of(a), pc = pid_of(c);
		crash(b, k->why);
		if (strcmp(F->trace, k->want) != 0)
			fail_msg("case %zu (%s, %d, %s):\n got  %s\n want %s", i,
				 sup_strategy_name(k->st), k->rs, sup_exit_name(k->why), F->trace,
				 k->want);
		/* The children not named in the trace kept their process. */
		if (!strstr(k->want, "+a"))
			assert_int_equal(pid_of(a), pa);
		if (!strstr(k->want, "+c"))
			assert_int_equal(pid_of(c), pc);
		/* A restart counts toward intensity; no restart does not. */
		assert_int_equal(F->t.node[root].win.n, strstr(k->want, "restart") ? 1 : 0);
		if (!strstr(k->want, "+b")) {
			assert_int_equal(F->t.node[b].state, SUP_SVC_DOWN);
			assert_int_equal(F->t.node[b].want, SUP_WANT_DOWN);
		}
	}
}

/* A temporary sibling stopped by a group restart is not started again
 * (OTP drops it); a transient one is. */
static void test_group_restart_temporary_sibling(void **state)
{
	(void)state;
	int root = add_sup(-1, "root", SUP_ONE_FOR_ALL, 3, 5 * S);
	int a = add_svc(root, "a", SUP_PERMANENT);
	add_svc(root, "t", SUP_TEMPORARY);
	add_svc(root, "u", SUP_TRANSIENT);
	boot();
	crash(a, SUP_EXIT_FAULT);
	assert_trace("exit:a/fault stop:u stopped:u stop:t stopped:t restart:a/one_for_all/a +a "
		     "restart:u/one_for_all/a +u ready");
}

/* rest_for_one: a crash of an earlier child while a restart is stopping
 * the later ones widens the restart to it. */
static void test_rest_for_one_widens(void **state)
{
	(void)state;
	int root = add_sup(-1, "root", SUP_REST_FOR_ONE, 5, 5 * S);
	int a = add_svc(root, "a", SUP_PERMANENT);
	int b = add_svc(root, "b", SUP_PERMANENT);
	int c = add_svc(root, "c", SUP_PERMANENT);
	int d = add_svc(root, "d", SUP_PERMANENT);
	F->sim[d].ignore_stop = true;
	boot();
	crash(c, SUP_EXIT_FAULT);
	assert_trace("exit:c/fault stop:d");
	clear();
	crash(a, SUP_EXIT_FAULT);
	assert_trace("exit:a/fault");
	clear();
	advance_to(F->now + 1 * S);
	assert_trace("kill:d stopped:d stop:b stopped:b restart:a/rest_for_one/a +a "
		     "restart:b/rest_for_one/a +b restart:c/rest_for_one/c +c "
		     "restart:d/rest_for_one/a +d ready");
	assert_int_equal(F->t.node[root].win.n, 2);
	(void)b;
}

/* A child that crashes while being started (before ready) is restarted
 * in place and the start sequence goes on once it serves. */
static void test_crash_during_start(void **state)
{
	(void)state;
	int root = add_sup(-1, "root", SUP_REST_FOR_ONE, 3, 5 * S);
	add_svc(root, "a", SUP_PERMANENT);
	int b = add_svc(root, "b", SUP_PERMANENT);
	add_svc(root, "c", SUP_PERMANENT);
	F->sim[b].no_ready = true;
	assert_int_equal(init_tree(), 0);
	tick();
	clear();
	crash(b, SUP_EXIT_FAULT);
	assert_trace("exit:b/fault restart:b/rest_for_one/b +b");
	clear();
	run((struct sup_event){ .kind = SUP_EV_READY, .node = b, .pid = pid_of(b) });
	assert_trace("start:c +c ready");
}

/* A failed spawn is a failed child. */
static void test_spawn_failure(void **state)
{
	(void)state;
	int root = add_sup(-1, "root", SUP_ONE_FOR_ONE, 2, 5 * S);
	int a = add_svc(root, "a", SUP_PERMANENT);
	F->sim[a].fail_spawn = true;
	assert_int_equal(init_tree(), 0);
	tick();
	assert_trace("start:root start:a +a exit:a/start_failed restart:a/one_for_one/a +a "
		     "exit:a/start_failed restart:a/one_for_one/a +a exit:a/start_failed "
		     "giveup:root/halt GIVEUP:halt");
}

/* A service whose device is absent is ignored, as OTP's `ignore`: it stays
 * down without a restart, the tree comes up without it, nothing counts
 * against the intensity (0 here: one restart would give up), and an
 * operator's start tries again. */
static void test_start_ignored(void **state)
{
	(void)state;
	int root = add_sup(-1, "root", SUP_ONE_FOR_ALL, 0, 5 * S);
	add_svc(root, "a", SUP_PERMANENT);
	int b = add_svc(root, "b", SUP_PERMANENT);
	add_svc(root, "c", SUP_PERMANENT);
	F->sim[b].no_device = true;
	assert_int_equal(init_tree(), 0);
	tick();
	assert_trace("start:root start:a +a start:b +b ignore:b start:c +c ready");
	assert_int_equal(F->t.node[b].state, SUP_SVC_DOWN);
	assert_int_equal(F->t.node[b].want, SUP_WANT_DOWN);
	assert_int_equal(F->t.node[root].state, SUP_SUP_UP);
	/* An operator's start asks again; still absent, still not a failure. */
	F->trace[0] = 0;
	assert_true(cmd(SUP_EV_CMD_START, b) > 0);
	assert_trace("start:b +b ignore:b");
	assert_int_equal(F->t.node[root].state, SUP_SUP_UP);
	/* Present now: it starts. */
	F->sim[b].no_device = false;
	F->trace[0] = 0;
	assert_true(cmd(SUP_EV_CMD_START, b) > 0);
	assert_trace("start:b +b");
	assert_int_equal(F->t.node[b].state, SUP_SVC_UP);
	/* An ignore is the answer to a START only. */
	assert_int_equal(
	    step1((struct sup_event){ .kind = SUP_EV_START_IGNORED, .node = (uint16_t)b }),
	    -VE_INVAL);
}

/* --- intensity ----------------------------------------------------------- */

/* intensity N per period: N restarts within the period are fine, the
 * (N+1)th gives up. */
static void test_intensity_edge(void **state)
{
	(void)state;
	for (uint32_t n = 0; n <= 4; n++) {
		teardown(state);
		setup(state);
		int root = add_sup(-1, "root", SUP_ONE_FOR_ONE, n, 10 * S);
		int a = add_svc(root, "a", SUP_PERMANENT);
		add_svc(root, "b", SUP_PERMANENT);
		boot();
		for (uint32_t i = 0; i < n; i++) {
			F->now += 1 * S;
			clear();
			crash(a, SUP_EXIT_FAULT);
			assert_trace("exit:a/fault restart:a/one_for_one/a +a");
		}
		F->now += 1 * S;
		clear();
		crash(a, SUP_EXIT_FAULT);
		assert_trace("exit:a/fault giveup:root/halt stop:b stopped:b GIVEUP:halt");
		/* After the give-up every event is refused. */
		assert_int_equal(cmd(SUP_EV_CMD_START, a), -VE_BUSY);
	}
}

/* Restarts age out of the window: one exactly `period` old still counts
 * (as in OTP), one a nanosecond older does not. */
static void test_intensity_window(void **state)
{
	(void)state;
	int root = add_sup(-1, "root", SUP_ONE_FOR_ONE, 2, 10 * S);
	int a = add_svc(root, "a", SUP_PERMANENT);
	boot();
	uint64_t t0 = F->now;
	crash(a, SUP_EXIT_FAULT); /* t0 */
	F->now = t0 + 5 * S;
	crash(a, SUP_EXIT_FAULT); /* t0 + 5 */
	F->now = t0 + 10 * S + 1;
	crash(a, SUP_EXIT_FAULT); /* t0 aged out: 2 in the window */
	assert_int_equal(F->t.node[root].win.n, 2);
	F->now = t0 + 15 * S;
	clear();
	crash(a, SUP_EXIT_FAULT); /* t0+5 exactly 10 s old: still counts: 3 > 2 */
	assert_trace("exit:a/fault giveup:root/halt GIVEUP:halt");
}

static void test_intensity_window_aged(void **state)
{
	(void)state;
	int root = add_sup(-1, "root", SUP_ONE_FOR_ONE, 1, 10 * S);
	int a = add_svc(root, "a", SUP_PERMANENT);
	boot();
	for (int i = 0; i < 5; i++) {
		F->now += 10 * S + 1; /* each restart is out of the window by the next */
		clear();
		crash(a, SUP_EXIT_FAULT);
		assert_trace("exit:a/fault restart:a/one_for_one/a +a");
	}
	assert_int_equal(F->t.node[a].restarts, 5);
}

/* Operator restarts and temporary exits do not count toward intensity. */
static void test_intensity_not_counted(void **state)
{
	(void)state;
	int root = add_sup(-1, "root", SUP_ONE_FOR_ONE, 0, 10 * S);
	int a = add_svc(root, "a", SUP_PERMANENT);
	int t = add_svc(root, "t", SUP_TEMPORARY);
	boot();
	for (int i = 0; i < 3; i++) {
		clear();
		assert_true(cmd(SUP_EV_CMD_RESTART, a) > 0);
		assert_trace("stop:a stopped:a start:a +a");
	}
	clear();
	crash(t, SUP_EXIT_FAULT);
	assert_trace("exit:t/fault");
	assert_int_equal(F->t.node[root].win.n, 0);
}

/* --- escalation ---------------------------------------------------------- */

/* root (intensity 0, halt) -> [log, s1 (intensity 1) -> [s2 (intensity 0)
 * -> [x, y]]]: x's crashes escalate s2, then s1, then the root halts. */
static void test_escalation_two_levels(void **state)
{
	(void)state;
	int root = add_sup(-1, "root", SUP_ONE_FOR_ONE, 0, 10 * S);
	add_svc(root, "log", SUP_PERMANENT);
	int s1 = add_sup(root, "s1", SUP_ONE_FOR_ONE, 1, 10 * S);
	int s2 = add_sup(s1, "s2", SUP_ONE_FOR_ALL, 0, 10 * S);
	int x = add_svc(s2, "x", SUP_PERMANENT);
	add_svc(s2, "y", SUP_PERMANENT);
	boot();

	crash(x, SUP_EXIT_FAULT);
	assert_trace("exit:x/fault escalate:s2 stop:y stopped:y restart:s2/one_for_one/s2 "
		     "start:x +x start:y +y");
	assert_int_equal(F->t.node[s2].last_exit, SUP_EXIT_ESCALATED);
	assert_int_equal(F->t.node[s1].win.n, 1);

	clear();
	crash(x, SUP_EXIT_FAULT);
	assert_trace("exit:x/fault escalate:s2 stop:y stopped:y escalate:s1 giveup:root/halt "
		     "stop:log stopped:log GIVEUP:halt");
	assert_int_equal(F->t.node[root].state, SUP_SUP_GAVE_UP);
	assert_int_equal(sup_next_deadline(&F->t), SUP_NO_DEADLINE);
	(void)s1;
}

/* A transient sub-supervisor that gives up is restarted: its give-up is
 * an abnormal exit (OTP would call it shutdown and leave it down). */
static void test_escalation_transient_supervisor(void **state)
{
	(void)state;
	int root = add_sup(-1, "root", SUP_ONE_FOR_ONE, 1, 10 * S);
	int s = add_sup(root, "s", SUP_ONE_FOR_ONE, 0, 10 * S);
	F->ns[s].restart = SUP_TRANSIENT;
	int x = add_svc(s, "x", SUP_PERMANENT);
	boot();
	crash(x, SUP_EXIT_FAULT);
	assert_trace("exit:x/fault escalate:s restart:s/one_for_one/s start:x +x");
}

/* The root's action is whatever its policy says. */
static void test_root_actions(void **state)
{
	(void)state;
	const char *want[] = { "GIVEUP:reboot", "GIVEUP:halt", "GIVEUP:panic" };
	for (uint32_t g = 0; g < SUP_NGIVEUPS; g++) {
		teardown(state);
		setup(state);
		int root = add_sup(-1, "root", SUP_ONE_FOR_ONE, 0, 10 * S);
		F->ns[root].sup.giveup = g;
		int a = add_svc(root, "a", SUP_PERMANENT);
		boot();
		crash(a, SUP_EXIT_FAULT);
		assert_non_null(strstr(F->trace, want[g]));
	}
}

/* --- shutdown ------------------------------------------------------------ */

/* one_for_all restart: the others stop in reverse start order, each by its
 * policy (graceful that times out, then brutal_kill), then all start in
 * order. */
static void test_group_restart_shutdown_policies(void **state)
{
	(void)state;
	int root = add_sup(-1, "root", SUP_ONE_FOR_ALL, 3, 10 * S);
	int a = add_svc(root, "a", SUP_PERMANENT);
	int b = add_svc(root, "b", SUP_PERMANENT);
	int c = add_svc(root, "c", SUP_PERMANENT);
	F->ns[b].svc.shutdown_ns = SUP_BRUTAL_KILL;
	F->ns[c].svc.shutdown_ns = 500 * MS;
	F->sim[c].ignore_stop = true;
	boot();
	crash(a, SUP_EXIT_FAULT);
	assert_trace("exit:a/fault stop:c");
	uint64_t t = F->now;
	advance_to(t + 499 * MS);
	assert_trace("exit:a/fault stop:c");
	clear();
	advance_to(t + 500 * MS);
	assert_trace("kill:c stopped:c kill:b stopped:b restart:a/one_for_all/a +a "
		     "restart:b/one_for_all/a +b restart:c/one_for_all/a +c ready");
}

/* A graceful stop that the child obeys in time is not followed by a kill. */
static void test_graceful_stop_in_time(void **state)
{
	(void)state;
	int root = add_sup(-1, "root", SUP_ONE_FOR_ONE, 3, 10 * S);
	int a = add_svc(root, "a", SUP_PERMANENT);
	F->sim[a].ignore_stop = true;
	boot();
	assert_true(cmd(SUP_EV_CMD_STOP, a) > 0);
	assert_trace("stop:a");
	F->now += 300 * MS;
	run((struct sup_event){
	    .kind = SUP_EV_EXITED, .node = a, .pid = pid_of(a), .exit = SUP_EXIT_NORMAL });
	assert_trace("stop:a stopped:a");
	assert_int_equal(sup_next_deadline(&F->t), SUP_NO_DEADLINE);
	advance_to(F->now + 10 * S);
	assert_trace("stop:a stopped:a");
}

/* --- heartbeats ---------------------------------------------------------- */

static void test_heartbeat_miss(void **state)
{
	(void)state;
	int root = add_sup(-1, "root", SUP_ONE_FOR_ONE, 3, 10 * S);
	int a = add_svc(root, "a", SUP_PERMANENT);
	add_svc(root, "b", SUP_PERMANENT);
	F->ns[a].svc.heartbeat_ns = 500 * MS;
	boot();
	uint64_t t = F->now;
	assert_int_equal(sup_next_deadline(&F->t), t + 500 * MS);
	/* Heartbeats within the interval keep it alive. */
	for (int i = 1; i <= 4; i++) {
		advance_to(t + (uint64_t)i * 400 * MS);
		run((struct sup_event){ .kind = SUP_EV_HEARTBEAT, .node = a, .pid = pid_of(a) });
	}
	assert_trace("");
	t = F->now;
	assert_int_equal(sup_next_deadline(&F->t), t + 500 * MS);
	advance_to(t + 499 * MS);
	assert_trace("");
	advance_to(t + 500 * MS);
	assert_trace("hung:a killhung:a exit:a/hung restart:a/one_for_one/a +a");
	assert_int_equal(F->t.node[a].last_exit, SUP_EXIT_HUNG);
	/* The new incarnation's interval starts when it serves. */
	assert_int_equal(sup_next_deadline(&F->t), F->now + 500 * MS);
}

/* A heartbeat that comes at (or after) the deadline is too late. */
static void test_heartbeat_late(void **state)
{
	(void)state;
	int root = add_sup(-1, "root", SUP_ONE_FOR_ONE, 3, 10 * S);
	int a = add_svc(root, "a", SUP_PERMANENT);
	F->ns[a].svc.heartbeat_ns = 500 * MS;
	boot();
	F->now += 500 * MS;
	run((struct sup_event){ .kind = SUP_EV_HEARTBEAT, .node = a, .pid = pid_of(a) });
	tick();
	assert_trace("hung:a killhung:a exit:a/hung restart:a/one_for_one/a +a");
}

/* The machine stood still for 2 s (the supervisor ran that late): the
 * heartbeat and ready deadlines that passed meanwhile move by as much,
 * and a service that then misses its own is still caught. */
static void test_stalled(void **state)
{
	(void)state;
	int root = add_sup(-1, "root", SUP_ONE_FOR_ONE, 3, 10 * S);
	int a = add_svc(root, "a", SUP_PERMANENT);
	int b = add_svc(root, "b", SUP_PERMANENT);
	F->ns[a].svc.heartbeat_ns = 500 * MS;
	F->ns[b].svc.ready_timeout_ns = 1 * S;
	F->sim[b].no_ready = true;
	assert_int_equal(init_tree(), 0);
	tick();
	clear();
	uint64_t t = F->now, due_a = F->t.node[a].due, due_b = F->t.node[b].due;
	F->now = t + 2 * S;
	sup_stalled(&F->t, 2 * S);
	assert_true(F->t.node[a].due == due_a + 2 * S);
	assert_true(F->t.node[b].due == due_b + 2 * S);
	assert_true(F->t.node[root].due == SUP_NO_DEADLINE || F->t.node[root].due < t + S);
	tick();
	assert_trace("");
	advance_to(due_a + 2 * S);
	assert_trace("hung:a killhung:a exit:a/hung restart:a/one_for_one/a +a");
}

/* A service that does not serve within its ready timeout is hung. */
static void test_ready_timeout(void **state)
{
	(void)state;
	int root = add_sup(-1, "root", SUP_ONE_FOR_ONE, 3, 10 * S);
	int a = add_svc(root, "a", SUP_PERMANENT);
	F->ns[a].svc.ready_timeout_ns = 2 * S;
	F->sim[a].no_ready = true;
	assert_int_equal(init_tree(), 0);
	tick();
	clear();
	advance_to(F->now + 2 * S);
	assert_trace("hung:a killhung:a exit:a/hung restart:a/one_for_one/a +a");
}

/* --- backoff ------------------------------------------------------------- */

/* 100 ms, 200, 400, 400 (max), and back to 100 once it served for the
 * reset time. */
static void test_backoff(void **state)
{
	(void)state;
	int root = add_sup(-1, "root", SUP_ONE_FOR_ONE, 30, 60 * S);
	int a = add_svc(root, "a", SUP_PERMANENT);
	F->ns[a].svc.backoff_initial_ns = 100 * MS;
	F->ns[a].svc.backoff_max_ns = 400 * MS;
	F->ns[a].svc.backoff_reset_ns = 5 * S;
	boot();
	const uint64_t waits[] = { 100 * MS, 200 * MS, 400 * MS, 400 * MS };
	for (size_t i = 0; i < 4; i++) {
		clear();
		crash(a, SUP_EXIT_FAULT);
		assert_trace("exit:a/fault");
		uint64_t t = F->now;
		assert_int_equal(sup_next_deadline(&F->t), t + waits[i]);
		advance_to(t + waits[i] - 1);
		assert_trace("exit:a/fault");
		advance_to(t + waits[i]);
		assert_trace("exit:a/fault restart:a/one_for_one/a +a");
	}
	/* Served 5 s: forgiven. */
	F->now += 5 * S;
	crash(a, SUP_EXIT_FAULT);
	assert_int_equal(sup_next_deadline(&F->t), F->now + 100 * MS);
	/* An operator's start does not wait out the backoff. */
	clear();
	assert_true(cmd(SUP_EV_CMD_RESTART, a) > 0);
	assert_trace("start:a +a");
}

/* Default reset time: max(backoff max, the supervisor's period). */
static void test_backoff_default_reset(void **state)
{
	(void)state;
	int root = add_sup(-1, "root", SUP_ONE_FOR_ONE, 30, 3 * S);
	int a = add_svc(root, "a", SUP_PERMANENT);
	F->ns[a].svc.backoff_initial_ns = 100 * MS;
	F->ns[a].svc.backoff_max_ns = 1 * S;
	boot();
	crash(a, SUP_EXIT_FAULT);
	advance_to(F->now + 100 * MS);
	F->now += 3 * S - 1;
	crash(a, SUP_EXIT_FAULT); /* served just under 3 s: 200 ms */
	assert_int_equal(sup_next_deadline(&F->t), F->now + 200 * MS);
	advance_to(F->now + 200 * MS);
	F->now += 3 * S;
	crash(a, SUP_EXIT_FAULT); /* served 3 s: back to 100 ms */
	assert_int_equal(sup_next_deadline(&F->t), F->now + 100 * MS);
}

/* In a group restart, the failed child's backoff delays its own start, and
 * so the ones after it. */
static void test_backoff_group(void **state)
{
	(void)state;
	int root = add_sup(-1, "root", SUP_REST_FOR_ONE, 30, 60 * S);
	add_svc(root, "a", SUP_PERMANENT);
	int b = add_svc(root, "b", SUP_PERMANENT);
	add_svc(root, "c", SUP_PERMANENT);
	F->ns[b].svc.backoff_initial_ns = 1 * S;
	boot();
	crash(b, SUP_EXIT_FAULT);
	assert_trace("exit:b/fault stop:c stopped:c");
	advance_to(F->now + 1 * S);
	assert_trace("exit:b/fault stop:c stopped:c restart:b/rest_for_one/b +b "
		     "restart:c/rest_for_one/b +c ready");
}

/* --- stash --------------------------------------------------------------- */

/* A permanent service "a" of root with state keep and the default K (3). */
static int kept_svc(int root)
{
	int a = add_svc(root, "a", SUP_PERMANENT);

	F->ns[a].svc.stash = SUP_STASH_KEEP;
	F->ns[a].svc.stash_crashes = 0;
	return a;
}

/* state keep: the Kth crash within the period discards the stash before
 * the restart; kills by others and code that changed under the service do
 * not count. */
static void test_stash_discard_after_k(void **state)
{
	(void)state;
	int root = add_sup(-1, "root", SUP_ONE_FOR_ONE, 30, 10 * S);
	int a = kept_svc(root);
	boot();
	crash(a, SUP_EXIT_FAULT);
	crash(a, SUP_EXIT_KILLED);
	crash(a, SUP_EXIT_KILLED);
	crash(a, SUP_EXIT_IMAGE);
	crash(a, SUP_EXIT_IMAGE);
	crash(a, SUP_EXIT_ERROR);
	clear();
	crash(a, SUP_EXIT_FAULT);
	assert_trace("exit:a/fault stash_discard:a discard:a restart:a/one_for_one/a +a");
	/* The count starts again. */
	clear();
	crash(a, SUP_EXIT_FAULT);
	crash(a, SUP_EXIT_FAULT);
	assert_null(strstr(F->trace, "discard"));
}

/* Crashes of an incarnation that had served on its stash for
 * SUP_STASH_PROVEN_NS say nothing about the stash: never a discard, however
 * many; one that dies sooner after its restart counts again. */
static void test_stash_kept_when_proven(void **state)
{
	(void)state;
	int root = add_sup(-1, "root", SUP_ONE_FOR_ONE, 30, 10 * S);
	int a = kept_svc(root);
	boot();
	for (int i = 0; i < 4; i++) {
		advance_to(F->now + SUP_STASH_PROVEN_NS);
		crash(a, SUP_EXIT_FAULT);
	}
	assert_null(strstr(F->trace, "discard"));
	/* Quick ones: the stash is the suspect again. */
	crash(a, SUP_EXIT_FAULT);
	crash(a, SUP_EXIT_FAULT);
	assert_null(strstr(F->trace, "discard"));
	clear();
	crash(a, SUP_EXIT_FAULT);
	assert_trace("exit:a/fault stash_discard:a discard:a restart:a/one_for_one/a +a");
}

/* A service that hangs as soon as it serves is seen a heartbeat interval
 * later: those hangs count towards K (the stash may hang it). */
static void test_stash_discard_after_hangs(void **state)
{
	(void)state;
	int root = add_sup(-1, "root", SUP_ONE_FOR_ONE, 30, 30 * S);
	int a = kept_svc(root);
	F->ns[a].svc.heartbeat_ns = 3 * S;
	boot();
	advance_to(F->now + 3 * S);
	advance_to(F->now + 3 * S);
	assert_null(strstr(F->trace, "discard"));
	clear();
	advance_to(F->now + 3 * S);
	assert_non_null(strstr(F->trace, "stash_discard:a"));
}

/* An unproven crash (just restarted by a kill, which itself does not count)
 * a period and more after the last. */
static void crash_unproven_after(int a, uint64_t dt)
{
	F->now += dt;
	crash(a, SUP_EXIT_KILLED);
	crash(a, SUP_EXIT_FAULT);
}

/* Crashes further apart than the period never reach K. */
static void test_stash_kept_when_spread(void **state)
{
	(void)state;
	int root = add_sup(-1, "root", SUP_ONE_FOR_ONE, 30, 10 * S);
	int a = add_svc(root, "a", SUP_PERMANENT);
	F->ns[a].svc.stash = SUP_STASH_KEEP;
	F->ns[a].svc.stash_crashes = 2;
	boot();
	for (int i = 0; i < 5; i++)
		crash_unproven_after(a, 10 * S + 1);
	assert_null(strstr(F->trace, "discard"));
	F->now += 10 * S;
	crash(a, SUP_EXIT_KILLED);
	clear();
	crash(a, SUP_EXIT_FAULT); /* exactly a period after the last: 2 in it */
	assert_trace("exit:a/fault stash_discard:a discard:a restart:a/one_for_one/a +a");
}

/* state discard: every start is clean. */
static void test_stash_discard_state(void **state)
{
	(void)state;
	int root = add_sup(-1, "root", SUP_ONE_FOR_ONE, 3, 10 * S);
	int a = add_svc(root, "a", SUP_PERMANENT);
	F->ns[a].svc.stash = SUP_STASH_DISCARD;
	assert_int_equal(init_tree(), 0);
	tick();
	assert_trace("start:root discard:a start:a +a ready");
	clear();
	crash(a, SUP_EXIT_FAULT);
	assert_trace("exit:a/fault discard:a restart:a/one_for_one/a +a");
}

/* --- operator commands --------------------------------------------------- */

static void test_commands(void **state)
{
	(void)state;
	int root = add_sup(-1, "root", SUP_ONE_FOR_ALL, 3, 10 * S);
	int a = add_svc(root, "a", SUP_PERMANENT);
	int b = add_svc(root, "b", SUP_PERMANENT);
	boot();
	assert_int_equal(cmd(SUP_EV_CMD_START, a), -VE_BUSY);
	assert_true(cmd(SUP_EV_CMD_STOP, a) > 0);
	assert_trace("stop:a stopped:a");
	assert_int_equal(cmd(SUP_EV_CMD_STOP, a), -VE_INVAL);
	assert_int_equal(cmd(SUP_EV_CMD_RESTART, a), -VE_INVAL);
	/* A stopped child stays down through a group restart. */
	clear();
	crash(b, SUP_EXIT_FAULT);
	assert_trace("exit:b/fault restart:b/one_for_all/b +b ready");
	clear();
	assert_true(cmd(SUP_EV_CMD_START, a) > 0);
	assert_trace("start:a +a");
	/* Commands wait while a restart is under way. */
	F->sim[a].ignore_stop = true;
	clear();
	crash(b, SUP_EXIT_FAULT);
	assert_trace("exit:b/fault stop:a");
	assert_int_equal(cmd(SUP_EV_CMD_RESTART, a), -VE_BUSY);
	assert_int_equal(cmd(SUP_EV_CMD_STOP, b), -VE_BUSY);
	/* A restart of the whole tree. */
	F->sim[a].ignore_stop = false;
	advance_to(F->now + 1 * S);
	clear();
	assert_true(cmd(SUP_EV_CMD_RESTART, root) > 0);
	assert_trace(
	    "stop:b stopped:b stop:a stopped:a stopped:root start:root start:a +a start:b +b "
	    "ready");
}

/* An operator's stop of a service being killed as hung wins: it is not
 * restarted after the kill. */
static void test_stop_overtaken_by_hang(void **state)
{
	(void)state;
	int root = add_sup(-1, "root", SUP_ONE_FOR_ONE, 3, 10 * S);
	int a = add_svc(root, "a", SUP_PERMANENT);
	F->ns[a].svc.heartbeat_ns = 500 * MS;
	boot();
	int32_t pid = pid_of(a);
	F->now += 500 * MS;
	assert_true(step1((struct sup_event){ .kind = SUP_EV_TICK }) > 0);
	F->qh = F->qt = 0; /* hold the kill's exit back */
	assert_int_equal(cmd(SUP_EV_CMD_STOP, a), 0);
	clear();
	run((struct sup_event){
	    .kind = SUP_EV_EXITED, .node = a, .pid = pid, .exit = SUP_EXIT_KILLED });
	assert_trace("exit:a/hung");
	assert_int_equal(F->t.node[a].state, SUP_SVC_DOWN);
	assert_int_equal(F->t.node[root].win.n, 0);
}

/* Events about an earlier incarnation are stale; events a state cannot
 * take are refused; neither changes anything. */
static void test_bad_events(void **state)
{
	(void)state;
	int root = add_sup(-1, "root", SUP_ONE_FOR_ONE, 3, 10 * S);
	int a = add_svc(root, "a", SUP_PERMANENT);
	boot();
	int32_t old = pid_of(a);
	crash(a, SUP_EXIT_FAULT);
	struct sup_tree copy = F->t;
	struct sup_event ev = { .kind = SUP_EV_EXITED, .node = a, .pid = old, .now = F->now };
	assert_int_equal(sup_step(&F->t, &ev, F->acts, SUP_STEP_MAX), -VE_NOENT);
	ev.kind = SUP_EV_HEARTBEAT;
	assert_int_equal(sup_step(&F->t, &ev, F->acts, SUP_STEP_MAX), -VE_NOENT);
	ev = (struct sup_event){ .kind = SUP_EV_STARTED, .node = a, .pid = 5, .now = F->now };
	assert_int_equal(sup_step(&F->t, &ev, F->acts, SUP_STEP_MAX), -VE_INVAL);
	ev = (struct sup_event){ .kind = SUP_EV_READY, .node = root, .pid = 5, .now = F->now };
	assert_int_equal(sup_step(&F->t, &ev, F->acts, SUP_STEP_MAX), -VE_INVAL);
	ev = (struct sup_event){ .kind = SUP_EV_TICK, .node = 99, .now = F->now - 1 };
	assert_int_equal(sup_step(&F->t, &ev, F->acts, SUP_STEP_MAX), -VE_INVAL);
	ev = (struct sup_event){ .kind = SUP_NEVS, .now = F->now };
	assert_int_equal(sup_step(&F->t, &ev, F->acts, SUP_STEP_MAX), -VE_INVAL);
	ev = (struct sup_event){ .kind = SUP_EV_CMD_STOP, .node = 7, .now = F->now };
	assert_int_equal(sup_step(&F->t, &ev, F->acts, SUP_STEP_MAX), -VE_INVAL);
	ev = (struct sup_event){ .kind = SUP_EV_EXITED,
				 .node = a,
				 .pid = pid_of(a),
				 .exit = SUP_EXIT_HUNG,
				 .now = F->now };
	assert_int_equal(sup_step(&F->t, &ev, F->acts, SUP_STEP_MAX), -VE_INVAL);
	ev = (struct sup_event){ .kind = SUP_EV_TICK, .now = F->now };
	assert_int_equal(sup_step(&F->t, &ev, F->acts, SUP_STEP_MAX - 1), -VE_RANGE);
	assert_memory_equal(&copy, &F->t, sizeof(copy));
	assert_int_equal(sup_node_of_pid(&F->t, pid_of(a)), a);
	assert_int_equal(sup_node_of_pid(&F->t, old), SUP_NO_NODE);
}

/* A stop decided while a spawn is in flight kills it once its pid is
 * known (a caller that reports STARTED late). */
static void test_stop_while_spawning(void **state)
{
	(void)state;
	int root = add_sup(-1, "root", SUP_ONE_FOR_ALL, 3, 10 * S);
	int a = add_svc(root, "a", SUP_PERMANENT);
	int b = add_svc(root, "b", SUP_PERMANENT);
	boot();
	/* Crash a, but hold the answers to the restart's STARTs back. */
	struct sup_event ev = {
		.kind = SUP_EV_EXITED, .node = a, .pid = pid_of(a), .exit = SUP_EXIT_FAULT
	};
	assert_true(step1(ev) > 0); /* stops b */
	F->qh = F->qt = 0;
	assert_true(
	    step1((struct sup_event){
		.kind = SUP_EV_EXITED, .node = b, .pid = pid_of(b), .exit = SUP_EXIT_NORMAL }) >
	    0); /* +a */
	F->qh = F->qt = 0;
	assert_int_equal(F->t.node[a].state, SUP_SVC_SPAWNING);
	clear();
	assert_true(cmd(SUP_EV_CMD_STOP, root) >= 0);
	assert_int_equal(F->t.node[a].state, SUP_SVC_SPAWN_CANCEL);
	run((struct sup_event){ .kind = SUP_EV_STARTED, .node = a, .pid = 900 });
	assert_trace("kill:a stopped:a stopped:root");
}

/* --- a restarted supervisor adopts the tree ----------------------------- */

/* Take over the processes in found (indexed by node) at the current time,
 * record the actions and answer them like step1 / run. */
static int adopt(const struct sup_found *found)
{
	int n = sup_adopt(&F->t, found, F->n, F->now, F->acts, SUP_STEP_MAX);
	if (n < 0)
		return n;
	assert_int_equal(F->t.dropped, 0);
	uint64_t next = sup_next_deadline(&F->t);
	if (next != SUP_NO_DEADLINE) {
		assert_true(n > 0);
		assert_int_equal(F->acts[n - 1].kind, SUP_ACT_WAIT);
		assert_int_equal(F->acts[n - 1].deadline, next);
	}
	for (int i = 0; i < n; i++)
		record(&F->acts[i]);
	while (F->qh != F->qt)
		assert_true(step1(F->q[F->qh++ % 512]) >= 0);
	return n;
}

/* Every service found running and serving: nothing is started, the tree
 * is up at once, and the adopted processes are supervised: a crash is
 * handled by the strategy as usual. */
static void test_adopt_all_running(void **state)
{
	(void)state;
	int root = add_sup(-1, "root", SUP_ONE_FOR_ONE, 3, 10 * S);
	int a = add_svc(root, "a", SUP_PERMANENT);
	int s = add_sup(root, "s", SUP_ONE_FOR_ALL, 3, 10 * S);
	int b = add_svc(s, "b", SUP_PERMANENT);
	int c = add_svc(s, "c", SUP_TRANSIENT);
	int d = add_svc(root, "d", SUP_TEMPORARY);
	struct sup_found found[SUP_NODES_MAX] = { 0 };
	found[a] = (struct sup_found){ 40, true };
	found[b] = (struct sup_found){ 41, true };
	found[c] = (struct sup_found){ 42, true };
	found[d] = (struct sup_found){ 43, true };
	assert_int_equal(init_tree(), 0);
	assert_int_equal(adopt(found), 1); /* the ready log line */
	assert_trace("ready");
	assert_int_equal(sup_next_deadline(&F->t), SUP_NO_DEADLINE);
	for (int i = 0; i < (int)F->n; i++) {
		assert_true(F->t.node[i].state == SUP_SVC_UP || F->t.node[i].state == SUP_SUP_UP);
		assert_int_equal(F->t.node[i].pid, found[i].pid);
		assert_int_equal(F->t.node[i].restarts, 0);
	}
	assert_int_equal(sup_node_of_pid(&F->t, 42), c);
	/* A second adoption, or a start, is refused. */
	assert_int_equal(sup_adopt(&F->t, found, F->n, F->now, F->acts, SUP_STEP_MAX), -VE_BUSY);
	clear();
	tick();
	assert_trace("");
	crash(b, SUP_EXIT_FAULT);
	assert_trace("exit:b/fault stop:c stopped:c restart:b/one_for_all/b +b "
		     "restart:c/one_for_all/b +c");
	clear();
	crash(a, SUP_EXIT_KILLED);
	assert_trace("exit:a/killed restart:a/one_for_one/a +a");
	clear();
	crash(d, SUP_EXIT_FAULT);
	assert_trace("exit:d/fault");
}

/* A service with no process is started again in its turn, alone, and is
 * not counted (intensity 0 would give up at the first restart); a missing
 * temporary stays down. */
static void test_adopt_missing(void **state)
{
	(void)state;
	int root = add_sup(-1, "root", SUP_ONE_FOR_ALL, 0, 10 * S);
	int a = add_svc(root, "a", SUP_PERMANENT);
	int b = add_svc(root, "b", SUP_PERMANENT);
	int c = add_svc(root, "c", SUP_TEMPORARY);
	int d = add_svc(root, "d", SUP_TRANSIENT);
	int e = add_svc(root, "e", SUP_PERMANENT);
	struct sup_found found[SUP_NODES_MAX] = { 0 };
	found[a] = (struct sup_found){ 40, true };
	found[e] = (struct sup_found){ 44, true };
	F->ns[b].svc.stash = SUP_STASH_DISCARD;
	assert_int_equal(init_tree(), 0);
	assert_true(adopt(found) > 0);
	assert_trace("discard:b start:b +b start:d +d ready");
	assert_int_equal(F->t.node[c].state, SUP_SVC_DOWN);
	assert_int_equal(F->t.node[c].want, SUP_WANT_DOWN);
	assert_int_equal(F->t.node[e].pid, 44);
	assert_int_equal(F->t.node[d].state, SUP_SVC_UP);
	assert_int_equal(F->t.node[root].win.n, 0);
	assert_int_equal(F->t.node[b].restarts, 0);
	/* The operator can still start the temporary. */
	clear();
	assert_true(cmd(SUP_EV_CMD_START, c) > 0);
	assert_trace("start:c +c");
}

/* A missing child waits for the one before it to be ready; an adopted
 * service not yet serving keeps its supervisor starting, with its ready
 * timeout counted from the adoption; a heartbeat is due one interval
 * after it. */
static void test_adopt_not_ready(void **state)
{
	(void)state;
	int root = add_sup(-1, "root", SUP_REST_FOR_ONE, 3, 10 * S);
	int a = add_svc(root, "a", SUP_PERMANENT);
	int b = add_svc(root, "b", SUP_PERMANENT);
	int c = add_svc(root, "c", SUP_PERMANENT);
	F->ns[a].svc.heartbeat_ns = 2 * S;
	F->ns[b].svc.ready_timeout_ns = 3 * S;
	struct sup_found found[SUP_NODES_MAX] = { 0 };
	found[a] = (struct sup_found){ 40, true };
	found[b] = (struct sup_found){ 41, false };
	assert_int_equal(init_tree(), 0);
	assert_int_equal(adopt(found), 1); /* only the WAIT */
	assert_trace("");
	assert_int_equal(F->t.node[root].state, SUP_SUP_STARTING);
	assert_int_equal(F->t.node[b].state, SUP_SVC_STARTING);
	assert_int_equal(F->t.node[a].due, F->now + 2 * S);
	assert_int_equal(F->t.node[b].due, F->now + 3 * S);
	F->now += S;
	run((struct sup_event){ .kind = SUP_EV_READY, .node = b, .pid = 41 });
	assert_trace("start:c +c ready");
	/* The adopted a misses its heartbeat like any other. */
	clear();
	advance_to(F->now + S);
	assert_trace("hung:a killhung:a exit:a/hung stop:c stopped:c stop:b stopped:b "
		     "restart:a/rest_for_one/a +a restart:b/rest_for_one/a +b "
		     "restart:c/rest_for_one/a +c ready");
	(void)c;
}

/* A child that died before the new supervisor reaped it is adopted, then
 * its exit is an exit like any: restart type, strategy, intensity. */
static void test_adopt_dead(void **state)
{
	(void)state;
	int root = add_sup(-1, "root", SUP_REST_FOR_ONE, 1, 10 * S);
	int a = add_svc(root, "a", SUP_PERMANENT);
	int b = add_svc(root, "b", SUP_TRANSIENT);
	int c = add_svc(root, "c", SUP_PERMANENT);
	struct sup_found found[SUP_NODES_MAX] = { 0 };
	found[a] = (struct sup_found){ 40, true };
	found[b] = (struct sup_found){ 41, false };
	found[c] = (struct sup_found){ 42, true };
	assert_int_equal(init_tree(), 0);
	assert_int_equal(adopt(found), 0); /* waiting for b */
	assert_trace("");
	run((struct sup_event){
	    .kind = SUP_EV_EXITED, .node = b, .pid = 41, .exit = SUP_EXIT_NORMAL });
	assert_trace("exit:b/normal ready");
	assert_int_equal(F->t.node[b].want, SUP_WANT_DOWN);
	clear();
	crash(a, SUP_EXIT_FAULT);
	assert_trace("exit:a/fault stop:c stopped:c restart:a/rest_for_one/a +a "
		     "restart:c/rest_for_one/a +c ready");
	clear();
	crash(c, SUP_EXIT_FAULT); /* the second restart in the window: 1 allowed */
	assert_trace("exit:c/fault giveup:root/halt stop:a stopped:a GIVEUP:halt");
}

/* Wrong arguments leave the tree as sup_init made it. */
static void test_adopt_errors(void **state)
{
	(void)state;
	int root = add_sup(-1, "root", SUP_ONE_FOR_ONE, 3, 10 * S);
	int a = add_svc(root, "a", SUP_PERMANENT);
	int b = add_svc(root, "b", SUP_PERMANENT);
	struct sup_found found[SUP_NODES_MAX] = { 0 };
	assert_int_equal(init_tree(), 0);
	struct sup_tree copy = F->t;
	found[a].pid = 40;
	found[b].pid = 40;
	assert_int_equal(sup_adopt(&F->t, found, F->n, F->now, F->acts, SUP_STEP_MAX), -VE_INVAL);
	found[b].pid = -1;
	assert_int_equal(sup_adopt(&F->t, found, F->n, F->now, F->acts, SUP_STEP_MAX), -VE_INVAL);
	found[b].pid = 0;
	found[root].pid = 41;
	assert_int_equal(sup_adopt(&F->t, found, F->n, F->now, F->acts, SUP_STEP_MAX), -VE_INVAL);
	found[root].pid = 0;
	assert_int_equal(sup_adopt(&F->t, found, F->n - 1, F->now, F->acts, SUP_STEP_MAX),
			 -VE_INVAL);
	assert_int_equal(sup_adopt(&F->t, found, F->n, F->now - 1, F->acts, SUP_STEP_MAX),
			 -VE_INVAL);
	assert_int_equal(sup_adopt(&F->t, NULL, F->n, F->now, F->acts, SUP_STEP_MAX), -VE_INVAL);
	assert_int_equal(sup_adopt(&F->t, found, F->n, F->now, F->acts, SUP_STEP_MAX - 1),
			 -VE_RANGE);
	assert_memory_equal(&copy, &F->t, sizeof(copy));
	/* A tree that was started cannot adopt. */
	tick();
	copy = F->t;
	assert_int_equal(sup_adopt(&F->t, found, F->n, F->now, F->acts, SUP_STEP_MAX), -VE_BUSY);
	assert_memory_equal(&copy, &F->t, sizeof(copy));
}

/* --- spec validation ----------------------------------------------------- */

static void test_init_errors(void **state)
{
	(void)state;
	struct sup_node_spec ok_root = { .kind = SUP_SUPERVISOR,
					 .parent = -1,
					 .sup = { .intensity = 1, .period_ns = S } };
	struct sup_node_spec svc = { .kind = SUP_SERVICE, .parent = 0 };
	struct {
		struct sup_node_spec n[2];
		size_t count;
		int err;
	} cases[] = {
		{ { ok_root, svc }, 2, 0 },
		{ { ok_root, svc }, 0, -VE_INVAL },
		{ { svc, svc }, 2, -VE_INVAL }, /* root a service */
		{ { { .kind = SUP_SUPERVISOR, .parent = 0 }, svc },
		  2,
		  -VE_INVAL }, /* root's parent */
		{ { ok_root, { .kind = SUP_SERVICE, .parent = 1 } },
		  2,
		  -VE_INVAL }, /* own parent */
		{ { ok_root, { .kind = 2, .parent = 0 } }, 2, -VE_INVAL },
		{ { ok_root, { .kind = SUP_SERVICE, .parent = 0, .restart = 3 } }, 2, -VE_INVAL },
		{ { ok_root, { .kind = SUP_SERVICE, .parent = 0, .svc.stash = 2 } }, 2, -VE_INVAL },
		{ { ok_root,
		    { .kind = SUP_SERVICE,
		      .parent = 0,
		      .svc = { .backoff_initial_ns = 2, .backoff_max_ns = 1 } } },
		  2,
		  -VE_INVAL },
		{ { ok_root, { .kind = SUP_SERVICE, .parent = 0, .svc.stash_crashes = 99 } },
		  2,
		  -VE_RANGE },
		{ { { .kind = SUP_SUPERVISOR, .parent = -1, .sup = { .period_ns = 0 } }, svc },
		  2,
		  -VE_INVAL },
		{ { { .kind = SUP_SUPERVISOR,
		      .parent = -1,
		      .sup = { .strategy = 3, .period_ns = 1 } },
		    svc },
		  2,
		  -VE_INVAL },
		{ { { .kind = SUP_SUPERVISOR,
		      .parent = -1,
		      .sup = { .giveup = 3, .period_ns = 1 } },
		    svc },
		  2,
		  -VE_INVAL },
		{ { { .kind = SUP_SUPERVISOR,
		      .parent = -1,
		      .sup = { .intensity = SUP_INTENSITY_MAX + 1, .period_ns = 1 } },
		    svc },
		  2,
		  -VE_RANGE },
		{ { ok_root, { .kind = SUP_SUPERVISOR, .parent = 0, .sup = { .period_ns = 0 } } },
		  2,
		  -VE_INVAL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sup_spec spec = { cases[i].n, cases[i].count };
		int err = sup_init(&F->t, &spec, 0);
		if (err != cases[i].err)
			fail_msg("case %zu: got %d want %d", i, err, cases[i].err);
		if (err)
			assert_int_equal(F->t.n, 0);
	}
	assert_int_equal(sup_init(&F->t, NULL, 0), -VE_INVAL);

	/* Too many nodes, too deep. */
	struct sup_node_spec many[SUP_NODES_MAX + 1];
	for (int i = 0; i <= SUP_NODES_MAX; i++)
		many[i] = i == 0 ? ok_root : svc;
	struct sup_spec spec = { many, SUP_NODES_MAX + 1 };
	assert_int_equal(sup_init(&F->t, &spec, 0), -VE_RANGE);
	spec.n = SUP_NODES_MAX;
	assert_int_equal(sup_init(&F->t, &spec, 0), 0);
	for (int i = 1; i <= SUP_DEPTH_MAX + 1; i++) {
		many[i] = ok_root;
		many[i].parent = i - 1;
	}
	spec.n = SUP_DEPTH_MAX + 1;
	assert_int_equal(sup_init(&F->t, &spec, 0), 0);
	spec.n = SUP_DEPTH_MAX + 2;
	assert_int_equal(sup_init(&F->t, &spec, 0), -VE_RANGE);
	/* Without a tree, steps are refused. */
	struct sup_event ev = { .kind = SUP_EV_TICK };
	assert_int_equal(sup_step(&F->t, &ev, F->acts, SUP_STEP_MAX), -VE_INVAL);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(sup_strategy_name(SUP_REST_FOR_ONE), "rest_for_one");
	assert_string_equal(sup_exit_name(SUP_EXIT_HUNG), "hung");
	assert_string_equal(sup_exit_name(SUP_EXIT_IMAGE), "image_corrupt");
	for (uint32_t v = 0; v < SUP_NEXITS; v++)
		assert_non_null(sup_exit_name(v)); /* a value without a name */
	assert_string_equal(sup_log_name(SUP_LOG_ESCALATE), "escalate");
	assert_string_equal(sup_giveup_name(SUP_GIVEUP_PANIC), "panic");
	assert_string_equal(sup_exit_name(99), "?");
	assert_int_equal(sup_exit_of(VE_R_EXIT, 0), SUP_EXIT_NORMAL);
	assert_int_equal(sup_exit_of(VE_R_EXIT, 3), SUP_EXIT_ERROR);
	assert_int_equal(sup_exit_of(VE_R_EXIT, VE_EXIT_IMAGE_CORRUPT), SUP_EXIT_IMAGE);
	assert_int_equal(sup_exit_of(VE_R_KILLED, 0), SUP_EXIT_KILLED);
	assert_int_equal(sup_exit_of(VE_R_HUNG, 0), SUP_EXIT_KILLED);
	assert_int_equal(sup_exit_of(VE_R_PAGE_FAULT, 0), SUP_EXIT_FAULT);
}

/* --- random walk --------------------------------------------------------- */

/* A larger tree under random crashes, hangs, commands and time: the machine
 * must never run out of action room, never leave a service up without a
 * pid, and (ASan/UBSan) never misbehave. */
static void test_random_walk(void **state)
{
	(void)state;
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	memset(seen_act, 0, sizeof(seen_act));
	memset(seen_log, 0, sizeof(seen_log));
	for (int round = 0; round < 40; round++) {
		teardown(state);
		setup(state);
		int root = add_sup(-1, "root", (enum sup_strategy)(round % 3), 8, 5 * S);
		int parents[SUP_NODES_MAX] = { root };
		int depth[SUP_NODES_MAX] = { 0 };
		int np = 1;
		while (F->n < SUP_NODES_MAX) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			uint32_t rnd = (uint32_t)(seed >> 33);
			int p = parents[rnd % np];
			if (rnd % 5 == 0 && depth[p] < 4 && np < 12) {
				int s = add_sup(p, "s", (enum sup_strategy)(rnd % 3), rnd % 4,
						(1 + rnd % 5) * S);
				F->ns[s].restart = (enum sup_restart)(rnd / 7 % 3);
				depth[s] = depth[p] + 1;
				parents[np++] = s;
			} else {
				int c = add_svc(p, "x", (enum sup_restart)(rnd / 7 % 3));
				F->ns[c].svc.shutdown_ns = rnd % 3 ? 100 * MS : SUP_BRUTAL_KILL;
				F->ns[c].svc.heartbeat_ns = rnd % 4 == 0 ? 300 * MS : 0;
				F->ns[c].svc.backoff_initial_ns = rnd % 6 == 0 ? 50 * MS : 0;
				F->ns[c].svc.stash = rnd % 2;
				F->ns[c].svc.stash_crashes = rnd / 3 % 3;
				F->sim[c].ignore_stop = rnd % 7 == 0;
				F->sim[c].no_device = rnd % 13 == 0;
			}
		}
		assert_int_equal(init_tree(), 0);
		tick();
		for (int i = 0; i < 400 && F->t.node[0].state != SUP_SUP_GAVE_UP; i++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			uint32_t rnd = (uint32_t)(seed >> 33);
			int node = (int)(rnd % F->n);
			F->trace[0] = 0;
			switch (rnd / 64 % 6) {
			case 0:
			case 1:
				if (F->t.node[node].spec.kind == SUP_SERVICE && pid_of(node))
					crash(node,
					      (enum sup_exit)(rnd / 512 % 3 == 0 ? SUP_EXIT_NORMAL
										 : SUP_EXIT_FAULT));
				break;
			case 2:
				if (F->t.node[node].spec.kind == SUP_SERVICE && pid_of(node))
					run((struct sup_event){ .kind = SUP_EV_HEARTBEAT,
								.node = (uint16_t)node,
								.pid = pid_of(node) });
				break;
			case 3:
				cmd((enum sup_ev_kind)(SUP_EV_CMD_STOP + rnd / 512 % 3), node);
				break;
			default:
				advance_to(F->now + (rnd / 512 % 400) * MS);
				break;
			}
			for (uint16_t k = 0; k < F->t.n; k++) {
				const struct sup_node *c = &F->t.node[k];
				if (c->spec.kind != SUP_SERVICE)
					continue;
				bool has = c->state >= SUP_SVC_STARTING;
				assert_int_equal(has, c->pid != 0);
			}
		}
	}
	for (int k = 0; k < SUP_NACTS; k++)
		if (!seen_act[k])
			fail_msg("random walk never saw action %d", k);
	for (int k = 0; k < SUP_NLOGS; k++)
		if (!seen_log[k])
			fail_msg("random walk never saw log %s", sup_log_name(k));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_boot_order),
		T(test_start_waits_for_ready),
		T(test_stop_order),
		T(test_strategy_table),
		T(test_group_restart_temporary_sibling),
		T(test_rest_for_one_widens),
		T(test_crash_during_start),
		T(test_spawn_failure),
		T(test_start_ignored),
		T(test_intensity_edge),
		T(test_intensity_window),
		T(test_intensity_window_aged),
		T(test_intensity_not_counted),
		T(test_escalation_two_levels),
		T(test_escalation_transient_supervisor),
		T(test_root_actions),
		T(test_group_restart_shutdown_policies),
		T(test_graceful_stop_in_time),
		T(test_heartbeat_miss),
		T(test_heartbeat_late),
		T(test_ready_timeout),
		T(test_stalled),
		T(test_backoff),
		T(test_backoff_default_reset),
		T(test_backoff_group),
		T(test_stash_discard_after_k),
		T(test_stash_kept_when_proven),
		T(test_stash_discard_after_hangs),
		T(test_stash_kept_when_spread),
		T(test_stash_discard_state),
		T(test_commands),
		T(test_stop_overtaken_by_hang),
		T(test_bad_events),
		T(test_stop_while_spawning),
		T(test_adopt_all_running),
		T(test_adopt_missing),
		T(test_adopt_not_ready),
		T(test_adopt_dead),
		T(test_adopt_errors),
		T(test_init_errors),
		T(test_names),
		T(test_random_walk),
#undef T
	};
	return cmocka_run_group_tests_name("decide", tests, NULL, NULL);
}
