/*
 * The decision logic's entry points: validating a tree spec once (as OTP
 * validates child specs at the boundary), dispatching each event to the
 * transition function of the node it concerns, operator commands, ticks,
 * and the names used in the event log.
 */
#include "decide_impl.h"

void sup_emit(struct sup_run *r, struct sup_action a)
{
	if (r->n < r->cap)
		r->out[r->n++] = a;
	else
		r->t->dropped++;
}

void sup_log(struct sup_run *r, struct sup_node *c, enum sup_log_kind log)
{
	struct sup_action a = { .kind = SUP_ACT_LOG, .node = sup_idx(r, c), .log = (uint16_t)log };
	struct sup_node *p = sup_parent(r, c);

	if (log == SUP_LOG_RESTART && p) {
		a.strategy = (uint16_t)p->spec.sup.strategy;
		a.cause = c->cause;
	}
	if (log == SUP_LOG_GIVEUP)
		a.giveup = (uint16_t)c->spec.sup.giveup;
	sup_emit(r, a);
}

/* --- init ------------------------------------------------------------- */

static int check_sup(const struct sup_sup_spec *s, bool root)
{
	if (s->strategy >= SUP_NSTRATEGIES || s->period_ns == 0)
		return -VE_INVAL;
	if (root && s->giveup >= SUP_NGIVEUPS)
		return -VE_INVAL;
	if (s->intensity > SUP_INTENSITY_MAX)
		return -VE_RANGE;
	return 0;
}

static int check_svc(const struct sup_svc_spec *s)
{
	if (s->stash >= SUP_NSTASH)
		return -VE_INVAL;
	if (s->backoff_max_ns != 0 && s->backoff_max_ns < s->backoff_initial_ns)
		return -VE_INVAL;
	if (s->stash_crashes > SUP_WINDOW_MAX)
		return -VE_RANGE;
	return 0;
}

/* Check node i of spec; depth[] holds the depths of nodes before it. */
static int check_node(const struct sup_spec *spec, size_t i, uint16_t *depth)
{
	const struct sup_node_spec *ns = &spec->nodes[i];

	if (ns->kind > SUP_SUPERVISOR || ns->restart >= SUP_NRESTARTS)
		return -VE_INVAL;
	if (i == 0) {
		if (ns->kind != SUP_SUPERVISOR || ns->parent != -1)
			return -VE_INVAL;
		depth[0] = 0;
		return check_sup(&ns->sup, true);
	}
	if (ns->parent < 0 || (size_t)ns->parent >= i ||
	    spec->nodes[ns->parent].kind != SUP_SUPERVISOR)
		return -VE_INVAL;
	depth[i] = depth[ns->parent] + 1;
	if (depth[i] > SUP_DEPTH_MAX)
		return -VE_RANGE;
	return ns->kind == SUP_SUPERVISOR ? check_sup(&ns->sup, false) : check_svc(&ns->svc);
}

static void setup_node(struct sup_node *c, const struct sup_node_spec *ns, uint16_t depth)
{
	c->spec = *ns;
	if (c->spec.svc.backoff_max_ns == 0)
		c->spec.svc.backoff_max_ns = c->spec.svc.backoff_initial_ns;
	if (c->spec.svc.stash_crashes == 0)
		c->spec.svc.stash_crashes = SUP_STASH_CRASHES_DEFAULT;
	c->parent = ns->parent < 0 ? SUP_NO_NODE : (uint16_t)ns->parent;
	c->depth = depth;
	c->state = 0; /* SUP_SVC_DOWN, SUP_SUP_DOWN */
	c->want = SUP_WANT_UP;
	c->cause = SUP_NO_NODE;
	c->last_exit = SUP_EXIT_NORMAL;
	c->due = SUP_NO_DEADLINE;
	c->ready_at = SUP_NO_DEADLINE;
}

