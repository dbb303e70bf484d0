/*
 * devuser: one PCI device driver's view of the kernel's device calls, run
 * by devtest (pci.scn) as the boot-table templates `devuser` (granted QEMU's
 * e1000, 8086:100e, as device 0 and its virtio-net, 1af4:1000, as device 1)
 * and `devrogue` (the same image, granted nothing).
 * Args, the first word a mode:
 *   full       every device call, right and wrong: the granted function's
 *              config space, its BAR0 mapped, its I/O BAR, an interrupt it
 *              raises delivered to wait_any, DMA memory,
 *              the virtio-net's 64-bit BAR mapped (above 4 GiB under
 *              UEFI), and an error for every bad argument. Event devuser mode=full
 *              bad=N (first=CHECK: the first that failed); exits N.
 *   dma PAGES  take PAGES of DMA memory, turn bus mastering on, then die
 *              writing through a null pointer (page_fault): the kernel must
 *              stop the device before it frees the memory.
 *   crash MS   as dma 16, but sleep MS first (a supervised driver that
 *              keeps crashing: supdev.scn).
 *   check      exit 0 if the device's bus-master bit is clear and its
 *              interrupts enabled (INTx disable, bit 10, clear), 2 if not.
 *   quiet      (granted the e1000 while another process holds its line by
 *              `irqs`) exit 0 if the device's INTx is disabled (bit 10
 *              set: it cannot assert a line its holder does not get), 4
 *              if not.
 *   hold       sleep until killed (holding the device).
 *   irqwait    (devshare: granted a second virtio-net) wait up to 5 s for
 *              its device's line to fire, ack it; exit 0 if it fired, 3 if
 *              not. Where the line is the e1000's too, devuser full's
 *              interrupt reaches this holder as well.
 *   cfg        (not granted) every device call must say -VE_PERM: exit 0.
 *   io PORT    (not granted) read a port of the device: dies with gp.
 *   cf8        (not granted) select a config register by port 0xcf8: gp.
 *   mmio ADDR  (not granted) read the device's registers at their physical
 *              address, which nothing mapped: dies with page_fault.
 */
#include "portio.h"
#include "vesta.h"

#define E1000_VENDOR 0x8086
#define E1000_DEVICE 0x100e
#define PAGE 4096ull

static int bad;
static const char *first_bad = "";

/* Count a failed check, naming the first. */
static void check(bool ok, const char *what, long got)
{
	if (ok)
		return;
	ve_printf("devuser: FAILED %s (got %ld)\n", what, got);
	if (!bad++)
		first_bad = what;
}

/* The granted function's own description and its config space. */
static void check_info_and_cfg(struct ve_pciinfo *f)
{
	long r = ve_dev_info(0, f);
	check(r == 0 && f->vendor == E1000_VENDOR && f->device == E1000_DEVICE, "dev_info", r);
	check(f->holder == ve_getpid(), "holder is me", f->holder);
	check(ve_dev_info(2, f) == -VE_PERM, "dev_info 2", ve_dev_info(2, f));
	check(ve_dev_info(99, f) == -VE_PERM, "dev_info 99", 0);
	check(ve_dev_info(0, NULL) == -VE_FAULT, "dev_info null", 0);
	ve_dev_info(0, f);

	check(ve_dev_cfg_read(0, 0, 2) == E1000_VENDOR, "cfg vendor", ve_dev_cfg_read(0, 0, 2));
	check(ve_dev_cfg_read(0, 2, 2) == E1000_DEVICE, "cfg device", ve_dev_cfg_read(0, 2, 2));
	check(ve_dev_cfg_read(0, 0, 4) == 0x100e8086, "cfg dword", ve_dev_cfg_read(0, 0, 4));
	check(ve_dev_cfg_read(0, 0xb, 1) == 2, "cfg class", ve_dev_cfg_read(0, 0xb, 1));
	check(ve_dev_cfg_read(0, 256, 1) == -VE_INVAL, "cfg off 256", 0);
	check(ve_dev_cfg_read(0, 2, 4) == -VE_INVAL, "cfg unaligned", 0);
	check(ve_dev_cfg_read(0, 0, 3) == -VE_INVAL, "cfg width 3", 0);
	check(ve_dev_cfg_read(0, 0, 0) == -VE_INVAL, "cfg width 0", 0);
	check(ve_dev_cfg_read(2, 0, 4) == -VE_PERM, "cfg dev 2", 0);

	long bar0 = ve_dev_cfg_read(0, 0x10, 4), rom = ve_dev_cfg_read(0, 0x30, 4);
	check(ve_dev_cfg_write(0, 0x10, 4, 0xffffffffu) == -VE_PERM, "write BAR0", 0);
	check(ve_dev_cfg_write(0, 0x24, 4, 0) == -VE_PERM, "write BAR5", 0);
	check(ve_dev_cfg_write(0, 0x12, 2, 0) == -VE_PERM, "write BAR0 half", 0);
	check(ve_dev_cfg_write(0, 0x30, 4, 0xfffff800u) == -VE_PERM, "write ROM", 0);
	check(ve_dev_cfg_read(0, 0x10, 4) == bar0 && ve_dev_cfg_read(0, 0x30, 4) == rom,
	      "BARs unmoved", 0);
	long cmd = ve_dev_cfg_read(0, 4, 2);
	check(cmd >= 0 && ve_dev_cfg_write(0, 4, 2, (uint32_t)cmd) == 0, "write command", cmd);
	check(ve_dev_cfg_write(0, 4, 2, 0x10000) == -VE_INVAL, "write too wide", 0);
	check(ve_dev_cfg_write(0, 0x3d, 2, 0) == -VE_INVAL, "write unaligned", 0);
	check(ve_dev_cfg_write(0, 0x100, 4, 0) == -VE_INVAL, "write off 256", 0);
	check(ve_dev_cfg_write(2, 4, 2, 0) == -VE_PERM, "write dev 2", 0);
}

