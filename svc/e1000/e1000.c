/*
 * e1000: the driver of an Intel 82540EM (8086:100e, what QEMU's
 * `-device e1000`, VirtualBox and VMware emulate), through its registers
 * in memory BAR0 (mapped uncached with dev_map). It serves one interface
 * channel (nic.h; the channel side is svc/lib/nicsrv.c) and owns device 0
 * of its grant.
 *
 * On start it resets the device (a dead incarnation may have left it
 * running: the kernel stopped its bus mastering, but its rings still point
 * at freed memory until the reset), masks and clears its interrupts, reads
 * the MAC from RAL0/RAH0 (or the EEPROM if the address is not valid
 * there), and sets up a receive and a transmit ring of legacy descriptors
 * in fresh DMA memory (ering.c keeps their books), each slot with its own
 * BUF_SIZE buffer. Reading ICR says why it interrupted and lowers the
 * line; STATUS.LU is the link.
 *
 * Args: as nicsrv_init ("if=net0 rx=net0.rx heartbeat").
 */
#include "ering.h"
#include "nicsrv.h"

/* Registers (8254x manual, section 13), byte offsets in BAR0. */
#define R_CTRL 0x0000
#define R_STATUS 0x0008
#define R_EERD 0x0014
#define R_ICR 0x00c0
#define R_IMS 0x00d0
#define R_IMC 0x00d8
#define R_RCTL 0x0100
#define R_TCTL 0x0400
#define R_TIPG 0x0410
#define R_RDBAL 0x2800
#define R_RDBAH 0x2804
#define R_RDLEN 0x2808
#define R_RDH 0x2810
#define R_RDT 0x2818
#define R_TDBAL 0x3800
#define R_TDBAH 0x3804
#define R_TDLEN 0x3808
#define R_TDH 0x3810
#define R_TDT 0x3818
#define R_MTA 0x5200 /* 128 words */
#define R_RAL0 0x5400
#define R_RAH0 0x5404

#define CTRL_ASDE (1u << 5)
#define CTRL_SLU (1u << 6)
#define CTRL_RST (1u << 26)
#define STATUS_LU (1u << 1)
#define EERD_START 1u
#define EERD_DONE (1u << 4)
#define RAH_AV (1u << 31)
#define RCTL_EN (1u << 1)
#define RCTL_BAM (1u << 15)   /* accept broadcast */
#define RCTL_SECRC (1u << 26) /* strip the FCS */
#define TCTL_EN (1u << 1)
#define TCTL_PSP (1u << 3) /* pad short frames */
#define TCTL_CT (0x0fu << 4)
#define TCTL_COLD (0x40u << 12)
#define TIPG_COPPER 0x0060200au
#define INT_TXDW (1u << 0)
#define INT_LSC (1u << 2)
#define INT_RXDMT0 (1u << 4)
#define INT_RXO (1u << 6)
#define INT_RXT0 (1u << 7)

#define RX_SLOTS 128 /* receive ring: what a death can lose, less one */
#define TX_SLOTS 64
#define BUF_SIZE 2048 /* RCTL.BSIZE 0: 2048-byte receive buffers */
#define SPINS 1000000

struct e1k {
	volatile uint8_t *regs;
	struct erx rx;
	struct etx tx;
	uint8_t *rxbuf, *txbuf;
	uint64_t txbuf_phys;
};

static uint32_t rd(struct e1k *e, uint32_t reg)
{
	return *(volatile uint32_t *)(e->regs + reg);
}

static void wr(struct e1k *e, uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(e->regs + reg) = v;
}

/* EEPROM word addr through EERD, or -1 if it never finishes. */
static long eeprom_word(struct e1k *e, uint32_t addr)
{
	wr(e, R_EERD, EERD_START | addr << 8);
	for (int i = 0; i < SPINS; i++) {
		uint32_t v = rd(e, R_EERD);

		if (v & EERD_DONE)
			return v >> 16;
	}
	return -1;
}

