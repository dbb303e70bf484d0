/*
 * Channels: named, bounded message queues that outlive their servers.
 *
 * This is the kernel's channel core, kept free of the kernel so it can be
 * tested on the host: it knows nothing of processes, blocking or user memory.
 * The kernel passes opaque ids (a pid for a sender or a server, a cookie for
 * whom to wake) and is told, through return values and one callback, what
 * happened. Memory comes from the allocator in struct chan_env; freed small
 * messages are kept as spare slots (CHAN_SLOT_SIZE) for the next send.
 *
 * Every message ends as exactly one of: replied, acked, poisoned (a dead
 * letter, and an error to a waiting caller), cancelled (its sender died or
 * gave up while it was queued, or while it was in flight at a server death)
 * or discarded (a reply to a sender that is gone). At every moment:
 *
 *   sent == replied + acked + poisoned + cancelled + discarded
 *           + queued + inflight
 *
 * Nothing in here locks: the caller serializes every call on a registry.
 */
#ifndef VESTA_CHAN_H
#define VESTA_CHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vesta/abi.h>

#define CHAN_NAME_MAX 32 /* incl. NUL; names [A-Za-z0-9_.-], non-empty */
/* Dead-letter records kept per channel: enough for the console to show the
 * recent ones; the oldest are dropped from the list, stats.poisoned keeps
 * counting. */
#define CHAN_DEADLETTER_KEEP 16

/* A message of at most CHAN_SLOT_PAYLOAD bytes takes a slot of
 * CHAN_SLOT_SIZE bytes (header included); up to CHAN_SPARES freed slots are
 * kept by the registry for the next send, so the common path of small
 * messages allocates nothing. A larger message takes exactly its size. */
#define CHAN_SLOT_SIZE 512u
#define CHAN_SLOT_PAYLOAD (CHAN_SLOT_SIZE - (uint32_t)sizeof(struct chan_msg))
#define CHAN_SPARES 64u

/* Defaults for a zero field of struct chan_limits. 64 messages of a typical
 * few hundred bytes fit in 64 KiB; 3 deaths in a row on one request is
 * past bad luck. */
#define CHAN_DEFAULT_MAX_MSGS 64u
#define CHAN_DEFAULT_MAX_BYTES 65536u
#define CHAN_DEFAULT_MAX_REDELIVERIES 3u

/*
 * Where the core's memory comes from. alloc returns NULL when out. A small
 * message takes a spare slot when the registry has one, allocating nothing;
 * spare slots are charged to nobody and freed by chan_registry_fini.
 * A message is charged to an owner the env names (0: nobody). Charges and
 * refunds come for count messages of n bytes each at once (a batch's run
 * of one size: one call, not count), and a refund may cover messages that
 * were charged apart, as long as owner and n match:
 *   charge(ctx, sender, n, count, &owner) before they take their n bytes
 *     each (chan_msg_size: a whole slot, or its exact size when larger);
 *     nonzero refuses them all with -VE_NOMEM (nothing charged).
 *   disown(ctx, owner, n) when its sender dies (chan_client_died) and one
 *     stays: returns whom it is charged to from then on (may be 0).
 *   refund(ctx, owner, n, count) once for each, when they are freed,
 *     unless their owner is 0.
 * The hooks may be NULL (all three, or none): then nothing is charged.
 */
struct chan_env {
	void *(*alloc)(void *ctx, size_t n);
	void (*free)(void *ctx, void *p);
	void *ctx;
	int (*charge)(void *ctx, uint64_t sender, size_t n, uint32_t count, uint64_t *owner);
	uint64_t (*disown)(void *ctx, uint64_t owner, size_t n);
	void (*refund)(void *ctx, uint64_t owner, size_t n, uint32_t count);
};

/* A channel's bounds; 0 in a field means its default (above). max_msgs
 * bounds the messages the channel holds, queued and in flight together (so
 * a server that never answers cannot grow it); max_bytes bounds the payload
 * bytes queued (in-flight ones are in the server's hands). */
