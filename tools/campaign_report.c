/*
 * Judging a fault campaign and writing its report: the checks (no panic,
 * every service up, no lost / duplicated / wrong request, restart counts
 * that match the faults that killed), then report.txt for people,
 * report.json for machines and recovery.svg, a hand-drawn chart of the
 * recovery latency per fault kind. Reads only the record (campaign.h),
 * once camp_record_finish closed it.
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign.h"
#include "util.h"

const char *const camp_outcome_name[CAMP_NOUTCOMES] = {
	[CAMP_NO_RESTART] = "no_restart",
	[CAMP_TRANSPARENT] = "recovered_transparently",
	[CAMP_CLIENT_ERROR] = "recovered_with_client_error",
	[CAMP_STATE_LOST] = "recovered_with_state_reset",
	[CAMP_ESCALATED] = "escalated",
	[CAMP_NOT_RECOVERED] = "not_recovered",
	[CAMP_NOT_INJECTED] = "not_injected",
	[CAMP_KERNEL_DOWN] = "kernel_down",
};

struct camp_svc *camp_svc_get(struct camp_record *r, const char *name)
{
	for (size_t i = 0; i < r->nsvc; i++)
		if (!strcmp(r->svc[i].name, name))
			return &r->svc[i];
	if (r->nsvc == CAMP_MAX_SVCS || !*name)
		return NULL;
	snprintf(r->svc[r->nsvc].name, CAMP_NAME_MAX, "%s", name);
	r->svc[r->nsvc].tree_restarts = -1;
	return &r->svc[r->nsvc++];
}

/* ---------------------------------------------------------------- judging */

/* A set of latencies (µs), sorted once for the percentiles. */
struct lat {
	uint64_t *v;
	size_t n, cap;
	int faults, killed; /* for by-kind / by-target rows */
};

