/*
 * The channel side of a NIC driver, shared by svc/virtio-net and
 * svc/e1000 so that both speak svc/lib/nic.h exactly alike: it serves the
 * interface's channel, casts received frames to IF.rx, acks a frame to
 * send once the device has taken it, answers 'I', beats the heartbeat and
 * writes the nic_up / nic_pass / nic_link events. The device side is a
 * struct nic_ops that the driver fills in. Linked only into the NIC
 * drivers (GNUmakefile: EXTRA_OBJS_virtio-net, EXTRA_OBJS_e1000).
 *
 * The loop: wait (bounded by the heartbeat, and by NICSRV_POLL_MS so a
 * lost interrupt costs a little latency, not the link) for the IRQ or, while
 * the transmit ring has room, a message on IF; then let the device
 * reclaim sent frames and hand on received ones (ops->poll), ack the
 * IRQ, and take messages from IF while the ring has room. Every 10 s
 * while its counters move, it writes nic_stats.
 */
#ifndef VESTA_SVC_LIB_NICSRV_H
#define VESTA_SVC_LIB_NICSRV_H

#include "nic.h"
#include "vesta.h"

#define NICSRV_TX_MAX 256 /* frames to send in flight, at most */
#define NICSRV_POLL_MS 20

struct nicsrv;

/* The device side. dev is the driver's own state. */
struct nic_ops {
	/* Frames the transmit ring can take now. */
	unsigned (*tx_room)(void *dev);
	/* Give the len-byte frame to the device as token (< NICSRV_TX_MAX);
	 * once it is sent, call nicsrv_tx_done(token). Returns 0 or an error. */
	int (*tx)(void *dev, const uint8_t *frame, size_t len, uint32_t token);
	/* Read and clear the device's interrupt cause, reclaim sent frames,
	 * hand received ones to nicsrv_rx. Returns 0, or an error: the device
	 * misbehaved, and the driver exits so that it is restarted. */
	int (*poll)(void *dev, struct nicsrv *s);
	/* Whether the link is up now. */
	bool (*link)(void *dev);
};

struct nicsrv {
	const struct nic_ops *ops;
	void *dev;
	char ifname[24];
	char rxname[32];
	int32_t h;    /* server handle of ifname */
	int rxh;      /* client handle of rxname; < 0 while it cannot be opened */
	unsigned irq; /* the device's line, or VE_PCI_NOIRQ */
	bool passed;  /* nic_pass written */
	bool link;    /* as last reported */
	struct nic_info info;
	uint64_t stats_at, stats_sum; /* the last nic_stats: when, and its counters' sum */
	struct ve_heartbeat hb;
	uint64_t tx_id[NICSRV_TX_MAX];	 /* the message each token stands for */
	uint8_t tx_call[NICSRV_TX_MAX];	 /* 1: a call (reply), 0: a cast (ack) */
	uint32_t tx_free[NICSRV_TX_MAX]; /* a stack of unused tokens */
	unsigned ntx_free;
};

/*
 * Parse args ("if=NAME rx=NAME heartbeat"; defaults net0 and IF.rx) into
 * s, set up the heartbeat and serve the interface's channel. name is the
 * driver's, for messages. Returns 0 or an error (printed).
 */
int nicsrv_init(struct nicsrv *s, const char *name, const char *args);

/*
 * The device is up: record its MAC, ring sizes and IRQ, write nic_up, and
 * serve forever. Returns only on an error (printed), to exit with.
 */
int nicsrv_run(struct nicsrv *s, const struct nic_ops *ops, void *dev, const uint8_t mac[6],
	       unsigned rx_ring, unsigned tx_ring, unsigned irq);

/* From ops->poll: a frame of len bytes was received. Cast to IF.rx, or
 * counted as dropped. */
void nicsrv_rx(struct nicsrv *s, const uint8_t *frame, size_t len);

/* From ops->poll: the frame given as token has been taken by the device. */
int nicsrv_tx_done(struct nicsrv *s, uint32_t token);

/* The device side's setup, the same in every driver; drv names it in
 * messages. */

/* Bits of the PCI command register. */
#define NICSRV_CMD_IO 0x1
#define NICSRV_CMD_MEM 0x2
#define NICSRV_CMD_MASTER 0x4

/* DMA memory of len bytes: its address, and its bus address in *phys;
 * NULL (printed) if there is none. */
void *nicsrv_dma(const char *drv, size_t len, uint64_t *phys);

/* Set, then clear, bits of device 0's command register. Returns 0 or an
 * error (printed). */
int nicsrv_command(const char *drv, uint32_t set, uint32_t clear);

#endif
