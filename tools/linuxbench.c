/*
 * linuxbench: the /init of the Linux guest that `make bench` boots for its
 * comparison (tools/bench.c is the host side, tools/linuxguest.sh fetches
 * the kernel, tools/mkinitramfs.c packs this program). Built static, it is
 * the only program in the guest: it times round trips between itself and a
 * forked child over a pipe pair, an eventfd pair and a shared futex word,
 * with "lfence; rdtsc" around each round trip as Vesta's guest bench does
 * (under QEMU's -icount shift=0 the TSC advances one tick per guest
 * instruction). Each series is printed on the console as one line:
 *
 *   {"ev":"linux_rtt","what":"pipe","n":..,"p50":..,"p99":..,"min":..,"max":..,"mean":..}
 *
 * then {"ev":"linux_done","release":".."} (or {"ev":"linux_error",...} on a
 * failure), and, as pid 1, it powers the machine off. Run as any other pid
 * (on a host, to try it) it only prints.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#define WARMUP 1000	 /* untimed round trips before each series */
#define PIPE_RTTS 100000 /* as many as Vesta's calls: the figure compared */
#define SMALL_RTTS 20000 /* eventfd and futex: for reference only */
#define MAX_RTTS PIPE_RTTS

/* One side's half of a round trip: the parent's ping (and wait for the
 * pong) or the child's answer. Returns 0, or -1 when the other side is gone. */
struct rtt_ops {
	const char *what;
	uint64_t n;
	int (*ping)(void *ctx, uint64_t i);
	int (*pong)(void *ctx, uint64_t i);
};

static uint64_t samples[MAX_RTTS];

/* The TSC, read after every earlier instruction has completed. */
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return ((uint64_t)hi << 32) | lo;
}

/* Print one line with a single write, so kernel messages cannot split it. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0 && write(1, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1) < 0)
		_exit(3);
}

static _Noreturn void finish(int ok)
{
	if (getpid() == 1) {
		reboot(RB_POWER_OFF);
		for (;;) /* pid 1 must not exit: that would panic the kernel */
			pause();
	}
	exit(ok ? 0 : 1);
}

static _Noreturn void fail(const char *what)
{
	say("{\"ev\":\"linux_error\",\"what\":\"%s\",\"errno\":%d}\n", what, errno);
	finish(0);
}

/* ------------------------------------------------------------- pipe */

struct fds {
	int to_child[2], to_parent[2];
};

/* Write (wr) or read exactly n bytes, at most 8, on fd: one byte through a
 * pipe, one 8-byte counter through an eventfd. */
static int xfer(int fd, int wr, size_t n)
{
	uint64_t v = 1;
	ssize_t r;

	do
		r = wr ? write(fd, &v, n) : read(fd, &v, n);
	while (r < 0 && errno == EINTR);
	return r == (ssize_t)n ? 0 : -1;
}

static int pipe_ping(void *ctx, uint64_t i)
{
	struct fds *f = ctx;

	(void)i;
	return xfer(f->to_child[1], 1, 1) || xfer(f->to_parent[0], 0, 1) ? -1 : 0;
}

static int pipe_pong(void *ctx, uint64_t i)
{
	struct fds *f = ctx;

	(void)i;
	return xfer(f->to_child[0], 0, 1) || xfer(f->to_parent[1], 1, 1) ? -1 : 0;
}

/* ------------------------------------------------------------- eventfd */

static int efd_ping(void *ctx, uint64_t i)
{
	struct fds *f = ctx;

	(void)i;
	return xfer(f->to_child[0], 1, 8) || xfer(f->to_parent[0], 0, 8) ? -1 : 0;
}

static int efd_pong(void *ctx, uint64_t i)
{
	struct fds *f = ctx;

	(void)i;
	return xfer(f->to_child[0], 0, 8) || xfer(f->to_parent[0], 1, 8) ? -1 : 0;
}

/* ------------------------------------------------------------- futex */

