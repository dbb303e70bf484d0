/*
 * Sockets over channels: the protocol of the channel "tcp", which the
 * TCP/IP service (svc/net) serves, so that any service can be a TCP server
 * or client without linking a network stack.
 *
 * Two channels, for the reason nic.h gives: a process blocked in a call
 * cannot serve, and a server of many connections must not block on one.
 *
 *   tcp      served by net; a client opens it and *calls* it. No call
 *            blocks longer than the timeout it carries (0: not at all).
 *   NOTIFY   served by the client, named by it in LISTEN and CONNECT
 *            (e.g. "kv.tcp"); net opens it and *casts* SOCK_OP_EVENT
 *            messages to it, never blocking (VE_NONBLOCK), so a client
 *            waits for its connections and its own channels in one
 *            ve_wait_any. An event is a hint that a connection may have
 *            changed: the client then asks with RECV, SEND or ACCEPT.
 *            Net sends at most one event per connection until the client
 *            has called about it again (so a full NOTIFY loses nothing:
 *            net retries later), and the client acks every event. Net
 *            must be granted the NOTIFY channel (`opens` in
 *            policies/net.policy); without it, or with "", there are no
 *            events and the client polls.
 *
 * Streams are addressed by byte offset, so that a client that dies and
 * comes back loses and repeats nothing:
 *   - RECV names the offset it wants to read from; every byte before it is
 *     *consumed*: net drops it and opens the TCP window by as much. Bytes
 *     returned but not yet consumed are returned again by a RECV at the
 *     same offset. Net holds at most the TCP window per connection, so a
 *     slow reader stops the sender, never fills memory.
 *   - SEND names the offset of its first byte. Net skips what it already
 *     took (a replay), refuses a gap, and takes as much of the rest as the
 *     TCP send buffer has room for; the reply says how far the stream has
 *     been taken. The client keeps the rest and sends it again after an
 *     event says SOCK_EV_OUT.
 * A client that keeps its offsets in its stash and commits them with the
 * effects of what it read is exactly-once across its own crashes: the
 * connections live in net, not in the client.
 *
 * Identities. A listener id (lid) and a connection id (cid) are nonzero
 * 64-bit numbers. The high 32 bits of a cid are net's incarnation
 * (*epoch*: a tick of the kernel's clock, later for each start, also
 * across a discarded stash, compared in serial-number order): a cid of an
 * earlier epoch that net does not hold (its stash was discarded since)
 * gets -SOCK_ECONNRESET, and a cid is never given twice. Listeners are kept in
 * net's stash and reopened by its next incarnation with the same lid.
 * Connections and listeners belong to an *owner*, a name the client gives
 * (its service name): a restarted client LISTENs again and gets its lid,
 * its accepted connections and its backlog back (LIST names them), where
 * another owner would get -SOCK_EADDRINUSE.
 *
 * Every request starts with a one-byte op; fields are little-endian and
 * packed as the structs below lay them out. Every reply starts with a
 * struct sock_rep; err is 0 or a negative SOCK_E* code (the BSD name a
 * socket would give). A request net does not understand (unknown op,
 * wrong length, bad field) gets -SOCK_EINVAL and changes nothing. An
 * error reply is as long as the op's success reply without data, its
 * fields zero (but CONNECT's cid, below), so a client may read it
 * blindly. A cast on tcp is acked and ignored. Owner names are 1..23
 * bytes and a NUL, NOTIFY names 0..23 and a NUL; a field without its NUL
 * is -SOCK_EINVAL.
 *
 * Waiting. A call with timeout_ns > 0 that cannot be answered yet is
 * *parked*: net answers it when it can, or at its deadline (-SOCK_EAGAIN,
 * or -SOCK_ETIMEDOUT for CONNECT), while it serves other calls. The
 * client's own ve_chan_call timeout should be longer, or 0. When net dies,
 * its parked calls are replayed to the next incarnation, which serves
 * them as new ones: a deadline then counts from the replay. Net parks at
 * most a few hundred calls; past that a call gets -SOCK_EAGAIN at once.
 *
 * Lifetimes. A connection the peer reset, or that timed out, stays (RECV
 * and SEND say why) until the client CLOSEs it or for 60 s; one the peer
 * closed stays until CLOSE. A backlog connection that dies before ACCEPT
 * leaves the backlog. A cid of an earlier epoch gets -SOCK_ECONNRESET
 * from every call; a cid net never gave, -SOCK_EBADF.
 *
 *   LISTEN  struct sock_listen -> sock_rep, u64 lid
 *           Bind 0.0.0.0:port and listen. The same owner LISTENing on
 *           its port again gets the same lid (backlog and notify are
 *           updated). backlog (capped at 64) counts connections until
 *           they are ACCEPTed; past it, a peer's SYN is dropped (it
 *           retries), as a BSD listener does. -SOCK_EADDRINUSE (another owner has port),
 *           -SOCK_ENOMEM (no room for another listener: 16 in all),
 *           -SOCK_EINVAL (port 0, backlog 0, bad names).
 *   ACCEPT  struct sock_accept -> sock_rep, struct sock_conninfo
 *           The next connection in lid's backlog, now the owner's.
 *           -SOCK_EAGAIN (none within timeout), -SOCK_EBADF (no such lid).
 *   CONNECT struct sock_connect -> sock_rep, u64 cid
 *           Open a connection to ip:port, waiting up to timeout for it.
 *           -SOCK_ECONNREFUSED, -SOCK_ETIMEDOUT, -SOCK_EHOSTUNREACH
 *           (the connection is gone: cid 0), -SOCK_EAGAIN (timeout 0, or
 *           no room to park: not up yet; it goes on, the reply's cid is
 *           the connection's, and an event with SOCK_EV_OUT or
 *           SOCK_EV_ERR tells how it ended), -SOCK_ENOMEM.
 *   RECV    struct sock_recv -> struct sock_recv_rep, then data
 *           Bytes from offset on (at most max and what fits a message).
 *           0 bytes with SOCK_EV_HUP: the peer closed its side (EOF).
 *           The reply's events has SOCK_EV_HUP only if its bytes end
 *           where the stream does. max 0 only consumes: answered at once.
 *           -SOCK_EAGAIN (nothing within timeout), -SOCK_ECONNRESET (the
 *           peer reset it, or an earlier epoch), -SOCK_EINVAL (offset
 *           before what was consumed or past what arrived), -SOCK_EBADF.
 *   SEND    struct sock_send, then data -> sock_rep, u64 taken
 *           taken is the stream's offset up to which net has the bytes.
 *           -SOCK_EPIPE (the client closed it), -SOCK_ECONNRESET,
 *           -SOCK_EINVAL (offset past taken: a gap), -SOCK_EBADF. If
 *           it took less than was sent, an event with SOCK_EV_OUT follows
 *           once a quarter of the send buffer is free again.
 *   CLOSE   struct sock_close -> sock_rep
 *           how 0: send what was taken, then FIN; the cid goes once the
 *           peer has closed too or after a bound (30 s; then RST).
 *           Bytes received and not consumed count as consumed (a FIN,
 *           not a reset, which would make the peer drop what it was last
 *           sent). RECV goes on working until the cid goes; SEND gets
 *           -SOCK_EPIPE. how 1: reset (RST) now.
 *           -SOCK_EBADF for a cid net does not know: a replayed CLOSE of a
 *           closed connection counts as done.
 *   LIST    struct sock_list -> sock_rep, u32 n, then n struct sock_conninfo
 *           The owner's accepted and CONNECTed connections, by cid (at
 *           most what fits a message; start after cid `after`, 0 for
 *           the first), for a restarted client. Backlog connections are
 *           ACCEPT's, not LIST's, and ones the client has CLOSEd are no
 *           longer its own.
 *   ABORT   struct sock_abort -> sock_rep
 *           Reset a connection of an earlier epoch by its two ends (as
 *           ACCEPT and LIST gave them), for a client that held it when
 *           net's stash was discarded: its peer still holds its end, and
 *           one waiting for a reply would wait until its own timeout.
 *           Net sends the peer bare ACKs that draw its reset (as for the
 *           connections its stash names, README.md), within a few
 *           seconds. It never touches a live connection: -SOCK_EBUSY
 *           (net holds the cid, or has a connection with the same four
 *           ends: CLOSE how 1 resets one of its own), -SOCK_EINVAL (a cid
 *           of the current epoch, or an ip or port 0), -SOCK_EAGAIN (too
 *           many resets pending: ask again later). 0 if the reset is on
 *           its way, or already was (a replay).
 *
 *   EVENT   (net -> NOTIFY, cast) struct sock_event
 */