int sup_init(struct sup_tree *t, const struct sup_spec *spec, uint64_t now)
{
	uint16_t depth[SUP_NODES_MAX];
	uint16_t k = 0;
	int err;

	t->n = 0;
	if (!spec || !spec->nodes || spec->n == 0)
		return -VE_INVAL;
	if (spec->n > SUP_NODES_MAX)
		return -VE_RANGE;
	for (size_t i = 0; i < spec->n; i++) {
		err = check_node(spec, i, depth);
		if (err)
			return err;
	}

	*t = (struct sup_tree){ .now = now };
	for (uint16_t i = 0; i < spec->n; i++)
		setup_node(&t->node[i], &spec->nodes[i], depth[i]);
	for (uint16_t p = 0; p < spec->n; p++) {
		struct sup_node *s = &t->node[p];

		s->kid0 = k;
		for (uint16_t i = p + 1; i < spec->n; i++) {
			if (t->node[i].parent == p) {
				t->node[i].pos = s->nkids++;
				t->kids[k++] = i;
			}
		}
	}
	t->node[0].due = now; /* the first tick starts the tree */
	t->n = (uint16_t)spec->n;
	return 0;
}

/* --- a restarted supervisor ------------------------------------------ */

static int check_found(const struct sup_tree *t, const struct sup_found *found, size_t n)
{
	if (n != t->n)
		return -VE_INVAL;
	for (uint16_t i = 0; i < n; i++) {
		if (found[i].pid < 0 || (found[i].pid && t->node[i].spec.kind != SUP_SERVICE))
			return -VE_INVAL;
		for (uint16_t j = 0; j < i && found[i].pid; j++)
			if (found[j].pid == found[i].pid)
				return -VE_INVAL; /* one process cannot be two services */
	}
	return 0;
}

/* Whether t is as sup_init left it: nothing started, nothing adopted. */
static bool untouched(const struct sup_tree *t)
{
	for (uint16_t i = 0; i < t->n; i++)
		if (t->node[i].state != 0 || t->node[i].starts != 0)
			return false;
	return true;
}

int sup_adopt(struct sup_tree *t, const struct sup_found *found, size_t n, uint64_t now,
	      struct sup_action *out, size_t cap)
{
	struct sup_run r = { .t = t, .out = out, .cap = cap, .now = now };
	int err;

	if (!t || t->n == 0 || !found || !out || now < t->now)
		return -VE_INVAL;
	if (cap < SUP_STEP_MAX)
		return -VE_RANGE;
	err = check_found(t, found, n);
	if (err)
		return err;
	if (!untouched(t))
		return -VE_BUSY;

	t->node[0].due = SUP_NO_DEADLINE; /* the root is not started afresh */
	for (uint16_t i = 0; i < t->n; i++) {
		struct sup_node *c = &t->node[i];

		if (!sup_is_svc(c))
			sup_sup_adopt(&r, c);
		else if (found[i].pid)
			sup_svc_adopt(&r, c, found[i].pid, found[i].ready);
		else if (c->spec.restart == SUP_TEMPORARY)
			c->want = SUP_WANT_DOWN; /* gone, and never restarted */
	}
	/* Deepest supervisors first (a child's index is above its parent's),
	 * so each finds its sub-supervisors already settled. */
	for (uint16_t i = t->n; i-- > 0;) {
		struct sup_node *s = &t->node[i];

		if (!sup_is_svc(s) && s->state == SUP_SUP_STARTING)
			sup_drive(&r, s);
	}
	t->now = now;
	uint64_t next = sup_next_deadline(t);
	if (next != SUP_NO_DEADLINE)
		sup_emit(&r, (struct sup_action){
				 .kind = SUP_ACT_WAIT, .node = SUP_NO_NODE, .deadline = next });
	return (int)r.n;
}

/* --- operator commands ------------------------------------------------ */

/* Commands wait while c's supervisor restarts or stops children. */
static bool cmd_allowed(const struct sup_node *s)
{
	return s->state == SUP_SUP_STARTING || s->state == SUP_SUP_UP;
}

static int cmd_stop(struct sup_run *r, struct sup_node *c)
{
	struct sup_node *s = sup_parent(r, c);

	if (!cmd_allowed(s ? s : c))
		return -VE_BUSY;
	if (c->want == SUP_WANT_DOWN)
		return sup_node_down(c) ? -VE_INVAL : -VE_BUSY;
	c->want = SUP_WANT_DOWN;
	c->cause = SUP_NO_NODE;
	if (sup_node_stop(r, c) && s)
		sup_drive(r, s); /* its start sequence may move past it */
	return 0;
}

