/*
 * The state svc/net's parts share: the stash page (the epoch, the ISN
 * secret, the listeners), the channel handles, the lwIP interface, the
 * counters and the frames queued for the NIC. Like all of net's data
 * segment, it outlives an incarnation (svc/lib/user-stash.ld: a stash
 * with recovery windows); the handles are had again at each start. net.c owns it; netif.c
 * moves frames between lwIP and the NIC channel (svc/lib/nic.h); sock.c
 * serves the sockets protocol (svc/lib/sock.h).
 */
#ifndef VESTA_NET_NET_H
#define VESTA_NET_NET_H

#include "vesta.h"

#include "lwip/ip4_addr.h"
#include "lwip/netif.h"
#include "sock.h"
#include "stash.h"

#define NET_TXQ_MAX 512 /* frames queued between two flushes */

/* Frames lwIP sent and netif_flush has not cast yet (netif.c): 'T' and
 * the frame, back to back in buf; the first `sent` are gone. */
struct net_txq {
	uint32_t n, bytes, sent, sent_bytes;
	uint32_t lens[NET_TXQ_MAX];
	uint8_t buf[NET_TXQ_MAX * 1024];
};

struct net {
	struct net_stash *st;
	uint32_t epoch;
	bool up;     /* lwIP and the interface are set up: a kept stash continues */
	int nic;     /* client handle of the interface ("net0") */
	int32_t tcp; /* server handle of SOCK_CHANNEL */
	int32_t rx;  /* server handle of the interface's rx channel */
	struct netif nif;
	uint8_t mac[6];
	uint64_t rx_frames, rx_dropped, tx_frames, tx_dropped;
	struct net_txq txq;
};

extern struct net net;

/* net.c: len bytes of this incarnation's memory, outside the stash, for
 * scratch (exits 1 if there is none). */
void *net_scratch(size_t len);

/* netif.c: add the interface (addresses in network byte order) and bring
 * it up; hand it a received frame. */
void netif_start(const ip4_addr_t *ip, const ip4_addr_t *mask, const ip4_addr_t *gw);
void netif_frame_in(const uint8_t *frame, size_t len);
/* netif.c: cast the frames lwIP queued since the last flush. */
void netif_flush(void);

/* sock.c: reopen the stash's listeners; serve one request (answered now
 * or parked); answer parked calls that can be, expire the rest, send
 * events. sock_poll returns the nanoseconds until its next deadline
 * (VE_TIMEOUT_NONE if none). */
void sock_start(void);
/* sock.c: carry on over a kept stash (reopen the NOTIFY channels). */
void sock_resume(void);
void sock_request(const struct ve_msg *m, const uint8_t *req, size_t len);
uint64_t sock_poll(void);
/* Connections held now (for net_stats). */
unsigned sock_conns(void);

#endif
