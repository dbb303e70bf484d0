/*
 * Scenario files: parsing a .scn file into a struct scn (directives,
 * matchers), and judging the guest's events against it. The language is
 * described in tests/boot/README.md; the contracts are in scenario.h.
 *
 * A matcher is KEY OP VALUE; integers on both sides compare as 64-bit
 * numbers, so kernel addresses compare correctly whatever their spelling.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonline.h"
#include "scenario.h"
#include "util.h"

#define DEFAULT_TIMEOUT_S 60
#define DEFAULT_MEMORY_MIB 128

const char *const scn_fw_name[SCN_NFW] = { "bios", "uefi" };
const char *const scn_machine_name[SCN_NMACHINE] = { "pc", "q35" };

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
	char *text; /* as written, for messages */
	char *key;
	enum op op;
	char *value;
	bool is_num; /* value parsed as an integer into num */
	struct num num;
};

/* All matchers must hold: one `MATCH...` list. */
struct scn_pattern {
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
		bool eq = num ? num_cmp(v, m->num) == 0 : strcmp(p->value, m->value) == 0;

		return eq == (m->op == OP_EQ);
	}
	if (!num)
		return false;
	c = num_cmp(v, m->num);
	switch (m->op) {
	case OP_GE:
		return c >= 0;
	case OP_LE:
		return c <= 0;
	case OP_GT:
		return c > 0;
	case OP_LT:
		return c < 0;
	default:
		return false;
	}
}