struct chan_limits {
	uint32_t max_msgs;
	uint32_t max_bytes;
	uint32_t max_redeliveries;
};

/* Where a message is. Private to the core; the kernel reads the fields
 * above it and the data. */
enum chan_msg_where {
	CHAN_MSG_DETACHED = 0, /* on no list: given out by chan_reply, or dying */
	CHAN_MSG_QUEUED,       /* on the channel's queue */
	CHAN_MSG_INFLIGHT,     /* received by the server, not yet replied/acked */
};

/* One message. Owned by the core until chan_reply hands it out. */
struct chan_msg {
	uint64_t id;	      /* unique in the registry, stable across redelivery */
	uint64_t sender;      /* opaque id of the sending client (kernel: pid) */
	uint64_t cookie;      /* opaque to the core (kernel: what to wake) */
	uint32_t kind;	      /* VE_MSG_CALL or VE_MSG_CAST */
	uint32_t len;	      /* payload bytes in data */
	uint32_t redelivered; /* times handed out again after a server death */
	uint32_t deaths;      /* consecutive server deaths while it was in flight */
	bool sender_gone;     /* its sender died or gave up: a reply is discarded */

	/* Private to the core: */
	uint8_t where;	       /* enum chan_msg_where */
	uint64_t owner;	       /* whom it is charged to, 0: nobody (see chan_env) */
	bool disowned;	       /* its sender died: owner is the env's disown choice */
	struct chan_msg *prev; /* links on the list named by where */
	struct chan_msg *next;

	uint8_t data[]; /* len bytes */
};

/* A poisoned message, as the console shows it. */
struct chan_deadletter {
	uint64_t id, sender;
	uint32_t kind, len;
};

/* Counters since the channel was created, and what it holds now. */
struct chan_stats {
	uint64_t sent, replied, acked, poisoned, cancelled, discarded, redelivered;
	uint32_t queued, inflight, queued_bytes;
};

struct chan; /* opaque: use the functions below */

/* All channels and the message id counter. Defined here so the kernel can
 * embed it; its fields are the core's. */
struct chan_registry {
	struct chan_env env;
	struct chan *first, *last; /* in creation order */
	uint64_t next_id;	   /* the next message id; 0 never names one */
	uint32_t nchans;
	struct chan_msg *spare; /* freed slots, linked by next; charged to nobody */
	uint32_t nspare;	/* at most CHAN_SPARES */
};

/* ---- the registry (channels/registry.c) ---- */

/* Whether name is a valid channel name: 1..CHAN_NAME_MAX-1 characters of
 * [A-Za-z0-9_.-]. NULL is not. chan_create takes exactly these. */
bool chan_name_ok(const char *name);

/* Make r empty; env is copied. */
void chan_registry_init(struct chan_registry *r, const struct chan_env *env);
/* Free every channel and every message r holds, with no callbacks but
 * refunds and no counting: for shutdown and tests, after the kernel has
 * woken whoever waited. r is empty afterwards and may be used again. */
void chan_registry_fini(struct chan_registry *r);

/* Create a channel named name with limits lim (NULL: all defaults).
 * Errors: -VE_INVAL name not 1..CHAN_NAME_MAX-1 characters of
 * [A-Za-z0-9_.-] (or out NULL), -VE_BUSY a channel with that name exists,
 * -VE_NOMEM. On error nothing changed. */
int chan_create(struct chan_registry *r, const char *name, const struct chan_limits *lim,
		struct chan **out);
/* Remove an idle channel. -VE_BUSY if it has a server or holds a message
 * (the kernel fails its waiters first). */
int chan_destroy(struct chan *c);
/* The channel with this name, or NULL. */
struct chan *chan_find(struct chan_registry *r, const char *name);
const char *chan_name(const struct chan *c);
/* Its limits with the defaults filled in. */
void chan_get_limits(const struct chan *c, struct chan_limits *out);
/* One pointer for the kernel to hang its own state on (waiters...). */
void chan_set_priv(struct chan *c, void *priv);
void *chan_priv(const struct chan *c);
/* Channels in creation order: for the console. */
struct chan *chan_first(struct chan_registry *r);
struct chan *chan_next(struct chan *c);

