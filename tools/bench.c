/*
 * bench: the host half of `make bench`. It measures a Linux pipe ping-pong
 * on the host, boots build/img/bench.iso in QEMU, reads the figures that the
 * guest program bench (tests/boot/progs/bench.c) measured with rdtsc and
 * wrote on the COM2 event log, and prints them side by side with the Linux
 * figure. It also writes them to OUT/bench.json.
 *
 *     bench --iso ISO --out DIR [--accel auto|kvm|tcg] [--timeout S]
 *
 * With --accel auto (the default) it tries KVM when /dev/kvm opens
 * read-write, and falls back to TCG when KVM does not work: QEMU fails,
 * the guest does not come up within KVM_READY_S, a process dies in a way
 * the benchmark never causes, or the results do not arrive within
 * KVM_TOTAL_S. Under TCG the guest's TSC runs at the host's rate but every
 * instruction is emulated, so its cycle counts say nothing about the kernel;
 * the output says so, and the JSON carries "accel" and the reason.
 *
 * QEMU's serial logs are kept in DIR (com1.log is the console, com2.log the
 * event log; a failed KVM attempt's are kept as kvm-com1.log, kvm-com2.log).
 * Exit status: 0 figures printed and written, 1 the benchmark failed,
 * 2 bad usage.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include "jsonline.h"

#define PIPE_RTTS 100000	       /* Linux round trips timed, as many as the guest's */
#define PIPE_WARMUP 1000	       /* untimed round trips first */
#define KVM_READY_S 20.0	       /* a working KVM boots (GRUB included) in about a second */
#define KVM_TOTAL_S 60.0	       /* ... and runs the whole guest bench in seconds */
#define TCG_READY_S 60.0	       /* TCG boots in 1-2 s; allow for a loaded host */
#define TCG_TOTAL_S 240.0	       /* the TCG guest bench takes about 10 s here */
#define HALT_GRACE_S 10.0	       /* from bench_done to QEMU's exit */
#define POLL_NS 20000000L	       /* how often the event log is read: 20 ms */
#define MAX_LINE 2048		       /* a longer COM2 line is not one of ours */
#define USER_TOP 0x0000800000000000ull /* addresses below are user space */

/* Order statistics of one series of samples, in cycles. */
struct stats {
	bool have;
	uint64_t n, p50, p99, min, max, mean;
};

/* One timed burst of casts. */
struct casts {
	bool have;
	uint64_t n, cycles, wakeups; /* wakeups: of the sink, with work to do */
};

/* Everything one boot of the guest produced. */
struct guest {
	uint64_t tsc_hz; /* from the boot event; 0 until it came */
	bool ready, done;
	struct stats before, after; /* call round trips, around the crashes */
	struct casts unbatched, batched;
	struct stats crash; /* recovery per crash: n, p50 and max only */
	char why[256];	    /* set when the run failed */
};

struct opts {
	const char *iso, *out, *accel, *qemu;
	double tcg_total_s;
};

