/*
 * shell: the appliance's command line on COM1, a service under the tree.
 *
 * Input comes from the uart driver's channel "console" (a call 'R' + u16
 * max blocks until bytes are typed; see svc/uart/uart.c); output goes
 * through the kernel console (ve_printf), so it is ordered with the kernel's
 * and the supervisor's lines. Typed characters are echoed; backspace,
 * Ctrl-C and CR/LF are handled and terminal escape sequences are swallowed.
 * Each line is written to the event log as {"ev":"shell_cmd","line":LINE}
 * before it runs.
 *
 * The process commands (tree, kill, stop, start, restart) are text calls
 * to the supervisor on "sup"; the shell prints its answer as it comes. The
 * others read the kernel directly: ps, chans (every channel's queue and
 * outcome counters), pci (every PCI function and who holds it), stats,
 * halt (needs the halt grant) and fault (inject a fault into a service;
 * needs the inject grant). A line that is no command gets one line of
 * error.
 *
 * Args: "heartbeat": beat on "sup" (see ve_heartbeat_due) between reads,
 * for a policy with `heartbeat`. The driver answers a read within its
 * park time (empty: ask again), so the loop comes round often; a read
 * call is also bounded by READ_TIMEOUT_MS in case the driver is stuck.
 * If "sup" cannot be opened (an image without a supervisor), the
 * supervisor's commands say so and the rest work.
 * On start: {"ev":"shell_ready","sup":1|0}.
 */
#include "vesta.h"

#define READ_MAX 64	    /* bytes asked for per read call */
#define RETRY_MS 100	    /* pause after a failed read */
#define LINE_MAX 128	    /* longest command line, with its NUL */
#define SUP_TIMEOUT_MS 5000 /* a supervisor busy longer than this is stuck */
#define BEAT_MS 200	    /* heartbeat period: far inside any policy's */
/* A read the driver has not answered by then: the driver is hung or dead
 * (it answers within its park time, 250 ms); ask again after a beat. */
#define READ_TIMEOUT_MS 1000
#define NPROCS 64 /* the kernel's process table */

enum input_state {
	IN_TEXT, /* ordinary typing */
	IN_ESC,	 /* after ESC */
	IN_SEQ,	 /* inside ESC [ ... or ESC O ..., until its final byte */
};

struct shell {
	char line[LINE_MAX]; /* the line being typed; line[len] is free */
	size_t len;
	enum input_state state;
	bool after_cr; /* the last byte was CR: a following LF is its pair */
	int console;   /* client handle of "console" */
	int sup;       /* client handle of "sup", or the open error */
	struct ve_heartbeat hb;
};

static struct shell sh;

struct command {
	const char *name;
	const char *help;
	void (*run)(const char *rest);
};

/* Print reply text, adding a newline if it lacks one. */
static void print_text(const char *text, long n)
{
	if (n <= 0)
		return;
	ve_printf("%.*s%s", (int)n, text, text[n - 1] == '\n' ? "" : "\n");
}

/* Send the command "verb name" (name may be NULL) to the supervisor. */
static void ask_sup(const char *verb, const char *name, size_t nlen)
{
	static char req[LINE_MAX + 16], rep[VE_MSG_MAX];
	int len;
	long n;

	if (sh.sup < 0) {
		ve_printf("%s: no supervisor (open sup: %s)\n", verb, ve_strerror(sh.sup));
		return;
	}
	if (name)
		len = fmt_snprintf(req, sizeof(req), "%s %.*s", verb, (int)nlen, name);
	else
		len = fmt_snprintf(req, sizeof(req), "%s", verb);
	n = ve_chan_call(sh.sup, req, (size_t)len, rep, sizeof(rep), SUP_TIMEOUT_MS * 1000000ull);
	if (n < 0)
		ve_printf("%s: supervisor: %s\n", verb, ve_strerror(n));
	else if (n == 0)
		ve_printf("%s: supervisor gave an empty answer\n", verb);
	else
		print_text(rep, n);
}

static void cmd_help(const char *rest);

static void cmd_tree(const char *rest)
{
	(void)rest;
	ask_sup("tree", NULL, 0);
}

/* kill/stop/start/restart: one service name, handed to the supervisor. */
static void svc_cmd(const char *verb, const char *rest)
{
	size_t n = ve_word_len(rest);

	if (n == 0 || *ve_skip_space(rest + n) != '\0') {
		ve_printf("usage: %s SVC\n", verb);
		return;
	}
	ask_sup(verb, rest, n);
}

