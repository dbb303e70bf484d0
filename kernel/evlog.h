/*
 * Builder for one line of the machine-readable event log: the JSON object
 * per line that goes out on COM2 and that tests, tools and benchmarks read.
 *
 *	struct evlog_line l;
 *
 *	ev_begin(&l, "exit", now_ns);
 *	ev_str(&l, "name", p->name);
 *	ev_i64(&l, "code", code);
 *	len = ev_end(&l);	// l.buf holds {"ev":"exit","t_ns":...}\n
 *
 * A line lives in the caller's struct and needs no allocation, so it can be
 * built anywhere, in a fault handler included. Sending it is the caller's.
 *
 * Whatever the fields hold, the result is one valid JSON object of printable
 * ASCII, ending in "}\n": strings are escaped (see ev_str), and a field that
 * does not fit the line is dropped whole, never cut, with ,"trunc":true
 * added at the end to say so. Fields keep the order they were added in.
 *
 * Keys are escaped like values but should be plain lowercase names: the
 * schema of the log is documented and versioned with the repository.
 * Event names and keys must not be NULL. None of these functions can fail:
 * running out of room is recorded in the line itself.
 */
#ifndef VESTA_EVLOG_H
#define VESTA_EVLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Longest line, "}\n" and a NUL included. A serial line is slow, so an
 * event is kept short; 512 bytes holds every event with room for a path or
 * a message.
 */
#define EVLOG_LINE_MAX 512

struct evlog_line {
	char buf[EVLOG_LINE_MAX]; /* the line so far; NUL-terminated */
	size_t len;		  /* bytes in buf before the NUL */
	bool full;		  /* a field was dropped: ev_end adds trunc */
};

/*
 * Start line l as {"ev":"<ev>","t_ns":<t_ns>. Any earlier content of l is
 * discarded. An ev too long for the line is written as "" and the line
 * marked truncated.
 */
void ev_begin(struct evlog_line *l, const char *ev, uint64_t t_ns);

/*
 * Add ,"key":"<s>" with s escaped: '"' and '\' get a backslash, and every
 * byte below 0x20, 0x7f and every byte from 0x80 up is written as \u00XX,
 * so the line stays ASCII. A byte from 0x80 up thus reads back as the
 * character U+0080..U+00FF of the same value: UTF-8 text comes out as its
 * bytes, not its characters. A NULL s is written as null.
 */
void ev_str(struct evlog_line *l, const char *key, const char *s);

/* ev_str with the n bytes at s, NULs included. */
void ev_strn(struct evlog_line *l, const char *key, const char *s, size_t n);

/* Add ,"key":<v> as a JSON number. */
void ev_u64(struct evlog_line *l, const char *key, uint64_t v);
void ev_i64(struct evlog_line *l, const char *key, int64_t v);

/* Add ,"key":true or ,"key":false. */
void ev_bool(struct evlog_line *l, const char *key, bool v);

/*
 * Add ,"key":"0x<16 hex digits>". A string, not a number: JSON readers keep
 * numbers as doubles, which cannot hold every 64-bit address.
 */
void ev_hex(struct evlog_line *l, const char *key, uint64_t v);

/*
 * Close the line with "}\n", after ,"trunc":true if any field was dropped,
 * and return its length (the NUL not counted). The line is then done:
 * fields added after this are dropped and a second ev_end changes nothing;
 * ev_begin starts the next line.
 */
size_t ev_end(struct evlog_line *l);

#endif
