/*
 * The campaign's event-log bookkeeping (campaign_track.h): each COM2 event
 * is decoded once into a type and the fields every rule reads, then
 * dispatched to one handler per kind of fact: a fault's course, a
 * service's life, kept state lost, what the workload counted.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign_track.h"

#include <vesta/abi.h>

/* A timeout counts against the fault before the call began: the workload
 * gives up on a call after this long. */
#define WL_CALL_TIMEOUT_NS 10000000000ull

enum ev_type {
	EV_OTHER,
	EV_PANIC,
	EV_READY,
	EV_SHELL_READY,
	EV_INJECT,
	EV_SPAWN,
	EV_CHAN_SERVE,
	EV_EXIT,
	EV_STOP,
	EV_RESTART,
	EV_START,
	EV_ESCALATE,
	EV_GIVEUP,
	EV_SUP_RESTART,
	EV_KV_RESET,
	EV_KV_REDIS,
	EV_STASH_DISCARD,
	EV_WORKLOAD_RESET,
	EV_WORKLOAD,
	EV_DEADLETTER,
	EV_NTYPES
};

static const char *const ev_names[EV_NTYPES] = {
	[EV_PANIC] = "panic",
	[EV_READY] = "ready",
	[EV_SHELL_READY] = "shell_ready",
	[EV_INJECT] = "inject",
	[EV_SPAWN] = "spawn",
	[EV_CHAN_SERVE] = "chan_serve",
	[EV_EXIT] = "exit",
	[EV_STOP] = "stop",
	[EV_RESTART] = "restart",
	[EV_START] = "start",
	[EV_ESCALATE] = "escalate",
	[EV_GIVEUP] = "giveup",
	[EV_SUP_RESTART] = "sup_restart",
	[EV_KV_RESET] = "kv_reset",
	[EV_KV_REDIS] = "kv_redis",
	[EV_STASH_DISCARD] = "stash_discard",
	[EV_WORKLOAD_RESET] = "workload_reset",
	[EV_WORKLOAD] = "workload",
	[EV_DEADLETTER] = "deadletter",
};

static const char *const reason_names[VE_NREASONS] = VE_REASON_NAMES;

/* One event, decoded: what every rule reads, plus the line for the rest. */
struct ev {
	enum ev_type type;
	const struct jsonline *obj;
	const char *name; /* the service it names, or NULL */
	int pid;
	uint64_t t_ns;
};

static const char *ev_str(const struct ev *e, const char *key)
{
	const struct jsonline_pair *p = jsonline_find(e->obj, key);

	return p ? p->value : NULL;
}

static uint64_t ev_u64(const struct ev *e, const char *key)
{
	const char *v = ev_str(e, key);

	return v ? strtoull(v, NULL, 10) : 0;
}

static struct ev decode(const struct jsonline *obj)
{
	const struct jsonline_pair *ev = jsonline_find(obj, "ev");
	struct ev e = { .type = EV_OTHER, .obj = obj };

	for (int k = 1; ev && k < EV_NTYPES; k++)
		if (!strcmp(ev->value, ev_names[k]))
			e.type = (enum ev_type)k;
	e.name = ev_str(&e, "name");
	e.pid = (int)ev_u64(&e, "pid");
	e.t_ns = ev_u64(&e, "t_ns");
	return e;
}

/* An exit's reason; VE_NREASONS for one this build does not know. */
static enum ve_reason reason_of(const struct ev *e)
{
	const char *r = ev_str(e, "reason");

	for (int k = 0; r && k < VE_NREASONS; k++)
		if (reason_names[k] && !strcmp(r, reason_names[k]))
			return (enum ve_reason)k;
	return VE_NREASONS;
}

