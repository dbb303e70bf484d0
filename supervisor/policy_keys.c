/*
 * The keys of the policy language and the parse of one file (policy.h,
 * policies/README.md). A line starting with `service NAME`,
 * `supervisor NAME` or `process NAME` opens a section; every other line is
 * one key of the open section with its values, parsed by the key's
 * function in keys[]. A manifest (pol_parse_manifest) is the same language
 * with `image NAME PATH` lines before its first section.
 * Every mistake stops the parse with one message pointing at the word
 * that is wrong and saying what was expected there. What needs every file
 * is left to pol_check() (policy_check.c).
 */
#include "policy_impl.h"

#include "fmt.h"
#include "num.h"
#include "string.h"

#define RANGE_RULE "a port range N or N-M with N <= M <= 0xffff"
#define IRQ_RULE "an IRQ line 1-15 other than 2"

/* ---- service keys ---- */

static int key_image(struct parser *p)
{
	struct word w;
	int rc;

	pol_next_word(p, &w);
	rc = pol_take_name(p, &w, p->svc->image);
	p->svc->image_pos = pol_pos_of(p, &w);
	return rc ? rc : pol_expect_eol(p);
}

/* What a limit message says the limit is per: a service or a process. */
static const char *per(const struct parser *p, const char *service, const char *process)
{
	return p->sect == SECT_PROCESS ? process : service;
}

/* The grants key's words: the ABI's names, but `supervisor` only in a
 * process (the kernel restarts that one process; a service has a
 * supervisor of its own). */
static const char *const grant_names[VE_NGRANT_BITS] = VE_GRANT_NAMES;
#define GRANT_RULE "'spawn', 'halt', 'kill' or 'inject'"
#define PROCESS_GRANT_RULE "'spawn', 'halt', 'kill', 'supervisor' or 'inject'"

/* The grant bit named by w, or 0 if none this section may give. */
static uint16_t grant_bit(const struct parser *p, const struct word *w)
{
	for (unsigned bit = 0; bit < VE_NGRANT_BITS; bit++)
		if ((p->sect == SECT_PROCESS || (1u << bit) != VE_GRANT_SUPERVISOR) &&
		    pol_word_is(w, grant_names[bit]))
			return (uint16_t)(1u << bit);
	return 0;
}

static int key_restart(struct parser *p)
{
	struct word w;
	unsigned v = 0;
	int rc = pol_need_choice(p, pol_restart_names, SUP_NRESTARTS,
				 "'permanent', 'transient' or 'temporary'", &v, &w);

	p->svc->restart = (enum sup_restart)v;
	return rc;
}

static int key_state(struct parser *p)
{
	struct word w;
	unsigned v = 0;
	int rc = pol_need_choice(p, pol_state_names, SUP_NSTASH, "'keep' or 'discard'", &v, &w);

	p->svc->state = (enum sup_stash)v;
	return rc;
}

static int key_priority(struct parser *p)
{
	struct word w;
	unsigned v = 0;
	int rc = pol_need_choice(p, pol_prio_names, VE_NPRIO, "'driver', 'service' or 'besteffort'",
				 &v, &w);

	p->svc->prio = (enum ve_prio)v;
	return rc;
}

static int key_shutdown(struct parser *p)
{
	struct word w;

	pol_next_word(p, &w);
	if (pol_word_is(&w, "brutal_kill"))
		p->svc->shutdown_ms = 0;
	else if (!pol_parse_duration(&w, &p->svc->shutdown_ms))
		return pol_fail_word(p, &w, POL_DURATION_RULE " or 'brutal_kill'");
	return pol_expect_eol(p);
}

static int key_heartbeat(struct parser *p)
{
	int rc = pol_need_duration(p, &p->svc->heartbeat_ms);

	return rc ? rc : pol_expect_eol(p);
}

static int key_ready_timeout(struct parser *p)
{
	int rc = pol_need_duration(p, &p->svc->ready_timeout_ms);

	return rc ? rc : pol_expect_eol(p);
}

