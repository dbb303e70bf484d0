/*
 * The state svc/net's parts share: the stash (what outlives an
 * incarnation: the epoch, the ISN secret, the listeners), the channel
 * handles, the lwIP interface and the counters. net.c owns it; netif.c
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

struct net {
	struct net_stash *st;
	uint32_t epoch;
	int nic;     /* client handle of the interface ("net0") */
	int32_t tcp; /* server handle of SOCK_CHANNEL */
	int32_t rx;  /* server handle of the interface's rx channel */
	struct netif nif;
	uint8_t mac[6];
	uint64_t rx_frames, rx_dropped, tx_frames, tx_dropped;
};

extern struct net net;

/* netif.c: add the interface (addresses in network byte order) and bring
 * it up; hand it a received frame. */
void netif_start(const ip4_addr_t *ip, const ip4_addr_t *mask, const ip4_addr_t *gw);
void netif_frame_in(const uint8_t *frame, size_t len);

/* sock.c: reopen the stash's listeners; serve one request (answered now
 * or parked); answer parked calls that can be, expire the rest, send
 * events. sock_poll returns the nanoseconds until its next deadline
 * (VE_TIMEOUT_NONE if none). */
void sock_start(void);
void sock_request(const struct ve_msg *m, const uint8_t *req, size_t len);
uint64_t sock_poll(void);
/* Connections held now (for net_stats). */
unsigned sock_conns(void);

#endif
