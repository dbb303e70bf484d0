/*
 * RESP2, the Redis wire format, as much of it as a checking client needs:
 * encoding a command (an array of bulk strings) and parsing one reply from
 * a buffer that may hold a part of it. Host-testable: no I/O, no
 * allocation; replies point into the caller's buffer.
 */
#ifndef VESTA_TOOLS_RESPWIRE_H
#define VESTA_TOOLS_RESPWIRE_H

#include <stdbool.h>
#include <stddef.h>

enum resp_type {
	RESP_SIMPLE, /* +text */
	RESP_ERROR,  /* -text */
	RESP_INT,    /* :n */
	RESP_BULK,   /* $len text */
	RESP_NIL,    /* $-1 or *-1 */
	RESP_ARRAY,  /* *n: n more replies follow (parse them one by one) */
};

struct resp_reply {
	enum resp_type type;
	long long n;   /* RESP_INT: the value; RESP_ARRAY: the count */
	const char *s; /* SIMPLE, ERROR, BULK: the text (not NUL-terminated) */
	size_t len;
};

/* Nesting deeper than this is refused as malformed. */
#define RESP_MAX_DEPTH 8

/*
 * Encode argv[0..argc) as a command into out (cap bytes). The length, or 0
 * if it does not fit.
 */
size_t resp_command(char *out, size_t cap, int argc, const char *const *argv);

/*
 * Parse the first reply in buf[0..len) into *r; for an array only its
 * header. Returns the bytes it took, 0 if buf holds only a part of it, or
 * -1 if it is not RESP2.
 */
long resp_parse(const char *buf, size_t len, struct resp_reply *r);

/*
 * How many bytes the whole first reply takes, arrays with all their
 * elements: >0, 0 if incomplete, -1 if malformed (or nested too deep).
 */
long resp_whole(const char *buf, size_t len);

/* Is r the bulk or simple string s? */
bool resp_is(const struct resp_reply *r, enum resp_type t, const char *s);

#endif