/* Copy a string into a fixed field, cut short if need be. */
static void set_str(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

static void remember_pid(struct camp_track *t, int pid, const char *name)
{
	unsigned i = t->npids++ % CAMP_TRACK_PIDS;

	t->pids[i].pid = pid;
	set_str(t->pids[i].name, sizeof(t->pids[i].name), name);
}

static const char *name_of(const struct camp_track *t, int pid)
{
	for (unsigned i = 0; i < CAMP_TRACK_PIDS; i++)
		if (t->pids[i].pid == pid)
			return t->pids[i].name;
	return "";
}

/* The latest fault into svc, or NULL. */
static struct camp_fault *last_fault_into(struct camp_track *t, const char *svc)
{
	for (size_t i = t->r->nf; i-- > 0;)
		if (strcmp(t->r->f[i].target, svc) == 0 && t->r->f[i].pid)
			return &t->r->f[i];
	return NULL;
}

/* The latest fault injected at or before t_ns, or NULL. */
static struct camp_fault *fault_at(struct camp_track *t, uint64_t t_ns)
{
	for (size_t i = t->r->nf; i-- > 0;)
		if (t->r->f[i].pid && t->r->f[i].inject_ns <= t_ns)
			return &t->r->f[i];
	return NULL;
}

bool camp_kind_may_survive(const char *kind)
{
	return !strcmp(kind, "corrupt") || !strcmp(kind, "leak") || !strcmp(kind, "garbage") ||
	       !strcmp(kind, "slow");
}

/* ---------------------------------------------------------------- a service's life */

/* What the log says happened to a service's process. */
enum svc_input {
	SVC_EXITED,  /* its current process ended */
	SVC_STOPPED, /* its supervisor says it stopped it */
	SVC_STARTED, /* its supervisor (re)started it */
	SVC_KERNEL,  /* the kernel restarted it (the root supervisor: sup_restart) */
};

/*
 * The one transition function of a service's life (campaign.h). An exit
 * comes before the `stop` that explains it, and a new process's spawn
 * before the `restart` or `start` that names it, so a (re)start finds the
 * service still DIED when its process ended by itself: that (re)start is
 * its own, whatever the restart names as cause (under rest_for_one a
 * sibling's failure may restart it just as it died by itself) and even as
 * a `start` (its supervisor died before restarting it; the next one found
 * it missing). A child the supervisor stopped restarts for the sibling.
 * The kernel restarts the root supervisor only when it died: always its
 * own. Returns true for a restart of its own.
 */
static bool svc_step(struct camp_svc *s, enum svc_input in)
{
	bool own = false;

	switch (in) {
	case SVC_EXITED:
		s->life = CAMP_SVC_DIED;
		break;
	case SVC_STOPPED:
		s->life = CAMP_SVC_STOPPED;
		break;
	case SVC_STARTED:
		own = s->life == CAMP_SVC_DIED;
		s->life = CAMP_SVC_UP;
		break;
	case SVC_KERNEL:
		own = true;
		s->life = CAMP_SVC_UP;
		break;
	}
	s->restarts_seen += own;
	return own;
}

/* ---------------------------------------------------------------- a fault's course */

enum fault_input {
	F_BEGIN,  /* typed */
	F_INJECT, /* its inject event */
	F_EXIT,	  /* its target's process ended in its window */
	F_SERVES, /* the target's next process serves (or runs) */
	F_END,	  /* over, whatever the phase */
};

/* The one transition function of the fault being handled (campaign_track.h
 * draws the machine). Returns the news for the driver. */
static enum camp_news_kind fault_step(struct camp_track *t, enum fault_input in)
{
	switch (in) {
	case F_BEGIN:
		t->ph = CAMP_F_TYPED;
		t->cur_by_kill = false;
		return CAMP_NEWS_NONE;
	case F_INJECT:
		t->ph = CAMP_F_OBSERVE;
		return CAMP_NEWS_INJECTED;
	case F_EXIT:
		t->ph = CAMP_F_RECOVER;
		return CAMP_NEWS_KILLED;
	case F_SERVES:
	case F_END:
		t->ph = CAMP_F_IDLE;
		t->cur = NULL;
		return in == F_SERVES ? CAMP_NEWS_RECOVERED : CAMP_NEWS_NONE;
	}
	return CAMP_NEWS_NONE;
}

/* An inject event that came after the driver gave up waiting for it (a
 * guest too busy to log it in time): the fault happened after all. */
static void late_inject(struct camp_track *t, const struct ev *e)
{
	uint64_t seed = ev_u64(e, "seed");

	for (size_t i = t->r->nf; i-- > 0;) {
		struct camp_fault *f = &t->r->f[i];

		if (f->seed != seed || f->outcome != CAMP_NOT_INJECTED)
			continue;
		f->pid = e->pid;
		f->inject_ns = e->t_ns;
		f->outcome = CAMP_NO_RESTART;
		f->answer[0] = '\0';
		return;
	}
}

static enum camp_news_kind on_inject(struct camp_track *t, const struct ev *e)
{
	struct camp_fault *f = t->cur;

	if (t->ph != CAMP_F_TYPED || !f) {
		late_inject(t, e);
		return CAMP_NEWS_NONE;
	}
	f->pid = e->pid;
	f->inject_ns = e->t_ns;
	set_str(f->kind, sizeof(f->kind), ev_str(e, "kind"));
	set_str(f->target, sizeof(f->target), ev_str(e, "target"));
	return fault_step(t, F_INJECT);
}

static enum camp_news_kind on_exit_ev(struct camp_track *t, const struct ev *e)
{
	enum ve_reason why = reason_of(e);
	struct camp_fault *f = t->cur, *late;
	struct camp_svc *s = e->name ? camp_svc_get(t->r, e->name) : NULL;

	if (s && s->pid == e->pid)
		svc_step(s, SVC_EXITED); /* until a `stop` says its supervisor did it */
	if (f && e->pid == f->pid && (t->ph == CAMP_F_OBSERVE || t->ph == CAMP_F_TYPED)) {
		f->death = CAMP_DIED;
		f->exit_ns = e->t_ns;
		set_str(f->reason, sizeof(f->reason), ev_str(e, "reason"));
		t->cur_by_kill = why == VE_R_KILLED;
		return fault_step(t, F_EXIT);
	}
	/* A service's own failure long after a fault into it (a corruption
	 * that bit later): that fault killed it after all. A kill is
	 * somebody else's doing. */
	if (!e->name || !ev_str(e, "reason") || why == VE_R_KILLED)
		return CAMP_NEWS_NONE;
	late = last_fault_into(t, e->name);
	if (late && late->pid == e->pid && late->death == CAMP_SURVIVED && late != f) {
		late->death = CAMP_DIED_LATE;
		set_str(late->reason, sizeof(late->reason), ev_str(e, "reason"));
	} else if (s && s->pid == e->pid) {
		s->own_exits++;
	}
	return CAMP_NEWS_NONE;
}

/*
 * Its supervisor stopped a service (for a sibling's restart, under
 * rest_for_one or one_for_all). An exit just before it was that stop, not
 * a death of its own: even when the fault being handled was into this
 * service and its exit (a kill) came in the fault's window, the fault did
 * not kill it (the supervisor counts no restart of its own for it).
 */
static void on_stop(struct camp_track *t, const struct ev *e)
{
	struct camp_fault *f = t->cur;
	struct camp_svc *s;

	if (!e->name || !(s = camp_svc_get(t->r, e->name)))
		return;
	svc_step(s, SVC_STOPPED);
	if (f && f->death == CAMP_DIED && t->cur_by_kill && !strcmp(f->target, e->name)) {
		f->death = CAMP_SURVIVED;
		f->reason[0] = '\0';
		t->cur_by_kill = false;
	}
}

static struct camp_news on_restart(struct camp_track *t, const struct ev *e)
{
	const char *cause = ev_str(e, "cause");
	struct camp_news n = { .what = CAMP_NEWS_NONE, .name = e->name, .t_ns = e->t_ns };
	struct camp_svc *s;

	if (!e->name || !(s = camp_svc_get(t->r, e->name)))
		return n;
	svc_step(s, SVC_STARTED);
	/* What the supervisor holds against its intensity: its cause. */
	if (cause && !strcmp(e->name, cause))
		n.what = CAMP_NEWS_OWN_RESTART;
	return n;
}

static void on_spawn(struct camp_track *t, const struct ev *e)
{
	struct camp_svc *s;

	if (!e->name)
		return;
	remember_pid(t, e->pid, e->name);
	if ((s = camp_svc_get(t->r, e->name)))
		s->pid = e->pid;
}

static void on_chan_serve(struct camp_track *t, const struct ev *e)
{
	const char *name = name_of(t, e->pid);
	struct camp_svc *s;

	if (*name && (s = camp_svc_get(t->r, name)))
		s->serves = true;
}

/* Did this event show the fault's target serving (or running) again? */
static bool is_recovery(struct camp_track *t, const struct ev *e)
{
	struct camp_fault *f = t->cur;
	struct camp_svc *s = camp_svc_get(t->r, f->target);

	if (e->pid == f->pid || strcmp(name_of(t, e->pid), f->target) != 0)
		return false;
	if (s && s->serves)
		return e->type == EV_CHAN_SERVE;
	return e->type == EV_SPAWN;
}

/* ---------------------------------------------------------------- what clients saw */

static void on_workload(struct camp_track *t, const struct ev *e)
{
	struct camp_workload *w = &t->r->wl, now = {
		.seen = true,
		.ok = ev_u64(e, "ok"),
		.bad = ev_u64(e, "bad"),
		.errors = ev_u64(e, "errors"),
		.timeouts = ev_u64(e, "timeouts"),
		.dups = ev_u64(e, "dups"),
		.keys_lost = ev_u64(e, "lost"),
		.kv_resets = ev_u64(e, "kv_resets"),
	};
	uint64_t sum, to;
	struct camp_fault *f;

	/* Counters that went back: the workload lost its record and counts
	 * from zero; what it counted before still counts. */
	if (now.ok < t->wl_raw.ok)
		camp_workload_add(&t->wl_base, &t->wl_raw);
	t->wl_raw = now;
	*w = t->wl_base;
	camp_workload_add(w, &now);
	w->seen = true;
	sum = w->bad + w->errors + w->dups;
	to = w->timeouts;
	/* Errors and wrong answers belong to the fault before this report;
	 * a timeout to the one before the call began. */
	if (sum > t->wl_prev_sum && (f = fault_at(t, e->t_ns)))
		f->client_errors += sum - t->wl_prev_sum;
	if (to > t->wl_prev_to &&
	    (f = fault_at(t, e->t_ns > WL_CALL_TIMEOUT_NS ? e->t_ns - WL_CALL_TIMEOUT_NS : 0)))
		f->client_errors += to - t->wl_prev_to;
	t->wl_prev_sum = sum;
	t->wl_prev_to = to;
}

static void on_deadletter(struct camp_track *t)
{
	t->r->deadletters++;
	if (t->cur)
		t->cur->client_errors++;
}

/* ---------------------------------------------------------------- kept state lost */

/* kv's table: a new generation is a loss, except its first table of the
 * boot and the "new" table right after a discard of its stash (the
 * discard was the loss). kv may post a reset again when it died just
 * after it (same gen): one table, one loss. */
static bool kv_table_lost(struct camp_track *t, const struct ev *e, bool is_new)
{
	const char *gen = ev_str(e, "gen");
	bool loss;

	if (gen && !strcmp(gen, t->kv_gen))
		return false;
	set_str(t->kv_gen, sizeof(t->kv_gen), gen);
	loss = !(is_new && (!t->kv_made || t->kv_discarded));
	t->r->kv_resets += loss;
	t->kv_made = true;
	t->kv_discarded = false;
	return loss;
}

/* The workload's record: its counters start again from 0; a loss except
 * its first record of the boot. */
static bool wl_record_lost(struct camp_track *t, const char *why, bool is_new)
{
	bool loss;

	if (is_new || (why && !strcmp(why, "lost"))) {
		camp_workload_add(&t->wl_base, &t->wl_raw);
		memset(&t->wl_raw, 0, sizeof(t->wl_raw));
	}
	loss = !(is_new && !t->wl_made);
	t->r->workload_resets += loss;
	t->wl_made = true;
	return loss;
}

/*
 * kv_reset, stash_discard, workload_reset: state a service kept is gone, a
 * loss for the fault being handled (or the latest). A kv table made after
 * a reset whose making was cut short by a death also says "new": that is
 * still a loss.
 */
static void on_state_reset(struct camp_track *t, const struct ev *e)
{
	const char *why = ev_str(e, "reason");
	struct camp_fault *f = t->cur ? t->cur : fault_at(t, e->t_ns);
	bool is_new = why && !strcmp(why, "new"), loss;

	if (e->type == EV_KV_REDIS) {
		/* Anew (not the boot's first) or with records lost: its run_id
		 * changed, and a client's keys may be gone. */
		const char *made = ev_str(e, "made"), *bad = ev_str(e, "bad_records");

		loss = ((made && strcmp(made, "kept") != 0) && t->redis_made) ||
		       (bad && strcmp(bad, "0") != 0);
		t->redis_made = true;
		t->r->redis_resets += loss;
	} else if (e->type == EV_STASH_DISCARD) {
		t->r->stash_discards++;
		t->kv_discarded |= e->name && !strcmp(e->name, "kv");
		loss = true;
	} else if (e->type == EV_KV_RESET) {
		loss = kv_table_lost(t, e, is_new);
	} else {
		loss = wl_record_lost(t, why, is_new);
	}
	if (loss && f)
		f->state_lost = true;
}

/* escalate, giveup: a supervisor gave up on its children. */
static void on_escalate(struct camp_track *t, const struct ev *e)
{
	struct camp_svc *s;

	if (e->type == EV_ESCALATE) {
		t->r->escalations++;
		if ((s = camp_svc_get(t->r, e->name ? e->name : "")))
			s->escalations++;
	} else {
		t->r->giveups++;
	}
	if (t->cur)
		t->cur->escalated = true;
}

/* ---------------------------------------------------------------- the API */

void camp_track_begin(struct camp_track *t, struct camp_fault *f)
{
	fault_step(t, F_END);
	t->cur = f;
	fault_step(t, F_BEGIN);
}

void camp_track_timeout(struct camp_track *t)
{
	if (t->ph == CAMP_F_OBSERVE && !camp_kind_may_survive(t->cur->kind))
		t->cur->outcome = CAMP_NOT_RECOVERED; /* never died */
	fault_step(t, F_END);
}

void camp_track_end(struct camp_track *t)
{
	fault_step(t, F_END);
}

/* The facts an event tells, whatever the fault being handled. */
static struct camp_news facts(struct camp_track *t, const struct ev *e)
{
	struct camp_news n = { .what = CAMP_NEWS_NONE, .t_ns = e->t_ns };
	struct camp_svc *s;

	switch (e->type) {
	case EV_PANIC:
		t->r->kernel_panics++;
		if (t->cur)
			t->cur->panic = true;
		n.what = CAMP_NEWS_PANIC;
		break;
	case EV_READY:
		t->sup_ready |= jsonline_find(e->obj, "pid") != NULL; /* not the kernel's */
		break;
	case EV_SHELL_READY:
		t->shell_ready = true;
		break;
	case EV_INJECT:
		n.what = on_inject(t, e);
		break;
	case EV_SPAWN:
		on_spawn(t, e);
		break;
	case EV_CHAN_SERVE:
		on_chan_serve(t, e);
		break;
	case EV_EXIT:
		n.what = on_exit_ev(t, e);
		break;
	case EV_STOP:
		on_stop(t, e);
		break;
	case EV_RESTART:
	case EV_START:
		n = on_restart(t, e);
		break;
	case EV_ESCALATE:
	case EV_GIVEUP:
		on_escalate(t, e);
		break;
	case EV_SUP_RESTART: /* the kernel's restart of the root supervisor */
		if ((s = camp_svc_get(t->r, "supervisor")))
			svc_step(s, SVC_KERNEL);
		n.what = CAMP_NEWS_SUP_RESTART;
		break;
	case EV_KV_RESET:
	case EV_KV_REDIS:
	case EV_STASH_DISCARD:
	case EV_WORKLOAD_RESET:
		on_state_reset(t, e);
		break;
	case EV_WORKLOAD:
		on_workload(t, e);
		break;
	case EV_DEADLETTER:
		on_deadletter(t);
		break;
	case EV_OTHER:
	case EV_NTYPES:
		break;
	}
	return n;
}

struct camp_news camp_track_event(struct camp_track *t, const struct jsonline *obj)
{
	struct ev e = decode(obj);
	struct camp_news n = facts(t, &e);

	if (n.what == CAMP_NEWS_NONE && t->ph == CAMP_F_RECOVER && is_recovery(t, &e)) {
		struct camp_fault *f = t->cur;

		if (f->death == CAMP_DIED) /* not taken back by a stop */
			f->death = CAMP_RECOVERED;
		f->recovery_us = (e.t_ns - f->exit_ns) / 1000;
		f->detect_us = (f->exit_ns - f->inject_ns) / 1000;
		n.what = fault_step(t, F_SERVES);
	}
	return n;
}

bool camp_track_tree(struct camp_record *r, const char *out)
{
	const char *p = strstr(out, "root supervisor");
	char name[64], type[32], state[32];

	if (!p || !strstr(p, "vesta> "))
		return false;
	while (*p && strncmp(p, "vesta> ", 7) != 0) {
		const char *rs = strstr(p, "restarts=");
		const char *nl = strchr(p, '\n');
		struct camp_svc *s;

		if (sscanf(p, " %63s %31s %31s", name, type, state) == 3 &&
		    !strcmp(type, "service") && rs && (!nl || rs < nl) &&
		    (s = camp_svc_get(r, name))) {
			s->in_tree = true;
			s->tree_up = !strcmp(state, "up");
			s->tree_restarts = atoi(rs + 9);
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	return true;
}