/* BAR0 (registers) mapped uncached, the I/O BAR in our ports, the IRQ. */
static void check_bars(const struct ve_pciinfo *f)
{
	long a = ve_dev_map(0, 0);
	check(a > 0 && (uint64_t)a % PAGE == f->bar[0].base % PAGE, "map BAR0", a);
	check(ve_dev_map(0, 0) == a, "map BAR0 again, same address", ve_dev_map(0, 0));
	if (a > 0) {
		volatile uint32_t *regs = (volatile uint32_t *)a;
		uint32_t status = regs[2]; /* STATUS */
		ve_printf("devuser: BAR0 at %#lx, STATUS %#x\n", a, status);
		check(ve_vm_free((uint64_t)a & ~(PAGE - 1), PAGE) == -VE_PERM, "vm_free BAR", 0);
	}
	check(ve_dev_map(0, 6) == -VE_INVAL, "map bar 6", 0);
	check(ve_dev_map(0, 1000) == -VE_INVAL, "map bar 1000", 0);
	check(ve_dev_map(0, 1) == -VE_INVAL, "map I/O BAR", ve_dev_map(0, 1));
	check(ve_dev_map(0, 2) == -VE_INVAL, "map empty BAR", ve_dev_map(0, 2));
	check(ve_dev_map(2, 0) == -VE_PERM, "map dev 2", 0);
	check(f->bar[1].kind == VE_BAR_IO, "BAR1 is I/O", (long)f->bar[1].kind);
	if (f->bar[1].kind == VE_BAR_IO) {
		uint32_t v = ve_inl((uint16_t)f->bar[1].base); /* gp if not granted */
		ve_printf("devuser: I/O BAR at %#llx reads %#x\n",
			  (unsigned long long)f->bar[1].base, v);
	}
	if (f->irq != VE_PCI_NOIRQ)
		check(ve_irq_ack(f->irq) == 0, "irq_ack of its line", ve_irq_ack(f->irq));
}

/* The e1000's interrupt, end to end: the driver makes the device raise
 * one (IMS, then ICS: a TX-done cause), and its line fires in wait_any;
 * reading ICR clears it, and the line is acked. */
