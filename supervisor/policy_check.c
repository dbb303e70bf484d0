/*
 * The checks of a policy set that need every file (pol_check, policy.h):
 * children resolved to definitions, a tree with one root and no cycle,
 * channels served once and opened only where served, no hardware granted
 * twice -- the last two over services and processes together. On success
 * the set's derived fields (parents, child indices, root) are filled in.
 */
#include "policy_impl.h"

#include "fmt.h"
#include "string.h"

/*
 * The names in the set were taken by the parser, so they are printable and
 * shorter than POL_QUOTE_MAX: quoting one is putting it between quotes.
 */

/* Reports a mistake at pos, a position in one of s's files. */
static int fail_at(const struct pol_set *s, struct pol_error *e, struct pol_pos pos,
		   const char *expected, const char *found)
{
	return pol_set_error(e, s->files[pos.file], pos.line, pos.col, expected, found);
}

/* Resolves every child and sets every parent: each named once, and defined. */
static int check_children(struct pol_set *s, struct pol_error *e)
{
	char buf[2 * POL_QUOTE_MAX + 40];
	uint32_t i, k;

	for (i = 0; i < s->nservices; i++)
		s->services[i].parent = -1;
	for (i = 0; i < s->nsupervisors; i++)
		s->supervisors[i].parent = -1;
	for (i = 0; i < s->nsupervisors; i++) {
		struct pol_supervisor *sup = &s->supervisors[i];

		for (k = 0; k < sup->nchildren; k++) {
			struct pol_child *c = &sup->children[k];
			int svc = pol_service_find(s, c->name);
			int sub = pol_supervisor_find(s, c->name);
			int32_t *parent;

			fmt_snprintf(buf, sizeof(buf), "'%s'", c->name);
			if (svc < 0 && sub < 0)
				return fail_at(s, e, c->pos, "a defined service or supervisor",
					       buf);
			c->is_supervisor = sub >= 0;
			c->index = (uint32_t)(sub >= 0 ? sub : svc);
			parent = sub >= 0 ? &s->supervisors[sub].parent : &s->services[svc].parent;
			if (*parent >= 0) {
				fmt_snprintf(buf, sizeof(buf), "'%s', already a child of '%s'",
					     c->name, s->supervisors[*parent].name);
				return fail_at(s, e, c->pos, "a child of one supervisor only", buf);
			}
			*parent = (int32_t)i;
		}
	}
	return 0;
}

/* Where supervisor i is written among its parent's children. */
static struct pol_pos child_pos(const struct pol_set *s, uint32_t i)
{
	const struct pol_supervisor *par = &s->supervisors[s->supervisors[i].parent];
	uint32_t k;

	for (k = 0; k < par->nchildren; k++)
		if (par->children[k].is_supervisor && par->children[k].index == i)
			break;
	return par->children[k].pos;
}

/* Appends a then b to the string in buf[size], cut to fit. */
static void append(char *buf, size_t size, const char *a, const char *b)
{
	size_t n = strlen(buf);

	fmt_snprintf(buf + n, size - n, "%s%s", a, b);
}

/* No supervisor contains itself: following parents never comes back. */
static int check_cycles(struct pol_set *s, struct pol_error *e)
{
	uint32_t chain[POL_MAX_SUPERVISORS + 1];
	char buf[POL_ERR_MAX];
	uint32_t i, n;

	for (i = 0; i < s->nsupervisors; i++) {
		chain[0] = i;
		for (n = 1; n <= s->nsupervisors; n++) {
			int32_t par = s->supervisors[chain[n - 1]].parent;

			if (par < 0)
				break;
			chain[n] = (uint32_t)par;
			if ((uint32_t)par != i)
				continue;
			/* chain[n] contains chain[n-1] ... contains chain[0] */
			buf[0] = 0;
			for (; n > 0; n--)
				append(buf, sizeof(buf), s->supervisors[chain[n]].name, " > ");
			append(buf, sizeof(buf), s->supervisors[i].name, "");
			return fail_at(s, e, child_pos(s, i),
				       "a supervisor that does not contain itself", buf);
		}
	}
	return 0;
}

