/*
 * respcheck: a checking client for a RESP2 (Redis) server, to run beside a
 * Vesta guest whose key-value service is reached through QEMU's user
 * networking. It keeps N connections open to HOST:PORT through the whole
 * run and checks every answer against a model of what each connection
 * wrote (respmodel.h): a counter by INCR, a register by SET/GET with
 * unique values, a list by RPUSH/LPOP. A request whose connection broke
 * before its reply is ambiguous and counted apart; the model accepts
 * either outcome for it. At the end it reads every key back on a fresh
 * connection (the counter must lie in [ok, ok + ambiguous]) and deletes
 * them.
 *
 *   respcheck [--host H] [--port P] [--conns N] [--seconds S]
 *             [--until-event TEXT] [--dir DIR] [--max-seconds S]
 *             [--timeout-ms MS] [--log FILE] [--stall-log-ms MS]
 *             [--drain-ms MS] [--idle N]
 *
 * PORT defaults to $VESTA_PORT and DIR to $VESTA_BOOT_DIR (both set by the
 * runner's `host`). It runs for S seconds (default 10), or with
 * --until-event until TEXT appears in DIR/com2.log (at most --max-seconds,
 * default 600), or until SIGTERM/SIGINT; then it waits for the replies
 * still due, checks, and prints one JSON line. A connection that is reset
 * or reaches EOF is reconnected with backoff (10 ms doubling to 1 s). A
 * reply that takes longer than MS (default 10000) is late (logged, still
 * awaited: TCP delivers it or breaks the connection); one still missing
 * when the run is over and the drain has waited --drain-ms more (default
 * MS) is a timeout: lost. A reply that does not fit the model is excused only if the
 * server's INFO run_id changed meanwhile (a dataset made anew or damaged,
 * which kv announces): the model then forgets and checks on.
 *
 * The stall of a request is the time from sending it to its reply; for
 * one whose connection broke, to the first reply after it on that
 * connection's reconnections (QEMU's user networking accepts a connection
 * for a guest that is not there, so a reconnect alone proves nothing). With
 * --log, every incident is one JSON line with its CLOCK_MONOTONIC time,
 * for a caller that lines them up with its own faults:
 * {"t":SECONDS,"conn":N,"what":WHAT,"ms":MS}, WHAT one of reset, eof, drop
 * (after a timeout), bad_reply, connect_failed, reconnect, late, timeout,
 * state_reset, excused, stall
 * (ms: its length, logged at its end, if at least --stall-log-ms, default
 * 200), lost, wrong, duplicated, error; the read-back's verdicts are
 * final_lost and so on.
 *
 * --idle N opens N more connections that send one PING, read its PONG
 * and then only wait, as an idle client (a replica, a pool) does: one the
 * server ends (reset or EOF) is counted (idle_ended, incident
 * idle_ended) and not opened again. A server that lost its connections
 * must end these too, not leave them half-open; the caller compares
 * idle_ended with idle_open.
 *
 * Exit 0 if some replies came and none was lost, wrong, duplicated, an
 * error or a timeout, and the final read-back agreed; 1 if not; 2 for
 * bad usage.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "respmodel.h"
#include "respwire.h"

#define MAX_CONNS 1024
#define IN_CAP 8192	     /* one reply at a time: ours are small */
#define BACKOFF_MIN_S 0.01   /* first retry soon: a restart is quick */
#define BACKOFF_MAX_S 1.0    /* never hammer a server that is down */
#define WATCH_EVERY_S 0.2    /* how often com2.log is read for --until-event */
#define FINAL_CONNECT_S 30.0 /* the read-back waits this long for the server */

struct opts {
	const char *host, *until, *dir, *log;
	int port, conns, idle;
	double seconds, max_s, timeout_s, stall_log_s, drain_s;
};

enum cstate { C_DOWN, C_CONNECTING, C_UP };

