/*
 * RESP2 on the wire: the request parser (multibulk and inline, across any
 * split of the byte stream, with Redis 7.0's protocol errors) and the reply
 * encoder every handler writes through.
 *
 * Memory follows the bytes that arrive, never a length a client declares:
 * a request's bytes stay in c->in until it is whole, a bulk length past
 * proto-max-bulk-len or a count past max_args is refused before anything
 * is allocated for it, and the input buffer only grows by what was
 * received. A reply that would take c->out past max_output marks the client
 * out_overflow (to be closed) instead of growing without bound.
 */
#include "resp.h"

#include <stdarg.h>

#include "fmt.h"
#include "string.h"

/* ---- the reply encoder ---- */

/* Room for n more bytes in c->out; false (and the client marked to close)
 * past max_output or out of memory. */
static bool out_reserve(struct rs_client *c, size_t n)
{
	size_t need = c->out_len + n, cap;
	uint8_t *p;

	if (c->out_overflow)
		return false;
	if (need <= c->out_cap)
		return true;
	if (need > c->max_output)
		goto overflow;
	cap = c->out_cap ? c->out_cap : 256;
	while (cap < need)
		cap *= 2;
	if (cap > c->max_output)
		cap = c->max_output;
	p = rs_realloc(c->out, cap);
	if (p == NULL)
		goto overflow;
	c->out = p;
	c->out_cap = cap;
	return true;
overflow:
	c->out_overflow = true;
	c->close_after_reply = true;
	return false;
}

static void out_put(struct rs_client *c, const void *p, size_t n)
{
	if (n == 0 || !out_reserve(c, n))
		return;
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
}

