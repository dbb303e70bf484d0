/*
 * The boot-test runner: boots a Vesta image in QEMU for each scenario and
 * firmware, reads the machine-readable event log (COM2, one flat JSON
 * object per line) while the guest runs, and checks the scenario's
 * expectations against the events it saw. tests/boot/README.md describes
 * the scenario language, the options and the output.
 *
 * This file is the program: options, one job per (scenario, firmware),
 * scheduling up to -j of them at once, the verdict and the report.
 * scenario.c parses and judges scenarios; guest.c runs QEMU and reads
 * COM2, and COM1 (com1.c). All jobs are driven by one single-threaded loop
 * that polls every running guest each 50 ms (sooner when a `send` has a
 * byte due), so `until` and panics are seen as they happen.
 *
 * Plain C11 + POSIX; nothing beyond libc.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest.h"
#include "scenario.h"
#include "subst.h"
#include "util.h"

#define TAIL_LINES 25	 /* log lines shown under a failure */
#define TAIL_BYTES 65536 /* read this much of a log's end to find them */
#define MAX_JOBS_PAR 256 /* -j limit */

#define DEFAULT_ISODIR "build/img"
#define DEFAULT_OUTDIR "build/boot"

static bool verbose;			  /* -v */
static volatile sig_atomic_t interrupted; /* SIGINT/SIGTERM/SIGHUP seen */

/* ---- jobs: one boot of one scenario under one firmware ----------------- */

struct job {
	const struct scn *sc;
	enum scn_firmware fw;
	enum scn_machine machine;
	char *dir;   /* OUTDIR/<scenario>-<firmware>[-q35] */
	char *iso;   /* ISODIR/<image>.iso */
	char *label; /* "<scenario> [<firmware>[ q35]]" */
	char *tag;   /* "<firmware>[ q35]" */
	struct guest g;
	bool done; /* QEMU reaped (or never started), result printed */
	long until_hits;
	bool until_met;
	long *send_hits; /* per `send` of the scenario: matches so far */
	long host_hits;	 /* matches of `host` so far */
	pid_t host_pid;	 /* the host command and its process group; 0: none running */
	bool host_ran, host_ended;
	int host_status;	   /* from waitpid, once host_ended */
	struct subst_port port[2]; /* {port} and {port2}, held while the job runs */

	char **fail; /* failure messages; the first is reported */
	size_t nfail, capfail;
};

static void job_fail(struct job *j, const struct msg *m)
{
	j->fail = util_grow(j->fail, j->nfail, &j->capfail, sizeof(*j->fail));
	j->fail[j->nfail++] = util_strdup(m->s);
}

/* Type the text of every `send` that event e fires. */
static void type_sends(struct job *j, const struct scn_event *e)
{
	for (size_t i = 0; i < j->sc->nsends; i++) {
		const struct scn_send *s = &j->sc->sends[i];

		if (!scn_send_fires(s, e, &j->send_hits[i]))
			continue;
		if (verbose)
			printf("  %s com1: line %d fires at com2.log:%d: typing %zu bytes\n",
			       j->label, s->line, e->line, s->len);
		guest_type(&j->g, s->bytes, s->len, (double)s->every_ms / 1000.0);
	}
}

/* The host command's environment: its boot's folder and ports. */
static void set_env(const struct job *j)
{
	char v[16];

	setenv("VESTA_BOOT_DIR", j->dir, 1);
	snprintf(v, sizeof(v), "%d", j->port[0].port);
	setenv("VESTA_PORT", v, 1);
	snprintf(v, sizeof(v), "%d", j->port[1].port);
	setenv("VESTA_PORT2", v, 1);
}

/*
 * Start the scenario's host command: sh -c COMMAND, with {dir}, {port} and
 * {port2} expanded, in a process group of its own, with VESTA_BOOT_DIR,
 * VESTA_PORT and VESTA_PORT2 set too and its output in host.log in the
 * boot's folder.
 */
