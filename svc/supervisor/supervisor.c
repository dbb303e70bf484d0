/*
 * supervisor: the root supervisor process. It reads the policies from the
 * boot bundle (load.c), which supervisor/plan.c checks and turns into the
 * machine's tree and each service's spawn spec; it serves the channel "sup"
 * (control.c), and runs the supervision tree: the decisions come from the
 * pure state machine of supervisor/decide.h, and this file turns kernel
 * events into machine events and the machine's actions into system calls
 * and event-log lines.
 *
 * The loop: wait on "sup" until the machine's next deadline (or a short
 * poll while a service is starting and not yet serving its channels), then
 * reap dead children (EXITED), take heartbeats and commands, check which
 * starting services now serve their channels (READY), and feed a TICK when
 * a deadline has come.
 *
 * A restarted supervisor (the kernel starts a new one when the root
 * supervisor dies and hands it the old one's children) does not start the
 * tree: it adopts the services it finds running (recover()).
 *
 * Stopping is simple for now: there is no stop message a service must
 * understand, so a graceful stop (STOP with a deadline) just waits; the
 * service is killed at its shutdown deadline unless it exits first.
 * brutal_kill kills at once.
 */
#include "pci.h" /* kernel/pci.h: pci_devsel_match */
#include "supd.h"

/* How often a starting service's channels are checked: the kernel does not
 * tell the supervisor when a channel gets a server, so it polls
 * chan_info(). 5 ms keeps the start of a tree quick and costs little. */
#define READY_POLL_NS (5ull * 1000 * 1000)
/* The longest the loop sleeps even with nothing due: a safety net should a
 * child's death ever fail to wake wait_any. */
#define IDLE_MAX_NS (1000ull * 1000 * 1000)
/* Woken this much past its own deadline, the supervisor takes it that the
 * machine stood still (sup_stalled): a TCG guest whose host did not run
 * it, a paused VM. Its own class is the highest, so a spinning service of
 * that class delays it by a quantum or so, far less. */
#define STALL_NS (250ull * 1000 * 1000)
/* Channels looked at per poll; the kernel's registry is far smaller. */
#define CHANS_SCAN_MAX 256u
/* Processes listed at a restart; more than the kernel's table. */
#define PS_MAX 128u

static struct supd supd;

const char *supd_state_name(const struct sup_node *n)
{
	static const char *const svc[] = {
		"down", "backoff",  "spawning", "spawning", "starting",
		"up",	"stopping", "killing",	"hung",
	};
	static const char *const sup[] = {
		"down", "starting", "up", "restarting", "stopping", "giving_up", "gave_up",
	};

	if (n->spec.kind == SUP_SERVICE)
		return n->state < sizeof(svc) / sizeof(svc[0]) ? svc[n->state] : "?";
	return n->state < sizeof(sup) / sizeof(sup[0]) ? sup[n->state] : "?";
}

static const char *node_name(struct supd *d, uint16_t node)
{
	return node < d->plan.n ? d->plan.node[node].name : "?";
}

static void push(struct supd *d, struct sup_event ev)
{
	if (d->qlen == SUPD_QUEUE_MAX) {
		/* Cannot happen: a step starts each node at most once. */
		ve_printf("supervisor: event queue full, %s dropped\n", node_name(d, ev.node));
		return;
	}
	d->queue[(d->qhead + d->qlen++) % SUPD_QUEUE_MAX] = ev;
}

/* --- the event log ---------------------------------------------------- */

/* The same, for people: one console line, so `make run` shows the tree
 * coming up and every restart. */
static void console_line(struct supd *d, const struct sup_action *a, int32_t pid)
{
	const char *name = node_name(d, a->node);
	switch (a->log) {
	case SUP_LOG_START:
		if (pid > 0)
			ve_printf("supervisor: started %s (pid %d)\n", name, pid);
		else
			ve_printf("supervisor: starting the subtree %s\n", name);
		break;
	case SUP_LOG_RESTART:
		ve_printf("supervisor: restarted %s (pid %d), %s after %s\n", name, pid,
			  sup_strategy_name(a->strategy), node_name(d, a->cause));
		break;
	case SUP_LOG_STOP:
		ve_printf("supervisor: stopped %s\n", name);
		break;
	case SUP_LOG_HUNG:
		ve_printf("supervisor: %s missed its heartbeat: killed as hung\n", name);
		break;
	case SUP_LOG_ESCALATE:
		ve_printf("supervisor: %s gave up: escalating\n", name);
		break;
	case SUP_LOG_GIVEUP:
		ve_printf("supervisor: %s gave up: %s\n", name, sup_giveup_name(a->giveup));
		break;
	case SUP_LOG_READY:
		ve_printf("supervisor: the tree is up\n");
		break;
	default:
		break;
	}
}

