/*
 * What respcheck expects of one connection's keys: the model that turns
 * each reply into a verdict. A connection cycles through INCR (a counter),
 * SET then GET (a register with unique values), RPUSH then LPOP (a list
 * that must balance), one request in flight at a time. A request whose
 * connection broke before its reply is ambiguous: it may or may not have
 * happened, and the model accepts either outcome from then on (and only
 * those). Host-testable: no I/O, no clock.
 */
#ifndef VESTA_TOOLS_RESPMODEL_H
#define VESTA_TOOLS_RESPMODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "respwire.h"

enum rm_op { RM_INCR, RM_SET, RM_GET, RM_RPUSH, RM_LPOP };

/* What a reply meant. */
enum rm_verdict {
	RM_OK,
	RM_LOST,  /* an acknowledged write is gone (a counter went back, a value or
		     list element vanished) */
	RM_WRONG, /* a reply of the wrong type or value, or one nobody wrote */
	RM_DUP,	  /* a write took effect twice, or a popped element came back */
	RM_ERROR, /* an error reply (-ERR ...) */
};

/* Longest list the model keeps: more ambiguous elements are forgotten. */
#define RM_LIST_MAX 32

struct rm_item {
	unsigned long long k; /* the element is "TAG-l<k>" */
	bool maybe;	      /* ambiguous push, or ambiguous pop when at the head */
};

struct rm_conn {
	char tag[64];	 /* "RUN-ID": names the keys, prefixes the values */
	enum rm_op next; /* what rm_request sends next */
	enum rm_op sent; /* the request in flight */
	unsigned long long sent_k, seq;

	long long incr_last, incr_ok, incr_amb;
	long long amb_open; /* ambiguous INCRs since incr_last was seen */

	unsigned long long val_known; /* the register holds "TAG-v<k>" (0: nil) */
	unsigned long long val_try;   /* the value of an ambiguous SET */
	bool try_amb;

	struct rm_item item[RM_LIST_MAX]; /* what the list holds, head first */
	int nitem;
	unsigned long long pop_max; /* highest element popped */

	/* After rm_forget: what the server holds is not known until a reply
	 * shows it (the counter's next INCR, the register's next SET or GET,
	 * the list's next empty LPOP). */
	bool incr_unknown, val_unknown, list_unknown;
};

/* A connection of run tag run (unique per run), number id. */
void rm_init(struct rm_conn *c, const char *run, int id);

/* The next request into out (cap bytes): its length, 0 if it did not fit. */
size_t rm_request(struct rm_conn *c, char *out, size_t cap);

/* The reply r to the request in flight. */
enum rm_verdict rm_reply(struct rm_conn *c, const struct resp_reply *r);

/* The request in flight will get no reply (reset, EOF, timeout). */
void rm_broken(struct rm_conn *c);

/* The server said its dataset is not the one these keys were written to
 * (Redis' run_id changed: kv made its keyspace anew, or found part of it
 * damaged): called after a reply that did not fit, forget what the keys
 * held, except what that reply itself showed. */
void rm_forget(struct rm_conn *c);

/* The end-of-run reads, each into out: GET counter, GET register, LRANGE. */
size_t rm_final_request(const struct rm_conn *c, int which, char *out, size_t cap);

/* Their replies (buf: one whole reply, for the LRANGE array). */
enum rm_verdict rm_final_reply(const struct rm_conn *c, int which, const char *buf, size_t len);

/* DEL of the connection's three keys, into out. */
size_t rm_cleanup(const struct rm_conn *c, char *out, size_t cap);

#endif
