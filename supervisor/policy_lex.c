/*
 * The words of the policy language (policy_impl.h): a line split into
 * words at spaces and tabs, a '#' where a word would start ending it; the
 * values a word may hold (names, numbers, durations, sizes, one of a list);
 * and the one message a mistake produces, pointing at the word that is
 * wrong. Freestanding: kernel/lib's fmt and string functions.
 */
#include "policy_impl.h"

#include "fmt.h"
#include "num.h"

const char *pol_quote(char *q, const char *s, size_t n)
{
	size_t i, k = 0;

	q[k++] = '\'';
	for (i = 0; i < n && i < POL_QUOTE_MAX; i++)
		q[k++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	if (n > POL_QUOTE_MAX) {
		q[k++] = '.';
		q[k++] = '.';
		q[k++] = '.';
	}
	q[k++] = '\'';
	q[k] = 0;
	return q;
}

int pol_set_error(struct pol_error *e, const char *file, uint32_t line, uint32_t col,
		  const char *expected, const char *found)
{
	if (!e)
		return -VE_INVAL;
	fmt_snprintf(e->msg, sizeof(e->msg), "%s:%u:%u: expected %s, found %s", file, line, col,
		     expected, found);
	e->line = line;
	e->col = col;
	return -VE_INVAL;
}

int pol_fail(struct parser *p, uint32_t col, const char *expected, const char *found)
{
	return pol_set_error(p->e, p->fname, p->line, col, expected, found);
}

int pol_fail_word(struct parser *p, const struct word *w, const char *expected)
{
	char q[POL_QUOTE_BUF];

	return pol_fail(p, w->col, expected, w->n ? pol_quote(q, w->s, w->n) : "end of line");
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/*
 * Splits off the next word of the line into *w. Returns false at the end of
 * the line or at a comment, with w->n == 0 and w->col where a word would be.
 */
bool pol_next_word(struct parser *p, struct word *w)
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

int pol_expect_eol(struct parser *p)
{
	struct word w;

	if (pol_next_word(p, &w))
		return pol_fail_word(p, &w, "end of line");
	return 0;
}

bool pol_word_is(const struct word *w, const char *lit)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		if (lit[i] == 0 || lit[i] != w->s[i]) /* a NUL in the word ends lit early */
			return false;
	return lit[w->n] == 0;
}

/* A word with its first `skip` bytes dropped and at most n bytes kept. */
struct word pol_sub_word(const struct word *w, size_t skip, size_t n)
{
	struct word r = { w->s + skip, n, w->col + (uint32_t)skip };

	return r;
}

struct pol_pos pol_pos_of(const struct parser *p, const struct word *w)
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
int pol_take_name(struct parser *p, const struct word *w, char *dst)
{
	size_t i;

	if (w->n == 0 || w->n >= POL_NAME_MAX)
		return pol_fail_word(p, w, POL_NAME_RULE);
	for (i = 0; i < w->n; i++)
		if (!name_char(w->s[i]))
			return pol_fail_word(p, w, POL_NAME_RULE);
	for (i = 0; i < w->n; i++)
		dst[i] = w->s[i];
	dst[w->n] = 0;
	return 0;
}

/*
 * Parses the n bytes at s as an unsigned number (decimal, or hex after 0x
 * if hex_ok) no larger than max. Returns false on anything else.
 */
bool pol_parse_num(const char *s, size_t n, bool hex_ok, uint32_t max, uint32_t *out)
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
	struct word unit = pol_sub_word(w, nd, w->n - nd);
	uint32_t v;

	if (!pol_parse_num(w->s, nd, false, max, &v))
		return false;
	for (u = 0; u < nunits; u++) {
		if (!pol_word_is(&unit, names[u]))
			continue;
		if (v > max / mult[u] || v * mult[u] < min)
			return false;
		*out = v * mult[u];
		return true;
	}
	return false;
}

bool pol_parse_duration(const struct word *w, uint32_t *ms)
{
	static const char *const names[] = { "ms", "s", "m" };
	static const uint32_t mult[] = { 1, 1000, 60000 };

	return parse_scaled(w, names, mult, 3, 1, POL_DURATION_MAX_MS, ms);
}

bool pol_parse_size(const struct word *w, uint32_t *bytes)
{
	static const char *const names[] = { "", "KiB", "MiB" };
	static const uint32_t mult[] = { 1, 1024, 1024 * 1024 };

	return parse_scaled(w, names, mult, 3, 1, VE_CHAN_QBYTES_MAX, bytes);
}

/* Reads one word that must be a duration. */
int pol_need_duration(struct parser *p, uint32_t *ms)
{
	struct word w;

	if (!pol_next_word(p, &w) || !pol_parse_duration(&w, ms))
		return pol_fail_word(p, &w, POL_DURATION_RULE);
	return 0;
}

/*
 * Reads the last word of the line, which must be one of the n words in
 * names[] (whose list, for the message, is rule), and sets *out to its
 * index and *w to the word.
 */
int pol_need_choice(struct parser *p, const char *const *names, size_t n, const char *rule,
		    unsigned *out, struct word *w)
{
	size_t i;

	pol_next_word(p, w);
	for (i = 0; i < n; i++) {
		if (w->n && pol_word_is(w, names[i])) {
			*out = (unsigned)i;
			return pol_expect_eol(p);
		}
	}
	return pol_fail_word(p, w, rule);
}
