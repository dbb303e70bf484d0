/*
 * bench: the host half of `make bench`. It boots build/img/bench.iso in
 * QEMU, reads the figures that the guest program bench
 * (tests/boot/progs/bench.c) measured with rdtsc and wrote on the COM2 event
 * log, then boots a Linux guest under the same QEMU settings, whose /init
 * (tools/linuxbench.c) times a pipe ping-pong the same way, and prints both
 * with their ratio. The guest also times round trips to a server that
 * dirties 0, 1, 4 and 16 pages of its stash per call, plain and with
 * recovery windows (window_rt_*, plain_rt_*: what the windows cost). It
 * also writes them to OUT/bench.json.
 *
 *     bench --iso ISO --out DIR [--linux LDIR] [--accel auto|kvm|tcg] [--timeout S]
 *
 * With --accel auto (the default) it tries KVM when /dev/kvm opens
 * read-write, and falls back to TCG when KVM does not work: QEMU fails,
 * the guest does not come up within KVM_READY_S, a process dies in a way
 * the benchmark never causes, or the results do not arrive within
 * KVM_TOTAL_S. Under KVM the figures are TSC cycles. Under TCG it runs QEMU
 * with -icount shift=0,sleep=off: the guest's TSC then advances exactly one
 * tick per guest instruction, so every figure is a count of guest
 * instructions ("_insns", accel "tcg-icount"), the same on every machine
 * and from run to run, whatever the host's load.
 *
 * LDIR holds the Linux guest (tools/linuxguest.sh, tools/mkinitramfs.c):
 * vmlinuz, initramfs.cpio, kernel-version, or the file "missing" saying why
 * there is no kernel. Without it the Linux figures are reported missing,
 * with the reason, and Vesta's are still printed and written.
 *
 * QEMU's serial logs are kept in DIR (com1.log is the console, com2.log the
 * event log, linux-com1.log the Linux console; a failed KVM attempt's are
 * kept as kvm-com1.log, kvm-com2.log).
 * Exit status: 0 figures printed and written, 1 the benchmark failed,
 * 2 bad usage.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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

#include "jsonline.h"

#define KVM_READY_S 20.0		 /* a working KVM boots (GRUB included) in about a second */
#define KVM_TOTAL_S 60.0		 /* ... and runs the whole guest bench in seconds */
#define TCG_READY_S 60.0		 /* TCG boots in 1-2 s; allow for a loaded host */
#define TCG_TOTAL_S 240.0		 /* the icount guest bench takes about 30 s here */
#define LINUX_TOTAL_S 300.0		 /* the Linux guest under icount: about 25 s here */
#define HALT_GRACE_S 10.0		 /* from bench_done to QEMU's exit */
#define POLL_NS 20000000L		 /* how often the serial log is read: 20 ms */
#define MAX_LINE 2048			 /* a longer serial line is not one of ours */
#define USER_TOP 0x0000800000000000ull	 /* addresses below are user space */
#define CRASH_MAX 64			 /* as in tests/boot/progs/bench.c */
#define DEATH_BASE 0x0000400000000000ull /* as in tests/boot/progs/benchsrv.c */
#define DEATH_BITS 44
/* The stash round trips (tests/boot/progs/bench.c): pages dirtied per call,
 * over a plain stash and over one with recovery windows. */
#define STASH_SERIES 4
static const unsigned stash_pages[STASH_SERIES] = { 0, 1, 4, 16 };
static const char *const stash_modes[2] = { "plain", "window" };

/* The machine both guests get; -cpu qemu64 is QEMU's default, named so
 * that the two guests are sure to match. */
#define QEMU_CPU "qemu64"
#define QEMU_MEM "256M"
#define ICOUNT "shift=0,sleep=off"
/* A fixed date on the virtual clock: with the host's date, Linux's figures
 * (its p99s and extremes) differed a little from run to run. */
#define RTC "base=2026-01-01T00:00:00,clock=vm"

/* Order statistics of one series of samples, in the run's unit. */
struct stats {
	bool have;
	uint64_t n, p50, p99, min, max, mean;
};

/* One timed burst of casts. */
struct casts {
	bool have;
	uint64_t n, ticks, wakeups; /* wakeups: of the sink, with work to do */
};

/* How one QEMU run is going; the line handler sets it. */
struct progress {
	bool ready, done;
	char why[256]; /* set when the run failed */
};