static void start_host(struct job *j)
{
	char *log = util_path_join(j->dir, "host.log");
	char *cmd = subst_expand(j->sc->host.bytes,
				 &(struct subst){ j->dir, j->port[0].port, j->port[1].port });
	struct msg m = { .len = 0 };
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		setpgid(0, 0);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		set_env(j);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	free(log);
	if (pid < 0) {
		msg_add(&m, "host: fork: %s", strerror(errno));
		job_fail(j, &m);
	} else {
		setpgid(pid, pid);
		j->host_pid = pid;
		j->host_ran = true;
		if (verbose)
			printf("  %s host: started pid %d: %s\n", j->label, (int)pid, cmd);
	}
	free(cmd);
}

/* Has the host command ended? Reap it; once it has, the guest is stopped. */
static void poll_host(struct job *j, bool kill_it)
{
	if (!j->host_pid)
		return;
	if (kill_it)
		kill(-j->host_pid, SIGKILL);
	if (waitpid(j->host_pid, &j->host_status, kill_it ? 0 : WNOHANG) != j->host_pid)
		return;
	j->host_pid = 0;
	j->host_ended = !kill_it;
	if (!kill_it && j->g.state == GUEST_RUNNING)
		guest_stop(&j->g);
}

/*
 * What an event means while the guest runs: a panic stops the guest and
 * fails (unless allowed); the Nth match of `until` stops it. Either way
 * the log is cut there (we return true), so what the guest does while
 * being stopped does not change the result.
 */
static bool on_event(void *ctx, const struct scn_event *e)
{
	struct job *j = ctx;
	struct msg m = { .len = 0 };

	type_sends(j, e);
	if (j->sc->has_host && !j->host_ran && scn_send_fires(&j->sc->host, e, &j->host_hits))
		start_host(j);
	switch (scn_watch(j->sc, e, &j->until_hits)) {
	case SCN_PANIC:
		msg_add(&m, "guest panicked (com2.log:%d): ", e->line);
		msg_add_raw(&m, e->raw);
		job_fail(j, &m);
		return true;
	case SCN_UNTIL_MET:
		j->until_met = true;
		return true;
	default:
		return false;
	}
}

/* ---- judging a finished boot ----------------------------------------- */

/*
 * Without exit-code, a guest that stopped by itself must have done so
 * through isa-debug-exit with Vesta's success code (0 -> status 1).
 */
static void judge_exit(struct job *j)
{
	struct msg m = { .len = 0 };

	if (j->sc->has_exit_code || j->g.stopped)
		return;
	if (guest_exit_code(&j->g) == 1 && j->g.nlines > 0)
		return;
	msg_add(&m, "the guest did not report success (isa-debug-exit 0, "
		    "QEMU status 1): ");
	guest_describe_end(&m, &j->g);
	job_fail(j, &m);
}

/* Does check k hold? If not, say what was seen into *m. */
static bool eval_check(const struct job *j, const struct scn_check *k, struct msg *m)
{
	if (k->kind != SCN_EXIT_CODE)
		return scn_eval_check(k, j->g.ev, j->g.nev, m);
	if (guest_exit_code(&j->g) == k->n)
		return true;
	guest_describe_end(m, &j->g);
	return false;
}

/* With `host`: it ran and exited 0 before QEMU ended. */
static void judge_host(struct job *j)
{
	struct msg m = { .len = 0 };

	if (!j->sc->has_host)
		return;
	if (!j->host_ran)
		msg_add(&m, "line %d: %s: never fired", j->sc->host.line, j->sc->host.text);
	else if (!j->host_ended)
		msg_add(&m, "line %d: host command still running when the guest ended (killed)",
			j->sc->host.line);
	else if (!WIFEXITED(j->host_status) || WEXITSTATUS(j->host_status) != 0)
		msg_add(&m, "line %d: host command failed (status %d; see host.log)",
			j->sc->host.line,
			WIFEXITED(j->host_status) ? WEXITSTATUS(j->host_status) : -1);
	if (m.len)
		job_fail(j, &m);
}