/* Every definition but the root is a child of some supervisor. */
static int check_orphans(const struct pol_set *s, struct pol_error *e, uint32_t root)
{
	char buf[2 * POL_QUOTE_MAX + 48], expected[POL_QUOTE_MAX + 48];
	uint32_t i;

	for (i = 0; i < s->nsupervisors + s->nservices; i++) {
		bool is_sup = i < s->nsupervisors;
		uint32_t j = is_sup ? i : i - s->nsupervisors;
		const char *name = is_sup ? s->supervisors[j].name : s->services[j].name;
		int32_t parent = is_sup ? s->supervisors[j].parent : s->services[j].parent;

		if (parent >= 0 || (is_sup && j == root))
			continue;
		fmt_snprintf(expected, sizeof(expected), "'%s' among the children of a supervisor",
			     name);
		fmt_snprintf(buf, sizeof(buf), "it in none (the root is '%s')",
			     s->supervisors[root].name);
		return fail_at(s, e, is_sup ? s->supervisors[j].pos : s->services[j].pos, expected,
			       buf);
	}
	return 0;
}

/* Only the root says on_giveup: the tree gives up once, at its top. */
static int check_giveup(const struct pol_set *s, struct pol_error *e, uint32_t root)
{
	char buf[2 * POL_QUOTE_MAX + 48];
	uint32_t i;

	for (i = 0; i < s->nsupervisors; i++) {
		if (!s->supervisors[i].has_giveup || i == root)
			continue;
		fmt_snprintf(buf, sizeof(buf), "it in '%s', a child of '%s'",
			     s->supervisors[i].name, s->supervisors[s->supervisors[i].parent].name);
		return fail_at(s, e, s->supervisors[i].giveup_pos,
			       "on_giveup only in the root supervisor", buf);
	}
	return 0;
}

/*
 * The first supervisor that is nobody's child is the root; every other
 * definition must be somebody's child, and only the root says on_giveup.
 */
static int check_root(struct pol_set *s, struct pol_error *e)
{
	uint32_t i;
	int32_t root = -1;
	int rc;

	for (i = 0; i < s->nsupervisors && root < 0; i++)
		if (s->supervisors[i].parent < 0)
			root = (int32_t)i;
	if (root < 0) {
		struct pol_pos first = { 0, 1, 1 };

		if (s->nfiles == 0)
			return pol_set_error(e, "policy", 0, 0, "a root supervisor", "none");
		return fail_at(s, e, first, "a root supervisor", "none");
	}
	rc = check_orphans(s, e, (uint32_t)root);
	if (!rc)
		rc = check_giveup(s, e, (uint32_t)root);
	if (!rc)
		s->root = (uint32_t)root;
	return rc;
}

/* Intensity 0 gives up at the first restart: pointless with a permanent child. */
static int check_intensity(struct pol_set *s, struct pol_error *e)
{
	char buf[POL_QUOTE_MAX + 40];
	uint32_t i, k;

	for (i = 0; i < s->nsupervisors; i++) {
		const struct pol_supervisor *sup = &s->supervisors[i];

		if (sup->intensity > 0)
			continue;
		for (k = 0; k < sup->nchildren; k++) {
			const struct pol_child *c = &sup->children[k];

			if (!c->is_supervisor && s->services[c->index].restart != SUP_PERMANENT)
				continue;
			fmt_snprintf(buf, sizeof(buf), "0 (child '%s' is permanent)", c->name);
			return fail_at(
			    s, e, sup->intensity_pos,
			    "an intensity above 0 for a supervisor with a permanent child", buf);
		}
	}
	return 0;
}

/*
 * Channels and hardware are checked over the services, then the
 * processes, as one list of descriptions: entry i of it.
 */
static uint32_t ndescs(const struct pol_set *s)
{
	return s->nservices + s->nprocesses;
}

static const struct pol_service *desc(const struct pol_set *s, uint32_t i)
{
	return i < s->nservices ? &s->services[i] : &s->processes[i - s->nservices];
}