static pid_t qemu_pid; /* the QEMU running now, for the signal handler */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *path_in(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	if (!p) {
		perror("bench: malloc");
		exit(1);
	}
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

/* ---------------------------------------------------------------- stats */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The same statistics as the guest computes: median v[n/2], nearest-rank
 * 99th percentile. Sorts v. */
static struct stats stats_of(uint64_t *v, uint64_t n)
{
	struct stats s = { .have = true, .n = n };
	uint64_t sum = 0;

	qsort(v, n, sizeof(*v), cmp_u64);
	for (uint64_t i = 0; i < n; i++)
		sum += v[i];
	s.p50 = v[n / 2];
	s.p99 = v[(n * 99 + 99) / 100 - 1];
	s.min = v[0];
	s.max = v[n - 1];
	s.mean = sum / n;
	return s;
}

/* ---------------------------------------------------------------- Linux pipe */

/* The TSC, read after every earlier instruction has completed: the same
 * "lfence; rdtsc" as the guest's. */
static uint64_t tsc(void)
{
	_mm_lfence();
	return __rdtsc();
}

static int full_io(int fd, char *c, bool wr)
{
	ssize_t r;

	do
		r = wr ? write(fd, c, 1) : read(fd, c, 1);
	while (r < 0 && errno == EINTR);
	return r == 1 ? 0 : -1;
}

/*
 * Round trips of one byte between this process and a forked child over two
 * pipes, timed with rdtsc here. With pin, both run on the CPU this process
 * is on, as Vesta's two processes share its one CPU; without, Linux places
 * them. Returns 0 and fills *s, or -1 with a message printed.
 */
static int pipe_rtt(bool pin, uint64_t n, struct stats *s)
{
	int ping[2], pong[2], status, err = 0;
	cpu_set_t old, one;
	uint64_t *v = malloc(n * sizeof(*v));
	char c = 'x';
	pid_t pid;

	if (!v || pipe(ping) || pipe(pong)) {
		perror("bench: pipe baseline");
		free(v);
		return -1;
	}
	sched_getaffinity(0, sizeof(old), &old);
	if (pin) {
		CPU_ZERO(&one);
		CPU_SET(sched_getcpu(), &one);
		sched_setaffinity(0, sizeof(one), &one);
	}
	pid = fork();
	if (pid == 0) {
		close(ping[1]);
		close(pong[0]);
		while (full_io(ping[0], &c, false) == 0 && full_io(pong[1], &c, true) == 0)
			;
		_exit(0);
	}
	close(ping[0]);
	close(pong[1]);
	for (uint64_t i = 0; pid > 0 && !err && i < PIPE_WARMUP + n; i++) {
		uint64_t t0 = tsc();
		err = full_io(ping[1], &c, true) || full_io(pong[0], &c, false);
		uint64_t dt = tsc() - t0;
		if (i >= PIPE_WARMUP)
			v[i - PIPE_WARMUP] = dt;
	}
	close(ping[1]); /* the child reads EOF and exits */
	close(pong[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	sched_setaffinity(0, sizeof(old), &old);
	if (pid < 0 || err) {
		fprintf(stderr, "bench: pipe baseline: %s\n", pid < 0 ? strerror(errno) : "I/O");
		free(v);
		return -1;
	}
	*s = stats_of(v, n);
	free(v);
	return 0;
}

/* The host TSC's rate, measured against CLOCK_MONOTONIC_RAW over 200 ms. */
static uint64_t host_tsc_hz(void)
{
	struct timespec a, b, d = { 0, 200000000L };

	clock_gettime(CLOCK_MONOTONIC_RAW, &a);
	uint64_t t0 = __rdtsc();
	nanosleep(&d, NULL);
	clock_gettime(CLOCK_MONOTONIC_RAW, &b);
	uint64_t t1 = __rdtsc();
	double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	return (uint64_t)((double)(t1 - t0) / s);
}

/* ---------------------------------------------------------------- events */

static bool get_u64(const struct jsonline *o, const char *key, uint64_t *out)
{
	const struct jsonline_pair *p = jsonline_find(o, key);
	char *end;

	if (!p || p->is_string)
		return false;
	errno = 0;
	*out = strtoull(p->value, &end, 10);
	return errno == 0 && end != p->value && *end == '\0';
}

static const char *get_str(const struct jsonline *o, const char *key)
{
	const struct jsonline_pair *p = jsonline_find(o, key);

	return p && p->is_string ? p->value : "";
}

static bool get_stats(const struct jsonline *o, struct stats *s)
{
	s->have = get_u64(o, "n", &s->n) && get_u64(o, "p50", &s->p50) &&
		  get_u64(o, "p99", &s->p99) && get_u64(o, "min", &s->min) &&
		  get_u64(o, "max", &s->max) && get_u64(o, "mean", &s->mean);
	return s->have;
}

/*
 * A process died. The benchmark itself only ever kills benchsrv, on
 * purpose, with a null-pointer write in user space. Anything else (a fault
 * in the kernel's half, where a broken KVM's syscall lands, or any other
 * process dying) fails the run.
 */
static void on_exit_event(const struct jsonline *o, struct guest *g)
{
	const char *name = get_str(o, "name"), *reason = get_str(o, "reason");
	const char *rip = get_str(o, "rip");
	bool user_rip = strtoull(rip, NULL, 16) < USER_TOP;

	if (strcmp(name, "benchsrv") == 0 && strcmp(reason, "page_fault") == 0 && user_rip)
		return;
	snprintf(g->why, sizeof(g->why), "process %s died: %s at rip %s", name, reason, rip);
}

/* Take one line of the event log into *g. */
static void on_line(const char *line, size_t len, struct guest *g)
{
	char buf[MAX_LINE + 1];
	struct jsonline o;
	const char *ev;

	if (jsonline_parse(line, len, buf, sizeof(buf), &o) < 0)
		return; /* not an event (a partial line cannot happen: see pump) */
	ev = get_str(&o, "ev");
	if (strcmp(ev, "boot") == 0) {
		get_u64(&o, "tsc_hz", &g->tsc_hz);
	} else if (strcmp(ev, "ready") == 0) {
		g->ready = true;
	} else if (strcmp(ev, "exit") == 0) {
		on_exit_event(&o, g);
	} else if (strcmp(ev, "panic") == 0) {
		snprintf(g->why, sizeof(g->why), "kernel panic (%s at rip %s)", get_str(&o, "what"),
			 get_str(&o, "rip"));
	} else if (strcmp(ev, "bench_error") == 0) {
		snprintf(g->why, sizeof(g->why), "guest bench failed: %s (%s)", get_str(&o, "what"),
			 jsonline_find(&o, "err") ? jsonline_find(&o, "err")->value : "?");
	} else if (strcmp(ev, "bench_rtt") == 0) {
		const char *phase = get_str(&o, "phase");
		get_stats(&o, strcmp(phase, "before") == 0 ? &g->before : &g->after);
	} else if (strcmp(ev, "bench_cast") == 0) {
		struct casts *c =
		    strcmp(get_str(&o, "mode"), "batched") == 0 ? &g->batched : &g->unbatched;
		c->have = get_u64(&o, "n", &c->n) && get_u64(&o, "cycles", &c->cycles) &&
			  get_u64(&o, "wakeups", &c->wakeups) && c->n > 0 && c->cycles > 0;
	} else if (strcmp(ev, "bench_crash") == 0) {
		g->crash.have = get_u64(&o, "n", &g->crash.n) &&
				get_u64(&o, "p50", &g->crash.p50) &&
				get_u64(&o, "max", &g->crash.max);
	} else if (strcmp(ev, "bench_done") == 0) {
		g->done = true;
	}
}

/* The event log as it grows: complete lines are handed to on_line. */
struct tail {
	int fd;
	char line[MAX_LINE];
	size_t len;
	bool overlong; /* dropping the rest of a line that did not fit */
};

static void pump(struct tail *t, const char *path, struct guest *g)
{
	char buf[4096];
	ssize_t n;

	if (t->fd < 0 && (t->fd = open(path, O_RDONLY)) < 0)
		return; /* QEMU has not created it yet */
	while ((n = read(t->fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				if (!t->overlong)
					on_line(t->line, t->len, g);
				t->len = 0;
				t->overlong = false;
			} else if (t->len < sizeof(t->line)) {
				t->line[t->len++] = buf[i];
			} else {
				t->overlong = true;
			}
		}
	}
}

/* ---------------------------------------------------------------- QEMU */

static void on_signal(int sig)
{
	if (qemu_pid > 0)
		kill(-qemu_pid, SIGKILL);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Start QEMU on o->iso with accel, its serial ports into dir's com logs. */
static pid_t start_qemu(const struct opts *o, const char *accel)
{
	char *com1 = path_in(o->out, "com1.log"), *com2 = path_in(o->out, "com2.log");
	char *qlog = path_in(o->out, "qemu.log");
	char s1[4200], s2[4200];
	pid_t pid;

	snprintf(s1, sizeof(s1), "file:%s", com1);
	snprintf(s2, sizeof(s2), "file:%s", com2);
	unlink(com1);
	unlink(com2);
	pid = fork();
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int out = open(qlog, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the driver */
		if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(127);
		execlp(o->qemu, o->qemu, "-accel", accel, "-m", "256M", "-display", "none",
		       "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-serial",
		       s1, "-serial", s2, "-cdrom", o->iso, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		setpgid(pid, pid);
	free(com1);
	free(com2);
	free(qlog);
	return pid;
}

/* How QEMU ended, for a message, with the first line of its own output
 * (where QEMU says what went wrong). */
static void describe_status(const struct opts *o, int status, char *buf, size_t n)
{
	char *qlog = path_in(o->out, "qemu.log"), first[160] = "";
	FILE *f = fopen(qlog, "r");

	if (f) {
		if (!fgets(first, sizeof(first), f))
			first[0] = '\0';
		first[strcspn(first, "\n")] = '\0';
		fclose(f);
	}
	if (WIFEXITED(status))
		snprintf(buf, n, "QEMU exited with status %d%s%s", WEXITSTATUS(status),
			 first[0] ? ": " : "", first);
	else
		snprintf(buf, n, "QEMU killed by signal %d", WTERMSIG(status));
	free(qlog);
}

/*
 * Boot the guest once with accel and collect its results in *g. Returns 0
 * when the guest reported everything and halted, -1 with g->why set if not.
 * QEMU is always gone on return.
 */
static int run_guest(const struct opts *o, const char *accel, struct guest *g)
{
	bool kvm = strcmp(accel, "kvm") == 0;
	double t0 = now_s(), ready_by = t0 + (kvm ? KVM_READY_S : TCG_READY_S);
	double end_by = t0 + (kvm ? KVM_TOTAL_S : o->tcg_total_s), done_at = 0;
	char *com2 = path_in(o->out, "com2.log");
	struct tail t = { .fd = -1 };
	struct timespec poll = { 0, POLL_NS };
	int status = 0;
	bool exited = false;

	memset(g, 0, sizeof(*g));
	qemu_pid = start_qemu(o, accel);
	if (qemu_pid < 0) {
		snprintf(g->why, sizeof(g->why), "cannot start %s: %s", o->qemu, strerror(errno));
		free(com2);
		return -1;
	}
	for (;;) {
		nanosleep(&poll, NULL);
		exited = waitpid(qemu_pid, &status, WNOHANG) == qemu_pid;
		pump(&t, com2, g); /* after waitpid: an exited QEMU's log is complete */
		double now = now_s();
		if (g->why[0])
			break;
		if (g->done && !done_at)
			done_at = now;
		if (exited) {
			if (!g->done)
				describe_status(o, status, g->why, sizeof(g->why));
			break;
		}
		if (done_at && now > done_at + HALT_GRACE_S) {
			snprintf(g->why, sizeof(g->why),
				 "QEMU did not exit after the guest halted");
			break;
		}
		if (!g->ready && now > ready_by) {
			snprintf(g->why, sizeof(g->why), "no ready event within %.0f s",
				 ready_by - t0);
			break;
		}
		if (!g->done && now > end_by) {
			snprintf(g->why, sizeof(g->why), "no results within %.0f s", end_by - t0);
			break;
		}
	}
	if (!exited) {
		kill(-qemu_pid, SIGKILL);
		waitpid(qemu_pid, &status, 0);
	}
	qemu_pid = 0;
	if (t.fd >= 0)
		close(t.fd);
	free(com2);
	if (!g->why[0] && !(g->before.have && g->after.have && g->unbatched.have &&
			    g->batched.have && g->crash.have && g->tsc_hz))
		snprintf(g->why, sizeof(g->why), "the guest halted without every result");
	return g->why[0] ? -1 : 0;
}

/* Keep a failed attempt's serial logs as PREFIX-com1.log, PREFIX-com2.log. */
static void keep_logs(const char *dir, const char *prefix)
{
	const char *names[] = { "com1.log", "com2.log", "qemu.log" };
	char to[64];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *a = path_in(dir, names[i]), *b;
		snprintf(to, sizeof(to), "%s-%s", prefix, names[i]);
		b = path_in(dir, to);
		rename(a, b);
		free(a);
		free(b);
	}
}

/* ---------------------------------------------------------------- report */

struct report {
	const char *accel;
	char fallback[320]; /* why not KVM; "" if KVM ran */
	struct guest g;
	struct stats pipe_pinned, pipe_free;
	uint64_t host_hz;
};

static double per_s(const struct casts *c, uint64_t hz)
{
	return (double)c->n * (double)hz / (double)c->cycles;
}

static void print_stats_row(const char *what, const struct stats *s)
{
	printf("  %-34s %8" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %12" PRIu64 "\n",
	       what, s->n, s->p50, s->p99, s->min, s->max);
}

static void print_cast_row(const char *what, const struct casts *c, uint64_t hz)
{
	printf("  %-34s %8" PRIu64 " %12.0f %10.0f %12.1f\n", what, c->n, per_s(c, hz),
	       (double)c->cycles / (double)c->n, (double)c->n / (double)c->wakeups);
}

static void print_report(const struct report *r)
{
	const struct guest *g = &r->g;
	double d50 = (double)g->after.p50 - (double)g->before.p50;
	double d99 = (double)g->after.p99 - (double)g->before.p99;

	printf("\nVesta channel benchmark: accel %s, guest tsc_hz %" PRIu64 ", host tsc_hz %" PRIu64
	       "\n",
	       r->accel, g->tsc_hz, r->host_hz);
	if (r->fallback[0])
		printf("NOTE: %s\n", r->fallback);
	printf("\n  %-34s %8s %10s %10s %10s %12s\n", "round trip (cycles)", "n", "p50", "p99",
	       "min", "max");
	print_stats_row("Vesta call+reply", &g->before);
	print_stats_row("Linux pipe, both on one CPU", &r->pipe_pinned);
	print_stats_row("Linux pipe, any CPU", &r->pipe_free);
	printf("  Vesta / Linux pipe (one CPU): p50 %.2fx, p99 %.2fx\n",
	       (double)g->before.p50 / (double)r->pipe_pinned.p50,
	       (double)g->before.p99 / (double)r->pipe_pinned.p99);

	printf("\n  %-34s %8s %12s %10s %12s\n", "one-way casts", "n", "msgs/s", "cycles/msg",
	       "msgs/wakeup");
	print_cast_row("without batching (queue=1)", &g->unbatched, g->tsc_hz);
	print_cast_row("with batching (deep queue)", &g->batched, g->tsc_hz);

	printf("\n  %-34s %8s %10s %10s %10s %12s\n", "redelivery bookkeeping (cycles)", "n", "p50",
	       "p99", "min", "max");
	print_stats_row("call+reply, channel never crashed", &g->before);
	print_stats_row("same channel after crashes", &g->after);
	printf("  added by %" PRIu64 " crashes with a call in flight: p50 %+.0f cycles (%+.1f%%), "
	       "p99 %+.0f cycles\n",
	       g->crash.n, d50, 100.0 * d50 / (double)g->before.p50, d99);
	printf("  recovery (crash, restart, replay, reply): p50 %" PRIu64
	       " cycles (%.2f ms), max %" PRIu64 "\n",
	       g->crash.p50, 1e3 * (double)g->crash.p50 / (double)g->tsc_hz, g->crash.max);
	if (r->fallback[0])
		printf("\nNOTE: TCG emulates every instruction: the cycle figures above are not "
		       "meaningful.\n");
}

static void json_stats(FILE *f, const char *key, const struct stats *s, bool comma)
{
	fprintf(f,
		"  \"%s\": {\"n\": %" PRIu64 ", \"p50\": %" PRIu64 ", \"p99\": %" PRIu64
		", \"min\": %" PRIu64 ", \"max\": %" PRIu64 ", \"mean\": %" PRIu64 "}%s\n",
		key, s->n, s->p50, s->p99, s->min, s->max, s->mean, comma ? "," : "");
}

static void json_casts(FILE *f, const char *key, const struct casts *c, uint64_t hz)
{
	fprintf(f,
		"  \"%s\": {\"n\": %" PRIu64 ", \"cycles\": %" PRIu64 ", \"sink_wakeups\": %" PRIu64
		", \"msgs_per_s\": %.0f},\n",
		key, c->n, c->cycles, c->wakeups, per_s(c, hz));
}

/* Write s as a JSON string: only quotes and backslashes need escaping in
 * the messages this program makes; other control bytes are dropped. */
static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		if ((unsigned char)*s >= 0x20)
			fputc(*s, f);
	}
	fputc('"', f);
}

/* Write dir/bench.json (through a temporary file). Returns 0 or -1. */
static int write_json(const char *dir, const struct report *r)
{
	char *path = path_in(dir, "bench.json"), *tmp = path_in(dir, "bench.json.tmp");
	const struct guest *g = &r->g;
	FILE *f = fopen(tmp, "w");
	int err = 0;

	if (!f) {
		perror(tmp);
		err = -1;
		goto out;
	}
	fprintf(f, "{\n  \"accel\": \"%s\",\n  \"kvm_fallback_reason\": ", r->accel);
	if (r->fallback[0])
		json_string(f, r->fallback);
	else
		fputs("null", f);
	fprintf(f, ",\n  \"cycles_meaningful\": %s,\n", strcmp(r->accel, "kvm") ? "false" : "true");
	fprintf(f, "  \"guest_tsc_hz\": %" PRIu64 ",\n  \"host_tsc_hz\": %" PRIu64 ",\n", g->tsc_hz,
		r->host_hz);
	fprintf(f, "  \"call_rtt_cycles_p50\": %" PRIu64 ",\n", g->before.p50);
	fprintf(f, "  \"call_rtt_cycles_p99\": %" PRIu64 ",\n", g->before.p99);
	fprintf(f, "  \"cast_msgs_per_s\": %.0f,\n", per_s(&g->batched, g->tsc_hz));
	fprintf(f, "  \"cast_msgs_per_s_unbatched\": %.0f,\n", per_s(&g->unbatched, g->tsc_hz));
	fprintf(f, "  \"linux_pipe_rtt_cycles\": %" PRIu64 ",\n", r->pipe_pinned.p50);
	fprintf(f, "  \"rtt_ratio_vesta_to_linux_p50\": %.3f,\n",
		(double)g->before.p50 / (double)r->pipe_pinned.p50);
	json_stats(f, "call_rtt", &g->before, true);
	json_stats(f, "linux_pipe_rtt_one_cpu", &r->pipe_pinned, true);
	json_stats(f, "linux_pipe_rtt_any_cpu", &r->pipe_free, true);
	json_casts(f, "cast_unbatched", &g->unbatched, g->tsc_hz);
	json_casts(f, "cast_batched", &g->batched, g->tsc_hz);
	fprintf(f, "  \"redelivery\": {\n    \"crashes\": %" PRIu64 ",\n", g->crash.n);
	fprintf(f, "    \"recovery_cycles_p50\": %" PRIu64 ",\n", g->crash.p50);
	fprintf(f, "    \"recovery_cycles_max\": %" PRIu64 ",\n", g->crash.max);
	fprintf(f, "    \"added_cycles_p50\": %" PRId64 ",\n",
		(int64_t)g->after.p50 - (int64_t)g->before.p50);
	fprintf(f, "    \"added_cycles_p99\": %" PRId64 ",\n",
		(int64_t)g->after.p99 - (int64_t)g->before.p99);
	fputs("  ", f);
	json_stats(f, "before", &g->before, true);
	fputs("  ", f);
	json_stats(f, "after", &g->after, false);
	fputs("  }\n}\n", f);
	if (fclose(f) || rename(tmp, path)) {
		perror(path);
		err = -1;
	}
out:
	free(path);
	free(tmp);
	return err;
}

/* ---------------------------------------------------------------- main */

static void usage(void)
{
	fprintf(stderr, "usage: bench --iso ISO --out DIR [--accel auto|kvm|tcg] [--timeout S]\n");
	exit(2);
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	*o = (struct opts){ .accel = "auto", .tcg_total_s = TCG_TOTAL_S };
	o->qemu = getenv("QEMU") && *getenv("QEMU") ? getenv("QEMU") : "qemu-system-x86_64";
	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--iso") == 0)
			o->iso = argv[++i];
		else if (strcmp(argv[i], "--out") == 0)
			o->out = argv[++i];
		else if (strcmp(argv[i], "--accel") == 0)
			o->accel = argv[++i];
		else if (strcmp(argv[i], "--timeout") == 0)
			o->tcg_total_s = atof(argv[++i]);
		else
			usage();
	}
	if (!o->iso || !o->out || o->tcg_total_s <= 0 ||
	    (strcmp(o->accel, "auto") && strcmp(o->accel, "kvm") && strcmp(o->accel, "tcg")))
		usage();
}

/* Whether KVM is worth a try; if not, why in r->fallback. */
static bool kvm_openable(struct report *r)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		snprintf(r->fallback, sizeof(r->fallback),
			 "KVM unavailable (/dev/kvm: %s); using TCG: cycle figures are not "
			 "meaningful",
			 strerror(errno));
		return false;
	}
	close(fd);
	return true;
}