/* After QEMU is gone: every remaining verdict, in file order. */
static void judge(struct job *j)
{
	const struct scn *sc = j->sc;
	const struct guest *g = &j->g;
	struct msg m = { .len = 0 };

	if (sc->has_until && !j->until_met && !g->stopped) {
		msg_add(&m,
			"line %d: %s: QEMU ended before it matched "
			"(%ld of %ld): ",
			sc->until.line, sc->until.text, j->until_hits, sc->until.n);
		guest_describe_end(&m, g);
		job_fail(j, &m);
	}
	if (g->nbad) {
		m.len = 0;
		msg_add(&m, "com2.log:%d: not a flat JSON object", g->bad_line);
		if (g->nbad > 1)
			msg_add(&m, " (%zu such lines)", g->nbad);
		msg_add(&m, ": ");
		msg_add_raw(&m, g->bad_raw);
		job_fail(j, &m);
	}
	for (size_t i = 0; i < sc->nchecks; i++) {
		const struct scn_check *k = &sc->checks[i];

		m.len = 0;
		if (k->kind == SCN_EXIT_CODE)
			msg_add(&m, "line %d: exit-code %ld: ", k->line, k->n);
		else
			msg_add(&m, "line %d: %s: ", k->line, k->text);
		if (!eval_check(j, k, &m))
			job_fail(j, &m);
	}
	judge_host(j);
	judge_exit(j);
}

/* ---- output ------------------------------------------------------------ */