/* ---- serving (channels/chan.c) ---- */

/* Make server the channel's one live server. Serving again as the same
 * server is a no-op. -VE_BUSY if another server is set. */
int chan_serve(struct chan *c, uint64_t server);
bool chan_has_server(const struct chan *c);
uint64_t chan_server(const struct chan *c); /* 0 when none */
/*
 * The server died (or stopped serving). Every in-flight message goes back
 * to the FRONT of the queue in its original order, redelivered++ and
 * deaths++ — except:
 *  - one whose sender is gone is dropped and freed (stats.cancelled++);
 *  - one whose deaths reach max_redeliveries is poison: removed, recorded as
 *    a dead letter (stats.poisoned++) and handed to on_poison(ctx, m) so the
 *    kernel can fail its caller with -VE_POISON; the core frees it when the
 *    callback returns (the callback must not). on_poison may be NULL.
 * A replay keeps the number of messages held, so the count bound still
 * holds; the requeued bytes may take the queue past its byte bound: nothing
 * is dropped to fit. The callbacks run after the channel is consistent again,
 * oldest message first, so they may call into this channel. The server is
 * unset; the channel and its queue stay. Returns how many were requeued.
 */
unsigned chan_server_died(struct chan *c, void (*on_poison)(void *ctx, struct chan_msg *m),
			  void *ctx);
/* The same, for a server that died idle (blocked waiting for work, not
 * processing anything): its in-flight messages are replayed but not blamed,
 * so their deaths count does not grow. A server that parks calls in flight
 * (a driver holding a read until input comes) can then be killed and
 * restarted any number of times without poisoning them. */
unsigned chan_server_died_idle(struct chan *c, void (*on_poison)(void *ctx, struct chan_msg *m),
			       void *ctx);

/* ---- messages (channels/chan.c) ---- */

/* The bytes a message of len payload bytes takes, and is charged for. */
size_t chan_msg_size(uint32_t len);

/*
 * Queue a copy of data[0..len) from sender at the tail. *id_out (may be
 * NULL) gets its id. Works with or without a server. Never drops anything.
 * Errors (nothing changed): -VE_INVAL kind is not VE_MSG_CALL/VE_MSG_CAST or
 * data is NULL with len > 0; -VE_RANGE len > VE_MSG_MAX, or len > the
 * channel's max_bytes (it could never fit); -VE_AGAIN the channel is full:
 * it holds max_msgs messages queued and in flight together, or its queued
 * bytes leave no room for len; -VE_NOMEM the env refused to
 * charge sender for it, or is out of memory.
 */
int chan_send(struct chan *c, uint64_t sender, uint32_t kind, const void *data, uint32_t len,
	      uint64_t cookie, uint64_t *id_out);
/*
 * A batch: up to n messages from sender, queued at the tail in order exactly
 * as n calls of chan_send would queue them. Message i is the lens[i] bytes
 * of data that follow message i - 1's (back to back from data[0]); their
 * ids are consecutive, the first in *first_id (may be NULL). The first
 * message chan_send would refuse ends the batch: returns how many were
 * queued, 1..n, or, if none was, that refusal (chan_send's errors). The
 * sender is charged once per run of messages of one size (chan_msg_size),
 * not once per message; a run the env refuses is retried one message at a
 * time, so a share with room for some takes those.
 * -VE_INVAL (nothing queued): n is 0, kind is not VE_MSG_CALL/VE_MSG_CAST,
 * or data is NULL with a length above 0.
 */
long chan_send_batch(struct chan *c, uint64_t sender, uint32_t kind, const void *data,
		     const uint32_t *lens, uint32_t n, uint64_t cookie, uint64_t *first_id);
