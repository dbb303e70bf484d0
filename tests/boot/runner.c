/*
 * The boot-test runner: boots a Vesta image in QEMU for each scenario and
 * firmware, reads the machine-readable event log (COM2, one flat JSON
 * object per line) while the guest runs, and checks the scenario's
 * expectations against the events it saw. tests/boot/README.md describes
 * the scenario language and the output.
 *
 * Each (scenario, firmware) pair is a job: one QEMU process. Up to -j jobs
 * run at once, all driven by one single-threaded loop that reads every
 * job's com2.log each 50 ms, so `until` and panics are seen as they happen.
 * Every QEMU runs in a process group of its own, which the runner stops on
 * every way out: the guest is done, a timeout, a panic, Ctrl-C, a fatal
 * error. (On Linux the child also asks to be killed if the runner dies.)
 *
 * Plain C11 + POSIX; nothing beyond libc.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "jsonline.h"

#define POLL_NS 50000000L /* read com2.log every 50 ms: fast enough for
			     `until`, cheap enough for many parallel boots */
#define TERM_GRACE_S 2.0  /* QEMU quits at once on SIGTERM; 2 s allows for a
			     loaded host before SIGKILL */
#define TAIL_LINES 25     /* log lines shown under a failure */
#define TAIL_BYTES 65536  /* read this much of a log's end to find them */
#define MAX_LINE 65536    /* a longer COM2 line is malformed, not a reason
			     to grow without bound */
#define RAW_SHOWN 200     /* how much of an event a message quotes */
#define MSG_MAX 1024      /* longest failure message */
#define MAX_JOBS_PAR 256  /* -j limit */

#define DEFAULT_ISODIR "build/img"
#define DEFAULT_OUTDIR "build/boot"
#define DEFAULT_QEMU "qemu-system-x86_64"
#define DEFAULT_ACCEL "tcg"
#define DEFAULT_OVMF "/usr/share/ovmf/OVMF.fd" /* Debian's ovmf package */
#define DEFAULT_TIMEOUT_S 60
#define DEFAULT_MEMORY_MIB 128

/* ---- small helpers ------------------------------------------------- */

static bool verbose;                       /* -v */
static volatile sig_atomic_t interrupted;  /* SIGINT/SIGTERM/SIGHUP seen */

static void stop_all_jobs(void);

/* Out of memory and the like: stop every QEMU, then give up. */
static void fatal(const char *what)
{
	fprintf(stderr, "runner: %s: %s\n", what, strerror(errno));
	stop_all_jobs();
	exit(1);
}

static void *xrealloc(void *p, size_t size)
{
	p = realloc(p, size ? size : 1);
	if (!p)
		fatal("out of memory");
	return p;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xrealloc(NULL, n), s, n);
}

/* Make room for one more element in a growable array. */
static void *grow(void *arr, size_t n, size_t *cap, size_t elem)
{
	if (n < *cap)
		return arr;
	*cap = *cap ? *cap * 2 : 8;
	return xrealloc(arr, *cap * elem);
}

static char *path_join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *p = xrealloc(NULL, a + b + 2);

	memcpy(p, dir, a);
	p[a] = '/';
	memcpy(p + a + 1, name, b + 1);
	return p;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap(void)
{
	struct timespec ts = { 0, POLL_NS };

	nanosleep(&ts, NULL); /* a signal may cut it short; that is fine */
}

/* A failure message under construction; it truncates, never overflows. */
struct msg {
	char s[MSG_MAX];
	size_t len;
};

static void msg_add(struct msg *m, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (m->len >= sizeof(m->s) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(m->s + m->len, sizeof(m->s) - m->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		m->len += (size_t)n;
	if (m->len > sizeof(m->s) - 1)
		m->len = sizeof(m->s) - 1;
}

/*
 * Copy guest text so that it is safe on a terminal: escape sequences
 * (ESC [ ... final byte) and other control bytes are dropped; newlines are
 * kept only with keep_nl. out gets at most n + 1 bytes, NUL included.
 * Firmware and GRUB fill the serial logs with such sequences.
 */
static void clean_text(const char *in, size_t n, char *out, bool keep_nl)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)in[i];

		if (ch == 0x1b && i + 1 < n && in[i + 1] == '[') {
			for (i += 2; i < n && (in[i] < 0x40 || in[i] > 0x7e); i++)
				;
		} else if (ch == 0x1b) {
			i++;
		} else if (ch >= 0x20 && ch != 0x7f) {
			*out++ = (char)ch;
		} else if (ch == '\t' || (ch == '\n' && keep_nl)) {
			*out++ = (char)ch;
		}
	}
	*out = '\0';
}

/* Quote guest text: cleaned, and cut short if long. */
static void msg_add_raw(struct msg *m, const char *raw)
{
	size_t n = strlen(raw);
	char *c = xrealloc(NULL, n + 1);

	clean_text(raw, n, c, false);
	if (strlen(c) > RAW_SHOWN)
		strcpy(c + RAW_SHOWN, "...");
	msg_add(m, "%s", c);
	free(c);
}

/* Print one line of guest text, cleaned, after a prefix. */
static void print_guest_line(const char *prefix, int line, const char *raw)
{
	size_t n = strlen(raw);
	char *c = xrealloc(NULL, n + 1);

	clean_text(raw, n, c, false);
	printf("%s%d %s\n", prefix, line, c);
	free(c);
}

/* ---- matchers: KEY OP VALUE ------------------------------------------ */

/* An integer as sign and magnitude, so that 64-bit addresses compare. */
struct num {
	bool neg;
	uint64_t mag;
};

static int digit_value(char ch, unsigned base)
{
	int d = -1;

	if (ch >= '0' && ch <= '9')
		d = ch - '0';
	else if (ch >= 'a' && ch <= 'f')
		d = ch - 'a' + 10;
	else if (ch >= 'A' && ch <= 'F')
		d = ch - 'A' + 10;
	return d >= 0 && (unsigned)d < base ? d : -1;
}

/*
 * Parse all of s as an integer: an optional '-', then decimal digits or
 * 0x and hex digits. False if s is anything else or does not fit 64 bits.
 */
static bool parse_num(const char *s, struct num *out)
{
	unsigned base = 10;
	uint64_t v = 0;
	bool neg = *s == '-';

	if (neg)
		s++;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return false;
	for (; *s; s++) {
		int d = digit_value(*s, base);

		if (d < 0 || v > (UINT64_MAX - (unsigned)d) / base)
			return false;
		v = v * base + (unsigned)d;
	}
	out->neg = neg && v != 0;
	out->mag = v;
	return true;
}