/* Everything one boot of Vesta's bench image produced. */
struct guest {
	struct progress pr;
	uint64_t tsc_hz;	    /* from the boot event; 0 until it came */
	struct stats before, after; /* call round trips, around the crashes */
	struct casts unbatched, batched;
	struct stats crash; /* call to reply for a call that crashed: n, p50, max */
	uint64_t ndeaths, deaths[CRASH_MAX];	       /* benchsrv's fault addresses */
	uint64_t ncalls, t0[CRASH_MAX], t1[CRASH_MAX]; /* each crashing call */
	struct stats recovery;			       /* death to the replayed call's reply */
	struct stats stash[2][STASH_SERIES];	       /* [plain, window][pages index] */
};

/* What the Linux guest produced. */
struct linux_guest {
	struct progress pr;
	struct stats pipe, eventfd, futex;
	char release[64];
	char missing[320]; /* why there are no Linux figures; "" if there are */
};

struct opts {
	const char *iso, *out, *linux_dir, *accel, *qemu;
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
 * purpose, with a write to an unmapped user address that carries the TSC
 * (benchsrv.c), kept in g->deaths. Anything else (a fault in the kernel's
 * half, where a broken KVM's syscall lands, or any other process dying)
 * fails the run.
 */
static void on_exit_event(const struct jsonline *o, struct guest *g)
{
	const char *name = get_str(o, "name"), *reason = get_str(o, "reason");
	const char *rip = get_str(o, "rip");
	bool user_rip = strtoull(rip, NULL, 16) < USER_TOP;

	if (strcmp(name, "benchsrv") == 0 && strcmp(reason, "page_fault") == 0 && user_rip) {
		if (g->ndeaths < CRASH_MAX)
			g->deaths[g->ndeaths++] = strtoull(get_str(o, "addr"), NULL, 16);
		return;
	}
	snprintf(g->pr.why, sizeof(g->pr.why), "process %s died: %s at rip %s", name, reason, rip);
}

static void on_stash(const struct jsonline *o, struct guest *g)
{
	const char *mode = get_str(o, "mode");
	uint64_t pages;

	if (!get_u64(o, "pages", &pages))
		return;
	for (int m = 0; m < 2; m++)
		for (int i = 0; i < STASH_SERIES; i++)
			if (strcmp(mode, stash_modes[m]) == 0 && pages == stash_pages[i])
				get_stats(o, &g->stash[m][i]);
}

/* Whether every stash series came. */
static bool stash_all(const struct guest *g)
{
	for (int m = 0; m < 2; m++)
		for (int i = 0; i < STASH_SERIES; i++)
			if (!g->stash[m][i].have)
				return false;
	return true;
}

static void on_crash_call(const struct jsonline *o, struct guest *g)
{
	uint64_t i;

	if (get_u64(o, "i", &i) && i == g->ncalls && i < CRASH_MAX && get_u64(o, "t0", &g->t0[i]) &&
	    get_u64(o, "t1", &g->t1[i]))
		g->ncalls++;
}

/* Take one line of Vesta's event log into *g. */
static void on_vesta_line(const char *line, size_t len, void *ctx)
{
	struct guest *g = ctx;
	char buf[MAX_LINE + 1];
	struct jsonline o;
	const char *ev;

	if (jsonline_parse(line, len, buf, sizeof(buf), &o) < 0)
		return; /* not an event (a partial line cannot happen: see pump) */
	ev = get_str(&o, "ev");
	if (strcmp(ev, "boot") == 0) {
		get_u64(&o, "tsc_hz", &g->tsc_hz);
	} else if (strcmp(ev, "ready") == 0) {
		g->pr.ready = true;
	} else if (strcmp(ev, "exit") == 0) {
		on_exit_event(&o, g);
	} else if (strcmp(ev, "panic") == 0) {
		snprintf(g->pr.why, sizeof(g->pr.why), "kernel panic (%s at rip %s)",
			 get_str(&o, "what"), get_str(&o, "rip"));
	} else if (strcmp(ev, "bench_error") == 0) {
		snprintf(g->pr.why, sizeof(g->pr.why), "guest bench failed: %s (%s)",
			 get_str(&o, "what"),
			 jsonline_find(&o, "err") ? jsonline_find(&o, "err")->value : "?");
	} else if (strcmp(ev, "bench_rtt") == 0) {
		const char *phase = get_str(&o, "phase");
		get_stats(&o, strcmp(phase, "before") == 0 ? &g->before : &g->after);
	} else if (strcmp(ev, "bench_cast") == 0) {
		struct casts *c =
		    strcmp(get_str(&o, "mode"), "batched") == 0 ? &g->batched : &g->unbatched;
		c->have = get_u64(&o, "n", &c->n) && get_u64(&o, "cycles", &c->ticks) &&
			  get_u64(&o, "wakeups", &c->wakeups) && c->n > 0 && c->ticks > 0;
	} else if (strcmp(ev, "bench_crash_call") == 0) {
		on_crash_call(&o, g);
	} else if (strcmp(ev, "bench_crash") == 0) {
		g->crash.have = get_u64(&o, "n", &g->crash.n) &&
				get_u64(&o, "p50", &g->crash.p50) &&
				get_u64(&o, "max", &g->crash.max);
	} else if (strcmp(ev, "bench_stash") == 0) {
		on_stash(&o, g);
	} else if (strcmp(ev, "bench_done") == 0) {
		g->pr.done = true;
	}
}

/* Take one line of the Linux guest's console into *l. Anything that is not
 * one of linuxbench's lines (the kernel's own messages) is skipped. */
static void on_linux_line(const char *line, size_t len, void *ctx)
{
	struct linux_guest *l = ctx;
	char buf[MAX_LINE + 1];
	struct jsonline o;
	const char *ev, *what;

	if (jsonline_parse(line, len, buf, sizeof(buf), &o) < 0)
		return;
	ev = get_str(&o, "ev");
	l->pr.ready = true;
	if (strcmp(ev, "linux_rtt") == 0) {
		what = get_str(&o, "what");
		if (strcmp(what, "pipe") == 0)
			get_stats(&o, &l->pipe);
		else if (strcmp(what, "eventfd") == 0)
			get_stats(&o, &l->eventfd);
		else if (strcmp(what, "futex") == 0)
			get_stats(&o, &l->futex);
	} else if (strcmp(ev, "linux_error") == 0) {
		snprintf(l->pr.why, sizeof(l->pr.why), "linuxbench failed: %s (errno %s)",
			 get_str(&o, "what"),
			 jsonline_find(&o, "errno") ? jsonline_find(&o, "errno")->value : "?");
	} else if (strcmp(ev, "linux_done") == 0) {
		snprintf(l->release, sizeof(l->release), "%s", get_str(&o, "release"));
		l->pr.done = true;
	}
}

/* A serial log as it grows: complete lines are handed to on_line. */
struct tail {
	int fd;
	char line[MAX_LINE];
	size_t len;
	bool overlong; /* dropping the rest of a line that did not fit */
	void (*on_line)(const char *line, size_t len, void *ctx);
	void *ctx;
};

static void pump(struct tail *t, const char *path)
{
	char buf[4096];
	ssize_t n;

	if (t->fd < 0 && (t->fd = open(path, O_RDONLY)) < 0)
		return; /* QEMU has not created it yet */
	while ((n = read(t->fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				if (!t->overlong)
					t->on_line(t->line, t->len, t->ctx);
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

/* One QEMU run: the machine (the same for both guests), what it boots, and
 * where its serial ports go. */
struct boot {
	const char *accel;	 /* "kvm" or "tcg" (always with icount) */
	const char *const *what; /* the boot arguments, NULL-terminated */
	const char *com1, *com2; /* log names in the out dir; com2 may be NULL */
	double ready_s, total_s; /* limits from the start */
};

/* Start QEMU as b says, its serial ports into the out dir's logs. */
static pid_t start_qemu(const struct opts *o, const struct boot *b)
{
	char *com1 = path_in(o->out, b->com1), *com2 = b->com2 ? path_in(o->out, b->com2) : NULL;
	char *qlog = path_in(o->out, "qemu.log");
	char s1[4200], s2[4200];
	const char *argv[40];
	int n = 0;
	pid_t pid;

	snprintf(s1, sizeof(s1), "file:%s", com1);
	snprintf(s2, sizeof(s2), "file:%s", com2 ? com2 : "/dev/null");
	unlink(com1);
	if (com2)
		unlink(com2);
	argv[n++] = o->qemu;
	argv[n++] = "-accel";
	argv[n++] = b->accel;
	if (strcmp(b->accel, "tcg") == 0) {
		argv[n++] = "-icount";
		argv[n++] = ICOUNT;
	}
	const char *common[] = { "-cpu", QEMU_CPU,   "-m",   QEMU_MEM,	   "-rtc",
				 RTC,	 "-display", "none", "-no-reboot", "-serial",
				 s1,	 "-serial",  s2 };
	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
		argv[n++] = common[i];
	for (int i = 0; b->what[i] && n < 39; i++)
		argv[n++] = b->what[i];
	argv[n] = NULL;
	pid = fork();
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int out = open(qlog, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the driver */
		if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(127);
		execvp(o->qemu, (char *const *)argv);
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
 * Run QEMU as b says, feeding the lines of the log it watches (com2 if
 * there is one, else com1) to t's handler, until the handler says done
 * and QEMU exits, or something fails (pr->why). QEMU is always gone on
 * return.
 */
static void run_qemu(const struct opts *o, const struct boot *b, struct tail *t,
		     struct progress *pr)
{
	double t0 = now_s(), ready_by = t0 + b->ready_s, end_by = t0 + b->total_s, done_at = 0;
	char *log = path_in(o->out, b->com2 ? b->com2 : b->com1);
	struct timespec poll = { 0, POLL_NS };
	int status = 0;
	bool exited = false;

	qemu_pid = start_qemu(o, b);
	if (qemu_pid < 0) {
		snprintf(pr->why, sizeof(pr->why), "cannot start %s: %s", o->qemu, strerror(errno));
		free(log);
		return;
	}
	for (;;) {
		nanosleep(&poll, NULL);
		exited = waitpid(qemu_pid, &status, WNOHANG) == qemu_pid;
		pump(t, log); /* after waitpid: an exited QEMU's log is complete */
		double now = now_s();
		if (pr->why[0])
			break;
		if (pr->done && !done_at)
			done_at = now;
		if (exited) {
			if (!pr->done)
				describe_status(o, status, pr->why, sizeof(pr->why));
			break;
		}
		if (done_at && now > done_at + HALT_GRACE_S) {
			snprintf(pr->why, sizeof(pr->why),
				 "QEMU did not exit after the guest halted");
			break;
		}
		if (!pr->ready && now > ready_by) {
			snprintf(pr->why, sizeof(pr->why), "no ready event within %.0f s",
				 ready_by - t0);
			break;
		}
		if (!pr->done && now > end_by) {
			snprintf(pr->why, sizeof(pr->why), "no results within %.0f s", end_by - t0);
			break;
		}
	}
	if (!exited) {
		kill(-qemu_pid, SIGKILL);
		waitpid(qemu_pid, &status, 0);
	}
	qemu_pid = 0;
	if (t->fd >= 0)
		close(t->fd);
	free(log);
}

/*
 * Each crash's recovery: from benchsrv's death (the TSC in its fault
 * address, low DEATH_BITS only) to the TSC at the replayed call's reply.
 * The high bits are the reply's, less one wrap if the low bits did wrap.
 * Returns 0, or -1 with g->pr.why set when deaths and calls do not pair up.
 */
static int recovery_of(struct guest *g)
{
	uint64_t mask = (1ull << DEATH_BITS) - 1, v[CRASH_MAX];

	if (g->ndeaths != g->ncalls || g->ncalls != g->crash.n || g->ncalls == 0) {
		snprintf(g->pr.why, sizeof(g->pr.why),
			 "%" PRIu64 " server deaths for %" PRIu64 " crashing calls of %" PRIu64,
			 g->ndeaths, g->ncalls, g->crash.n);
		return -1;
	}
	for (uint64_t i = 0; i < g->ncalls; i++) {
		uint64_t low = g->deaths[i] - DEATH_BASE, t1 = g->t1[i];
		uint64_t death = t1 - ((t1 - low) & mask);
		if (g->deaths[i] < DEATH_BASE || low > mask || death < g->t0[i]) {
			snprintf(g->pr.why, sizeof(g->pr.why),
				 "crash %" PRIu64 ": death stamp %#" PRIx64
				 " is not within its call",
				 i, g->deaths[i]);
			return -1;
		}
		v[i] = t1 - death;
	}
	g->recovery = stats_of(v, g->ncalls);
	return 0;
}

/* Boot Vesta's bench image once with accel; 0 with every result in *g, or
 * -1 with g->pr.why set. */
static int run_vesta(const struct opts *o, const char *accel, struct guest *g)
{
	bool kvm = strcmp(accel, "kvm") == 0;
	const char *what[] = { "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-cdrom",
			       o->iso, NULL };
	struct boot b = { accel,
			  what,
			  "com1.log",
			  "com2.log",
			  kvm ? KVM_READY_S : TCG_READY_S,
			  kvm ? KVM_TOTAL_S : o->tcg_total_s };
	struct tail t = { .fd = -1, .on_line = on_vesta_line, .ctx = g };

	memset(g, 0, sizeof(*g));
	run_qemu(o, &b, &t, &g->pr);
	if (!g->pr.why[0] && !(g->before.have && g->after.have && g->unbatched.have &&
			       g->batched.have && g->crash.have && stash_all(g) && g->tsc_hz))
		snprintf(g->pr.why, sizeof(g->pr.why), "the guest halted without every result");
	if (!g->pr.why[0])
		recovery_of(g);
	return g->pr.why[0] ? -1 : 0;
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

/* The first line of dir/name into buf ("" if there is none). */
static void read_line(const char *dir, const char *name, char *buf, size_t n)
{
	char *p = path_in(dir, name);
	FILE *f = fopen(p, "r");

	buf[0] = '\0';
	if (f) {
		if (!fgets(buf, (int)n, f))
			buf[0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		fclose(f);
	}
	free(p);
}

/* Boot the Linux guest from o->linux_dir with accel, as Vesta's was. Never
 * fails the benchmark: without figures, l->missing says why. */
static void run_linux(const struct opts *o, const char *accel, struct linux_guest *l)
{
	char *kernel, *initrd, why[256];

	memset(l, 0, sizeof(*l));
	if (!o->linux_dir) {
		snprintf(l->missing, sizeof(l->missing), "no --linux directory given");
		return;
	}
	kernel = path_in(o->linux_dir, "vmlinuz");
	initrd = path_in(o->linux_dir, "initramfs.cpio");
	read_line(o->linux_dir, "missing", why, sizeof(why));
	read_line(o->linux_dir, "kernel-version", l->release, sizeof(l->release));
	if (why[0] || access(kernel, R_OK) || access(initrd, R_OK)) {
		snprintf(l->missing, sizeof(l->missing), "no Linux kernel to boot: %s",
			 why[0] ? why : "vmlinuz or initramfs.cpio missing (tools/linuxguest.sh)");
	} else {
		const char *what[] = { "-kernel", kernel,    "-initrd",
				       initrd,	  "-append", "console=ttyS0 quiet",
				       NULL };
		bool kvm = strcmp(accel, "kvm") == 0;
		double total = kvm ? KVM_TOTAL_S : LINUX_TOTAL_S;
		struct boot b = { accel, what, "linux-com1.log", NULL, total, total };
		struct tail t = { .fd = -1, .on_line = on_linux_line, .ctx = l };

		printf("bench: booting Linux %s (%s) the same way\n", l->release, kernel);
		fflush(stdout);
		l->release[0] = '\0'; /* the guest's uname says which kernel ran */
		run_qemu(o, &b, &t, &l->pr);
		if (!l->pr.why[0] && !l->pipe.have)
			snprintf(l->pr.why, sizeof(l->pr.why), "no pipe figure");
		if (l->pr.why[0])
			snprintf(l->missing, sizeof(l->missing),
				 "the Linux guest failed: %s (log %s/%s)", l->pr.why, o->out,
				 "linux-com1.log");
	}
	free(kernel);
	free(initrd);
}

/* ---------------------------------------------------------------- report */

struct report {
	const char *accel;  /* "kvm" or "tcg-icount" */
	const char *unit;   /* what a figure counts: "cycles" or "insns" */
	char fallback[320]; /* why not KVM; "" if KVM ran */
	struct guest g;
	struct linux_guest lx;
};

static double per_msg(const struct casts *c)
{
	return (double)c->ticks / (double)c->n;
}

/* A ratio a / b, or 0 when b is 0 (a figure that is missing). */
static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0.0;
}

static void print_stats_row(const char *what, const struct stats *s)
{
	printf("  %-40s %8" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %12" PRIu64 "\n",
	       what, s->n, s->p50, s->p99, s->min, s->max);
}

static void print_cast_row(const char *what, const struct casts *c, const struct report *r)
{
	printf("  %-40s %8" PRIu64 " %10.0f %12.1f", what, c->n, per_msg(c),
	       (double)c->n / (double)c->wakeups);
	if (strcmp(r->accel, "kvm") == 0)
		printf(" %12.0f", (double)c->n * (double)r->g.tsc_hz / (double)c->ticks);
	printf("\n");
}

static void print_linux(const struct report *r)
{
	const struct linux_guest *l = &r->lx;
	char what[64];

	if (l->missing[0]) {
		printf("  Linux figures missing: %s\n", l->missing);
		return;
	}
	snprintf(what, sizeof(what), "Linux %.24s pipe ping-pong", l->release);
	print_stats_row(what, &l->pipe);
	if (l->eventfd.have)
		print_stats_row("Linux eventfd ping-pong", &l->eventfd);
	if (l->futex.have)
		print_stats_row("Linux futex ping-pong", &l->futex);
	printf("  Linux pipe / Vesta call+reply: p50 %.2fx, p99 %.2fx\n",
	       ratio(l->pipe.p50, r->g.before.p50), ratio(l->pipe.p99, r->g.before.p99));
}

/* The stash round trips: plain and windowed side by side per page count. */
static void print_stash(const struct report *r)
{
	const struct guest *g = &r->g;
	char head[64], what[64];

	snprintf(head, sizeof(head), "stash pages dirtied per call (%s)", r->unit);
	printf("\n  %-40s %8s %10s %10s %10s %12s\n", head, "n", "p50", "p99", "min", "max");
	for (int i = 0; i < STASH_SERIES; i++)
		for (int m = 0; m < 2; m++) {
			snprintf(what, sizeof(what), "%s stash, %u pages", stash_modes[m],
				 stash_pages[i]);
			print_stats_row(what, &g->stash[m][i]);
		}
	for (int i = 0; i < STASH_SERIES; i++)
		printf("  windows cost, %2u pages: p50 %+" PRId64 " %s (%.3fx)\n", stash_pages[i],
		       (int64_t)(g->stash[1][i].p50 - g->stash[0][i].p50), r->unit,
		       ratio(g->stash[1][i].p50, g->stash[0][i].p50));
}

static void print_report(const struct report *r)
{
	const struct guest *g = &r->g;
	char head[64];

	printf("\nVesta channel benchmark: accel %s, -cpu %s -m %s -rtc %s", r->accel, QEMU_CPU,
	       QEMU_MEM, RTC);
	if (strcmp(r->accel, "kvm") == 0)
		printf(", guest tsc_hz %" PRIu64 "\n", g->tsc_hz);
	else
		printf(", -icount %s\nFigures are guest INSTRUCTIONS (insns): under icount the "
		       "guest's TSC advances one tick per instruction; they do not depend on the "
		       "host.\n",
		       ICOUNT);
	if (r->fallback[0])
		printf("NOTE: %s\n", r->fallback);
	snprintf(head, sizeof(head), "round trip, 8 bytes (%s)", r->unit);
	printf("\n  %-40s %8s %10s %10s %10s %12s\n", head, "n", "p50", "p99", "min", "max");
	print_stats_row("Vesta call+reply", &g->before);
	print_linux(r);

	snprintf(head, sizeof(head), "%s/msg", r->unit);
	printf("\n  %-40s %8s %10s %12s%s\n", "one-way casts", "n", head, "msgs/wakeup",
	       strcmp(r->accel, "kvm") == 0 ? "       msgs/s" : "");
	print_cast_row("without batching (max_messages 1)", &g->unbatched, r);
	print_cast_row("batched: castv/recvv, max_messages 256", &g->batched, r);

	snprintf(head, sizeof(head), "crash with a call in flight (%s)", r->unit);
	printf("\n  %-40s %8s %10s %10s %10s %12s\n", head, "n", "p50", "p99", "min", "max");
	print_stats_row("recovery: death to replayed reply", &g->recovery);
	printf("  %-40s %8" PRIu64 " %10" PRIu64 " %10s %10s %12" PRIu64 "\n",
	       "the whole call, call to reply", g->crash.n, g->crash.p50, "", "", g->crash.max);

	snprintf(head, sizeof(head), "redelivery bookkeeping (%s)", r->unit);
	printf("\n  %-40s %8s %10s %10s %10s %12s\n", head, "n", "p50", "p99", "min", "max");
	print_stats_row("call+reply, channel never crashed", &g->before);
	print_stats_row("same channel after the crashes", &g->after);
	printf("  after / before: p50 %.3fx, p99 %.3fx\n", ratio(g->after.p50, g->before.p50),
	       ratio(g->after.p99, g->before.p99));
	print_stash(r);
}

static void json_stats(FILE *f, const char *key, const struct stats *s, const char *end)
{
	if (!s->have) {
		fprintf(f, "  \"%s\": null%s\n", key, end);
		return;
	}
	fprintf(f,
		"  \"%s\": {\"n\": %" PRIu64 ", \"p50\": %" PRIu64 ", \"p99\": %" PRIu64
		", \"min\": %" PRIu64 ", \"max\": %" PRIu64 ", \"mean\": %" PRIu64 "}%s\n",
		key, s->n, s->p50, s->p99, s->min, s->max, s->mean, end);
}

static void json_casts(FILE *f, const char *key, const struct casts *c, const struct report *r)
{
	fprintf(f,
		"  \"%s\": {\"n\": %" PRIu64 ", \"%s\": %" PRIu64 ", \"%s_per_msg\": %.1f, "
		"\"sink_wakeups\": %" PRIu64,
		key, c->n, r->unit, c->ticks, r->unit, per_msg(c), c->wakeups);
	if (strcmp(r->accel, "kvm") == 0)
		fprintf(f, ", \"msgs_per_s\": %.0f",
			(double)c->n * (double)r->g.tsc_hz / (double)c->ticks);
	fprintf(f, "},\n");
}

/* Write s as a JSON string, or null when s is empty: only quotes and
 * backslashes need escaping in the messages this program makes; other
 * control bytes are dropped. */
static void json_string(FILE *f, const char *s)
{
	if (!*s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		if ((unsigned char)*s >= 0x20)
			fputc(*s, f);
	}
	fputc('"', f);
}

/* "key": value, with the run's unit in the key where it has %s. */
static void json_u64(FILE *f, const struct report *r, const char *key, uint64_t v, bool have)
{
	fputs("  \"", f);
	fprintf(f, key, r->unit);
	if (have)
		fprintf(f, "\": %" PRIu64 ",\n", v);
	else
		fputs("\": null,\n", f);
}

/* The headline figures, flat, named with the unit (_insns or _cycles). */
static void json_headline(FILE *f, const struct report *r)
{
	const struct guest *g = &r->g;
	const struct linux_guest *l = &r->lx;
	bool lx = !l->missing[0];

	json_u64(f, r, "call_rtt_%s_p50", g->before.p50, true);
	json_u64(f, r, "call_rtt_%s_p99", g->before.p99, true);
	fprintf(f, "  \"cast_unbatched_%s_per_msg\": %.1f,\n", r->unit, per_msg(&g->unbatched));
	fprintf(f, "  \"cast_batched_%s_per_msg\": %.1f,\n", r->unit, per_msg(&g->batched));
	json_u64(f, r, "cast_batched_sink_wakeups", g->batched.wakeups, true);
	json_u64(f, r, "recovery_%s_p50", g->recovery.p50, true);
	json_u64(f, r, "recovery_%s_max", g->recovery.max, true);
	json_u64(f, r, "call_rtt_after_crashes_%s_p50", g->after.p50, true);
	fprintf(f, "  \"redelivery_rtt_ratio_p50\": %.4f,\n", ratio(g->after.p50, g->before.p50));
	fputs("  \"linux_kernel\": ", f);
	json_string(f, lx ? l->release : "");
	fputs(",\n  \"linux_missing_reason\": ", f);
	json_string(f, l->missing);
	fputs(",\n", f);
	json_u64(f, r, "linux_pipe_rtt_%s_p50", l->pipe.p50, lx);
	json_u64(f, r, "linux_eventfd_rtt_%s_p50", l->eventfd.p50, lx && l->eventfd.have);
	json_u64(f, r, "linux_futex_rtt_%s_p50", l->futex.p50, lx && l->futex.have);
	if (lx)
		fprintf(f, "  \"rtt_ratio_linux_pipe_to_vesta_p50\": %.3f,\n",
			ratio(l->pipe.p50, g->before.p50));
	else
		fputs("  \"rtt_ratio_linux_pipe_to_vesta_p50\": null,\n", f);
	/* window_rt_4p_insns: the p50 round trip to a server that dirties 4
	 * pages of a windowed stash per call; plain_rt_4p_insns: a plain one. */
	for (int m = 0; m < 2; m++)
		for (int i = 0; i < STASH_SERIES; i++) {
			fprintf(f, "  \"%s_rt_%up_%s\": %" PRIu64 ",\n", stash_modes[m],
				stash_pages[i], r->unit, g->stash[m][i].p50);
			fprintf(f, "  \"%s_rt_%up_%s_p99\": %" PRIu64 ",\n", stash_modes[m],
				stash_pages[i], r->unit, g->stash[m][i].p99);
		}
}

/* Write dir/bench.json (through a temporary file). Returns 0 or -1. */
static int write_json(const char *dir, const struct report *r)
{
	char *path = path_in(dir, "bench.json"), *tmp = path_in(dir, "bench.json.tmp");
	const struct guest *g = &r->g;
	const struct linux_guest *l = &r->lx;
	FILE *f = fopen(tmp, "w");
	int err = 0;

	if (!f) {
		perror(tmp);
		err = -1;
		goto out;
	}
	fprintf(f, "{\n  \"accel\": \"%s\",\n  \"unit\": \"%s\",\n", r->accel, r->unit);
	fprintf(f, "  \"qemu\": \"-cpu %s -m %s -rtc %s%s%s\",\n", QEMU_CPU, QEMU_MEM, RTC,
		strcmp(r->accel, "kvm") ? " -icount " : "", strcmp(r->accel, "kvm") ? ICOUNT : "");
	fputs("  \"kvm_fallback_reason\": ", f);
	json_string(f, r->fallback);
	fprintf(f, ",\n  \"guest_tsc_hz\": %" PRIu64 ",\n", g->tsc_hz);
	json_headline(f, r);
	json_stats(f, "call_rtt", &g->before, ",");
	json_stats(f, "call_rtt_after_crashes", &g->after, ",");
	json_stats(f, "recovery", &g->recovery, ",");
	fprintf(f,
		"  \"crash_call\": {\"n\": %" PRIu64 ", \"p50\": %" PRIu64 ", \"max\": %" PRIu64
		"},\n",
		g->crash.n, g->crash.p50, g->crash.max);
	json_casts(f, "cast_unbatched", &g->unbatched, r);
	json_casts(f, "cast_batched", &g->batched, r);
	for (int m = 0; m < 2; m++)
		for (int i = 0; i < STASH_SERIES; i++) {
			char key[32];
			snprintf(key, sizeof(key), "%s_rt_%up", stash_modes[m], stash_pages[i]);
			json_stats(f, key, &g->stash[m][i], ",");
		}
	json_stats(f, "linux_pipe_rtt", &l->pipe, ",");
	json_stats(f, "linux_eventfd_rtt", &l->eventfd, ",");
	json_stats(f, "linux_futex_rtt", &l->futex, "");
	fputs("}\n", f);
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
	fprintf(stderr, "usage: bench --iso ISO --out DIR [--linux LDIR] [--accel auto|kvm|tcg] "
			"[--timeout S]\n");
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
		else if (strcmp(argv[i], "--linux") == 0)
			o->linux_dir = argv[++i];
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
			 "KVM unavailable (/dev/kvm: %s); using TCG with -icount: figures are "
			 "guest instructions",
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
		if (run_vesta(o, "kvm", &r->g) == 0) {
			r->accel = "kvm";
			r->unit = "cycles";
			return 0;
		}
		keep_logs(o->out, "kvm");
		snprintf(r->fallback, sizeof(r->fallback),
			 "KVM unusable here (%.200s); fell back to TCG with -icount: figures are "
			 "guest instructions",
			 r->g.pr.why);
		if (strcmp(o->accel, "kvm") == 0) {
			fprintf(stderr, "bench: KVM run failed: %s\n", r->g.pr.why);
			return -1;
		}
		printf("bench: %s\n", r->fallback);
	}
	printf("bench: booting %s under TCG, -icount %s (takes about 30 s)\n", o->iso, ICOUNT);
	fflush(stdout);
	if (run_vesta(o, "tcg", &r->g) < 0) {
		fprintf(stderr, "bench: TCG run failed: %s (logs in %s)\n", r->g.pr.why, o->out);
		return -1;
	}
	r->accel = "tcg-icount";
	r->unit = "insns";
	return 0;
}

int main(int argc, char **argv)
{
	static struct report r;
	struct opts o;
	double t0 = now_s();

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

	if (run_accel(&o, &r) < 0)
		return 1;
	run_linux(&o, strcmp(r.accel, "kvm") == 0 ? "kvm" : "tcg", &r.lx);
	print_report(&r);
	if (write_json(o.out, &r) < 0)
		return 1;
	printf("\nbench: figures written to %s/bench.json (%.0f s)\n", o.out, now_s() - t0);
	return 0;
}