/* One event-log line for a LOG action; pid is the new incarnation for a
 * service's start or restart, else 0. */
static void log_action(struct supd *d, const struct sup_action *a, int32_t pid)
{
	static const char *const names[SUP_NLOGS] = {
		[SUP_LOG_START] = "start",
		[SUP_LOG_RESTART] = "restart",
		[SUP_LOG_EXIT] = NULL,
		[SUP_LOG_STOP] = "stop",
		[SUP_LOG_HUNG] = "hung",
		[SUP_LOG_ESCALATE] = "escalate",
		[SUP_LOG_GIVEUP] = "giveup",
		[SUP_LOG_READY] = "ready",
		[SUP_LOG_STASH] = "stash_discard",
		[SUP_LOG_IGNORE] = NULL, /* start_ignored writes it, with the device */
	};
	const struct sup_node *n = &d->tree.node[a->node];
	struct ve_kv kv[VE_EVENT_FIELDS_MAX];
	size_t k = 0;

	/* The kernel's own exit event already says how a process died. */
	if (a->log >= SUP_NLOGS || !names[a->log])
		return;
	kv[k++] = VE_KV_STR("name", node_name(d, a->node));
	switch (a->log) {
	case SUP_LOG_START:
	case SUP_LOG_RESTART:
		if (pid > 0)
			kv[k++] = VE_KV_NUM("child", pid);
		kv[k++] = VE_KV_NUM("restarts", n->restarts);
		if (a->log == SUP_LOG_RESTART) {
			kv[k++] = VE_KV_STR("strategy", sup_strategy_name(a->strategy));
			kv[k++] = VE_KV_STR("cause", node_name(d, a->cause));
		}
		break;
	case SUP_LOG_STOP:
	case SUP_LOG_HUNG:
		if (n->pid > 0)
			kv[k++] = VE_KV_NUM("child", n->pid);
		break;
	case SUP_LOG_GIVEUP:
		kv[k++] = VE_KV_STR("action", sup_giveup_name(a->giveup));
		break;
	default:
		break;
	}
	ve_event(names[a->log], kv, k);
	console_line(d, a, pid);
}

/* --- performing actions ----------------------------------------------- */

/* The first of sp's device grants that no PCI function of this machine
 * matches (the kernel's matcher, kernel/pcicore.c), or NULL if each has
 * its device. */
static const struct ve_devsel *absent_device(const struct ve_spawn *sp)
{
	static struct ve_pciinfo fns[256];
	unsigned n = 0;

	if (sp->devs[0].vendor == 0)
		return NULL;
	while (n < 256 && ve_pci_info(n, &fns[n]) == 0)
		n++;
	for (unsigned k = 0; k < VE_SPAWN_DEVS && sp->devs[k].vendor; k++)
		if (pci_devsel_match(fns, n, &sp->devs[k]) < 0)
			return &sp->devs[k];
	return NULL;
}

/* A service whose device the machine lacks is not spawned: OTP's `ignore`
 * (decide.h), so an appliance image with a driver for hardware this
 * machine lacks still comes up. */
static bool start_ignored(struct supd *d, uint16_t node)
{
	const struct ve_spawn *sp = &d->plan.spawn[node];
	const struct ve_devsel *dev = absent_device(sp);
	char id[10];

	if (!dev)
		return false;
	fmt_snprintf(id, sizeof(id), "%04x:%04x", dev->vendor, dev->device);
	ve_printf("supervisor: %s not started: no device %s\n", sp->name, id);
	ve_event("ignore", (struct ve_kv[]){ VE_KV_STR("name", sp->name), VE_KV_STR("device", id) },
		 2);
	d->start_log_pending[node] = false; /* it did not start */
	push(d, (struct sup_event){ .kind = SUP_EV_START_IGNORED, .node = node });
	return true;
}