static int num_cmp(struct num a, struct num b)
{
	if (a.neg != b.neg)
		return a.neg ? -1 : 1;
	if (a.mag == b.mag)
		return 0;
	return (a.mag < b.mag) != a.neg ? -1 : 1;
}

enum op { OP_EQ, OP_NE, OP_GE, OP_LE, OP_GT, OP_LT, OP_SUB };

struct matcher {
	char *text;  /* as written, for messages */
	char *key;
	enum op op;
	char *value;
	bool is_num; /* value parsed as an integer into num */
	struct num num;
};

/* All matchers must hold: one `MATCH...` list. */
struct pattern {
	struct matcher *m;
	size_t n;
};

/*
 * Does m hold for the event? Integers on both sides compare numerically,
 * otherwise = and != compare text and the ordered operators fail. A missing
 * key fails every operator except !=.
 */
static bool matcher_holds(const struct matcher *m, const struct jsonline *ev)
{
	const struct jsonline_pair *p = jsonline_find(ev, m->key);
	struct num v;
	bool num;
	int c;

	if (!p)
		return m->op == OP_NE;
	if (m->op == OP_SUB)
		return strstr(p->value, m->value) != NULL;
	num = m->is_num && parse_num(p->value, &v);
	if (m->op == OP_EQ || m->op == OP_NE) {
		bool eq = num ? num_cmp(v, m->num) == 0 :
				strcmp(p->value, m->value) == 0;

		return eq == (m->op == OP_EQ);
	}
	if (!num)
		return false;
	c = num_cmp(v, m->num);
	switch (m->op) {
	case OP_GE: return c >= 0;
	case OP_LE: return c <= 0;
	case OP_GT: return c > 0;
	case OP_LT: return c < 0;
	default: return false;
	}
}

/* How many of p's matchers hold; *first_bad gets the first that fails. */
static size_t pattern_score(const struct pattern *p, const struct jsonline *ev,
			    const struct matcher **first_bad)
{
	size_t good = 0;

	*first_bad = NULL;
	for (size_t i = 0; i < p->n; i++) {
		if (matcher_holds(&p->m[i], ev))
			good++;
		else if (!*first_bad)
			*first_bad = &p->m[i];
	}
	return good;
}

static bool pattern_holds(const struct pattern *p, const struct jsonline *ev)
{
	const struct matcher *bad;

	return pattern_score(p, ev, &bad) == p->n;
}

static void msg_add_pattern(struct msg *m, const struct pattern *p)
{
	for (size_t i = 0; i < p->n; i++)
		msg_add(m, "%s%s", i ? " " : "", p->m[i].text);
}

/* ---- scenarios --------------------------------------------------------- */

enum check_kind {
	CHK_UNTIL,
	CHK_EXPECT,
	CHK_COUNT,
	CHK_MIN,
	CHK_NOT,
	CHK_ORDER,
	CHK_EXIT_CODE,
};

/* One directive that tests something. */
struct check {
	enum check_kind kind;
	int line;            /* in the scenario file */
	char *text;          /* the directive as written, for messages */
	long n;              /* events for UNTIL/COUNT/MIN; status for EXIT */
	struct pattern *pat; /* one; several (in order) for ORDER */
	size_t npat;
};

enum firmware { FW_BIOS, FW_UEFI, FW_N };
static const char *const fw_name[FW_N] = { "bios", "uefi" };

struct scenario {
	char *path;
	char *name;          /* file name without .scn: names the output */
	char *image;         /* ISO is ISODIR/image.iso */
	enum firmware fw[FW_N];
	size_t nfw;
	long timeout_s;
	long memory_mib;
	bool allow_panic;
	bool has_until;
	bool has_exit_code;  /* else QEMU must end with Vesta's success code */
	struct check until;
	struct check *checks; /* in file order */
	size_t nchecks;
};

/* A word of a directive line; `;` outside quotes is a word of its own. */
struct token {
	char *s;
	bool sep; /* an unquoted `;` */
};

struct line_tokens {
	struct token *t;
	size_t n, cap;
	size_t text_end; /* where the directive's text ends (comment cut) */
};

static void tokens_push(struct line_tokens *tk, char *s, bool sep)
{
	tk->t = grow(tk->t, tk->n, &tk->cap, sizeof(*tk->t));
	tk->t[tk->n].s = s;
	tk->t[tk->n].sep = sep;
	tk->n++;
}