/* Print the last TAIL_LINES lines of a log, minus terminal escapes. */
static void print_tail(const char *dir, const char *name)
{
	static char buf[TAIL_BYTES], clean[TAIL_BYTES + 1];
	char *path = util_path_join(dir, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	off_t size, from;
	ssize_t len;
	size_t start, end, lines = 0;

	free(path);
	printf("--- %s (last %d lines) ---\n", name, TAIL_LINES);
	if (fd < 0) {
		printf("(missing)\n");
		return;
	}
	size = lseek(fd, 0, SEEK_END);
	from = size > TAIL_BYTES ? size - TAIL_BYTES : 0;
	len = pread(fd, buf, sizeof(buf), from);
	close(fd);
	if (len <= 0) {
		printf("(empty)\n");
		return;
	}
	end = (size_t)len;
	if (buf[end - 1] == '\n')
		end--;
	for (start = end; start > 0; start--)
		if (buf[start - 1] == '\n' && ++lines == TAIL_LINES)
			break;
	if (start == 0 && from > 0) /* the first line may be cut: skip it */
		while (start < end && buf[start++] != '\n')
			;
	util_clean_text(buf + start, end - start, clean, true);
	printf("%s\n", clean);
}

static void report(struct job *j)
{
	printf("%s %s [%s] %.1fs", j->nfail ? "FAIL" : "PASS", j->sc->name, j->tag, j->g.elapsed);
	if (!j->nfail) {
		printf("\n");
		return;
	}
	printf(": %s\n", j->fail[0]);
	for (size_t i = 1; i < j->nfail && verbose; i++)
		printf("  also: %s\n", j->fail[i]);
	if (j->nfail > 1 && !verbose)
		printf("  (%zu more failures; -v lists them)\n", j->nfail - 1);
	if (!j->g.ran)
		return; /* no logs of this run to show */
	printf("  logs: %s/\n", j->dir);
	print_tail(j->dir, "com1.log");
	print_tail(j->dir, "com2.log");
	if (j->sc->has_host)
		print_tail(j->dir, "host.log");
	fflush(stdout);
}

/* ---- running the jobs ---------------------------------------------------- */

/* Reserve the job's {port} and {port2}; false (the job failed) if not. */
static bool reserve_ports(struct job *j)
{
	struct msg m = { .len = 0 };

	for (int i = 0; i < 2; i++) {
		if (subst_port_reserve(&j->port[i]) == 0)
			continue;
		msg_add(&m, "cannot reserve a TCP port on 127.0.0.1: %s", strerror(errno));
		job_fail(j, &m);
		return false;
	}
	return true;
}

static void release_ports(struct job *j)
{
	subst_port_release(&j->port[0]);
	subst_port_release(&j->port[1]);
}

/* The boot itself, once its ports are held. */
static void start_guest(struct job *j)
{
	struct guest_config cfg = {
		.iso = j->iso,
		.dir = j->dir,
		.memory_mib = j->sc->memory_mib,
		.disk_kib = j->sc->disk_kib,
		.uefi = j->fw == SCN_UEFI,
		.cpu = j->sc->cpu,
		.machine = j->machine == SCN_PC ? NULL : scn_machine_name[j->machine],
		.extra = j->sc->qemu_args,
		.nextra = j->sc->nqemu_args,
		.port = j->port[0].port,
		.port2 = j->port[1].port,
		.timeout_s = j->sc->timeout_s,
		.label = j->label,
		.verbose = verbose,
		.on_event = on_event,
		.ctx = j,
	};
	struct msg m = { .len = 0 };

	if (guest_start(&j->g, &cfg, &m) == 0)
		return;
	job_fail(j, &m);
	j->done = true;
	report(j);
}

/* Start a job: its ports, then its QEMU; on failure the job is done (and
 * reported) at once. */
static void start_job(struct job *j)
{
	if (reserve_ports(j)) {
		start_guest(j);
	} else {
		j->done = true;
		report(j);
	}
	if (j->done)
		release_ports(j);
}

/* One look at a running job: its guest, and the verdict once QEMU is gone. */
static void poll_job(struct job *j, double now)
{
	const struct scn *sc = j->sc;
	struct msg m = { .len = 0 };

	poll_host(j, false);
	switch (guest_poll(&j->g, now)) {
	case GUEST_ENDED:
		poll_host(j, true);
		release_ports(j);
		j->done = true;
		judge(j);
		report(j);
		break;
	case GUEST_NO_COM1:
		msg_add(&m, "COM1: could not connect to %s within %d s: %s", j->g.com1.sock_path,
			GUEST_CONNECT_S, strerror(j->g.com1.last_errno));
		job_fail(j, &m);
		break;
	case GUEST_TIMED_OUT:
		msg_add(&m, "timeout after %lds", sc->timeout_s);
		if (sc->has_until)
			msg_add(&m, ": line %d: %s: matched %ld of %ld", sc->until.line,
				sc->until.text, j->until_hits, sc->until.n);
		else
			msg_add(&m, ": QEMU did not exit by itself");
		job_fail(j, &m);
		break;
	default:
		break;
	}
}

static void job_free(struct job *j)
{
	release_ports(j);
	guest_free(&j->g);
	for (size_t i = 0; i < j->nfail; i++)
		free(j->fail[i]);
	free(j->fail);
	free(j->send_hits);
	free(j->dir);
	free(j->iso);
	free(j->label);
	free(j->tag);
}

/*
 * Wait one poll interval, or less if a running guest has a byte to type
 * before then (`send ... every MS` wants its pace kept).
 */
static void nap(struct job *jobs, size_t n)
{
	double now = util_now(), due = now + 0.05;

	for (size_t i = 0; i < n; i++)
		if (!jobs[i].done && guest_next_due(&jobs[i].g) < due)
			due = guest_next_due(&jobs[i].g);
	util_sleep_until(due);
}

/*
 * Run all jobs, at most par at a time, until each is done or a signal
 * arrives. Returns the number that failed, or -1 if interrupted.
 */
static int run_jobs(struct job *jobs, size_t njobs, size_t par)
{
	size_t next = 0, running = 0, done = 0;
	int failed = 0;

	while (done < njobs) {
		double now;

		if (interrupted)
			return -1;
		while (running < par && next < njobs) {
			start_job(&jobs[next]);
			if (jobs[next].done)
				done++;
			else
				running++;
			next++;
		}
		nap(jobs, next);
		now = util_now();
		for (size_t i = 0; i < next; i++) {
			struct job *j = &jobs[i];

			if (j->done)
				continue;
			poll_job(j, now);
			if (j->done) {
				running--;
				done++;
			}
		}
	}
	for (size_t i = 0; i < njobs; i++)
		failed += jobs[i].nfail > 0;
	return failed;
}

/* ---- command line ---------------------------------------------------- */

struct options {
	const char *isodir;
	const char *outdir;
	size_t par;
	char **files;
	size_t nfiles;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: runner [--isodir DIR] [--out DIR] [-j N] [-v] "
		"SCENARIO.scn...\n"
		"  --isodir DIR  where NAME.iso images are (default %s)\n"
		"  --out DIR     logs go to DIR/<scenario>-<firmware>/ "
		"(default %s)\n"
		"  -j N          boot up to N guests at once (default 1)\n"
		"  -v            show QEMU command lines, events, all failures\n"
		"environment: VESTA_QEMU (default %s), VESTA_ACCEL "
		"(default %s), VESTA_OVMF (default %s)\n",
		DEFAULT_ISODIR, DEFAULT_OUTDIR, GUEST_DEFAULT_QEMU, GUEST_DEFAULT_ACCEL,
		GUEST_DEFAULT_OVMF);
}

