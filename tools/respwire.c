/*
 * RESP2 encoding and parsing for tools/respcheck (see respwire.h). Lines
 * end in CRLF; a bulk's length is checked against its CRLF, so a stream
 * that lost or gained a byte is caught as malformed, not misread.
 */
#include <stdio.h>
#include <string.h>

#include "respwire.h"

/* Longest bulk we accept: a checking client never asks for more. */
#define BULK_MAX (1L << 20)

/* Append "PREFIXn\r\n" to out at *n; false if it does not fit. */
static bool put_len(char *out, size_t cap, size_t *n, char prefix, size_t v)
{
	int w = snprintf(out + *n, cap - *n, "%c%zu\r\n", prefix, v);

	if (w < 0 || (size_t)w >= cap - *n)
		return false;
	*n += (size_t)w;
	return true;
}

size_t resp_command(char *out, size_t cap, int argc, const char *const *argv)
{
	size_t n = 0;

	if (!put_len(out, cap, &n, '*', (size_t)argc))
		return 0;
	for (int i = 0; i < argc; i++) {
		size_t l = strlen(argv[i]);

		if (!put_len(out, cap, &n, '$', l) || cap - n < l + 2)
			return 0;
		memcpy(out + n, argv[i], l);
		memcpy(out + n + l, "\r\n", 2);
		n += l + 2;
	}
	return n;
}

/* The line at buf: its length before CRLF, -2 if incomplete, -1 if bad. */
static long line_len(const char *buf, size_t len)
{
	const char *cr = memchr(buf, '\r', len);

	if (!cr)
		return memchr(buf, '\n', len) ? -1 : -2;
	if ((size_t)(cr - buf) + 1 >= len)
		return -2;
	return cr[1] == '\n' ? cr - buf : -1;
}

/* A signed decimal of exactly len bytes; false if it is not one. */
static bool parse_num(const char *s, long len, long long *v)
{
	long i = s[0] == '-';
	long long x = 0;

	if (len <= i || len - i > 18)
		return false;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		x = x * 10 + (s[i] - '0');
	}
	*v = s[0] == '-' ? -x : x;
	return true;
}

/* The body of a bulk of n bytes that starts at body (after its header). */
static long parse_bulk(const char *buf, size_t len, long hdr, long long n, struct resp_reply *r)
{
	if (n == -1) {
		r->type = RESP_NIL;
		return hdr;
	}
	if (n < 0 || n > BULK_MAX)
		return -1;
	if ((size_t)hdr + (size_t)n + 2 > len)
		return 0;
	if (buf[hdr + n] != '\r' || buf[hdr + n + 1] != '\n')
		return -1;
	r->type = RESP_BULK;
	r->s = buf + hdr;
	r->len = (size_t)n;
	return hdr + (long)n + 2;
}

long resp_parse(const char *buf, size_t len, struct resp_reply *r)
{
	long l = len ? line_len(buf, len) : -2;
	long long v = 0;

	if (l < 0)
		return l == -2 ? 0 : -1;
	if (l == 0)
		return -1; /* no type byte */
	memset(r, 0, sizeof(*r));
	r->s = buf + 1;
	r->len = (size_t)l - 1;
	switch (buf[0]) {
	case '+':
		r->type = RESP_SIMPLE;
		return l + 2;
	case '-':
		r->type = RESP_ERROR;
		return l + 2;
	case ':':
		r->type = RESP_INT;
		return parse_num(buf + 1, l - 1, &r->n) ? l + 2 : -1;
	case '$':
		if (!parse_num(buf + 1, l - 1, &v))
			return -1;
		return parse_bulk(buf, len, l + 2, v, r);
	case '*':
		if (!parse_num(buf + 1, l - 1, &v) || v < -1)
			return -1;
		r->type = v == -1 ? RESP_NIL : RESP_ARRAY;
		r->n = v;
		return l + 2;
	default:
		return -1;
	}
}

static long whole_at(const char *buf, size_t len, int depth)
{
	struct resp_reply r;
	long used = resp_parse(buf, len, &r);

	if (used <= 0 || r.type != RESP_ARRAY)
		return used;
	if (depth >= RESP_MAX_DEPTH)
		return -1;
	for (long long i = 0; i < r.n; i++) {
		long more = whole_at(buf + used, len - (size_t)used, depth + 1);

		if (more <= 0)
			return more;
		used += more;
	}
	return used;
}

long resp_whole(const char *buf, size_t len)
{
	return whole_at(buf, len, 0);
}

bool resp_is(const struct resp_reply *r, enum resp_type t, const char *s)
{
	return r->type == t && r->len == strlen(s) && memcmp(r->s, s, r->len) == 0;
}
