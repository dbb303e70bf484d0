/*
 * campaign: boot the default appliance in QEMU, inject N faults at random
 * times into random services with random kinds (all drawn from one seed),
 * wait for the tree to recover from each, and judge the whole run: no
 * panic, every service up, every client request answered once and right,
 * restart counts that match the faults that killed something. The report
 * (campaign_report.c) goes to --out: report.txt, report.json, recovery.svg.
 *
 * The faults are typed on COM1 as the shell's `fault SVC KIND ARG SEED`
 * command; everything the campaign knows comes from the COM2 event log
 * (the kernel's `inject`, `exit`, `spawn`, `chan_serve`, the supervisor's
 * `restart`, `escalate`, `giveup`, the workload's counters), except the
 * final `tree`, which is read from COM1. What the events mean is
 * campaign_track.c's (pure, tested on real logs); this file drives the
 * guest: the faults drawn from the seed, the typing, the pacing, the time
 * bounds, --jobs. The QEMU side is the boot-test runner's
 * (tests/boot/guest.c, com1.c).
 *
 * One fault at a time: the next is typed only after the previous one has
 * been handled (recovered, survived, or given up on after a bound), so a
 * fault's effects are its own and the console is up to take the next one.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "campaign.h"
#include "campaign_pace.h"
#include "campaign_resp.h"
#include "campaign_track.h"
#include "guest.h"
#include "subst.h"
#include "util.h"
#include "splitmix.h"

#define DEFAULT_KINDS "kill,exit,crash,hang,block,corrupt,leak,garbage,slow"
#define DEFAULT_TARGETS "uart,virtio-net,log,virtio-blk,kv,workload,shell,supervisor"
/* --resp: what stands between a Redis client and its answers. */
#define RESP_TARGETS "virtio-net,net,virtio-blk,kv"
#define CRASH_KINDS "null,wild,ud2,div0,stack"

/* A fault that kills must be seen dead and serving again within this; a
 * crash-looping service under backoff (max 1 s) and an escalation of a
 * subtree take a few seconds under TCG. */
#define RECOVER_BOUND_S 20.0
/* How long a fault that need not kill is watched for an effect. */
#define SETTLE_S 1.0
/* The shell must answer a typed `fault` with an inject event by then. */
#define TYPED_BOUND_S 20.0
/* After the last fault: time for restarts and two workload reports. */
#define FINAL_QUIET_S 3.0
/* ... and then for the workload to answer again, at most (a kv hang takes
 * its 3 s heartbeat to be caught, twice over if it hangs again). */
#define FINAL_PROGRESS_S 20.0
/* The kernel halts the machine when the root supervisor dies more than 5
 * times in 10 s; a fault into it waits while it has died this often. */
#define SUP_DEATHS_MAX 2
#define SUP_DEATHS_WINDOW_S 10.0
/* A fault whose target is between incarnations is typed again after
 * RETYPE_WAIT_S, RETYPE_MAX times at most. */
#define RETYPE_WAIT_S 0.5
#define RETYPE_MAX 40
/* Faults in a row that the shell did not inject: the console is dead. */
#define MAX_NOT_INJECTED 3

enum phase {
	PH_BOOT,  /* waiting for the supervisor's ready and the shell */
	PH_GAP,	  /* waiting for the time of the next fault */
	PH_FAULT, /* a fault is being handled: where it is, is c->t.ph */
	PH_QUIET, /* all faults done; letting the tree settle */
	PH_TREE,  /* `tree` typed; reading its answer on COM1 */
	PH_DONE,
};

struct opts {
	const char *iso, *out, *accel, *kinds, *targets, *policy;
	int faults;
	uint64_t seed;
	long gap_min_ms, gap_max_ms;
	double max_seconds; /* 0: no bound */
	int jobs;	    /* guests side by side */
	int job;	    /* which one this process runs */
	bool verbose;
	bool resp;	     /* --resp: respcheck beside the guest */
	const char *resp_at; /* --resp-at HOST:PORT: its server (default: the
				guest's 6379, forwarded from a reserved port) */
};