/* The MAC: RAL0/RAH0 as the reset left them, else the EEPROM's. */
static int read_mac(struct e1k *e, uint8_t mac[6])
{
	uint32_t lo = rd(e, R_RAL0), hi = rd(e, R_RAH0);

	if (!(hi & RAH_AV)) {
		for (uint32_t w = 0; w < 3; w++) {
			long v = eeprom_word(e, w);

			if (v < 0)
				return -VE_TIMEOUT;
			mac[2 * w] = (uint8_t)v;
			mac[2 * w + 1] = (uint8_t)(v >> 8);
		}
		lo = (uint32_t)mac[0] | (uint32_t)mac[1] << 8 | (uint32_t)mac[2] << 16 |
		     (uint32_t)mac[3] << 24;
		hi = (uint32_t)mac[4] | (uint32_t)mac[5] << 8;
		wr(e, R_RAL0, lo);
		wr(e, R_RAH0, hi | RAH_AV);
	}
	for (int i = 0; i < 4; i++)
		mac[i] = (uint8_t)(lo >> (8 * i));
	mac[4] = (uint8_t)hi;
	mac[5] = (uint8_t)(hi >> 8);
	return 0;
}

/*
 * Reset the device, interrupts masked and cleared, and make sure it points
 * at no ring: a device reset need not clear the ring registers (QEMU's
 * does not), and the dead incarnation's rings are memory that may be
 * someone else's by now, so receive and transmit go off and every ring
 * register to 0 before bus mastering is turned back on.
 */
static int reset(struct e1k *e)
{
	static const uint32_t rings[] = { R_RDBAL, R_RDBAH, R_RDLEN, R_RDH, R_RDT,
					  R_TDBAL, R_TDBAH, R_TDLEN, R_TDH, R_TDT };

	wr(e, R_IMC, ~0u);
	wr(e, R_RCTL, 0);
	wr(e, R_TCTL, 0);
	wr(e, R_CTRL, rd(e, R_CTRL) | CTRL_RST);
	for (int i = 0; rd(e, R_CTRL) & CTRL_RST; i++)
		if (i == SPINS)
			return -VE_TIMEOUT;
	wr(e, R_IMC, ~0u);
	wr(e, R_RCTL, 0);
	wr(e, R_TCTL, 0);
	for (size_t i = 0; i < sizeof(rings) / sizeof(rings[0]); i++)
		wr(e, rings[i], 0);
	(void)rd(e, R_ICR);
	return 0;
}

/* The receive ring and its buffers; receiving on. */
static int rx_setup(struct e1k *e)
{
	uint64_t ring_phys, buf_phys;
	void *ring = nicsrv_dma("e1000", RX_SLOTS * sizeof(struct erx_desc), &ring_phys);
	int tail;

	if (!ring || !(e->rxbuf = nicsrv_dma("e1000", (size_t)RX_SLOTS * BUF_SIZE, &buf_phys)))
		return -VE_NOMEM;
	tail = erx_init(&e->rx, RX_SLOTS, ring, buf_phys, BUF_SIZE);
	wr(e, R_RDBAL, (uint32_t)ring_phys);
	wr(e, R_RDBAH, (uint32_t)(ring_phys >> 32));
	wr(e, R_RDLEN, RX_SLOTS * sizeof(struct erx_desc));
	wr(e, R_RDH, 0);
	wr(e, R_RDT, 0);
	/* Receive on before the tail gives the ring: QEMU hands the device the
	 * frames it queued while the ring was full as soon as the tail moves,
	 * and drops them if receive is still off. */
	wr(e, R_RCTL, RCTL_EN | RCTL_BAM | RCTL_SECRC);
	wr(e, R_RDT, (uint32_t)tail);
	return 0;
}

/* The transmit ring and its buffers; transmitting on. */
static int tx_setup(struct e1k *e)
{
	uint64_t ring_phys;
	void *ring = nicsrv_dma("e1000", TX_SLOTS * sizeof(struct etx_desc), &ring_phys);

	if (!ring || !(e->txbuf = nicsrv_dma("e1000", (size_t)TX_SLOTS * BUF_SIZE, &e->txbuf_phys)))
		return -VE_NOMEM;
	etx_init(&e->tx, TX_SLOTS, ring);
	wr(e, R_TDBAL, (uint32_t)ring_phys);
	wr(e, R_TDBAH, (uint32_t)(ring_phys >> 32));
	wr(e, R_TDLEN, TX_SLOTS * sizeof(struct etx_desc));
	wr(e, R_TDH, 0);
	wr(e, R_TDT, 0);
	wr(e, R_TIPG, TIPG_COPPER);
	wr(e, R_TCTL, TCTL_EN | TCTL_PSP | TCTL_CT | TCTL_COLD);
	return 0;
}

