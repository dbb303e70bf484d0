/*
 * libFuzzer target for kv's Redis protocol layer: the RESP parser, command
 * dispatch and every command the engine links (svc/kv/resp.c, cmd*.c,
 * util.c), which read bytes from the network and so must never crash,
 * hang, leak or read out of bounds on any input.
 *
 * An input whose first byte is odd is a byte stream: it is fed to one
 * client in chunks whose sizes the input chooses, and after each chunk
 * checks what callers rely on: a feed consumes all it is given unless the
 * client is to be closed, and then nothing more; the replies are whole,
 * well-formed RESP2; a second client still gets +PONG for PING; and all
 * the engine's memory comes back when the clients and engine go. Small
 * limits (inline line, argument count, output) put those paths in reach.
 *
 * An input whose first byte is even is a number: rs_arg_double and
 * rs_arg_ldouble must agree with libc's strtod and strtold under Redis'
 * rules, bit for bit, rs_fmt_double with printf's "%.17g" and
 * rs_fmt_ldouble with "%.17Lf" trimmed as Redis does.
 *
 *	make build/fuzz/fuzz_resp
 *	build/fuzz/fuzz_resp -max_total_time=60 -dict=tests/unit/fuzz_resp.dict \
 *		build/fuzz/corpus-resp tests/unit/fixtures/resp
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp.h"

static void check(bool ok)
{
	if (!ok)
		abort();
}

/* ---- RESP2 replies ---- */

/* The line at p[0..n) up to CRLF, no CR or LF inside; its length. */
static bool resp_line(const uint8_t *p, size_t n, size_t *len)
{
	for (size_t i = 0; i + 1 < n; i++) {
		if (p[i] == '\r' && p[i + 1] == '\n') {
			*len = i;
			return true;
		}
		if (p[i] == '\r' || p[i] == '\n')
			return false;
	}
	return false;
}

static bool resp_int(const uint8_t *p, size_t n, int64_t *v)
{
	struct rs_arg a = { p, n };

	return rs_arg_int(&a, v);
}

/* One whole reply at p; returns its size, 0 if malformed or cut. */
static size_t resp_reply(const uint8_t *p, size_t n, int depth)
{
	size_t len, used;
	int64_t v;

	if (n == 0 || depth > 8 || !resp_line(p, n, &len))
		return 0;
	used = len + 2;
	switch (p[0]) {
	case '+':
	case '-':
		return used;
	case ':':
		return resp_int(p + 1, len - 1, &v) ? used : 0;
	case '$':
		if (!resp_int(p + 1, len - 1, &v) || v < -1)
			return 0;
		if (v == -1)
			return used;
		if (n - used < (uint64_t)v + 2 || p[used + v] != '\r' || p[used + v + 1] != '\n')
			return 0;
		return used + (size_t)v + 2;
	case '*':
		if (!resp_int(p + 1, len - 1, &v) || v < -1)
			return 0;
		for (int64_t i = 0; i < v; i++) {
			size_t k = resp_reply(p + used, n - used, depth + 1);

			if (k == 0)
				return 0;
			used += k;
		}
		return used;
	default:
		return 0;
	}
}

static void check_replies(struct rs_client *c)
{
	size_t off = 0;

	if (c->out_overflow)
		return; /* cut short on purpose: the client is being closed */
	while (off < c->out_len) {
		size_t k = resp_reply(c->out + off, c->out_len - off, 0);

		check(k > 0);
		off += k;
	}
	rs_sent(c, c->out_len);
}

/* ---- the byte stream ---- */

