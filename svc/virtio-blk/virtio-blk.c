/*
 * virtio-blk: the driver of a virtio block device (1af4:1001, legacy or
 * transitional: QEMU's `-device virtio-blk-pci`) through its legacy
 * interface in I/O BAR0. It serves one disk channel in the protocol of
 * svc/lib/blk.h and owns device 0 of its grant.
 *
 * On start it resets the device (a dead incarnation may have left requests
 * in its ring: the kernel stopped its bus mastering, but the queue still
 * points at freed memory until the reset), negotiates only RO and FLUSH,
 * and sets up queue 0 in fresh DMA memory (svc/lib/virtq.c keeps its
 * books). It serves one request at a time: a request is a chain of three
 * descriptors in one DMA page (the 16-byte header, the data, the status
 * byte the device writes), sent, then waited for on the PCI line (the ISR
 * register says a queue moved; reading it lowers the line) while the
 * heartbeat keeps going. A device that does not finish a request within
 * DEV_TIMEOUT_MS is taken for broken: the driver exits, so its restart
 * resets the device and the kernel replays the request to it.
 *
 * What the device reports is not trusted: a used entry that names nothing
 * in flight ends the driver the same way; the status byte is set to a
 * value no device writes before each request, and anything but OK is
 * -BLK_EIO; the used length is never used to size a copy.
 *
 * Requests are checked as blk.h says before anything reaches the device;
 * one that was in flight at a death is redelivered and simply done again
 * (whole-sector writes are idempotent).
 *
 * Args: "[dev=NAME] [heartbeat]" (NAME defaults to blk0). Writes
 * {"ev":"blk_up","dev":..,"sectors":..,"ro":..,"flush":..} when it serves.
 */
#include "blk.h"
#include "portio.h"
#include "vesta.h"
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
#define VIO_BLK_CAPACITY 0x14 /* device config without MSI-X: capacity (u64) */

#define ST_ACK 1
#define ST_DRIVER 2
#define ST_DRIVER_OK 4
#define ST_FAILED 0x80

#define F_RO (1u << 5)
#define F_FLUSH (1u << 9)

/* virtio_blk_req's type and status (virtio 1.x section 5.2.6). */
#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define S_OK 0
#define S_UNSET 0xff /* written before each request: no device status is 0xff */

#define PCI_COMMAND 0x04
#define CMD_IO 0x1
#define CMD_MASTER 0x4

#define BEAT_MS 200	      /* well inside the policy's heartbeat */
#define POLL_MS 10	      /* the longest wait for a completion between looks */
#define DEV_TIMEOUT_MS 20000u /* a request the device sits on this long: broken */

/* The request page: the header, the status byte, then the data. */
#define OFF_HDR 0
#define OFF_STATUS 16
#define OFF_DATA 512
#define REQ_BYTES 4096
_Static_assert(OFF_DATA + BLK_XFER_MAX * BLK_SECTOR <= REQ_BYTES, "a request fits its page");

struct vblk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
} __attribute__((packed));

struct vblk {
	char name[VE_NAME_MAX]; /* the channel served */
	int h;
	struct ve_heartbeat hb;
	uint16_t io; /* BAR0's first port */
	unsigned irq;
	uint32_t features;
	uint64_t sectors;
	struct virtq vq;
	uint8_t *req; /* REQ_BYTES of DMA memory */
	uint64_t req_phys;
};

/* Parse "[dev=NAME] [heartbeat]". Returns 0 or -VE_INVAL. */
static int parse_args(struct vblk *b, const char *args, bool *beat)
{
	const char *p = ve_skip_space(args);

	memcpy(b->name, "blk0", 5);
	*beat = false;
	while (*p) {
		size_t n = ve_word_len(p);

		if (ve_word_is(p, n, "heartbeat")) {
			*beat = true;
		} else if (n > 4 && memcmp(p, "dev=", 4) == 0 && n - 4 < sizeof(b->name)) {
			memcpy(b->name, p + 4, n - 4);
			b->name[n - 4] = 0;
		} else {
			return -VE_INVAL;
		}
		p = ve_skip_space(p + n);
	}
	return 0;
}