/* How many of p's matchers hold; *first_bad gets the first that fails. */
static size_t pattern_score(const struct scn_pattern *p, const struct jsonline *ev,
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

static bool pattern_holds(const struct scn_pattern *p, const struct jsonline *ev)
{
	const struct matcher *bad;

	return pattern_score(p, ev, &bad) == p->n;
}

static void msg_add_pattern(struct msg *m, const struct scn_pattern *p)
{
	for (size_t i = 0; i < p->n; i++)
		msg_add(m, "%s%s", i ? " " : "", p->m[i].text);
}

/* ---- parsing ---------------------------------------------------------- */

/* A word of a directive line; `;` outside quotes is a word of its own. */
struct token {
	char *s;
	bool sep;	 /* an unquoted `;` */
	size_t from, to; /* where the word is in the line, quotes and all */
};

struct line_tokens {
	struct token *t;
	size_t n, cap;
	size_t text_end; /* where the directive's text ends (comment cut) */
};

static void tokens_push(struct line_tokens *tk, char *s, bool sep, size_t from, size_t to)
{
	tk->t = util_grow(tk->t, tk->n, &tk->cap, sizeof(*tk->t));
	tk->t[tk->n].s = s;
	tk->t[tk->n].sep = sep;
	tk->t[tk->n].from = from;
	tk->t[tk->n].to = to;
	tk->n++;
}

static void tokens_free(struct line_tokens *tk)
{
	for (size_t i = 0; i < tk->n; i++)
		free(tk->t[i].s);
	free(tk->t);
}

/*
 * Copy one word starting at *pp into a new string, removing double quotes
 * (inside them, blanks, `;` and `#` are plain text and \" \\ escape).
 * Returns NULL on an unterminated quote.
 */
static char *scan_word(const char **pp, size_t linelen)
{
	const char *p = *pp;
	char *w = util_realloc(NULL, linelen + 1), *o = w;

	while (*p && !util_is_blank(*p) && *p != ';') {
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
		size_t from;

		while (util_is_blank(*p))
			p++;
		if (!*p || *p == '#')
			return 0;
		from = (size_t)(p - line);
		if (*p == ';') {
			p++;
			tokens_push(tk, util_strdup(";"), true, from, from + 1);
		} else {
			char *w = scan_word(&p, len);

			if (!w)
				return -1;
			tokens_push(tk, w, false, from, (size_t)(p - line));
		}
		tk->text_end = (size_t)(p - line);
	}
}

/* Parser state for one scenario file. */
struct parse_ctx {
	struct scn *sc;
	const char *path;
	const char *text; /* the current line, comment cut */
	int line;
	int nerr;
	int seen[24]; /* line of each once-only directive, by table index */
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
static int parse_long(struct parse_ctx *c, const struct token *t, const char *what, long min,
		      long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = t->sep ? 0 : strtol(t->s, &end, 10);
	if (t->sep || !*t->s || *end || errno || v < min || v > max ||
	    !(t->s[0] >= '0' && t->s[0] <= '9')) {
		perr(c, "%s must be a whole number from %ld to %ld, not `%s`", what, min, max,
		     t->s);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_matcher(struct parse_ctx *c, const char *s, struct matcher *m)
{
	size_t k = strcspn(s, "=!<>~");
	const char *o = s + k;
	size_t oplen = 1;

	if (k == 0 || !*o || (*o == '!' && o[1] != '=')) {
		perr(c,
		     "`%s` is not KEY OP VALUE (no blanks; OP is one of "
		     "= != >= <= > < ~), e.g. ev=exit",
		     s);
		return -1;
	}
	if (*o == '!' || ((*o == '>' || *o == '<') && o[1] == '='))
		oplen = 2;
	if (*o == '=' && o[1] == '=') {
		perr(c, "`%s`: write a single `=`", s);
		return -1;
	}
	m->op = *o == '='   ? OP_EQ
		: *o == '!' ? OP_NE
		: *o == '~' ? OP_SUB
		: *o == '>' ? (oplen == 2 ? OP_GE : OP_GT)
			    : (oplen == 2 ? OP_LE : OP_LT);
	m->is_num = parse_num(o + oplen, &m->num);
	if (m->op != OP_EQ && m->op != OP_NE && m->op != OP_SUB && !m->is_num) {
		perr(c, "`%s`: %.*s needs an integer on the right", s, (int)oplen, o);
		return -1;
	}
	m->text = util_strdup(s);
	m->key = util_strdup(s);
	m->key[k] = '\0';
	m->value = util_strdup(o + oplen);
	return 0;
}

static void pattern_free(struct scn_pattern *p)
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
			 struct scn_pattern *p)
{
	p->m = util_realloc(NULL, (n ? n : 1) * sizeof(*p->m));
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

static void check_free(struct scn_check *k)
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
static int parse_check(struct parse_ctx *c, const struct token *t, size_t n, struct scn_check *k)
{
	size_t from = 0;
	int err = 0;

	if (k->kind == SCN_COUNT || k->kind == SCN_MIN ||
	    (k->kind == SCN_UNTIL && n > 0 && t[0].s[0] >= '0' && t[0].s[0] <= '9')) {
		if (n == 0) {
			perr(c, "expected a count, then KEY OP VALUE...");
			return -1;
		}
		if (parse_long(c, &t[0], "the count", k->kind == SCN_UNTIL ? 1 : 0, 1000000, &k->n))
			return -1;
		from = 1;
	}
	if (k->kind != SCN_ORDER) {
		k->pat = util_realloc(NULL, sizeof(*k->pat));
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
		k->pat = util_realloc(k->pat, (k->npat + 1) * sizeof(*k->pat));
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
	c->sc->image = util_strdup(t[0].s);
	return 0;
}

/* QEMU's -cpu model: a word of letters, digits, '-', '_' and '.'. */
static int d_cpu(struct parse_ctx *c, const struct token *t, size_t n)
{
	if (n != 1 || t[0].sep || !*t[0].s ||
	    strspn(t[0].s, "abcdefghijklmnopqrstuvwxyz"
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			   "0123456789-_.") != strlen(t[0].s)) {
		perr(c, "usage: cpu MODEL (a QEMU -cpu model, e.g. max)");
		return -1;
	}
	c->sc->cpu = util_strdup(t[0].s);
	return 0;
}

/*
 * One or both of a directive's two NAMES, each at most once, into OUT[]
 * as indexes into NAMES; firmware and machine share it.
 */
_Static_assert(SCN_NFW == 2 && SCN_NMACHINE == 2, "parse_pick picks from two names");

static int parse_pick(struct parse_ctx *c, const struct token *t, size_t n, const char *what,
		      const char *const names[2], int out[2], size_t *nout)
{
	if (n == 0 || n > 2) {
		perr(c, "usage: %s %s|%s [%s|%s]", what, names[0], names[1], names[0], names[1]);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		int k = strcmp(t[i].s, names[1]) == 0;

		if (t[i].sep || (!k && strcmp(t[i].s, names[0]) != 0)) {
			perr(c, "unknown %s `%s` (%s or %s)", what, t[i].s, names[0], names[1]);
			return -1;
		}
		if (i == 1 && out[0] == k) {
			perr(c, "%s `%s` listed twice", what, t[i].s);
			return -1;
		}
		out[i] = k;
	}
	*nout = n;
	return 0;
}

static int d_firmware(struct parse_ctx *c, const struct token *t, size_t n)
{
	struct scn *sc = c->sc;
	int k[2];

	if (parse_pick(c, t, n, "firmware", scn_fw_name, k, &sc->nfw))
		return -1;
	for (size_t i = 0; i < sc->nfw; i++)
		sc->fw[i] = (enum scn_firmware)k[i];
	return 0;
}

static int d_machine(struct parse_ctx *c, const struct token *t, size_t n)
{
	struct scn *sc = c->sc;
	int k[2];

	if (parse_pick(c, t, n, "machine", scn_machine_name, k, &sc->nmachine))
		return -1;
	for (size_t i = 0; i < sc->nmachine; i++)
		sc->machine[i] = (enum scn_machine)k[i];
	return 0;
}

/* Words for QEMU's command line, e.g. `qemu-args -device e1000`. */
static int d_qemu_args(struct parse_ctx *c, const struct token *t, size_t n)
{
	struct scn *sc = c->sc;

	if (n == 0) {
		perr(c, "usage: qemu-args WORD...");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (t[i].sep || !*t[i].s) {
			perr(c, "qemu-args takes words, not `;` or empty strings");
			return -1;
		}
	}
	sc->qemu_args = util_realloc(sc->qemu_args, (sc->nqemu_args + n) * sizeof(char *));
	for (size_t i = 0; i < n; i++)
		sc->qemu_args[sc->nqemu_args++] = util_strdup(t[i].s);
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

/* `disk KiB`: a fresh zero-filled {dir}/disk.img for QEMU's -drive. */
static int d_disk(struct parse_ctx *c, const struct token *t, size_t n)
{
	if (n != 1) {
		perr(c, "usage: disk KiB");
		return -1;
	}
	return parse_long(c, &t[0], "disk", 1, 16777216, &c->sc->disk_kib);
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
	struct scn *sc = c->sc;
	struct scn_check k = { .kind = SCN_EXIT_CODE, .line = c->line };

	if (n != 1) {
		perr(c, "usage: exit-code N");
		return -1;
	}
	if (parse_long(c, &t[0], "exit-code", 0, 255, &k.n))
		return -1;
	sc->has_exit_code = true;
	sc->checks = util_realloc(sc->checks, (sc->nchecks + 1) * sizeof(k));
	sc->checks[sc->nchecks++] = k;
	return 0;
}

#define SEND_USAGE "usage: send [N] MATCH... : \"TEXT\" [every MS]"

/* Is t the word `:`, unquoted? It separates a send's matchers from TEXT. */
static bool is_colon(const struct parse_ctx *c, const struct token *t)
{
	return !t->sep && t->to == t->from + 1 && c->text[t->from] == ':';
}

/*
 * Decode a send's TEXT from its place in the line: one double-quoted
 * string with the escapes \r \n \t \\ \" \xHH. Fills s->bytes and s->len;
 * reports and returns -1 if t is anything else or TEXT is empty.
 */
static int parse_send_text(struct parse_ctx *c, const struct token *t, struct scn_send *s)
{
	const char *p = c->text + t->from, *end = c->text + t->to;
	char *o;

	if (t->sep || end - p < 2 || *p != '"' || end[-1] != '"') {
		perr(c, "TEXT must be one double-quoted string, not `%s`", t->s);
		return -1;
	}
	s->bytes = o = util_realloc(NULL, (size_t)(end - p));
	for (p++, end--; p < end; p++) {
		int hi, lo;

		if (*p == '"') {
			perr(c, "TEXT must be one double-quoted string (write \\\" for a quote "
				"inside)");
			return -1;
		}
		if (*p != '\\') {
			*o++ = *p;
			continue;
		}
		switch (*++p) {
		case 'r':
			*o++ = '\r';
			break;
		case 'n':
			*o++ = '\n';
			break;
		case 't':
			*o++ = '\t';
			break;
		case '\\':
		case '"':
			*o++ = *p;
			break;
		case 'x':
			hi = p + 1 < end ? digit_value(p[1], 16) : -1;
			lo = p + 2 < end ? digit_value(p[2], 16) : -1;
			if (hi < 0 || lo < 0) {
				perr(c, "\\x in TEXT wants two hex digits");
				return -1;
			}
			*o++ = (char)(hi << 4 | lo);
			p += 2;
			break;
		default:
			perr(c, "unknown escape `\\%c` in TEXT (\\r \\n \\t \\\\ \\\" \\xHH)", *p);
			return -1;
		}
	}
	s->len = (size_t)(o - s->bytes);
	if (s->len == 0) {
		perr(c, "TEXT is empty");
		return -1;
	}
	return 0;
}

static void send_free(struct scn_send *s)
{
	if (s->pat)
		pattern_free(s->pat);
	free(s->pat);
	free(s->bytes);
	free(s->text);
}

/* send [N] MATCH... : "TEXT" [every MS] */
static int parse_send(struct parse_ctx *c, const struct token *t, size_t n, struct scn_send *s)
{
	size_t from = 0, colon, rest;

	if (n > 0 && !t[0].sep && t[0].s[0] >= '0' && t[0].s[0] <= '9') {
		if (parse_long(c, &t[0], "the count", 1, 1000000, &s->n))
			return -1;
		from = 1;
	}
	for (colon = from; colon < n && !is_colon(c, &t[colon]); colon++)
		;
	rest = colon < n ? n - colon - 1 : 0;
	if (colon == n || (rest != 1 && rest != 3)) {
		perr(c, SEND_USAGE);
		return -1;
	}
	s->pat = util_realloc(NULL, sizeof(*s->pat));
	if (parse_pattern(c, t + from, colon - from, s->pat) ||
	    parse_send_text(c, &t[colon + 1], s))
		return -1;
	if (rest == 1)
		return 0;
	if (t[colon + 2].sep || strcmp(t[colon + 2].s, "every") != 0) {
		perr(c, "after TEXT, only `every MS` (%s)", SEND_USAGE);
		return -1;
	}
	return parse_long(c, &t[colon + 3], "every", 0, 60000, &s->every_ms);
}

static int d_send(struct parse_ctx *c, const struct token *t, size_t n)
{
	struct scn *sc = c->sc;
	struct scn_send s = { .line = c->line, .n = 1 };

	if (parse_send(c, t, n, &s)) {
		send_free(&s);
		return -1;
	}
	s.text = util_strdup(c->text + strspn(c->text, " \t"));
	sc->sends = util_realloc(sc->sends, (sc->nsends + 1) * sizeof(s));
	sc->sends[sc->nsends++] = s;
	return 0;
}

/* host [N] MATCH... : "COMMAND": as send, but the text is a command. */
static int d_host(struct parse_ctx *c, const struct token *t, size_t n)
{
	struct scn *sc = c->sc;
	struct scn_send s = { .line = c->line, .n = 1 };

	if (parse_send(c, t, n, &s) || s.every_ms || memchr(s.bytes, 0, s.len)) {
		if (s.every_ms || (s.bytes && memchr(s.bytes, 0, s.len)))
			perr(c, "usage: host [N] MATCH... : \"COMMAND\" (no NUL in it)");
		send_free(&s);
		return -1;
	}
	/* A command is a C string; TEXT's bytes are not NUL-terminated. */
	s.bytes = util_realloc(s.bytes, s.len + 1);
	s.bytes[s.len] = 0;
	s.text = util_strdup(c->text + strspn(c->text, " \t"));
	sc->host = s;
	sc->has_host = true;
	return 0;
}

/* One entry per directive; `once` ones may appear only once per file. */
static const struct directive {
	const char *name;
	enum scn_check_kind kind; /* for checking directives */
	int (*parse)(struct parse_ctx *, const struct token *, size_t);
	bool once;
} directives[] = {
	{ "image", 0, d_image, true },
	{ "firmware", 0, d_firmware, true },
	{ "cpu", 0, d_cpu, true },
	{ "machine", 0, d_machine, true },
	{ "qemu-args", 0, d_qemu_args, false },
	{ "timeout", 0, d_timeout, true },
	{ "memory", 0, d_memory, true },
	{ "disk", 0, d_disk, true },
	{ "allow-panic", 0, d_allow_panic, true },
	{ "exit-code", 0, d_exit_code, true },
	{ "send", 0, d_send, false },
	{ "host", 0, d_host, true },
	{ "until", SCN_UNTIL, NULL, true },
	{ "expect", SCN_EXPECT, NULL, false },
	{ "expect-count", SCN_COUNT, NULL, false },
	{ "expect-min", SCN_MIN, NULL, false },
	{ "expect-not", SCN_NOT, NULL, false },
	{ "expect-order", SCN_ORDER, NULL, false },
};
#define NDIRECTIVES (sizeof(directives) / sizeof(directives[0]))
_Static_assert(NDIRECTIVES <= sizeof(((struct parse_ctx *)0)->seen) / sizeof(int),
	       "parse_ctx.seen has a slot per directive");

/* A checking directive: parse it and file it as `until` or a check. */
static void add_check(struct parse_ctx *c, const struct directive *d, const struct line_tokens *tk,
		      const char *text)
{
	struct scn *sc = c->sc;
	struct scn_check k = { .kind = d->kind, .line = c->line, .n = 1 };

	if (parse_check(c, tk->t + 1, tk->n - 1, &k)) {
		check_free(&k);
		return;
	}
	k.text = util_strdup(text);
	if (k.kind == SCN_UNTIL) {
		sc->until = k;
		sc->has_until = true;
		return;
	}
	sc->checks = util_realloc(sc->checks, (sc->nchecks + 1) * sizeof(k));
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
	c->text = line;
	for (i = 0; i < NDIRECTIVES && !d; i++)
		if (!tk.t[0].sep && strcmp(tk.t[0].s, directives[i].name) == 0)
			d = &directives[i];
	if (!d) {
		perr(c, "unknown directive `%s`", tk.t[0].s);
		goto out;
	}
	i = (size_t)(d - directives);
	if (d->once && c->seen[i]) {
		perr(c, "second `%s` (the first is on line %d)", d->name, c->seen[i]);
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

void scn_free(struct scn *sc)
{
	if (!sc)
		return;
	for (size_t i = 0; i < sc->nchecks; i++)
		check_free(&sc->checks[i]);
	free(sc->checks);
	for (size_t i = 0; i < sc->nsends; i++)
		send_free(&sc->sends[i]);
	free(sc->sends);
	if (sc->has_until)
		check_free(&sc->until);
	free(sc->path);
	free(sc->name);
	free(sc->image);
	free(sc->cpu);
	for (size_t i = 0; i < sc->nqemu_args; i++)
		free(sc->qemu_args[i]);
	free(sc->qemu_args);
	if (sc->has_host)
		send_free(&sc->host);
	free(sc);
}

/* The scenario's name: its file name without directories and ".scn". */
char *scn_name(const char *path)
{
	const char *base = strrchr(path, '/');
	char *name = util_strdup(base ? base + 1 : path);
	size_t n = strlen(name);

	if (n > 4 && strcmp(name + n - 4, ".scn") == 0)
		name[n - 4] = '\0';
	return name;
}

/*
 * Read and check a scenario file. Every error is printed as file:line:
 * message; the result is NULL if there was any.
 */
struct scn *scn_load(const char *path)
{
	struct scn *sc = util_realloc(NULL, sizeof(*sc));
	struct parse_ctx c = { .sc = sc, .path = path };
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;

	memset(sc, 0, sizeof(*sc));
	sc->path = util_strdup(path);
	sc->name = scn_name(path);
	sc->timeout_s = DEFAULT_TIMEOUT_S;
	sc->memory_mib = DEFAULT_MEMORY_MIB;
	if (!f) {
		printf("%s: cannot read: %s\n", path, strerror(errno));
		scn_free(sc);
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
	if (sc->nmachine == 0) {
		sc->machine[0] = SCN_PC;
		sc->nmachine = 1;
	}
	if (sc->nfw == 0) {
		sc->fw[0] = SCN_BIOS;
		sc->nfw = 1;
	}
	if (c.nerr) {
		scn_free(sc);
		return NULL;
	}
	return sc;
}

/* ---- judging events ---------------------------------------------------- */

/* Up to 5 different values key took in the log, e.g. " (fw was: uefi)". */
static void msg_add_seen(struct msg *m, const struct scn_event *ev, size_t nev, const char *key)
{
	const char *seen[5];
	size_t n = 0;
	bool more = false;

	for (size_t i = 0; i < nev; i++) {
		const struct jsonline_pair *p = jsonline_find(&ev[i].obj, key);
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
static void msg_add_closest(struct msg *m, const struct scn_event *ev, size_t nev,
			    const struct scn_pattern *p)
{
	const struct scn_event *best = NULL;
	const struct matcher *best_bad = NULL, *bad;
	size_t best_score = 0;

	if (nev == 0) {
		msg_add(m, " (no events were logged)");
		return;
	}
	for (size_t i = 0; i < nev; i++) {
		size_t s = pattern_score(p, &ev[i].obj, &bad);

		if (s > best_score) {
			best_score = s;
			best = &ev[i];
			best_bad = bad;
		}
	}
	if (!best) {
		msg_add_seen(m, ev, nev, p->m[0].key);
		return;
	}
	if (!best_bad)
		return;
	msg_add(m, " (closest: com2.log:%d, where %s fails: ", best->line, best_bad->text);
	msg_add_raw(m, best->raw);
	msg_add(m, ")");
}

/* Count events matching p; up to 5 of their lines go into *m. */
static size_t count_matches(const struct scn_event *ev, size_t nev, const struct scn_pattern *p,
			    struct msg *lines)
{
	size_t k = 0;

	for (size_t i = 0; i < nev; i++) {
		if (!pattern_holds(p, &ev[i].obj))
			continue;
		if (k < 5)
			msg_add(lines, "%s%d", k ? ", " : "", ev[i].line);
		else if (k == 5)
			msg_add(lines, ", ...");
		k++;
	}
	return k;
}

/* Index of the first event matching p, or -1. */
static long first_match(const struct scn_event *ev, size_t nev, const struct scn_pattern *p)
{
	for (size_t i = 0; i < nev; i++)
		if (pattern_holds(p, &ev[i].obj))
			return (long)i;
	return -1;
}

static bool eval_order(const struct scn_event *ev, size_t nev, const struct scn_check *k,
		       struct msg *m)
{
	long prev = -1;

	for (size_t g = 0; g < k->npat; g++) {
		long at = first_match(ev, nev, &k->pat[g]);

		if (at < 0) {
			msg_add(m, "group %zu (", g + 1);
			msg_add_pattern(m, &k->pat[g]);
			msg_add(m, ") never matched");
			msg_add_closest(m, ev, nev, &k->pat[g]);
			return false;
		}
		if (at <= prev) {
			msg_add(m, "group %zu (", g + 1);
			msg_add_pattern(m, &k->pat[g]);
			msg_add(m,
				") first matched at com2.log:%d, not after "
				"group %zu at com2.log:%d",
				ev[at].line, g, ev[prev].line);
			return false;
		}
		prev = at;
	}
	return true;
}

bool scn_eval_check(const struct scn_check *k, const struct scn_event *ev, size_t nev,
		    struct msg *m)
{
	struct msg lines = { .len = 0 };
	size_t n;
	long at;

	switch (k->kind) {
	case SCN_EXPECT:
		if (first_match(ev, nev, &k->pat[0]) >= 0)
			return true;
		msg_add(m, "no event matched");
		msg_add_closest(m, ev, nev, &k->pat[0]);
		return false;
	case SCN_COUNT:
	case SCN_MIN:
		n = count_matches(ev, nev, &k->pat[0], &lines);
		if (k->kind == SCN_COUNT ? n == (size_t)k->n : n >= (size_t)k->n)
			return true;
		msg_add(m, "saw %zu matching event%s", n, n == 1 ? "" : "s");
		if (n)
			msg_add(m, " (com2.log line%s %s)", n == 1 ? "" : "s", lines.s);
		else
			msg_add_closest(m, ev, nev, &k->pat[0]);
		return false;
	case SCN_NOT:
		at = first_match(ev, nev, &k->pat[0]);
		if (at < 0)
			return true;
		n = count_matches(ev, nev, &k->pat[0], &lines);
		msg_add(m, "com2.log:%d matched (%zu in all): ", ev[at].line, n);
		msg_add_raw(m, ev[at].raw);
		return false;
	case SCN_ORDER:
		return eval_order(ev, nev, k, m);
	default:
		return true;
	}
}

bool scn_send_fires(const struct scn_send *s, const struct scn_event *e, long *hits)
{
	if (*hits >= s->n || !pattern_holds(s->pat, &e->obj))
		return false;
	return ++*hits == s->n;
}

/*
 * A panic stops the guest and fails (unless allowed); the Nth match of
 * `until` stops it.
 */
enum scn_verdict scn_watch(const struct scn *sc, const struct scn_event *e, long *until_hits)
{
	const struct jsonline_pair *ev = jsonline_find(&e->obj, "ev");

	if (!sc->allow_panic && ev && strcmp(ev->value, "panic") == 0)
		return SCN_PANIC;
	if (sc->has_until && pattern_holds(&sc->until.pat[0], &e->obj) &&
	    ++*until_hits >= sc->until.n)
		return SCN_UNTIL_MET;
	return SCN_GO_ON;
}