static void cmd_kill(const char *rest)
{
	svc_cmd("kill", rest);
}

static void cmd_stop(const char *rest)
{
	svc_cmd("stop", rest);
}

static void cmd_start(const char *rest)
{
	svc_cmd("start", rest);
}

static void cmd_restart(const char *rest)
{
	svc_cmd("restart", rest);
}

static const char *state_name(uint32_t state)
{
	static const char *const names[VE_NPS_STATES] = VE_PS_STATE_NAMES;

	return state < VE_NPS_STATES ? names[state] : "?";
}

static const char *prio_name(uint32_t prio)
{
	static const char *const names[VE_NPRIO] = VE_PRIO_NAMES;

	return prio < VE_NPRIO ? names[prio] : "?";
}

static void cmd_ps(const char *rest)
{
	static struct ve_procinfo ps[NPROCS];
	int n = ve_ps(ps, NPROCS);

	(void)rest;
	if (n < 0) {
		ve_printf("ps: %s\n", ve_strerror(n));
		return;
	}
	ve_printf("  PID PARENT STATE   PRIO       KIB NAME\n");
	for (int i = 0; i < n; i++)
		ve_printf("%5d %6d %-7s %-10s %5llu %s\n", (int)ps[i].pid, (int)ps[i].parent,
			  state_name(ps[i].state), prio_name(ps[i].prio),
			  (unsigned long long)ps[i].frames * 4, ps[i].name);
}

/* The name of pid, from a ps listing of n entries, or "?". */
static const char *name_of(const struct ve_procinfo *ps, int n, int pid)
{
	for (int i = 0; i < n; i++)
		if (ps[i].pid == pid)
			return ps[i].name;
	return "?";
}

static void cmd_pci(const char *rest)
{
	static struct ve_procinfo ps[NPROCS];
	struct ve_pciinfo f;
	int n = ve_ps(ps, NPROCS), r;
	uint32_t i;

	(void)rest;
	ve_printf("ADDR     VENDOR:DEV CLASS IRQ HOLDER\n");
	for (i = 0; (r = ve_pci_info(i, &f)) == 0; i++) {
		ve_printf("%02x:%02x.%u  %04x:%04x  %02x%02x  ", f.bus, f.devfn >> 3, f.devfn & 7,
			  f.vendor, f.device, f.class_code, f.subclass);
		if (f.irq == VE_PCI_NOIRQ)
			ve_printf("-   ");
		else
			ve_printf("%-3u ", f.irq);
		if (f.holder)
			ve_printf("%s (%d)\n", name_of(ps, n, f.holder), (int)f.holder);
		else
			ve_printf("-\n");
	}
	if (r != -VE_NOENT)
		ve_printf("pci: %s\n", ve_strerror(r));
}

static void cmd_chans(const char *rest)
{
	struct ve_chaninfo c;
	uint32_t i;
	int r;

	(void)rest;
	ve_printf("%-12s %6s %9s %6s %8s %8s %8s %7s %6s %6s %7s %5s\n", "CHANNEL", "SERVER",
		  "QUEUED", "FLIGHT", "SENT", "REPLIED", "ACKED", "REDELIV", "POISON", "CANCEL",
		  "DISCARD", "DEAD");
	for (i = 0; (r = ve_chan_info(i, &c)) == 0; i++) {
		char q[24];

		c.name[sizeof(c.name) - 1] = '\0';
		fmt_snprintf(q, sizeof(q), "%u/%u", (unsigned)c.queued, (unsigned)c.max_msgs);
		ve_printf("%-12s %6d %9s %6u %8llu %8llu %8llu %7llu %6llu %6llu %7llu %5u\n",
			  c.name, (int)c.server, q, (unsigned)c.inflight,
			  (unsigned long long)c.sent, (unsigned long long)c.replied,
			  (unsigned long long)c.acked, (unsigned long long)c.redelivered,
			  (unsigned long long)c.poisoned, (unsigned long long)c.cancelled,
			  (unsigned long long)c.discarded, (unsigned)c.deadletters);
	}
	if (r != -VE_NOENT)
		ve_printf("chans: channel %u: %s\n", (unsigned)i, ve_strerror(r));
	else if (i == 0)
		ve_printf("(no channels)\n");
}