static void *dma(size_t len, uint64_t *phys)
{
	long a = ve_dma_alloc(len, phys);

	if (a < 0) {
		ve_printf("virtio-blk: dma_alloc %lu: %s\n", (unsigned long)len, ve_strerror(a));
		return NULL;
	}
	return (void *)a;
}

/* Set and clear bits of the PCI command register. */
static int command(uint32_t set, uint32_t clear)
{
	long cmd = ve_dev_cfg_read(0, PCI_COMMAND, 2);
	int r = cmd < 0 ? (int)cmd
			: ve_dev_cfg_write(0, PCI_COMMAND, 2, ((uint32_t)cmd | set) & ~clear);

	if (r < 0)
		ve_printf("virtio-blk: command register: %s\n", ve_strerror(r));
	return r;
}

/* Select queue 0 and give it ring memory. */
static int queue_setup(struct vblk *b)
{
	uint16_t size;
	uint64_t ring_phys;
	void *ring;

	ve_outw(b->io + VIO_QUEUE_SEL, 0);
	size = ve_inw(b->io + VIO_QUEUE_SIZE);
	if (size < 3 || size > VQ_MAX || (size & (size - 1))) {
		ve_printf("virtio-blk: queue 0 has size %u\n", size);
		return -VE_INVAL;
	}
	if (!(ring = dma(vq_bytes(size), &ring_phys)) || !(b->req = dma(REQ_BYTES, &b->req_phys)))
		return -VE_NOMEM;
	vq_init(&b->vq, size, ring);
	ve_outl(b->io + VIO_QUEUE_PFN, (uint32_t)(ring_phys >> 12));
	return 0;
}

/*
 * Reset the device and bring it up. Bus mastering goes on only after the
 * reset: until then the device's queue still points at the dead
 * incarnation's ring, memory that may be someone else's by now.
 */
static int vblk_start(struct vblk *b)
{
	struct ve_pciinfo pi;
	int r;

	if ((r = ve_dev_info(0, &pi)) < 0) {
		ve_printf("virtio-blk: dev_info: %s\n", ve_strerror(r));
		return r;
	}
	if (pi.bar[0].kind != VE_BAR_IO || pi.bar[0].size < 0x20) {
		ve_printf("virtio-blk: BAR0 is not the legacy I/O interface\n");
		return -VE_INVAL;
	}
	b->io = (uint16_t)pi.bar[0].base;
	b->irq = pi.irq;
	if ((r = command(CMD_IO, CMD_MASTER)) < 0)
		return r;
	ve_outb(b->io + VIO_STATUS, 0); /* reset */
	(void)ve_inb(b->io + VIO_ISR);
	if ((r = command(CMD_MASTER, 0)) < 0)
		return r;
	ve_outb(b->io + VIO_STATUS, ST_ACK);
	ve_outb(b->io + VIO_STATUS, ST_ACK | ST_DRIVER);
	b->features = ve_inl(b->io + VIO_DEV_FEATURES) & (F_RO | F_FLUSH);
	ve_outl(b->io + VIO_DRV_FEATURES, b->features);
	if ((r = queue_setup(b)) < 0) {
		ve_outb(b->io + VIO_STATUS, ST_FAILED);
		return r;
	}
	b->sectors = (uint64_t)ve_inl(b->io + VIO_BLK_CAPACITY) |
		     (uint64_t)ve_inl(b->io + VIO_BLK_CAPACITY + 4) << 32;
	ve_outb(b->io + VIO_STATUS, ST_ACK | ST_DRIVER | ST_DRIVER_OK);
	return 0;
}

/* Lower the line if it fired and take the used entry if there is one:
 * 1 done, 0 not yet, or -VE_INVAL for a used ring naming nothing in flight. */
static int look(struct vblk *b, const struct ve_wait_result *wr)
{
	uint32_t token, len;
	enum vq_take t;
	int r;

	(void)ve_inb(b->io + VIO_ISR); /* lowers the line */
	if (b->irq != VE_PCI_NOIRQ && (wr->irqs & (1ull << b->irq)) && (r = ve_irq_ack(b->irq)) < 0)
		return r;
	t = vq_take(&b->vq, &token, &len);
	if (t == VQ_BAD) {
		ve_printf("virtio-blk: the used ring names nothing in flight\n");
		return -VE_INVAL;
	}
	return t == VQ_GOT;
}