/*
 * Map and reset the device, read its MAC, set up the rings. Bus mastering
 * goes on only once the new rings are in place: until the reset the
 * device's registers still point at the rings of the dead incarnation,
 * memory that may be someone else's by now.
 */
static int e1k_start(struct e1k *e, uint8_t mac[6])
{
	long a;
	int r;

	if ((a = ve_dev_map(0, 0)) < 0) {
		ve_printf("e1000: map BAR0: %s\n", ve_strerror(a));
		return (int)a;
	}
	e->regs = (volatile uint8_t *)a;
	if ((r = nicsrv_command("e1000", NICSRV_CMD_MEM, NICSRV_CMD_MASTER)) < 0)
		return r;
	if ((r = reset(e)) < 0 || (r = read_mac(e, mac)) < 0) {
		ve_printf("e1000: reset: %s\n", ve_strerror(r));
		return r;
	}
	wr(e, R_CTRL, rd(e, R_CTRL) | CTRL_SLU | CTRL_ASDE);
	for (uint32_t i = 0; i < 128; i++)
		wr(e, R_MTA + 4 * i, 0);
	if ((r = rx_setup(e)) < 0 || (r = tx_setup(e)) < 0)
		return r;
	/* Last: QEMU hands the device the frames it queued meanwhile when bus
	 * mastering comes on, and drops them unless receive is on by then. */
	if ((r = nicsrv_command("e1000", NICSRV_CMD_MASTER, 0)) < 0)
		return r;
	wr(e, R_IMS, INT_RXT0 | INT_RXO | INT_RXDMT0 | INT_LSC | INT_TXDW);
	return 0;
}

static unsigned e1k_tx_room(void *dev)
{
	struct e1k *e = dev;

	return etx_slot(&e->tx) < 0 ? 0 : 1;
}

static int e1k_tx(void *dev, const uint8_t *frame, size_t len, uint32_t token)
{
	struct e1k *e = dev;
	int slot = etx_slot(&e->tx), tail;

	if (slot < 0)
		return -VE_AGAIN;
	memcpy(e->txbuf + (size_t)slot * BUF_SIZE, frame, len);
	tail = etx_add(&e->tx, e->txbuf_phys + (uint64_t)slot * BUF_SIZE, (uint16_t)len, token);
	if (tail < 0)
		return -VE_INVAL;
	wr(e, R_TDT, (uint32_t)tail);
	return 0;
}

static int e1k_poll(void *dev, struct nicsrv *s)
{
	struct e1k *e = dev;
	uint32_t token;
	uint16_t slot, len;
	enum erx_take t;
	int r;

	(void)rd(e, R_ICR); /* lowers the line; we look at both rings anyway */
	while (etx_reclaim(&e->tx, &token))
		if ((r = nicsrv_tx_done(s, token)) < 0)
			return r;
	while ((t = erx_take(&e->rx, &slot, &len)) != ERX_NONE) {
		if (t == ERX_FRAME)
			nicsrv_rx(s, e->rxbuf + (size_t)slot * BUF_SIZE, len);
		wr(e, R_RDT, erx_give_back(&e->rx));
	}
	return 0;
}

static bool e1k_link(void *dev)
{
	return rd(dev, R_STATUS) & STATUS_LU;
}

static const struct nic_ops e1k_ops = {
	.tx_room = e1k_tx_room,
	.tx = e1k_tx,
	.poll = e1k_poll,
	.link = e1k_link,
};

int main(const char *args)
{
	static struct nicsrv s;
	static struct e1k e;
	struct ve_pciinfo pi;
	uint8_t mac[6];

	if (nicsrv_init(&s, "e1000", args) < 0 || e1k_start(&e, mac) < 0)
		return 1;
	ve_dev_info(0, &pi);
	return nicsrv_run(&s, &e1k_ops, &e, mac, RX_SLOTS - 1, TX_SLOTS - 1, pi.irq) < 0 ? 1 : 0;
}
