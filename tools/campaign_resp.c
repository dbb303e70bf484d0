/*
 * The campaign's --resp mode: respcheck beside the guest. Reading its
 * summary line into the record, lining its incidents (resets, lost and
 * wrong answers, stalls; one JSON line each, host CLOCK_MONOTONIC time)
 * up with the faults' windows, merging jobs, and starting and stopping
 * the process. The reading is pure and host-tested (test_campaign_resp).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "campaign.h"
#include "campaign_resp.h"
#include "jsonline.h"
#include "util.h"

/* respcheck waits up to DRAIN_MS for the replies still due (TCP's
 * retransmission backoff after a burst of faults stalls a connection for
 * tens of seconds under TCG on a loaded host) and may wait 30 s for the
 * server to take its read-back: past STOP_BOUND_S it is killed. */
#define DRAIN_MS "60000"
#define STOP_BOUND_S 120.0

static const char *value(const struct jsonline *o, const char *key)
{
	const struct jsonline_pair *p = jsonline_find(o, key);

	return p ? p->value : "";
}

static uint64_t u64(const struct jsonline *o, const char *key)
{
	return strtoull(value(o, key), NULL, 10);
}

int camp_resp_summary(struct camp_resp *s, const char *line)
{
	char buf[4096];
	struct jsonline o;

	if (jsonline_parse(line, strlen(line), buf, sizeof(buf), &o) < 0 ||
	    !jsonline_find(&o, "respcheck"))
		return -1;
	s->requests = u64(&o, "requests");
	s->replies = u64(&o, "replies");
	s->lost = u64(&o, "lost");
	s->wrong = u64(&o, "wrong");
	s->dup = u64(&o, "duplicated");
	s->errors = u64(&o, "errors");
	s->timeouts = u64(&o, "timeouts");
	s->ambiguous = u64(&o, "ambiguous");
	s->resets = u64(&o, "resets");
	s->reconnects = u64(&o, "reconnects");
	s->state_resets = u64(&o, "state_resets");
	s->excused = u64(&o, "excused");
	s->late = u64(&o, "late");
	s->stall_ms_max = strtod(value(&o, "stall_ms_max"), NULL);
	snprintf(s->final, sizeof(s->final), "%s", value(&o, "final"));
	s->reported = true;
	return 0;
}

/* The fault whose window holds host time t: the last typed at or before
 * it. NULL before the first. */
static struct camp_fault *window_of(struct camp_record *r, double t)
{
	struct camp_fault *w = NULL;

	for (size_t i = 0; i < r->nf && r->f[i].host_at <= t; i++)
		w = &r->f[i];
	return w;
}

/* One incident: {"t":..,"conn":..,"what":"..","ms":..}. */
static void attribute_one(struct camp_record *r, const struct jsonline *o)
{
	const char *what = value(o, "what");
	double t = strtod(value(o, "t"), NULL), ms = strtod(value(o, "ms"), NULL);
	/* A stall and a timeout belong to the fault before the request. */
	bool waited = !strcmp(what, "stall") || !strcmp(what, "timeout");
	struct camp_fault *f = window_of(r, waited ? t - ms / 1000 : t);

	if (!f)
		return;
	if (!strcmp(what, "reset") || !strcmp(what, "eof") || !strcmp(what, "bad_reply"))
		f->resp_resets++; /* as respcheck counts them: a "drop" follows a timeout */
	else if (!strcmp(what, "lost") || !strcmp(what, "timeout"))
		f->resp_lost++;
	else if (!strcmp(what, "wrong") || !strcmp(what, "duplicated") || !strcmp(what, "error"))
		f->resp_wrong++;
	else if (!strcmp(what, "excused"))
		f->resp_excused++;
	else if (!strcmp(what, "stall") && ms > f->resp_stall_ms)
		f->resp_stall_ms = ms;
}

void camp_resp_attribute(struct camp_record *r, const char *log)
{
	char buf[1024];
	struct jsonline o;

	for (const char *line = log; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);

		if (jsonline_parse(line, len, buf, sizeof(buf), &o) >= 0)
			attribute_one(r, &o);
		line = end ? end + 1 : NULL;
	}
}