/* The campaign while it runs; the record is what it leaves behind. */
struct camp {
	struct opts o;
	struct camp_record r;
	struct camp_track t; /* reads the event log into r */
	struct guest g;
	enum phase ph;
	double due;	 /* host time: the phase's next step or bound */
	double started;	 /* host time QEMU started */
	uint64_t rng;	 /* the campaign's random stream (from --seed) */
	char *kinds[32]; /* the kinds to draw from, crash expanded */
	int nkinds;
	char *targets[CAMP_MAX_SVCS];
	int ntargets;
	double sup_deaths[SUP_DEATHS_MAX]; /* host times of its latest deaths */
	unsigned nsup_deaths;
	int not_injected_run;	 /* consecutive faults the shell did not inject */
	size_t capf;		 /* room in r.f */
	struct camp_fault next;	 /* the one after it, drawn */
	int retypes;		 /* times cur was typed again (target down) */
	bool retyped_unanswered; /* cur typed again once after no answer at all */
	double retype_at;	 /* when to type it again; 0: not waiting */
	struct camp_pace pace;	 /* its supervisors' recent restarts */
	double last_host;	 /* host time of the latest event */
	uint64_t last_ns;	 /* t_ns of the latest event */
	uint64_t wl_ok_quiet;	 /* workload ok when PH_QUIET began */
	double quiet_from;	 /* host time PH_QUIET began */
	off_t tree_from;	 /* com1.log offset where `tree` was typed */
	off_t typed_from;	 /* com1.log offset where `fault` was typed */
	pid_t resp_pid;		 /* --resp: respcheck; 0 before the tree is up */
	pid_t relay_pid;	 /* --resp: tools/tcprelay in front of the port */
	struct subst_port port;	 /* --resp: the guest's 6379 on the host */
};

static struct camp *the_camp; /* for the signal handler only */
static pid_t job_pids[16];    /* --jobs: the children, for the handler */
static int njob_pids;

/* ---------------------------------------------------------------- events */

static void draw_next(struct camp *c);

/* The fault being handled is over: on to the gap before the next one. */
static void fault_done(struct camp *c, double now)
{
	camp_track_end(&c->t);
	c->ph = PH_GAP;
	draw_next(c);
	c->due = now + (double)(c->o.gap_min_ms +
				(long)splitmix_below(
				    &c->rng, (uint64_t)(c->o.gap_max_ms - c->o.gap_min_ms + 1))) /
			   1000.0;
}

/* guest.c calls this for each COM2 event, in order; the bookkeeping is
 * campaign_track's, the timing ours. true: stop the guest. */
static bool on_event(void *ctx, const struct scn_event *e)
{
	struct camp *c = ctx;
	double now = util_now();
	struct camp_news n = camp_track_event(&c->t, &e->obj);

	c->last_ns = n.t_ns;
	c->last_host = now;
	switch (n.what) {
	case CAMP_NEWS_PANIC:
		return true;
	case CAMP_NEWS_INJECTED:
		c->not_injected_run = 0;
		c->due = now + (camp_kind_may_survive(c->t.cur->kind)
				    ? SETTLE_S + (double)c->t.cur->arg / 1e9
				    : RECOVER_BOUND_S);
		break;
	case CAMP_NEWS_KILLED:
		c->due = now + RECOVER_BOUND_S;
		break;
	case CAMP_NEWS_RECOVERED:
		fault_done(c, now);
		break;
	case CAMP_NEWS_OWN_RESTART:
		camp_pace_restart(&c->pace, n.name, n.t_ns);
		break;
	case CAMP_NEWS_SUP_RESTART:
		c->sup_deaths[c->nsup_deaths++ % SUP_DEATHS_MAX] = now;
		break;
	case CAMP_NEWS_NONE:
		break;
	}
	return false;
}

/* ---------------------------------------------------------------- COM1 */

