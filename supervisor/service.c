/*
 * A service's lifecycle: one transition function per event a service can
 * see (spawned, spawn failed, ready, heartbeat, exited, its deadline, asked
 * to start or stop). The state is one enum sup_svc_state; `due` is the
 * deadline that state has, if any.
 *
 * A service never decides its own restart: when it goes down it tells its
 * supervisor (sup_child_down), which applies the strategy.
 */
#include "decide_impl.h"

static uint64_t after(uint64_t now, uint64_t ns)
{
	return ns > SUP_NO_DEADLINE - 1 - now ? SUP_NO_DEADLINE - 1 : now + ns;
}

static uint64_t parent_period(struct sup_run *r, struct sup_node *c)
{
	return sup_parent(r, c)->spec.sup.period_ns;
}

/* Issue the spawn: the stash's fate first, then the log line, then START. */
static void spawn(struct sup_run *r, struct sup_node *c)
{
	if (c->spec.svc.stash == SUP_STASH_DISCARD)
		sup_emit(
		    r, (struct sup_action){ .kind = SUP_ACT_DISCARD_STASH, .node = sup_idx(r, c) });
	if (c->cause != SUP_NO_NODE)
		sup_log(r, c, SUP_LOG_RESTART);
	else
		sup_log(r, c, SUP_LOG_START);
	sup_emit(r, (struct sup_action){ .kind = SUP_ACT_START, .node = sup_idx(r, c) });
	c->cause = SUP_NO_NODE;
	c->state = SUP_SVC_SPAWNING;
	c->due = SUP_NO_DEADLINE;
	c->ready_at = SUP_NO_DEADLINE;
	c->starts++;
}

/* Bring c up: spawn it now, or when its backoff ends. A service is never
 * ready at once, so this returns false (the supervisor waits for READY). */
bool sup_svc_start(struct sup_run *r, struct sup_node *c)
{
	if (c->state != SUP_SVC_DOWN)
		return false;
	if (c->not_before > r->now) {
		c->state = SUP_SVC_BACKOFF;
		c->due = c->not_before;
		return false;
	}
	spawn(r, c);
	return false;
}

/* Ask a running process to stop under its shutdown policy. */
static void stop_process(struct sup_run *r, struct sup_node *c)
{
	struct sup_action a = { .node = sup_idx(r, c), .pid = c->pid };

	if (c->spec.svc.shutdown_ns == SUP_BRUTAL_KILL) {
		a.kind = SUP_ACT_KILL;
		c->state = SUP_SVC_KILLING;
		c->due = SUP_NO_DEADLINE;
	} else {
		a.kind = SUP_ACT_STOP;
		a.deadline = after(r->now, c->spec.svc.shutdown_ns);
		c->state = SUP_SVC_STOPPING;
		c->due = a.deadline;
	}
	sup_emit(r, a);
}

/* Take c down for its supervisor. True if it is down now; otherwise its
 * supervisor hears of it through sup_child_down when the exit comes. */
bool sup_svc_stop(struct sup_run *r, struct sup_node *c)
{
	switch ((enum sup_svc_state)c->state) {
	case SUP_SVC_DOWN:
		return true;
	case SUP_SVC_BACKOFF:
		c->state = SUP_SVC_DOWN;
		c->due = SUP_NO_DEADLINE;
		return true;
	case SUP_SVC_SPAWNING:
		c->state = SUP_SVC_SPAWN_CANCEL;
		return false;
	case SUP_SVC_STARTING:
	case SUP_SVC_UP:
		stop_process(r, c);
		return false;
	case SUP_SVC_SPAWN_CANCEL:
	case SUP_SVC_STOPPING:
	case SUP_SVC_KILLING:
	case SUP_SVC_HUNG:
		return false; /* already on its way down */
	}
	return false;
}

static void kill_hung(struct sup_run *r, struct sup_node *c)
{
	sup_log(r, c, SUP_LOG_HUNG);
	sup_emit(r, (struct sup_action){
			.kind = SUP_ACT_KILL_HUNG, .node = sup_idx(r, c), .pid = c->pid });
	c->state = SUP_SVC_HUNG;
	c->due = SUP_NO_DEADLINE;
}

