/*
 * A checked policy set turned into the decision machine's tree spec and
 * the spawn requests of its services (plan.h). The policy language parses
 * into the machine's own enums (restart, strategy, give-up, stash), so
 * they are copied as they are.
 */
#include "plan.h"

#include "fmt.h"
#include "string.h"

#define NS_PER_MS 1000000ull

/* src into dst[cap], cut to fit; names are checked shorter already. */
static void copy_name(char *dst, const char *src, size_t cap)
{
	fmt_snprintf(dst, cap, "%s", src);
}

/* "file:line:col: expected what, found found"; returns err. */
static int fail(const struct pol_set *s, struct pol_error *e, struct pol_pos pos, const char *what,
		const char *found, int err)
{
	if (!e)
		return err;
	pol_set_error(e, pos.file < s->nfiles ? s->files[pos.file] : "?", pos.line, pos.col, what,
		      found);
	return err;
}

static int plan_supervisor(struct sup_plan *p, size_t i, const struct pol_set *s, uint32_t idx,
			   struct pol_error *e)
{
	const struct pol_supervisor *ps = &s->supervisors[idx];
	struct sup_node_spec *ns = &p->spec[i];
	char found[16];

	if (ps->intensity > SUP_INTENSITY_MAX) {
		fmt_snprintf(found, sizeof(found), "%u", ps->intensity);
		return fail(s, e, ps->intensity_pos,
			    "an intensity of at most 32 (the supervisor's limit)", found,
			    -VE_RANGE);
	}
	ns->kind = SUP_SUPERVISOR;
	ns->restart = SUP_PERMANENT; /* a supervisor child counts as permanent */
	ns->sup.strategy = ps->strategy;
	ns->sup.intensity = ps->intensity;
	ns->sup.period_ns = (uint64_t)ps->period_ms * NS_PER_MS;
	ns->sup.giveup = ps->on_giveup;
	copy_name(p->node[i].name, ps->name, sizeof(p->node[i].name));
	p->node[i].is_supervisor = true;
	p->node[i].index = idx;
	return 0;
}

/* The struct ve_spawn of service sv; false if its opens leave no room for
 * the supervisor's channel it needs for heartbeats. */
static bool plan_spawn(struct ve_spawn *sp, const struct pol_service *sv)
{
	uint32_t k, nopen = 0;
	bool has_sup = false;

	*sp = (struct ve_spawn){ 0 };
	copy_name(sp->name, sv->name, sizeof(sp->name));
	copy_name(sp->image, sv->image, sizeof(sp->image));
	copy_name(sp->args, sv->args, sizeof(sp->args));
	sp->prio = (uint32_t)sv->prio;
	sp->grants = sv->grants; /* the ABI's bits; the parser gives no others */
	sp->irqs = sv->irqs;
	for (k = 0; k < sv->ndevices && k < VE_SPAWN_DEVS; k++)
		sp->devs[k] = sv->devices[k].sel;
	sp->nports = (uint16_t)sv->nports;
	for (k = 0; k < sv->nports && k < VE_SPAWN_PORTS; k++) {
		sp->ports[k].first = sv->ports[k].first;
		sp->ports[k].last = sv->ports[k].last;
	}
	for (k = 0; k < sv->nserves && k < VE_SPAWN_CHANS; k++)
		copy_name(sp->serve[k], sv->serves[k].name, sizeof(sp->serve[k]));
	if (sv->nserves) {
		sp->queue = sv->serves[0].max_messages;
		sp->qbytes = sv->serves[0].max_bytes;
		sp->redeliveries = sv->serves[0].max_redeliveries;
	}
	for (k = 0; k < sv->nopens && k < VE_SPAWN_CHANS; k++) {
		copy_name(sp->open[nopen++], sv->opens[k].name, sizeof(sp->open[0]));
		has_sup |= !strcmp(sv->opens[k].name, POL_SUP_CHANNEL);
	}
	if (sv->heartbeat_ms && !has_sup) {
		if (nopen == VE_SPAWN_CHANS)
			return false;
		copy_name(sp->open[nopen], POL_SUP_CHANNEL, sizeof(sp->open[0]));
	}
	return true;
}

static int plan_service(struct sup_plan *p, size_t i, const struct pol_set *s, uint32_t idx,
			struct pol_error *e)
{
	const struct pol_service *sv = &s->services[idx];
	struct sup_svc_spec *ss = &p->spec[i].svc;

