/*
 * What kv's Redis face keeps in its stash, and how it makes a connection
 * exactly-once across kv's own deaths: the keyspace (svc/kv/resp.h's
 * engine) and every connection's stream offsets, written through the
 * durable log (rlog.h) before anything is sent.
 *
 * A connection's bytes come from the TCP/IP service by offset (sock.h).
 * For each chunk kv runs the whole requests in it and then commits one
 * log record: the commands that changed the keyspace (as the engine
 * propagates them), the input offset now consumed, the bytes of a request
 * not yet whole (the *residue*, kept so the service may drop them), and
 * the replies. Only then does it send the replies and read on. A death
 * before the commit leaves the record out: the next incarnation reads the
 * chunk again from the service, which kept it. A death after it: the next
 * incarnation has the effects, the offsets and the replies, and sends the
 * replies again from the offset the service has taken them to. So every
 * request takes effect once and every reply is sent once.
 *
 * Records (the first byte says which):
 *   'B' a batch: struct rrec_batch, residue bytes, reply bytes, commands
 *       (RESP multibulk, as the engine runs them). cid 0: the keyspace
 *       alone (the active expiry's deletions).
 *   'X' a connection ended: struct rrec_close.
 *   'E' a connection's two ends, as the service gave them: struct
 *       rrec_ends (in snapshots too, after its 'C'), so that kv can ask
 *       the service to reset it by them when the service lost it
 *       (SOCK_OP_ABORT), across kv's own deaths too.
 *   'K' (snapshots) commands that rebuild the keyspace.
 *   'C' (snapshots) a connection: struct rrec_conn, residue, unsent replies.
 *   'I' (snapshots, first) the dataset's run_id, NUL-terminated (resp.h).
 *   'D' (snapshots) the keyspace is still to be read from the disk.
 * Host-testable: test_rstore runs it over the engine and a buffer.
 */
#ifndef VESTA_SVC_KV_RSTORE_H
#define VESTA_SVC_KV_RSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resp.h"
#include "rlog.h"

/* A connection as kv keeps it. */
struct rconn {
	uint64_t cid;	   /* the TCP/IP service's connection id */
	uint64_t consumed; /* input offset: every byte before it is in the log */
	uint64_t tx_base;  /* output offset of c->out[0] */
	struct rs_client *c;
	uint8_t *resid; /* input after the last whole request (in c too) */
	size_t resid_len, resid_cap;
	bool hup;	   /* the peer closed its side */
	bool blocked;	   /* unsent output over RSTORE_OUT_MAX: not reading */
	uint64_t sendable; /* output offset up to which replies may go out: the
			      disk has what they answer (rdisk.h) */
	uint32_t peer_ip;  /* its ends (sock.h's conninfo); peer_port 0: unknown */
	uint16_t peer_port, local_port;
	struct rconn *next;
};

/* Unsent reply bytes past which kv stops reading a connection until the
 * service takes some (a slow reader fills its own TCP window, never kv). */
#define RSTORE_OUT_MAX (256u * 1024)

struct rstore {
	struct rs_engine *e;
	struct rlog log;
	struct rconn *conns;
	struct rs_client *loader; /* runs logged commands; its replies dropped */
	uint8_t *prop;		  /* the batch's commands, RESP */
	size_t prop_len, prop_cap;
	bool prop_failed; /* out of memory while collecting them */
	uint64_t snapshots, records;
	/* The keyspace must come from kv's disk (rdisk.h): set when the region
	 * is made anew or loses records, cleared once the disk is read back;
	 * kept in snapshots ('D'), so a kv that dies first reads it again. */
	bool disk_pending;
};

/*
 * Open the region and rebuild the keyspace and connections from it (the
 * engine e is new and empty). rep says what was found; a region made new
 * or with a bad record is snapshotted at once, so the log is whole again.
 * Returns 0, or -1 (region too small, or out of memory: kv cannot run).
 */
int rstore_open(struct rstore *s, struct rs_engine *e, void *region, size_t size,
		struct rlog_report *rep);

/* The connection cid, or NULL; made (empty) if create. */
struct rconn *rstore_conn(struct rstore *s, uint64_t cid, bool create);

/*
 * Run data[0..n), the bytes at c->consumed, and commit their record (a
 * snapshot first if the log is full). After it c->consumed has moved by
 * n and c->c->out holds the replies to send. Returns 0, or -1 if even a
 * snapshot has no room (the change is in memory only: kv must not answer;
 * it exits and its next incarnation starts from the log).
 */
int rstore_batch(struct rstore *s, struct rconn *c, const uint8_t *data, size_t n);

/* Run commands that ran before (from a log: no propagation, no refusal),
 * dropping their replies. */
void rstore_run(struct rstore *s, const uint8_t *cmds, size_t n);

/* Free c without logging it (the caller snapshots after). */
void rstore_forget(struct rstore *s, struct rconn *c);

/* The service has taken c's output up to offset taken: drop it. */
void rstore_sent(struct rconn *c, uint64_t taken);

/* c's two ends (sock_conninfo's): keep and log them. Returns 0 or -1 as
 * rstore_batch. */
int rstore_ends(struct rstore *s, struct rconn *c, uint32_t peer_ip, uint16_t peer_port,
		uint16_t local_port);

/* c has ended: log it and free it. Returns 0 or -1 as rstore_batch. */
int rstore_close(struct rstore *s, struct rconn *c);

/* The active expiry (budget keys at most), logged. Returns 0 or -1 as
 * rstore_batch. */
int rstore_expire(struct rstore *s, size_t budget);

/* Take a snapshot now. Returns 0, or -1 if it does not fit. */
int rstore_snapshot(struct rstore *s);

/* Emit the keyspace as commands that rebuild it (db.c): emit(ctx, resp,
 * n) gets RESP multibulk commands, whole ones, in pieces of any size.
 * Returns 0, or emit's nonzero value. */
int rs_db_rewrite(struct rs_engine *e, int (*emit)(void *ctx, const uint8_t *resp, size_t n),
		  void *ctx);

#endif
