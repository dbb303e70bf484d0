/*
 * One line of Vesta's COM2 event log: a flat JSON object, parsed into
 * (key, value) pairs whose values are kept as text.
 *
 * The event log is a machine interface, so the parser is strict: anything
 * that is not exactly one flat object (optionally surrounded by whitespace)
 * is rejected. Nested objects and arrays are rejected too, not skipped: an
 * event that grew structure would otherwise lose fields without anyone
 * noticing. Malformed input of any kind is an error return, never a crash.
 *
 * Freestanding and host-testable: no libc, no allocation. The caller gives
 * the storage that the unescaped keys and values are copied into.
 */
#ifndef VESTA_JSONLINE_H
#define VESTA_JSONLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vesta/abi.h> /* the VE_* error codes */

/* Most pairs one line may hold; the widest event has about a dozen. */
#define JSONLINE_MAX_PAIRS 32

struct jsonline_pair {
	const char *key;   /* NUL-terminated, unescaped; in the caller's buffer */
	const char *value; /* NUL-terminated text: a string unescaped, or a
			      number / true / false / null exactly as written */
	bool is_string;	   /* the value was a JSON string */
};

struct jsonline {
	struct jsonline_pair pair[JSONLINE_MAX_PAIRS]; /* in line order */
	size_t npairs;
};

/*
 * Parse the len bytes at line (need not be NUL-terminated; a trailing
 * "\n" or "\r\n" is fine) into *out. Keys and values are copied into
 * buf[0..bufsize), which must outlive *out; bufsize >= len + 1 is always
 * enough.
 *
 * Strings are unescaped: \" \\ \/ \b \f \n \r \t as in JSON, \uXXXX becomes
 * that character if it is ASCII (1..0x7f) and '?' otherwise (each \u escape
 * gives one byte, so a surrogate pair gives "??"). Other bytes, UTF-8
 * included, are copied unchanged. Raw control characters inside a string
 * and NUL bytes anywhere are errors. Duplicate keys are kept, in order.
 *
 * Returns the number of pairs (0 for "{}"), or:
 *   -VE_INVAL  a NULL argument, or the text is not one flat JSON object
 *              (bad syntax, truncation, nested object or array, trailing
 *              text after the closing brace);
 *   -VE_RANGE  more than JSONLINE_MAX_PAIRS pairs, or buf is too small.
 * On error *out is left empty (npairs == 0).
 */
int jsonline_parse(const char *line, size_t len, char *buf, size_t bufsize, struct jsonline *out);

/*
 * The first pair whose key equals key, or NULL if there is none (or an
 * argument is NULL).
 */
const struct jsonline_pair *jsonline_find(const struct jsonline *obj, const char *key);

#endif