/* Sum of the outcome counters over every channel. */
struct chan_totals {
	uint32_t chans, queued, inflight, deadletters;
	uint64_t sent, replied, acked, redelivered, poisoned, cancelled, discarded;
};

static void sum_chans(struct chan_totals *t)
{
	struct ve_chaninfo c;

	memset(t, 0, sizeof(*t));
	for (uint32_t i = 0; ve_chan_info(i, &c) == 0; i++) {
		t->chans++;
		t->queued += c.queued;
		t->inflight += c.inflight;
		t->deadletters += c.deadletters;
		t->sent += c.sent;
		t->replied += c.replied;
		t->acked += c.acked;
		t->redelivered += c.redelivered;
		t->poisoned += c.poisoned;
		t->cancelled += c.cancelled;
		t->discarded += c.discarded;
	}
}

static void cmd_stats(const char *rest)
{
	static struct ve_procinfo ps[NPROCS];
	uint64_t ms = ve_clock_ns() / 1000000;
	struct chan_totals t;
	struct ve_meminfo mi;
	int nproc = ve_ps(ps, NPROCS);
	int r = ve_meminfo(&mi);

	(void)rest;
	ve_printf("uptime    %llu.%03llu s\n", (unsigned long long)(ms / 1000),
		  (unsigned long long)(ms % 1000));
	if (r < 0)
		ve_printf("memory    %s\n", ve_strerror(r));
	else
		ve_printf("memory    %llu of %llu KiB free\n",
			  (unsigned long long)mi.free_frames * 4,
			  (unsigned long long)mi.total_frames * 4);
	ve_printf("processes %d\n", nproc);
	sum_chans(&t);
	ve_printf("channels  %u: %u queued, %u in flight\n", (unsigned)t.chans, (unsigned)t.queued,
		  (unsigned)t.inflight);
	ve_printf("messages  %llu sent, %llu replied, %llu acked, %llu redelivered\n",
		  (unsigned long long)t.sent, (unsigned long long)t.replied,
		  (unsigned long long)t.acked, (unsigned long long)t.redelivered);
	ve_printf("          %llu poisoned, %llu cancelled, %llu discarded, %u dead letters\n",
		  (unsigned long long)t.poisoned, (unsigned long long)t.cancelled,
		  (unsigned long long)t.discarded, (unsigned)t.deadletters);
}

/* The pid of the live process named by the n bytes at name; -VE_NOENT if
 * there is none. ps holds the n_ps entries of a ve_ps listing. */
static int find_pid(const struct ve_procinfo *ps, int n_ps, const char *name, size_t n)
{
	for (int i = 0; i < n_ps; i++)
		if (ps[i].state != VE_PS_DEAD && ve_word_is(name, n, ps[i].name))
			return i;
	return -VE_NOENT;
}

/* Whether a fault may pick ps[i] at random: a live service of the tree
 * (a child of the supervisor, sup; -1: of anyone), but not the shell
 * itself, nor the console driver it needs to report what happened. */
static bool random_target(const struct ve_procinfo *p, int sup)
{
	return p->state != 2 && (sup < 0 || p->parent == sup) &&
	       strcmp(p->name, "supervisor") != 0 && strcmp(p->name, "shell") != 0 &&
	       strcmp(p->name, "uart") != 0;
}

/* Index in ps of a random service of the tree, chosen by rng; -VE_NOENT if
 * there is none. */
static int pick_random(const struct ve_procinfo *ps, int n_ps, struct ve_rng *rng)
{
	int sup = find_pid(ps, n_ps, "supervisor", strlen("supervisor"));
	int n = 0, k;

	sup = sup >= 0 ? ps[sup].pid : -1;
	for (int i = 0; i < n_ps; i++)
		n += random_target(&ps[i], sup);
	if (n == 0)
		return -VE_NOENT;
	k = (int)ve_rng_below(rng, (uint64_t)n);
	for (int i = 0; i < n_ps; i++)
		if (random_target(&ps[i], sup) && k-- == 0)
			return i;
	return -VE_NOENT;
}

/* Read the optional [ARG] [SEED] of fault; a missing seed comes from the
 * clock. Returns 0, or -VE_INVAL / -VE_RANGE for a bad number or junk. */
static int fault_numbers(const char *s, uint64_t *arg, uint64_t *seed)
{
	int r;

	*arg = 0;
	*seed = ve_clock_ns();
	if (*ve_skip_space(s) != '\0' && (r = ve_parse_u64(&s, arg)) < 0)
		return r;
	if (*ve_skip_space(s) != '\0' && (r = ve_parse_u64(&s, seed)) < 0)
		return r;
	return *ve_skip_space(s) == '\0' ? 0 : -VE_INVAL;
}