static void check_irq(const struct ve_pciinfo *f)
{
	struct ve_wait_result w;
	long a = ve_dev_map(0, 0);
	if (f->irq == VE_PCI_NOIRQ || a <= 0)
		return;
	volatile uint32_t *r = (volatile uint32_t *)a;
	(void)r[0xc0 / 4];		   /* ICR: old causes cleared */
	ve_wait_any(NULL, 0, 1000000, &w); /* and any IRQ pending */
	ve_irq_ack(f->irq);
	r[0xd0 / 4] = 1;				   /* IMS: TXDW enabled */
	r[0xc8 / 4] = 1;				   /* ICS: raise it */
	long rc = ve_wait_any(NULL, 0, 2000000000ull, &w); /* 2 s */
	check(rc == 0 && (w.irqs & (1u << f->irq)), "e1000 interrupt delivered", rc);
	uint32_t icr = r[0xc0 / 4];
	check(icr & 1, "ICR holds the cause", (long)icr);
	r[0xd8 / 4] = 0xffffffffu; /* IMC: all masked again */
	check(ve_irq_ack(f->irq) == 0, "irq_ack after it", 0);
	if (rc == 0 && (w.irqs & (1u << f->irq)))
		ve_event1("devuser_irq", "irq", f->irq);
}

/* The second grant, the virtio-net: its own config space, and its 64-bit
 * memory BAR (the modern virtio registers) mapped. */
static void check_second(void)
{
	struct ve_pciinfo v;
	long r = ve_dev_info(1, &v);
	check(r == 0 && v.vendor == 0x1af4 && v.device == 0x1000, "dev_info 1", r);
	check(ve_dev_cfg_read(1, 0, 4) == 0x10001af4, "cfg dev 1", ve_dev_cfg_read(1, 0, 4));
	int bar = -1;
	for (int i = 0; i < VE_PCI_BARS && bar < 0; i++)
		if (v.bar[i].kind == VE_BAR_MEM64)
			bar = i;
	check(bar >= 0, "virtio has a 64-bit BAR", bar);
	if (bar < 0)
		return;
	check(v.bar[bar + 1].kind == VE_BAR_NONE, "its upper half is NONE", 0);
	check(ve_dev_map(1, (unsigned)bar + 1) == -VE_INVAL, "map the upper half", 0);
	long a = ve_dev_map(1, (unsigned)bar);
	check(a > 0 && (uint64_t)a % PAGE == v.bar[bar].base % PAGE, "map the 64-bit BAR", a);
	if (a > 0) {
		uint32_t w = *(volatile uint32_t *)a; /* harmless: a feature word */
		ve_printf("devuser: virtio BAR%d %#llx+%#llx at %#lx reads %#x\n", bar,
			  (unsigned long long)v.bar[bar].base, (unsigned long long)v.bar[bar].size,
			  a, w);
	}
	check(a != ve_dev_map(0, 0), "two BARs, two addresses", a);
}

/* DMA memory: contiguous, page-aligned, zeroed, distinct, pinned. */
static void check_dma(void)
{
	uint64_t p1 = 1, p2 = 1, p3 = 1;
	check(ve_dma_alloc(0, &p1) == -VE_INVAL, "dma len 0", 0);
	check(ve_dma_alloc(PAGE, NULL) == -VE_FAULT, "dma phys null", 0);
	check(ve_dma_alloc(64ull << 20, &p3) == -VE_NOMEM, "dma past the share",
	      ve_dma_alloc(64ull << 20, &p3));
	check(ve_dma_alloc(1ull << 60, &p3) == -VE_INVAL, "dma huge", 0);
	long a1 = ve_dma_alloc(PAGE, &p1), a2 = ve_dma_alloc(3 * PAGE + 1, &p2);
	check(a1 > 0 && a2 > 0, "dma alloc", a1 > 0 ? a2 : a1);
	if (a1 <= 0 || a2 <= 0)
		return;
	ve_printf("devuser: dma %#lx phys %#llx, %#lx phys %#llx\n", a1, (unsigned long long)p1, a2,
		  (unsigned long long)p2);
	check(p1 % PAGE == 0 && p2 % PAGE == 0 && p1 && p2, "dma page-aligned", 0);
	check(p1 + PAGE <= p2 || p2 + 4 * PAGE <= p1, "dma distinct", 0);
	const volatile uint8_t *b = (const volatile uint8_t *)a2;
	uint64_t nonzero = 0;
	for (uint64_t i = 0; i < 4 * PAGE; i++)
		nonzero += b[i] != 0;
	check(nonzero == 0, "dma zeroed", (long)nonzero);
	((volatile uint8_t *)a2)[4 * PAGE - 1] = 0x5a; /* writable to its end */
	check(ve_vm_free((uint64_t)a1, PAGE) == -VE_PERM, "vm_free dma", 0);
}

