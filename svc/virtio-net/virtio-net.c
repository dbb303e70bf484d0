/*
 * virtio-net: the driver of a virtio network device (1af4:1000, legacy or
 * transitional: QEMU's default `-device virtio-net-pci`) through its
 * legacy interface in I/O BAR0. It serves one interface channel (nic.h;
 * the channel side is svc/lib/nicsrv.c) and owns device 0 of its grant.
 *
 * On start it resets the device (a dead incarnation may have left it
 * running: the kernel stopped its bus mastering, but its queues still
 * point at freed memory until the reset), negotiates only MAC and STATUS,
 * and sets up the receive queue (0) and the transmit queue (1) in fresh
 * DMA memory (virtq.c keeps their books). Every receive buffer and every
 * transmit buffer is one descriptor of BUF_SIZE bytes: the 10-byte legacy
 * virtio_net_hdr, then the frame. Interrupts come on the PCI line; the ISR
 * register says why (bit 0: a queue, bit 1: the configuration, so the
 * link, changed) and reading it lowers the line.
 *
 * Args: as nicsrv_init ("if=net0 rx=net0.rx heartbeat").
 */
#include "nicsrv.h"
#include "portio.h"
#include "virtq.h"

/* The legacy registers, offsets in BAR0 (virtio 1.x section 4.1.4.8). */
#define VIO_DEV_FEATURES 0x00
#define VIO_DRV_FEATURES 0x04
#define VIO_QUEUE_PFN 0x08
#define VIO_QUEUE_SIZE 0x0c
#define VIO_QUEUE_SEL 0x0e
#define VIO_QUEUE_NOTIFY 0x10
#define VIO_STATUS 0x12
#define VIO_ISR 0x13
#define VIO_NET_MAC 0x14    /* device config without MSI-X: mac[6] */
#define VIO_NET_STATUS 0x1a /* then status (u16) */

#define ST_ACK 1
#define ST_DRIVER 2
#define ST_DRIVER_OK 4
#define ST_FAILED 0x80

#define F_MAC (1u << 5)
#define F_STATUS (1u << 16)
#define NET_S_LINK_UP 1

#define Q_RX 0
#define Q_TX 1
#define NET_HDR 10    /* struct virtio_net_hdr without MRG_RXBUF */
#define BUF_SIZE 2048 /* a header and the largest frame, rounded */
#define RX_BUFS 128   /* receive buffers posted: what a death can lose */
#define TX_BUFS 64    /* frames to send in flight */

struct queue {
	struct virtq vq;
	uint8_t *buf; /* nbufs * BUF_SIZE bytes of DMA memory */
	uint64_t buf_phys;
	unsigned nbufs;
};

struct vnet {
	uint16_t io; /* BAR0's first port */
	uint32_t features;
	struct queue rx, tx;
	uint32_t tx_free[TX_BUFS]; /* a stack of unused transmit buffers */
	unsigned ntx_free;
	uint32_t tx_token[TX_BUFS]; /* nicsrv's token of the frame in buffer i */
};

/* Select queue q, give it ring memory and nbufs buffers. */
static int queue_setup(struct vnet *v, struct queue *q, uint16_t index, unsigned nbufs)
{
	uint16_t size;
	uint64_t ring_phys;
	void *ring;

	ve_outw(v->io + VIO_QUEUE_SEL, index);
	size = ve_inw(v->io + VIO_QUEUE_SIZE);
	if (size == 0 || size > VQ_MAX || (size & (size - 1))) {
		ve_printf("virtio-net: queue %u has size %u\n", index, size);
		return -VE_INVAL;
	}
	if (!(ring = nicsrv_dma("virtio-net", vq_bytes(size), &ring_phys)))
		return -VE_NOMEM;
	vq_init(&q->vq, size, ring);
	q->nbufs = nbufs < size ? nbufs : size;
	if (!(q->buf = nicsrv_dma("virtio-net", (size_t)q->nbufs * BUF_SIZE, &q->buf_phys)))
		return -VE_NOMEM;
	ve_outl(v->io + VIO_QUEUE_PFN, (uint32_t)(ring_phys >> 12));
	return 0;
}

/* Give receive buffer i to the device. */
static void rx_post(struct vnet *v, uint32_t i)
{
	struct vq_seg s = { .addr = v->rx.buf_phys + (uint64_t)i * BUF_SIZE,
			    .len = BUF_SIZE,
			    .write = true };

	vq_add(&v->rx.vq, &s, 1, i);
}

/*
 * Reset the device and bring it up. Bus mastering goes on only after the
 * reset: until then the device's queues still point at the dead
 * incarnation's rings, memory that may be someone else's by now.
 * Returns 0 or an error.
 */
