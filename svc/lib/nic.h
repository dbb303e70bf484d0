/*
 * The NIC channel protocol: what a network driver (svc/virtio-net,
 * svc/e1000) and its client say to each other. Both drivers speak exactly
 * this, so what stands above them cannot tell which NIC it has.
 *
 * One interface, two channels:
 *
 *   IF      (e.g. "net0") served by the driver; the client opens it.
 *   IF.rx   (e.g. "net0.rx") served by the client; the driver opens it.
 *
 * Why two: a Vesta channel carries requests from a client to a server, and
 * a process blocked in a call cannot serve. Received frames must go from
 * the driver to the client without the driver waiting on anyone, so the
 * driver *casts* each received frame to a channel the client serves. The
 * channel outlives both ends: frames received while the client is down
 * wait there, up to the channel's bound; past it the driver drops the
 * frame and counts it (rx_dropped), never blocking (VE_NONBLOCK), so a
 * slow or dead client cannot stall transmission or the heartbeat.
 *
 * On IF (client -> driver):
 *
 *   cast 'T' FRAME   send FRAME (a whole Ethernet frame without FCS,
 *                    NIC_FRAME_MIN..NIC_FRAME_MAX bytes: destination,
 *                    source, type, payload; the driver pads short ones).
 *                    The driver acks the cast only once the device has
 *                    taken the frame (its descriptor came back done), so
 *                    a frame not yet taken when the driver dies is
 *                    replayed to the next incarnation: a duplicate on the
 *                    wire is possible, a vanished frame is not. The
 *                    driver takes casts off the channel only while its
 *                    transmit ring has room, so the channel's bound is the
 *                    backpressure: a client's cast blocks (or answers
 *                    -VE_AGAIN with VE_NONBLOCK) while it is full. A bad
 *                    frame (wrong length) is acked and counted (tx_bad).
 *   call 'I'         the reply is a struct nic_info: MAC address, link
 *                    state and counters of this incarnation.
 *   anything else    a call gets the 1-byte reply NIC_BADREQ; a cast is
 *                    acked and ignored.
 *
 * On IF.rx (driver -> client):
 *
 *   cast 'R' FRAME   a received frame (without FCS). The client acks it
 *                    once it has dealt with it. A frame the device has
 *                    written into its ring but the driver has not yet
 *                    cast is lost if the driver dies: at most what the
 *                    receive ring held (struct nic_info.rx_ring).
 *
 * A driver that comes up (or back) writes the event
 *   {"ev":"nic_up","if":IF,"mac":"52:54:00:12:34:56","link":1,"rx_ring":N,"tx_ring":M}
 * and, once it has both cast a received frame to IF.rx and had a frame
 * taken by the device, {"ev":"nic_pass","if":IF}: frames pass both ways
 * again (a restart's latency is from the death to that event). Every 10 s
 * while they move it writes the counters of struct nic_info:
 *   {"ev":"nic_stats","if":IF,"rx":..,"rx_dropped":..,"tx":..,"tx_bad":..}
 */
#ifndef VESTA_SVC_LIB_NIC_H
#define VESTA_SVC_LIB_NIC_H

#include <stdint.h>

#define NIC_OP_TX 'T'	/* cast on IF: a frame to send */
#define NIC_OP_INFO 'I' /* call on IF: struct nic_info */
#define NIC_OP_RX 'R'	/* cast on IF.rx: a frame received */
#define NIC_BADREQ '?'	/* the reply to a call the driver does not know */

#define NIC_HDR 14			/* destination, source, type */
#define NIC_FRAME_MIN NIC_HDR		/* shorter is no frame; the driver pads to 60 */
#define NIC_FRAME_MAX 1514		/* header and a 1500-byte payload, no FCS */
#define NIC_MSG_MAX (1 + NIC_FRAME_MAX) /* an op byte and a frame */

/* The reply to 'I'. Counters are this incarnation's (a restart zeroes them). */
struct nic_info {
	uint8_t op;   /* NIC_OP_INFO */
	uint8_t link; /* 1: link up */
	uint8_t mac[6];
	uint32_t rx_ring, tx_ring; /* frames each ring holds */
	uint64_t rx_frames;	   /* cast to IF.rx */
	uint64_t rx_dropped;	   /* IF.rx was full (or gone): dropped */
	uint64_t tx_frames;	   /* taken by the device */
	uint64_t tx_bad;	   /* refused: bad length */
};

#endif