static int cmd_start(struct sup_run *r, struct sup_node *c)
{
	struct sup_node *s = sup_parent(r, c);

	if (!s) {
		if (c->state != SUP_SUP_DOWN)
			return -VE_BUSY;
		c->want = SUP_WANT_UP;
		sup_node_start(r, c);
		return 0;
	}
	if (!cmd_allowed(s))
		return -VE_BUSY;
	if (!sup_node_down(c) || c->want == SUP_WANT_UP)
		return -VE_BUSY; /* running, or about to be started */
	c->want = SUP_WANT_UP;
	c->cause = SUP_NO_NODE;
	c->not_before = 0; /* an operator is not made to wait out a backoff */
	sup_bring_back(r, s, c);
	return 0;
}

static int cmd_restart(struct sup_run *r, struct sup_node *c)
{
	struct sup_node *s = sup_parent(r, c);

	if (!cmd_allowed(s ? s : c))
		return -VE_BUSY;
	if (c->want == SUP_WANT_DOWN)
		return sup_node_down(c) ? -VE_INVAL : -VE_BUSY;
	c->cause = SUP_NO_NODE;
	c->not_before = 0;
	if (!sup_node_stop(r, c))
		return 0; /* its supervisor starts it again once it is down */
	if (s)
		sup_bring_back(r, s, c);
	else
		sup_node_start(r, c);
	return 0;
}

/* --- events ----------------------------------------------------------- */

static void tick(struct sup_run *r)
{
	for (uint16_t i = 0; i < r->t->n; i++) {
		struct sup_node *c = &r->t->node[i];

		if (c->due > r->now)
			continue;
		if (sup_is_svc(c))
			sup_svc_timer(r, c);
		else
			sup_sup_timer(r, c);
	}
}

static int check_event(const struct sup_tree *t, const struct sup_event *ev)
{
	if (ev->kind >= SUP_NEVS || ev->now < t->now)
		return -VE_INVAL;
	if (ev->kind == SUP_EV_TICK)
		return 0;
	if (ev->node >= t->n)
		return -VE_INVAL;
	if (t->node[0].state == SUP_SUP_GAVE_UP)
		return -VE_BUSY;
	if (ev->kind >= SUP_EV_CMD_STOP && ev->kind <= SUP_EV_CMD_RESTART)
		return 0;
	if (t->node[ev->node].spec.kind != SUP_SERVICE)
		return -VE_INVAL;
	if (ev->kind == SUP_EV_EXITED &&
	    (ev->exit >= SUP_NEXITS || ev->exit == SUP_EXIT_SHUTDOWN || ev->exit == SUP_EXIT_HUNG ||
	     ev->exit == SUP_EXIT_ESCALATED || ev->exit == SUP_EXIT_START_FAILED))
		return -VE_INVAL; /* those are the supervisor's own verdicts */
	return 0;
}

static int dispatch(struct sup_run *r, const struct sup_event *ev)
{
	struct sup_node *c;

	if (ev->kind == SUP_EV_TICK) {
		tick(r);
		return 0;
	}
	c = &r->t->node[ev->node];
	switch ((enum sup_ev_kind)ev->kind) {
	case SUP_EV_TICK:
		break;
	case SUP_EV_STARTED:
		return sup_svc_started(r, c, ev->pid);
	case SUP_EV_START_FAILED:
		return sup_svc_start_failed(r, c);
	case SUP_EV_READY:
		return sup_svc_ready(r, c, ev->pid);
	case SUP_EV_HEARTBEAT:
		return sup_svc_heartbeat(r, c, ev->pid);
	case SUP_EV_EXITED:
		return sup_svc_exited(r, c, ev->pid, (enum sup_exit)ev->exit);
	case SUP_EV_CMD_STOP:
		return cmd_stop(r, c);
	case SUP_EV_CMD_START:
		return cmd_start(r, c);
	case SUP_EV_CMD_RESTART:
		return cmd_restart(r, c);
	case SUP_EV_START_IGNORED:
		return sup_svc_start_ignored(r, c);
	case SUP_NEVS:
		break;
	}
	return -VE_INVAL;
}