static void do_start(struct supd *d, uint16_t node)
{
	const struct ve_spawn *sp = &d->plan.spawn[node];
	struct sup_event ev = { .node = node };

	if (start_ignored(d, node))
		return;
	int pid = ve_spawn_spec(sp);

	if (d->start_log_pending[node]) {
		log_action(d, &d->start_log[node], pid > 0 ? pid : 0);
		d->start_log_pending[node] = false;
	}
	if (pid <= 0) {
		ve_printf("supervisor: cannot start %s (image %s): %s\n", sp->name, sp->image,
			  ve_strerror(pid));
		ev.kind = SUP_EV_START_FAILED;
		push(d, ev);
		return;
	}
	ev.kind = SUP_EV_STARTED;
	ev.pid = pid;
	push(d, ev);
	/* A service that serves nothing is ready once it runs. */
	if (d->plan.node[node].nserves == 0) {
		ev.kind = SUP_EV_READY;
		push(d, ev);
	}
}

static void do_kill(struct supd *d, const struct sup_action *a)
{
	int r = a->kind == SUP_ACT_KILL_HUNG ? ve_kill_hung(a->pid) : ve_kill(a->pid);

	/* -VE_NOENT: it died already; its exit is reaped next. */
	if (r < 0 && r != -VE_NOENT)
		ve_printf("supervisor: cannot kill %s (pid %d): %s\n", node_name(d, a->node),
			  (int)a->pid, ve_strerror(r));
}

static _Noreturn void do_giveup(struct supd *d, const struct sup_action *a)
{
	/* halt and reboot end the machine normally (on QEMU, exit status 1);
	 * panic reports a failure (status 3). There is no reboot call yet. */
	int code = a->giveup == SUP_GIVEUP_PANIC ? 1 : 0;
	int r;

	ve_printf("supervisor: *** the root supervisor '%s' gave up: %s (halt code %d) ***\n",
		  node_name(d, a->node), sup_giveup_name(a->giveup), code);
	r = ve_halt(code);
	ve_printf("supervisor: halt refused: %s\n", ve_strerror(r));
	ve_exit(2);
}

static void perform(struct supd *d, const struct sup_action *a)
{
	int r;

	switch (a->kind) {
	case SUP_ACT_START:
		do_start(d, a->node);
		break;
	case SUP_ACT_STOP:
		/* Graceful stop: it is killed at a->deadline unless it exits. */
		break;
	case SUP_ACT_KILL:
	case SUP_ACT_KILL_HUNG:
		do_kill(d, a);
		break;
	case SUP_ACT_DISCARD_STASH:
		r = ve_stash_drop(node_name(d, a->node));
		if (r < 0 && r != -VE_NOENT) /* NOENT: it had none */
			ve_printf("supervisor: cannot drop the stash of %s: %s\n",
				  node_name(d, a->node), ve_strerror(r));
		break;
	case SUP_ACT_GIVEUP:
		do_giveup(d, a);
	case SUP_ACT_LOG:
		if ((a->log == SUP_LOG_START || a->log == SUP_LOG_RESTART) &&
		    d->tree.node[a->node].spec.kind == SUP_SERVICE) {
			d->start_log[a->node] = *a;
			d->start_log_pending[a->node] = true;
		} else {
			log_action(d, a, 0);
		}
		break;
	default:
		break; /* SUP_ACT_WAIT: the loop asks sup_next_deadline */
	}
}

/* Step the machine with ev and perform its actions. */
static int step(struct supd *d, struct sup_event ev)
{
	uint64_t now = ve_clock_ns();
	int n;

	/* The machine wants time never to go backwards. */
	ev.now = now > d->tree.now ? now : d->tree.now;
	n = sup_step(&d->tree, &ev, d->acts, SUP_STEP_MAX);
	for (int i = 0; i < n; i++)
		perform(d, &d->acts[i]);
	return n;
}

/* Feed the events that performing actions queued, and what they queue. */
static void drain(struct supd *d)
{
	while (d->qlen) {
		struct sup_event next = d->queue[d->qhead];

		d->qhead = (d->qhead + 1) % SUPD_QUEUE_MAX;
		d->qlen--;
		step(d, next);
	}
}

int supd_feed(struct supd *d, struct sup_event ev)
{
	int r = step(d, ev);

	drain(d);
	return r;
}

/* --- kernel events ---------------------------------------------------- */