/* backoff MIN..MAX (doubling from MIN up to MAX), or backoff D (always D). */
static int key_backoff(struct parser *p)
{
	struct pol_service *svc = p->svc;
	struct word w, lo, hi;
	size_t i;

	if (!pol_next_word(p, &w))
		return pol_fail_word(p, &w, "a backoff like 100ms..5s or 1s");
	for (i = 0; i + 1 < w.n && !(w.s[i] == '.' && w.s[i + 1] == '.'); i++)
		;
	if (i + 1 >= w.n) {
		if (!pol_parse_duration(&w, &svc->backoff_min_ms))
			return pol_fail_word(p, &w, "a backoff like 100ms..5s or 1s");
		svc->backoff_max_ms = svc->backoff_min_ms;
		return pol_expect_eol(p);
	}
	lo = pol_sub_word(&w, 0, i);
	hi = pol_sub_word(&w, i + 2, w.n - i - 2);
	if (lo.n == 0 || hi.n == 0)
		return pol_fail_word(p, &w, "a backoff like 100ms..5s or 1s");
	if (!pol_parse_duration(&lo, &svc->backoff_min_ms))
		return pol_fail_word(p, &lo, POL_DURATION_RULE);
	if (!pol_parse_duration(&hi, &svc->backoff_max_ms))
		return pol_fail_word(p, &hi, POL_DURATION_RULE);
	if (svc->backoff_max_ms < svc->backoff_min_ms)
		return pol_fail_word(p, &hi, "a longest backoff no shorter than the first");
	return pol_expect_eol(p);
}

/* The value of limit word w of a served channel, read from the next word
 * into *dst: each limit once, each in its own range. */
static int serve_limit(struct parser *p, struct pol_serve *sv, const struct word *w)
{
	uint32_t *dst;
	struct word v;
	bool ok;

	if (pol_word_is(w, "max_messages"))
		dst = &sv->max_messages;
	else if (pol_word_is(w, "max_bytes"))
		dst = &sv->max_bytes;
	else if (pol_word_is(w, "max_redeliveries"))
		dst = &sv->max_redeliveries;
	else
		return pol_fail_word(p, w,
				     "'max_messages', 'max_bytes', 'max_redeliveries' "
				     "or end of line");
	if (*dst)
		return pol_fail_word(p, w, "each limit once");
	pol_next_word(p, &v);
	if (dst == &sv->max_bytes)
		return v.n && pol_parse_size(&v, dst) ? 0 : pol_fail_word(p, &v, POL_SIZE_RULE);
	if (dst == &sv->max_messages)
		ok = pol_parse_num(v.s, v.n, false, VE_CHAN_QUEUE_MAX, dst) && *dst;
	else
		ok = pol_parse_num(v.s, v.n, false, VE_CHAN_REDELIVERIES_MAX, dst) && *dst;
	if (!ok)
		return pol_fail_word(p, &v,
				     dst == &sv->max_messages
					 ? "a number of messages from 1 to 4096"
					 : "a number from 1 to 1000");
	return 0;
}

/* serves NAME [max_messages N] [max_bytes SIZE] [max_redeliveries N] */
static int key_serves(struct parser *p)
{
	struct pol_service *svc = p->svc;
	struct pol_serve *sv;
	struct word w;
	uint32_t i;
	int rc;

	if (!pol_next_word(p, &w))
		return pol_fail_word(p, &w, "a channel name");
	if (svc->nserves == VE_SPAWN_CHANS)
		return pol_fail_word(p, &w,
				     per(p, "at most 4 served channels per service",
					 "at most 4 served channels per process"));
	sv = &svc->serves[svc->nserves];
	rc = pol_take_name(p, &w, sv->name);
	if (rc)
		return rc;
	for (i = 0; i < svc->nserves; i++)
		if (!strcmp(svc->serves[i].name, sv->name))
			return pol_fail_word(p, &w, "a channel not already in serves");
	sv->pos = pol_pos_of(p, &w);
	sv->max_messages = sv->max_bytes = sv->max_redeliveries = 0;
	while (pol_next_word(p, &w))
		if ((rc = serve_limit(p, sv, &w)))
			return rc;
	svc->nserves++;
	return 0;
}