struct conn {
	int id, fd;
	enum cstate st;
	struct rm_conn m;
	char out[512];
	size_t outlen, outoff;
	char in[IN_CAP];
	size_t inlen;
	bool waiting;	       /* a request is in flight */
	bool late;	       /* it has waited past --timeout-ms */
	double sent_at;	       /* when it was sent */
	double paused_at_send; /* `paused` then: time respcheck itself stood still */
	unsigned epoch;	       /* dataset resets (run_id changes) it has taken in */
	double broke_at;       /* the oldest broken request still unanswered; <0: none */
	double retry_at;       /* C_DOWN: connect again then */
	double backoff;
	bool ever_up;
};

struct tally {
	unsigned long long requests, replies, ok, lost, wrong, dup, errors, timeouts;
	unsigned long long ambiguous, resets, reconnects, connect_failures;
	unsigned long long state_resets, excused; /* run_id changes; answers they explain */
	unsigned long long late;		  /* replies overdue, still awaited */
	double stall_max;
	unsigned idle_open, idle_ended; /* --idle connections */
};

static volatile sig_atomic_t stop_asked;
static const char *phase = ""; /* "final_" during the read-back: its incidents
				  belong to no moment of the run */
static struct opts opt;
static struct tally tally;
static FILE *incident_log;
static struct sockaddr_in server;
static char run_id[41]; /* the server's dataset, as INFO last said; "": unknown */
static unsigned epoch;	/* run_id changes seen */
static double paused;	/* time spent blocked asking for it (not the server's) */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One incident line for --log. */
static void incident(const struct conn *c, const char *what, double ms)
{
	if (!incident_log)
		return;
	fprintf(incident_log, "{\"t\":%.6f,\"conn\":%d,\"what\":\"%s%s\",\"ms\":%.3f}\n", now_s(),
		c ? c->id : -1, phase, what, ms);
	fflush(incident_log);
}

/* A client waited from `from` until now. */
static void note_stall(const struct conn *c, double from, double now)
{
	if (now - from > tally.stall_max)
		tally.stall_max = now - from;
	if (now - from >= opt.stall_log_s)
		incident(c, "stall", (now - from) * 1000);
}

static void count_verdict(const struct conn *c, enum rm_verdict v)
{
	static const char *const name[] = { "ok", "lost", "wrong", "duplicated", "error" };
	unsigned long long *slot[] = { &tally.ok, &tally.lost, &tally.wrong, &tally.dup,
				       &tally.errors };

	++*slot[v];
	if (v != RM_OK)
		incident(c, name[v], 0);
}

static int ask_run_id(int fd, char *out, double bound_s);

/*
 * A reply that does not fit what this connection wrote is excused if the
 * server's dataset changed under it: kv says so by a new run_id in INFO
 * when it made its keyspace anew or lost part of it (a stash discarded
 * after repeated early crashes, or damage found). The model forgets and
 * checks on from what the server shows. Each change excuses at most one
 * verdict per connection; everything else counts.
 */
static void judge(struct conn *c, enum rm_verdict v, int fd)
{
	char now_id[sizeof(run_id)];
	bool reset = false;

	if (v == RM_OK || v == RM_ERROR || !run_id[0]) {
		count_verdict(c, v);
		return;
	}
	if (c->epoch < epoch) {
		reset = true;
	} else if (ask_run_id(fd, now_id, opt.timeout_s) == 0 && strcmp(now_id, run_id) != 0) {
		memcpy(run_id, now_id, sizeof(run_id));
		epoch++;
		tally.state_resets++;
		incident(c, "state_reset", 0);
		reset = true;
	}
	if (!reset) {
		count_verdict(c, v);
		return;
	}
	c->epoch = epoch;
	rm_forget(&c->m);
	tally.excused++;
	incident(c, "excused", 0);
}

/* ---- connections ------------------------------------------------------ */

/* Drop the connection; the request in flight, if any, is ambiguous. */
static void conn_break(struct conn *c, const char *why, double now)
{
	close(c->fd);
	c->fd = -1;
	c->st = C_DOWN;
	c->inlen = c->outlen = c->outoff = 0;
	if (c->waiting) {
		rm_broken(&c->m);
		tally.ambiguous++;
		if (c->broke_at < 0)
			c->broke_at = c->sent_at;
		c->waiting = false;
	}
	incident(c, why, 0);
	c->retry_at = now + c->backoff;
	c->backoff = c->backoff * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : c->backoff * 2;
}