static int full(void)
{
	struct ve_pciinfo f;
	check_info_and_cfg(&f);
	check_bars(&f);
	check_irq(&f);
	check_second();
	check_dma();
	struct ve_kv kv[] = { VE_KV_STR("mode", "full"), VE_KV_NUM("bad", bad),
			      VE_KV_STR("first", first_bad) };
	ve_event("devuser", kv, 3);
	return bad;
}

static int dma_and_die(const char *mode, uint64_t pages, uint64_t sleep_ms)
{
	uint64_t phys;
	struct ve_meminfo before, after;
	ve_meminfo(&before);
	long a = ve_dma_alloc(pages * PAGE, &phys);
	ve_meminfo(&after);
	long cmd = ve_dev_cfg_read(0, 4, 2);
	ve_dev_cfg_write(0, 4, 2, (uint32_t)cmd | 4); /* bus master on */
	struct ve_kv kv[] = { VE_KV_STR("mode", mode), VE_KV_NUM("addr", a),
			      VE_KV_NUM("taken", (int64_t)(before.free_frames - after.free_frames)),
			      VE_KV_NUM("master", (ve_dev_cfg_read(0, 4, 2) >> 2) & 1) };
	ve_event("devuser", kv, 4);
	if (sleep_ms)
		ve_sleep_ms(sleep_ms);
	*(volatile int *)0 = 1;
	return 1;
}

static int rogue_cfg(void)
{
	struct ve_pciinfo f;
	uint64_t phys = 0;
	int n = (ve_dev_info(0, &f) == -VE_PERM) + (ve_dev_cfg_read(0, 0, 4) == -VE_PERM) +
		(ve_dev_cfg_write(0, 4, 2, 0) == -VE_PERM) + (ve_dev_map(0, 0) == -VE_PERM) +
		(ve_dma_alloc(PAGE, &phys) == -VE_PERM && phys == 0);
	ve_event1("devrogue_cfg", "perm", n);
	return n == 5 ? 0 : 1;
}

int main(const char *args)
{
	size_t n = ve_word_len(args);
	const char *rest = args + n;
	uint64_t v = 0;

	if (ve_word_is(args, n, "full"))
		return full();
	if (ve_word_is(args, n, "check")) {
		long cmd = ve_dev_cfg_read(0, 4, 2);
		ve_event1("devuser_check", "command", cmd);
		return cmd < 0 ? 1 : (cmd & 0x404) ? 2 : 0;
	}
	if (ve_word_is(args, n, "quiet")) {
		long cmd = ve_dev_cfg_read(0, 4, 2);
		ve_event1("devuser_quiet", "command", cmd);
		return cmd < 0 ? 1 : (cmd & 0x400) ? 0 : 4;
	}
	if (ve_word_is(args, n, "hold")) {
		for (;;)
			ve_sleep_ms(1000);
	}
	if (ve_word_is(args, n, "cfg"))
		return rogue_cfg();
	if (ve_word_is(args, n, "irqwait")) {
		struct ve_pciinfo f;
		struct ve_wait_result w;
		if (ve_dev_info(0, &f) || f.irq == VE_PCI_NOIRQ)
			return 1;
		ve_event1("devshare_waiting", "irq", f.irq);
		long rc = ve_wait_any(NULL, 0, 5000000000ull, &w);
		bool fired = rc == 0 && (w.irqs & (1u << f.irq));
		if (fired)
			ve_event1("devshare_irq", "irq", f.irq);
		return fired && ve_irq_ack(f.irq) == 0 ? 0 : 3;
	}
	if (ve_word_is(args, n, "cf8")) {
		ve_outl(0xcf8, 0x80000000u);
		return 1;
	}
	if (ve_parse_u64(&rest, &v))
		return 1;
	if (ve_word_is(args, n, "dma"))
		return v ? dma_and_die("dma", v, 0) : 1;
	if (ve_word_is(args, n, "crash"))
		return dma_and_die("crash", 16, v);
	if (ve_word_is(args, n, "io"))
		return (int)ve_inl((uint16_t)v) & 1 ? 1 : 1;
	if (ve_word_is(args, n, "mmio"))
		return (int)*(volatile uint32_t *)(uintptr_t)v ? 1 : 1;
	return 1;
}