/* The shell's one-line answer to fault (tools/faultinj reads it). */
static void fault_answer(const struct ve_procinfo *p, int kind, uint64_t arg, uint64_t seed, int r)
{
	const char *name = ve_inject_name((unsigned)kind);

	if (r == -VE_INVAL && arg > ve_inject_arg_max((uint64_t)kind))
		ve_printf("fault: inject %s into %s (pid %d): %s (ARG is at most %llu)\n", name,
			  p->name, (int)p->pid, ve_strerror(r),
			  (unsigned long long)ve_inject_arg_max((uint64_t)kind));
	else if (r < 0)
		ve_printf("fault: inject %s into %s (pid %d): %s\n", name, p->name, (int)p->pid,
			  ve_strerror(r));
	else
		ve_printf("fault: injected %s into %s (pid %d), seed %llu\n", name, p->name,
			  (int)p->pid, (unsigned long long)seed);
}

/* fault SVC KIND [ARG] [SEED]: inject a fault through the kernel. SVC
 * "random" and KIND "crash" are chosen with the seed, which is printed so
 * that the same fault can be injected again. */
static void cmd_fault(const char *rest)
{
	static struct ve_procinfo ps[NPROCS];
	const char *svc = rest, *kw;
	size_t sn = ve_word_len(svc);
	uint64_t arg, seed;
	struct ve_rng rng;
	int n_ps, i, kind, r;

	kw = ve_skip_space(svc + sn);
	if (sn == 0 || ve_word_len(kw) == 0 ||
	    fault_numbers(kw + ve_word_len(kw), &arg, &seed) < 0) {
		ve_printf("usage: fault SVC|random KIND [ARG] [SEED]\n");
		return;
	}
	kind = ve_inject_parse(kw, seed);
	if (kind < 0) {
		ve_printf("fault: unknown kind '%.*s' (crash or one of:", (int)ve_word_len(kw), kw);
		for (unsigned k = 1; k < VE_NINJECT; k++)
			ve_printf(" %s", ve_inject_name(k));
		ve_printf(")\n");
		return;
	}
	n_ps = ve_ps(ps, NPROCS);
	if (n_ps < 0) {
		ve_printf("fault: ps: %s\n", ve_strerror(n_ps));
		return;
	}
	/* A seed other than the kind's: "random crash" picks both from one. */
	ve_rng_seed(&rng, seed ^ 0x5eed);
	if (ve_word_is(svc, sn, "random"))
		i = pick_random(ps, n_ps, &rng);
	else
		i = find_pid(ps, n_ps, svc, sn);
	if (i < 0) {
		ve_printf("fault: no live service '%.*s'\n", (int)sn, svc);
		return;
	}
	r = ve_inject(ps[i].pid, (unsigned)kind, arg, seed);
	fault_answer(&ps[i], kind, arg, seed, r);
}

static void cmd_halt(const char *rest)
{
	int r;

	(void)rest;
	ve_printf("shell: halting the machine\n");
	r = ve_halt(0);
	ve_printf("halt: %s\n", ve_strerror(r));
}

static const struct command commands[] = {
	{ "help", "list the commands", cmd_help },
	{ "ps", "processes: pid, parent, state, priority, memory", cmd_ps },
	{ "tree", "the supervision tree, with restarts and last exits", cmd_tree },
	{ "chans", "channels: queue, in flight, outcomes, dead letters", cmd_chans },
	{ "pci", "PCI functions: address, IDs, class, IRQ, holder", cmd_pci },
	{ "stats", "uptime, memory, message totals", cmd_stats },
	{ "kill", "kill SVC: kill it (restarted under its policy)", cmd_kill },
	{ "stop", "stop SVC: stop it and keep it down", cmd_stop },
	{ "start", "start SVC: start a stopped service", cmd_start },
	{ "restart", "restart SVC: stop it and start it again", cmd_restart },
	{ "fault",
	  "fault SVC|random KIND [ARG] [SEED]: inject a fault (KIND crash: a random crash)",
	  cmd_fault },
	{ "halt", "stop the machine", cmd_halt },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void cmd_help(const char *rest)
{
	(void)rest;
	for (size_t i = 0; i < NCOMMANDS; i++)
		ve_printf("  %-8s %s\n", commands[i].name, commands[i].help);
}

/* Run one complete line. An empty line does nothing. */
static void run_line(const char *line)
{
	const char *name = ve_skip_space(line);
	size_t n = ve_word_len(name);
	const char *rest = ve_skip_space(name + n);

	if (n == 0)
		return;
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (ve_word_is(name, n, commands[i].name)) {
			commands[i].run(rest);
			return;
		}
	}
	ve_printf("unknown command '%.*s' (try help)\n", (int)n, name);
}