static void reap_children(struct supd *d)
{
	struct ve_exit ex;
	int pid;

	while ((pid = ve_reap(&ex)) > 0) {
		uint16_t node = sup_node_of_pid(&d->tree, pid);
		struct sup_event ev = { .kind = SUP_EV_EXITED, .node = node, .pid = pid };

		if (node == SUP_NO_NODE)
			continue; /* not a current incarnation: nothing to decide */
		d->last_reason[node] = ex.reason;
		d->exited[node] = true;
		ev.exit = (uint16_t)sup_exit_of(ex.reason, ex.code);
		supd_feed(d, ev);
	}
}

/* Whether some service is running but not yet serving its channels. */
static bool any_starting(const struct supd *d)
{
	for (size_t i = 0; i < d->plan.n; i++)
		if (d->tree.node[i].spec.kind == SUP_SERVICE &&
		    d->tree.node[i].state == SUP_SVC_STARTING && d->plan.node[i].nserves)
			return true;
	return false;
}

static bool serves(const struct ve_spawn *sp, const char *chan)
{
	for (int k = 0; k < VE_SPAWN_CHANS; k++)
		if (sp->serve[k][0] && strcmp(sp->serve[k], chan) == 0)
			return true;
	return false;
}

/* READY for every starting service whose pid now serves all its channels. */
static void poll_ready(struct supd *d)
{
	uint8_t served[SUP_NODES_MAX] = { 0 };
	struct ve_chaninfo ci;

	if (!any_starting(d))
		return;
	for (uint32_t i = 0; i < CHANS_SCAN_MAX && ve_chan_info(i, &ci) == 0; i++) {
		uint16_t node = ci.server > 0 ? sup_node_of_pid(&d->tree, ci.server) : SUP_NO_NODE;

		ci.name[sizeof(ci.name) - 1] = '\0';
		if (node != SUP_NO_NODE && serves(&d->plan.spawn[node], ci.name))
			served[node]++;
	}
	for (uint16_t i = 0; i < d->plan.n; i++) {
		const struct sup_node *n = &d->tree.node[i];

		if (n->spec.kind != SUP_SERVICE || n->state != SUP_SVC_STARTING ||
		    served[i] < d->plan.node[i].nserves)
			continue;
		supd_feed(d, (struct sup_event){ .kind = SUP_EV_READY, .node = i, .pid = n->pid });
	}
}

/* --- a restarted supervisor ------------------------------------------- */

/* Whether pid serves every channel node's policy says it serves (a
 * service that serves none is ready once it runs). */
static bool serving(struct supd *d, uint16_t node, int32_t pid)
{
	struct ve_chaninfo ci;
	uint32_t n = 0;

	for (uint32_t i = 0; i < CHANS_SCAN_MAX && ve_chan_info(i, &ci) == 0; i++) {
		ci.name[sizeof(ci.name) - 1] = '\0';
		if (ci.server == pid && serves(&d->plan.spawn[node], ci.name))
			n++;
	}
	return n >= d->plan.node[node].nserves;
}

/*
 * The kernel restarts a root supervisor that dies and hands the new one
 * the children of the old (EVENTS.md, sup_restart). If this process has
 * children, take them over instead of starting the tree: each service
 * found by name keeps running (sup_adopt); one that died and is not
 * reaped yet is adopted too and then reaped like any exit, so its policy
 * decides; a service with no process is started again (a temporary one
 * is not). A child that is no service of the tree, or a second process
 * for one service, is killed: nothing would supervise it. Posts
 * {"ev":"recovered","adopted":N,"dead":D,"missing":M,"killed":K}.
 * Returns false when there is nothing to recover (a first boot).
 */