static int vnet_start(struct vnet *v)
{
	struct ve_pciinfo pi;
	int r;

	if ((r = ve_dev_info(0, &pi)) < 0) {
		ve_printf("virtio-net: dev_info: %s\n", ve_strerror(r));
		return r;
	}
	if (pi.bar[0].kind != VE_BAR_IO || pi.bar[0].size < 0x20) {
		ve_printf("virtio-net: BAR0 is not the legacy I/O interface\n");
		return -VE_INVAL;
	}
	v->io = (uint16_t)pi.bar[0].base;
	if ((r = nicsrv_command("virtio-net", NICSRV_CMD_IO, NICSRV_CMD_MASTER)) < 0)
		return r;
	ve_outb(v->io + VIO_STATUS, 0); /* reset */
	(void)ve_inb(v->io + VIO_ISR);
	if ((r = nicsrv_command("virtio-net", NICSRV_CMD_MASTER, 0)) < 0)
		return r;
	ve_outb(v->io + VIO_STATUS, ST_ACK);
	ve_outb(v->io + VIO_STATUS, ST_ACK | ST_DRIVER);
	v->features = ve_inl(v->io + VIO_DEV_FEATURES) & (F_MAC | F_STATUS);
	ve_outl(v->io + VIO_DRV_FEATURES, v->features);
	if ((r = queue_setup(v, &v->rx, Q_RX, RX_BUFS)) < 0 ||
	    (r = queue_setup(v, &v->tx, Q_TX, TX_BUFS)) < 0) {
		ve_outb(v->io + VIO_STATUS, ST_FAILED);
		return r;
	}
	for (uint32_t i = 0; i < v->rx.nbufs; i++)
		rx_post(v, i);
	v->ntx_free = v->tx.nbufs;
	for (uint32_t i = 0; i < v->tx.nbufs; i++)
		v->tx_free[i] = v->tx.nbufs - 1 - i;
	ve_outb(v->io + VIO_STATUS, ST_ACK | ST_DRIVER | ST_DRIVER_OK);
	ve_outw(v->io + VIO_QUEUE_NOTIFY, Q_RX);
	return 0;
}

static unsigned vnet_tx_room(void *dev)
{
	return ((struct vnet *)dev)->ntx_free;
}

static int vnet_tx(void *dev, const uint8_t *frame, size_t len, uint32_t token)
{
	struct vnet *v = dev;
	uint32_t i = v->tx_free[--v->ntx_free];
	uint8_t *b = v->tx.buf + (size_t)i * BUF_SIZE;
	struct vq_seg s = { .addr = v->tx.buf_phys + (uint64_t)i * BUF_SIZE,
			    .len = (uint32_t)(NET_HDR + len),
			    .write = false };

	memset(b, 0, NET_HDR);
	memcpy(b + NET_HDR, frame, len);
	v->tx_token[i] = token;
	if (vq_add(&v->tx.vq, &s, 1, i) < 0) {
		v->tx_free[v->ntx_free++] = i;
		return -VE_AGAIN;
	}
	ve_outw(v->io + VIO_QUEUE_NOTIFY, Q_TX);
	return 0;
}

/* Take back every sent frame. */
static int reclaim_tx(struct vnet *v, struct nicsrv *s)
{
	uint32_t i, len;
	enum vq_take t;
	int r;

	while ((t = vq_take(&v->tx.vq, &i, &len)) == VQ_GOT) {
		if (i >= v->tx.nbufs)
			return -VE_INVAL;
		v->tx_free[v->ntx_free++] = i;
		if ((r = nicsrv_tx_done(s, v->tx_token[i])) < 0)
			return r;
	}
	return t == VQ_BAD ? -VE_INVAL : 0;
}

/* Hand on every received frame and give its buffer back. */
static int take_rx(struct vnet *v, struct nicsrv *s)
{
	uint32_t i, len;
	enum vq_take t;
	bool any = false;

	while ((t = vq_take(&v->rx.vq, &i, &len)) == VQ_GOT) {
		if (i >= v->rx.nbufs)
			return -VE_INVAL;
		if (len > NET_HDR && len <= BUF_SIZE)
			nicsrv_rx(s, v->rx.buf + (size_t)i * BUF_SIZE + NET_HDR, len - NET_HDR);
		rx_post(v, i);
		any = true;
	}
	if (any)
		ve_outw(v->io + VIO_QUEUE_NOTIFY, Q_RX);
	return t == VQ_BAD ? -VE_INVAL : 0;
}

static int vnet_poll(void *dev, struct nicsrv *s)
{
	struct vnet *v = dev;
	int r;

	(void)ve_inb(v->io + VIO_ISR); /* lowers the line; we look at both queues anyway */
	if ((r = reclaim_tx(v, s)) < 0)
		return r;
	return take_rx(v, s);
}

static bool vnet_link(void *dev)
{
	struct vnet *v = dev;

	if (!(v->features & F_STATUS))
		return true;
	return ve_inw(v->io + VIO_NET_STATUS) & NET_S_LINK_UP;
}

static const struct nic_ops vnet_ops = {
	.tx_room = vnet_tx_room,
	.tx = vnet_tx,
	.poll = vnet_poll,
	.link = vnet_link,
};

int main(const char *args)
{
	static struct nicsrv s;
	static struct vnet v;
	struct ve_pciinfo pi;
	uint8_t mac[6] = { 0 };

	if (nicsrv_init(&s, "virtio-net", args) < 0 || vnet_start(&v) < 0)
		return 1;
	if (v.features & F_MAC)
		for (int i = 0; i < 6; i++)
			mac[i] = ve_inb(v.io + VIO_NET_MAC + i);
	ve_dev_info(0, &pi);
	return nicsrv_run(&s, &vnet_ops, &v, mac, v.rx.nbufs, v.tx.nbufs, pi.irq) < 0 ? 1 : 0;
}