void camp_resp_merge(struct camp_resp *a, const struct camp_resp *b, bool first)
{
	if (first) {
		*a = *b;
		return;
	}
	a->on |= b->on;
	a->reported = a->reported && b->reported;
	if (b->status != 0)
		a->status = b->status;
	a->requests += b->requests;
	a->replies += b->replies;
	a->lost += b->lost;
	a->wrong += b->wrong;
	a->dup += b->dup;
	a->errors += b->errors;
	a->timeouts += b->timeouts;
	a->ambiguous += b->ambiguous;
	a->resets += b->resets;
	a->reconnects += b->reconnects;
	a->state_resets += b->state_resets;
	a->excused += b->excused;
	a->late += b->late;
	if (b->stall_ms_max > a->stall_ms_max)
		a->stall_ms_max = b->stall_ms_max;
	if (strcmp(b->final, "ok") != 0)
		memcpy(a->final, b->final, sizeof(a->final));
}

/* ---- the process ---------------------------------------------------- */

pid_t camp_resp_start(const char *bin, const char *host, int port, const char *dir)
{
	char p[16], *out = util_path_join(dir, "respcheck.json"),
		    *log = util_path_join(dir, "respcheck.incidents");
	pid_t pid;

	snprintf(p, sizeof(p), "%d", port);
	unlink(log);
	pid = fork();
	if (pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0)
			dup2(fd, 1);
		execl(bin, bin, "--host", host, "--port", p, "--seconds", "1e7", "--log", log,
		      "--stall-log-ms", "20", "--drain-ms", DRAIN_MS, (char *)NULL);
		fprintf(stderr, "campaign: %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	if (pid < 0)
		perror("campaign: fork");
	free(out);
	free(log);
	return pid;
}

pid_t camp_relay_start(const char *bin, int target, int *port)
{
	char t[16], line[64] = "";
	int fd[2];
	pid_t pid;
	FILE *f;

	snprintf(t, sizeof(t), "%d", target);
	if (pipe(fd) < 0) {
		perror("campaign: pipe");
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		close(fd[0]);
		dup2(fd[1], 1);
		execl(bin, bin, "0", t, (char *)NULL);
		fprintf(stderr, "campaign: %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	close(fd[1]);
	if (pid < 0) {
		perror("campaign: fork");
		close(fd[0]);
		return -1;
	}
	f = fdopen(fd[0], "r");
	if (!f || !fgets(line, sizeof(line), f) || sscanf(line, "listening %d", port) != 1) {
		fprintf(stderr, "campaign: %s did not say where it listens\n", bin);
		camp_relay_stop(pid);
		pid = -1;
	}
	if (f)
		fclose(f); /* it writes nothing more */
	else
		close(fd[0]);
	return pid;
}

void camp_relay_stop(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

/* A whole file, NUL-terminated (a new string), or NULL. */
static char *slurp(const char *dir, const char *name)
{
	char *path = util_path_join(dir, name), *buf = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "r");

	free(path);
	if (!f)
		return NULL;
	if (getdelim(&buf, &len, 0, f) < 0) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* Wait for pid at most bound seconds; its status, or -1 (then killed). */
static int reap(pid_t pid, double bound)
{
	double until = util_now() + bound;
	int st;

	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (util_now() > until) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		util_nap();
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void camp_resp_stop(pid_t pid, struct camp_record *r, const char *dir)
{
	char *out, *log;

	r->resp.on = true;
	r->resp.status = -1;
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	r->resp.status = reap(pid, STOP_BOUND_S);
	out = slurp(dir, "respcheck.json");
	if (out && camp_resp_summary(&r->resp, out) < 0)
		fprintf(stderr, "campaign: respcheck's summary is not one: %s\n", out);
	log = slurp(dir, "respcheck.incidents");
	camp_resp_attribute(r, log);
	free(out);
	free(log);
}