/*
 * The value of option name at argv[*i]: "--name=V", "--name V", or for a
 * one-letter option "-jV" / "-j V". NULL if argv[*i] is not that option;
 * exits with status 2 if the value is missing.
 */
static const char *opt_value(char **argv, int argc, int *i, const char *name)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (strncmp(a, name, n) != 0)
		return NULL;
	if (a[n] == '=' && name[1] == '-')
		return a + n + 1;
	if (a[n] && name[1] != '-')
		return a + n;
	if (a[n])
		return NULL;
	if (*i + 1 >= argc) {
		fprintf(stderr, "runner: %s needs a value\n", name);
		usage(stderr);
		exit(2);
	}
	return argv[++*i];
}

static void parse_options(int argc, char **argv, struct options *o)
{
	const char *v;
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		char *end;

		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			exit(0);
		} else if (strcmp(argv[i], "-v") == 0) {
			verbose = true;
		} else if ((v = opt_value(argv, argc, &i, "--isodir"))) {
			o->isodir = v;
		} else if ((v = opt_value(argv, argc, &i, "--out"))) {
			o->outdir = v;
		} else if ((v = opt_value(argv, argc, &i, "-j"))) {
			unsigned long n = strtoul(v, &end, 10);

			if (!*v || *end || n < 1 || n > MAX_JOBS_PAR) {
				fprintf(stderr, "runner: -j wants 1..%d\n", MAX_JOBS_PAR);
				exit(2);
			}
			o->par = n;
		} else {
			fprintf(stderr, "runner: unknown option %s\n", argv[i]);
			usage(stderr);
			exit(2);
		}
	}
	if (i >= argc) {
		usage(stderr);
		exit(2);
	}
	o->files = argv + i;
	o->nfiles = (size_t)(argc - i);
}

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN); /* a closed stdout must not orphan QEMUs */
}

/*
 * Load every scenario; a broken one is reported and counted as failed.
 * Two scenarios with one name would share an output folder: the second is
 * refused.
 */
static size_t load_all(const struct options *o, struct scn **sc, int *failed)
{
	size_t n = 0;

	for (size_t i = 0; i < o->nfiles; i++) {
		struct scn *s = scn_load(o->files[i]);

		for (size_t k = 0; s && k < n; k++) {
			if (strcmp(sc[k]->name, s->name) != 0)
				continue;
			printf("%s: same name as %s; logs would collide\n", s->path, sc[k]->path);
			scn_free(s);
			s = NULL;
		}
		if (!s) {
			char *name = scn_name(o->files[i]);

			printf("FAIL %s: bad scenario\n", name);
			free(name);
			++*failed;
			continue;
		}
		sc[n++] = s;
	}
	return n;
}