static void tokens_free(struct line_tokens *tk)
{
	for (size_t i = 0; i < tk->n; i++)
		free(tk->t[i].s);
	free(tk->t);
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/*
 * Copy one word starting at *pp into a new string, removing double quotes
 * (inside them, blanks, `;` and `#` are plain text and \" \\ escape).
 * Returns NULL on an unterminated quote.
 */
static char *scan_word(const char **pp, size_t linelen)
{
	const char *p = *pp;
	char *w = xrealloc(NULL, linelen + 1), *o = w;

	while (*p && !is_blank(*p) && *p != ';') {
		if (*p != '"') {
			*o++ = *p++;
			continue;
		}
		for (p++; *p && *p != '"'; p++) {
			if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
				p++;
			*o++ = *p;
		}
		if (!*p) {
			free(w);
			return NULL;
		}
		p++;
	}
	*o = '\0';
	*pp = p;
	return w;
}

/* Split a line into words; a `#` that starts a word starts a comment. */
static int tokenize(const char *line, struct line_tokens *tk)
{
	const char *p = line;
	size_t len = strlen(line);

	for (;;) {
		while (is_blank(*p))
			p++;
		if (!*p || *p == '#')
			return 0;
		if (*p == ';') {
			tokens_push(tk, xstrdup(";"), true);
			p++;
		} else {
			char *w = scan_word(&p, len);

			if (!w)
				return -1;
			tokens_push(tk, w, false);
		}
		tk->text_end = (size_t)(p - line);
	}
}

/* Parser state for one scenario file. */
struct parse_ctx {
	struct scenario *sc;
	const char *path;
	int line;
	int nerr;
	int seen[16]; /* line of each once-only directive, by table index */
};

static void perr(struct parse_ctx *c, const char *fmt, ...)
{
	va_list ap;

	printf("%s:%d: ", c->path, c->line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	c->nerr++;
}

/* A decimal number in [min, max]; reports and returns -1 otherwise. */
static int parse_long(struct parse_ctx *c, const struct token *t,
		      const char *what, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = t->sep ? 0 : strtol(t->s, &end, 10);
	if (t->sep || !*t->s || *end || errno || v < min || v > max ||
	    !(t->s[0] >= '0' && t->s[0] <= '9')) {
		perr(c, "%s must be a whole number from %ld to %ld, not `%s`",
		     what, min, max, t->s);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_matcher(struct parse_ctx *c, const char *s,
			 struct matcher *m)
{
	size_t k = strcspn(s, "=!<>~");
	const char *o = s + k;
	size_t oplen = 1;

	if (k == 0 || !*o || (*o == '!' && o[1] != '=')) {
		perr(c, "`%s` is not KEY OP VALUE (no blanks; OP is one of "
			"= != >= <= > < ~), e.g. ev=exit", s);
		return -1;
	}
	if (*o == '!' || ((*o == '>' || *o == '<') && o[1] == '='))
		oplen = 2;
	if (*o == '=' && o[1] == '=') {
		perr(c, "`%s`: write a single `=`", s);
		return -1;
	}
	m->op = *o == '=' ? OP_EQ : *o == '!' ? OP_NE : *o == '~' ? OP_SUB :
		*o == '>' ? (oplen == 2 ? OP_GE : OP_GT) :
			    (oplen == 2 ? OP_LE : OP_LT);
	m->is_num = parse_num(o + oplen, &m->num);
	if (m->op != OP_EQ && m->op != OP_NE && m->op != OP_SUB && !m->is_num) {
		perr(c, "`%s`: %.*s needs an integer on the right", s,
		     (int)oplen, o);
		return -1;
	}
	m->text = xstrdup(s);
	m->key = xstrdup(s);
	m->key[k] = '\0';
	m->value = xstrdup(o + oplen);
	return 0;
}

static void pattern_free(struct pattern *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->m[i].text);
		free(p->m[i].key);
		free(p->m[i].value);
	}
	free(p->m);
}

/* Words t[0..n) as one pattern: at least one matcher, no `;`. */
static int parse_pattern(struct parse_ctx *c, const struct token *t, size_t n,
			 struct pattern *p)
{
	p->m = xrealloc(NULL, (n ? n : 1) * sizeof(*p->m));
	p->n = 0;
	if (n == 0) {
		perr(c, "expected at least one KEY OP VALUE");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (t[i].sep) {
			perr(c, "`;` only separates groups in expect-order");
			return -1;
		}
		if (parse_matcher(c, t[i].s, &p->m[p->n]))
			return -1;
		p->n++;
	}
	return 0;
}

static void check_free(struct check *k)
{
	for (size_t i = 0; i < k->npat; i++)
		pattern_free(&k->pat[i]);
	free(k->pat);
	free(k->text);
}

/*
 * Parse the words after a checking directive into *k: an optional or
 * required leading count, then one pattern (or `;`-separated patterns for
 * expect-order).
 */
static int parse_check(struct parse_ctx *c, const struct token *t, size_t n,
		       struct check *k)
{
	size_t from = 0;
	int err = 0;

	if (k->kind == CHK_COUNT || k->kind == CHK_MIN ||
	    (k->kind == CHK_UNTIL && n > 0 && t[0].s[0] >= '0' &&
	     t[0].s[0] <= '9')) {
		if (n == 0) {
			perr(c, "expected a count, then KEY OP VALUE...");
			return -1;
		}
		if (parse_long(c, &t[0], "the count",
			       k->kind == CHK_UNTIL ? 1 : 0, 1000000, &k->n))
			return -1;
		from = 1;
	}
	if (k->kind != CHK_ORDER) {
		k->pat = xrealloc(NULL, sizeof(*k->pat));
		k->npat = 1;
		return parse_pattern(c, t + from, n - from, &k->pat[0]);
	}
	for (size_t i = 0, start = 0; i <= n && !err; i++) {
		if (i < n && !t[i].sep)
			continue;
		if (i == start) {
			perr(c, "group %zu of expect-order is empty", k->npat + 1);
			return -1;
		}
		k->pat = xrealloc(k->pat, (k->npat + 1) * sizeof(*k->pat));
		err = parse_pattern(c, t + start, i - start, &k->pat[k->npat++]);
		start = i + 1;
	}
	return err;
}

static int d_image(struct parse_ctx *c, const struct token *t, size_t n)
{
	if (n != 1 || t[0].sep || !*t[0].s) {
		perr(c, "usage: image NAME");
		return -1;
	}
	c->sc->image = xstrdup(t[0].s);
	return 0;
}

static int d_firmware(struct parse_ctx *c, const struct token *t, size_t n)
{
	struct scenario *sc = c->sc;

	if (n == 0 || n > FW_N) {
		perr(c, "usage: firmware bios|uefi [bios|uefi]");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		enum firmware f = strcmp(t[i].s, "uefi") == 0 ? FW_UEFI : FW_BIOS;

		if (t[i].sep || (f == FW_BIOS && strcmp(t[i].s, "bios") != 0)) {
			perr(c, "unknown firmware `%s` (bios or uefi)", t[i].s);
			return -1;
		}
		if (i == 1 && sc->fw[0] == f) {
			perr(c, "firmware `%s` listed twice", t[i].s);
			return -1;
		}
		sc->fw[i] = f;
	}
	sc->nfw = n;
	return 0;
}

static int d_timeout(struct parse_ctx *c, const struct token *t, size_t n)
{
	if (n != 1) {
		perr(c, "usage: timeout SECONDS");
		return -1;
	}
	return parse_long(c, &t[0], "timeout", 1, 86400, &c->sc->timeout_s);
}

static int d_memory(struct parse_ctx *c, const struct token *t, size_t n)
{
	if (n != 1) {
		perr(c, "usage: memory MiB");
		return -1;
	}
	return parse_long(c, &t[0], "memory", 2, 1048576, &c->sc->memory_mib);
}

static int d_allow_panic(struct parse_ctx *c, const struct token *t, size_t n)
{
	(void)t;
	if (n != 0) {
		perr(c, "allow-panic takes no arguments");
		return -1;
	}
	c->sc->allow_panic = true;
	return 0;
}

static int d_exit_code(struct parse_ctx *c, const struct token *t, size_t n)
{
	struct scenario *sc = c->sc;
	struct check k = { .kind = CHK_EXIT_CODE, .line = c->line };

	if (n != 1) {
		perr(c, "usage: exit-code N");
		return -1;
	}
	if (parse_long(c, &t[0], "exit-code", 0, 255, &k.n))
		return -1;
	sc->has_exit_code = true;
	sc->checks = xrealloc(sc->checks, (sc->nchecks + 1) * sizeof(k));
	sc->checks[sc->nchecks++] = k;
	return 0;
}

/* One entry per directive; `once` ones may appear only once per file. */
static const struct directive {
	const char *name;
	enum check_kind kind; /* for checking directives */
	int (*parse)(struct parse_ctx *, const struct token *, size_t);
	bool once;
} directives[] = {
	{ "image", 0, d_image, true },
	{ "firmware", 0, d_firmware, true },
	{ "timeout", 0, d_timeout, true },
	{ "memory", 0, d_memory, true },
	{ "allow-panic", 0, d_allow_panic, true },
	{ "exit-code", 0, d_exit_code, true },
	{ "until", CHK_UNTIL, NULL, true },
	{ "expect", CHK_EXPECT, NULL, false },
	{ "expect-count", CHK_COUNT, NULL, false },
	{ "expect-min", CHK_MIN, NULL, false },
	{ "expect-not", CHK_NOT, NULL, false },
	{ "expect-order", CHK_ORDER, NULL, false },
};
#define NDIRECTIVES (sizeof(directives) / sizeof(directives[0]))
_Static_assert(NDIRECTIVES <= sizeof(((struct parse_ctx *)0)->seen) /
				      sizeof(int),
	       "parse_ctx.seen has a slot per directive");

/* A checking directive: parse it and file it as `until` or a check. */
static void add_check(struct parse_ctx *c, const struct directive *d,
		      const struct line_tokens *tk, const char *text)
{
	struct scenario *sc = c->sc;
	struct check k = { .kind = d->kind, .line = c->line, .n = 1 };

	if (parse_check(c, tk->t + 1, tk->n - 1, &k)) {
		check_free(&k);
		return;
	}
	k.text = xstrdup(text);
	if (k.kind == CHK_UNTIL) {
		sc->until = k;
		sc->has_until = true;
		return;
	}
	sc->checks = xrealloc(sc->checks, (sc->nchecks + 1) * sizeof(k));
	sc->checks[sc->nchecks++] = k;
}

static void parse_line(struct parse_ctx *c, char *line)
{
	struct line_tokens tk = { 0 };
	const struct directive *d = NULL;
	size_t i;

	if (tokenize(line, &tk)) {
		perr(c, "unterminated \"");
		goto out;
	}
	if (tk.n == 0)
		goto out;
	line[tk.text_end] = '\0';
	for (i = 0; i < NDIRECTIVES && !d; i++)
		if (!tk.t[0].sep && strcmp(tk.t[0].s, directives[i].name) == 0)
			d = &directives[i];
	if (!d) {
		perr(c, "unknown directive `%s`", tk.t[0].s);
		goto out;
	}
	i = (size_t)(d - directives);
	if (d->once && c->seen[i]) {
		perr(c, "second `%s` (the first is on line %d)", d->name,
		     c->seen[i]);
		goto out;
	}
	c->seen[i] = c->line;
	if (d->parse)
		d->parse(c, tk.t + 1, tk.n - 1);
	else
		add_check(c, d, &tk, line + strspn(line, " \t"));
out:
	tokens_free(&tk);
}

static void scenario_free(struct scenario *sc)
{
	if (!sc)
		return;
	for (size_t i = 0; i < sc->nchecks; i++)
		check_free(&sc->checks[i]);
	free(sc->checks);
	if (sc->has_until)
		check_free(&sc->until);
	free(sc->path);
	free(sc->name);
	free(sc->image);
	free(sc);
}

/* The scenario's name: its file name without directories and ".scn". */
static char *scenario_name(const char *path)
{
	const char *base = strrchr(path, '/');
	char *name = xstrdup(base ? base + 1 : path);
	size_t n = strlen(name);

	if (n > 4 && strcmp(name + n - 4, ".scn") == 0)
		name[n - 4] = '\0';
	return name;
}

/*
 * Read and check a scenario file. Every error is printed as file:line:
 * message; the result is NULL if there was any.
 */
static struct scenario *scenario_load(const char *path)
{
	struct scenario *sc = xrealloc(NULL, sizeof(*sc));
	struct parse_ctx c = { .sc = sc, .path = path };
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;

	memset(sc, 0, sizeof(*sc));
	sc->path = xstrdup(path);
	sc->name = scenario_name(path);
	sc->timeout_s = DEFAULT_TIMEOUT_S;
	sc->memory_mib = DEFAULT_MEMORY_MIB;
	if (!f) {
		printf("%s: cannot read: %s\n", path, strerror(errno));
		scenario_free(sc);
		return NULL;
	}
	while (getline(&line, &cap, f) >= 0) {
		c.line++;
		if (line[0] && line[strlen(line) - 1] == '\n')
			line[strlen(line) - 1] = '\0';
		parse_line(&c, line);
	}
	free(line);
	fclose(f);
	if (!sc->image) {
		printf("%s: no `image NAME` directive (it is required)\n", path);
		c.nerr++;
	}
	if (sc->nfw == 0) {
		sc->fw[0] = FW_BIOS;
		sc->nfw = 1;
	}
	if (c.nerr) {
		scenario_free(sc);
		return NULL;
	}
	return sc;
}

/* ---- jobs: one QEMU boot -------------------------------------------- */

struct event {
	int line;             /* in com2.log, from 1 */
	char *raw;            /* the line as read, without its newline */
	char *buf;            /* storage behind obj */
	struct jsonline obj;
};

enum job_state {
	JOB_WAITING,  /* not started */
	JOB_RUNNING,  /* QEMU runs; the guest may still be working */
	JOB_STOPPING, /* SIGTERM sent; SIGKILL at kill_at */
	JOB_DONE,     /* QEMU reaped (or never started), result printed */
};

struct job {
	const struct scenario *sc;
	enum firmware fw;
	char *dir;            /* OUTDIR/<scenario>-<firmware> */
	char *com2;
	enum job_state state;
	pid_t pid;            /* QEMU and its process group; 0 when none */
	bool ran;             /* QEMU was started */
	double start;         /* when */
	double timeout_at;
	double kill_at;       /* STOPPING: when SIGTERM turns into SIGKILL */
	double elapsed;
	bool stopped;         /* the runner stopped QEMU (until, panic, time) */
	bool reaped;
	int status;           /* from waitpid, once reaped */

	/* Reading com2.log: byte offset, the unfinished last line. */
	off_t offset;
	char *part;
	size_t npart, cappart;
	bool overlong;        /* the current line passed MAX_LINE */
	int nlines;           /* lines seen, blank ones included */
	bool cut;             /* past the line that met `until` or panicked:
				 later lines are ignored */

	struct event *ev;     /* parsed events, in log order */
	size_t nev, capev;
	size_t nbad;          /* lines that are not a flat JSON object */
	int bad_line;         /* the first of them */
	char *bad_raw;
	long until_hits;
	bool until_met;

	char **fail;          /* failure messages; the first is reported */
	size_t nfail, capfail;
};

/* All jobs, so that a fatal error or a signal can stop every QEMU. */
static struct job *all_jobs;
static size_t all_njobs;

static void job_fail(struct job *j, const struct msg *m)
{
	j->fail = grow(j->fail, j->nfail, &j->capfail, sizeof(*j->fail));
	j->fail[j->nfail++] = xstrdup(m->s);
}

/* Signal QEMU's whole process group (a wrapper script's children too). */
static void signal_qemu(struct job *j, int sig)
{
	if (j->pid <= 0)
		return;
	if (kill(-j->pid, sig) && errno == ESRCH && !j->reaped)
		kill(j->pid, sig);
}

/* Ask QEMU to quit; poll_job() escalates to SIGKILL after the grace. */
static void stop_job(struct job *j)
{
	if (j->state != JOB_RUNNING)
		return;
	signal_qemu(j, SIGTERM);
	j->state = JOB_STOPPING;
	j->stopped = true;
	j->kill_at = now_s() + TERM_GRACE_S;
}

/*
 * What an event means while the guest runs: a panic stops the guest and
 * fails (unless allowed); the Nth match of `until` stops it. Either way
 * the log is cut there, so what the guest does while being stopped does
 * not change the result.
 */
static void watch_event(struct job *j, const struct event *e)
{
	const struct scenario *sc = j->sc;
	const struct jsonline_pair *ev = jsonline_find(&e->obj, "ev");
	struct msg m = { .len = 0 };

	if (!sc->allow_panic && ev && strcmp(ev->value, "panic") == 0) {
		msg_add(&m, "guest panicked (com2.log:%d): ", e->line);
		msg_add_raw(&m, e->raw);
		job_fail(j, &m);
		j->cut = true;
		stop_job(j);
		return;
	}
	if (sc->has_until && pattern_holds(&sc->until.pat[0], &e->obj) &&
	    ++j->until_hits >= sc->until.n) {
		j->until_met = true;
		j->cut = true;
		stop_job(j);
	}
}

/*
 * One complete line of com2.log (NUL-terminated, newline removed).
 *
 * Before the first event, COM2 may carry noise from the firmware or the
 * boot loader (OVMF mirrors its console, escape sequences and all, onto
 * every serial port), and the kernel's first line may be glued to the end
 * of it. So until then the text before the first '{' is dropped and a line
 * that still does not parse is skipped. From the first event on, COM2
 * belongs to Vesta: every non-blank line must be an event, and judge()
 * fails the run otherwise.
 */
static void take_line(struct job *j, char *text, size_t len)
{
	char prefix[128];
	struct event *e;
	size_t i;

	j->nlines++;
	for (i = 0; i < len && is_blank(text[i]); i++)
		;
	if (i == len || j->cut)
		return;
	snprintf(prefix, sizeof(prefix), "  %s [%s] com2:", j->sc->name,
		 fw_name[j->fw]);
	if (j->nev == 0) {
		char *brace = memchr(text, '{', len);

		if (!brace) {
			if (verbose)
				print_guest_line(prefix, j->nlines, text);
			return;
		}
		len -= (size_t)(brace - text);
		text = brace;
	}
	j->ev = grow(j->ev, j->nev, &j->capev, sizeof(*j->ev));
	e = &j->ev[j->nev];
	e->line = j->nlines;
	e->buf = xrealloc(NULL, len + 1);
	if (jsonline_parse(text, len, e->buf, len + 1, &e->obj) < 0) {
		free(e->buf);
		if (verbose)
			print_guest_line(prefix, j->nlines, text);
		if (j->nev > 0 && j->nbad++ == 0) {
			j->bad_line = j->nlines;
			j->bad_raw = xstrdup(text);
		}
		return;
	}
	e->raw = xstrdup(text);
	j->nev++;
	if (verbose)
		print_guest_line(prefix, e->line, e->raw);
	watch_event(j, e);
}

/* The current line is complete: hand it on and start the next one. */
static void end_line(struct job *j)
{
	if (j->overlong) {
		j->overlong = false;
		j->npart = 0;
		take_line(j, "(a line longer than 64 KiB)", 27);
		return;
	}
	j->part = grow(j->part, j->npart, &j->cappart, 1);
	j->part[j->npart] = '\0';
	if (j->npart && j->part[j->npart - 1] == '\r')
		j->part[--j->npart] = '\0';
	take_line(j, j->part, j->npart);
	j->npart = 0;
}

static void add_bytes(struct job *j, const char *p, size_t n)
{
	if (j->overlong)
		return;
	if (j->npart + n > MAX_LINE) {
		j->overlong = true;
		return;
	}
	while (j->cappart < j->npart + n + 1)
		j->part = grow(j->part, j->cappart, &j->cappart, 1);
	memcpy(j->part + j->npart, p, n);
	j->npart += n;
}

/*
 * Read what the guest added to com2.log since the last call and act on
 * every complete line. With final set (QEMU has exited by itself) an
 * unterminated last line counts too.
 */
static void read_com2(struct job *j, bool final)
{
	static char chunk[65536];
	ssize_t n;
	int fd = open(j->com2, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return; /* QEMU has not created it yet */
	while ((n = pread(fd, chunk, sizeof(chunk), j->offset)) > 0) {
		const char *p = chunk;
		size_t left = (size_t)n;

		j->offset += n;
		while (left > 0) {
			const char *nl = memchr(p, '\n', left);
			size_t k = nl ? (size_t)(nl - p) : left;

			add_bytes(j, p, k);
			if (!nl)
				break;
			end_line(j);
			p += k + 1;
			left -= k + 1;
		}
	}
	close(fd);
	if (final && (j->npart || j->overlong))
		end_line(j);
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
	a->v = grow(a->v, a->n + 1, &a->cap, sizeof(*a->v));
	a->v[a->n++] = xstrdup(buf);
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

static void qemu_argv(const struct job *j, const char *iso, struct argv *a)
{
	argv_add(a, "%s", env_or("VESTA_QEMU", DEFAULT_QEMU));
	argv_add(a, "-accel");
	argv_add(a, "%s", env_or("VESTA_ACCEL", DEFAULT_ACCEL));
	argv_add(a, "-m");
	argv_add(a, "%ld", j->sc->memory_mib);
	argv_add(a, "-smp");
	argv_add(a, "1");
	argv_add(a, "-display");
	argv_add(a, "none");
	argv_add(a, "-no-reboot");
	argv_add(a, "-device");
	argv_add(a, "isa-debug-exit,iobase=0xf4,iosize=0x04");
	argv_add(a, "-serial");
	argv_add(a, "file:%s/com1.log", j->dir);
	argv_add(a, "-serial");
	argv_add(a, "file:%s/com2.log", j->dir);
	argv_add(a, "-cdrom");
	argv_add(a, "%s", iso);
	if (j->fw == FW_UEFI) {
		argv_add(a, "-bios");
		argv_add(a, "%s", env_or("VESTA_OVMF", DEFAULT_OVMF));
	}
}

/*
 * In the child: own process group, quiet stdin, output to qemu.log, then
 * exec. Any failure is sent to the parent as an errno over errfd.
 */
static void child_exec(const char *qlog, char *const argv[], int errfd,
		       pid_t parent)
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
static int spawn_qemu(struct job *j, char *const argv[], struct msg *m)
{
	char *qlog = path_join(j->dir, "qemu.log");
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
		msg_add(m, "cannot run %s: %s (set VESTA_QEMU?)", argv[0],
			strerror(e));
		return -1;
	}
	j->pid = pid;
	return 0;
}

static int mkdir_p(const char *path)
{
	char *p = xstrdup(path);
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
	char *path = path_join(dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	free(path);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

/* Everything that must hold before QEMU can start. -1 with *m filled. */
static int check_inputs(const struct job *j, const char *iso, struct msg *m)
{
	const char *ovmf = env_or("VESTA_OVMF", DEFAULT_OVMF);

	if (access(iso, R_OK)) {
		msg_add(m, "image %s: %s (build it first?)", iso,
			strerror(errno));
		return -1;
	}
	if (strchr(iso, ',')) {
		msg_add(m, "image path %s has a comma, which QEMU's -cdrom "
			   "cannot take", iso);
		return -1;
	}
	if (j->fw == FW_UEFI && access(ovmf, R_OK)) {
		msg_add(m, "UEFI firmware %s: %s (install Debian's ovmf "
			   "package, or set VESTA_OVMF)", ovmf, strerror(errno));
		return -1;
	}
	if (mkdir_p(j->dir) || empty_file(j->dir, "com1.log") ||
	    empty_file(j->dir, "com2.log")) {
		msg_add(m, "output folder %s: %s", j->dir, strerror(errno));
		return -1;
	}
	return 0;
}

static void report(struct job *j);

/* Start a job's QEMU; on failure the job is done (and reported) at once. */
static void start_job(struct job *j, const char *isodir)
{
	char *iso_name = xrealloc(NULL, strlen(j->sc->image) + 5);
	char *iso;
	struct argv a = { 0 };
	struct msg m = { .len = 0 };

	sprintf(iso_name, "%s.iso", j->sc->image);
	iso = path_join(isodir, iso_name);
	free(iso_name);
	qemu_argv(j, iso, &a);
	if (check_inputs(j, iso, &m) == 0) {
		if (verbose) {
			printf("start %s [%s]:", j->sc->name, fw_name[j->fw]);
			for (size_t i = 0; i < a.n; i++)
				printf(" %s", a.v[i]);
			printf("\n");
		}
		if (spawn_qemu(j, a.v, &m) == 0) {
			j->ran = true;
			j->start = now_s();
			j->state = JOB_RUNNING;
			j->timeout_at = j->start + (double)j->sc->timeout_s;
		}
	}
	free(iso);
	argv_free(&a);
	if (j->state != JOB_RUNNING) {
		job_fail(j, &m);
		j->state = JOB_DONE;
		report(j);
	}
}

/* ---- judging a finished boot ----------------------------------------- */

/* The first line of qemu.log, which is where QEMU says what went wrong. */
static void msg_add_qemu_log(struct msg *m, const struct job *j)
{
	char *path = path_join(j->dir, "qemu.log");
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

/* How QEMU ended, in words. */
static void msg_add_status(struct msg *m, const struct job *j)
{
	int st = j->status;

	if (WIFSIGNALED(st)) {
		if (j->stopped)
			msg_add(m, "QEMU was stopped by the runner (signal %d)",
				WTERMSIG(st));
		else
			msg_add(m, "QEMU was killed by signal %d", WTERMSIG(st));
		return;
	}
	if (!WIFEXITED(st))
		return;
	msg_add(m, "QEMU exit status %d", WEXITSTATUS(st));
	if (WEXITSTATUS(st) == 1 && j->nlines == 0) {
		/* QEMU's own errors exit 1 as well, before the guest runs. */
		msg_add(m, " and COM2 stayed empty: QEMU itself probably "
			   "failed");
		msg_add_qemu_log(m, j);
	} else if (WEXITSTATUS(st) & 1) {
		msg_add(m, " (the guest wrote %d to isa-debug-exit)",
			WEXITSTATUS(st) >> 1);
	} else if (WEXITSTATUS(st) == 0) {
		msg_add(m, " (no isa-debug-exit: a reset, e.g. a triple fault "
			   "under -no-reboot, or a power-off)");
	}
}

/* Up to 5 different values key took in the log, e.g. " (fw was: uefi)". */
static void msg_add_seen(struct msg *m, const struct job *j, const char *key)
{
	const char *seen[5];
	size_t n = 0;
	bool more = false;

	for (size_t i = 0; i < j->nev; i++) {
		const struct jsonline_pair *p = jsonline_find(&j->ev[i].obj, key);
		size_t k;

		if (!p)
			continue;
		for (k = 0; k < n && strcmp(seen[k], p->value) != 0; k++)
			;
		if (k < n)
			continue;
		if (n == 5) {
			more = true;
			break;
		}
		seen[n++] = p->value;
	}
	if (n == 0) {
		msg_add(m, " (no event has %s)", key);
		return;
	}
	msg_add(m, " (%s was: ", key);
	for (size_t k = 0; k < n; k++) {
		msg_add(m, "%s", k ? ", " : "");
		msg_add_raw(m, seen[k]);
	}
	msg_add(m, "%s)", more ? ", ..." : "");
}

/* The event that came nearest to matching p, if any matched in part. */
static void msg_add_closest(struct msg *m, const struct job *j,
			    const struct pattern *p)
{
	const struct event *best = NULL;
	const struct matcher *best_bad = NULL, *bad;
	size_t best_score = 0;

	if (j->nev == 0) {
		msg_add(m, " (no events were logged)");
		return;
	}
	for (size_t i = 0; i < j->nev; i++) {
		size_t s = pattern_score(p, &j->ev[i].obj, &bad);

		if (s > best_score) {
			best_score = s;
			best = &j->ev[i];
			best_bad = bad;
		}
	}
	if (!best) {
		msg_add_seen(m, j, p->m[0].key);
		return;
	}
	if (!best_bad)
		return;
	msg_add(m, " (closest: com2.log:%d, where %s fails: ", best->line,
		best_bad->text);
	msg_add_raw(m, best->raw);
	msg_add(m, ")");
}

/* Count events matching p; up to 5 of their lines go into *m. */
static size_t count_matches(const struct job *j, const struct pattern *p,
			    struct msg *lines)
{
	size_t k = 0;

	for (size_t i = 0; i < j->nev; i++) {
		if (!pattern_holds(p, &j->ev[i].obj))
			continue;
		if (k < 5)
			msg_add(lines, "%s%d", k ? ", " : "", j->ev[i].line);
		else if (k == 5)
			msg_add(lines, ", ...");
		k++;
	}
	return k;
}

/* Index of the first event matching p, or -1. */
static long first_match(const struct job *j, const struct pattern *p)
{
	for (size_t i = 0; i < j->nev; i++)
		if (pattern_holds(p, &j->ev[i].obj))
			return (long)i;
	return -1;
}

static bool eval_order(const struct job *j, const struct check *k,
		       struct msg *m)
{
	long prev = -1;

	for (size_t g = 0; g < k->npat; g++) {
		long at = first_match(j, &k->pat[g]);

		if (at < 0) {
			msg_add(m, "group %zu (", g + 1);
			msg_add_pattern(m, &k->pat[g]);
			msg_add(m, ") never matched");
			msg_add_closest(m, j, &k->pat[g]);
			return false;
		}
		if (at <= prev) {
			msg_add(m, "group %zu (", g + 1);
			msg_add_pattern(m, &k->pat[g]);
			msg_add(m, ") first matched at com2.log:%d, not after "
				   "group %zu at com2.log:%d",
				j->ev[at].line, g, j->ev[prev].line);
			return false;
		}
		prev = at;
	}
	return true;
}

/* Does check k hold? If not, say what was seen into *m. */
static bool eval_check(const struct job *j, const struct check *k,
		       struct msg *m)
{
	struct msg lines = { .len = 0 };
	size_t n;
	long at;

	switch (k->kind) {
	case CHK_EXPECT:
		if (first_match(j, &k->pat[0]) >= 0)
			return true;
		msg_add(m, "no event matched");
		msg_add_closest(m, j, &k->pat[0]);
		return false;
	case CHK_COUNT:
	case CHK_MIN:
		n = count_matches(j, &k->pat[0], &lines);
		if (k->kind == CHK_COUNT ? n == (size_t)k->n : n >= (size_t)k->n)
			return true;
		msg_add(m, "saw %zu matching event%s", n, n == 1 ? "" : "s");
		if (n)
			msg_add(m, " (com2.log line%s %s)", n == 1 ? "" : "s",
				lines.s);
		else
			msg_add_closest(m, j, &k->pat[0]);
		return false;
	case CHK_NOT:
		at = first_match(j, &k->pat[0]);
		if (at < 0)
			return true;
		n = count_matches(j, &k->pat[0], &lines);
		msg_add(m, "com2.log:%d matched (%zu in all): ", j->ev[at].line,
			n);
		msg_add_raw(m, j->ev[at].raw);
		return false;
	case CHK_ORDER:
		return eval_order(j, k, m);
	case CHK_EXIT_CODE:
		if (WIFEXITED(j->status) && WEXITSTATUS(j->status) == k->n)
			return true;
		msg_add_status(m, j);
		return false;
	default:
		return true;
	}
}

/*
 * Without exit-code, a guest that stopped by itself must have done so
 * through isa-debug-exit with Vesta's success code (0 -> status 1).
 */
static void judge_exit(struct job *j)
{
	struct msg m = { .len = 0 };
	int st = j->status;

	if (j->sc->has_exit_code || j->stopped)
		return;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 1 && j->nlines > 0)
		return;
	msg_add(&m, "the guest did not report success (isa-debug-exit 0, "
		    "QEMU status 1): ");
	msg_add_status(&m, j);
	job_fail(j, &m);
}

/* After QEMU is gone: every remaining verdict, in file order. */
static void judge(struct job *j)
{
	const struct scenario *sc = j->sc;
	struct msg m = { .len = 0 };

	if (sc->has_until && !j->until_met && !j->stopped) {
		msg_add(&m, "line %d: %s: QEMU ended before it matched "
			    "(%ld of %ld): ", sc->until.line, sc->until.text,
			j->until_hits, sc->until.n);
		msg_add_status(&m, j);
		job_fail(j, &m);
	}
	if (j->nbad) {
		m.len = 0;
		msg_add(&m, "com2.log:%d: not a flat JSON object", j->bad_line);
		if (j->nbad > 1)
			msg_add(&m, " (%zu such lines)", j->nbad);
		msg_add(&m, ": ");
		msg_add_raw(&m, j->bad_raw);
		job_fail(j, &m);
	}
	for (size_t i = 0; i < sc->nchecks; i++) {
		const struct check *k = &sc->checks[i];

		m.len = 0;
		if (k->kind == CHK_EXIT_CODE)
			msg_add(&m, "line %d: exit-code %ld: ", k->line, k->n);
		else
			msg_add(&m, "line %d: %s: ", k->line, k->text);
		if (!eval_check(j, k, &m))
			job_fail(j, &m);
	}
	judge_exit(j);
}

/* Print the last TAIL_LINES lines of a log, minus terminal escapes. */
static void print_tail(const char *dir, const char *name)
{
	static char buf[TAIL_BYTES], clean[TAIL_BYTES + 1];
	char *path = path_join(dir, name);
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
	clean_text(buf + start, end - start, clean, true);
	printf("%s\n", clean);
}

static void report(struct job *j)
{
	printf("%s %s [%s] %.1fs", j->nfail ? "FAIL" : "PASS", j->sc->name,
	       fw_name[j->fw], j->elapsed);
	if (!j->nfail) {
		printf("\n");
		return;
	}
	printf(": %s\n", j->fail[0]);
	for (size_t i = 1; i < j->nfail && verbose; i++)
		printf("  also: %s\n", j->fail[i]);
	if (j->nfail > 1 && !verbose)
		printf("  (%zu more failures; -v lists them)\n", j->nfail - 1);
	if (!j->ran)
		return; /* no logs of this run to show */
	printf("  logs: %s/\n", j->dir);
	print_tail(j->dir, "com1.log");
	print_tail(j->dir, "com2.log");
	fflush(stdout);
}

/* QEMU has been reaped: read the rest of the log, judge, report. */
static void finish_job(struct job *j, double now)
{
	j->reaped = true;
	j->elapsed = now - j->start;
	signal_qemu(j, SIGKILL); /* anything the process left behind */
	j->pid = 0;
	j->state = JOB_DONE;
	read_com2(j, !j->stopped);
	judge(j);
	report(j);
}

/* One look at a running job: its log, its process, its clock. */
static void poll_job(struct job *j, double now)
{
	struct msg m = { .len = 0 };
	pid_t r;

	read_com2(j, false);
	r = waitpid(j->pid, &j->status, WNOHANG);
	if (r == j->pid || (r < 0 && errno == ECHILD)) {
		finish_job(j, now);
		return;
	}
	if (j->state == JOB_RUNNING && now >= j->timeout_at) {
		msg_add(&m, "timeout after %lds", j->sc->timeout_s);
		if (j->sc->has_until)
			msg_add(&m, ": line %d: %s: matched %ld of %ld",
				j->sc->until.line, j->sc->until.text,
				j->until_hits, j->sc->until.n);
		else
			msg_add(&m, ": QEMU did not exit by itself");
		job_fail(j, &m);
		j->cut = true;
		stop_job(j);
	} else if (j->state == JOB_STOPPING && now >= j->kill_at) {
		signal_qemu(j, SIGKILL);
	}
}

/* Stop every QEMU still running and reap it, waiting at most the grace. */
static void stop_all_jobs(void)
{
	double kill_at = now_s() + TERM_GRACE_S;
	bool left = true;

	for (size_t i = 0; i < all_njobs; i++)
		signal_qemu(&all_jobs[i], SIGTERM);
	while (left) {
		bool late = now_s() >= kill_at;

		left = false;
		for (size_t i = 0; i < all_njobs; i++) {
			struct job *j = &all_jobs[i];

			if (j->pid <= 0)
				continue;
			if (late)
				signal_qemu(j, SIGKILL);
			if (waitpid(j->pid, &j->status, late ? 0 : WNOHANG) ==
				    0) {
				left = true;
				continue;
			}
			signal_qemu(j, SIGKILL);
			j->pid = 0;
		}
		if (left)
			nap();
	}
}

static void job_free(struct job *j)
{
	for (size_t i = 0; i < j->nev; i++) {
		free(j->ev[i].raw);
		free(j->ev[i].buf);
	}
	for (size_t i = 0; i < j->nfail; i++)
		free(j->fail[i]);
	free(j->ev);
	free(j->fail);
	free(j->part);
	free(j->bad_raw);
	free(j->dir);
	free(j->com2);
}

/*
 * Run all jobs, at most par at a time, until each is done or a signal
 * arrives. Returns the number that failed, or -1 if interrupted.
 */
static int run_jobs(struct job *jobs, size_t njobs, size_t par,
		    const char *isodir)
{
	size_t next = 0, running = 0, done = 0;
	int failed = 0;

	while (done < njobs) {
		double now;

		if (interrupted)
			return -1;
		while (running < par && next < njobs) {
			start_job(&jobs[next], isodir);
			if (jobs[next].state == JOB_DONE)
				done++;
			else
				running++;
			next++;
		}
		nap();
		now = now_s();
		for (size_t i = 0; i < next; i++) {
			struct job *j = &jobs[i];

			if (j->state != JOB_RUNNING && j->state != JOB_STOPPING)
				continue;
			poll_job(j, now);
			if (j->state == JOB_DONE) {
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
		DEFAULT_ISODIR, DEFAULT_OUTDIR, DEFAULT_QEMU, DEFAULT_ACCEL,
		DEFAULT_OVMF);
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
		} else if (strcmp(argv[i], "-h") == 0 ||
			   strcmp(argv[i], "--help") == 0) {
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
				fprintf(stderr, "runner: -j wants 1..%d\n",
					MAX_JOBS_PAR);
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
static size_t load_all(const struct options *o, struct scenario **sc,
		       int *failed)
{
	size_t n = 0;

	for (size_t i = 0; i < o->nfiles; i++) {
		struct scenario *s = scenario_load(o->files[i]);

		for (size_t k = 0; s && k < n; k++) {
			if (strcmp(sc[k]->name, s->name) != 0)
				continue;
			printf("%s: same name as %s; logs would collide\n",
			       s->path, sc[k]->path);
			scenario_free(s);
			s = NULL;
		}
		if (!s) {
			char *name = scenario_name(o->files[i]);

			printf("FAIL %s: bad scenario\n", name);
			free(name);
			++*failed;
			continue;
		}
		sc[n++] = s;
	}
	return n;
}

int main(int argc, char **argv)
{
	struct options o = { DEFAULT_ISODIR, DEFAULT_OUTDIR, 1, NULL, 0 };
	struct scenario **sc;
	size_t nsc, njobs = 0;
	int failed = 0, r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	parse_options(argc, argv, &o);
	catch_signals();
	sc = xrealloc(NULL, o.nfiles * sizeof(*sc));
	nsc = load_all(&o, sc, &failed);

	for (size_t i = 0; i < nsc; i++)
		njobs += sc[i]->nfw;
	all_jobs = xrealloc(NULL, njobs * sizeof(*all_jobs));
	memset(all_jobs, 0, njobs * sizeof(*all_jobs));
	for (size_t i = 0; i < nsc; i++) {
		for (size_t f = 0; f < sc[i]->nfw; f++) {
			struct job *j = &all_jobs[all_njobs++];
			char name[512];

			snprintf(name, sizeof(name), "%s-%s", sc[i]->name,
				 fw_name[sc[i]->fw[f]]);
			j->sc = sc[i];
			j->fw = sc[i]->fw[f];
			j->dir = path_join(o.outdir, name);
			j->com2 = path_join(j->dir, "com2.log");
		}
	}

	r = run_jobs(all_jobs, all_njobs, o.par, o.isodir);
	if (r < 0) {
		stop_all_jobs();
		printf("interrupted: every QEMU was stopped\n");
		return 130;
	}
	failed += r;
	printf("%zu passed, %d failed\n", all_njobs - (size_t)r, failed);

	for (size_t i = 0; i < all_njobs; i++)
		job_free(&all_jobs[i]);
	free(all_jobs);
	for (size_t i = 0; i < nsc; i++)
		scenario_free(sc[i]);
	free(sc);
	return failed ? 1 : 0;
}
