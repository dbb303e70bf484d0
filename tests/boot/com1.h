/*
 * COM1, the guest's human console, as the runner sees it: QEMU serves it
 * on a unix socket (DIR/com1.sock, wait=on, so the guest does not start
 * before we are connected and no output is lost). We connect, copy every
 * byte the guest writes into DIR/com1.log, and type text into it on
 * request, all at once or one byte every so often. Nothing here blocks:
 * the runner's poll loop drives it (com1_poll).
 */
#ifndef VESTA_BOOT_COM1_H
#define VESTA_BOOT_COM1_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* Text waiting to be typed, in the order com1_type() was asked. */
struct com1_text {
	char *bytes;
	size_t len, pos; /* pos: bytes already written */
	double every_s;	 /* pause between two bytes; 0: all at once */
};

/* Zero-initialise, then com1_init(). Fields are read-only outside com1.c. */
struct com1 {
	char *sock_path; /* DIR/com1.sock, QEMU's server socket */
	int fd;		 /* the connection; -1 before it and after EOF */
	int log_fd;	 /* DIR/com1.log, appended to; -1 when closed */
	bool connected;	 /* ever connected */
	int last_errno;	 /* why the last connect failed */

	struct com1_text *q; /* what is still to type, oldest first */
	size_t nq, capq;
	double next_at; /* when the next byte of q[0] may go */
	size_t dropped; /* typed bytes lost: the connection went away */
};

/*
 * Prepare COM1 for a boot whose logs go to dir: remove a stale socket and
 * open (empty) com1.log. 0, or -1 with the reason in *m.
 */
int com1_init(struct com1 *c, const char *dir, struct msg *m);

/*
 * The `path=` value for QEMU's -chardev option: sock_path with each comma
 * doubled, as QEMU's option syntax wants. A new string.
 */
char *com1_qemu_path(const struct com1 *c);

/*
 * One look at COM1 at time now: connect if not yet connected (QEMU may not
 * have created the socket yet; that is not an error), copy what the guest
 * wrote into com1.log, and type the bytes that are due. Returns true once
 * connected.
 */
bool com1_poll(struct com1 *c, double now);

/*
 * Queue len bytes to type, one every every_s seconds (0: all at once),
 * starting at now or after what is already queued.
 */
void com1_type(struct com1 *c, const char *bytes, size_t len, double every_s, double now);

/* When com1_poll() next has a byte to type; a huge value if never. */
double com1_next_due(const struct com1 *c);

/* QEMU is gone: copy the rest of its output and close everything. */
void com1_finish(struct com1 *c);

/* Free what c owns (after com1_finish, or if QEMU never ran). */
void com1_free(struct com1 *c);

#endif
