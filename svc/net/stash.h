/*
 * net's stash page: its own record, in its data segment, which is all a
 * stash with recovery windows (README.md). The epoch (the high half of
 * every new cid, a clock tick later than every one before: below), the
 * RFC 6528 secret (isn.h), the listeners, and the peers of the
 * connections open now (a new stack that finds some resets them at once,
 * rather than leave each peer waiting on a half-open connection until it
 * sends; they stay in `stale` until it has, so a death before that loses
 * none; ABORT puts there the ones a client names), under a checksum. A
 * new stack resets a page that fails any check; a kept one exits
 * (net.c). Pure functions: host-tested (tests/unit/test_netstash.c).
 */
#ifndef VESTA_NET_STASH_H
#define VESTA_NET_STASH_H

#include <stdint.h>

#include "sock.h"

#define NET_LISTEN_MAX 16		      /* listeners kept */
#define NET_STASH_MAGIC 0x5453454e54534556ull /* "VESTNETS" */
#define NET_STASH_VERSION 2
#define NET_PEER_MAX 160 /* one per connection slot (sock.c's CONN_MAX) */

/* One listener as the stash keeps it. */
struct net_listen_rec {
	uint64_t lid; /* nonzero, below next_lid */
	uint16_t port, backlog;
	char owner[SOCK_OWNER_MAX];  /* NUL-terminated, not empty */
	char notify[SOCK_OWNER_MAX]; /* NUL-terminated, "" for none */
};

/* A connection's two ends, as the next incarnation needs them to reset
 * it (network byte order for ip; port 0: no connection). Eight bytes,
 * written with one store (net_peer_put): a death cannot leave one half
 * written, so the records need no checksum, and their many changes (at
 * every connection's start and end) never put the checksummed part at
 * risk of a death between a change and its seal. */
struct net_peer_rec {
	_Alignas(8) uint32_t ip;
	uint16_t port, local_port;
};
_Static_assert(sizeof(struct net_peer_rec) == 8, "a peer record is one store");

/* The stash (one page). sum is FNV-1a 64 of every byte before it; the
 * peer records after it are each one store. */
struct net_stash {
	uint64_t magic;
	uint32_t version;
	uint32_t epoch;
	uint64_t secret[2];
	uint64_t next_lid;
	uint32_t nlisten; /* used entries of l[] */
	uint32_t pad;
	struct net_listen_rec l[NET_LISTEN_MAX];
	uint64_t sum;
	struct net_peer_rec peer[NET_PEER_MAX];	 /* by connection slot */
	struct net_peer_rec stale[NET_PEER_MAX]; /* an earlier incarnation's, not reset yet */
};

/* Recompute the checksum after a change. */
void net_stash_seal(struct net_stash *st);

/* Why st cannot be trusted ("new": all zero, "magic", "checksum",
 * "corrupt": a field out of its range), or NULL if it can. */
const char *net_stash_check(const struct net_stash *st);

/* Make st a fresh stash with the given secret: epoch 0 (net.c takes the
 * next), no listeners.
 * The peer records stay (each is whole, and resetting the connections
 * they name is right whatever else was lost). */
void net_stash_reset(struct net_stash *st, const uint64_t secret[2]);

/*
 * Epochs are ticks of the kernel's clock (NET_EPOCH_SHIFT: 2^24 ns, 16.8
 * ms; 32 bits of them last 2.28 years), compared in serial-number order
 * (RFC 1982), so that an epoch is later than every one before it even
 * when the stash that counted them was discarded: a cid of an earlier
 * incarnation is never given again, and is known as earlier (sock.h). A
 * start takes the clock's tick once it is past a floor: the kept stash's
 * epoch, or, for a new stack, the tick at which the process started (any
 * epoch before was taken before that).
 */
#define NET_EPOCH_SHIFT 24

/* Whether epoch a is before epoch b. */
static inline int net_epoch_before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

/* The epoch a start may take at tick now, past floor; 0: not yet (wait
 * for a later tick). */
uint32_t net_epoch_take(uint32_t floor, uint32_t now);

/* Whether ABORT (sock.h) may reset the connection cid of an epoch before
 * `epoch` with ends r, as far as the request alone tells: 0, or
 * -SOCK_EINVAL (a cid of this epoch or a later one, or of none; an ip or
 * port 0). The caller also refuses a cid it holds or ends lwIP has. */
int net_abort_check(uint64_t cid, uint32_t epoch, const struct net_peer_rec *r);

/* Put r on st's stale list, to be probed (sock.c). Returns 1 if it was
 * there already (a replayed ABORT), 0 if put, -SOCK_EAGAIN if the list
 * is full. */
int net_stale_add(struct net_stash *st, struct net_peer_rec r);

/* Write *r as v in one store. */
static inline void net_peer_put(struct net_peer_rec *r, struct net_peer_rec v)
{
	uint64_t w;

	__builtin_memcpy(&w, &v, sizeof(w));
	*(volatile uint64_t *)(void *)r = w;
}

#endif
