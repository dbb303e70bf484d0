/*
 * A supervisor's lifecycle and its restart strategy.
 *
 * A supervisor starts its children one at a time in declared order,
 * waiting for each to be ready (a service serving, a supervisor with its
 * own children up) before the next, because later children depend on
 * earlier ones. It stops them one at a time in reverse order. When a child
 * goes down by itself, the decision is OTP's: restart it or not by its
 * restart type and the exit; if so count the restart in the sliding window
 * and give up when there are more than `intensity` within `period`;
 * otherwise restart the child alone (one_for_one) or stop the children
 * from it (rest_for_one) or all (one_for_all) in reverse order and start
 * them again in order. A supervisor that gives up stops all its children
 * and then goes down as a failed child of its parent; the root instead
 * asks for its give-up action.
 *
 * Each function that may finish a phase at once returns true if it did,
 * and then the caller, not a notification, carries on; a phase finished
 * later (an exit or a ready arriving) is reported up through
 * sup_child_ready / sup_child_down. This keeps one step's recursion to the
 * depth of the tree.
 */
#include "decide_impl.h"

bool sup_exit_is_normal(enum sup_exit e)
{
	return e == SUP_EXIT_NORMAL || e == SUP_EXIT_SHUTDOWN;
}

static bool should_restart(const struct sup_node *c, enum sup_exit why)
{
	switch (c->spec.restart) {
	case SUP_PERMANENT:
		return true;
	case SUP_TRANSIENT:
		return !sup_exit_is_normal(why);
	default:
		return false;
	}
}

bool sup_node_down(const struct sup_node *c)
{
	if (sup_is_svc(c))
		return c->state == SUP_SVC_DOWN;
	return c->state == SUP_SUP_DOWN || c->state == SUP_SUP_GAVE_UP;
}

bool sup_node_ready(const struct sup_node *c)
{
	return c->state == (sup_is_svc(c) ? SUP_SVC_UP : SUP_SUP_UP);
}

static bool node_stopping(const struct sup_node *c)
{
	if (!sup_is_svc(c))
		return c->state == SUP_SUP_STOPPING || c->state == SUP_SUP_GIVING_UP;
	return c->state == SUP_SVC_SPAWN_CANCEL || c->state == SUP_SVC_STOPPING ||
	       c->state == SUP_SVC_KILLING || c->state == SUP_SVC_HUNG;
}

/* Start children from the cursor on; true once every wanted child is
 * ready and s is up. */
static bool start_next(struct sup_run *r, struct sup_node *s)
{
	while (s->cursor < s->nkids) {
		struct sup_node *c = sup_kid(r, s, s->cursor);

		if (c->want == SUP_WANT_DOWN || sup_node_ready(c)) {
			s->cursor++;
			continue;
		}
		if (!sup_node_down(c) || !sup_node_start(r, c))
			return false; /* wait for it */
		s->cursor++;
	}
	s->state = SUP_SUP_UP;
	if (s->parent == SUP_NO_NODE)
		sup_log(r, s, SUP_LOG_READY);
	return true;
}

/* Stop the highest-placed live child of the range being stopped (all, or
 * [cursor, n) when restarting); true once they are all down. A temporary
 * child stopped for a restart stays down (OTP drops it). */
static bool stop_next(struct sup_run *r, struct sup_node *s)
{
	uint16_t lo = s->state == SUP_SUP_RESTARTING ? s->cursor : 0;

	for (uint16_t i = s->nkids; i-- > lo;) {
		struct sup_node *c = sup_kid(r, s, i);

		if (s->state == SUP_SUP_RESTARTING && c->spec.restart == SUP_TEMPORARY) {
			c->want = SUP_WANT_DOWN;
			c->cause = SUP_NO_NODE;
		}
		if (sup_node_down(c))
			continue;
		if (node_stopping(c) || !sup_node_stop(r, c))
			return false; /* wait for its exit */
	}
	return true;
}

