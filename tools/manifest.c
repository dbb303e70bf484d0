/*
 * Manifest parser for tools/mkbundle (language in manifest.h and
 * tools/BUNDLE.md).
 *
 * The text is read a line at a time and each line split into words at
 * spaces and tabs; a '#' where a word would start ends the line. Every
 * mistake stops the parse with one message pointing at the word (or the part
 * of a word) that is wrong and saying what was expected there. What one
 * proc may hold alone (a served channel, an IRQ line, an I/O port) is checked
 * against the procs before it as its line is read; opened channels are
 * checked after the last line, as the proc serving one may come later.
 */
#include "manifest.h"
#include "num.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* A found word is quoted in messages up to this many bytes. */
#define QUOTE_MAX 40

#define NAME_RULE "a name of 1-31 characters from [A-Za-z0-9_.-]"
#define RANGE_RULE "a port range N or N-M with N <= M <= 0xffff"
#define IRQ_RULE "an IRQ line 1-15 other than 2"
#define KEYS_RULE                                                                                  \
	"'prio', 'ports', 'irq', 'grant', 'serve', 'open', 'queue', 'qbytes' or "                  \
	"'redeliveries'"

/* A word of the line being parsed; s is not NUL-terminated. */
struct token {
	const char *s;
	size_t n;
	unsigned col;
};

struct parser {
	const char *file;
	const char *text;
	size_t len;
	size_t line_start; /* offset of the current line */
	size_t line_end;   /* offset of its '\n', or len */
	size_t pos;	   /* next byte to tokenize */
	unsigned line;
	struct manifest *m;
	char *err;
	size_t err_cap;
};

/* Writes "file:line:col: expected <expected>, found <found...>". */
static int error(struct parser *p, unsigned col, const char *expected, const char *found, ...)
{
	char what[3 * QUOTE_MAX]; /* a quoted word and a name or two */
	va_list ap;

	va_start(ap, found);
	vsnprintf(what, sizeof(what), found, ap);
	va_end(ap);
	snprintf(p->err, p->err_cap, "%s:%u:%u: expected %s, found %s", p->file, p->line, col,
		 expected, what);
	return -VE_INVAL;
}

/* Reports a word: quoted (cut at QUOTE_MAX bytes), or "nothing" if empty. */
static int error_tok(struct parser *p, const struct token *t, const char *expected)
{
	if (t->n == 0)
		return error(p, t->col, expected, "nothing");
	if (t->n > QUOTE_MAX)
		return error(p, t->col, expected, "'%.*s...'", QUOTE_MAX, t->s);
	return error(p, t->col, expected, "'%.*s'", (int)t->n, t->s);
}

/* Reports the end of the line where a word was expected. */
static int error_eol(struct parser *p, const char *expected)
{
	return error(p, (unsigned)(p->line_end - p->line_start) + 1, expected, "end of line");
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Fetches the next word of the line into *t; false at the end or a '#'. */
static bool next_token(struct parser *p, struct token *t)
{
	while (p->pos < p->line_end && is_space(p->text[p->pos]))
		p->pos++;
	if (p->pos == p->line_end || p->text[p->pos] == '#')
		return false;
	t->s = p->text + p->pos;
	t->col = (unsigned)(p->pos - p->line_start) + 1;
	while (p->pos < p->line_end && !is_space(p->text[p->pos]))
		p->pos++;
	t->n = (size_t)(p->text + p->pos - t->s);
	return true;
}

static bool tok_is(const struct token *t, const char *word)
{
	return t->n == strlen(word) && memcmp(t->s, word, t->n) == 0;
}

/* The part of t from byte from to byte to, as a token of its own. */
static struct token sub_token(const struct token *t, size_t from, size_t to)
{
	struct token s = { t->s + from, to - from, t->col + (unsigned)from };

	return s;
}

/* Rejects control bytes anywhere on the current line (tabs are fine). */
static int check_line_bytes(struct parser *p)
{
	for (size_t i = p->line_start; i < p->line_end; i++) {
		unsigned char c = (unsigned char)p->text[i];

		if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f)
			return error(p, (unsigned)(i - p->line_start) + 1, "text", "byte 0x%02x",
				     c);
	}
	return 0;
}