/*
 * Send the request now in the request page (type, sector, n data bytes the
 * device reads or, if in, writes) and wait for it, beating meanwhile.
 * Returns 0 once the device is done with it, with its answer in *err: 0
 * (it said OK) or -BLK_EIO (it said anything else); or a negative VE_
 * error: the device is broken (the driver exits).
 */
static int vblk_do(struct vblk *b, uint32_t type, uint64_t sector, uint32_t n, bool in, int *err)
{
	struct vblk_hdr hdr = { .type = type, .reserved = 0, .sector = sector };
	struct vq_seg seg[3];
	unsigned k = 0;
	uint64_t start = ve_clock_ns();
	int r;

	memcpy(b->req + OFF_HDR, &hdr, sizeof(hdr));
	*(volatile uint8_t *)(b->req + OFF_STATUS) = S_UNSET;
	seg[k++] = (struct vq_seg){ .addr = b->req_phys + OFF_HDR, .len = sizeof(hdr) };
	if (n)
		seg[k++] = (struct vq_seg){ .addr = b->req_phys + OFF_DATA, .len = n, .write = in };
	seg[k++] = (struct vq_seg){ .addr = b->req_phys + OFF_STATUS, .len = 1, .write = true };
	if (vq_add(&b->vq, seg, k, 1) < 0)
		return -VE_INVAL; /* one request at a time: the ring is empty */
	ve_outw(b->io + VIO_QUEUE_NOTIFY, 0);
	for (;;) {
		struct ve_wait_result wr = { .handle = -1 };
		uint64_t due = ve_heartbeat_due(&b->hb), poll = POLL_MS * 1000000ull;

		r = ve_wait_any(NULL, 0, due && due < poll ? due : poll, &wr);
		if (r < 0 && r != -VE_TIMEOUT)
			return r;
		if ((r = look(b, &wr)) < 0)
			return r;
		if (r)
			break;
		if (ve_clock_ns() - start > DEV_TIMEOUT_MS * 1000000ull) {
			ve_printf("virtio-blk: the device sat on a request for %u ms\n",
				  DEV_TIMEOUT_MS);
			return -VE_TIMEOUT;
		}
	}
	*err = *(volatile uint8_t *)(b->req + OFF_STATUS) == S_OK ? 0 : -BLK_EIO;
	return 0;
}

/*
 * Check request q of len bytes as blk.h says. Returns 0 (do it) or the
 * -BLK_E* code to answer with.
 */
static int check(const struct vblk *b, const struct blk_req *q, size_t len)
{
	bool xfer = q->op == BLK_OP_READ || q->op == BLK_OP_WRITE;

	if (q->op != BLK_OP_INFO && q->op != BLK_OP_FLUSH && !xfer)
		return -BLK_EINVAL;
	if (q->pad[0] || q->pad[1] || q->pad[2])
		return -BLK_EINVAL;
	if (!xfer)
		return len == sizeof(*q) && q->count == 0 && q->sector == 0 ? 0 : -BLK_EINVAL;
	if (q->count == 0 || q->count > BLK_XFER_MAX)
		return -BLK_EINVAL;
	if (len != sizeof(*q) + (q->op == BLK_OP_WRITE ? (size_t)q->count * BLK_SECTOR : 0))
		return -BLK_EINVAL;
	if (q->sector > b->sectors || q->count > b->sectors - q->sector)
		return -BLK_ERANGE;
	if (q->op == BLK_OP_WRITE && (b->features & F_RO))
		return -BLK_EROFS;
	return 0;
}

/*
 * Do the checked request q (payload buf) and build the reply in rep
 * (header, then data for a READ). Returns the reply's length, or a
 * negative VE_ error: the device is broken.
 */