/* Would a send of len bytes be queued now (i.e. not -VE_AGAIN/-VE_RANGE)? */
bool chan_can_send(const struct chan *c, uint32_t len);
/* A queued message waits. */
bool chan_pending(const struct chan *c);
/*
 * The server takes the head of the queue: it moves to in flight and *out
 * points at it (readable until it is replied, acked or removed). A received
 * CALL must be replied, a CAST acked. Receiving does not reset deaths.
 * Errors: -VE_PERM server is not the channel's server (or none is set),
 * -VE_AGAIN the queue is empty, -VE_INVAL out is NULL.
 */
int chan_recv(struct chan *c, uint64_t server, struct chan_msg **out);
/*
 * The server takes the first n queued messages at once, as n calls of
 * chan_recv would: in queue order they move to the tail of in flight, and
 * out[0..) (may be NULL) points at them. Returns how many moved: n, or
 * fewer if fewer are queued. Errors as chan_recv's (-VE_INVAL: n is 0).
 */
long chan_recv_batch(struct chan *c, uint64_t server, uint32_t n, struct chan_msg **out);
/*
 * Reply to the in-flight CALL id. It leaves the channel and goes to the
 * caller through *out, who must pass it to chan_msg_free() later
 * (stats.replied++). If its sender is gone it is freed here instead,
 * stats.discarded++, *out = NULL, and 0 is returned.
 * Errors: -VE_PERM wrong server, -VE_NOENT no in-flight message id,
 * -VE_INVAL it is a CAST (or out is NULL).
 */
int chan_reply(struct chan *c, uint64_t server, uint64_t id, struct chan_msg **out);
/* Ack the in-flight CAST id: removed and freed, stats.acked++ (also when its
 * sender is gone: the server did the work). Errors as chan_reply, with
 * -VE_INVAL if it is a CALL. */
int chan_ack(struct chan *c, uint64_t server, uint64_t id);
/* Ack the in-flight CASTs ids[0..n) in order, as n calls of chan_ack
 * would: the first that chan_ack would refuse ends the batch with its
 * error. *acked gets how many were acked before it (all n on success).
 * What they were charged is refunded once per run of one owner and size. */
int chan_ack_batch(struct chan *c, uint64_t server, const uint64_t *ids, uint32_t n,
		   uint32_t *acked);
/*
 * The sender of message id gives up on it (call timeout, or it died).
 * Queued: removed and freed, stats.cancelled++. In flight: sender_gone is
 * set, so a later reply is discarded and a server death drops it. Cancelling
 * an in-flight message twice is harmless. -VE_NOENT if the channel does not
 * hold id.
 */
int chan_cancel(struct chan *c, uint64_t id);
/* A client died: every call it sent that this channel still holds is
 * cancelled as above (its casts stay: they need no answer and are still
 * delivered). What of its messages stays (its casts, and its calls in flight
 * until their late reply) is disowned (see chan_env), so no charge names
 * the dead sender any more. Returns how many were newly cancelled. */
unsigned chan_client_died(struct chan *c, uint64_t sender);
/* Free a message chan_reply gave out. NULL is ignored. */
void chan_msg_free(struct chan *c, struct chan_msg *m);
/* The in-flight message id, or NULL: lets the kernel check an id and read
 * the request before it commits to a reply. */
const struct chan_msg *chan_inflight_find(const struct chan *c, uint64_t id);

/* ---- looking in (channels/chan.c) ---- */

void chan_stats(const struct chan *c, struct chan_stats *out);
/* Copy up to cap of the newest dead letters to out, oldest of those first
 * (the newest last). Returns how many were copied. */
unsigned chan_deadletters(const struct chan *c, struct chan_deadletter *out, unsigned cap);
/* Copy up to cap pointers to the queued (or in-flight) messages, in queue
 * (or receive) order. Returns how many were copied. For the console and
 * tests; the pointers are valid until the next call that changes c. */
unsigned chan_list_queued(const struct chan *c, const struct chan_msg **out, unsigned cap);
unsigned chan_list_inflight(const struct chan *c, const struct chan_msg **out, unsigned cap);
/* Check the channel's internal consistency (links, counts, bytes, order).
 * 0, or -VE_INVAL when broken: for debug builds and tests. */
int chan_check(const struct chan *c);

#endif