static off_t com1_size(struct camp *c)
{
	char *p = util_path_join(c->o.out, "com1.log");
	off_t n = 0;
	int fd = open(p, O_RDONLY);

	free(p);
	if (fd >= 0) {
		n = lseek(fd, 0, SEEK_END);
		close(fd);
	}
	return n < 0 ? 0 : n;
}

/* What COM1 carried from offset from on, NUL-terminated (a new string). */
static char *com1_since(struct camp *c, off_t from)
{
	char *p = util_path_join(c->o.out, "com1.log");
	off_t end = com1_size(c);
	size_t n = end > from ? (size_t)(end - from) : 0;
	char *buf = util_realloc(NULL, n + 1);
	ssize_t got = 0;
	int fd = open(p, O_RDONLY);

	free(p);
	if (fd >= 0) {
		got = pread(fd, buf, n, from);
		close(fd);
	}
	buf[got > 0 ? got : 0] = '\0';
	return buf;
}

static void type(struct camp *c, const char *text)
{
	if (c->o.verbose)
		printf("campaign: typing: %s", text);
	guest_type(&c->g, text, strlen(text), 0);
}

/* ---------------------------------------------------------------- faults */

/* A fault's argument: what makes sense for its kind (0: the default). */
static uint64_t draw_arg(struct camp *c, const char *kind)
{
	if (!strcmp(kind, "exit"))
		return 1 + splitmix_below(&c->rng, 254);
	if (!strcmp(kind, "corrupt"))
		return 1 + splitmix_below(&c->rng, 8); /* bits to flip */
	if (!strcmp(kind, "garbage"))
		return 1 + splitmix_below(&c->rng, 32); /* messages */
	if (!strcmp(kind, "slow"))
		return (50 + splitmix_below(&c->rng, 451)) * 1000000ull; /* 50..500 ms */
	return 0;
}

/* Whether the kernel takes this kind into target (see SYS_INJECT in
 * abi.h: the root supervisor takes only kinds that end it or pass). */
static bool kind_fits(const char *target, const char *kind)
{
	return strcmp(target, "supervisor") != 0 ||
	       (strcmp(kind, "hang") && strcmp(kind, "block") && strcmp(kind, "leak") &&
		strcmp(kind, "corrupt"));
}

/* The next fault, drawn from the campaign's stream: the same seed gives
 * the same faults in the same order, whatever the timing. */
static void draw_next(struct camp *c)
{
	struct camp_fault *f = &c->next;
	const char *kind;

	memset(f, 0, sizeof(*f));
	snprintf(f->target, sizeof(f->target), "%s",
		 c->targets[splitmix_below(&c->rng, (uint64_t)c->ntargets)]);
	do
		kind = c->kinds[splitmix_below(&c->rng, (uint64_t)c->nkinds)];
	while (!kind_fits(f->target, kind));
	snprintf(f->kind, sizeof(f->kind), "%s", kind);
	f->arg = draw_arg(c, kind);
	f->seed = splitmix_next(&c->rng) | 1; /* 0 would ask the kernel for its own */
}

/* Must the next fault wait? While the supervisor that would restart its
 * target is near its intensity (campaign_pace.h), and one into the root
 * supervisor while it has died SUP_DEATHS_MAX times within
 * SUP_DEATHS_WINDOW_S (the kernel halts at 6): the campaign tests recovery,
 * not those limits. */
static bool must_wait(const struct camp *c, double now)
{
	uint64_t guest_now = c->last_ns + (uint64_t)((now - c->last_host) * 1e9);

	if (camp_pace_wait(&c->pace, c->next.target, guest_now))
		return true;
	if (strcmp(c->next.target, "supervisor") != 0 || c->nsup_deaths < SUP_DEATHS_MAX)
		return false;
	for (unsigned i = 0; i < SUP_DEATHS_MAX; i++)
		if (now - c->sup_deaths[i] >= SUP_DEATHS_WINDOW_S)
			return false;
	return true;
}

/* Type the fault being handled at the console and wait for its inject
 * event. */