/* v in decimal into buf (>= 21 bytes); returns the length. */
static size_t fmt_int(char *buf, int64_t v)
{
	char rev[20];
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	size_t n = 0, k = 0;

	do {
		rev[k++] = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	if (v < 0)
		buf[n++] = '-';
	while (k > 0)
		buf[n++] = rev[--k];
	return n;
}

/* A type byte, a number and CRLF: ":12\r\n", "$3\r\n", "*2\r\n". */
static void out_header(struct rs_client *c, char type, int64_t v)
{
	char buf[24];
	size_t n;

	buf[0] = type;
	n = 1 + fmt_int(buf + 1, v);
	buf[n++] = '\r';
	buf[n++] = '\n';
	out_put(c, buf, n);
}

void rs_reply_simple(struct rs_client *c, const char *s)
{
	out_put(c, "+", 1);
	out_put(c, s, strlen(s));
	out_put(c, "\r\n", 2);
}

/* CR and LF in an error become spaces, as Redis does, so that text from a
 * client cannot end the line early and break the framing. */
void rs_reply_error(struct rs_client *c, const char *s)
{
	size_t n = strlen(s);

	out_put(c, "-", 1);
	if (!out_reserve(c, n + 2))
		return;
	for (size_t i = 0; i < n; i++)
		c->out[c->out_len++] = s[i] == '\r' || s[i] == '\n' ? ' ' : (uint8_t)s[i];
	out_put(c, "\r\n", 2);
}

void rs_reply_errorf(struct rs_client *c, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	fmt_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	rs_reply_error(c, buf);
}

void rs_reply_int(struct rs_client *c, int64_t v)
{
	out_header(c, ':', v);
}

void rs_reply_bulk(struct rs_client *c, const void *p, size_t n)
{
	out_header(c, '$', (int64_t)n);
	out_put(c, p, n);
	out_put(c, "\r\n", 2);
}

void rs_reply_bulk_cstr(struct rs_client *c, const char *s)
{
	rs_reply_bulk(c, s, strlen(s));
}

void rs_reply_bulk_int(struct rs_client *c, int64_t v)
{
	char buf[24];

	rs_reply_bulk(c, buf, fmt_int(buf, v));
}

void rs_reply_double(struct rs_client *c, double d)
{
	char buf[RS_DOUBLE_BUF];

	rs_reply_bulk(c, buf, rs_fmt_double(buf, sizeof(buf), d, false));
}

void rs_reply_nil(struct rs_client *c)
{
	out_put(c, "$-1\r\n", 5);
}

void rs_reply_array(struct rs_client *c, int64_t n)
{
	out_header(c, '*', n);
}

void rs_reply_nil_array(struct rs_client *c)
{
	out_put(c, "*-1\r\n", 5);
}

void rs_reply_ok(struct rs_client *c)
{
	out_put(c, "+OK\r\n", 5);
}

void rs_sent(struct rs_client *c, size_t n)
{
	if (n > c->out_len)
		n = c->out_len;
	if (n == 0)
		return;
	memmove(c->out, c->out + n, c->out_len - n);
	c->out_len -= n;
}

/* ---- the request parser ---- */

enum parse_result { P_MORE, P_READY, P_ERROR };

/* A protocol error: Redis' reply, and the connection ends after it. */
static enum parse_result proto_error(struct rs_client *c, const char *what)
{
	rs_reply_errorf(c, "ERR Protocol error: %s", what);
	c->close_after_reply = true;
	return P_ERROR;
}

/* The first b in p[0..n), as Redis' strchr on its NUL-terminated query
 * buffer finds it: a NUL before it hides it, so such a line never ends
 * (and is refused once past max_inline), as in Redis. */
static const uint8_t *find_byte(const uint8_t *p, uint8_t b, size_t n)
{
	for (size_t i = 0; i < n && p[i] != 0; i++)
		if (p[i] == b)
			return p + i;
	return NULL;
}

/* Out of memory while reading a request: the connection cannot go on. */
static enum parse_result oom_error(struct rs_client *c)
{
	rs_reply_error(c, RS_ERR_OOM);
	c->close_after_reply = true;
	return P_ERROR;
}

/* Room for one more argument (argc < max_args was checked). */
static bool arg_reserve(struct rs_client *c)
{
	uint32_t cap = c->argv_cap ? c->argv_cap * 2 : 8;
	struct rs_arg *v;
	size_t *off;

	if (c->argc < c->argv_cap)
		return true;
	v = rs_realloc(c->argv, cap * sizeof(*v));
	if (v == NULL)
		return false;
	c->argv = v;
	off = rs_realloc(c->arg_off, cap * sizeof(*off));
	if (off == NULL)
		return false;
	c->arg_off = off;
	c->argv_cap = cap;
	return true;
}

/* Record in[off, off + len) as the next argument. */
static bool arg_add(struct rs_client *c, size_t off, size_t len)
{
	if (!arg_reserve(c))
		return false;
	c->arg_off[c->argc] = off - c->req_start;
	c->argv[c->argc].len = len;
	c->argc++;
	return true;
}

/* The number between in[from] and in[cr] (string2ll rules). */
static bool line_int(const struct rs_client *c, size_t from, size_t cr, int64_t *v)
{
	struct rs_arg a = { c->in + from, cr - from };

	return rs_arg_int(&a, v);
}

/*
 * The next "X<number>\r\n" line at in_pos: P_READY with *cr at its '\r',
 * P_MORE if it has not all arrived. As Redis, the byte after '\r' is taken
 * as the '\n' unseen, and a line longer than max_inline is an error.
 */
static enum parse_result find_line(struct rs_engine *e, struct rs_client *c, size_t *cr,
				   const char *too_big)
{
	size_t avail = c->in_len - c->in_pos;
	const uint8_t *p = find_byte(c->in + c->in_pos, '\r', avail);

	if (p == NULL)
		return avail > e->lim.max_inline ? proto_error(c, too_big) : P_MORE;
	*cr = (size_t)(p - c->in);
	return *cr + 2 <= c->in_len ? P_READY : P_MORE;
}

/* "*<count>\r\n" at in_pos: how many bulks the request has. */
static enum parse_result parse_count(struct rs_engine *e, struct rs_client *c)
{
	size_t cr;
	int64_t n;
	enum parse_result r = find_line(e, c, &cr, "too big mbulk count string");

	if (r != P_READY)
		return r;
	if (!line_int(c, c->in_pos + 1, cr, &n) || n > INT32_MAX || n > (int64_t)e->lim.max_args)
		return proto_error(c, "invalid multibulk length");
	c->in_pos = cr + 2;
	c->ml_pending = n > 0 ? n : 0; /* "*0" and "*-1" are requests of nothing */
	return P_READY;
}

/* "$<len>\r\n": the next bulk's length, checked before anything is kept. */
static enum parse_result parse_bulk_len(struct rs_engine *e, struct rs_client *c)
{
	size_t cr;
	int64_t n;
	enum parse_result r = find_line(e, c, &cr, "too big bulk count string");

	if (r != P_READY)
		return r;
	if (c->in[c->in_pos] != '$') {
		rs_reply_errorf(c, "ERR Protocol error: expected '$', got '%c'", c->in[c->in_pos]);
		c->close_after_reply = true;
		return P_ERROR;
	}
	if (!line_int(c, c->in_pos + 1, cr, &n) || n < 0 || (uint64_t)n > e->lim.proto_max_bulk_len)
		return proto_error(c, "invalid bulk length");
	c->in_pos = cr + 2;
	c->bulk_len = n;
	return P_READY;
}

/* The bulks of a multibulk request, as far as they have arrived. The two
 * bytes after a bulk are skipped unseen, as Redis does. */
static enum parse_result parse_bulks(struct rs_engine *e, struct rs_client *c)
{
	while (c->ml_pending > 0) {
		enum parse_result r = c->bulk_len < 0 ? parse_bulk_len(e, c) : P_READY;

		if (r != P_READY)
			return r;
		if (c->in_len - c->in_pos < (size_t)c->bulk_len + 2)
			return P_MORE;
		if (!arg_add(c, c->in_pos, (size_t)c->bulk_len))
			return oom_error(c);
		c->in_pos += (size_t)c->bulk_len + 2;
		c->bulk_len = -1;
		c->ml_pending--;
	}
	return P_READY;
}

/* ---- inline requests: Redis' sdssplitargs, unquoting in place ---- */

static bool is_space(uint8_t ch)
{
	return ch == ' ' || (ch >= '\t' && ch <= '\r');
}

static bool is_hex(uint8_t ch)
{
	return (ch >= '0' && ch <= '9') || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f');
}

static uint8_t hex_val(uint8_t ch)
{
	return ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10;
}

/* The line in[from, end), read as C reads a string: a NUL ends it. */
struct line {
	uint8_t *in;
	size_t i, end, w; /* read and write positions; w <= i */
};

static uint8_t at(const struct line *l, size_t k)
{
	return k < l->end ? l->in[k] : 0;
}

static uint8_t unescape(uint8_t ch)
{
	switch (ch) {
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	case 'b':
		return '\b';
	case 'a':
		return '\a';
	default:
		return ch;
	}
}

/* One byte inside "double quotes": 1 more, 0 the token ends, -1 error. */
static int dquoted(struct line *l)
{
	uint8_t ch = at(l, l->i), nx = at(l, l->i + 1);

	if (ch == '\\' && nx == 'x' && is_hex(at(l, l->i + 2)) && is_hex(at(l, l->i + 3))) {
		l->in[l->w++] = (uint8_t)(hex_val(at(l, l->i + 2)) * 16 + hex_val(at(l, l->i + 3)));
		l->i += 3;
	} else if (ch == '\\' && nx != 0) {
		l->in[l->w++] = unescape(nx);
		l->i++;
	} else if (ch == '"') {
		return nx != 0 && !is_space(nx) ? -1 : 0; /* a quote ends a token */
	} else if (ch == 0) {
		return -1;
	} else {
		l->in[l->w++] = ch;
	}
	return 1;
}

static int squoted(struct line *l)
{
	uint8_t ch = at(l, l->i), nx = at(l, l->i + 1);

	if (ch == '\\' && nx == '\'') {
		l->in[l->w++] = '\'';
		l->i++;
	} else if (ch == '\'') {
		return nx != 0 && !is_space(nx) ? -1 : 0;
	} else if (ch == 0) {
		return -1;
	} else {
		l->in[l->w++] = ch;
	}
	return 1;
}

/* One token from l->i; false on unbalanced quotes. */
static bool split_token(struct line *l)
{
	int quote = 0, r = 1;

	while (r > 0) {
		uint8_t ch = at(l, l->i);

		if (quote == '"') {
			r = dquoted(l);
		} else if (quote == '\'') {
			r = squoted(l);
		} else if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t' || ch == 0) {
			r = 0;
		} else if (ch == '"' || ch == '\'') {
			quote = ch;
		} else {
			l->in[l->w++] = ch;
		}
		if (r < 0)
			return false;
		if (at(l, l->i) != 0)
			l->i++;
	}
	return true;
}