static void conn_start(struct conn *c, double now)
{
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		perror("respcheck: socket");
		exit(1);
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	if (connect(c->fd, (struct sockaddr *)&server, sizeof(server)) == 0 ||
	    errno == EINPROGRESS) {
		c->st = C_CONNECTING;
		return;
	}
	tally.connect_failures++;
	conn_break(c, "connect_failed", now);
}

/* The non-blocking connect finished: up, or failed. */
static void conn_connected(struct conn *c, double now)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
		tally.connect_failures++;
		conn_break(c, "connect_failed", now);
		return;
	}
	c->st = C_UP;
	if (c->ever_up) {
		tally.reconnects++;
		incident(c, "reconnect", 0);
	}
	c->ever_up = true;
}

/* Send the next request (running) or just push out what is queued. */
static void conn_send(struct conn *c, bool running, double now)
{
	ssize_t n;

	if (!c->waiting && running) {
		c->outlen = rm_request(&c->m, c->out, sizeof(c->out));
		c->outoff = 0;
		c->waiting = true;
		c->late = false;
		c->sent_at = now;
		c->paused_at_send = paused;
		tally.requests++;
	}
	if (c->outoff == c->outlen)
		return;
	n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
	if (n > 0)
		c->outoff += (size_t)n;
	else if (n < 0 && errno != EAGAIN && errno != EINTR) {
		tally.resets++;
		conn_break(c, "reset", now);
	}
}

/* One whole reply in c->in: judge it. */
static void conn_reply(struct conn *c, size_t whole, double now)
{
	struct resp_reply r;

	resp_parse(c->in, whole, &r);
	tally.replies++;
	if (!c->waiting) {
		count_verdict(c, RM_WRONG); /* an answer nobody asked for */
	} else {
		judge(c, rm_reply(&c->m, &r), c->fd);
		note_stall(c, c->broke_at >= 0 ? c->broke_at : c->sent_at, now);
		c->broke_at = -1;
		c->backoff = BACKOFF_MIN_S;
		c->waiting = false;
	}
	memmove(c->in, c->in + whole, c->inlen - whole);
	c->inlen -= whole;
}

static void conn_read(struct conn *c, double now)
{
	ssize_t n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
	long whole = 0;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		tally.resets++;
		conn_break(c, n == 0 ? "eof" : "reset", now);
		return;
	}
	c->inlen += (size_t)n;
	while (c->st == C_UP && (whole = resp_whole(c->in, c->inlen)) > 0)
		conn_reply(c, (size_t)whole, now);
	if (whole < 0 || c->inlen == sizeof(c->in)) {
		count_verdict(c, RM_WRONG); /* not RESP2: resynchronise by reconnecting */
		conn_break(c, "bad_reply", now);
	}
}

/*
 * A reply overdue. While the run goes on it is only late: TCP delivers it
 * or breaks the connection (a stall of many seconds is what a lost frame
 * costs under retransmission backoff, and is a figure, not a loss). Once
 * the run is over and the drain has waited its bound too, it is lost, and
 * the connection is not to be trusted.
 */
static void conn_check_timeout(struct conn *c, double now, bool over)
{
	double waited = now - c->sent_at - (paused - c->paused_at_send);

	if (c->st != C_UP || !c->waiting || (waited < opt.timeout_s && !over))
		return;
	if (!over) {
		if (!c->late) {
			c->late = true;
			tally.late++;
			incident(c, "late", waited * 1000);
		}
		return;
	}
	tally.timeouts++;
	incident(c, "timeout", (now - c->sent_at) * 1000);
	conn_break(c, "drop", now);
}

/* ---- the run ------------------------------------------------------------ */