static long serve(struct vblk *b, const struct blk_req *q, const uint8_t *buf, uint8_t *rep)
{
	struct blk_rep rp = { .err = 0, .flags = 0, .sectors = b->sectors };
	uint32_t n = q->count * BLK_SECTOR;
	int e = 0, r = 0;

	switch (q->op) {
	case BLK_OP_INFO:
		rp.flags =
		    (b->features & F_RO ? BLK_F_RO : 0) | (b->features & F_FLUSH ? BLK_F_FLUSH : 0);
		break;
	case BLK_OP_FLUSH:
		/* Without F_FLUSH the device has no write cache: done at once. */
		if (b->features & F_FLUSH)
			r = vblk_do(b, T_FLUSH, 0, 0, false, &e);
		break;
	case BLK_OP_READ:
		r = vblk_do(b, T_IN, q->sector, n, true, &e);
		if (r == 0 && e == 0)
			memcpy(rep + sizeof(rp), b->req + OFF_DATA, n);
		break;
	case BLK_OP_WRITE:
		memcpy(b->req + OFF_DATA, buf + sizeof(*q), n);
		r = vblk_do(b, T_OUT, q->sector, n, false, &e);
		break;
	}
	if (r < 0)
		return r;
	rp.err = e;
	memcpy(rep, &rp, sizeof(rp));
	return (long)sizeof(rp) + (e == 0 && q->op == BLK_OP_READ ? n : 0);
}

/* Answer message m (payload buf, len bytes). Returns 0 or an error that
 * ends the driver. */
static int handle(struct vblk *b, const struct ve_msg *m, const uint8_t *buf, size_t len)
{
	static uint8_t rep[sizeof(struct blk_rep) + BLK_XFER_MAX * BLK_SECTOR];
	struct blk_req q = { .op = 0 };
	struct blk_rep bad = { .err = -BLK_EINVAL, .flags = 0, .sectors = b->sectors };
	long n = sizeof(bad);
	int r;

	if (m->kind != VE_MSG_CALL) /* blk.h: a cast is acked and ignored */
		return (r = ve_chan_ack(b->h, m->id)) < 0 ? r : 0;
	if (len >= sizeof(q))
		memcpy(&q, buf, sizeof(q));
	if (len < sizeof(q) || (bad.err = check(b, &q, len)) < 0)
		memcpy(rep, &bad, sizeof(bad));
	else if ((n = serve(b, &q, buf, rep)) < 0)
		return (int)n;
	r = ve_chan_reply(b->h, m->id, rep, (size_t)n);
	return r < 0 ? r : 0;
}

static void report_up(const struct vblk *b)
{
	struct ve_kv kv[4] = { VE_KV_STR("dev", b->name), VE_KV_NUM("sectors", b->sectors),
			       VE_KV_NUM("ro", !!(b->features & F_RO)),
			       VE_KV_NUM("flush", !!(b->features & F_FLUSH)) };

	ve_event("blk_up", kv, 4);
}

/*
 * Wait for the next request, beating on time, and handle it. The wait
 * ends for the PCI line too: the line may be shared with another device,
 * which gets no interrupt while the line stays masked for want of our ack.
 * Returns 0 or an error that ends the driver.
 */
static int step(struct vblk *b)
{
	static uint8_t buf[VE_MSG_MAX];
	struct ve_next nx = {
		.handles = &b->h, .n = 1, .cap = sizeof(buf), .timeout_ns = ve_heartbeat_due(&b->hb)
	};
	long len = ve_chan_next(b->h, 0, buf, 0, &nx);

	if (len == -VE_TIMEOUT)
		return 0; /* a beat is due */
	if (len < 0)
		return (int)len;
	if (nx.result.irqs && look(b, &nx.result) < 0)
		return -VE_INVAL; /* nothing is in flight: any used entry is bad */
	if (nx.result.handle < 0)
		return 0;
	return handle(b, &nx.msg, buf, (size_t)len);
}

int main(const char *args)
{
	static struct vblk b;
	bool beat;
	int r;

	if (parse_args(&b, args, &beat) < 0) {
		ve_printf("virtio-blk: bad args '%s' (want [dev=NAME] [heartbeat])\n", args);
		return 2;
	}
	if ((r = ve_heartbeat_init(&b.hb, beat ? BEAT_MS * 1000000ull : 0)) < 0) {
		ve_printf("virtio-blk: open sup: %s\n", ve_strerror(r));
		return 1;
	}
	if (vblk_start(&b) < 0)
		return 1;
	if ((b.h = ve_chan_serve_wait(b.name)) < 0) {
		ve_printf("virtio-blk: serve %s: %s\n", b.name, ve_strerror(b.h));
		return 1;
	}
	report_up(&b);
	while ((r = step(&b)) == 0)
		;
	ve_printf("virtio-blk: %s: %s\n", b.name, ve_strerror(r));
	return 1;
}
