/*
 * A strict parser for one flat JSON object per line (the COM2 event log).
 *
 * It is a single forward pass over the input with a write cursor into the
 * caller's buffer: each key and value is copied there, unescaped and
 * NUL-terminated, and the pair array points at the copies. Because
 * unescaping only shrinks text and every value is followed by at least one
 * delimiter byte in the input, the copies never need more than len + 1
 * bytes; the bound is still checked on every write.
 */
#include "jsonline.h"

/* Where the parser is in the input and in the output buffer. */
struct cursor {
	const char *p;	 /* next input byte */
	const char *end; /* one past the last input byte */
	char *out;	 /* next free output byte */
	char *oend;	 /* one past the last output byte */
};

static bool at_end(const struct cursor *c)
{
	return c->p >= c->end;
}

static void skip_ws(struct cursor *c)
{
	while (!at_end(c) && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

/* Consume byte ch if it is next; false (and nothing consumed) otherwise. */
static bool eat(struct cursor *c, char ch)
{
	if (at_end(c) || *c->p != ch)
		return false;
	c->p++;
	return true;
}

/* Append one byte to the output. -VE_RANGE if the buffer is full. */
static int put(struct cursor *c, char ch)
{
	if (c->out >= c->oend)
		return -VE_RANGE;
	*c->out++ = ch;
	return 0;
}

static int hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/*
 * Decode the four hex digits of a \u escape into one output byte: the
 * character itself if it is ASCII and not NUL (a NUL would cut the value
 * short), '?' otherwise. -VE_INVAL on a short or non-hex escape.
 */
static int unicode_escape(struct cursor *c)
{
	uint32_t cp = 0;

	for (int i = 0; i < 4; i++) {
		int d = at_end(c) ? -1 : hex_digit(*c->p);

		if (d < 0)
			return -VE_INVAL;
		cp = cp << 4 | (uint32_t)d;
		c->p++;
	}
	return put(c, cp >= 1 && cp < 0x80 ? (char)cp : '?');
}

/* The byte a one-letter escape stands for, or 0 if the letter is not one. */
static char simple_escape(char letter)
{
	switch (letter) {
	case '"':
		return '"';
	case '\\':
		return '\\';
	case '/':
		return '/';
	case 'b':
		return '\b';
	case 'f':
		return '\f';
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	default:
		return 0;
	}
}

/*
 * Copy the string starting at the opening quote into the output, unescaped
 * and NUL-terminated, and point *text at the copy.
 * -VE_INVAL: no opening quote, unterminated, bad escape, control byte.
 * -VE_RANGE: output full.
 */
static int parse_string(struct cursor *c, const char **text)
{
	int err;

	if (!eat(c, '"'))
		return -VE_INVAL;
	*text = c->out;
	for (;;) {
		unsigned char ch;

		if (at_end(c))
			return -VE_INVAL;
		ch = (unsigned char)*c->p++;
		if (ch == '"')
			return put(c, '\0');
		if (ch < 0x20)
			return -VE_INVAL;
		if (ch != '\\') {
			err = put(c, (char)ch);
		} else if (at_end(c)) {
			return -VE_INVAL;
		} else if (*c->p == 'u') {
			c->p++;
			err = unicode_escape(c);
		} else {
			char e = simple_escape(*c->p++);

			err = e ? put(c, e) : -VE_INVAL;
		}
		if (err)
			return err;
	}
}

static bool is_digit(const struct cursor *c)
{
	return !at_end(c) && *c->p >= '0' && *c->p <= '9';
}

/* Consume one or more decimal digits; false if there is none. */
static bool digits(struct cursor *c)
{
	if (!is_digit(c))
		return false;
	while (is_digit(c))
		c->p++;
	return true;
}

/*
 * Consume a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
 * False if the text there is not one.
 */
static bool scan_number(struct cursor *c)
{
	eat(c, '-');
	if (eat(c, '0')) {
		if (is_digit(c))
			return false; /* no leading zeros */
	} else if (!digits(c)) {
		return false;
	}
	if (eat(c, '.') && !digits(c))
		return false;
	if (eat(c, 'e') || eat(c, 'E')) {
		if (!eat(c, '+'))
			eat(c, '-');
		if (!digits(c))
			return false;
	}
	return true;
}

/* Consume the keyword word if the input starts with it. */
static bool scan_word(struct cursor *c, const char *word)
{
	const char *p = c->p;

	for (; *word; word++, p++)
		if (p >= c->end || *p != *word)
			return false;
	c->p = p;
	return true;
}

/*
 * A number, true, false or null: check its syntax and copy it as written.
 * The byte after it must be a delimiter, so "truex" or "12abc" fail.
 * -VE_INVAL on bad syntax, -VE_RANGE if the output is full.
 */
static int parse_literal(struct cursor *c, const char **text)
{
	const char *start = c->p;
	bool ok;
	int err = 0;

	if (*c->p == 't')
		ok = scan_word(c, "true");
	else if (*c->p == 'f')
		ok = scan_word(c, "false");
	else if (*c->p == 'n')
		ok = scan_word(c, "null");
	else
		ok = scan_number(c);
	if (!ok || at_end(c))
		return -VE_INVAL;
	if (*c->p != ',' && *c->p != '}' && *c->p != ' ' && *c->p != '\t' && *c->p != '\n' &&
	    *c->p != '\r')
		return -VE_INVAL;
	*text = c->out;
	for (const char *p = start; p < c->p && !err; p++)
		err = put(c, *p);
	return err ? err : put(c, '\0');
}

/*
 * One value. Objects and arrays are refused (-VE_INVAL): lines are flat by
 * contract, see jsonline.h.
 */
static int parse_value(struct cursor *c, struct jsonline_pair *pair)
{
	if (at_end(c))
		return -VE_INVAL;
	pair->is_string = *c->p == '"';
	if (pair->is_string)
		return parse_string(c, &pair->value);
	if (*c->p == '{' || *c->p == '[')
		return -VE_INVAL;
	return parse_literal(c, &pair->value);
}

/* The members between the braces; the opening brace is already eaten. */
static int parse_members(struct cursor *c, struct jsonline *out)
{
	skip_ws(c);
	if (eat(c, '}'))
		return 0;
	for (;;) {
		struct jsonline_pair *pair;
		int err;

		if (out->npairs == JSONLINE_MAX_PAIRS)
			return -VE_RANGE;
		pair = &out->pair[out->npairs];
		err = parse_string(c, &pair->key);
		if (err)
			return err;
		skip_ws(c);
		if (!eat(c, ':'))
			return -VE_INVAL;
		skip_ws(c);
		err = parse_value(c, pair);
		if (err)
			return err;
		out->npairs++;
		skip_ws(c);
		if (eat(c, '}'))
			return 0;
		if (!eat(c, ','))
			return -VE_INVAL;
		skip_ws(c);
	}
}

int jsonline_parse(const char *line, size_t len, char *buf, size_t bufsize, struct jsonline *out)
{
	struct cursor c;
	int err;

	if (!out)
		return -VE_INVAL;
	out->npairs = 0;
	if (!line || !buf)
		return -VE_INVAL;
	c.p = line;
	c.end = line + len;
	c.out = buf;
	c.oend = buf + bufsize;

	skip_ws(&c);
	err = eat(&c, '{') ? parse_members(&c, out) : -VE_INVAL;
	if (!err) {
		skip_ws(&c);
		if (!at_end(&c))
			err = -VE_INVAL; /* trailing text, or a NUL byte */
	}
	if (err) {
		out->npairs = 0;
		return err;
	}
	return (int)out->npairs;
}

static bool str_eq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

const struct jsonline_pair *jsonline_find(const struct jsonline *obj, const char *key)
{
	if (!obj || !key)
		return NULL;
	for (size_t i = 0; i < obj->npairs && i < JSONLINE_MAX_PAIRS; i++)
		if (str_eq(obj->pair[i].key, key))
			return &obj->pair[i];
	return NULL;
}