static int key_opens(struct parser *p)
{
	struct pol_service *svc = p->svc;
	struct word w;
	uint32_t i;
	int rc;

	if (!pol_next_word(p, &w))
		return pol_fail_word(p, &w, "a channel name");
	do {
		struct pol_open *op;

		if (svc->nopens == VE_SPAWN_CHANS)
			return pol_fail_word(p, &w,
					     per(p, "at most 4 opened channels per service",
						 "at most 4 opened channels per process"));
		op = &svc->opens[svc->nopens];
		rc = pol_take_name(p, &w, op->name);
		if (rc)
			return rc;
		for (i = 0; i < svc->nopens; i++)
			if (!strcmp(svc->opens[i].name, op->name))
				return pol_fail_word(p, &w, "a channel not already in opens");
		op->pos = pol_pos_of(p, &w);
		svc->nopens++;
	} while (pol_next_word(p, &w));
	return 0;
}

static int key_ports(struct parser *p)
{
	struct pol_service *svc = p->svc;
	struct word w;

	if (!pol_next_word(p, &w))
		return pol_fail_word(p, &w, RANGE_RULE);
	do {
		struct pol_ports *r;
		uint32_t first, last;
		size_t dash = 0;

		if (svc->nports == VE_SPAWN_PORTS)
			return pol_fail_word(p, &w,
					     per(p, "at most 8 port ranges per service",
						 "at most 8 port ranges per process"));
		r = &svc->ports[svc->nports];
		while (dash < w.n && w.s[dash] != '-')
			dash++;
		if (!pol_parse_num(w.s, dash, true, 0xffff, &first))
			return pol_fail_word(p, &w, RANGE_RULE);
		last = first;
		if (dash < w.n &&
		    !pol_parse_num(w.s + dash + 1, w.n - dash - 1, true, 0xffff, &last))
			return pol_fail_word(p, &w, RANGE_RULE);
		if (last < first)
			return pol_fail_word(p, &w, RANGE_RULE);
		r->first = (uint16_t)first;
		r->last = (uint16_t)last;
		r->pos = pol_pos_of(p, &w);
		svc->nports++;
	} while (pol_next_word(p, &w));
	return 0;
}

static int key_irqs(struct parser *p)
{
	struct pol_service *svc = p->svc;
	struct word w;

	if (!pol_next_word(p, &w))
		return pol_fail_word(p, &w, IRQ_RULE);
	do {
		uint32_t irq;

		if (!pol_parse_num(w.s, w.n, false, 15, &irq) || !(VE_IRQS_VALID & (1u << irq)))
			return pol_fail_word(p, &w, IRQ_RULE);
		if (svc->irqs & (1u << irq))
			return pol_fail_word(p, &w, "an IRQ line not already in irqs");
		svc->irqs |= (uint16_t)(1u << irq);
		svc->irq_pos[irq] = pol_pos_of(p, &w);
	} while (pol_next_word(p, &w));
	return 0;
}

#define DEVICE_RULE "a device like 8086:100e (vendor:device, 1-4 hex digits each)"
#define DEVICE_AT_RULE "a bus address BB:DD.F (hex bus and slot up to 0x1f, function 0-7)"