#ifndef VESTA_SVC_LIB_SOCK_H
#define VESTA_SVC_LIB_SOCK_H

#include <stdint.h>

#include <vesta/abi.h>

#define SOCK_CHANNEL "tcp"

#define SOCK_OP_LISTEN 'L'
#define SOCK_OP_ACCEPT 'A'
#define SOCK_OP_CONNECT 'C'
#define SOCK_OP_RECV 'R'
#define SOCK_OP_SEND 'S'
#define SOCK_OP_CLOSE 'X'
#define SOCK_OP_LIST 'Q'
#define SOCK_OP_ABORT 'B'
#define SOCK_OP_EVENT 'E'

#define SOCK_OWNER_MAX 24 /* owner and NOTIFY names, NUL-padded */
#define SOCK_TIMEOUT_FOREVER UINT64_MAX

/* Errors, negated in sock_rep.err. Values are Linux's errno numbers, so a
 * client may print them with its own strerror. */
enum sock_err {
	SOCK_EBADF = 9,
	SOCK_EAGAIN = 11, /* EWOULDBLOCK: nothing within the timeout */
	SOCK_ENOMEM = 12,
	SOCK_EBUSY = 16,
	SOCK_EINVAL = 22,
	SOCK_EPIPE = 32,
	SOCK_EADDRINUSE = 98,
	SOCK_ENETDOWN = 100, /* no NIC below, or its link is down */
	SOCK_ECONNRESET = 104,
	SOCK_ENOTCONN = 107,
	SOCK_ETIMEDOUT = 110,
	SOCK_ECONNREFUSED = 111,
	SOCK_EHOSTUNREACH = 113,
};