/* What poll should wait for on c; 0 if nothing (down). */
static short conn_events(const struct conn *c)
{
	if (c->st == C_CONNECTING)
		return POLLOUT;
	if (c->st != C_UP)
		return 0;
	return (short)(POLLIN | (c->outoff < c->outlen ? POLLOUT : 0));
}

/* Act on what poll saw on c. */
static void conn_event(struct conn *c, short re, bool running, double now)
{
	if (c->st == C_CONNECTING && re) {
		conn_connected(c, now);
		return;
	}
	if (c->st == C_UP && (re & (POLLIN | POLLHUP | POLLERR)))
		conn_read(c, now);
	if (c->st == C_UP)
		conn_send(c, running, now);
}

/* One round: start due connects, send, poll 10 ms, read, expire. */
static void round_once(struct conn *cs, bool running)
{
	static struct pollfd pf[MAX_CONNS];
	double now = now_s();

	for (int i = 0; i < opt.conns; i++) {
		if (cs[i].st == C_DOWN && running && now >= cs[i].retry_at)
			conn_start(&cs[i], now);
		if (cs[i].st == C_UP)
			conn_send(&cs[i], running, now);
		pf[i] = (struct pollfd){ .fd = cs[i].fd, .events = conn_events(&cs[i]) };
		if (!pf[i].events)
			pf[i].fd = -1;
	}
	poll(pf, (nfds_t)opt.conns, 10);
	now = now_s();
	for (int i = 0; i < opt.conns; i++) {
		if (pf[i].fd >= 0)
			conn_event(&cs[i], pf[i].revents, running, now);
		conn_check_timeout(&cs[i], now, false);
	}
}

/* Has TEXT appeared in DIR/com2.log? Reads only what was added since. */
static bool event_seen(void)
{
	static long off;
	static char tail[8192];
	char path[4096], buf[65536];
	size_t keep = strlen(opt.until), n, tl;
	FILE *f;

	snprintf(path, sizeof(path), "%s/com2.log", opt.dir);
	if (!(f = fopen(path, "r")) || fseek(f, off, SEEK_SET) != 0) {
		if (f)
			fclose(f);
		return false;
	}
	tl = strlen(tail);
	while ((n = fread(buf + tl, 1, sizeof(buf) - tl - 1, f)) > 0) {
		memcpy(buf, tail, tl);
		buf[tl + n] = 0;
		off += (long)n;
		if (strstr(buf, opt.until)) {
			fclose(f);
			return true;
		}
		tl = tl + n > keep ? keep : tl + n;
		memmove(tail, buf + strlen(buf) - tl, tl);
		tail[tl] = 0;
	}
	fclose(f);
	return false;
}

/* Is it time to stop sending? */
static bool run_over(double start, double *next_watch)
{
	double now = now_s();

	if (stop_asked)
		return true;
	if (!opt.until)
		return now - start >= opt.seconds;
	if (now - start >= opt.max_s) {
		fprintf(stderr, "respcheck: '%s' never appeared in %s/com2.log within %.0f s\n",
			opt.until, opt.dir, opt.max_s);
		return true;
	}
	if (now < *next_watch)
		return false;
	*next_watch = now + WATCH_EVERY_S;
	return event_seen();
}

static bool any_waiting(const struct conn *cs)
{
	for (int i = 0; i < opt.conns; i++)
		if (cs[i].st != C_DOWN && cs[i].waiting)
			return true;
	return false;
}

/* ---- idle connections (--idle) ---------------------------------------- */

#define IDLE_MAX 64
static int idle_fd[IDLE_MAX];

/* Open idle connection i: connect, PING, PONG (blocking, 5 s each). */
static void idle_open(int i)
{
	struct timeval tv = { .tv_sec = 5 };
	char buf[16];
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	idle_fd[i] = -1;
	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&server, sizeof(server)) < 0 ||
	    send(fd, "PING\r\n", 6, MSG_NOSIGNAL) != 6 || recv(fd, buf, 7, MSG_WAITALL) != 7 ||
	    memcmp(buf, "+PONG\r\n", 7) != 0) {
		close(fd);
		return;
	}
	idle_fd[i] = fd;
	tally.idle_open++;
}