/* 1 to 4 hex digits, no 0x, at most max. */
static bool parse_hex(const char *s, size_t n, uint32_t max, uint32_t *out)
{
	uint64_t v;

	if (n > 4 || !num_parse_hex(s, n, max, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

/* w is "A<sep>B" with A and B hex (parse_hex): the position of sep, or 0. */
static size_t find_sep(const struct word *w, size_t from, char sep)
{
	for (size_t i = from; i < w->n; i++)
		if (w->s[i] == sep)
			return i;
	return 0;
}

/* `at BB:DD.F` after a device's IDs. */
static bool parse_at(const struct word *w, struct ve_devsel *d)
{
	size_t colon = find_sep(w, 0, ':'), dot = colon ? find_sep(w, colon, '.') : 0;
	uint32_t bus, slot, fn;

	if (!colon || !dot || !parse_hex(w->s, colon, 0xff, &bus) ||
	    !parse_hex(w->s + colon + 1, dot - colon - 1, 0x1f, &slot) ||
	    !parse_hex(w->s + dot + 1, w->n - dot - 1, 7, &fn))
		return false;
	d->bus = (uint8_t)bus;
	d->devfn = (uint8_t)(slot << 3 | fn);
	d->flags = VE_DEVSEL_AT;
	return true;
}

/* device VVVV:DDDD [index N | at BB:DD.F]: one PCI device per line. */
static int key_device(struct parser *p)
{
	struct pol_service *svc = p->svc;
	struct ve_devsel d = { 0 };
	struct word w;
	uint32_t vendor, device, index;
	size_t colon;

	pol_next_word(p, &w);
	if (svc->ndevices == VE_SPAWN_DEVS)
		return pol_fail_word(
		    p, &w,
		    per(p, "at most 2 devices per service", "at most 2 devices per process"));
	colon = find_sep(&w, 0, ':');
	if (!colon || !parse_hex(w.s, colon, 0xfffe, &vendor) || vendor == 0 ||
	    !parse_hex(w.s + colon + 1, w.n - colon - 1, 0xffff, &device))
		return pol_fail_word(p, &w, DEVICE_RULE);
	d.vendor = (uint16_t)vendor;
	d.device = (uint16_t)device;
	struct pol_pos pos = pol_pos_of(p, &w);
	if (pol_next_word(p, &w)) {
		if (pol_word_is(&w, "index")) {
			pol_next_word(p, &w);
			if (!pol_parse_num(w.s, w.n, false, 255, &index))
				return pol_fail_word(p, &w, "an index 0-255");
			d.index = (uint8_t)index;
		} else if (pol_word_is(&w, "at")) {
			pol_next_word(p, &w);
			if (!parse_at(&w, &d))
				return pol_fail_word(p, &w, DEVICE_AT_RULE);
		} else {
			return pol_fail_word(p, &w, "'index' or 'at', or the end of the line");
		}
		int rc = pol_expect_eol(p);
		if (rc)
			return rc;
	}
	for (uint32_t i = 0; i < svc->ndevices; i++)
		if (ve_devsel_same(&svc->devices[i].sel, &d))
			return pol_fail(p, pos.col, "a device not already granted",
					"the same device");
	svc->devices[svc->ndevices++] = (struct pol_device){ .sel = d, .pos = pos };
	return 0;
}

static int key_grants(struct parser *p)
{
	const char *rule = per(p, GRANT_RULE, PROCESS_GRANT_RULE);
	struct word w;
	uint16_t bit;

	if (!pol_next_word(p, &w))
		return pol_fail_word(p, &w, rule);
	do {
		if (!(bit = grant_bit(p, &w)))
			return pol_fail_word(p, &w, rule);
		if (p->svc->grants & bit)
			return pol_fail_word(p, &w, "a grant not already in grants");
		p->svc->grants |= bit;
	} while (pol_next_word(p, &w));
	return 0;
}

/* args WORD...: the words joined by single spaces. */
static int key_args(struct parser *p)
{
	char *dst = p->svc->args, buf[24];
	size_t start = p->pos, n = 0, i;
	struct word w, first;

	if (!pol_next_word(p, &first))
		return pol_fail_word(p, &first, "an argument");
	for (w = first; w.n; pol_next_word(p, &w))
		n += (n > 0) + w.n;
	if (n >= POL_ARGS_MAX) {
		fmt_snprintf(buf, sizeof(buf), "%u bytes", (uint32_t)n);
		return pol_fail(p, first.col, "arguments of at most 95 bytes", buf);
	}
	p->pos = start;
	n = 0;
	while (pol_next_word(p, &w)) {
		if (n > 0)
			dst[n++] = ' ';
		for (i = 0; i < w.n; i++)
			dst[n++] = w.s[i];
	}
	dst[n] = 0;
	return 0;
}

/* ---- process keys ---- */

/* start boot|spawn: started at boot, or only a template for spawn(NAME). */
static int key_start(struct parser *p)
{
	struct word w;
	unsigned v = 0;
	int rc = pol_need_choice(p, pol_start_names, 2, "'boot' or 'spawn'", &v, &w);

	p->svc->start = (enum pol_start)v;
	return rc;
}

/* ---- supervisor keys ---- */

static int key_strategy(struct parser *p)
{
	struct word w;
	unsigned v = 0;
	int rc = pol_need_choice(p, pol_strategy_names, SUP_NSTRATEGIES,
				 "'one_for_one', 'one_for_all' or 'rest_for_one'", &v, &w);

	p->sup->strategy = (enum sup_strategy)v;
	return rc;
}

/* intensity N per DURATION */
static int key_intensity(struct parser *p)
{
	struct pol_supervisor *sup = p->sup;
	struct word w;
	int rc;

	pol_next_word(p, &w);
	if (!pol_parse_num(w.s, w.n, false, POL_INTENSITY_MAX, &sup->intensity))
		return pol_fail_word(p, &w, "a number of restarts from 0 to 1000");
	sup->intensity_pos = pol_pos_of(p, &w);
	pol_next_word(p, &w);
	if (!pol_word_is(&w, "per"))
		return pol_fail_word(p, &w, "'per'");
	rc = pol_need_duration(p, &sup->period_ms);
	return rc ? rc : pol_expect_eol(p);
}

static int key_on_giveup(struct parser *p)
{
	struct word w;
	unsigned v = 0;
	int rc = pol_need_choice(p, pol_giveup_names, SUP_NGIVEUPS, "'reboot', 'halt' or 'panic'",
				 &v, &w);

	p->sup->on_giveup = (enum sup_giveup)v;
	p->sup->giveup_pos = pol_pos_of(p, &w);
	p->sup->has_giveup = true;
	return rc;
}

static int key_children(struct parser *p)
{
	struct pol_supervisor *sup = p->sup;
	struct word w;
	uint32_t i;
	int rc;

	if (!pol_next_word(p, &w))
		return pol_fail_word(p, &w, "a service or supervisor name");
	do {
		struct pol_child *c;

		if (sup->nchildren == POL_MAX_CHILDREN)
			return pol_fail_word(p, &w, "at most 32 children per supervisor");
		c = &sup->children[sup->nchildren];
		rc = pol_take_name(p, &w, c->name);
		if (rc)
			return rc;
		for (i = 0; i < sup->nchildren; i++)
			if (!strcmp(sup->children[i].name, c->name))
				return pol_fail_word(p, &w, "a child not already in children");
		c->pos = pol_pos_of(p, &w);
		c->is_supervisor = false;
		c->index = 0;
		sup->nchildren++;
	} while (pol_next_word(p, &w));
	return 0;
}

/* ---- dispatch ---- */

struct key {
	const char *name;
	unsigned sects; /* the enum sect bits of the sections it belongs to */
	bool repeats;	/* may be written on several lines of one section */
	int (*parse)(struct parser *p);
};

/* A process is described by the keys of a service that describe a process. */
#define SECT_DESC (SECT_SERVICE | SECT_PROCESS)

static const struct key keys[] = {
	{ "image", SECT_DESC, false, key_image },
	{ "restart", SECT_SERVICE, false, key_restart },
	{ "shutdown", SECT_SERVICE, false, key_shutdown },
	{ "heartbeat", SECT_SERVICE, false, key_heartbeat },
	{ "ready_timeout", SECT_SERVICE, false, key_ready_timeout },
	{ "backoff", SECT_SERVICE, false, key_backoff },
	{ "state", SECT_SERVICE, false, key_state },
	{ "priority", SECT_DESC, false, key_priority },
	{ "serves", SECT_DESC, true, key_serves },
	{ "opens", SECT_DESC, true, key_opens },
	{ "ports", SECT_DESC, true, key_ports },
	{ "irqs", SECT_DESC, true, key_irqs },
	{ "device", SECT_DESC, true, key_device },
	{ "grants", SECT_DESC, false, key_grants },
	{ "args", SECT_DESC, false, key_args },
	{ "start", SECT_PROCESS, false, key_start },
	{ "strategy", SECT_SUPERVISOR, false, key_strategy },
	{ "intensity", SECT_SUPERVISOR, false, key_intensity },
	{ "on_giveup", SECT_SUPERVISOR, false, key_on_giveup },
	{ "children", SECT_SUPERVISOR, true, key_children },
};
#define NKEYS_USED (sizeof(keys) / sizeof(keys[0]))
_Static_assert(NKEYS_USED <= NKEYS, "seen_line has a slot per key");

/* Where the definition named name is, or false. */
static bool find_def(const struct pol_set *s, const char *name, struct pol_pos *pos)
{
	uint32_t i;

	for (i = 0; i < s->nservices; i++) {
		if (!strcmp(s->services[i].name, name)) {
			*pos = s->services[i].pos;
			return true;
		}
	}
	for (i = 0; i < s->nprocesses; i++) {
		if (!strcmp(s->processes[i].name, name)) {
			*pos = s->processes[i].pos;
			return true;
		}
	}
	for (i = 0; i < s->nsupervisors; i++) {
		if (!strcmp(s->supervisors[i].name, name)) {
			*pos = s->supervisors[i].pos;
			return true;
		}
	}
	return false;
}

static void init_service(struct pol_service *svc, const char *name, struct pol_pos pos)
{
	size_t i;

	memset(svc, 0, sizeof(*svc));
	for (i = 0; name[i]; i++)
		svc->name[i] = svc->image[i] = name[i];
	svc->restart = SUP_PERMANENT;
	svc->shutdown_ms = POL_DEFAULT_SHUTDOWN_MS;
	svc->state = SUP_STASH_DISCARD;
	svc->prio = VE_PRIO_SERVICE;
	svc->start = POL_START_BOOT;
	svc->pos = pos;
	svc->image_pos = pos;
	svc->parent = -1;
}

static void init_supervisor(struct pol_supervisor *sup, const char *name, struct pol_pos pos)
{
	size_t i;

	memset(sup, 0, sizeof(*sup));
	for (i = 0; name[i]; i++)
		sup->name[i] = name[i];
	sup->strategy = SUP_ONE_FOR_ONE;
	sup->intensity = POL_DEFAULT_INTENSITY;
	sup->period_ms = POL_DEFAULT_PERIOD_MS;
	sup->on_giveup = SUP_GIVEUP_HALT;
	sup->pos = pos;
	sup->intensity_pos = pos;
	sup->parent = -1;
}

/* Whether the set is full for one more section of kind sect. */
static int full(struct parser *p, enum sect sect, const struct word *w)
{
	const struct pol_set *s = p->s;

	if (sect == SECT_SERVICE && s->nservices == POL_MAX_SERVICES)
		return pol_fail_word(p, w, "at most 64 services");
	if (sect == SECT_SUPERVISOR && s->nsupervisors == POL_MAX_SUPERVISORS)
		return pol_fail_word(p, w, "at most 16 supervisors");
	if (sect == SECT_PROCESS && s->nprocesses == POL_MAX_PROCESSES)
		return pol_fail_word(p, w, "at most 64 processes");
	return 0;
}

/* `service NAME`, `supervisor NAME` or `process NAME`: opens a new section. */
static int open_section(struct parser *p, enum sect sect)
{
	struct pol_set *s = p->s;
	char name[POL_NAME_MAX];
	struct pol_pos other;
	struct word w;
	uint32_t i;
	int rc;

	pol_next_word(p, &w);
	if ((rc = full(p, sect, &w)))
		return rc;
	rc = pol_take_name(p, &w, name);
	if (rc)
		return rc;
	if (find_def(s, name, &other)) {
		char buf[POL_QUOTE_MAX + POL_FILE_MAX + 48], q[POL_QUOTE_BUF];

		fmt_snprintf(buf, sizeof(buf), "%s, already defined at %s:%u:%u",
			     pol_quote(q, w.s, w.n), s->files[other.file], other.line, other.col);
		return pol_fail(p, w.col, "a name not yet defined", buf);
	}
	rc = pol_expect_eol(p);
	if (rc)
		return rc;
	p->sect = sect;
	for (i = 0; i < NKEYS; i++)
		p->seen_line[i] = 0;
	if (sect == SECT_SERVICE || sect == SECT_PROCESS) {
		p->svc = sect == SECT_SERVICE ? &s->services[s->nservices++]
					      : &s->processes[s->nprocesses++];
		init_service(p->svc, name, pol_pos_of(p, &w));
	} else {
		p->sup = &s->supervisors[s->nsupervisors++];
		init_supervisor(p->sup, name, pol_pos_of(p, &w));
	}
	return 0;
}

/* image NAME PATH, in a manifest before its first section. */
static int image_line(struct parser *p)
{
	struct pol_images *im = p->images;
	struct pol_image *img;
	struct word w;
	uint32_t i;
	int rc;

	pol_next_word(p, &w);
	if (im->n == POL_MAX_IMAGES)
		return pol_fail_word(p, &w, "at most 64 images");
	img = &im->image[im->n];
	if ((rc = pol_take_name(p, &w, img->name)))
		return rc;
	for (i = 0; i < im->n; i++)
		if (!strcmp(im->image[i].name, img->name))
			return pol_fail_word(p, &w, "a unique image name");
	pol_next_word(p, &w);
	for (i = 0; i < w.n; i++)
		if ((unsigned char)w.s[i] < 0x20 || w.s[i] == 0x7f)
			return pol_fail_word(p, &w, "a path");
	if (w.n == 0 || w.n >= POL_PATH_MAX)
		return pol_fail_word(p, &w, w.n ? "a path of at most 1023 bytes" : "a path");
	memcpy(img->path, w.s, w.n);
	img->path[w.n] = 0;
	img->pos = pol_pos_of(p, &w);
	if ((rc = pol_expect_eol(p)))
		return rc;
	im->n++;
	return 0;
}

/* The section word w opens, or SECT_NONE; what a manifest may hold. */
static enum sect section_of(const struct parser *p, const struct word *w)
{
	if (pol_word_is(w, "process"))
		return SECT_PROCESS;
	if (p->images)
		return SECT_NONE;
	if (pol_word_is(w, "service"))
		return SECT_SERVICE;
	if (pol_word_is(w, "supervisor"))
		return SECT_SUPERVISOR;
	return SECT_NONE;
}

/* A word that is no key of the open section: say what would be. */
static int not_a_key(struct parser *p, const struct word *w)
{
	size_t k;

	if (p->sect == SECT_SERVICE)
		return pol_fail_word(p, w, "a service key");
	if (p->sect == SECT_SUPERVISOR)
		return pol_fail_word(p, w, "a supervisor key");
	for (k = 0; k < NKEYS_USED; k++)
		if (keys[k].sects == SECT_SERVICE && pol_word_is(w, keys[k].name))
			return pol_fail_word(p, w,
					     "a process key (the kernel neither restarts, stops "
					     "nor watches a process)");
	return pol_fail_word(p, w, "a process key");
}

/* In a manifest's section, `image NAME PATH` is an image line written
 * after the first process: say so rather than "end of line". */
static int late_image_line(struct parser *p)
{
	size_t pos = p->pos;
	struct word name, path;

	pol_next_word(p, &name);
	if (pol_next_word(p, &path))
		return pol_fail_word(p, &path,
				     "end of line (a manifest's image lines come before its "
				     "first process)");
	p->pos = pos;
	return 0;
}

/* One non-empty line whose first word is w. */
static int parse_line(struct parser *p, const struct word *w)
{
	char buf[POL_QUOTE_MAX + 40], q[POL_QUOTE_BUF];
	enum sect sect = section_of(p, w);
	size_t k;

	if (sect != SECT_NONE)
		return open_section(p, sect);
	if (p->images && (pol_word_is(w, "service") || pol_word_is(w, "supervisor")))
		return pol_fail_word(p, w,
				     "'image' or 'process' (a manifest holds what the kernel "
				     "starts; a supervisor's tree is in policy files)");
	if (p->images && p->sect == SECT_NONE && pol_word_is(w, "image"))
		return image_line(p);
	if (p->sect == SECT_NONE)
		return pol_fail_word(p, w,
				     p->images ? "'image' or 'process'"
					       : "'service', 'supervisor' or 'process'");
	if (p->images && pol_word_is(w, "image") && late_image_line(p))
		return -VE_INVAL;
	for (k = 0; k < NKEYS_USED; k++)
		if ((keys[k].sects & p->sect) && pol_word_is(w, keys[k].name))
			break;
	if (k == NKEYS_USED)
		return not_a_key(p, w);
	if (!keys[k].repeats && p->seen_line[k]) {
		fmt_snprintf(buf, sizeof(buf), "%s again (first on line %u)",
			     pol_quote(q, w->s, w->n), p->seen_line[k]);
		return pol_fail(p, w->col, "each key at most once in a section", buf);
	}
	p->seen_line[k] = p->line;
	return keys[k].parse(p);
}

/* Keeps fname in dst[POL_FILE_MAX], by its last bytes if it is too long. */
static void keep_fname(char *dst, const char *fname)
{
	size_t n = strlen(fname), skip = 0, i;

	if (n >= POL_FILE_MAX)
		skip = n - (POL_FILE_MAX - 1);
	for (i = 0; skip + i < n; i++)
		dst[i] = fname[skip + i];
	dst[i] = 0;
}

static int parse_text(struct parser *p)
{
	size_t next = 0;
	int rc;

	while (next < p->len) {
		struct word w;

		p->line++;
		p->line_start = p->pos = next;
		p->line_end = next;
		while (p->line_end < p->len && p->text[p->line_end] != '\n')
			p->line_end++;
		next = p->line_end + 1;
		if (!pol_next_word(p, &w))
			continue;
		rc = parse_line(p, &w);
		if (rc)
			return rc;
	}
	return 0;
}

/* In a manifest, every process names an image of an image line. */
static int check_images(struct parser *p, uint32_t from)
{
	const struct pol_set *s = p->s;
	uint32_t i, k;

	for (i = from; i < s->nprocesses; i++) {
		const struct pol_service *pr = &s->processes[i];
		char q[POL_QUOTE_BUF];

		for (k = 0; k < p->images->n && strcmp(p->images->image[k].name, pr->image); k++)
			;
		if (k < p->images->n)
			continue;
		pol_quote(q, pr->image, strlen(pr->image));
		return pol_set_error(p->e, p->fname, pr->image_pos.line, pr->image_pos.col,
				     "the name of an image line", q);
	}
	return 0;
}

/* A policy file if images is NULL (pol_parse_file), else a manifest. */
int pol_parse_manifest(struct pol_set *s, struct pol_images *images, const char *fname,
		       const char *text, size_t len, struct pol_error *e)
{
	struct parser p = { 0 };
	uint32_t nservices, nsupervisors, nprocesses;
	int rc;

	if (e) {
		e->msg[0] = 0;
		e->line = e->col = 0;
	}
	if (!s || !fname || (!text && len))
		return -VE_INVAL;
	if (images)
		images->n = 0;
	s->checked = false;
	if (s->nfiles == POL_MAX_FILES) {
		pol_set_error(e, fname, 0, 0, "at most 64 policy files", "one more");
		return -VE_RANGE;
	}
	nservices = s->nservices;
	nsupervisors = s->nsupervisors;
	nprocesses = s->nprocesses;
	p.s = s;
	p.images = images;
	p.e = e;
	p.fname = fname;
	p.file = s->nfiles;
	p.text = text;
	p.len = len;
	keep_fname(s->files[p.file], fname);
	rc = parse_text(&p);
	if (!rc && images)
		rc = check_images(&p, nprocesses);
	if (rc) {
		s->nservices = nservices;
		s->nsupervisors = nsupervisors;
		s->nprocesses = nprocesses;
		return rc;
	}
	s->nfiles++;
	return 0;
}

int pol_parse_file(struct pol_set *s, const char *fname, const char *text, size_t len,
		   struct pol_error *e)
{
	return pol_parse_manifest(s, NULL, fname, text, len, e);
}
