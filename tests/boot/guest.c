/*
 * A guest: one QEMU process booting one image, its COM2 event log read as
 * it grows, and its COM1 console (com1.c) logged and typed into. QEMU runs in a process group of its own, so that stopping
 * it (SIGTERM, then SIGKILL after TERM_GRACE_S) also stops whatever a
 * wrapper script started; every guest started is kept in a list, so that
 * guest_stop_all() can stop them all on any way out. See guest.h.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "guest.h"
#include "jsonline.h"
#include "scenario.h"
#include "subst.h"
#include "util.h"

/* QEMU quits at once on SIGTERM; 2 s allows for a loaded host before SIGKILL. */
#define TERM_GRACE_S 2.0

/* A longer COM2 line is malformed, not a reason to grow without bound. */
#define MAX_LINE 65536

/* Every guest started, in start order, for guest_stop_all(). */
static struct guest **live;
static size_t nlive, caplive;

/* Signal QEMU's whole process group (a wrapper script's children too). */
static void signal_qemu(struct guest *g, int sig)
{
	if (g->pid <= 0)
		return;
	if (kill(-g->pid, sig) && errno == ESRCH && !g->reaped)
		kill(g->pid, sig);
}

/* Ask QEMU to quit; guest_poll() escalates to SIGKILL after the grace. */
static void stop(struct guest *g)
{
	if (g->state != GUEST_RUNNING)
		return;
	signal_qemu(g, SIGTERM);
	g->state = GUEST_STOPPING;
	g->stopped = true;
	g->kill_at = util_now() + TERM_GRACE_S;
}

void guest_stop(struct guest *g)
{
	g->cut = true;
	stop(g);
}

/* Print one line of guest text, cleaned, after a prefix. */
static void print_guest_line(const char *prefix, int line, const char *raw)
{
	size_t n = strlen(raw);
	char *c = util_realloc(NULL, n + 1);

	util_clean_text(raw, n, c, false);
	printf("%s%d %s\n", prefix, line, c);
	free(c);
}

/*
 * One complete line of com2.log (NUL-terminated, newline removed).
 *
 * Before the first event, COM2 may carry noise from the firmware or the
 * boot loader (OVMF mirrors its console, escape sequences and all, onto
 * every serial port), and the kernel's first line may be glued to the end
 * of it. So until then the text before the first '{' is dropped and a line
 * that still does not parse is skipped. From the first event on, COM2
 * belongs to Vesta: every non-blank line must be an event; the others are
 * counted in nbad, and the runner fails the boot for them.
 */
static void take_line(struct guest *g, char *text, size_t len)
{
	char prefix[128];
	struct scn_event *e;
	size_t i;

	g->nlines++;
	for (i = 0; i < len && util_is_blank(text[i]); i++)
		;
	if (i == len || g->cut)
		return;
	snprintf(prefix, sizeof(prefix), "  %s com2:", g->cfg.label);
	if (g->nev == 0) {
		char *brace = memchr(text, '{', len);

		if (!brace) {
			if (g->cfg.verbose)
				print_guest_line(prefix, g->nlines, text);
			return;
		}
		len -= (size_t)(brace - text);
		text = brace;
	}
	g->ev = util_grow(g->ev, g->nev, &g->capev, sizeof(*g->ev));
	e = &g->ev[g->nev];
	e->line = g->nlines;
	e->buf = util_realloc(NULL, len + 1);
	if (jsonline_parse(text, len, e->buf, len + 1, &e->obj) < 0) {
		free(e->buf);
		if (g->cfg.verbose)
			print_guest_line(prefix, g->nlines, text);
		if (g->nev > 0 && g->nbad++ == 0) {
			g->bad_line = g->nlines;
			g->bad_raw = util_strdup(text);
		}
		return;
	}
	e->raw = util_strdup(text);
	g->nev++;
	if (g->cfg.verbose)
		print_guest_line(prefix, e->line, e->raw);
	if (g->cfg.on_event(g->cfg.ctx, e)) {
		g->cut = true;
		stop(g);
	}
}

/* The current line is complete: hand it on and start the next one. */
static void end_line(struct guest *g)
{
	if (g->overlong) {
		g->overlong = false;
		g->npart = 0;
		take_line(g, "(a line longer than 64 KiB)", 27);
		return;
	}
	g->part = util_grow(g->part, g->npart, &g->cappart, 1);
	g->part[g->npart] = '\0';
	if (g->npart && g->part[g->npart - 1] == '\r')
		g->part[--g->npart] = '\0';
	take_line(g, g->part, g->npart);
	g->npart = 0;
}