/* Split in[from, end) into arguments, in place. P_ERROR on bad quotes. */
static enum parse_result split_inline(struct rs_engine *e, struct rs_client *c, size_t from,
				      size_t end)
{
	struct line l = { c->in, from, end, from };

	for (;;) {
		size_t tok;

		while (at(&l, l.i) != 0 && is_space(at(&l, l.i)))
			l.i++;
		if (at(&l, l.i) == 0)
			return P_READY;
		tok = l.w;
		if (!split_token(&l))
			return proto_error(c, "unbalanced quotes in request");
		if (c->argc >= e->lim.max_args)
			return proto_error(c, "too big inline request");
		if (!arg_add(c, tok, l.w - tok))
			return oom_error(c);
	}
}

/* A request that does not start with '*': one line, split as a shell
 * would (Redis' inline protocol, for telnet and redis-cli's pipes). */
static enum parse_result parse_inline(struct rs_engine *e, struct rs_client *c)
{
	size_t avail = c->in_len - c->in_pos, end, next;
	const uint8_t *nl = find_byte(c->in + c->in_pos, '\n', avail);
	enum parse_result r;

	if (nl == NULL)
		return avail > e->lim.max_inline ? proto_error(c, "too big inline request")
						 : P_MORE;
	end = (size_t)(nl - c->in);
	next = end + 1;
	if (end > c->in_pos && c->in[end - 1] == '\r')
		end--;
	r = split_inline(e, c, c->in_pos, end);
	if (r == P_READY)
		c->in_pos = next;
	return r;
}