/* Has the server ended any of them? */
static void idle_poll(void)
{
	char buf[64];

	for (int i = 0; i < opt.idle; i++) {
		ssize_t n;

		if (idle_fd[i] < 0)
			continue;
		n = recv(idle_fd[i], buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
			continue; /* nothing, or bytes nobody asked for: still open */
		close(idle_fd[i]);
		idle_fd[i] = -1;
		tally.idle_ended++;
		incident(NULL, "idle_ended", 0);
	}
}

/* Traffic until the run is over, then the replies still due. */
static double run(struct conn *cs)
{
	double start = now_s(), next_watch = start, end;

	for (int i = 0; i < opt.idle; i++)
		idle_open(i);
	while (!run_over(start, &next_watch)) {
		round_once(cs, true);
		idle_poll();
	}
	end = now_s();
	while (any_waiting(cs) && now_s() - end < opt.drain_s + 0.1) {
		round_once(cs, false);
		idle_poll();
	}
	idle_poll();
	for (int i = 0; i < opt.idle; i++)
		if (idle_fd[i] >= 0)
			close(idle_fd[i]);
	for (int i = 0; i < opt.conns; i++) {
		conn_check_timeout(&cs[i], now_s(), true);
		if (cs[i].broke_at >= 0)
			note_stall(&cs[i], cs[i].broke_at, now_s()); /* never answered */
		if (cs[i].fd >= 0)
			close(cs[i].fd);
	}
	return now_s() - start;
}

/* ---- the read-back ---------------------------------------------------- */

/* A blocking connection to the server, retried for FINAL_CONNECT_S; -1. */
static int final_connect(void)
{
	double until = now_s() + FINAL_CONNECT_S;

	for (;;) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (connect(fd, (struct sockaddr *)&server, sizeof(server)) == 0)
			return fd;
		close(fd);
		if (now_s() >= until)
			break;
		usleep(100000);
	}
	return -1;
}

/* Send req on fd (connected; blocking or not) and read one whole reply
 * into buf within bound_s: its length, or -1. */
static long call_one(int fd, const char *req, size_t len, char *buf, size_t cap, double bound_s)
{
	double until = now_s() + bound_s;
	size_t have = 0;
	long whole = 0;

	if (send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len)
		return -1;
	while ((whole = resp_whole(buf, have)) == 0 && have < cap) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		double left = until - now_s();
		ssize_t n;

		if (left <= 0 || poll(&pf, 1, (int)(left * 1000) + 1) <= 0)
			return -1;
		n = recv(fd, buf + have, cap - have, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return -1;
		have += n > 0 ? (size_t)n : 0;
	}
	return whole;
}

/* INFO server's run_id into out, asked on fd within bound_s; 0, or -1
 * (out unchanged). The time it takes is time the clients' timeouts do
 * not count. */
static int ask_run_id(int fd, char *out, double bound_s)
{
	static const char req[] = "*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n";
	static char buf[8192];
	double t0 = now_s();
	long whole = call_one(fd, req, sizeof(req) - 1, buf, sizeof(buf) - 1, bound_s);
	const char *p;
	int rc = -1;

	if (whole > 0) {
		buf[whole] = 0;
		if ((p = strstr(buf, "\nrun_id:")) && strcspn(p + 8, "\r\n") == 40) {
			memcpy(out, p + 8, 40);
			out[40] = 0;
			rc = 0;
		}
	}
	paused += now_s() - t0;
	return rc;
}

/* The same on a connection of its own (none of the clients' is up). */
static int ask_run_id_apart(char *out, double bound_s)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), rc = -1;
	struct timeval tv = { .tv_sec = (long)bound_s, .tv_usec = 0 };

	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&server, sizeof(server)) == 0)
		rc = ask_run_id(fd, out, bound_s);
	close(fd);
	return rc;
}