int sup_step(struct sup_tree *t, const struct sup_event *ev, struct sup_action *out, size_t cap)
{
	struct sup_run r = { .t = t, .out = out, .cap = cap, .now = ev ? ev->now : 0 };
	int err;

	if (!t || t->n == 0 || !ev || !out)
		return -VE_INVAL;
	if (cap < SUP_STEP_MAX)
		return -VE_RANGE;
	err = check_event(t, ev);
	if (err)
		return err;
	/* Each handler checks the node's state before changing anything, so
	 * an error leaves t as it was. */
	err = dispatch(&r, ev);
	if (err)
		return err;
	t->now = ev->now;
	uint64_t next = sup_next_deadline(t);
	if (next != SUP_NO_DEADLINE)
		sup_emit(&r, (struct sup_action){
				 .kind = SUP_ACT_WAIT, .node = SUP_NO_NODE, .deadline = next });
	return (int)r.n;
}

uint64_t sup_next_deadline(const struct sup_tree *t)
{
	uint64_t next = SUP_NO_DEADLINE;

	for (uint16_t i = 0; i < t->n; i++)
		if (t->node[i].due < next)
			next = t->node[i].due;
	return next;
}

void sup_stalled(struct sup_tree *t, uint64_t late)
{
	for (uint16_t i = 0; i < t->n; i++) {
		struct sup_node *c = &t->node[i];

		if (c->spec.kind == SUP_SERVICE && c->due != SUP_NO_DEADLINE &&
		    (c->state == SUP_SVC_UP || c->state == SUP_SVC_STARTING))
			c->due =
			    late < SUP_NO_DEADLINE - c->due ? c->due + late : SUP_NO_DEADLINE - 1;
	}
}

uint16_t sup_node_of_pid(const struct sup_tree *t, int32_t pid)
{
	for (uint16_t i = 0; i < t->n; i++)
		if (pid > 0 && t->node[i].spec.kind == SUP_SERVICE && t->node[i].pid == pid)
			return i;
	return SUP_NO_NODE;
}

enum sup_exit sup_exit_of(uint32_t ve_reason, int64_t code)
{
	if (ve_reason == VE_R_EXIT && code == VE_EXIT_IMAGE_CORRUPT)
		return SUP_EXIT_IMAGE;
	if (ve_reason == VE_R_EXIT)
		return code == 0 ? SUP_EXIT_NORMAL : SUP_EXIT_ERROR;
	/* A kill, and the kernel's "hung" (the supervisor's own kill of a
	 * service that missed its heartbeat): the machine knows which of its
	 * kills were for a hang and counts that exit as hung itself. */
	if (ve_reason == VE_R_KILLED || ve_reason == VE_R_HUNG)
		return SUP_EXIT_KILLED;
	return SUP_EXIT_FAULT;
}

/* --- names ------------------------------------------------------------ */

static const char *name_of(const char *const *names, uint32_t n, uint32_t v)
{
	return v < n ? names[v] : "?";
}

const char *sup_strategy_name(uint32_t v)
{
	static const char *const names[SUP_NSTRATEGIES] = SUP_STRATEGY_NAMES;
	return name_of(names, SUP_NSTRATEGIES, v);
}

const char *sup_exit_name(uint32_t v)
{
	static const char *const names[SUP_NEXITS] = {
		[SUP_EXIT_NORMAL] = "normal",
		[SUP_EXIT_SHUTDOWN] = "shutdown",
		[SUP_EXIT_ERROR] = "error",
		[SUP_EXIT_FAULT] = "fault",
		[SUP_EXIT_KILLED] = "killed",
		[SUP_EXIT_HUNG] = "hung",
		[SUP_EXIT_START_FAILED] = "start_failed",
		[SUP_EXIT_ESCALATED] = "escalated",
		[SUP_EXIT_IMAGE] = "image_corrupt",
	};
	return name_of(names, SUP_NEXITS, v);
}

const char *sup_log_name(uint32_t v)
{
	static const char *const names[] = { "start",	      "restart",  "exit",   "stop",
					     "hung",	      "escalate", "giveup", "ready",
					     "stash_discard", "ignore" };
	return name_of(names, SUP_NLOGS, v);
}

const char *sup_giveup_name(uint32_t v)
{
	static const char *const names[SUP_NGIVEUPS] = SUP_GIVEUP_NAMES;
	return name_of(names, SUP_NGIVEUPS, v);
}
