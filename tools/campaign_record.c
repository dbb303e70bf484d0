/*
 * A campaign record closed (each fault's outcome, the services a fault
 * left stuck), on disk, and records added together: `campaign --jobs
 * J` runs J guests side by side, each in a child process that saves its
 * record; the parent loads them and merges them into the one record the
 * report judges. The file is the record struct followed by its faults, for
 * the same binary to read back (it is a hand-over, not an archive).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign.h"
#include "util.h"

#define RECORD_MAGIC 0x3164726f63657276ull /* "vrecord1" */

int camp_record_save(const struct camp_record *r, const char *path)
{
	struct camp_record head = *r;
	uint64_t magic = RECORD_MAGIC;
	FILE *o = fopen(path, "wb");
	int ok;

	if (!o)
		return -1;
	head.f = NULL;
	head.accel = head.kinds = head.targets = NULL;
	ok = fwrite(&magic, sizeof(magic), 1, o) == 1 && fwrite(&head, sizeof(head), 1, o) == 1 &&
	     (r->nf == 0 || fwrite(r->f, sizeof(*r->f), r->nf, o) == r->nf);
	if (fclose(o) != 0)
		ok = 0;
	return ok ? 0 : -1;
}

int camp_record_load(struct camp_record *r, const char *path)
{
	uint64_t magic = 0;
	FILE *in = fopen(path, "rb");
	int ok;

	if (!in)
		return -1;
	ok = fread(&magic, sizeof(magic), 1, in) == 1 && magic == RECORD_MAGIC &&
	     fread(r, sizeof(*r), 1, in) == 1;
	r->f = NULL;
	if (ok && r->nf) {
		r->f = util_realloc(NULL, r->nf * sizeof(*r->f));
		ok = fread(r->f, sizeof(*r->f), r->nf, in) == r->nf;
	}
	fclose(in);
	if (!ok) {
		free(r->f);
		r->f = NULL;
		r->nf = 0;
		errno = EINVAL;
		return -1;
	}
	return 0;
}

enum camp_outcome camp_outcome_of(const struct camp_fault *f)
{
	if (f->panic)
		return CAMP_KERNEL_DOWN;
	if (f->outcome == CAMP_NOT_INJECTED || f->outcome == CAMP_NOT_RECOVERED)
		return f->outcome;
	if (f->death == CAMP_DIED)
		return CAMP_NOT_RECOVERED;
	if (f->escalated)
		return CAMP_ESCALATED;
	if (f->state_lost)
		return CAMP_STATE_LOST;
	if (f->client_errors)
		return CAMP_CLIENT_ERROR;
	return camp_fault_killed(f) ? CAMP_TRANSPARENT : CAMP_NO_RESTART;
}

void camp_record_finish(struct camp_record *r)
{
	for (size_t i = 0; i < r->nsvc; i++) {
		struct camp_svc *s = &r->svc[i];

		for (size_t j = r->nf; j-- > 0;) {
			const struct camp_fault *f = &r->f[j];

			if (strcmp(f->target, s->name) != 0 || !f->pid)
				continue;
			s->stuck = camp_outcome_of(f) == CAMP_NOT_RECOVERED && s->pid == f->pid;
			break;
		}
	}
	r->finished = true;
}

void camp_workload_add(struct camp_workload *a, const struct camp_workload *b)
{
	a->ok += b->ok;
	a->bad += b->bad;
	a->errors += b->errors;
	a->timeouts += b->timeouts;
	a->dups += b->dups;
	a->keys_lost += b->keys_lost;
	a->kv_resets += b->kv_resets;
}

/* Service b of one guest into a; first: a holds nothing yet. */
static void merge_svc(struct camp_svc *a, const struct camp_svc *b, bool first)
{
	if (first) {
		*a = *b;
		return;
	}
	a->restarts_seen += b->restarts_seen;
	a->escalations += b->escalations;
	a->own_exits += b->own_exits;
	a->serves |= b->serves;
	a->tree_restarts =
	    a->tree_restarts < 0 || b->tree_restarts < 0 ? -1 : a->tree_restarts + b->tree_restarts;
	a->tree_up = a->tree_up && b->tree_up; /* down in any guest is down */
	a->in_tree = a->in_tree || b->in_tree;
	a->stuck = a->stuck || b->stuck;
}

void camp_record_merge(struct camp_record *a, const struct camp_record *b)
{
	bool first = a->jobs == 0;

	a->f = util_realloc(a->f, (a->nf + b->nf + 1) * sizeof(*a->f));
	if (b->nf)
		memcpy(a->f + a->nf, b->f, b->nf * sizeof(*b->f));
	a->nf += b->nf;
	for (size_t i = 0; i < b->nsvc; i++) {
		struct camp_svc *s = camp_svc_get(a, b->svc[i].name);

		if (s)
			merge_svc(s, &b->svc[i], first);
	}
	a->wl.seen = first ? b->wl.seen : a->wl.seen && b->wl.seen;
	camp_workload_add(&a->wl, &b->wl);
	a->workload_alive = first ? b->workload_alive : a->workload_alive && b->workload_alive;
	a->tree_checked = first ? b->tree_checked : a->tree_checked && b->tree_checked;
	a->finished = first ? b->finished : a->finished && b->finished;
	a->kernel_panics += b->kernel_panics;
	a->machine_stopped |= b->machine_stopped;
	a->escalations += b->escalations;
	a->giveups += b->giveups;
	a->kv_resets += b->kv_resets;
	a->deadletters += b->deadletters;
	a->stash_discards += b->stash_discards;
	a->redis_resets += b->redis_resets;
	a->workload_resets += b->workload_resets;
	camp_resp_merge(&a->resp, &b->resp, first);
	if (b->wall_s > a->wall_s)
		a->wall_s = b->wall_s;
	if (b->stopped_early && !a->stopped_early)
		snprintf(a->why_stopped, sizeof(a->why_stopped), "job %d: %.140s", a->jobs,
			 b->why_stopped);
	a->stopped_early |= b->stopped_early;
	a->jobs++;
}