static void prompt(void)
{
	sh.len = 0;
	ve_printf("vesta> ");
}

static void end_line(void)
{
	ve_printf("\n");
	sh.line[sh.len] = '\0';
	if (*ve_skip_space(sh.line) != '\0')
		ve_event_str("shell_cmd", "line", sh.line);
	run_line(sh.line);
	prompt();
}

/* Handle one byte of ordinary typing. */
static void take_text(char c)
{
	bool pair = sh.after_cr && c == '\n';

	sh.after_cr = c == '\r';
	if (pair)
		return; /* CR LF is one Enter */
	switch (c) {
	case '\r':
	case '\n':
		end_line();
		break;
	case 0x7f: /* DEL, what most terminals send for backspace */
	case 0x08:
		if (sh.len > 0) {
			sh.len--;
			ve_printf("\b \b");
		}
		break;
	case 0x03: /* Ctrl-C: drop the line */
		ve_printf("^C\n");
		prompt();
		break;
	case 0x1b:
		sh.state = IN_ESC;
		break;
	default:
		/* Printable ASCII only; a full line ignores further typing. */
		if (c >= 0x20 && c < 0x7f && sh.len < LINE_MAX - 1) {
			sh.line[sh.len++] = c;
			ve_printf("%c", c);
		}
		break;
	}
}

/* Feed one byte from the terminal through the input state machine. */
static void take_byte(char c)
{
	switch (sh.state) {
	case IN_TEXT:
		take_text(c);
		break;
	case IN_ESC:
		sh.state = (c == '[' || c == 'O') ? IN_SEQ : IN_TEXT;
		break;
	case IN_SEQ:
		/* Parameters are 0x20-0x3f; a byte in 0x40-0x7e ends it. */
		if (c >= 0x40 && c <= 0x7e)
			sh.state = IN_TEXT;
		break;
	}
}

/* Block until typed input arrives; returns its length (0: ask again). */
static long read_input(char *buf, size_t cap)
{
	uint8_t req[3] = { 'R', (uint8_t)(cap & 0xff), (uint8_t)(cap >> 8) };
	uint64_t timeout = sh.hb.sup < 0 ? VE_TIMEOUT_NONE : READ_TIMEOUT_MS * 1000000ull;

	return ve_chan_call(sh.console, req, sizeof(req), buf, cap, timeout);
}

int main(const char *args)
{
	char buf[READ_MAX];
	long n, last_err = 0;
	int r;

	sh.state = IN_TEXT;
	r = ve_heartbeat_init(&sh.hb, ve_args_have(args, "heartbeat") ? BEAT_MS * 1000000ull : 0);
	if (r < 0) {
		ve_printf("shell: open sup: %s\n", ve_strerror(r));
		return 1;
	}
	sh.console = ve_chan_open("console");
	if (sh.console < 0) {
		ve_printf("shell: open console: %s\n", ve_strerror(sh.console));
		return 1;
	}
	sh.sup = ve_chan_open("sup");
	ve_event1("shell_ready", "sup", sh.sup >= 0);
	ve_printf("shell: ready (pid %d), type 'help'\n", ve_getpid());
	prompt();
	for (;;) {
		ve_heartbeat_due(&sh.hb);
		n = read_input(buf, sizeof(buf));
		if (n == -VE_TIMEOUT && sh.hb.sup >= 0)
			continue; /* a stuck driver: beat, then ask again */
		if (n < 0) {
			/* Say it once, not at every retry (e.g. a poisoned read). */
			if (n != last_err)
				ve_printf("shell: read: %s\n", ve_strerror(n));
			last_err = n;
			ve_sleep_ms(RETRY_MS);
			continue;
		}
		last_err = 0;
		if (n == 0)
			ve_sleep_ms(RETRY_MS / 10); /* the driver asked us to come back */
		for (long i = 0; i < n; i++)
			take_byte(buf[i]);
	}
}