/* What entries i and j are, for "no other X has": one word if they agree. */
static const char *kinds(const struct pol_set *s, uint32_t i, uint32_t j)
{
	bool pi = i >= s->nservices, pj = j >= s->nservices;

	if (pi != pj)
		return "service or process";
	return pi ? "process" : "service";
}

/* Index of the entry serving channel name among entries [from, below), or -1. */
static int32_t server_of(const struct pol_set *s, const char *name, uint32_t from, uint32_t below)
{
	uint32_t i, k;

	for (i = from; i < below; i++)
		for (k = 0; k < desc(s, i)->nserves; k++)
			if (!strcmp(desc(s, i)->serves[k].name, name))
				return (int32_t)i;
	return -1;
}

/* No channel is served twice; no service serves the supervisor's own. */
static int check_served(struct pol_set *s, struct pol_error *e)
{
	char buf[2 * POL_QUOTE_MAX + 40], expected[64];
	uint32_t i, k;

	for (i = 0; i < ndescs(s); i++) {
		const struct pol_service *d = desc(s, i);

		for (k = 0; k < d->nserves; k++) {
			int32_t other = server_of(s, d->serves[k].name, 0, i);
			bool sup = i < s->nservices && !strcmp(d->serves[k].name, POL_SUP_CHANNEL);

			if (other < 0 && !sup)
				continue;
			if (sup)
				fmt_snprintf(buf, sizeof(buf), "'%s', served by the supervisor",
					     d->serves[k].name);
			else
				fmt_snprintf(buf, sizeof(buf), "'%s', served by '%s'",
					     d->serves[k].name, desc(s, (uint32_t)other)->name);
			fmt_snprintf(expected, sizeof(expected), "a channel no other %s serves",
				     kinds(s, i, sup ? i : (uint32_t)other));
			return fail_at(s, e, d->serves[k].pos, expected, buf);
		}
	}
	return 0;
}

/*
 * Every opened channel is served: a service's by a service or a process
 * (or it is the supervisor's own); a process's by a process, as the
 * kernel's boot table holds no services.
 */
static int check_opened(struct pol_set *s, struct pol_error *e)
{
	char buf[POL_QUOTE_MAX + 8];
	uint32_t i, k;

	for (i = 0; i < ndescs(s); i++) {
		const struct pol_service *d = desc(s, i);
		bool proc = i >= s->nservices;

		for (k = 0; k < d->nopens; k++) {
			if ((!proc && !strcmp(d->opens[k].name, POL_SUP_CHANNEL)) ||
			    server_of(s, d->opens[k].name, proc ? s->nservices : 0, ndescs(s)) >= 0)
				continue;
			fmt_snprintf(buf, sizeof(buf), "'%s'", d->opens[k].name);
			return fail_at(s, e, d->opens[k].pos,
				       proc ? "a channel some process serves"
					    : "a channel some service serves",
				       buf);
		}
	}
	return 0;
}

static bool same_limits(const struct pol_serve *a, const struct pol_serve *b)
{
	return a->max_messages == b->max_messages && a->max_bytes == b->max_bytes &&
	       a->max_redeliveries == b->max_redeliveries;
}

/* A process serves every channel with the same limits: its entry in the
 * kernel's boot table holds one set. */
static int check_process_limits(struct pol_set *s, struct pol_error *e)
{
	char expected[POL_QUOTE_MAX + 80], buf[POL_QUOTE_MAX + 40];
	uint32_t i, k;

	for (i = 0; i < s->nprocesses; i++) {
		const struct pol_service *pr = &s->processes[i];

		for (k = 1; k < pr->nserves; k++) {
			if (same_limits(&pr->serves[0], &pr->serves[k]))
				continue;
			fmt_snprintf(expected, sizeof(expected),
				     "the limits of '%s' (a process serves every channel with "
				     "the same limits)",
				     pr->serves[0].name);
			fmt_snprintf(buf, sizeof(buf), "'%s' with others", pr->serves[k].name);
			return fail_at(s, e, pr->serves[k].pos, expected, buf);
		}
	}
	return 0;
}