static void add_bytes(struct guest *g, const char *p, size_t n)
{
	if (g->overlong)
		return;
	if (g->npart + n > MAX_LINE) {
		g->overlong = true;
		return;
	}
	while (g->cappart < g->npart + n + 1)
		g->part = util_grow(g->part, g->cappart, &g->cappart, 1);
	memcpy(g->part + g->npart, p, n);
	g->npart += n;
}

/*
 * Read what the guest added to com2.log since the last call and act on
 * every complete line. With final set (QEMU has exited by itself) an
 * unterminated last line counts too.
 */
static void read_com2(struct guest *g, bool final)
{
	static char chunk[65536];
	ssize_t n;
	int fd = open(g->com2, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return; /* QEMU has not created it yet */
	while ((n = pread(fd, chunk, sizeof(chunk), g->offset)) > 0) {
		const char *p = chunk;
		size_t left = (size_t)n;

		g->offset += n;
		while (left > 0) {
			const char *nl = memchr(p, '\n', left);
			size_t k = nl ? (size_t)(nl - p) : left;

			add_bytes(g, p, k);
			if (!nl)
				break;
			end_line(g);
			p += k + 1;
			left -= k + 1;
		}
	}
	close(fd);
	if (final && (g->npart || g->overlong))
		end_line(g);
}

/* A NULL-terminated argument vector that owns its strings. */
struct argv {
	char **v;
	size_t n, cap;
};

static void argv_add(struct argv *a, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	a->v = util_grow(a->v, a->n + 1, &a->cap, sizeof(*a->v));
	a->v[a->n++] = util_strdup(buf);
	a->v[a->n] = NULL;
}

/* arg with "{dir}", "{port}" and "{port2}" replaced (subst.h): a socket or
 * file of the boot's own, or its reserved ports, e.g. for a netdev. */
static void argv_add_subst(struct argv *a, const char *arg, const struct guest_config *cfg)
{
	struct subst s = { .dir = cfg->dir, .port = cfg->port, .port2 = cfg->port2 };
	char *w = subst_expand(arg, &s);

	a->v = util_grow(a->v, a->n + 1, &a->cap, sizeof(*a->v));
	a->v[a->n++] = w;
	a->v[a->n] = NULL;
}

static void argv_free(struct argv *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
}

static const char *env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return v && *v ? v : dflt;
}

static void qemu_argv(const struct guest *g, const char *iso, struct argv *a)
{
	char *com1_path;

	argv_add(a, "%s", env_or("VESTA_QEMU", GUEST_DEFAULT_QEMU));
	argv_add(a, "-accel");
	argv_add(a, "%s", env_or("VESTA_ACCEL", GUEST_DEFAULT_ACCEL));
	if (g->cfg.cpu) {
		argv_add(a, "-cpu");
		argv_add(a, "%s", g->cfg.cpu);
	}
	argv_add(a, "-m");
	argv_add(a, "%ld", g->cfg.memory_mib);
	argv_add(a, "-smp");
	argv_add(a, "1");
	argv_add(a, "-display");
	argv_add(a, "none");
	argv_add(a, "-no-reboot");
	argv_add(a, "-device");
	argv_add(a, "isa-debug-exit,iobase=0xf4,iosize=0x04");
	com1_path = com1_qemu_path(&g->com1);
	argv_add(a, "-chardev");
	argv_add(a, "socket,id=com1,path=%s,server=on,wait=on", com1_path);
	free(com1_path);
	argv_add(a, "-serial");
	argv_add(a, "chardev:com1");
	argv_add(a, "-serial");
	argv_add(a, "file:%s/com2.log", g->cfg.dir);
	argv_add(a, "-cdrom");
	argv_add(a, "%s", iso);
	if (g->cfg.uefi) {
		argv_add(a, "-bios");
		argv_add(a, "%s", env_or("VESTA_OVMF", GUEST_DEFAULT_OVMF));
	}
	if (g->cfg.machine) {
		argv_add(a, "-machine");
		argv_add(a, "%s", g->cfg.machine);
	}
	for (size_t i = 0; i < g->cfg.nextra; i++)
		argv_add_subst(a, g->cfg.extra[i], &g->cfg);
}

/*
 * In the child: own process group, quiet stdin, output to qemu.log, then
 * exec. Any failure is sent to the parent as an errno over errfd.
 */