static void type_fault(struct camp *c, double now)
{
	const struct camp_fault *f = c->t.cur;
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "fault %s %s %" PRIu64 " %" PRIu64 "\r", f->target, f->kind,
		 f->arg, f->seed);
	c->typed_from = com1_size(c);
	type(c, cmd);
	c->ph = PH_FAULT;
	c->due = now + TYPED_BOUND_S;
}

static void inject_next(struct camp *c, double now)
{
	struct camp_fault *f;

	c->r.f = util_grow(c->r.f, c->r.nf, &c->capf, sizeof(*c->r.f));
	f = &c->r.f[c->r.nf++];
	*f = c->next;
	f->index = (int)c->r.nf;
	f->job = c->o.job;
	f->host_at = now;
	camp_track_begin(&c->t, f);
	c->retypes = 0;
	c->retyped_unanswered = false;
	type_fault(c, now);
}

/* The console said nothing about the typed fault (no "fault:" line): the
 * line may have died with a uart or shell restarted meanwhile. Type it
 * once more (no inject event came, so it was not injected). */
static bool retype_unanswered(struct camp *c, double now)
{
	char *out;
	bool silent;

	if (c->retyped_unanswered)
		return false;
	out = com1_since(c, c->typed_from);
	silent = strstr(out, "fault:") == NULL;
	free(out);
	if (!silent)
		return false;
	c->retyped_unanswered = true;
	type(c, "\r"); /* end whatever half line the console holds */
	type_fault(c, now);
	return true;
}

/*
 * While the fault is typed: the shell said the target has no live process (it is
 * between two incarnations, restarting after a fault of its own): type the
 * same fault again a little later, for RETYPE_MAX times. Returns true if
 * it did (or will).
 */
static bool retype_if_down(struct camp *c, double now)
{
	char *out;
	bool down;

	if (now < c->retype_at)
		return true;
	if (c->retype_at > 0) { /* the wait is over: type it again */
		c->retype_at = 0;
		type_fault(c, now);
		return true;
	}
	out = com1_since(c, c->typed_from);
	down = strstr(out, "fault: no live service") != NULL;
	free(out);
	if (!down || c->retypes >= RETYPE_MAX)
		return false;
	c->retypes++;
	c->retype_at = now + RETYPE_WAIT_S;
	return true;
}

/* The shell did not inject: keep its answer, and give up on a dead console. */
static void not_injected(struct camp *c, double now)
{
	struct camp_fault *f = c->t.cur;
	char *out = com1_since(c, c->typed_from), *line = strstr(out, "fault:");

	if (line) {
		line[strcspn(line, "\r\n")] = '\0';
		util_clean_text(line, strlen(line), f->answer, false);
		f->answer[sizeof(f->answer) - 1] = '\0';
	} else {
		snprintf(f->answer, sizeof(f->answer), "(no answer on the console)");
	}
	free(out);
	f->outcome = CAMP_NOT_INJECTED;
	if (++c->not_injected_run >= MAX_NOT_INJECTED) {
		c->r.stopped_early = true;
		snprintf(c->r.why_stopped, sizeof(c->r.why_stopped),
			 "%d faults in a row were not injected: the console is dead",
			 MAX_NOT_INJECTED);
		camp_track_end(&c->t);
		c->ph = PH_QUIET;
		c->due = now;
		c->quiet_from = now;
		c->wl_ok_quiet = c->r.wl.ok;
		return;
	}
	type(c, "\r"); /* a lost line end may have glued junk to the next line */
	fault_done(c, now);
}

/* ---------------------------------------------------------------- the end */

/* A tool's path: beside this program (all are built in build/tools). */
static char *tool_path(const char *name)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n <= 0)
		return util_path_join("build/tools", name);
	self[n] = 0;
	slash = strrchr(self, '/');
	*slash = 0;
	return util_path_join(self, name);
}

/* --resp: the tree is up; start the clients, which stay for the whole
 * campaign (they reconnect by themselves). */