/* A restarted supervisor takes over pid, a process its previous
 * incarnation started for c (down, never started by this tree): running,
 * and serving if ready says so. No START and no log line: nothing was
 * spawned. Its deadline starts now, as if it had just started or become
 * ready, since when that really was is not known. */
void sup_svc_adopt(struct sup_run *r, struct sup_node *c, int32_t pid, bool ready)
{
	c->pid = pid;
	c->starts = 1;
	c->cause = SUP_NO_NODE;
	if (ready) {
		c->state = SUP_SVC_UP;
		c->ready_at = r->now;
		c->due = c->spec.svc.heartbeat_ns ? after(r->now, c->spec.svc.heartbeat_ns)
						  : SUP_NO_DEADLINE;
	} else {
		c->state = SUP_SVC_STARTING;
		c->due = c->spec.svc.ready_timeout_ns ? after(r->now, c->spec.svc.ready_timeout_ns)
						      : SUP_NO_DEADLINE;
	}
}

/* c's deadline passed. */
void sup_svc_timer(struct sup_run *r, struct sup_node *c)
{
	switch ((enum sup_svc_state)c->state) {
	case SUP_SVC_BACKOFF:
		spawn(r, c);
		break;
	case SUP_SVC_STARTING: /* never became ready */
	case SUP_SVC_UP:       /* missed its heartbeat */
		kill_hung(r, c);
		break;
	case SUP_SVC_STOPPING: /* did not stop in time */
		sup_emit(r, (struct sup_action){
				.kind = SUP_ACT_KILL, .node = sup_idx(r, c), .pid = c->pid });
		c->state = SUP_SVC_KILLING;
		c->due = SUP_NO_DEADLINE;
		break;
	default:
		c->due = SUP_NO_DEADLINE; /* no deadline in this state */
		break;
	}
}

int sup_svc_started(struct sup_run *r, struct sup_node *c, int32_t pid)
{
	if (pid <= 0)
		return -VE_INVAL;
	if (c->state == SUP_SVC_SPAWN_CANCEL) {
		c->pid = pid;
		sup_emit(r, (struct sup_action){
				.kind = SUP_ACT_KILL, .node = sup_idx(r, c), .pid = pid });
		c->state = SUP_SVC_KILLING;
		return 0;
	}
	if (c->state != SUP_SVC_SPAWNING)
		return -VE_INVAL;
	c->pid = pid;
	c->state = SUP_SVC_STARTING;
	c->due = c->spec.svc.ready_timeout_ns ? after(r->now, c->spec.svc.ready_timeout_ns)
					      : SUP_NO_DEADLINE;
	return 0;
}

/* c is down: record why, update its backoff and stash count when it went
 * down by itself, and tell its supervisor. */
static void went_down(struct sup_run *r, struct sup_node *c, enum sup_exit why, bool by_itself)
{
	uint64_t ready_at = c->ready_at;

	c->state = SUP_SVC_DOWN;
	c->pid = 0;
	c->due = SUP_NO_DEADLINE;
	c->last_exit = (uint16_t)why;
	if (by_itself) {
		struct sup_action a = { .kind = SUP_ACT_LOG,
					.node = sup_idx(r, c),
					.log = SUP_LOG_EXIT,
					.exit = (uint16_t)why };
		sup_emit(r, a);
		c->not_before = after(r->now, sup_backoff_next(c, parent_period(r, c), r->now));
	} else {
		sup_log(r, c, SUP_LOG_STOP);
	}
	/* Only the service's own failures count against its stash, and only
	 * before it proved the stash by serving on it for SUP_STASH_PROVEN_NS:
	 * a kill by someone else, a failed spawn, a crash long after start or
	 * code that changed under it (the image is the bundle's, not the
	 * stash's) says nothing about the stash. */
	bool own_fault = why == SUP_EXIT_ERROR || why == SUP_EXIT_FAULT || why == SUP_EXIT_HUNG;
	/* A hang is seen a heartbeat interval after it began. */
	uint64_t seen_late = why == SUP_EXIT_HUNG ? c->spec.svc.heartbeat_ns : 0;
	bool unproven =
	    ready_at == SUP_NO_DEADLINE || r->now - ready_at < SUP_STASH_PROVEN_NS + seen_late;
	if (by_itself && own_fault && unproven && c->spec.svc.stash == SUP_STASH_KEEP &&
	    sup_window_add(&c->win, r->now, parent_period(r, c)) >= c->spec.svc.stash_crashes) {
		sup_window_clear(&c->win);
		sup_log(r, c, SUP_LOG_STASH);
		sup_emit(
		    r, (struct sup_action){ .kind = SUP_ACT_DISCARD_STASH, .node = sup_idx(r, c) });
	}
	sup_child_down(r, c, why, by_itself);
}