static int check_channels(struct pol_set *s, struct pol_error *e)
{
	int rc = check_served(s, e);

	if (!rc)
		rc = check_opened(s, e);
	if (!rc)
		rc = check_process_limits(s, e);
	return rc;
}

/* Room for a port range as range_str writes it: "0xffff-0xffff". */
#define RANGE_BUF 16

/* r as written in messages: 0xN, or 0xN-0xM. Returns buf[RANGE_BUF]. */
static const char *range_str(char *buf, const struct pol_ports *r)
{
	if (r->last == r->first)
		fmt_snprintf(buf, RANGE_BUF, "0x%x", r->first);
	else
		fmt_snprintf(buf, RANGE_BUF, "0x%x-0x%x", r->first, r->last);
	return buf;
}

/* Entry i holds no IRQ line, I/O port or PCI device that entry j holds. */
static int check_pair(const struct pol_set *s, struct pol_error *e, uint32_t i, uint32_t j)
{
	const struct pol_service *svc = desc(s, i), *o = desc(s, j);
	char buf[POL_QUOTE_MAX + 64], ra[RANGE_BUF], rc[RANGE_BUF], expected[48];
	uint16_t both = svc->irqs & o->irqs;
	uint32_t k, m, irq;

	for (irq = 0; both && !(both & (1u << irq)); irq++)
		;
	if (both) {
		fmt_snprintf(buf, sizeof(buf), "'%u', granted to '%s'", irq, o->name);
		fmt_snprintf(expected, sizeof(expected), "an IRQ line no other %s has",
			     kinds(s, i, j));
		return fail_at(s, e, svc->irq_pos[irq], expected, buf);
	}
	for (k = 0; k < svc->nports; k++) {
		for (m = 0; m < o->nports; m++) {
			const struct pol_ports *a = &svc->ports[k], *c = &o->ports[m];

			if (a->last < c->first || c->last < a->first)
				continue;
			fmt_snprintf(buf, sizeof(buf), "'%s', overlapping %s of '%s'",
				     range_str(ra, a), range_str(rc, c), o->name);
			fmt_snprintf(expected, sizeof(expected), "ports no other %s has",
				     kinds(s, i, j));
			return fail_at(s, e, a->pos, expected, buf);
		}
	}
	for (k = 0; k < svc->ndevices; k++) {
		for (m = 0; m < o->ndevices; m++) {
			const struct ve_devsel *a = &svc->devices[k].sel;

			if (!ve_devsel_same(a, &o->devices[m].sel))
				continue;
			fmt_snprintf(buf, sizeof(buf), "'%04x:%04x', granted to '%s'", a->vendor,
				     a->device, o->name);
			fmt_snprintf(expected, sizeof(expected), "a device no other %s has",
				     kinds(s, i, j));
			return fail_at(s, e, svc->devices[k].pos, expected, buf);
		}
	}
	return 0;
}

/* No IRQ line, I/O port or PCI device is granted to two services or
 * processes. */
static int check_hardware(struct pol_set *s, struct pol_error *e)
{
	uint32_t i, j;
	int rc;

	for (i = 0; i < ndescs(s); i++)
		for (j = 0; j < i; j++)
			if ((rc = check_pair(s, e, i, j)))
				return rc;
	return 0;
}

/* Whether the set describes a supervision tree: not a manifest's
 * processes alone (an empty set is a tree without its root). */
static bool has_tree(const struct pol_set *s)
{
	return s->nservices || s->nsupervisors || !s->nprocesses;
}

int pol_check(struct pol_set *s, struct pol_error *e)
{
	int rc;

	if (e) {
		e->msg[0] = 0;
		e->line = e->col = 0;
	}
	if (!s)
		return -VE_INVAL;
	s->checked = false;
	rc = 0;
	if (has_tree(s)) {
		rc = check_children(s, e);
		if (!rc)
			rc = check_cycles(s, e);
		if (!rc)
			rc = check_root(s, e);
		if (!rc)
			rc = check_intensity(s, e);
	}
	if (!rc)
		rc = check_channels(s, e);
	if (!rc)
		rc = check_hardware(s, e);
	if (rc)
		return rc;
	s->checked = true;
	return 0;
}