/* A shared word counts the half trips: the parent makes it odd (2i+1) and
 * wakes the child, the child makes it even (2i+2) and wakes the parent;
 * each sleeps in FUTEX_WAIT until the value it waits for is there. */
static void futex_wait(_Atomic uint32_t *w, uint32_t old)
{
	syscall(SYS_futex, w, FUTEX_WAIT, old, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *w)
{
	syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static void await(_Atomic uint32_t *w, uint32_t want)
{
	uint32_t v;

	while ((v = atomic_load(w)) != want)
		futex_wait(w, v);
}

static int fx_ping(void *ctx, uint64_t i)
{
	_Atomic uint32_t *w = ctx;

	atomic_store(w, (uint32_t)(2 * i + 1));
	futex_wake(w);
	await(w, (uint32_t)(2 * i + 2));
	return 0;
}

static int fx_pong(void *ctx, uint64_t i)
{
	_Atomic uint32_t *w = ctx;

	await(w, (uint32_t)(2 * i + 1));
	atomic_store(w, (uint32_t)(2 * i + 2));
	futex_wake(w);
	return 0;
}

/* ------------------------------------------------------------- driver */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The same statistics as Vesta's bench: median v[n/2], nearest-rank p99. */
static void report(const char *what, uint64_t *v, uint64_t n)
{
	uint64_t sum = 0;

	qsort(v, n, sizeof(*v), cmp_u64);
	for (uint64_t i = 0; i < n; i++)
		sum += v[i];
	say("{\"ev\":\"linux_rtt\",\"what\":\"%s\",\"n\":%" PRIu64 ",\"p50\":%" PRIu64
	    ",\"p99\":%" PRIu64 ",\"min\":%" PRIu64 ",\"max\":%" PRIu64 ",\"mean\":%" PRIu64 "}\n",
	    what, n, v[n / 2], v[(n * 99 + 99) / 100 - 1], v[0], v[n - 1], sum / n);
}

/* Fork a child that answers ops->pong WARMUP + n times; time each ping. */
static void run(const struct rtt_ops *ops, void *ctx)
{
	uint64_t total = WARMUP + ops->n;
	int status;
	pid_t pid = fork();

	if (pid < 0)
		fail("fork");
	if (pid == 0) {
		for (uint64_t i = 0; i < total; i++)
			if (ops->pong(ctx, i))
				_exit(1);
		_exit(0);
	}
	for (uint64_t i = 0; i < total; i++) {
		uint64_t t0 = rdtsc();
		if (ops->ping(ctx, i))
			fail(ops->what);
		uint64_t dt = rdtsc() - t0;
		if (i >= WARMUP)
			samples[i - WARMUP] = dt;
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		fail("child");
	report(ops->what, samples, ops->n);
}

int main(void)
{
	static const struct rtt_ops pipe_ops = { "pipe", PIPE_RTTS, pipe_ping, pipe_pong };
	static const struct rtt_ops efd_ops = { "eventfd", SMALL_RTTS, efd_ping, efd_pong };
	static const struct rtt_ops fx_ops = { "futex", SMALL_RTTS, fx_ping, fx_pong };
	struct fds p, e;
	struct utsname u;
	_Atomic uint32_t *word;

	if (pipe(p.to_child) || pipe(p.to_parent))
		fail("pipe");
	run(&pipe_ops, &p);
	e.to_child[0] = eventfd(0, 0);
	e.to_parent[0] = eventfd(0, 0);
	if (e.to_child[0] < 0 || e.to_parent[0] < 0)
		fail("eventfd");
	run(&efd_ops, &e);
	word = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (word == MAP_FAILED)
		fail("mmap");
	atomic_store(word, 0);
	run(&fx_ops, (void *)word);
	if (uname(&u))
		fail("uname");
	say("{\"ev\":\"linux_done\",\"release\":\"%s\"}\n", u.release);
	finish(1);
}