static bool name_ok(const struct token *t)
{
	if (t->n == 0 || t->n >= BUNDLE_NAME_MAX)
		return false;
	for (size_t i = 0; i < t->n; i++) {
		char c = t->s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

static bool name_is(const char *field, const struct token *t)
{
	return strlen(field) == t->n && memcmp(field, t->s, t->n) == 0;
}

/* Reads the next word as a name into dst; what says what kind of name. */
static int take_name(struct parser *p, const char *what, char *dst, struct token *t)
{
	if (!next_token(p, t))
		return error_eol(p, what);
	if (!name_ok(t))
		return error_tok(p, t, NAME_RULE);
	memcpy(dst, t->s, t->n);
	dst[t->n] = '\0';
	return 0;
}

static int expect_eol(struct parser *p)
{
	struct token t;

	if (next_token(p, &t))
		return error_tok(p, &t, "end of line");
	return 0;
}

/* image NAME PATH */
static int parse_image(struct parser *p, const struct token *kw)
{
	struct manifest *m = p->m;
	struct manifest_image im = { 0 };
	struct token name, path;
	int err;

	if (m->nimages == BUNDLE_MAX_IMAGES)
		return error(p, kw->col, "at most 64 images", "image %zu", m->nimages + 1);
	if ((err = take_name(p, "an image name", im.name, &name)) < 0)
		return err;
	for (size_t i = 0; i < m->nimages; i++)
		if (name_is(m->images[i].name, &name))
			return error_tok(p, &name, "a unique image name");
	if (!next_token(p, &path))
		return error_eol(p, "a path");
	if (path.n >= MANIFEST_PATH_MAX)
		return error_tok(p, &path, "a path of at most 1023 bytes");
	memcpy(im.path, path.s, path.n);
	im.line = p->line;
	im.col = path.col;
	if ((err = expect_eol(p)) < 0)
		return err;
	m->images[m->nimages++] = im;
	return 0;
}

/*
 * Parses a port number, decimal or 0x hex, at most 0xffff. Returns false if
 * t is not one.
 */
static bool parse_port(const struct token *t, uint16_t *out)
{
	uint64_t v;
	if (!num_parse(t->s, t->n, true, 0xffff, &v))
		return false;
	*out = (uint16_t)v;
	return true;
}

/* One RANGE of ports=: N or N-M. */
static int parse_range(struct parser *p, const struct token *t, struct bundle_ports *r)
{
	const char *dash = memchr(t->s, '-', t->n);
	size_t cut = dash ? (size_t)(dash - t->s) : t->n;
	struct token lo = sub_token(t, 0, cut);
	struct token hi = dash ? sub_token(t, cut + 1, t->n) : lo;

	if (!parse_port(&lo, &r->first) || !parse_port(&hi, &r->last) || r->first > r->last)
		return error_tok(p, t, RANGE_RULE);
	return 0;
}

/*
 * Splits the value v of a key at commas and calls item() on each part (an
 * empty part included, so "a,,b" is an error the item reports).
 */
static int for_each_item(struct parser *p, const struct token *v, struct bundle_proc *pr,
			 int (*item)(struct parser *, const struct token *, struct bundle_proc *))
{
	struct token part;
	size_t from = 0;
	int err;

	for (size_t i = 0; i <= v->n; i++) {
		if (i < v->n && v->s[i] != ',')
			continue;
		part = sub_token(v, from, i);
		if ((err = item(p, &part, pr)) < 0)
			return err;
		from = i + 1;
	}
	return 0;
}

/* Used slots of a serve[] or open[] list; they come first. */
static unsigned chans_used(const char (*list)[BUNDLE_NAME_MAX])
{
	unsigned n = 0;

	while (n < VE_SPAWN_CHANS && list[n][0])
		n++;
	return n;
}

/* True if one of the first n entries of list is t. */
static bool chans_have(const char (*list)[BUNDLE_NAME_MAX], unsigned n, const struct token *t)
{
	for (unsigned k = 0; k < n; k++)
		if (name_is(list[k], t))
			return true;
	return false;
}

/*
 * Checks that t is a channel name that fits as entry n of list (serve[] or
 * open[]) and is not one of its first n.
 */
static int chan_item_ok(struct parser *p, const struct token *t,
			const char (*list)[BUNDLE_NAME_MAX], unsigned n)
{
	if (n == VE_SPAWN_CHANS)
		return error(p, t->col, "at most 4 channels", "channel %u", n + 1);
	if (!name_ok(t))
		return error_tok(p, t, NAME_RULE);
	if (chans_have(list, n, t))
		return error_tok(p, t, "a channel not already listed");
	return 0;
}

static int serve_item(struct parser *p, const struct token *t, struct bundle_proc *pr)
{
	const struct manifest *m = p->m;
	unsigned n = chans_used(pr->serve);
	int err;

	if ((err = chan_item_ok(p, t, pr->serve, n)) < 0)
		return err;
	for (size_t i = 0; i < m->nprocs; i++)
		if (chans_have(m->procs[i].serve, chans_used(m->procs[i].serve), t))
			return error(p, t->col, "a channel no other proc serves",
				     "'%.*s', served by '%s'", (int)t->n, t->s, m->procs[i].name);
	memcpy(pr->serve[n], t->s, t->n);
	return 0;
}

/* Whether some proc serves it is checked once all are read, see check_opens. */
static int open_item(struct parser *p, const struct token *t, struct bundle_proc *pr)
{
	struct manifest *m = p->m;
	unsigned n = chans_used(pr->open);
	int err;

	if ((err = chan_item_ok(p, t, pr->open, n)) < 0)
		return err;
	memcpy(pr->open[n], t->s, t->n);
	m->open_pos[m->nprocs][n] = (struct manifest_pos){ p->line, t->col };
	return 0;
}

/*
 * Parses a decimal number of at most max. Returns false if t is not one;
 * stops before the value can overflow.
 */
static bool parse_dec(const struct token *t, uint32_t max, uint32_t *out)
{
	uint64_t v;
	if (!num_parse(t->s, t->n, false, max, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

static int port_item(struct parser *p, const struct token *t, struct bundle_proc *pr)
{
	const struct manifest *m = p->m;
	struct bundle_ports *r;
	int err;

	if (pr->nports == VE_SPAWN_PORTS)
		return error(p, t->col, "at most 8 port ranges", "range %u", pr->nports + 1u);
	r = &pr->ports[pr->nports];
	if ((err = parse_range(p, t, r)) < 0)
		return err;
	for (size_t i = 0; i < m->nprocs; i++)
		for (unsigned k = 0; k < m->procs[i].nports; k++)
			if (r->first <= m->procs[i].ports[k].last &&
			    m->procs[i].ports[k].first <= r->last)
				return error(p, t->col, "ports no other proc has",
					     "'%.*s', overlapping '%s'", (int)t->n, t->s,
					     m->procs[i].name);
	pr->nports++;
	return 0;
}

static int irq_item(struct parser *p, const struct token *t, struct bundle_proc *pr)
{
	const struct manifest *m = p->m;
	uint32_t line;
	uint16_t bit;

	if (!parse_dec(t, 15, &line) || !(VE_IRQS_VALID & (1u << line)))
		return error_tok(p, t, IRQ_RULE);
	bit = (uint16_t)(1u << line);
	if (pr->irqs & bit)
		return error_tok(p, t, "an IRQ line not already listed");
	for (size_t i = 0; i < m->nprocs; i++)
		if (m->procs[i].irqs & bit)
			return error(p, t->col, "an IRQ line no other proc has",
				     "'%.*s', granted to '%s'", (int)t->n, t->s, m->procs[i].name);
	pr->irqs |= bit;
	return 0;
}

static int grant_item(struct parser *p, const struct token *t, struct bundle_proc *pr)
{
	static const char *const names[VE_NGRANT_BITS] = VE_GRANT_NAMES;

	for (unsigned bit = 0; bit < VE_NGRANT_BITS; bit++) {
		if (tok_is(t, names[bit])) {
			pr->grants |= (uint16_t)(1u << bit);
			return 0;
		}
	}
	return error_tok(p, t, "'spawn', 'halt', 'kill', 'supervisor' or 'inject'");
}

static int prio_value(struct parser *p, const struct token *v, struct bundle_proc *pr)
{
	static const char *const names[VE_NPRIO] = VE_PRIO_NAMES;

	for (unsigned i = 0; i < VE_NPRIO; i++) {
		if (tok_is(v, names[i])) {
			pr->prio = (uint8_t)i;
			return 0;
		}
	}
	return error_tok(p, v, "'driver', 'service' or 'besteffort'");
}

/* start=boot (default): started at boot; start=spawn: only a template for
 * spawn() (its grants and image), never started by the kernel itself. */
static int start_value(struct parser *p, const struct token *v, struct bundle_proc *pr)
{
	if (tok_is(v, "boot"))
		pr->flags &= (uint16_t)~BUNDLE_PROC_SPAWN_ONLY;
	else if (tok_is(v, "spawn"))
		pr->flags |= BUNDLE_PROC_SPAWN_ONLY;
	else
		return error_tok(p, v, "'boot' or 'spawn'");
	return 0;
}

static int ports_value(struct parser *p, const struct token *v, struct bundle_proc *pr)
{
	return for_each_item(p, v, pr, port_item);
}

static int irq_value(struct parser *p, const struct token *v, struct bundle_proc *pr)
{
	return for_each_item(p, v, pr, irq_item);
}

static int grant_value(struct parser *p, const struct token *v, struct bundle_proc *pr)
{
	return for_each_item(p, v, pr, grant_item);
}

static int serve_value(struct parser *p, const struct token *v, struct bundle_proc *pr)
{
	return for_each_item(p, v, pr, serve_item);
}

static int open_value(struct parser *p, const struct token *v, struct bundle_proc *pr)
{
	return for_each_item(p, v, pr, open_item);
}

/* 0 is not accepted: it would read as "no queue" but mean the default. */
static int queue_value(struct parser *p, const struct token *v, struct bundle_proc *pr)
{
	if (!parse_dec(v, VE_CHAN_QUEUE_MAX, &pr->queue) || pr->queue == 0)
		return error_tok(p, v, "a queue length of 1-4096 messages");
	return 0;
}

/* N, NKiB or NMiB, from 1 byte to VE_CHAN_QBYTES_MAX. */
static int qbytes_value(struct parser *p, const struct token *v, struct bundle_proc *pr)
{
	uint32_t unit = 1, n;
	struct token num = *v;

	if (v->n > 3 && memcmp(v->s + v->n - 3, "KiB", 3) == 0)
		unit = 1024;
	else if (v->n > 3 && memcmp(v->s + v->n - 3, "MiB", 3) == 0)
		unit = 1024 * 1024;
	if (unit != 1)
		num.n -= 3;
	if (!parse_dec(&num, VE_CHAN_QBYTES_MAX / unit, &n) || n == 0)
		return error_tok(p, v, "a size of 1 byte to 16 MiB (N, NKiB or NMiB)");
	pr->qbytes = n * unit;
	return 0;
}

/* 0 is not accepted: it would read as "never" but mean the default. */
static int redeliveries_value(struct parser *p, const struct token *v, struct bundle_proc *pr)
{
	if (!parse_dec(v, VE_CHAN_REDELIVERIES_MAX, &pr->redeliveries) || pr->redeliveries == 0)
		return error_tok(p, v, "a redelivery count of 1-1000");
	return 0;
}

/* The keys of a proc line; a key's index is its bit in parse_key's seen. */
static const struct {
	const char *name;
	int (*value)(struct parser *, const struct token *, struct bundle_proc *);
	bool limit; /* applies to served channels, needs serve= */
} keys[] = {
	{ "prio", prio_value, false },
	{ "ports", ports_value, false },
	{ "irq", irq_value, false },
	{ "grant", grant_value, false },
	{ "serve", serve_value, false },
	{ "open", open_value, false },
	{ "queue", queue_value, true },
	{ "qbytes", qbytes_value, true },
	{ "redeliveries", redeliveries_value, true },
	{ "start", start_value, false },
};

/*
 * key=value; seen has a bit per key already given on this line. Returns
 * the key's index in keys[], or an error.
 */
static int parse_key(struct parser *p, const struct token *t, struct bundle_proc *pr,
		     unsigned *seen)
{
	const char *eq = memchr(t->s, '=', t->n);
	size_t cut = eq ? (size_t)(eq - t->s) : 0;
	struct token key = sub_token(t, 0, cut);
	struct token val = sub_token(t, cut + 1, t->n);
	unsigned i = 0;
	int err;

	if (!eq)
		return error_tok(p, t, "key=value or '--'");
	while (i < sizeof(keys) / sizeof(keys[0]) && !tok_is(&key, keys[i].name))
		i++;
	if (i == sizeof(keys) / sizeof(keys[0]))
		return error_tok(p, &key, KEYS_RULE);
	if (*seen & (1u << i))
		return error_tok(p, &key, "each key at most once");
	*seen |= 1u << i;
	if ((err = keys[i].value(p, &val, pr)) < 0)
		return err;
	return (int)i;
}

/* The words after `--`, joined by single spaces into pr->args. */
static int parse_args(struct parser *p, struct bundle_proc *pr)
{
	struct token t;
	unsigned first_col = 0;
	size_t n = 0;

	while (next_token(p, &t)) {
		size_t need = (n ? 1 : 0) + t.n;

		if (!first_col)
			first_col = t.col;
		if (n + need < BUNDLE_ARGS_MAX) {
			if (n)
				pr->args[n] = ' ';
			memcpy(pr->args + n + (n ? 1 : 0), t.s, t.n);
		}
		n += need;
	}
	if (n >= BUNDLE_ARGS_MAX)
		return error(p, first_col, "arguments of at most 95 bytes", "%zu bytes", n);
	pr->args[n] = '\0';
	return 0;
}

/* The IMAGE word of a proc line: a name given by an earlier `image`. */
static int take_image_ref(struct parser *p, char *dst)
{
	struct token t;

	if (!next_token(p, &t))
		return error_eol(p, "an image name");
	for (size_t i = 0; i < p->m->nimages; i++) {
		if (name_is(p->m->images[i].name, &t)) {
			memcpy(dst, t.s, t.n);
			return 0;
		}
	}
	return error_tok(p, &t, "the name of an earlier image");
}

/*
 * proc NAME IMAGE [key=value ...] [-- ARGS...]
 * A channel limit without serve= would be ignored, so it is an error.
 */
static int parse_proc(struct parser *p, const struct token *kw)
{
	struct manifest *m = p->m;
	struct bundle_proc pr = { .prio = VE_PRIO_SERVICE };
	struct token name, t, limit = { 0 };
	unsigned seen = 0;
	int err;

	if (m->nprocs == BUNDLE_MAX_PROCS)
		return error(p, kw->col, "at most 64 processes", "process %zu", m->nprocs + 1);
	if ((err = take_name(p, "a process name", pr.name, &name)) < 0)
		return err;
	for (size_t i = 0; i < m->nprocs; i++)
		if (name_is(m->procs[i].name, &name))
			return error_tok(p, &name, "a unique process name");
	if ((err = take_image_ref(p, pr.image)) < 0)
		return err;
	while (next_token(p, &t)) {
		if (tok_is(&t, "--")) {
			if ((err = parse_args(p, &pr)) < 0)
				return err;
			break;
		}
		if ((err = parse_key(p, &t, &pr, &seen)) < 0)
			return err;
		if (keys[err].limit && !limit.s)
			limit = t;
	}
	if (limit.s && !pr.serve[0][0])
		return error_tok(p, &limit, "queue=, qbytes= and redeliveries= only with serve=");
	m->procs[m->nprocs++] = pr;
	return 0;
}

/* After the last line: every opened channel must be served by some proc. */
static int check_opens(struct parser *p)
{
	const struct manifest *m = p->m;

	for (size_t i = 0; i < m->nprocs; i++) {
		const struct bundle_proc *pr = &m->procs[i];

		for (unsigned k = 0; k < VE_SPAWN_CHANS && pr->open[k][0]; k++) {
			struct token t = { pr->open[k], strlen(pr->open[k]),
					   m->open_pos[i][k].col };
			size_t j = 0;

			while (j < m->nprocs &&
			       !chans_have(m->procs[j].serve, chans_used(m->procs[j].serve), &t))
				j++;
			if (j == m->nprocs) {
				p->line = m->open_pos[i][k].line;
				return error_tok(p, &t, "a channel some proc serves");
			}
		}
	}
	return 0;
}

static int parse_line(struct parser *p)
{
	struct token kw;
	int err;

	if ((err = check_line_bytes(p)) < 0)
		return err;
	if (!next_token(p, &kw))
		return 0;
	if (tok_is(&kw, "image"))
		return parse_image(p, &kw);
	if (tok_is(&kw, "proc"))
		return parse_proc(p, &kw);
	return error_tok(p, &kw, "'image' or 'proc'");
}

int manifest_parse(const char *file, const char *text, size_t len, struct manifest *m, char *err,
		   size_t err_cap)
{
	struct parser p = {
		.file = file, .text = text, .len = len, .m = m, .err = err, .err_cap = err_cap
	};
	int rc;

	if (!file || (!text && len) || !m || !err || !err_cap)
		return -VE_INVAL;
	memset(m, 0, sizeof(*m));
	err[0] = '\0';
	while (p.line_start < len) {
		const char *nl = memchr(text + p.line_start, '\n', len - p.line_start);

		p.line++;
		p.line_end = nl ? (size_t)(nl - text) : len;
		p.pos = p.line_start;
		if ((rc = parse_line(&p)) < 0)
			return rc;
		p.line_start = p.line_end + 1;
	}
	return check_opens(&p);
}