/* Boot the guest: KVM first when allowed and possible, else or then TCG. */
static int run_accel(const struct opts *o, struct report *r)
{
	bool try_kvm = strcmp(o->accel, "tcg") != 0 && kvm_openable(r);

	if (strcmp(o->accel, "kvm") == 0 && !try_kvm) {
		fprintf(stderr, "bench: %s\n", r->fallback);
		return -1;
	}
	if (try_kvm) {
		printf("bench: booting %s under KVM\n", o->iso);
		fflush(stdout);
		if (run_guest(o, "kvm", &r->g) == 0) {
			r->accel = "kvm";
			return 0;
		}
		keep_logs(o->out, "kvm");
		snprintf(r->fallback, sizeof(r->fallback),
			 "KVM unusable here (%.200s); fell back to TCG: cycle figures are not "
			 "meaningful",
			 r->g.why);
		if (strcmp(o->accel, "kvm") == 0) {
			fprintf(stderr, "bench: KVM run failed: %s\n", r->g.why);
			return -1;
		}
		printf("bench: %s\n", r->fallback);
	} else if (!r->fallback[0]) {
		snprintf(r->fallback, sizeof(r->fallback),
			 "TCG requested; cycle figures are not meaningful");
	}
	printf("bench: booting %s under TCG (takes about 10 s)\n", o->iso);
	fflush(stdout);
	if (run_guest(o, "tcg", &r->g) < 0) {
		fprintf(stderr, "bench: TCG run failed: %s (logs in %s)\n", r->g.why, o->out);
		return -1;
	}
	r->accel = "tcg";
	return 0;
}

int main(int argc, char **argv)
{
	static struct report r;
	struct opts o;

	parse_opts(argc, argv, &o);
	if (access(o.iso, R_OK)) {
		fprintf(stderr, "bench: %s: %s (run make all first)\n", o.iso, strerror(errno));
		return 1;
	}
	if (mkdir(o.out, 0755) && errno != EEXIST) {
		perror(o.out);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);

	/* The host baseline first, while no QEMU competes for the CPUs. */
	printf("bench: Linux pipe ping-pong, %d round trips\n", PIPE_RTTS);
	fflush(stdout);
	r.host_hz = host_tsc_hz();
	if (pipe_rtt(true, PIPE_RTTS, &r.pipe_pinned) || pipe_rtt(false, PIPE_RTTS, &r.pipe_free))
		return 1;
	if (run_accel(&o, &r) < 0)
		return 1;
	print_report(&r);
	if (write_json(o.out, &r) < 0)
		return 1;
	printf("\nbench: figures written to %s/bench.json\n", o.out);
	return 0;
}
