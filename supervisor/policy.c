/*
 * The policy parser and cross-checks (language in policy.h and
 * policies/README.md). Freestanding: no libc, no globals; messages are built
 * with the little string builder below.
 *
 * A file is read a line at a time and each line split into words at spaces
 * and tabs; a '#' where a word would start ends the line. A line starting
 * with `service NAME` or `supervisor NAME` opens a section; every other line
 * is one key of the open section with its values. Every mistake stops the
 * parse with one message pointing at the word that is wrong and saying what
 * was expected there. What needs every file is left to pol_check().
 */
#include "policy.h"

#include "num.h"

/* A found word is quoted in messages up to this many bytes. */
#define QUOTE_MAX 40

#define NAME_RULE "a name of 1-31 characters from [A-Za-z0-9_.-]"
#define DURATION_RULE "a duration from 1ms to 60m (like 500ms, 10s or 1m)"
#define SIZE_RULE "a size from 1 to 16MiB (like 4096, 64KiB or 1MiB)"
#define RANGE_RULE "a port range N or N-M with N <= M <= 0xffff"
#define IRQ_RULE "an IRQ line 1-15 other than 2"

/* ---- strings ---- */

static size_t str_len(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

static bool str_eq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

/* A bounded, always NUL-terminated string being built; excess is cut. */
struct sb {
	char *buf;
	size_t cap; /* > 0 */
	size_t n;
};

static void sb_init(struct sb *b, char *buf, size_t cap)
{
	b->buf = buf;
	b->cap = cap;
	b->n = 0;
	buf[0] = 0;
}

static void sb_putc(struct sb *b, char c)
{
	if (b->n + 1 < b->cap) {
		b->buf[b->n++] = c;
		b->buf[b->n] = 0;
	}
}

static void sb_puts(struct sb *b, const char *s)
{
	while (*s)
		sb_putc(b, *s++);
}

static void sb_u32(struct sb *b, uint32_t v)
{
	char d[10];
	int n = 0;

	do {
		d[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		sb_putc(b, d[--n]);
}

static void sb_hex(struct sb *b, uint32_t v)
{
	char d[8];
	int n = 0;

	do {
		d[n++] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	sb_puts(b, "0x");
	while (n)
		sb_putc(b, d[--n]);
}

/* 'word', cut at QUOTE_MAX bytes with "...", unprintable bytes as '?'. */
static void sb_quote(struct sb *b, const char *s, size_t n)
{
	size_t i;

	sb_putc(b, '\'');
	for (i = 0; i < n && i < QUOTE_MAX; i++)
		sb_putc(b, s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?');
	if (n > QUOTE_MAX)
		sb_puts(b, "...");
	sb_putc(b, '\'');
}

static void sb_quote_str(struct sb *b, const char *s)
{
	sb_quote(b, s, str_len(s));
}

/* Fills *e with "file:line:col: expected <expected>, found <found>". */
static int set_error(struct pol_error *e, const char *file, uint32_t line, uint32_t col,
		     const char *expected, const char *found)
{
	struct sb b;

	if (!e)
		return -VE_INVAL;
	sb_init(&b, e->msg, sizeof(e->msg));
	sb_puts(&b, file);
	sb_putc(&b, ':');
	sb_u32(&b, line);
	sb_putc(&b, ':');
	sb_u32(&b, col);
	sb_puts(&b, ": expected ");
	sb_puts(&b, expected);
	sb_puts(&b, ", found ");
	sb_puts(&b, found);
	e->line = line;
	e->col = col;
	return -VE_INVAL;
}

/* ---- the parser ---- */

/* A word of the line being parsed; s is not NUL-terminated. n == 0: none. */
struct word {
	const char *s;
	size_t n;
	uint32_t col;
};

enum sect { SECT_NONE, SECT_SERVICE, SECT_SUPERVISOR };

/* Keys that may be written once per section, as bits of parser.seen. */
#define NKEYS 32

struct parser {
	struct pol_set *s;
	struct pol_error *e;
	const char *fname;
	uint32_t file; /* index in s->files */
	const char *text;
	size_t len;
	size_t line_start; /* offset of the current line */
	size_t line_end;   /* offset of its '\n', or len */
	size_t pos;	   /* next byte to split */
	uint32_t line;
	enum sect sect;
	struct pol_service *svc; /* the open section, by sect */
	struct pol_supervisor *sup;
	uint32_t seen_line[NKEYS]; /* line a once-only key was on, 0 = not yet */
};

static int fail(struct parser *p, uint32_t col, const char *expected, const char *found)
{
	return set_error(p->e, p->fname, p->line, col, expected, found);
}

/* Reports word w where expected was expected; "end of line" if there is none. */
static int fail_word(struct parser *p, const struct word *w, const char *expected)
{
	char buf[QUOTE_MAX + 8];
	struct sb b;

	sb_init(&b, buf, sizeof(buf));
	if (w->n == 0)
		sb_puts(&b, "end of line");
	else
		sb_quote(&b, w->s, w->n);
	return fail(p, w->col, expected, buf);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/*
 * Splits off the next word of the line into *w. Returns false at the end of
 * the line or at a comment, with w->n == 0 and w->col where a word would be.
 */
static bool next_word(struct parser *p, struct word *w)
{
	while (p->pos < p->line_end && is_space(p->text[p->pos]))
		p->pos++;
	w->s = p->text + p->pos;
	w->n = 0;
	w->col = (uint32_t)(p->pos - p->line_start) + 1;
	if (p->pos >= p->line_end || p->text[p->pos] == '#')
		return false;
	while (p->pos < p->line_end && !is_space(p->text[p->pos])) {
		p->pos++;
		w->n++;
	}
	return true;
}

static int expect_eol(struct parser *p)
{
	struct word w;

	if (next_word(p, &w))
		return fail_word(p, &w, "end of line");
	return 0;
}

static bool word_is(const struct word *w, const char *lit)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		if (lit[i] == 0 || lit[i] != w->s[i]) /* a NUL in the word ends lit early */
			return false;
	return lit[w->n] == 0;
}

/* A word with its first `skip` bytes dropped and at most n bytes kept. */
static struct word sub_word(const struct word *w, size_t skip, size_t n)
{
	struct word r = { w->s + skip, n, w->col + (uint32_t)skip };

	return r;
}

static struct pol_pos pos_of(const struct parser *p, const struct word *w)
{
	struct pol_pos pos = { p->file, p->line, w->col };

	return pos;
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

/* Copies the name in w to dst[POL_NAME_MAX] if it is a valid name. */
static int take_name(struct parser *p, const struct word *w, char *dst)
{
	size_t i;

	if (w->n == 0 || w->n >= POL_NAME_MAX)
		return fail_word(p, w, NAME_RULE);
	for (i = 0; i < w->n; i++)
		if (!name_char(w->s[i]))
			return fail_word(p, w, NAME_RULE);
	for (i = 0; i < w->n; i++)
		dst[i] = w->s[i];
	dst[w->n] = 0;
	return 0;
}

/*
 * Parses the n bytes at s as an unsigned number (decimal, or hex after 0x
 * if hex_ok) no larger than max. Returns false on anything else.
 */
static bool parse_num(const char *s, size_t n, bool hex_ok, uint32_t max, uint32_t *out)
{
	uint64_t v;
	if (!num_parse(s, n, hex_ok, max, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

/* Length of the leading run of decimal digits of w. */
static size_t digits(const struct word *w)
{
	size_t i = 0;

	while (i < w->n && w->s[i] >= '0' && w->s[i] <= '9')
		i++;
	return i;
}

/* Parses "N<unit>" where the units are names[] with multipliers mult[]. */
static bool parse_scaled(const struct word *w, const char *const *names, const uint32_t *mult,
			 size_t nunits, uint32_t min, uint32_t max, uint32_t *out)
{
	size_t nd = digits(w), u;
	struct word unit = sub_word(w, nd, w->n - nd);
	uint32_t v;

	if (!parse_num(w->s, nd, false, max, &v))
		return false;
	for (u = 0; u < nunits; u++) {
		if (!word_is(&unit, names[u]))
			continue;
		if (v > max / mult[u] || v * mult[u] < min)
			return false;
		*out = v * mult[u];
		return true;
	}
	return false;
}

static bool parse_duration(const struct word *w, uint32_t *ms)
{
	static const char *const names[] = { "ms", "s", "m" };
	static const uint32_t mult[] = { 1, 1000, 60000 };

	return parse_scaled(w, names, mult, 3, 1, POL_DURATION_MAX_MS, ms);
}

static bool parse_size(const struct word *w, uint32_t *bytes)
{
	static const char *const names[] = { "", "KiB", "MiB" };
	static const uint32_t mult[] = { 1, 1024, 1024 * 1024 };

	return parse_scaled(w, names, mult, 3, 1, VE_CHAN_QBYTES_MAX, bytes);
}

/* Reads one word that must be a duration. */
static int need_duration(struct parser *p, uint32_t *ms)
{
	struct word w;

	if (!next_word(p, &w) || !parse_duration(&w, ms))
		return fail_word(p, &w, DURATION_RULE);
	return 0;
}

/*
 * Reads the last word of the line, which must be one of the n words in
 * names[] (whose list, for the message, is rule), and sets *out to its
 * index and *w to the word.
 */
static int need_choice(struct parser *p, const char *const *names, size_t n, const char *rule,
		       unsigned *out, struct word *w)
{
	size_t i;

	next_word(p, w);
	for (i = 0; i < n; i++) {
		if (w->n && word_is(w, names[i])) {
			*out = (unsigned)i;
			return expect_eol(p);
		}
	}
	return fail_word(p, w, rule);
}

/* ---- service keys ---- */

static int key_image(struct parser *p)
{
	struct word w;
	int rc;

	next_word(p, &w);
	rc = take_name(p, &w, p->svc->image);
	return rc ? rc : expect_eol(p);
}

static const char *const restart_names[] = { "permanent", "transient", "temporary" };
static const char *const strategy_names[] = { "one_for_one", "one_for_all", "rest_for_one" };
static const char *const giveup_names[] = { "halt", "reboot", "panic" };
static const char *const state_names[] = { "discard", "keep" };
static const char *const prio_names[VE_NPRIO] = VE_PRIO_NAMES;

/* The grants key's words: the ABI's names, but for `supervisor`, which only
 * the boot table gives (the kernel restarts that one process). */
static const char *const grant_names[VE_NGRANT_BITS] = VE_GRANT_NAMES;
#define GRANT_RULE "'spawn', 'halt', 'kill' or 'inject'"

/* The grant bit named by w, or 0 if none a policy may give. */
static uint16_t grant_bit(const struct word *w)
{
	for (unsigned bit = 0; bit < VE_NGRANT_BITS; bit++)
		if ((1u << bit) != VE_GRANT_SUPERVISOR && word_is(w, grant_names[bit]))
			return (uint16_t)(1u << bit);
	return 0;
}

static int key_restart(struct parser *p)
{
	struct word w;
	unsigned v = 0;
	int rc =
	    need_choice(p, restart_names, 3, "'permanent', 'transient' or 'temporary'", &v, &w);

	p->svc->restart = (enum pol_restart)v;
	return rc;
}

static int key_state(struct parser *p)
{
	struct word w;
	unsigned v = 0;
	int rc = need_choice(p, state_names, 2, "'keep' or 'discard'", &v, &w);

	p->svc->state = (enum pol_state)v;
	return rc;
}

static int key_priority(struct parser *p)
{
	struct word w;
	unsigned v = 0;
	int rc =
	    need_choice(p, prio_names, VE_NPRIO, "'driver', 'service' or 'besteffort'", &v, &w);

	p->svc->prio = (enum ve_prio)v;
	return rc;
}

static int key_shutdown(struct parser *p)
{
	struct word w;

	next_word(p, &w);
	if (word_is(&w, "brutal_kill"))
		p->svc->shutdown_ms = 0;
	else if (!parse_duration(&w, &p->svc->shutdown_ms))
		return fail_word(p, &w, DURATION_RULE " or 'brutal_kill'");
	return expect_eol(p);
}

static int key_heartbeat(struct parser *p)
{
	int rc = need_duration(p, &p->svc->heartbeat_ms);

	return rc ? rc : expect_eol(p);
}

/* backoff MIN..MAX (doubling from MIN up to MAX), or backoff D (always D). */
static int key_backoff(struct parser *p)
{
	struct pol_service *svc = p->svc;
	struct word w, lo, hi;
	size_t i;

	if (!next_word(p, &w))
		return fail_word(p, &w, "a backoff like 100ms..5s or 1s");
	for (i = 0; i + 1 < w.n && !(w.s[i] == '.' && w.s[i + 1] == '.'); i++)
		;
	if (i + 1 >= w.n) {
		if (!parse_duration(&w, &svc->backoff_min_ms))
			return fail_word(p, &w, "a backoff like 100ms..5s or 1s");
		svc->backoff_max_ms = svc->backoff_min_ms;
		return expect_eol(p);
	}
	lo = sub_word(&w, 0, i);
	hi = sub_word(&w, i + 2, w.n - i - 2);
	if (lo.n == 0 || hi.n == 0)
		return fail_word(p, &w, "a backoff like 100ms..5s or 1s");
	if (!parse_duration(&lo, &svc->backoff_min_ms))
		return fail_word(p, &lo, DURATION_RULE);
	if (!parse_duration(&hi, &svc->backoff_max_ms))
		return fail_word(p, &hi, DURATION_RULE);
	if (svc->backoff_max_ms < svc->backoff_min_ms)
		return fail_word(p, &hi, "a longest backoff no shorter than the first");
	return expect_eol(p);
}

/* serves NAME [max_messages N] [max_bytes SIZE] [max_redeliveries N] */
static int key_serves(struct parser *p)
{
	struct pol_service *svc = p->svc;
	struct pol_serve *sv;
	struct word w;
	uint32_t i;
	int rc;

	if (!next_word(p, &w))
		return fail_word(p, &w, "a channel name");
	if (svc->nserves == VE_SPAWN_CHANS)
		return fail_word(p, &w, "at most 4 served channels per service");
	sv = &svc->serves[svc->nserves];
	rc = take_name(p, &w, sv->name);
	if (rc)
		return rc;
	for (i = 0; i < svc->nserves; i++)
		if (str_eq(svc->serves[i].name, sv->name))
			return fail_word(p, &w, "a channel not already in serves");
	sv->pos = pos_of(p, &w);
	sv->max_messages = sv->max_bytes = sv->max_redeliveries = 0;
	while (next_word(p, &w)) {
		struct word v;
		uint32_t *dst;
		bool ok;

		if (word_is(&w, "max_messages"))
			dst = &sv->max_messages;
		else if (word_is(&w, "max_bytes"))
			dst = &sv->max_bytes;
		else if (word_is(&w, "max_redeliveries"))
			dst = &sv->max_redeliveries;
		else
			return fail_word(p, &w,
					 "'max_messages', 'max_bytes', 'max_redeliveries' "
					 "or end of line");
		if (*dst)
			return fail_word(p, &w, "each limit once");
		next_word(p, &v);
		if (dst == &sv->max_bytes) {
			if (!v.n || !parse_size(&v, dst))
				return fail_word(p, &v, SIZE_RULE);
			continue;
		}
		if (dst == &sv->max_messages)
			ok = parse_num(v.s, v.n, false, VE_CHAN_QUEUE_MAX, dst) && *dst;
		else
			ok = parse_num(v.s, v.n, false, VE_CHAN_REDELIVERIES_MAX, dst) && *dst;
		if (!ok)
			return fail_word(p, &v,
					 dst == &sv->max_messages
					     ? "a number of messages from 1 to 4096"
					     : "a number from 1 to 1000");
	}
	svc->nserves++;
	return 0;
}

static int key_opens(struct parser *p)
{
	struct pol_service *svc = p->svc;
	struct word w;
	uint32_t i;
	int rc;

	if (!next_word(p, &w))
		return fail_word(p, &w, "a channel name");
	do {
		struct pol_open *op;

		if (svc->nopens == VE_SPAWN_CHANS)
			return fail_word(p, &w, "at most 4 opened channels per service");
		op = &svc->opens[svc->nopens];
		rc = take_name(p, &w, op->name);
		if (rc)
			return rc;
		for (i = 0; i < svc->nopens; i++)
			if (str_eq(svc->opens[i].name, op->name))
				return fail_word(p, &w, "a channel not already in opens");
		op->pos = pos_of(p, &w);
		svc->nopens++;
	} while (next_word(p, &w));
	return 0;
}

static int key_ports(struct parser *p)
{
	struct pol_service *svc = p->svc;
	struct word w;

	if (!next_word(p, &w))
		return fail_word(p, &w, RANGE_RULE);
	do {
		struct pol_ports *r;
		uint32_t first, last;
		size_t dash = 0;

		if (svc->nports == VE_SPAWN_PORTS)
			return fail_word(p, &w, "at most 8 port ranges per service");
		r = &svc->ports[svc->nports];
		while (dash < w.n && w.s[dash] != '-')
			dash++;
		if (!parse_num(w.s, dash, true, 0xffff, &first))
			return fail_word(p, &w, RANGE_RULE);
		last = first;
		if (dash < w.n && !parse_num(w.s + dash + 1, w.n - dash - 1, true, 0xffff, &last))
			return fail_word(p, &w, RANGE_RULE);
		if (last < first)
			return fail_word(p, &w, RANGE_RULE);
		r->first = (uint16_t)first;
		r->last = (uint16_t)last;
		r->pos = pos_of(p, &w);
		svc->nports++;
	} while (next_word(p, &w));
	return 0;
}

static int key_irqs(struct parser *p)
{
	struct pol_service *svc = p->svc;
	struct word w;

	if (!next_word(p, &w))
		return fail_word(p, &w, IRQ_RULE);
	do {
		uint32_t irq;

		if (!parse_num(w.s, w.n, false, 15, &irq) || !(VE_IRQS_VALID & (1u << irq)))
			return fail_word(p, &w, IRQ_RULE);
		if (svc->irqs & (1u << irq))
			return fail_word(p, &w, "an IRQ line not already in irqs");
		svc->irqs |= (uint16_t)(1u << irq);
		svc->irq_pos[irq] = pos_of(p, &w);
	} while (next_word(p, &w));
	return 0;
}

static int key_grants(struct parser *p)
{
	struct word w;
	uint16_t bit;

	if (!next_word(p, &w))
		return fail_word(p, &w, GRANT_RULE);
	do {
		if (!(bit = grant_bit(&w)))
			return fail_word(p, &w, GRANT_RULE);
		if (p->svc->grants & bit)
			return fail_word(p, &w, "a grant not already in grants");
		p->svc->grants |= bit;
	} while (next_word(p, &w));
	return 0;
}

/* args WORD...: the words joined by single spaces. */
static int key_args(struct parser *p)
{
	char *dst = p->svc->args, buf[24];
	size_t start = p->pos, n = 0, i;
	struct word w, first;
	struct sb b;

	if (!next_word(p, &first))
		return fail_word(p, &first, "an argument");
	for (w = first; w.n; next_word(p, &w))
		n += (n > 0) + w.n;
	if (n >= POL_ARGS_MAX) {
		sb_init(&b, buf, sizeof(buf));
		sb_u32(&b, (uint32_t)n);
		sb_puts(&b, " bytes");
		return fail(p, first.col, "arguments of at most 95 bytes", buf);
	}
	p->pos = start;
	n = 0;
	while (next_word(p, &w)) {
		if (n > 0)
			dst[n++] = ' ';
		for (i = 0; i < w.n; i++)
			dst[n++] = w.s[i];
	}
	dst[n] = 0;
	return 0;
}

/* ---- supervisor keys ---- */

static int key_strategy(struct parser *p)
{
	struct word w;
	unsigned v = 0;
	int rc = need_choice(p, strategy_names, 3, "'one_for_one', 'one_for_all' or 'rest_for_one'",
			     &v, &w);

	p->sup->strategy = (enum pol_strategy)v;
	return rc;
}

/* intensity N per DURATION */
static int key_intensity(struct parser *p)
{
	struct pol_supervisor *sup = p->sup;
	struct word w;
	int rc;

	next_word(p, &w);
	if (!parse_num(w.s, w.n, false, POL_INTENSITY_MAX, &sup->intensity))
		return fail_word(p, &w, "a number of restarts from 0 to 1000");
	sup->intensity_pos = pos_of(p, &w);
	next_word(p, &w);
	if (!word_is(&w, "per"))
		return fail_word(p, &w, "'per'");
	rc = need_duration(p, &sup->period_ms);
	return rc ? rc : expect_eol(p);
}

static int key_on_giveup(struct parser *p)
{
	struct word w;
	unsigned v = 0;
	int rc = need_choice(p, giveup_names, 3, "'reboot', 'halt' or 'panic'", &v, &w);

	p->sup->on_giveup = (enum pol_giveup)v;
	p->sup->giveup_pos = pos_of(p, &w);
	p->sup->has_giveup = true;
	return rc;
}

static int key_children(struct parser *p)
{
	struct pol_supervisor *sup = p->sup;
	struct word w;
	uint32_t i;
	int rc;

	if (!next_word(p, &w))
		return fail_word(p, &w, "a service or supervisor name");
	do {
		struct pol_child *c;

		if (sup->nchildren == POL_MAX_CHILDREN)
			return fail_word(p, &w, "at most 32 children per supervisor");
		c = &sup->children[sup->nchildren];
		rc = take_name(p, &w, c->name);
		if (rc)
			return rc;
		for (i = 0; i < sup->nchildren; i++)
			if (str_eq(sup->children[i].name, c->name))
				return fail_word(p, &w, "a child not already in children");
		c->pos = pos_of(p, &w);
		c->is_supervisor = false;
		c->index = 0;
		sup->nchildren++;
	} while (next_word(p, &w));
	return 0;
}

/* ---- dispatch ---- */

struct key {
	const char *name;
	enum sect sect;
	bool repeats; /* may be written on several lines of one section */
	int (*parse)(struct parser *p);
};

static const struct key keys[] = {
	{ "image", SECT_SERVICE, false, key_image },
	{ "restart", SECT_SERVICE, false, key_restart },
	{ "shutdown", SECT_SERVICE, false, key_shutdown },
	{ "heartbeat", SECT_SERVICE, false, key_heartbeat },
	{ "backoff", SECT_SERVICE, false, key_backoff },
	{ "state", SECT_SERVICE, false, key_state },
	{ "priority", SECT_SERVICE, false, key_priority },
	{ "serves", SECT_SERVICE, true, key_serves },
	{ "opens", SECT_SERVICE, true, key_opens },
	{ "ports", SECT_SERVICE, true, key_ports },
	{ "irqs", SECT_SERVICE, true, key_irqs },
	{ "grants", SECT_SERVICE, false, key_grants },
	{ "args", SECT_SERVICE, false, key_args },
	{ "strategy", SECT_SUPERVISOR, false, key_strategy },
	{ "intensity", SECT_SUPERVISOR, false, key_intensity },
	{ "on_giveup", SECT_SUPERVISOR, false, key_on_giveup },
	{ "children", SECT_SUPERVISOR, true, key_children },
};
#define NKEYS_USED (sizeof(keys) / sizeof(keys[0]))
_Static_assert(NKEYS_USED <= NKEYS, "seen_line has a slot per key");

/* Where the definition named name is, or false. */
static bool find_def(const struct pol_set *s, const char *name, struct pol_pos *pos)
{
	uint32_t i;

	for (i = 0; i < s->nservices; i++) {
		if (str_eq(s->services[i].name, name)) {
			*pos = s->services[i].pos;
			return true;
		}
	}
	for (i = 0; i < s->nsupervisors; i++) {
		if (str_eq(s->supervisors[i].name, name)) {
			*pos = s->supervisors[i].pos;
			return true;
		}
	}
	return false;
}

static void init_service(struct pol_service *svc, const char *name, struct pol_pos pos)
{
	uint8_t *b = (uint8_t *)svc;
	size_t i;

	for (i = 0; i < sizeof(*svc); i++)
		b[i] = 0;
	for (i = 0; name[i]; i++)
		svc->name[i] = svc->image[i] = name[i];
	svc->restart = POL_PERMANENT;
	svc->shutdown_ms = POL_DEFAULT_SHUTDOWN_MS;
	svc->state = POL_STATE_DISCARD;
	svc->prio = VE_PRIO_SERVICE;
	svc->pos = pos;
	svc->parent = -1;
}

static void init_supervisor(struct pol_supervisor *sup, const char *name, struct pol_pos pos)
{
	uint8_t *b = (uint8_t *)sup;
	size_t i;

	for (i = 0; i < sizeof(*sup); i++)
		b[i] = 0;
	for (i = 0; name[i]; i++)
		sup->name[i] = name[i];
	sup->strategy = POL_ONE_FOR_ONE;
	sup->intensity = POL_DEFAULT_INTENSITY;
	sup->period_ms = POL_DEFAULT_PERIOD_MS;
	sup->on_giveup = POL_GIVEUP_HALT;
	sup->pos = pos;
	sup->intensity_pos = pos;
	sup->parent = -1;
}

/* `service NAME` or `supervisor NAME`: opens a new section. */
static int open_section(struct parser *p, enum sect sect)
{
	struct pol_set *s = p->s;
	char name[POL_NAME_MAX];
	struct pol_pos other;
	struct word w;
	uint32_t i;
	int rc;

	next_word(p, &w);
	if (sect == SECT_SERVICE && s->nservices == POL_MAX_SERVICES)
		return fail_word(p, &w, "at most 64 services");
	if (sect == SECT_SUPERVISOR && s->nsupervisors == POL_MAX_SUPERVISORS)
		return fail_word(p, &w, "at most 16 supervisors");
	rc = take_name(p, &w, name);
	if (rc)
		return rc;
	if (find_def(s, name, &other)) {
		char buf[QUOTE_MAX + POL_FILE_MAX + 48];
		struct sb b;

		sb_init(&b, buf, sizeof(buf));
		sb_quote(&b, w.s, w.n);
		sb_puts(&b, ", already defined at ");
		sb_puts(&b, s->files[other.file]);
		sb_putc(&b, ':');
		sb_u32(&b, other.line);
		sb_putc(&b, ':');
		sb_u32(&b, other.col);
		return fail(p, w.col, "a name not yet defined", buf);
	}
	rc = expect_eol(p);
	if (rc)
		return rc;
	p->sect = sect;
	for (i = 0; i < NKEYS; i++)
		p->seen_line[i] = 0;
	if (sect == SECT_SERVICE) {
		p->svc = &s->services[s->nservices++];
		init_service(p->svc, name, pos_of(p, &w));
	} else {
		p->sup = &s->supervisors[s->nsupervisors++];
		init_supervisor(p->sup, name, pos_of(p, &w));
	}
	return 0;
}

/* One non-empty line whose first word is w. */
static int parse_line(struct parser *p, const struct word *w)
{
	char buf[QUOTE_MAX + 40];
	struct sb b;
	size_t k;

	if (word_is(w, "service"))
		return open_section(p, SECT_SERVICE);
	if (word_is(w, "supervisor"))
		return open_section(p, SECT_SUPERVISOR);
	if (p->sect == SECT_NONE)
		return fail_word(p, w, "'service' or 'supervisor'");
	for (k = 0; k < NKEYS_USED; k++)
		if (keys[k].sect == p->sect && word_is(w, keys[k].name))
			break;
	if (k == NKEYS_USED)
		return fail_word(p, w,
				 p->sect == SECT_SERVICE ? "a service key" : "a supervisor key");
	if (!keys[k].repeats && p->seen_line[k]) {
		sb_init(&b, buf, sizeof(buf));
		sb_quote(&b, w->s, w->n);
		sb_puts(&b, " again (first on line ");
		sb_u32(&b, p->seen_line[k]);
		sb_putc(&b, ')');
		return fail(p, w->col, "each key at most once in a section", buf);
	}
	p->seen_line[k] = p->line;
	return keys[k].parse(p);
}

/* Keeps fname in dst[POL_FILE_MAX], by its last bytes if it is too long. */
static void keep_fname(char *dst, const char *fname)
{
	size_t n = str_len(fname), skip = 0, i;

	if (n >= POL_FILE_MAX)
		skip = n - (POL_FILE_MAX - 1);
	for (i = 0; skip + i < n; i++)
		dst[i] = fname[skip + i];
	dst[i] = 0;
}

static int parse_text(struct parser *p)
{
	size_t next = 0;
	int rc;

	while (next < p->len) {
		struct word w;

		p->line++;
		p->line_start = p->pos = next;
		p->line_end = next;
		while (p->line_end < p->len && p->text[p->line_end] != '\n')
			p->line_end++;
		next = p->line_end + 1;
		if (!next_word(p, &w))
			continue;
		rc = parse_line(p, &w);
		if (rc)
			return rc;
	}
	return 0;
}

int pol_init(struct pol_set *s)
{
	uint8_t *b = (uint8_t *)s;
	size_t i;

	if (!s)
		return -VE_INVAL;
	for (i = 0; i < sizeof(*s); i++)
		b[i] = 0;
	return 0;
}

int pol_parse_file(struct pol_set *s, const char *fname, const char *text, size_t len,
		   struct pol_error *e)
{
	struct parser p = { 0 };
	uint32_t nservices, nsupervisors;
	int rc;

	if (e) {
		e->msg[0] = 0;
		e->line = e->col = 0;
	}
	if (!s || !fname || (!text && len))
		return -VE_INVAL;
	s->checked = false;
	if (s->nfiles == POL_MAX_FILES) {
		set_error(e, fname, 0, 0, "at most 64 policy files", "one more");
		return -VE_RANGE;
	}
	nservices = s->nservices;
	nsupervisors = s->nsupervisors;
	p.s = s;
	p.e = e;
	p.fname = fname;
	p.file = s->nfiles;
	p.text = text;
	p.len = len;
	keep_fname(s->files[p.file], fname);
	rc = parse_text(&p);
	if (rc) {
		s->nservices = nservices;
		s->nsupervisors = nsupervisors;
		return rc;
	}
	s->nfiles++;
	return 0;
}

/* ---- checks across files ---- */

/* Reports a mistake at pos, a position in one of s's files. */
static int fail_at(const struct pol_set *s, struct pol_error *e, struct pol_pos pos,
		   const char *expected, const char *found)
{
	return set_error(e, s->files[pos.file], pos.line, pos.col, expected, found);
}

/* Resolves every child and sets every parent: each named once, and defined. */
static int check_children(struct pol_set *s, struct pol_error *e)
{
	char buf[2 * QUOTE_MAX + 40];
	struct sb b;
	uint32_t i, k;

	for (i = 0; i < s->nservices; i++)
		s->services[i].parent = -1;
	for (i = 0; i < s->nsupervisors; i++)
		s->supervisors[i].parent = -1;
	for (i = 0; i < s->nsupervisors; i++) {
		struct pol_supervisor *sup = &s->supervisors[i];

		for (k = 0; k < sup->nchildren; k++) {
			struct pol_child *c = &sup->children[k];
			int svc = pol_service_find(s, c->name);
			int sub = pol_supervisor_find(s, c->name);
			int32_t *parent;

			sb_init(&b, buf, sizeof(buf));
			sb_quote_str(&b, c->name);
			if (svc < 0 && sub < 0)
				return fail_at(s, e, c->pos, "a defined service or supervisor",
					       buf);
			c->is_supervisor = sub >= 0;
			c->index = (uint32_t)(sub >= 0 ? sub : svc);
			parent = sub >= 0 ? &s->supervisors[sub].parent : &s->services[svc].parent;
			if (*parent >= 0) {
				sb_puts(&b, ", already a child of ");
				sb_quote_str(&b, s->supervisors[*parent].name);
				return fail_at(s, e, c->pos, "a child of one supervisor only", buf);
			}
			*parent = (int32_t)i;
		}
	}
	return 0;
}

/* Where supervisor i is written among its parent's children. */
static struct pol_pos child_pos(const struct pol_set *s, uint32_t i)
{
	const struct pol_supervisor *par = &s->supervisors[s->supervisors[i].parent];
	uint32_t k;

	for (k = 0; k < par->nchildren; k++)
		if (par->children[k].is_supervisor && par->children[k].index == i)
			break;
	return par->children[k].pos;
}

/* No supervisor contains itself: following parents never comes back. */
static int check_cycles(struct pol_set *s, struct pol_error *e)
{
	uint32_t chain[POL_MAX_SUPERVISORS + 1];
	char buf[POL_ERR_MAX];
	struct sb b;
	uint32_t i, n;

	for (i = 0; i < s->nsupervisors; i++) {
		chain[0] = i;
		for (n = 1; n <= s->nsupervisors; n++) {
			int32_t par = s->supervisors[chain[n - 1]].parent;

			if (par < 0)
				break;
			chain[n] = (uint32_t)par;
			if ((uint32_t)par != i)
				continue;
			/* chain[n] contains chain[n-1] ... contains chain[0] */
			sb_init(&b, buf, sizeof(buf));
			for (; n > 0; n--) {
				sb_puts(&b, s->supervisors[chain[n]].name);
				sb_puts(&b, " > ");
			}
			sb_puts(&b, s->supervisors[i].name);
			return fail_at(s, e, child_pos(s, i),
				       "a supervisor that does not contain itself", buf);
		}
	}
	return 0;
}

/*
 * The first supervisor that is nobody's child is the root; every other
 * definition must be somebody's child, and only the root says on_giveup.
 */
static int check_root(struct pol_set *s, struct pol_error *e)
{
	char buf[2 * QUOTE_MAX + 48], expected[QUOTE_MAX + 48];
	struct sb b;
	uint32_t i;
	int32_t root = -1;

	for (i = 0; i < s->nsupervisors && root < 0; i++)
		if (s->supervisors[i].parent < 0)
			root = (int32_t)i;
	if (root < 0) {
		struct pol_pos first = { 0, 1, 1 };

		if (s->nfiles == 0)
			return set_error(e, "policy", 0, 0, "a root supervisor", "none");
		return fail_at(s, e, first, "a root supervisor", "none");
	}
	for (i = 0; i < s->nsupervisors + s->nservices; i++) {
		bool is_sup = i < s->nsupervisors;
		uint32_t j = is_sup ? i : i - s->nsupervisors;
		const char *name = is_sup ? s->supervisors[j].name : s->services[j].name;
		int32_t parent = is_sup ? s->supervisors[j].parent : s->services[j].parent;

		if (parent >= 0 || (is_sup && j == (uint32_t)root))
			continue;
		sb_init(&b, expected, sizeof(expected));
		sb_quote_str(&b, name);
		sb_puts(&b, " among the children of a supervisor");
		sb_init(&b, buf, sizeof(buf));
		sb_puts(&b, "it in none (the root is ");
		sb_quote_str(&b, s->supervisors[root].name);
		sb_putc(&b, ')');
		return fail_at(s, e, is_sup ? s->supervisors[j].pos : s->services[j].pos, expected,
			       buf);
	}
	for (i = 0; i < s->nsupervisors; i++) {
		if (!s->supervisors[i].has_giveup || i == (uint32_t)root)
			continue;
		sb_init(&b, buf, sizeof(buf));
		sb_puts(&b, "it in ");
		sb_quote_str(&b, s->supervisors[i].name);
		sb_puts(&b, ", a child of ");
		sb_quote_str(&b, s->supervisors[s->supervisors[i].parent].name);
		return fail_at(s, e, s->supervisors[i].giveup_pos,
			       "on_giveup only in the root supervisor", buf);
	}
	s->root = (uint32_t)root;
	return 0;
}

/* Intensity 0 gives up at the first restart: pointless with a permanent child. */
static int check_intensity(struct pol_set *s, struct pol_error *e)
{
	char buf[QUOTE_MAX + 40];
	struct sb b;
	uint32_t i, k;

	for (i = 0; i < s->nsupervisors; i++) {
		const struct pol_supervisor *sup = &s->supervisors[i];

		if (sup->intensity > 0)
			continue;
		for (k = 0; k < sup->nchildren; k++) {
			const struct pol_child *c = &sup->children[k];

			if (!c->is_supervisor && s->services[c->index].restart != POL_PERMANENT)
				continue;
			sb_init(&b, buf, sizeof(buf));
			sb_puts(&b, "0 (child ");
			sb_quote_str(&b, c->name);
			sb_puts(&b, " is permanent)");
			return fail_at(
			    s, e, sup->intensity_pos,
			    "an intensity above 0 for a supervisor with a permanent child", buf);
		}
	}
	return 0;
}

/* Index of the service serving channel name among services[0..below), or -1. */
static int32_t server_of(const struct pol_set *s, const char *name, uint32_t below)
{
	uint32_t i, k;

	for (i = 0; i < below; i++)
		for (k = 0; k < s->services[i].nserves; k++)
			if (str_eq(s->services[i].serves[k].name, name))
				return (int32_t)i;
	return -1;
}

static int check_channels(struct pol_set *s, struct pol_error *e)
{
	char buf[2 * QUOTE_MAX + 40];
	struct sb b;
	uint32_t i, k;

	for (i = 0; i < s->nservices; i++) {
		const struct pol_service *svc = &s->services[i];

		for (k = 0; k < svc->nserves; k++) {
			int32_t other = server_of(s, svc->serves[k].name, i);
			bool sup = str_eq(svc->serves[k].name, POL_SUP_CHANNEL);

			if (other < 0 && !sup)
				continue;
			sb_init(&b, buf, sizeof(buf));
			sb_quote_str(&b, svc->serves[k].name);
			if (sup) {
				sb_puts(&b, ", served by the supervisor");
			} else {
				sb_puts(&b, ", served by ");
				sb_quote_str(&b, s->services[other].name);
			}
			return fail_at(s, e, svc->serves[k].pos,
				       "a channel no other service serves", buf);
		}
	}
	for (i = 0; i < s->nservices; i++) {
		const struct pol_service *svc = &s->services[i];

		for (k = 0; k < svc->nopens; k++) {
			if (str_eq(svc->opens[k].name, POL_SUP_CHANNEL) ||
			    server_of(s, svc->opens[k].name, s->nservices) >= 0)
				continue;
			sb_init(&b, buf, sizeof(buf));
			sb_quote_str(&b, svc->opens[k].name);
			return fail_at(s, e, svc->opens[k].pos, "a channel some service serves",
				       buf);
		}
	}
	return 0;
}

static void sb_range(struct sb *b, const struct pol_ports *r)
{
	sb_hex(b, r->first);
	if (r->last != r->first) {
		sb_putc(b, '-');
		sb_hex(b, r->last);
	}
}

/* No IRQ line or I/O port is granted to two services. */
static int check_hardware(struct pol_set *s, struct pol_error *e)
{
	char buf[QUOTE_MAX + 64];
	struct sb b;
	uint32_t i, j, k, m, irq;

	for (i = 0; i < s->nservices; i++) {
		const struct pol_service *svc = &s->services[i];

		for (j = 0; j < i; j++) {
			const struct pol_service *o = &s->services[j];
			uint16_t both = svc->irqs & o->irqs;

			for (irq = 0; both && !(both & (1u << irq)); irq++)
				;
			if (both) {
				sb_init(&b, buf, sizeof(buf));
				sb_putc(&b, '\'');
				sb_u32(&b, irq);
				sb_puts(&b, "', granted to ");
				sb_quote_str(&b, o->name);
				return fail_at(s, e, svc->irq_pos[irq],
					       "an IRQ line no other service has", buf);
			}
			for (k = 0; k < svc->nports; k++) {
				for (m = 0; m < o->nports; m++) {
					const struct pol_ports *a = &svc->ports[k],
							       *c = &o->ports[m];

					if (a->last < c->first || c->last < a->first)
						continue;
					sb_init(&b, buf, sizeof(buf));
					sb_putc(&b, '\'');
					sb_range(&b, a);
					sb_puts(&b, "', overlapping ");
					sb_range(&b, c);
					sb_puts(&b, " of ");
					sb_quote_str(&b, o->name);
					return fail_at(s, e, a->pos, "ports no other service has",
						       buf);
				}
			}
		}
	}
	return 0;
}

int pol_check(struct pol_set *s, struct pol_error *e)
{
	int rc;

	if (e) {
		e->msg[0] = 0;
		e->line = e->col = 0;
	}
	if (!s)
		return -VE_INVAL;
	s->checked = false;
	rc = check_children(s, e);
	if (!rc)
		rc = check_cycles(s, e);
	if (!rc)
		rc = check_root(s, e);
	if (!rc)
		rc = check_intensity(s, e);
	if (!rc)
		rc = check_channels(s, e);
	if (!rc)
		rc = check_hardware(s, e);
	if (rc)
		return rc;
	s->checked = true;
	return 0;
}

int pol_service_find(const struct pol_set *s, const char *name)
{
	uint32_t i;

	if (!s || !name)
		return -VE_INVAL;
	for (i = 0; i < s->nservices; i++)
		if (str_eq(s->services[i].name, name))
			return (int)i;
	return -VE_NOENT;
}

int pol_supervisor_find(const struct pol_set *s, const char *name)
{
	uint32_t i;

	if (!s || !name)
		return -VE_INVAL;
	for (i = 0; i < s->nsupervisors; i++)
		if (str_eq(s->supervisors[i].name, name))
			return (int)i;
	return -VE_NOENT;
}

static const char *name_of(const char *const *names, size_t n, unsigned v)
{
	return v < n ? names[v] : "?";
}

const char *pol_restart_name(enum pol_restart r)
{
	return name_of(restart_names, 3, (unsigned)r);
}

const char *pol_strategy_name(enum pol_strategy st)
{
	return name_of(strategy_names, 3, (unsigned)st);
}

const char *pol_giveup_name(enum pol_giveup g)
{
	return name_of(giveup_names, 3, (unsigned)g);
}

const char *pol_state_name(enum pol_state st)
{
	return name_of(state_names, 2, (unsigned)st);
}

const char *pol_prio_name(enum ve_prio p)
{
	return name_of(prio_names, VE_NPRIO, (unsigned)p);
}