/* Start supervisor s (down): its window starts empty, as a new OTP
 * supervisor's does. True if it is up at once. */
static bool sup_begin(struct sup_run *r, struct sup_node *s)
{
	sup_window_clear(&s->win);
	sup_log(r, s, s->cause != SUP_NO_NODE ? SUP_LOG_RESTART : SUP_LOG_START);
	s->cause = SUP_NO_NODE;
	s->starts++;
	s->state = SUP_SUP_STARTING;
	s->cursor = 0;
	s->due = SUP_NO_DEADLINE;
	return start_next(r, s);
}

static void stopped(struct sup_run *r, struct sup_node *s)
{
	s->state = SUP_SUP_DOWN;
	s->last_exit = SUP_EXIT_SHUTDOWN;
	sup_log(r, s, SUP_LOG_STOP);
}

bool sup_node_start(struct sup_run *r, struct sup_node *c)
{
	if (sup_is_svc(c))
		return sup_svc_start(r, c);
	if (c->state != SUP_SUP_DOWN)
		return sup_node_ready(c);
	return sup_begin(r, c);
}

bool sup_node_stop(struct sup_run *r, struct sup_node *c)
{
	if (sup_is_svc(c))
		return sup_svc_stop(r, c);
	if (sup_node_down(c))
		return true;
	if (node_stopping(c))
		return false;
	c->state = SUP_SUP_STOPPING;
	if (!stop_next(r, c))
		return false;
	stopped(r, c);
	return true;
}

/* The root's only deadline: its first start, due at sup_init's time. */
void sup_sup_timer(struct sup_run *r, struct sup_node *s)
{
	s->due = SUP_NO_DEADLINE;
	if (s->state == SUP_SUP_DOWN && s->want == SUP_WANT_UP)
		sup_begin(r, s);
}

/* A restarted supervisor process takes s over: s is starting, from its
 * first child, with an empty window (its failures were counted by a
 * process that is gone, as a new OTP supervisor's window starts empty).
 * sup_drive then walks its children: the adopted ones are skipped, a
 * missing one is started in its turn. No log line: s was never down. */
void sup_sup_adopt(struct sup_run *r, struct sup_node *s)
{
	(void)r;
	sup_window_clear(&s->win);
	s->state = SUP_SUP_STARTING;
	s->cursor = 0;
	s->cause = SUP_NO_NODE;
	s->starts = 1;
	s->due = SUP_NO_DEADLINE;
}

/* c is down and wanted up: start it now if s's start sequence has passed
 * it, else leave it to that sequence. */
void sup_bring_back(struct sup_run *r, struct sup_node *s, struct sup_node *c)
{
	if (s->state == SUP_SUP_UP || (s->state == SUP_SUP_STARTING && c->pos < s->cursor))
		sup_node_start(r, c);
	else if (s->state == SUP_SUP_STARTING)
		sup_drive(r, s);
}

static void give_up(struct sup_run *r, struct sup_node *s)
{
	sup_log(r, s, s->parent == SUP_NO_NODE ? SUP_LOG_GIVEUP : SUP_LOG_ESCALATE);
	s->state = SUP_SUP_GIVING_UP;
	sup_drive(r, s);
}

/* s finished giving up: every child is down. */
static void gave_up(struct sup_run *r, struct sup_node *s)
{
	s->last_exit = SUP_EXIT_ESCALATED;
	if (s->parent == SUP_NO_NODE) {
		s->state = SUP_SUP_GAVE_UP;
		sup_emit(r, (struct sup_action){ .kind = SUP_ACT_GIVEUP,
						 .node = sup_idx(r, s),
						 .giveup = (uint16_t)s->spec.sup.giveup });
		return;
	}
	s->state = SUP_SUP_DOWN;
	sup_child_down(r, s, SUP_EXIT_ESCALATED, true);
}