static bool recover(struct supd *d)
{
	static struct ve_procinfo ps[PS_MAX];
	struct sup_found found[SUP_NODES_MAX] = { 0 };
	bool dead[SUP_NODES_MAX] = { 0 };
	int32_t me = ve_getpid();
	int n = ve_ps(ps, PS_MAX), mine = 0, adopted = 0, ndead = 0, missing = 0, killed = 0;
	struct ve_kv kv[4];

	for (int i = 0; i < n; i++) {
		struct ve_procinfo *p = &ps[i];
		uint16_t node;

		if (p->parent != me || p->pid == me)
			continue;
		mine++;
		p->name[sizeof(p->name) - 1] = '\0';
		node = sup_plan_find(&d->plan, p->name);
		if (node != SUP_NO_NODE && d->tree.node[node].spec.kind == SUP_SERVICE &&
		    (found[node].pid == 0 || (dead[node] && p->state != VE_PS_DEAD))) {
			found[node].pid = p->pid;
			dead[node] = p->state == VE_PS_DEAD;
			continue;
		}
		/* Not ours to keep (reaped later and ignored: no node has it). */
		if (p->state != VE_PS_DEAD) {
			ve_printf("supervisor: killing %s (pid %d): no service of the tree\n",
				  p->name, (int)p->pid);
			ve_kill(p->pid);
			killed++;
		}
	}
	if (mine == 0)
		return false;
	for (uint16_t i = 0; i < d->plan.n; i++) {
		if (d->tree.node[i].spec.kind != SUP_SERVICE)
			continue;
		if (found[i].pid == 0) {
			missing++;
			continue;
		}
		adopted++;
		ndead += dead[i];
		found[i].ready = !dead[i] && serving(d, i, found[i].pid);
	}
	ve_printf("supervisor: restarted; adopting %d services (%d dead), %d missing\n", adopted,
		  ndead, missing);
	n = sup_adopt(&d->tree, found, d->plan.n, ve_clock_ns(), d->acts, SUP_STEP_MAX);
	if (n < 0) {
		ve_printf("supervisor: cannot adopt the tree: %s\n", ve_strerror(n));
		return false;
	}
	kv[0] = VE_KV_NUM("adopted", adopted);
	kv[1] = VE_KV_NUM("dead", ndead);
	kv[2] = VE_KV_NUM("missing", missing);
	kv[3] = VE_KV_NUM("killed", killed);
	ve_event("recovered", kv, 4);
	for (int i = 0; i < n; i++)
		perform(d, &d->acts[i]);
	drain(d);
	/* The dead ones' exits, decided under their policies. */
	reap_children(d);
	return true;
}

/* How long to wait for the next kernel event. */
static uint64_t wait_ns(const struct supd *d, uint64_t now)
{
	uint64_t due = sup_next_deadline(&d->tree), cap = now + IDLE_MAX_NS;

	if (any_starting(d) && now + READY_POLL_NS < cap)
		cap = now + READY_POLL_NS;
	if (due > cap)
		due = cap;
	return due > now ? due - now : 0;
}

/* Woken (by its deadline or a message) well past `meant`: the machine
 * stood still; no service is to blame for the deadlines that passed. */
static void stalled(struct supd *d, uint64_t meant)
{
	uint64_t now = ve_clock_ns();

	if (now < meant + STALL_NS)
		return;
	sup_stalled(&d->tree, now - meant);
	ve_event("sup_stalled",
		 (struct ve_kv[]){ VE_KV_NUM("ms", (int64_t)((now - meant) / 1000000)) }, 1);
}

static _Noreturn void run(struct supd *d)
{
	for (;;) {
		uint64_t now = ve_clock_ns(), ns = wait_ns(d, now);
		struct ve_wait_result wr;

		if (ns) {
			int32_t h = d->handle;
			int r = ve_wait_any(&h, h >= 0 ? 1 : 0, ns, &wr);

			stalled(d, now + ns);
			if (r == 0 && wr.handle >= 0)
				supd_serve(d);
		}
		reap_children(d);
		poll_ready(d);
		if (ve_clock_ns() >= sup_next_deadline(&d->tree))
			supd_feed(d, (struct sup_event){ .kind = SUP_EV_TICK });
	}
}

int main(const char *args)
{
	struct supd *d = &supd;

	(void)args;
	supd_load(d); /* the policies checked and planned, the tree set up */
	d->handle = ve_chan_serve(POL_SUP_CHANNEL);
	if (d->handle < 0)
		ve_printf("supervisor: cannot serve '%s' (%s): no heartbeats or commands\n",
			  POL_SUP_CHANNEL, ve_strerror(d->handle));
	ve_printf("supervisor: %u policy files, %u nodes\n", (unsigned)d->pol.nfiles,
		  (unsigned)d->plan.n);
	/* The root is due at once: the first tick starts the tree, unless a
	 * previous incarnation left it running. */
	if (!recover(d))
		supd_feed(d, (struct sup_event){ .kind = SUP_EV_TICK });
	run(d);
}