int sup_svc_start_failed(struct sup_run *r, struct sup_node *c)
{
	if (c->state == SUP_SVC_SPAWN_CANCEL) {
		went_down(r, c, SUP_EXIT_SHUTDOWN, false);
		return 0;
	}
	if (c->state != SUP_SVC_SPAWNING)
		return -VE_INVAL;
	went_down(r, c, SUP_EXIT_START_FAILED, true);
	return 0;
}

/* OTP's `ignore`: c has nothing to run on (its device is absent), which no
 * restart would change. It stays down and wanted down, not a failure: no
 * restart, nothing counted against its parent's intensity or its stash,
 * and its parent goes on with its other children. */
int sup_svc_start_ignored(struct sup_run *r, struct sup_node *c)
{
	if (c->state == SUP_SVC_SPAWN_CANCEL) {
		went_down(r, c, SUP_EXIT_SHUTDOWN, false);
		return 0;
	}
	if (c->state != SUP_SVC_SPAWNING)
		return -VE_INVAL;
	c->state = SUP_SVC_DOWN;
	c->pid = 0;
	c->due = SUP_NO_DEADLINE;
	c->want = SUP_WANT_DOWN;
	c->cause = SUP_NO_NODE;
	sup_log(r, c, SUP_LOG_IGNORE);
	sup_child_down(r, c, SUP_EXIT_SHUTDOWN, false);
	return 0;
}

/* Is pid c's current process? Events about an earlier incarnation are
 * stale. */
static int current(const struct sup_node *c, int32_t pid)
{
	if (c->state == SUP_SVC_SPAWNING || c->state == SUP_SVC_SPAWN_CANCEL)
		return -VE_INVAL; /* no pid yet: the caller skipped STARTED */
	if (c->pid == 0 || c->pid != pid)
		return -VE_NOENT;
	return 0;
}

int sup_svc_ready(struct sup_run *r, struct sup_node *c, int32_t pid)
{
	int err = current(c, pid);

	if (err)
		return err;
	if (c->state != SUP_SVC_STARTING)
		return 0; /* already serving, or on its way down: nothing to do */
	c->state = SUP_SVC_UP;
	c->ready_at = r->now;
	c->due =
	    c->spec.svc.heartbeat_ns ? after(r->now, c->spec.svc.heartbeat_ns) : SUP_NO_DEADLINE;
	sup_child_ready(r, c);
	return 0;
}

int sup_svc_heartbeat(struct sup_run *r, struct sup_node *c, int32_t pid)
{
	int err = current(c, pid);

	if (err)
		return err;
	/* A late heartbeat does not save it: the next tick finds it hung. */
	if (c->state == SUP_SVC_UP && c->spec.svc.heartbeat_ns && r->now < c->due)
		c->due = after(r->now, c->spec.svc.heartbeat_ns);
	return 0;
}

int sup_svc_exited(struct sup_run *r, struct sup_node *c, int32_t pid, enum sup_exit why)
{
	int err = current(c, pid);

	if (err)
		return err;
	switch ((enum sup_svc_state)c->state) {
	case SUP_SVC_STARTING:
	case SUP_SVC_UP:
		went_down(r, c, why, true);
		break;
	case SUP_SVC_HUNG: /* whatever the kernel says, we killed it as hung */
		went_down(r, c, SUP_EXIT_HUNG, true);
		break;
	case SUP_SVC_STOPPING:
	case SUP_SVC_KILLING: /* the stop we asked for, however it ended */
		went_down(r, c, SUP_EXIT_SHUTDOWN, false);
		break;
	default:
		return -VE_NOENT;
	}
	return 0;
}