static void resp_begin(struct camp *c)
{
	char host[256] = "127.0.0.1", *bin;
	int port = c->port.port;

	if (!c->o.resp)
		return;
	if (c->o.resp_at) {
		sscanf(c->o.resp_at, "%255[^:]:%d", host, &port);
	} else {
		bin = tool_path("tcprelay");
		c->relay_pid = camp_relay_start(bin, port, &port);
		free(bin);
	}
	bin = tool_path("respcheck");
	c->resp_pid = camp_resp_start(bin, host, port, c->o.out);
	if (c->o.verbose)
		printf("campaign: %s on %s:%d, pid %d\n", bin, host, port, (int)c->resp_pid);
	free(bin);
}

/* The campaign's time-driven steps; events drive the rest. */
static void step(struct camp *c, double now)
{
	bool out_of_time = c->o.max_seconds > 0 && now - c->started > c->o.max_seconds;

	switch (c->ph) {
	case PH_BOOT:
		if (c->t.sup_ready && c->t.shell_ready) {
			resp_begin(c);
			fault_done(c, now);
		} else if (now - c->started > 120) {
			c->r.stopped_early = true;
			snprintf(c->r.why_stopped, sizeof(c->r.why_stopped),
				 "the tree did not come up within 120 s");
			c->ph = PH_DONE;
		}
		break;
	case PH_GAP:
		if ((int)c->r.nf >= c->o.faults || out_of_time) {
			if (out_of_time && (int)c->r.nf < c->o.faults) {
				c->r.stopped_early = true;
				snprintf(c->r.why_stopped, sizeof(c->r.why_stopped),
					 "the time bound (%.0f s) came after %zu of %d faults",
					 c->o.max_seconds, c->r.nf, c->o.faults);
			}
			c->ph = PH_QUIET;
			c->due = now + FINAL_QUIET_S;
			c->quiet_from = now;
			c->wl_ok_quiet = c->r.wl.ok;
		} else if (now >= c->due && must_wait(c, now)) {
			c->due = now + 0.5;
		} else if (now >= c->due) {
			inject_next(c, now);
		}
		break;
	case PH_FAULT:
		if (c->t.ph == CAMP_F_TYPED) {
			if (!retype_if_down(c, now) && now >= c->due && !retype_unanswered(c, now))
				not_injected(c, now);
		} else if (now >= c->due) {
			camp_track_timeout(&c->t); /* not recovered, or never died */
			fault_done(c, now);
		}
		break;
	case PH_QUIET:
		/* At least FINAL_QUIET_S, then until the workload has made
		 * progress (a last fault may still be on its way to being
		 * caught: a leak ends in a hang its heartbeat finds), for
		 * FINAL_PROGRESS_S at most. */
		if (now >= c->due &&
		    (c->r.wl.ok > c->wl_ok_quiet || now >= c->quiet_from + FINAL_PROGRESS_S)) {
			c->r.workload_alive = c->r.wl.ok > c->wl_ok_quiet;
			c->tree_from = com1_size(c);
			type(c, "\rtree\r");
			c->ph = PH_TREE;
			c->due = now + 15;
		}
		break;
	case PH_TREE: {
		char *out = com1_since(c, c->tree_from);

		c->r.tree_checked = camp_track_tree(&c->r, out);
		free(out);
		if (c->r.tree_checked || now >= c->due)
			c->ph = PH_DONE;
		break;
	}
	case PH_DONE:
		break;
	}
}

/* ---------------------------------------------------------------- options */