/* Event bits, in sock_event.events, sock_conninfo.events and
 * sock_recv_rep.events. */
#define SOCK_EV_IN 0x1	    /* bytes past the last RECV's end, or HUP/ERR */
#define SOCK_EV_OUT 0x2	    /* room to send again; or CONNECT completed */
#define SOCK_EV_HUP 0x4	    /* the peer sent FIN: no bytes after what arrived */
#define SOCK_EV_ERR 0x8	    /* reset, timed out or refused: RECV says which */
#define SOCK_EV_ACCEPT 0x10 /* (listener events) the backlog is not empty */

struct sock_rep {
	int32_t err; /* 0 or -SOCK_E* */
} __attribute__((packed));

struct sock_listen {
	uint8_t op; /* SOCK_OP_LISTEN */
	uint16_t port;
	uint16_t backlog; /* 1..: connections held for ACCEPT */
	char owner[SOCK_OWNER_MAX];
	char notify[SOCK_OWNER_MAX]; /* channel for events, "" for none */
} __attribute__((packed));

struct sock_accept {
	uint8_t op; /* SOCK_OP_ACCEPT */
	uint64_t lid;
	uint64_t timeout_ns; /* 0: do not wait */
} __attribute__((packed));

struct sock_connect {
	uint8_t op;  /* SOCK_OP_CONNECT */
	uint32_t ip; /* IPv4, network byte order as on the wire (10.0.2.2 is 0x0202000a) */
	uint16_t port;
	uint64_t timeout_ns;
	char owner[SOCK_OWNER_MAX];
	char notify[SOCK_OWNER_MAX];
} __attribute__((packed));

struct sock_recv {
	uint8_t op; /* SOCK_OP_RECV */
	uint64_t cid;
	uint64_t offset; /* consume everything before it; read from it */
	uint32_t max;
	uint64_t timeout_ns;
} __attribute__((packed));

/* The reply to RECV; the bytes follow it. */
struct sock_recv_rep {
	int32_t err;
	uint64_t offset; /* = the request's */
	uint32_t events; /* SOCK_EV_HUP: no more after these bytes */
} __attribute__((packed));

/* SEND; the bytes follow it. */
struct sock_send {
	uint8_t op; /* SOCK_OP_SEND */
	uint64_t cid;
	uint64_t offset; /* of the first byte that follows */
} __attribute__((packed));

struct sock_close {
	uint8_t op; /* SOCK_OP_CLOSE */
	uint64_t cid;
	uint8_t how; /* 0 FIN after what was taken, 1 RST */
} __attribute__((packed));

struct sock_list {
	uint8_t op; /* SOCK_OP_LIST */
	char owner[SOCK_OWNER_MAX];
	uint64_t after;
} __attribute__((packed));

struct sock_abort {
	uint8_t op; /* SOCK_OP_ABORT */
	uint64_t cid;
	uint32_t peer_ip; /* network byte order */
	uint16_t peer_port;
	uint16_t local_port;
} __attribute__((packed));

struct sock_conninfo {
	uint64_t cid;
	uint64_t lid;	  /* the listener it came from, 0 if CONNECTed */
	uint32_t peer_ip; /* network byte order */
	uint16_t peer_port;
	uint16_t local_port;
	uint64_t consumed; /* RECV offsets below it are gone */
	uint64_t taken;	   /* SEND has been taken up to here */
	uint32_t events;
} __attribute__((packed));

struct sock_event {
	uint8_t op;  /* SOCK_OP_EVENT */
	uint64_t id; /* a cid, or a lid with SOCK_EV_ACCEPT */
	uint32_t events;
} __attribute__((packed));

/* Most data bytes in one RECV reply or SEND request. */
#define SOCK_DATA_MAX (VE_MSG_MAX - (int)sizeof(struct sock_recv_rep))

#endif