	if (!plan_spawn(&p->spawn[i], sv))
		return fail(s, e, sv->pos,
			    "at most 3 opened channels for a service with a heartbeat",
			    "4 (it also opens 'sup' to beat)", -VE_RANGE);
	p->spec[i].kind = SUP_SERVICE;
	p->spec[i].restart = sv->restart;
	ss->shutdown_ns = (uint64_t)sv->shutdown_ms * NS_PER_MS;
	ss->heartbeat_ns = (uint64_t)sv->heartbeat_ms * NS_PER_MS;
	ss->ready_timeout_ns = (uint64_t)sv->ready_timeout_ms * NS_PER_MS;
	ss->backoff_initial_ns = (uint64_t)sv->backoff_min_ms * NS_PER_MS;
	ss->backoff_max_ns = (uint64_t)sv->backoff_max_ms * NS_PER_MS;
	ss->stash = sv->state;
	copy_name(p->node[i].name, sv->name, sizeof(p->node[i].name));
	p->node[i].is_supervisor = false;
	p->node[i].index = idx;
	p->node[i].nserves = sv->nserves;
	return 0;
}

/* Append the children of supervisor node i, in start order. */
static int plan_children(struct sup_plan *p, size_t i, const struct pol_set *s, struct pol_error *e)
{
	const struct pol_supervisor *ps = &s->supervisors[p->node[i].index];
	uint32_t k;
	int err;

	for (k = 0; k < ps->nchildren; k++) {
		const struct pol_child *c = &ps->children[k];
		size_t j = p->n;

		if (j == SUP_NODES_MAX)
			return fail(s, e, c->pos, "at most 64 services and supervisors in the tree",
				    "more", -VE_RANGE);
		p->spec[j] = (struct sup_node_spec){ .parent = (int32_t)i };
		err = c->is_supervisor ? plan_supervisor(p, j, s, c->index, e)
				       : plan_service(p, j, s, c->index, e);
		if (err)
			return err;
		p->spec[j].parent = (int32_t)i;
		p->n++;
	}
	return 0;
}

static int check_depth(const struct sup_plan *p, const struct pol_set *s, struct pol_error *e)
{
	uint16_t depth[SUP_NODES_MAX];
	size_t i;

	depth[0] = 0;
	for (i = 1; i < p->n; i++) {
		depth[i] = (uint16_t)(depth[p->spec[i].parent] + 1);
		if (depth[i] <= SUP_DEPTH_MAX)
			continue;
		return fail(s, e,
			    p->node[i].is_supervisor ? s->supervisors[p->node[i].index].pos
						     : s->services[p->node[i].index].pos,
			    "a tree at most 8 levels deep", p->node[i].name, -VE_RANGE);
	}
	return 0;
}

int sup_plan_build(struct sup_plan *p, const struct pol_set *s, struct pol_error *e)
{
	size_t i;
	int err;

	if (!p || !s || !s->checked || s->root >= s->nsupervisors)
		return -VE_INVAL;
	p->n = 0;
	p->spec[0] = (struct sup_node_spec){ .parent = -1 };
	err = plan_supervisor(p, 0, s, s->root, e);
	if (err)
		return err;
	p->spec[0].parent = -1;
	p->n = 1;
	/* Breadth first: a node's children are appended after every node
	 * already there, so parents come first and siblings stay in order. */
	for (i = 0; i < p->n; i++)
		if (p->node[i].is_supervisor && (err = plan_children(p, i, s, e)))
			return err;
	return check_depth(p, s, e);
}

/* A supervisor starts services; a process is the kernel's to start. */
static int no_processes(const struct pol_set *s, struct pol_error *e)
{
	char found[POL_NAME_MAX + 16];

	if (!s->nprocesses)
		return 0;
	fmt_snprintf(found, sizeof(found), "process '%s'", s->processes[0].name);
	return fail(s, e, s->processes[0].pos,
		    "a service or supervisor (the kernel starts a process, from a manifest)", found,
		    -VE_INVAL);
}

int sup_plan_check(struct sup_plan *p, struct pol_set *s, struct sup_tree *t, uint64_t now,
		   struct pol_error *e)
{
	int err = pol_check(s, e);
	if (!err)
		err = no_processes(s, e);
	if (!err)
		err = sup_plan_build(p, s, e);
	if (err)
		return err;
	struct sup_spec spec = { .nodes = p->spec, .n = p->n };
	err = sup_init(t, &spec, now);
	if (err) /* sup_plan_build checks each limit sup_init has: a bug if here */
		return fail(s, e, s->supervisors[s->root].pos,
			    "a tree the supervisor's decision machine accepts", "one it refuses",
			    err);
	return 0;
}

uint16_t sup_plan_find(const struct sup_plan *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (!strcmp(p->node[i].name, name))
			return (uint16_t)i;
	return SUP_NO_NODE;
}