static void lat_add(struct lat *l, uint64_t us)
{
	l->v = util_grow(l->v, l->n, &l->cap, sizeof(*l->v));
	l->v[l->n++] = us;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile q (0..1] of a sorted set; 0 if empty. */
static uint64_t pct(const struct lat *l, double q)
{
	size_t k;

	if (l->n == 0)
		return 0;
	k = (size_t)(q * (double)l->n + 0.999999);
	return l->v[(k ? k : 1) - 1];
}

/* A named group of faults (a kind or a target) and their latencies. */
struct group {
	char name[CAMP_NAME_MAX];
	struct lat lat;
};

struct groups {
	struct group g[64];
	size_t n;
};

static struct group *group_get(struct groups *gs, const char *name)
{
	for (size_t i = 0; i < gs->n; i++)
		if (!strcmp(gs->g[i].name, name))
			return &gs->g[i];
	if (gs->n == sizeof(gs->g) / sizeof(gs->g[0]))
		return &gs->g[gs->n - 1];
	snprintf(gs->g[gs->n].name, CAMP_NAME_MAX, "%s", name);
	return &gs->g[gs->n++];
}

/* Everything the report says, computed once from the record. */
struct verdict {
	int outcomes[CAMP_NOUTCOMES];
	struct lat all, detect; /* death to serving again; inject to death */
	struct groups kinds, targets;
	uint64_t lost, duplicated, wrong, errors;
	int services_down;
	char failures[12][200];
	int nfail;
	char restart_note[400];
	bool pass;
};

static void fail(struct verdict *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct verdict *v, const char *fmt, ...)
{
	va_list ap;

	if (v->nfail == (int)(sizeof(v->failures) / sizeof(v->failures[0])))
		return;
	va_start(ap, fmt);
	vsnprintf(v->failures[v->nfail++], sizeof(v->failures[0]), fmt, ap);
	va_end(ap);
}

static void count_faults(const struct camp_record *r, struct verdict *v)
{
	for (size_t i = 0; i < r->nf; i++) {
		const struct camp_fault *f = &r->f[i];
		struct group *k = group_get(&v->kinds, f->kind),
			     *t = group_get(&v->targets, f->target);

		v->outcomes[camp_outcome_of(f)]++;
		k->lat.faults++;
		t->lat.faults++;
		k->lat.killed += camp_fault_killed(f);
		t->lat.killed += camp_fault_killed(f);
		if (f->death == CAMP_RECOVERED) {
			lat_add(&v->all, f->recovery_us);
			lat_add(&v->detect, f->detect_us);
			lat_add(&k->lat, f->recovery_us);
			lat_add(&t->lat, f->recovery_us);
		}
	}
	qsort(v->all.v, v->all.n, sizeof(uint64_t), cmp_u64);
	qsort(v->detect.v, v->detect.n, sizeof(uint64_t), cmp_u64);
	for (size_t i = 0; i < v->kinds.n; i++)
		qsort(v->kinds.g[i].lat.v, v->kinds.g[i].lat.n, sizeof(uint64_t), cmp_u64);
	for (size_t i = 0; i < v->targets.n; i++)
		qsort(v->targets.g[i].lat.v, v->targets.g[i].lat.n, sizeof(uint64_t), cmp_u64);
}

/* Is s down at the end: not up in `tree`, or still the process a fault
 * stopped (in any guest)? */
static bool svc_down(const struct camp_record *r, const struct camp_svc *s)
{
	if (s->stuck || !r->tree_checked)
		return true;
	return s->in_tree && !s->tree_up;
}

/* Restarts the supervisor logged for each service against the faults that
 * killed it: equal, or fewer by at most the escalated ones (a supervisor
 * that gives up restarts the subtree instead). */
static void check_restarts(const struct camp_record *r, struct verdict *v)
{
	size_t len = 0;

	for (size_t i = 0; i < r->nsvc; i++) {
		const struct camp_svc *s = &r->svc[i];
		int kills = 0, esc = 0;

		for (size_t j = 0; j < r->nf; j++) {
			const struct camp_fault *f = &r->f[j];

			if (strcmp(f->target, s->name) || !camp_fault_killed(f))
				continue;
			kills++;
			esc += f->escalated;
		}
		/* its own later failures and a sub-supervisor's escalations
		 * are restarts no fault into it explains */
		kills += s->own_exits + s->escalations;
		if (s->restarts_seen <= kills && s->restarts_seen >= kills - esc)
			continue;
		fail(v,
		     "restart count of %s: %d restarts for %d faults that killed it (%d escalated, "
		     "%d failures of its own)",
		     s->name, s->restarts_seen, kills - s->own_exits - s->escalations, esc,
		     s->own_exits);
		len += (size_t)snprintf(
		    v->restart_note + len,
		    len < sizeof(v->restart_note) ? sizeof(v->restart_note) - len : 0, "%s%s",
		    len ? ", " : "", s->name);
	}
}

/* --resp: respcheck reported, and its clients lost nothing and saw
 * nothing wrong (resets and stalls are figures, not failures). */
static void judge_resp(const struct camp_resp *p, struct verdict *v)
{
	if (!p->on)
		return;
	if (!p->reported) {
		fail(v, "respcheck gave no summary (exit status %d)", p->status);
		return;
	}
	if (p->lost || p->wrong || p->dup || p->errors || p->timeouts)
		fail(v,
		     "Redis clients: %" PRIu64 " lost, %" PRIu64 " wrong, %" PRIu64
		     " duplicated, %" PRIu64 " errors, %" PRIu64 " timeouts",
		     p->lost, p->wrong, p->dup, p->errors, p->timeouts);
	if (strcmp(p->final, "ok") != 0)
		fail(v, "Redis clients: the read-back at the end: %s", p->final);
	if (!p->replies)
		fail(v, "Redis clients: no answer at all");
}

/* Answers are excused only by a dataset change kv announced. */
static void judge_resets(const struct camp_record *r, struct verdict *v)
{
	const struct camp_resp *p = &r->resp;

	if (p->on && p->reported && p->state_resets > (uint64_t)r->redis_resets)
		fail(v,
		     "Redis clients saw the run_id change %" PRIu64
		     " times, kv announced %d new or damaged keyspaces",
		     p->state_resets, r->redis_resets);
}

static void judge(const struct camp_record *r, struct verdict *v)
{
	count_faults(r, v);
	v->lost = r->wl.timeouts;
	v->duplicated = r->wl.dups;
	v->wrong = r->wl.bad;
	v->errors = r->wl.errors;
	for (size_t i = 0; i < r->nsvc; i++)
		v->services_down += svc_down(r, &r->svc[i]);
	if (!r->finished)
		fail(v, "the record was not closed (camp_record_finish)");
	if (r->kernel_panics)
		fail(v, "the kernel panicked %d time(s)", r->kernel_panics);
	if (r->machine_stopped)
		fail(v, "the machine stopped: %s", r->why_stopped);
	if (r->nf == 0)
		fail(v, "no fault was injected%s%s", *r->why_stopped ? ": " : "", r->why_stopped);
	if (!r->tree_checked && !r->machine_stopped)
		fail(v, "the final `tree` could not be read on COM1");
	if (v->services_down)
		fail(v, "%d service(s) down at the end", v->services_down);
	if (!r->wl.seen || !r->workload_alive)
		fail(v, "the workload made no progress at the end");
	if (v->lost || v->duplicated || v->wrong || v->errors)
		fail(v,
		     "client-visible requests: %" PRIu64 " lost, %" PRIu64 " duplicated, %" PRIu64
		     " wrong, %" PRIu64 " errors",
		     v->lost, v->duplicated, v->wrong, v->errors);
	if (v->outcomes[CAMP_NOT_RECOVERED])
		fail(v, "%d fault(s) not recovered from", v->outcomes[CAMP_NOT_RECOVERED]);
	if (v->outcomes[CAMP_NOT_INJECTED])
		fail(v, "%d fault(s) the shell did not inject", v->outcomes[CAMP_NOT_INJECTED]);
	check_restarts(r, v);
	judge_resp(&r->resp, v);
	judge_resets(r, v);
	v->pass = v->nfail == 0;
}

/* ---------------------------------------------------------------- text */

static const char *const outcome_words[CAMP_NOUTCOMES] = {
	[CAMP_NO_RESTART] = "survived (no restart)",
	[CAMP_TRANSPARENT] = "recovered transparently",
	[CAMP_CLIENT_ERROR] = "recovered, a client saw an error",
	[CAMP_STATE_LOST] = "recovered, kept state reset",
	[CAMP_ESCALATED] = "escalated (subtree restarted)",
	[CAMP_NOT_RECOVERED] = "not recovered",
	[CAMP_NOT_INJECTED] = "not injected",
	[CAMP_KERNEL_DOWN] = "kernel down",
};

static void us_text(char *buf, size_t n, uint64_t us)
{
	if (us >= 1000000)
		snprintf(buf, n, "%.2f s", (double)us / 1e6);
	else if (us >= 1000)
		snprintf(buf, n, "%.2f ms", (double)us / 1e3);
	else
		snprintf(buf, n, "%" PRIu64 " us", us);
}

static void group_table(FILE *o, const char *title, const struct groups *gs)
{
	char a[32], b[32], c[32];

	fprintf(o, "\n%-10s %7s %7s %11s %11s %11s\n", title, "faults", "killed", "median", "p99",
		"max");
	for (size_t i = 0; i < gs->n; i++) {
		const struct lat *l = &gs->g[i].lat;

		if (l->n == 0) {
			fprintf(o, "%-10s %7d %7d %11s %11s %11s\n", gs->g[i].name, l->faults,
				l->killed, "no restart", "-", "-");
			continue;
		}
		us_text(a, sizeof(a), pct(l, 0.5));
		us_text(b, sizeof(b), pct(l, 0.99));
		us_text(c, sizeof(c), l->v[l->n - 1]);
		fprintf(o, "%-10s %7d %7d %11s %11s %11s\n", gs->g[i].name, l->faults, l->killed, a,
			b, c);
	}
}

/* --resp: respcheck's figures for one target (or all: target NULL), of
 * one kind of fault (or all: kind NULL). */
struct resp_fig {
	int faults;
	uint64_t resets, lost, wrong, excused;
	double stall_ms;
};

static struct resp_fig resp_fig(const struct camp_record *r, const char *target, const char *kind)
{
	struct resp_fig g = { 0 };

	for (size_t i = 0; i < r->nf; i++) {
		const struct camp_fault *f = &r->f[i];

		if ((target && strcmp(f->target, target) != 0) ||
		    (kind && strcmp(f->kind, kind) != 0))
			continue;
		g.faults++;
		g.resets += f->resp_resets;
		g.lost += f->resp_lost;
		g.wrong += f->resp_wrong;
		g.excused += f->resp_excused;
		if (f->resp_stall_ms > g.stall_ms)
			g.stall_ms = f->resp_stall_ms;
	}
	return g;
}

/* Each target once, in first-fault order: calls fn for each. */
static void each_target(const struct camp_record *r, FILE *o,
			void (*fn)(FILE *, const char *, const struct resp_fig *, bool))
{
	for (size_t i = 0, n = 0; i < r->nf; i++) {
		struct resp_fig g;
		size_t k = 0;

		while (k < i && strcmp(r->f[k].target, r->f[i].target) != 0)
			k++;
		if (k < i)
			continue;
		g = resp_fig(r, r->f[i].target, NULL);
		fn(o, r->f[i].target, &g, n++ == 0);
	}
}

/* The same for each target and kind, in first-fault order. */
static void each_target_kind(const struct camp_record *r, FILE *o)
{
	for (size_t i = 0; i < r->nf; i++) {
		const struct camp_fault *f = &r->f[i];
		struct resp_fig g;
		size_t k = 0;

		while (k < i && (strcmp(r->f[k].target, f->target) != 0 ||
				 strcmp(r->f[k].kind, f->kind) != 0))
			k++;
		if (k < i)
			continue;
		g = resp_fig(r, f->target, f->kind);
		fprintf(o,
			"%-10s %-7s %6d %7" PRIu64 " %7" PRIu64 " %7" PRIu64 " %7" PRIu64
			" %11.1f ms\n",
			f->target, f->kind, g.faults, g.resets, g.lost, g.wrong, g.excused,
			g.stall_ms);
	}
}

static void resp_row(FILE *o, const char *target, const struct resp_fig *g, bool first)
{
	(void)first;
	fprintf(o, "%-10s %7d %7" PRIu64 " %7" PRIu64 " %7" PRIu64 " %7" PRIu64 " %11.1f ms\n",
		target, g->faults, g->resets, g->lost, g->wrong, g->excused, g->stall_ms);
}

static void resp_text(FILE *o, const struct camp_record *r)
{
	const struct camp_resp *p = &r->resp;

	fprintf(o, "\nRedis clients (respcheck beside the guest)\n");
	if (!p->reported) {
		fprintf(o, "  no summary (exit status %d)\n", p->status);
		return;
	}
	fprintf(o,
		"  %" PRIu64 " requests, %" PRIu64 " answers; lost %" PRIu64 ", wrong %" PRIu64
		", duplicated %" PRIu64 ", errors %" PRIu64 ", timeouts %" PRIu64 "\n",
		p->requests, p->replies, p->lost, p->wrong, p->dup, p->errors, p->timeouts);
	fprintf(o,
		"  resets %" PRIu64 ", reconnects %" PRIu64 ", ambiguous %" PRIu64
		", late (over 10 s, then answered or reset) %" PRIu64
		", longest stall %.1f ms, read-back %s\n",
		p->resets, p->reconnects, p->ambiguous, p->late, p->stall_ms_max, p->final);
	fprintf(o,
		"  dataset changes (run_id) %" PRIu64 " of %d kv announced; answers they excused "
		"%" PRIu64 "\n",
		p->state_resets, r->redis_resets, p->excused);
	fprintf(o, "\n%-10s %7s %7s %7s %7s %7s %14s\n", "target", "faults", "resets", "lost",
		"wrong", "excused", "longest stall");
	each_target(r, o, resp_row);
	fprintf(o, "\n%-10s %-7s %6s %7s %7s %7s %7s %14s\n", "target", "kind", "faults", "resets",
		"lost", "wrong", "excused", "longest stall");
	each_target_kind(r, o);
}

static void write_text(FILE *o, const struct camp_record *r, const struct verdict *v)
{
	char a[32], b[32], c[32];

	fprintf(o, "Vesta fault campaign: %zu of %d faults, seed %" PRIu64 ", %s, %.0f s\n", r->nf,
		r->faults_asked, r->seed, r->accel, r->wall_s);
	fprintf(o, "kinds %s; targets %s\n", r->kinds, r->targets);
	/* A seed fixes the faults, not the run (tools/check.sh says the
	 * same): what can be repeated is said, and nothing more. */
	fprintf(o,
		"same faults: tools/campaign --faults %d --seed %" PRIu64
		" --jobs %d --kinds %s --targets %s\n"
		"  (the seed fixes which faults come and in what order, not when: the gaps\n"
		"  between them are host time, so a rerun may end differently; a fault\n"
		"  replays alone from its `fault SVC KIND ARG SEED` line)\n",
		r->faults_asked, r->seed, r->jobs, r->kinds, r->targets);
	if (r->jobs > 1)
		fprintf(o,
			"%d guests side by side; job k had seed %" PRIu64
			"+k and faults numbered from 1 (#k.i)\n",
			r->jobs, r->seed);
	if (r->stopped_early)
		fprintf(o, "stopped early: %s\n", r->why_stopped);
	fprintf(o, "\nkernel panics      %d\n", r->kernel_panics);
	fprintf(o, "services down      %d\n", v->services_down);
	fprintf(o, "requests lost      %" PRIu64 "\n", v->lost);
	fprintf(o, "requests dup       %" PRIu64 "\n", v->duplicated);
	fprintf(o, "requests wrong     %" PRIu64 "\n", v->wrong);
	fprintf(o, "request errors     %" PRIu64 " (of %" PRIu64 " right answers)\n", v->errors,
		r->wl.ok);
	us_text(a, sizeof(a), pct(&v->all, 0.5));
	us_text(b, sizeof(b), pct(&v->all, 0.99));
	us_text(c, sizeof(c), v->all.n ? v->all.v[v->all.n - 1] : 0);
	fprintf(o,
		"recovery           median %s, p99 %s, max %s (%zu restarts; death to serving)\n",
		a, b, c, v->all.n);
	us_text(a, sizeof(a), pct(&v->detect, 0.5));
	us_text(b, sizeof(b), pct(&v->detect, 0.99));
	us_text(c, sizeof(c), v->detect.n ? v->detect.v[v->detect.n - 1] : 0);
	fprintf(o, "detection          median %s, p99 %s, max %s (inject to death)\n", a, b, c);
	fprintf(o,
		"escalations        %d (giveups %d), kv resets %d, stash discards %d, "
		"dead letters %d\n",
		r->escalations, r->giveups, r->kv_resets, r->stash_discards, r->deadletters);
	fprintf(o,
		"kept state lost    %" PRIu64 " kv table resets told to the client, %" PRIu64
		" acknowledged keys lost with them; %d workload record resets\n",
		r->wl.kv_resets, r->wl.keys_lost, r->workload_resets);
	fprintf(o, "\noutcomes\n");
	for (int k = 0; k < CAMP_NOUTCOMES; k++)
		fprintf(o, "  %-34s %d\n", outcome_words[k], v->outcomes[k]);
	group_table(o, "kind", &v->kinds);
	group_table(o, "target", &v->targets);
	if (r->resp.on)
		resp_text(o, r);
	fprintf(o, "\n%-10s %7s %9s %9s %6s\n", "service", "killed", "restarts", "tree", "state");
	for (size_t i = 0; i < r->nsvc; i++) {
		const struct camp_svc *s = &r->svc[i];
		int kills = 0;

		for (size_t j = 0; j < r->nf; j++)
			kills += camp_fault_killed(&r->f[j]) && !strcmp(r->f[j].target, s->name);
		fprintf(o, "%-10s %7d %9d %9d %6s\n", s->name, kills, s->restarts_seen,
			s->tree_restarts, svc_down(r, s) ? "DOWN" : "up");
	}
	fprintf(o, "\nfaults that did not end well (replay one: fault SVC KIND ARG SEED)\n");
	for (size_t i = 0, shown = 0; i < r->nf && shown < 50; i++) {
		const struct camp_fault *f = &r->f[i];
		enum camp_outcome oc = camp_outcome_of(f);

		if (oc < CAMP_CLIENT_ERROR)
			continue;
		shown++;
		fprintf(o, "  #%d.%d fault %s %s %" PRIu64 " %" PRIu64 ": %s%s%s%s\n", f->job,
			f->index, f->target, f->kind, f->arg, f->seed, outcome_words[oc],
			camp_fault_killed(f) ? ", died: " : "",
			camp_fault_killed(f) ? f->reason : "", f->answer);
	}
	fprintf(o, "\n%s\n", v->pass ? "PASS" : "FAIL");
	for (int i = 0; i < v->nfail; i++)
		fprintf(o, "  - %s\n", v->failures[i]);
}

/* ---------------------------------------------------------------- JSON */

static void json_groups(FILE *o, const char *key, const struct groups *gs)
{
	fprintf(o, "  \"%s\": {", key);
	for (size_t i = 0; i < gs->n; i++) {
		const struct lat *l = &gs->g[i].lat;

		fprintf(o,
			"%s\n    \"%s\": {\"faults\": %d, \"killed\": %d, \"recovered\": %zu, "
			"\"recovery_us_p50\": %" PRIu64 ", \"recovery_us_p99\": %" PRIu64
			", \"recovery_us_max\": %" PRIu64 "}",
			i ? "," : "", gs->g[i].name, l->faults, l->killed, l->n, pct(l, 0.5),
			pct(l, 0.99), l->n ? l->v[l->n - 1] : 0);
	}
	fprintf(o, "\n  },\n");
}

/* A string without the characters that would need escaping in JSON. */
static void json_str(FILE *o, const char *s)
{
	fputc('"', o);
	for (; *s; s++)
		if (*s != '"' && *s != '\\' && (unsigned char)*s >= 0x20)
			fputc(*s, o);
	fputc('"', o);
}

static void resp_json_row(FILE *o, const char *target, const struct resp_fig *g, bool first)
{
	fprintf(o,
		"%s\n      \"%s\": {\"faults\": %d, \"resets\": %" PRIu64 ", \"lost\": %" PRIu64
		", \"wrong\": %" PRIu64 ", \"excused\": %" PRIu64 ", \"stall_ms_max\": %.1f}",
		first ? "" : ",", target, g->faults, g->resets, g->lost, g->wrong, g->excused,
		g->stall_ms);
}

static void resp_json(FILE *o, const struct camp_record *r)
{
	const struct camp_resp *p = &r->resp;

	fprintf(o,
		"  \"resp\": {\"reported\": %s, \"status\": %d, \"requests\": %" PRIu64
		", \"replies\": %" PRIu64 ", \"lost\": %" PRIu64 ", \"wrong\": %" PRIu64
		", \"duplicated\": %" PRIu64 ", \"errors\": %" PRIu64 ", \"timeouts\": %" PRIu64
		", \"ambiguous\": %" PRIu64 ", \"resets\": %" PRIu64 ", \"reconnects\": %" PRIu64
		", \"late\": %" PRIu64 ", \"stall_ms_max\": %.1f, \"state_resets\": %" PRIu64
		", \"redis_resets\": %d, \"excused\": %" PRIu64 ", \"final\": ",
		p->reported ? "true" : "false", p->status, p->requests, p->replies, p->lost,
		p->wrong, p->dup, p->errors, p->timeouts, p->ambiguous, p->resets, p->reconnects,
		p->late, p->stall_ms_max, p->state_resets, r->redis_resets, p->excused);
	json_str(o, p->final);
	fprintf(o, ",\n    \"by_target\": {");
	each_target(r, o, resp_json_row);
	fprintf(o, "\n    }\n  },\n");
}

static void write_json(FILE *o, const struct camp_record *r, const struct verdict *v)
{
	fprintf(o, "{\n  \"faults\": %zu,\n  \"faults_asked\": %d,\n  \"seed\": %" PRIu64 ",\n",
		r->nf, r->faults_asked, r->seed);
	fprintf(o, "  \"jobs\": %d,\n", r->jobs);
	fprintf(o, "  \"accel\": ");
	json_str(o, r->accel);
	fprintf(o, ",\n  \"kinds\": ");
	json_str(o, r->kinds);
	fprintf(o, ",\n  \"targets\": ");
	json_str(o, r->targets);
	fprintf(o, ",\n  \"kernel_panics\": %d,\n  \"lost\": %" PRIu64 ",\n", r->kernel_panics,
		v->lost);
	fprintf(o, "  \"duplicated\": %" PRIu64 ",\n  \"wrong\": %" PRIu64 ",\n", v->duplicated,
		v->wrong);
	fprintf(o, "  \"client_errors\": %" PRIu64 ",\n  \"requests_ok\": %" PRIu64 ",\n",
		v->errors, r->wl.ok);
	fprintf(o, "  \"services_down\": %d,\n", v->services_down);
	fprintf(o, "  \"recovery_us_p50\": %" PRIu64 ",\n  \"recovery_us_p99\": %" PRIu64 ",\n",
		pct(&v->all, 0.5), pct(&v->all, 0.99));
	fprintf(o, "  \"recovery_us_max\": %" PRIu64 ",\n  \"restarts\": %zu,\n",
		v->all.n ? v->all.v[v->all.n - 1] : 0, v->all.n);
	fprintf(o,
		"  \"detect_us_p50\": %" PRIu64 ",\n  \"detect_us_p99\": %" PRIu64
		",\n  \"detect_us_max\": %" PRIu64 ",\n",
		pct(&v->detect, 0.5), pct(&v->detect, 0.99),
		v->detect.n ? v->detect.v[v->detect.n - 1] : 0);
	fprintf(o, "  \"escalations\": %d,\n  \"giveups\": %d,\n  \"kv_resets\": %d,\n",
		r->escalations, r->giveups, r->kv_resets);
	fprintf(o, "  \"stash_discards\": %d,\n  \"deadletters\": %d,\n", r->stash_discards,
		r->deadletters);
	fprintf(o,
		"  \"kv_resets_told\": %" PRIu64 ",\n  \"keys_lost\": %" PRIu64
		",\n  \"workload_resets\": %d,\n",
		r->wl.kv_resets, r->wl.keys_lost, r->workload_resets);
	fprintf(o, "  \"wall_s\": %.1f,\n  \"stopped_early\": %s,\n", r->wall_s,
		r->stopped_early ? "true" : "false");
	fprintf(o, "  \"outcomes\": {");
	for (int k = 0; k < CAMP_NOUTCOMES; k++)
		fprintf(o, "%s\"%s\": %d", k ? ", " : "", camp_outcome_name[k], v->outcomes[k]);
	fprintf(o, "},\n");
	json_groups(o, "by_kind", &v->kinds);
	json_groups(o, "by_target", &v->targets);
	fprintf(o, "  \"services\": {");
	for (size_t i = 0; i < r->nsvc; i++)
		fprintf(o,
			"%s\n    \"%s\": {\"restarts_seen\": %d, \"tree_restarts\": %d, "
			"\"up\": %s}",
			i ? "," : "", r->svc[i].name, r->svc[i].restarts_seen,
			r->svc[i].tree_restarts, svc_down(r, &r->svc[i]) ? "false" : "true");
	fprintf(o, "\n  },\n  \"bad_faults\": [");
	for (size_t i = 0, n = 0; i < r->nf; i++) {
		const struct camp_fault *f = &r->f[i];
		enum camp_outcome oc = camp_outcome_of(f);

		if (oc < CAMP_CLIENT_ERROR)
			continue;
		fprintf(
		    o,
		    "%s\n    {\"job\": %d, \"index\": %d, \"target\": \"%s\", \"kind\": \"%s\", "
		    "\"arg\": %" PRIu64 ", \"seed\": %" PRIu64 ", \"outcome\": \"%s\"}",
		    n++ ? "," : "", f->job, f->index, f->target, f->kind, f->arg, f->seed,
		    camp_outcome_name[oc]);
	}
	fprintf(o, "\n  ],\n");
	if (r->resp.on)
		resp_json(o, r);
	fprintf(o, "  \"failures\": [");
	for (int i = 0; i < v->nfail; i++) {
		fprintf(o, "%s\n    ", i ? "," : "");
		json_str(o, v->failures[i]);
	}
	fprintf(o, "\n  ],\n  \"passed\": %s\n}\n", v->pass ? "true" : "false");
}

/* ---------------------------------------------------------------- SVG */

/* The chart: one row per kind, a log time axis from 10 µs to 10 s; every
 * recovery a dot, the median a bar, p99 a thin bar. */
#define SVG_W 860
#define SVG_LEFT 110
#define SVG_RIGHT 180
#define SVG_ROW 34
#define SVG_TOP 50
#define LOG_MIN 1.0 /* 10 µs */
#define LOG_MAX 7.0 /* 10 s */

static double svg_x(uint64_t us)
{
	double l = log10(us ? (double)us : 1.0);

	if (l < LOG_MIN)
		l = LOG_MIN;
	if (l > LOG_MAX)
		l = LOG_MAX;
	return SVG_LEFT + (l - LOG_MIN) / (LOG_MAX - LOG_MIN) * (SVG_W - SVG_LEFT - SVG_RIGHT);
}

static void write_svg(FILE *o, const struct camp_record *r, const struct verdict *v)
{
	static const char *const ticks[] = { "10 us",  "100 us", "1 ms", "10 ms",
					     "100 ms", "1 s",	 "10 s" };
	int h = SVG_TOP + (int)v->kinds.n * SVG_ROW + 50;
	double plot_w = SVG_W - SVG_LEFT - SVG_RIGHT;
	char a[32];

	fprintf(o,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"font-family=\"sans-serif\" font-size=\"12\">\n",
		SVG_W, h);
	fprintf(o, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
	fprintf(o,
		"<text x=\"%d\" y=\"20\" font-size=\"14\" font-weight=\"bold\">Recovery "
		"recovery per fault kind (death to serving again), %zu faults, seed %" PRIu64
		"</text>\n",
		10, r->nf, r->seed);
	fprintf(o,
		"<text x=\"%d\" y=\"36\" fill=\"#555\">dot: one restart; thick bar: median; "
		"thin bar: p99</text>\n",
		10);
	for (int t = 0; t <= 6; t++) {
		double x = SVG_LEFT + t * plot_w / 6;

		fprintf(o, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>\n",
			x, SVG_TOP - 5, x, h - 40);
		fprintf(o, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", x,
			h - 25, ticks[t]);
	}
	for (size_t i = 0; i < v->kinds.n; i++) {
		const struct group *g = &v->kinds.g[i];
		const struct lat *l = &g->lat;
		int y = SVG_TOP + (int)i * SVG_ROW + SVG_ROW / 2;

		fprintf(o, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n", SVG_LEFT - 8,
			y + 4, g->name);
		if (l->n == 0) {
			fprintf(
			    o,
			    "<text x=\"%d\" y=\"%d\" fill=\"#777\">no restart (%d faults)</text>\n",
			    SVG_LEFT + 4, y + 4, l->faults);
			continue;
		}
		for (size_t k = 0; k < l->n; k++)
			fprintf(o,
				"<circle cx=\"%.1f\" cy=\"%d\" r=\"3\" fill=\"#2a6fdb\" "
				"fill-opacity=\"0.35\"/>\n",
				svg_x(l->v[k]), y + (int)(k % 5) * 2 - 4);
		fprintf(o,
			"<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#c0392b\" "
			"stroke-width=\"4\"/>\n",
			svg_x(pct(l, 0.5)), y - 11, svg_x(pct(l, 0.5)), y + 11);
		fprintf(o,
			"<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#c0392b\" "
			"stroke-width=\"1.5\"/>\n",
			svg_x(pct(l, 0.99)), y - 11, svg_x(pct(l, 0.99)), y + 11);
		us_text(a, sizeof(a), pct(l, 0.5));
		fprintf(o, "<text x=\"%d\" y=\"%d\">n=%zu/%d, median %s</text>\n",
			SVG_W - SVG_RIGHT + 10, y + 4, l->n, l->faults, a);
	}
	fprintf(o, "</svg>\n");
}

/* ---------------------------------------------------------------- files */

static bool write_file(const char *dir, const char *name, const struct camp_record *r,
		       const struct verdict *v,
		       void (*fn)(FILE *, const struct camp_record *, const struct verdict *))
{
	char *path = util_path_join(dir, name);
	FILE *o = fopen(path, "w");
	bool ok = o != NULL;

	if (o) {
		fn(o, r, v);
		ok = fclose(o) == 0;
	}
	if (!ok)
		perror(path);
	free(path);
	return ok;
}

bool camp_report(const struct camp_record *r, const char *dir, FILE *say)
{
	static struct verdict v;
	bool io;
	char a[32], b[32], c[32];

	memset(&v, 0, sizeof(v));
	judge(r, &v);
	io = write_file(dir, "report.txt", r, &v, write_text);
	io &= write_file(dir, "report.json", r, &v, write_json);
	io &= write_file(dir, "recovery.svg", r, &v, write_svg);
	us_text(a, sizeof(a), pct(&v.all, 0.5));
	us_text(b, sizeof(b), pct(&v.all, 0.99));
	us_text(c, sizeof(c), v.all.n ? v.all.v[v.all.n - 1] : 0);
	if (say) {
		write_text(say, r, &v);
		fprintf(say,
			"campaign: %s: %zu faults, %d panics, %d down, %" PRIu64 " lost, %" PRIu64
			" dup, %" PRIu64 " wrong, %" PRIu64
			" errors, recovery p50 %s p99 %s max %s, "
			"seed %" PRIu64 " (report: %s/report.txt)\n",
			v.pass && io ? "PASS" : "FAIL", r->nf, r->kernel_panics, v.services_down,
			v.lost, v.duplicated, v.wrong, v.errors, a, b, c, r->seed, dir);
	}
	free(v.all.v);
	free(v.detect.v);
	for (size_t i = 0; i < v.kinds.n; i++)
		free(v.kinds.g[i].lat.v);
	for (size_t i = 0; i < v.targets.n; i++)
		free(v.targets.g[i].lat.v);
	return v.pass && io;
}
