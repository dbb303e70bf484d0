/*
 * console: the default appliance's command line on COM1.
 *
 * It reads what is typed through the uart driver's channel "console": a
 * call 'R' + u16 max blocks until input exists and returns 1..max bytes
 * (see svc/uart/uart.c). A crash of the driver is invisible here: the
 * kernel replays the read to the next incarnation. Typed characters are
 * echoed; backspace, Ctrl-C and CR/LF are handled and terminal escape
 * sequences (arrow keys) are swallowed. All output goes through ve_printf,
 * i.e. the kernel's console write, so it is ordered with everything else
 * on the console. Each complete line is also written to the event log as
 * {"ev":"console_line","text":LINE} before it runs.
 *
 * Commands: help, uptime, mem, echo ARGS, halt.
 */
#include "vesta.h"

#define READ_MAX 64  /* bytes asked for per read call */
#define RETRY_MS 100 /* pause after a failed read */
#define LINE_MAX 128 /* longest command line, with its NUL */

/* Where we are in the byte stream from the terminal. */
enum input_state {
	IN_TEXT, /* ordinary typing */
	IN_ESC,	 /* after ESC */
	IN_SEQ,	 /* inside ESC [ ... or ESC O ..., until its final byte */
};

struct console {
	char line[LINE_MAX]; /* the line being typed; line[len] is free */
	size_t len;
	enum input_state state;
	bool after_cr; /* the last byte was CR: a following LF is its pair */
};

/* A command: its name, one line of help and what runs it. */
struct command {
	const char *name;
	const char *help;
	void (*run)(const char *rest);
};

static void cmd_help(const char *rest);

static void cmd_uptime(const char *rest)
{
	uint64_t ms = ve_clock_ns() / 1000000;

	(void)rest;
	ve_printf("up %llu.%03llu s\n", (unsigned long long)(ms / 1000),
		  (unsigned long long)(ms % 1000));
}

static void cmd_mem(const char *rest)
{
	struct ve_meminfo mi;
	int r = ve_meminfo(&mi);

	(void)rest;
	if (r < 0) {
		ve_printf("mem: %s\n", ve_strerror(r));
		return;
	}
	ve_printf("memory: %llu of %llu frames free (%llu of %llu KiB)\n",
		  (unsigned long long)mi.free_frames, (unsigned long long)mi.total_frames,
		  (unsigned long long)mi.free_frames * 4, (unsigned long long)mi.total_frames * 4);
}

static void cmd_echo(const char *rest)
{
	ve_printf("%s\n", rest);
}

static void cmd_halt(const char *rest)
{
	int r;

	(void)rest;
	ve_printf("console: halting the machine\n");
	r = ve_halt(0);
	ve_printf("halt: %s\n", ve_strerror(r));
}

static const struct command commands[] = {
	{ "help", "list the commands", cmd_help },
	{ "uptime", "time since boot", cmd_uptime },
	{ "mem", "free and total physical memory", cmd_mem },
	{ "echo", "echo ARGS: print ARGS", cmd_echo },
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

static void prompt(struct console *con)
{
	con->len = 0;
	ve_printf("vesta> ");
}

static void end_line(struct console *con)
{
	ve_printf("\n");
	con->line[con->len] = '\0';
	ve_event_str("console_line", "text", con->line);
	run_line(con->line);
	prompt(con);
}

/* Handle one byte of ordinary typing. */
static void take_text(struct console *con, char c)
{
	bool pair = con->after_cr && c == '\n';

	con->after_cr = c == '\r';
	if (pair)
		return; /* CR LF is one Enter */

	switch (c) {
	case '\r':
	case '\n':
		end_line(con);
		break;
	case 0x7f: /* DEL, what most terminals send for backspace */
	case 0x08:
		if (con->len > 0) {
			con->len--;
			ve_printf("\b \b");
		}
		break;
	case 0x03: /* Ctrl-C: drop the line */
		ve_printf("^C\n");
		prompt(con);
		break;
	case 0x1b:
		con->state = IN_ESC;
		break;
	default:
		/* Printable ASCII only; a full line ignores further typing. */
		if (c >= 0x20 && c < 0x7f && con->len < LINE_MAX - 1) {
			con->line[con->len++] = c;
			ve_printf("%c", c);
		}
		break;
	}
}

/* Feed one byte from the terminal through the input state machine. */
static void take_byte(struct console *con, char c)
{
	switch (con->state) {
	case IN_TEXT:
		take_text(con, c);
		break;
	case IN_ESC:
		con->state = (c == '[' || c == 'O') ? IN_SEQ : IN_TEXT;
		break;
	case IN_SEQ:
		/* Parameters are 0x20-0x3f; a byte in 0x40-0x7e ends it. */
		if (c >= 0x40 && c <= 0x7e)
			con->state = IN_TEXT;
		break;
	}
}

/*
 * Block until input arrives on channel h and put it in buf (cap bytes).
 * Returns the byte count (0 if the driver had nothing for us) or an error.
 */
static long read_input(int h, char *buf, size_t cap)
{
	uint8_t req[3] = { 'R', (uint8_t)(cap & 0xff), (uint8_t)(cap >> 8) };

	return ve_chan_call(h, req, sizeof(req), buf, cap, VE_TIMEOUT_NONE);
}

int main(const char *args)
{
	struct console con = { .len = 0, .state = IN_TEXT, .after_cr = false };
	char buf[READ_MAX];
	long n, last_err = 0;
	int h;

	(void)args;
	h = ve_chan_open("console");
	if (h < 0) {
		ve_printf("console: open channel console: %s\n", ve_strerror(h));
		return 1;
	}
	ve_printf("console: ready on COM1 (pid %d), type 'help'\n", ve_getpid());
	prompt(&con);
	for (;;) {
		n = read_input(h, buf, sizeof(buf));
		if (n < 0) {
			/* Say it once, not at every retry (e.g. a poisoned read). */
			if (n != last_err)
				ve_printf("console: read: %s\n", ve_strerror(n));
			last_err = n;
			ve_sleep_ms(RETRY_MS);
			continue;
		}
		last_err = 0;
		if (n == 0)
			ve_sleep_ms(RETRY_MS / 10); /* the driver asked us to come back */
		for (long i = 0; i < n; i++)
			take_byte(&con, buf[i]);
	}
}