static enum parse_result parse_request(struct rs_engine *e, struct rs_client *c)
{
	if (c->ml_pending < 0) {
		enum parse_result r;

		if (c->in_pos == c->in_len)
			return P_MORE;
		if (c->in[c->in_pos] != '*')
			return parse_inline(e, c);
		r = parse_count(e, c);
		if (r != P_READY)
			return r;
	}
	return parse_bulks(e, c);
}

/* ---- the input buffer ---- */

static bool in_append(struct rs_engine *e, struct rs_client *c, const uint8_t *data, size_t n)
{
	size_t need = c->in_len + n, cap;
	uint8_t *p;

	if (n == 0)
		return true;
	if (need > e->lim.max_query)
		return false;
	if (need > c->in_cap) {
		cap = c->in_cap ? c->in_cap : 1024;
		while (cap < need)
			cap *= 2;
		p = rs_realloc(c->in, cap);
		if (p == NULL)
			return false;
		c->in = p;
		c->in_cap = cap;
	}
	memcpy(c->in + c->in_len, data, n);
	c->in_len = need;
	return true;
}

/* Drop the bytes of the requests already run; give back a big buffer
 * once it is empty (a large bulk should not pin its memory). */
static void in_compact(struct rs_client *c)
{
	if (c->req_start > 0) {
		memmove(c->in, c->in + c->req_start, c->in_len - c->req_start);
		c->in_len -= c->req_start;
		c->in_pos -= c->req_start;
		c->req_start = 0;
	}
	if (c->in_len == 0 && c->in_cap > 16384) {
		rs_free(c->in);
		c->in = NULL;
		c->in_cap = 0;
	}
}

/* Run the whole request just parsed and get ready for the next. */
static void run_request(struct rs_engine *e, struct rs_client *c)
{
	for (uint32_t i = 0; i < c->argc; i++)
		c->argv[i].p = c->in + c->req_start + c->arg_off[i];
	if (c->argc > 0)
		rs_dispatch(e, c, c->argc, c->argv);
	c->argc = 0;
	c->ml_pending = -1;
	c->bulk_len = -1;
	c->req_start = c->in_pos;
}

size_t rs_pending(const struct rs_client *c)
{
	return c->in_len - c->req_start;
}

size_t rs_feed(struct rs_engine *e, struct rs_client *c, const uint8_t *data, size_t n)
{
	size_t base = c->in_len, used = n;

	if (c->close_after_reply)
		return 0;
	if (!in_append(e, c, data, n)) {
		/* past client-query-buffer-limit or out of memory: Redis closes
		 * such a client without a reply */
		c->close_after_reply = true;
		return 0;
	}
	while (!c->close_after_reply && parse_request(e, c) == P_READY)
		run_request(e, c);
	if (c->close_after_reply)
		used = c->in_pos > base ? c->in_pos - base : 0;
	if (used > n)
		used = n;
	in_compact(c);
	return used;
}