/* s finished a stop it was asked for (by its parent or an operator). */
static void finished_stop(struct sup_run *r, struct sup_node *s)
{
	stopped(r, s);
	if (s->parent != SUP_NO_NODE)
		sup_child_down(r, s, SUP_EXIT_SHUTDOWN, false);
	else if (s->want == SUP_WANT_UP)
		sup_begin(r, s); /* the operator restarted the whole tree */
}

/* Carry on with s's current phase after one of its children changed. */
void sup_drive(struct sup_run *r, struct sup_node *s)
{
	switch ((enum sup_sup_state)s->state) {
	case SUP_SUP_STARTING:
		if (start_next(r, s) && s->parent != SUP_NO_NODE)
			sup_child_ready(r, s);
		break;
	case SUP_SUP_RESTARTING:
		if (stop_next(r, s)) {
			s->state = SUP_SUP_STARTING; /* from the cursor on */
			sup_drive(r, s);
		}
		break;
	case SUP_SUP_STOPPING:
		if (stop_next(r, s))
			finished_stop(r, s);
		break;
	case SUP_SUP_GIVING_UP:
		if (stop_next(r, s))
			gave_up(r, s);
		break;
	default:
		break;
	}
}

/* c, a child of s, went down by itself and s is starting, up or
 * restarting: OTP's restart decision. */
static void failure(struct sup_run *r, struct sup_node *s, struct sup_node *c, enum sup_exit why)
{
	uint16_t lo = 0;

	/* An operator's stop that a crash overtook still stands. */
	if (c->want == SUP_WANT_DOWN || !should_restart(c, why)) {
		c->want = SUP_WANT_DOWN; /* until an operator starts it */
		c->cause = SUP_NO_NODE;
		sup_drive(r, s);
		return;
	}
	c->restarts++;
	if (sup_window_add(&s->win, r->now, s->spec.sup.period_ns) > s->spec.sup.intensity) {
		give_up(r, s);
		return;
	}
	switch (s->spec.sup.strategy) {
	case SUP_ONE_FOR_ONE:
		c->cause = sup_idx(r, c);
		sup_bring_back(r, s, c);
		return;
	case SUP_REST_FOR_ONE:
		lo = c->pos;
		break;
	default: /* one_for_all */
		break;
	}
	/* Never skip children a start or restart in progress has not reached. */
	if (s->state != SUP_SUP_UP && s->cursor < lo)
		lo = s->cursor;
	/* Those it takes down start again as restarts; the ones not started
	 * yet will simply start. */
	for (uint16_t i = lo; i < s->nkids; i++) {
		struct sup_node *k = sup_kid(r, s, i);

		if (k->want == SUP_WANT_UP && (k == c || !sup_node_down(k)))
			k->cause = sup_idx(r, c);
	}
	s->state = SUP_SUP_RESTARTING;
	s->cursor = lo;
	sup_drive(r, s);
}

void sup_child_ready(struct sup_run *r, struct sup_node *c)
{
	struct sup_node *s = sup_parent(r, c);

	if (s->state == SUP_SUP_STARTING)
		sup_drive(r, s);
}

void sup_child_down(struct sup_run *r, struct sup_node *c, enum sup_exit why, bool by_itself)
{
	struct sup_node *s = sup_parent(r, c);

	switch ((enum sup_sup_state)s->state) {
	case SUP_SUP_STARTING:
	case SUP_SUP_UP:
	case SUP_SUP_RESTARTING:
		if (by_itself)
			failure(r, s, c, why);
		else if (c->want == SUP_WANT_UP && s->state != SUP_SUP_RESTARTING)
			sup_bring_back(r, s, c); /* an operator's restart */
		else
			sup_drive(r, s);
		break;
	case SUP_SUP_STOPPING:
	case SUP_SUP_GIVING_UP:
		sup_drive(r, s); /* no restarts while going down */
		break;
	default:
		break;
	}
}