static void usage(FILE *to)
{
	fprintf(to,
		"usage: campaign [--iso ISO] [--faults N] [--seed S] [--kinds K,..]\n"
		"                [--targets SVC,..] [--interval-ms A..B] [--max-seconds S]\n"
		"                [--accel tcg|kvm] [--jobs J] [--policy DIR] [--out DIR] [-v]\n"
		"                [--resp | --resp-at HOST:PORT]\n"
		"Boots ISO (default build/vesta.iso), injects N faults (default 100) and\n"
		"checks that the appliance recovered from each. Kinds: kill exit crash\n"
		"(= " CRASH_KINDS ") null wild ud2 div0 stack hang block corrupt leak\n"
		"garbage slow; default " DEFAULT_KINDS ". Targets default " DEFAULT_TARGETS ".\n"
		"Writes DIR/report.txt, report.json, recovery.svg (default build/campaign).\n"
		"--jobs J runs J guests side by side (job k: seed S+k, its share of the\n"
		"faults, its own report in DIR/jobK) and reports them as one campaign.\n"
		"--policy DIR: the image's policies (default policies): a fault waits while\n"
		"its supervisor has used 70%% of its intensity within the period.\n"
		"--resp: tools/respcheck runs beside the guest for the whole campaign, its\n"
		"clients on the guest's Redis port 6379 (forwarded from a free host port;\n"
		"--resp-at: on HOST:PORT instead); targets default " RESP_TARGETS ", and\n"
		"each target's resets, lost and wrong answers and longest stall are reported.\n"
		"Exit status 0 iff every check holds.\n");
}

/* Split a comma list into out[] (strings owned by the caller); crash expands. */
static int split_list(const char *list, char **out, int cap, bool expand_crash)
{
	char *copy = util_strdup(list), *save = NULL;
	int n = 0;

	for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		if (expand_crash && !strcmp(w, "crash")) {
			n += split_list(CRASH_KINDS, out + n, cap - n, false);
			continue;
		}
		if (n < cap)
			out[n++] = util_strdup(w);
	}
	free(copy);
	return n;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	*o = (struct opts){ .iso = "build/vesta.iso",
			    .out = "build/campaign",
			    .accel = "tcg",
			    .kinds = DEFAULT_KINDS,
			    .policy = "policies",
			    .faults = 100,
			    .seed = 1,
			    .jobs = 1,
			    .gap_min_ms = 100,
			    .gap_max_ms = 1000 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "-v") || !strcmp(a, "--resp")) {
			o->verbose |= !strcmp(a, "-v");
			o->resp |= !strcmp(a, "--resp");
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			exit(0);
		}
		if (!v)
			goto bad;
		i++;
		if (!strcmp(a, "--iso"))
			o->iso = v;
		else if (!strcmp(a, "--out"))
			o->out = v;
		else if (!strcmp(a, "--accel"))
			o->accel = v;
		else if (!strcmp(a, "--kinds"))
			o->kinds = v;
		else if (!strcmp(a, "--targets"))
			o->targets = v;
		else if (!strcmp(a, "--faults"))
			o->faults = atoi(v);
		else if (!strcmp(a, "--seed"))
			o->seed = strtoull(v, NULL, 0);
		else if (!strcmp(a, "--policy"))
			o->policy = v;
		else if (!strcmp(a, "--jobs"))
			o->jobs = atoi(v);
		else if (!strcmp(a, "--max-seconds"))
			o->max_seconds = atof(v);
		else if (!strcmp(a, "--resp-at") && strchr(v, ':')) {
			o->resp_at = v;
			o->resp = true;
		} else if (!strcmp(a, "--interval-ms")) {
			if (sscanf(v, "%ld..%ld", &o->gap_min_ms, &o->gap_max_ms) != 2 ||
			    o->gap_min_ms < 0 || o->gap_max_ms < o->gap_min_ms)
				goto bad;
		} else
			goto bad;
	}
	if (o->faults < 0 || o->jobs < 1 || o->jobs > 16)
		goto bad;
	if (!o->targets)
		o->targets = o->resp ? RESP_TARGETS : DEFAULT_TARGETS;
	return 0;
bad:
	usage(stderr);
	return -1;
}

/* The first ^C ends the campaign early but still checks the tree and
 * writes the report; the second stops at once. */
static void on_signal(int sig)
{
	for (int i = 0; i < njob_pids; i++)
		kill(job_pids[i], sig); /* each ends its own guest and reports */
	if (!the_camp)
		return;
	if (the_camp->ph >= PH_QUIET || the_camp->r.stopped_early) {
		the_camp->ph = PH_DONE;
		return;
	}
	the_camp->r.stopped_early = true;
	memcpy(the_camp->r.why_stopped, "interrupted", sizeof("interrupted"));
	the_camp->r.faults_asked = (int)the_camp->r.nf;
	the_camp->o.faults = (int)the_camp->r.nf;
}