static void child_exec(const char *qlog, char *const argv[], int errfd, pid_t parent)
{
	int fd, e;

	setpgid(0, 0);
#ifdef __linux__
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
#else
	(void)parent;
#endif
	signal(SIGPIPE, SIG_DFL);
	fd = open("/dev/null", O_RDONLY);
	if (fd < 0 || dup2(fd, 0) < 0)
		goto fail;
	fd = open(qlog, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		goto fail;
	execvp(argv[0], argv);
fail:
	e = errno;
	if (write(errfd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

/* Start QEMU. 0, or -1 with the reason in *m. */
static int spawn_qemu(struct guest *g, char *const argv[], struct msg *m)
{
	char *qlog = util_path_join(g->cfg.dir, "qemu.log");
	pid_t parent = getpid(), pid;
	int pfd[2], e = 0;
	ssize_t n;

	if (pipe(pfd)) {
		free(qlog);
		msg_add(m, "pipe: %s", strerror(errno));
		return -1;
	}
	fcntl(pfd[0], F_SETFD, FD_CLOEXEC);
	fcntl(pfd[1], F_SETFD, FD_CLOEXEC);
	fflush(NULL); /* or the child would inherit unwritten output */
	pid = fork();
	if (pid == 0)
		child_exec(qlog, argv, pfd[1], parent);
	free(qlog);
	close(pfd[1]);
	if (pid < 0) {
		close(pfd[0]);
		msg_add(m, "fork: %s", strerror(errno));
		return -1;
	}
	setpgid(pid, pid); /* also here, so no signal can beat the child's */
	do
		n = read(pfd[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(pfd[0]);
	if (n == (ssize_t)sizeof(e)) {
		waitpid(pid, NULL, 0);
		msg_add(m, "cannot run %s: %s (set VESTA_QEMU?)", argv[0], strerror(e));
		return -1;
	}
	g->pid = pid;
	return 0;
}

static int mkdir_p(const char *path)
{
	char *p = util_strdup(path);
	int err = 0;

	for (char *s = p + 1; *s && !err; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0777) && errno != EEXIST)
			err = -1;
		*s = '/';
	}
	if (!err && mkdir(p, 0777) && errno != EEXIST)
		err = -1;
	free(p);
	return err;
}

/* Create (or empty) a log file, so nothing from an earlier run is read. */
static int empty_file(const char *dir, const char *name)
{
	char *path = util_path_join(dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	free(path);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

/* A fresh disk.img of kib KiB of zeros (sparse), so every boot starts
 * from the same disk whatever an earlier run wrote. */
static int fresh_disk(const char *dir, long kib)
{
	char *path = util_path_join(dir, "disk.img");
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int r = fd < 0 ? -1 : ftruncate(fd, (off_t)kib * 1024), err = errno;

	free(path);
	if (fd >= 0)
		close(fd);
	errno = err; /* what open or ftruncate said, for the message */
	return r;
}

/* Everything that must hold before QEMU can start. -1 with *m filled. */
static int check_inputs(struct guest *g, const char *iso, struct msg *m)
{
	const char *ovmf = env_or("VESTA_OVMF", GUEST_DEFAULT_OVMF);

	if (access(iso, R_OK)) {
		msg_add(m, "image %s: %s (build it first?)", iso, strerror(errno));
		return -1;
	}
	if (strchr(iso, ',')) {
		msg_add(m,
			"image path %s has a comma, which QEMU's -cdrom "
			"cannot take",
			iso);
		return -1;
	}
	if (g->cfg.uefi && access(ovmf, R_OK)) {
		msg_add(m,
			"UEFI firmware %s: %s (install Debian's ovmf "
			"package, or set VESTA_OVMF)",
			ovmf, strerror(errno));
		return -1;
	}
	if (mkdir_p(g->cfg.dir) || empty_file(g->cfg.dir, "com2.log")) {
		msg_add(m, "output folder %s: %s", g->cfg.dir, strerror(errno));
		return -1;
	}
	if (g->cfg.disk_kib && fresh_disk(g->cfg.dir, g->cfg.disk_kib)) {
		msg_add(m, "disk %s/disk.img: %s", g->cfg.dir, strerror(errno));
		return -1;
	}
	return com1_init(&g->com1, g->cfg.dir, m);
}

/* The first line of qemu.log, which is where QEMU says what went wrong. */
static void msg_add_qemu_log(struct msg *m, const struct guest *g)
{
	char *path = util_path_join(g->cfg.dir, "qemu.log");
	FILE *f = fopen(path, "r");
	char line[256];

	free(path);
	if (!f)
		return;
	if (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		msg_add(m, "; qemu.log: ");
		msg_add_raw(m, line);
	}
	fclose(f);
}

void guest_describe_end(struct msg *m, const struct guest *g)
{
	int st = g->status;

	if (WIFSIGNALED(st)) {
		if (g->stopped)
			msg_add(m, "QEMU was stopped by the runner (signal %d)", WTERMSIG(st));
		else
			msg_add(m, "QEMU was killed by signal %d", WTERMSIG(st));
		return;
	}
	if (!WIFEXITED(st))
		return;
	msg_add(m, "QEMU exit status %d", WEXITSTATUS(st));
	if (WEXITSTATUS(st) == 1 && g->nlines == 0) {
		/* QEMU's own errors exit 1 as well, before the guest runs. */
		msg_add(m, " and COM2 stayed empty: QEMU itself probably "
			   "failed");
		msg_add_qemu_log(m, g);
	} else if (WEXITSTATUS(st) & 1) {
		msg_add(m, " (the guest wrote %d to isa-debug-exit)", WEXITSTATUS(st) >> 1);
	} else if (WEXITSTATUS(st) == 0) {
		msg_add(m, " (no isa-debug-exit: a reset, e.g. a triple fault "
			   "under -no-reboot, or a power-off)");
	}
}

int guest_exit_code(const struct guest *g)
{
	return WIFEXITED(g->status) ? WEXITSTATUS(g->status) : -1;
}

int guest_start(struct guest *g, const struct guest_config *cfg, struct msg *m)
{
	struct argv a = { 0 };
	int err = -1;

	g->cfg = *cfg;
	g->com2 = util_path_join(cfg->dir, "com2.log");
	if (check_inputs(g, cfg->iso, m) == 0) {
		qemu_argv(g, cfg->iso, &a);
		if (cfg->verbose) {
			printf("start %s:", cfg->label);
			for (size_t i = 0; i < a.n; i++)
				printf(" %s", a.v[i]);
			printf("\n");
		}
		err = spawn_qemu(g, a.v, m);
	}
	argv_free(&a);
	if (err)
		return -1;
	g->ran = true;
	g->start = util_now();
	g->state = GUEST_RUNNING;
	g->timeout_at = g->start + (double)cfg->timeout_s;
	g->connect_by = g->start + GUEST_CONNECT_S;
	live = util_grow(live, nlive, &caplive, sizeof(*live));
	live[nlive++] = g;
	return 0;
}

/* QEMU has been reaped: take the rest of the log. */
static void finish(struct guest *g, double now)
{
	g->reaped = true;
	g->elapsed = now - g->start;
	signal_qemu(g, SIGKILL); /* anything the process left behind */
	g->pid = 0;
	g->state = GUEST_DONE;
	com1_finish(&g->com1);
	read_com2(g, !g->stopped);
}

void guest_type(struct guest *g, const char *bytes, size_t len, double every_s)
{
	com1_type(&g->com1, bytes, len, every_s, util_now());
}

double guest_next_due(const struct guest *g)
{
	return com1_next_due(&g->com1);
}

enum guest_news guest_poll(struct guest *g, double now)
{
	bool connected = com1_poll(&g->com1, now);
	pid_t r;

	read_com2(g, false);
	com1_poll(&g->com1, util_now()); /* what the events asked to type */
	r = waitpid(g->pid, &g->status, WNOHANG);
	if (r == g->pid || (r < 0 && errno == ECHILD)) {
		finish(g, now);
		return GUEST_ENDED;
	}
	if (g->state == GUEST_RUNNING && !connected && now >= g->connect_by) {
		g->cut = true;
		stop(g);
		return GUEST_NO_COM1;
	}
	if (g->state == GUEST_RUNNING && now >= g->timeout_at) {
		g->cut = true;
		stop(g);
		return GUEST_TIMED_OUT;
	}
	if (g->state == GUEST_STOPPING && now >= g->kill_at)
		signal_qemu(g, SIGKILL);
	return GUEST_NO_NEWS;
}

void guest_stop_all(void)
{
	double kill_at = util_now() + TERM_GRACE_S;
	bool left = true;

	for (size_t i = 0; i < nlive; i++)
		signal_qemu(live[i], SIGTERM);
	while (left) {
		bool late = util_now() >= kill_at;

		left = false;
		for (size_t i = 0; i < nlive; i++) {
			struct guest *g = live[i];

			if (g->pid <= 0)
				continue;
			if (late)
				signal_qemu(g, SIGKILL);
			if (waitpid(g->pid, &g->status, late ? 0 : WNOHANG) == 0) {
				left = true;
				continue;
			}
			signal_qemu(g, SIGKILL);
			g->pid = 0;
		}
		if (left)
			util_nap();
	}
}

void guest_free(struct guest *g)
{
	for (size_t i = 0; i < nlive; i++) {
		if (live[i] != g)
			continue;
		memmove(&live[i], &live[i + 1], (nlive - i - 1) * sizeof(*live));
		nlive--;
		break;
	}
	if (nlive == 0) {
		free(live);
		live = NULL;
		caplive = 0;
	}
	for (size_t i = 0; i < g->nev; i++) {
		free(g->ev[i].raw);
		free(g->ev[i].buf);
	}
	free(g->ev);
	free(g->part);
	free(g->bad_raw);
	free(g->com2);
	com1_free(&g->com1);
}