/* Read every connection's keys back and delete them: "ok", or what failed. */
static const char *final_check(struct conn *cs)
{
	static char buf[65536];
	char req[512];
	const char *verdict = "ok";
	int fd = tally.replies ? final_connect() : -1; /* never reached: do not wait */

	if (fd < 0)
		return "unreachable";
	phase = "final_";
	for (int i = 0; i < opt.conns; i++) {
		for (int w = 0; w < 3; w++) {
			size_t len = rm_final_request(&cs[i].m, w, req, sizeof(req));
			long got = call_one(fd, req, len, buf, sizeof(buf), opt.timeout_s + 1);
			enum rm_verdict v =
			    got > 0 ? rm_final_reply(&cs[i].m, w, buf, (size_t)got) : RM_WRONG;

			if (got <= 0) {
				close(fd);
				return "broken";
			}
			unsigned long long bad =
			    tally.lost + tally.wrong + tally.dup + tally.errors;

			judge(&cs[i], v, fd);
			if (tally.lost + tally.wrong + tally.dup + tally.errors != bad)
				verdict = "mismatch";
		}
		call_one(fd, req, rm_cleanup(&cs[i].m, req, sizeof(req)), buf, sizeof(buf),
			 opt.timeout_s + 1);
	}
	close(fd);
	return verdict;
}

/* ---- options and the summary ----------------------------------------- */

static void usage(void)
{
	fprintf(stderr, "usage: respcheck [--host H] [--port P] [--conns N] [--seconds S] "
			"[--until-event TEXT] [--dir DIR] [--max-seconds S] [--timeout-ms MS] "
			"[--log FILE] [--stall-log-ms MS] [--drain-ms MS] [--idle N]\n");
	exit(2);
}

/* A number option's value; exits 2 unless it is a number in [lo, hi]. */
static double num_arg(const char *name, const char *v, double lo, double hi)
{
	char *end;
	double x = strtod(v, &end);

	if (!*v || *end || x < lo || x > hi) {
		fprintf(stderr, "respcheck: %s wants a number in [%g, %g], not '%s'\n", name, lo,
			hi, v);
		exit(2);
	}
	return x;
}

static void set_opt(const char *a, const char *v)
{
	if (!strcmp(a, "--host"))
		opt.host = v;
	else if (!strcmp(a, "--port"))
		opt.port = (int)num_arg(a, v, 1, 65535);
	else if (!strcmp(a, "--conns"))
		opt.conns = (int)num_arg(a, v, 1, MAX_CONNS);
	else if (!strcmp(a, "--seconds"))
		opt.seconds = num_arg(a, v, 0, 1e7);
	else if (!strcmp(a, "--until-event") && strlen(v) > 0 && strlen(v) < 4096)
		opt.until = v;
	else if (!strcmp(a, "--dir"))
		opt.dir = v;
	else if (!strcmp(a, "--max-seconds"))
		opt.max_s = num_arg(a, v, 0, 1e7);
	else if (!strcmp(a, "--timeout-ms"))
		opt.timeout_s = num_arg(a, v, 1, 1e9) / 1000;
	else if (!strcmp(a, "--log"))
		opt.log = v;
	else if (!strcmp(a, "--stall-log-ms"))
		opt.stall_log_s = num_arg(a, v, 0, 1e9) / 1000;
	else if (!strcmp(a, "--drain-ms"))
		opt.drain_s = num_arg(a, v, 0, 1e9) / 1000;
	else if (!strcmp(a, "--idle"))
		opt.idle = (int)num_arg(a, v, 0, IDLE_MAX);
	else
		usage();
}

static void parse(int argc, char **argv)
{
	const char *port = getenv("VESTA_PORT");

	opt = (struct opts){ .host = "127.0.0.1",
			     .dir = getenv("VESTA_BOOT_DIR"),
			     .conns = 16,
			     .seconds = 10,
			     .max_s = 600,
			     .timeout_s = 10,
			     .stall_log_s = 0.2,
			     .drain_s = -1 };
	if (port && *port)
		opt.port = (int)num_arg("VESTA_PORT", port, 1, 65535);
	for (int i = 1; i < argc; i += 2) {
		if (i + 1 >= argc)
			usage();
		set_opt(argv[i], argv[i + 1]);
	}
	if (!opt.port || (opt.until && !opt.dir))
		usage();
	if (opt.drain_s < 0)
		opt.drain_s = opt.timeout_s;
}