/* Boot, run the faults, and stop QEMU; the record is in c->r. 0 or -1. */
static int run(struct camp *c)
{
	/* The default appliance drives a virtio-net device (policies/); with
	 * --resp its Redis port is forwarded from c->port. kv keeps its
	 * keyspace on a disk (policies/kv.policy): a blank one per campaign. */
	static char *nic[] = { "-netdev", "user,id=n0",
			       "-device", "virtio-net-pci,netdev=n0",
			       "-drive",  "file={dir}/disk.img,format=raw,if=none,id=d0",
			       "-device", "virtio-blk-pci,drive=d0" };
	static char *nic_fwd[] = { "-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:6379",
				   "-device", "virtio-net-pci,netdev=n0",
				   "-drive",  "file={dir}/disk.img,format=raw,if=none,id=d0",
				   "-device", "virtio-blk-pci,drive=d0" };
	bool fwd = c->o.resp && !c->o.resp_at;
	struct guest_config cfg = { .iso = c->o.iso,
				    .extra = fwd ? nic_fwd : nic,
				    .port = c->port.port,
				    .nextra = 8,
				    .disk_kib = 64 * 1024,
				    .dir = c->o.out,
				    .memory_mib = 256,
				    .timeout_s = 1L << 30, /* our own bounds apply */
				    .label = "campaign",
				    .verbose = false,
				    .on_event = on_event,
				    .ctx = c };
	struct msg m = { 0 };

	if (fwd && c->port.port == 0) {
		fprintf(stderr, "campaign: no free TCP port for the guest's 6379\n");
		return -1;
	}
	if (guest_start(&c->g, &cfg, &m)) {
		fprintf(stderr, "campaign: %s\n", m.s);
		return -1;
	}
	c->started = util_now();
	while (c->ph != PH_DONE) {
		double now = util_now();
		enum guest_news news = guest_poll(&c->g, now);

		if (news != GUEST_NO_NEWS || c->g.state != GUEST_RUNNING) {
			c->r.machine_stopped = true;
			if (c->t.cur)
				c->t.cur->panic = true; /* the machine went down under it */
			snprintf(c->r.why_stopped, sizeof(c->r.why_stopped), "%s",
				 c->r.kernel_panics ? "the kernel panicked"
				 : c->r.giveups	    ? "the root supervisor gave up (on_giveup) and "
						      "the machine went down"
						    : "QEMU stopped");
			c->r.stopped_early = true;
			break;
		}
		step(c, util_now());
		util_nap();
	}
	c->r.wall_s = util_now() - c->started;
	if (c->o.resp)
		camp_resp_stop(c->resp_pid, &c->r, c->o.out);
	camp_relay_stop(c->relay_pid);
	guest_stop_all();
	return 0;
}

/* Set up c for its options (c->o) and run one guest's campaign; writes
 * its report. Returns main's exit status. */
static int one_guest(struct camp *c)
{
	bool ok;

	c->rng = c->o.seed;
	c->t.r = &c->r;
	for (int i = 0; i < c->ntargets; i++)
		camp_svc_get(&c->r, c->targets[i]);
	c->r.seed = c->o.seed;
	c->r.jobs = 1;
	c->r.accel = c->o.accel;
	c->r.kinds = c->o.kinds;
	c->r.targets = c->o.targets;
	c->r.faults_asked = c->o.faults;
	c->port.fd = -1;
	if (c->o.resp && !c->o.resp_at && subst_port_reserve(&c->port))
		perror("campaign: reserving a TCP port");
	the_camp = c;
	printf("campaign: %d faults, seed %" PRIu64 ", kinds %s, targets %s, %s; output in %s\n",
	       c->o.faults, c->o.seed, c->o.kinds, c->o.targets, c->o.accel, c->o.out);
	fflush(stdout);
	if (run(c))
		return 2;
	subst_port_release(&c->port);
	camp_record_finish(&c->r);
	ok = camp_report(&c->r, c->o.out, stdout);
	guest_free(&c->g);
	return ok ? 0 : 1;
}