/* Paths and names of the job that boots scenario sc under firmware fw on
 * machine m. pc, the default, adds nothing to the names, so a scenario
 * without `machine` keeps its folder and label. */
static void job_init(struct job *j, const struct scn *sc, enum scn_firmware fw, enum scn_machine m,
		     const struct options *o)
{
	char *iso_name = util_realloc(NULL, strlen(sc->image) + 5);
	char name[512], fwn[32];

	snprintf(fwn, sizeof(fwn), "%s%s%s", scn_fw_name[fw], m == SCN_PC ? "" : "-",
		 m == SCN_PC ? "" : scn_machine_name[m]);
	j->sc = sc;
	j->fw = fw;
	j->port[0].fd = j->port[1].fd = -1;
	j->machine = m;
	j->send_hits = util_realloc(NULL, (sc->nsends ? sc->nsends : 1) * sizeof(long));
	memset(j->send_hits, 0, (sc->nsends ? sc->nsends : 1) * sizeof(long));
	snprintf(name, sizeof(name), "%s-%s", sc->name, fwn);
	j->dir = util_path_join(o->outdir, name);
	sprintf(iso_name, "%s.iso", sc->image);
	j->iso = util_path_join(o->isodir, iso_name);
	free(iso_name);
	j->tag = util_strdup(fwn);
	if (m != SCN_PC)
		j->tag[strlen(scn_fw_name[fw])] = ' ';
	j->label = util_realloc(NULL, strlen(sc->name) + strlen(fwn) + 4);
	sprintf(j->label, "%s [%s]", sc->name, j->tag);
}

/* One job per scenario and firmware, in the order given. */
static struct job *make_jobs(struct scn **sc, size_t nsc, const struct options *o, size_t *njobs)
{
	struct job *jobs;
	size_t n = 0;

	for (size_t i = 0; i < nsc; i++)
		n += sc[i]->nfw * sc[i]->nmachine;
	jobs = util_realloc(NULL, n * sizeof(*jobs));
	memset(jobs, 0, n * sizeof(*jobs));
	*njobs = 0;
	for (size_t i = 0; i < nsc; i++)
		for (size_t m = 0; m < sc[i]->nmachine; m++)
			for (size_t f = 0; f < sc[i]->nfw; f++)
				job_init(&jobs[(*njobs)++], sc[i], sc[i]->fw[f], sc[i]->machine[m],
					 o);
	return jobs;
}

int main(int argc, char **argv)
{
	struct options o = { DEFAULT_ISODIR, DEFAULT_OUTDIR, 1, NULL, 0 };
	struct scn **sc;
	struct job *jobs;
	size_t nsc, njobs;
	int failed = 0, r;

	util_on_fatal(guest_stop_all);
	setvbuf(stdout, NULL, _IOLBF, 0);
	parse_options(argc, argv, &o);
	catch_signals();
	sc = util_realloc(NULL, o.nfiles * sizeof(*sc));
	nsc = load_all(&o, sc, &failed);
	jobs = make_jobs(sc, nsc, &o, &njobs);

	r = run_jobs(jobs, njobs, o.par);
	if (r < 0) {
		guest_stop_all();
		printf("interrupted: every QEMU was stopped\n");
		return 130;
	}
	failed += r;
	printf("%zu passed, %d failed\n", njobs - (size_t)r, failed);

	for (size_t i = 0; i < njobs; i++)
		job_free(&jobs[i]);
	free(jobs);
	for (size_t i = 0; i < nsc; i++)
		scn_free(sc[i]);
	free(sc);
	return failed ? 1 : 0;
}