/* HOST (a name or an address) into server. */
static void resolve(void)
{
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res;
	int e = getaddrinfo(opt.host, NULL, &hints, &res);

	if (e) {
		fprintf(stderr, "respcheck: %s: %s\n", opt.host, gai_strerror(e));
		exit(2);
	}
	server = *(struct sockaddr_in *)res->ai_addr;
	server.sin_port = htons((unsigned short)opt.port);
	freeaddrinfo(res);
}

static void print_summary(bool pass, double secs, const char *final, const struct conn *cs)
{
	long long incr_ok = 0, incr_amb = 0;

	for (int i = 0; i < opt.conns; i++) {
		incr_ok += cs[i].m.incr_ok;
		incr_amb += cs[i].m.incr_amb;
	}
	printf("{\"respcheck\":\"%s\",\"host\":\"%s\",\"port\":%d,\"conns\":%d,\"seconds\":%.2f,"
	       "\"requests\":%llu,\"replies\":%llu,\"ok\":%llu,\"lost\":%llu,\"wrong\":%llu,"
	       "\"duplicated\":%llu,\"errors\":%llu,\"timeouts\":%llu,\"ambiguous\":%llu,"
	       "\"resets\":%llu,\"reconnects\":%llu,\"connect_failures\":%llu,"
	       "\"incr_ok\":%lld,\"incr_ambiguous\":%lld,\"stall_ms_max\":%.1f,"
	       "\"late\":%llu,\"state_resets\":%llu,\"excused\":%llu,\"idle_open\":%u,"
	       "\"idle_ended\":%u,\"final\":\"%s\"}\n",
	       pass ? "PASS" : "FAIL", opt.host, opt.port, opt.conns, secs, tally.requests,
	       tally.replies, tally.ok, tally.lost, tally.wrong, tally.dup, tally.errors,
	       tally.timeouts, tally.ambiguous, tally.resets, tally.reconnects,
	       tally.connect_failures, incr_ok, incr_amb, tally.stall_max * 1000, tally.late,
	       tally.state_resets, tally.excused, tally.idle_open, tally.idle_ended, final);
}

static void on_signal(int sig)
{
	(void)sig;
	stop_asked = 1;
}

/* A tag no earlier run used, so that counters start at zero. */
static void run_tag(char *out, size_t cap)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(out, cap, "%lx%lx%x", (long)ts.tv_sec, ts.tv_nsec, (unsigned)getpid());
}

int main(int argc, char **argv)
{
	static struct conn cs[MAX_CONNS];
	char tag[48];
	const char *final;
	double secs;
	bool pass;

	parse(argc, argv);
	resolve();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	if (opt.log && !(incident_log = fopen(opt.log, "a"))) {
		perror(opt.log);
		return 2;
	}
	run_tag(tag, sizeof(tag));
	for (int i = 0; i < opt.conns; i++) {
		cs[i] =
		    (struct conn){ .id = i, .fd = -1, .broke_at = -1, .backoff = BACKOFF_MIN_S };
		rm_init(&cs[i].m, tag, i);
	}
	/* The dataset's name at the start: without one (a server whose INFO
	 * has no run_id, or none reached) nothing is ever excused. */
	for (double until = now_s() + FINAL_CONNECT_S;
	     ask_run_id_apart(run_id, 3.0) && now_s() < until;)
		usleep(100000);
	secs = run(cs);
	final = final_check(cs);
	pass = tally.replies > 0 && !tally.lost && !tally.wrong && !tally.dup && !tally.errors &&
	       !tally.timeouts && !strcmp(final, "ok");
	print_summary(pass, secs, final, cs);
	return pass ? 0 : 1;
}