/*
 * --jobs J: J children each run a guest with seed S+k and its share of the
 * faults in DIR/jobK, and save their record; the parent merges the records
 * and judges them as one campaign.
 */
static int many_guests(struct camp *c)
{
	struct camp_record all = { 0 };
	int status = 0, worst = 0, asked = 0;
	bool ok;

	for (int k = 0; k < c->o.jobs; k++) {
		char dir[32];
		pid_t pid;

		snprintf(dir, sizeof(dir), "job%d", k);
		fflush(stdout);
		pid = fork();
		if (pid < 0) {
			perror("campaign: fork");
			return 2;
		}
		if (pid == 0) {
			char *rec;
			int rc;

			/* Out of the terminal's group: a ^C reaches the parent
			 * alone, which passes it on once. */
			setpgid(0, 0);
			c->o.job = k;
			c->o.seed += (uint64_t)k;
			c->o.faults = c->o.faults / c->o.jobs + (k < c->o.faults % c->o.jobs);
			c->o.out = util_path_join(c->o.out, dir);
			njob_pids = 0;
			rc = one_guest(c);
			rec = util_path_join(c->o.out, "record.bin");
			if (rc != 2 && camp_record_save(&c->r, rec)) {
				perror(rec);
				rc = 2;
			}
			exit(rc);
		}
		job_pids[njob_pids++] = pid;
	}
	for (int k = 0; k < njob_pids; k++) {
		pid_t got;

		while ((got = waitpid(job_pids[k], &status, 0)) < 0 && errno == EINTR)
			;
		if (got < 0 || !WIFEXITED(status) || WEXITSTATUS(status) == 2)
			worst = 2;
	}
	if (worst == 2) {
		fprintf(stderr, "campaign: a job did not finish; its report is in its folder\n");
		return 2;
	}
	for (int k = 0; k < c->o.jobs; k++) {
		struct camp_record one;
		char dir[64], *rec;

		snprintf(dir, sizeof(dir), "job%d/record.bin", k);
		rec = util_path_join(c->o.out, dir);
		if (camp_record_load(&one, rec)) {
			fprintf(stderr, "campaign: %s: cannot read the record\n", rec);
			return 2;
		}
		asked += one.faults_asked;
		camp_record_merge(&all, &one);
		free(one.f);
		free(rec);
	}
	all.seed = c->o.seed;
	all.accel = c->o.accel;
	all.kinds = c->o.kinds;
	all.targets = c->o.targets;
	all.faults_asked = asked; /* a job stopped early asks no more */
	printf("campaign: %d jobs merged:\n", c->o.jobs);
	ok = camp_report(&all, c->o.out, stdout);
	free(all.f);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	static struct camp c;
	struct sigaction sa = { .sa_handler = on_signal };
	char why[POL_ERR_MAX + 64];

	if (parse_opts(argc, argv, &c.o))
		return 2;
	setenv("VESTA_ACCEL", c.o.accel, 1);
	c.nkinds = split_list(c.o.kinds, c.kinds, 32, true);
	c.ntargets = split_list(c.o.targets, c.targets, CAMP_MAX_SVCS, false);
	if (c.nkinds == 0 || c.ntargets == 0) {
		usage(stderr);
		return 2;
	}
	for (int i = 0; i < c.ntargets; i++) {
		bool any = false;

		for (int k = 0; k < c.nkinds; k++)
			any |= kind_fits(c.targets[i], c.kinds[k]);
		if (!any) {
			fprintf(stderr, "campaign: none of the kinds %s goes into %s\n", c.o.kinds,
				c.targets[i]);
			return 2;
		}
	}
	if (camp_pace_load(&c.pace, c.o.policy, why, sizeof(why))) {
		fprintf(stderr, "campaign: --policy %s: %s\n", c.o.policy, why);
		return 2;
	}
	util_on_fatal(guest_stop_all);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return c.o.jobs > 1 ? many_guests(&c) : one_guest(&c);
}
