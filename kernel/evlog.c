/*
 * Builder for the lines of the event log (see evlog.h).
 *
 * Every field is appended piece by piece; if a piece does not fit, the line
 * goes back to where the field began and is marked full, so a field is
 * either whole or absent. The room for the longest possible ending,
 * ,"trunc":true}\n and the NUL, is kept free from the start, so ev_end can
 * always close the line.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evlog.h"
#include "lib/string.h"

#define EV_TRUNC ",\"trunc\":true"
#define EV_CLOSE "}\n"

/* The most bytes fields may fill: all but the room for the ending. */
#define EV_ROOM (EVLOG_LINE_MAX - sizeof(EV_TRUNC EV_CLOSE))

static const char ev_hexdigits[] = "0123456789abcdef";

/*
 * Whether ev_end has closed the line. Inside a line a newline is always
 * escaped, so the only raw one is the last byte of a closed line.
 */
static bool closed(const struct evlog_line *l)
{
	return l->len > 0 && l->buf[l->len - 1] == '\n';
}

/*
 * Append n bytes if they fit in EV_ROOM and the line is still open; returns
 * whether they went in.
 */
static bool put(struct evlog_line *l, const char *s, size_t n)
{
	if (closed(l) || l->len > EV_ROOM || n > EV_ROOM - l->len)
		return false;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
	return true;
}

static bool put_cstr(struct evlog_line *l, const char *s)
{
	return put(l, s, strlen(s));
}

/* The bytes that go into a JSON string as they are: printable ASCII but
 * the quote and the backslash. A table: every byte of every string field
 * is looked up. */
static const bool plain[256] = {
	[0x20 ... '"' - 1] = true,
	['"' + 1 ... '\\' - 1] = true,
	['\\' + 1 ... 0x7e] = true,
};

/* Append n bytes of s escaped for a JSON string (see ev_str). */
static bool put_escaped(struct evlog_line *l, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t run = 0;
		while (i + run < n && plain[(unsigned char)s[i + run]])
			run++;
		if (run) { /* the common case: a run that needs no escaping, at once */
			if (!put(l, s + i, run))
				return false;
			i += run - 1;
			continue;
		}
		unsigned char c = (unsigned char)s[i];
		char esc[6] = { '\\', 'u', '0', '0', ev_hexdigits[c >> 4], ev_hexdigits[c & 0xf] };
		bool ok;

		if (c == '"' || c == '\\') {
			esc[1] = (char)c;
			ok = put(l, esc, 2);
		} else if (c < 0x20 || c >= 0x7f) {
			ok = put(l, esc, sizeof(esc));
		} else {
			ok = put(l, s + i, 1);
		}
		if (!ok)
			return false;
	}
	return true;
}

static bool put_quoted(struct evlog_line *l, const char *s, size_t n)
{
	return put(l, "\"", 1) && put_escaped(l, s, n) && put(l, "\"", 1);
}

static bool put_key(struct evlog_line *l, const char *key)
{
	return put(l, ",", 1) && put_quoted(l, key, strlen(key)) && put(l, ":", 1);
}

static bool put_u64(struct evlog_line *l, uint64_t v)
{
	char digits[20]; /* 2^64 - 1 has 20 digits */
	size_t n = 0;

	do {
		digits[sizeof(digits) - ++n] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return put(l, digits + sizeof(digits) - n, n);
}

/*
 * End a field that began at len mark: keep it if ok, else drop what there
 * is of it and mark the line. Keeps buf NUL-terminated.
 */
static void field_done(struct evlog_line *l, size_t mark, bool ok)
{
	if (!ok) {
		l->len = mark;
		l->full = true;
	}
	if (l->len < EVLOG_LINE_MAX)
		l->buf[l->len] = '\0';
}

void ev_begin(struct evlog_line *l, const char *ev, uint64_t t_ns)
{
	size_t mark;
	bool ok;

	l->len = 0;
	l->full = false;
	put_cstr(l, "{\"ev\":\"");
	mark = l->len;
	ok = put_escaped(l, ev, strlen(ev));
	field_done(l, mark, ok);
	/* What is left, about 30 bytes, always fits an empty line. */
	put_cstr(l, "\",\"t_ns\":");
	put_u64(l, t_ns);
	field_done(l, l->len, true);
}

void ev_strn(struct evlog_line *l, const char *key, const char *s, size_t n)
{
	size_t mark = l->len;
	bool ok = put_key(l, key);

	if (s == NULL)
		ok = ok && put_cstr(l, "null");
	else
		ok = ok && put_quoted(l, s, n);
	field_done(l, mark, ok);
}

void ev_str(struct evlog_line *l, const char *key, const char *s)
{
	ev_strn(l, key, s, s == NULL ? 0 : strlen(s));
}

void ev_u64(struct evlog_line *l, const char *key, uint64_t v)
{
	size_t mark = l->len;

	field_done(l, mark, put_key(l, key) && put_u64(l, v));
}

void ev_i64(struct evlog_line *l, const char *key, int64_t v)
{
	size_t mark = l->len;
	bool ok = put_key(l, key);

	if (v < 0)
		ok = ok && put(l, "-", 1) && put_u64(l, 0 - (uint64_t)v);
	else
		ok = ok && put_u64(l, (uint64_t)v);
	field_done(l, mark, ok);
}

void ev_bool(struct evlog_line *l, const char *key, bool v)
{
	size_t mark = l->len;

	field_done(l, mark, put_key(l, key) && put_cstr(l, v ? "true" : "false"));
}

void ev_hex(struct evlog_line *l, const char *key, uint64_t v)
{
	size_t mark = l->len;
	char text[20]; /* "0x" and 16 digits, quoted */

	text[0] = '"';
	text[1] = '0';
	text[2] = 'x';
	for (int i = 18; i >= 3; i--, v >>= 4)
		text[i] = ev_hexdigits[v & 0xf];
	text[19] = '"';
	field_done(l, mark, put_key(l, key) && put(l, text, sizeof(text)));
}

size_t ev_end(struct evlog_line *l)
{
	if (closed(l) || l->len > EV_ROOM)
		return l->len;
	/* The room kept free by put() takes both of these. */
	if (l->full) {
		memcpy(l->buf + l->len, EV_TRUNC, sizeof(EV_TRUNC) - 1);
		l->len += sizeof(EV_TRUNC) - 1;
	}
	memcpy(l->buf + l->len, EV_CLOSE, sizeof(EV_CLOSE) - 1);
	l->len += sizeof(EV_CLOSE) - 1;
	l->buf[l->len] = '\0';
	return l->len;
}