static void fuzz_stream(const uint8_t *data, size_t size)
{
	static struct rs_engine e;
	struct rs_client *c, *other;
	size_t base = rs_used(), off = 1;
	uint8_t seed = data[0];

	check(rs_engine_init(&e, 1700000000000ull, seed | 1) == 0);
	e.lim.max_inline = 256;
	e.lim.max_args = 64;
	e.lim.max_output = 1 << 16;
	c = rs_client_new(&e);
	other = rs_client_new(&e);
	check(c != NULL && other != NULL);
	while (off < size) {
		size_t want = (seed & 2) ? size - off : 1 + (data[off] * 7u + seed) % 61;
		size_t n = want < size - off ? want : size - off, used;
		bool closing = c->close_after_reply;

		e.now_ms += data[off] % 3 * 500;
		used = rs_feed(&e, c, data + off, n);
		check(used <= n);
		check(closing ? used == 0 : (used == n || c->close_after_reply));
		check_replies(c);
		check(rs_feed(&e, other, (const uint8_t *)"PING\r\n", 6) == 6);
		check(other->out_len == 7 && memcmp(other->out, "+PONG\r\n", 7) == 0);
		rs_sent(other, 7);
		rs_active_expire(&e, 20);
		off += n;
	}
	rs_client_free(&e, c);
	rs_client_free(&e, other);
	rs_engine_free(&e);
	check(rs_used() == base);
}

/* ---- numbers against libc ---- */

static bool libc_accepts(const char *s, size_t n, double *d)
{
	char *end;

	if (n == 0 || isspace((unsigned char)s[0]))
		return false;
	errno = 0;
	*d = strtod(s, &end);
	if ((size_t)(end - s) != n || isnan(*d))
		return false;
	return !(errno == ERANGE && (*d == HUGE_VAL || *d == -HUGE_VAL || *d == 0));
}

/* The same for long doubles: strtold, and Redis' "%.17Lf" form. */
static void fuzz_ldouble(const char *s, size_t n)
{
	static char mine[RS_LDOUBLE_BUF], ref[RS_LDOUBLE_BUF];
	struct rs_arg a = { (const uint8_t *)s, n };
	long double v = 0, want;
	char *end;
	int l;
	bool ok = rs_arg_ldouble(&a, &v), libc;

	errno = 0;
	want = strtold(s, &end);
	libc = n > 0 && n < RS_LDOUBLE_BUF && !isspace((unsigned char)s[0]) &&
	       (size_t)(end - s) == n && !isnan(want) &&
	       !(errno == ERANGE && (isinf(want) || want == 0));
	check(ok == libc);
	if (!ok)
		return;
	check(memcmp(&v, &want, 10) == 0);
	rs_fmt_ldouble(mine, sizeof(mine), v);
	l = snprintf(ref, sizeof(ref), "%.17Lf", v);
	if (l >= (int)sizeof(ref))
		return; /* past Redis' buffer: its answer is not a number */
	if (strchr(ref, '.')) {
		while (ref[l - 1] == '0')
			ref[--l] = '\0';
		if (ref[l - 1] == '.')
			ref[--l] = '\0';
	}
	if (strcmp(ref, "-0") == 0)
		strcpy(ref, "0");
	check(strcmp(mine, ref) == 0);
}

/* A ZRANGE BYSCORE bound: strtod taking all of s, NaN refused. */
static void fuzz_range(const char *s, size_t n)
{
	struct rs_arg a = { (const uint8_t *)s, n };
	double d = 0, want;
	char *end;
	bool ok = rs_arg_double_range(&a, &d);

	want = strtod(s, &end);
	check(ok == (*end == '\0' && !isnan(want)));
	if (ok)
		check(memcmp(&d, &want, sizeof(d)) == 0);
}

static void fuzz_number(const uint8_t *data, size_t size)
{
	static char s[6000];
	char mine[RS_DOUBLE_BUF], ref[64];
	size_t n = size - 1;
	struct rs_arg a = { data + 1, n };
	double d = 0, want = 0;
	bool ok;

	if (n >= sizeof(s) || memchr(data + 1, 0, n))
		return;
	memcpy(s, data + 1, n);
	s[n] = '\0';
	fuzz_ldouble(s, n);
	fuzz_range(s, n);
	ok = rs_arg_double(&a, &d);
	check(ok == libc_accepts(s, n, &want));
	if (!ok)
		return;
	check(memcmp(&d, &want, sizeof(d)) == 0);
	rs_fmt_double(mine, sizeof(mine), d, false);
	snprintf(ref, sizeof(ref), "%.17g", d);
	check(strcmp(mine, ref) == 0);
	rs_fmt_double(mine, sizeof(mine), d, true); /* only that it does not crash */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1)
		fuzz_stream(data, size);
	else
		fuzz_number(data, size);
	return 0;
}
