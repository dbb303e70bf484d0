/*
 * devtest: the kernel side of PCI device grants, end to end (pci.scn). It
 * lists the PCI functions and finds QEMU's e1000, then runs devuser (see
 * devuser.c) from the boot table's templates: `devuser`, granted the
 * e1000 and a virtio-net, and `devrogue`, granted nothing.
 *   1. pci_info lists the e1000 with no holder; past the end is -VE_NOENT.
 *   2. spawn_spec by bus address works, and is -VE_NOENT if the IDs there
 *      differ; a device no machine has is -VE_NOENT, a malformed grant
 *      -VE_INVAL; while a devuser holds the e1000, granting it again
 *      (spawn_spec, or spawn of the template) is -VE_BUSY.
 *   3. devuser full: every device call, right and wrong (exit 0), while
 *      devshare holds a second virtio-net: if its line is the e1000's,
 *      the interrupt devuser makes its e1000 raise reaches devshare too.
 *   4. devuser dma: takes DMA memory, turns bus mastering on and crashes.
 *      Afterwards the e1000 has no holder, the free frame count is what it
 *      was before (measured after an earlier incarnation, so the kernel's
 *      heap is warm), and the next incarnation (devuser check) finds the
 *      bus-master bit clear.
 *   4b. while another process holds the e1000's line by `irqs`, a holder
 *      of the e1000 gets it with INTx disabled (devuser quiet).
 *   5. devrogue touches the e1000's I/O port (gp), the config address port
 *      (gp) and its registers at their physical address (page_fault), and
 *      gets -VE_PERM from every device call.
 * Event devtest bad=N; exits N. Needs the spawn grant.
 */
#include "fmt.h"
#include "vesta.h"

static int bad;

static void check(bool ok, const char *what, long got)
{
	if (ok)
		return;
	ve_printf("devtest: FAILED %s (got %ld)\n", what, got);
	bad++;
}

/* The e1000's index among pci_info's functions, or -1; *n: how many. */
static int find_e1000(struct ve_pciinfo *f, uint32_t *n)
{
	int found = -1;
	uint32_t i;
	for (i = 0; ve_pci_info(i, f) == 0; i++) {
		ve_printf("devtest: %02x:%02x.%u %04x:%04x class %02x irq %u holder %d\n", f->bus,
			  f->devfn >> 3, f->devfn & 7, f->vendor, f->device, f->class_code, f->irq,
			  (int)f->holder);
		if (found < 0 && f->vendor == 0x8086 && f->device == 0x100e)
			found = (int)i;
	}
	*n = i;
	if (found >= 0)
		ve_pci_info((uint32_t)found, f);
	return found;
}

/* The second virtio-net (1af4:1000, index 1) in *v: its index, or -1. */
static int find_second_virtio(struct ve_pciinfo *v)
{
	int seen = 0;
	for (uint32_t i = 0; ve_pci_info(i, v) == 0; i++)
		if (v->vendor == 0x1af4 && v->device == 0x1000 && seen++ == 1)
			return (int)i;
	return -1;
}

/* Spawn template name with args and wait: its ve_exit in *ex. */
static int run(const char *name, const char *args, struct ve_exit *ex)
{
	int pid = ve_spawn(name, args);
	if (pid < 0) {
		ve_printf("devtest: spawn %s %s: %s\n", name, args, ve_strerror(pid));
		return pid;
	}
	return ve_wait(pid, ex);
}

static uint64_t free_frames(void)
{
	struct ve_meminfo mi;
	ve_meminfo(&mi);
	return mi.free_frames;
}

/* spawn_spec naming the e1000 f by its bus address: granted; the same
 * address with another vendor:device is -VE_NOENT. */
static void spawn_at(const struct ve_pciinfo *f)
{
	struct ve_spawn sp = { .name = "devat", .image = "devuser", .args = "hold" };
	struct ve_exit ex;
	sp.devs[0] = (struct ve_devsel){ .vendor = 0x8086,
					 .device = 0x100e,
					 .bus = f->bus,
					 .devfn = f->devfn,
					 .flags = VE_DEVSEL_AT };
	int pid = ve_spawn_spec(&sp);
	check(pid > 0, "spawn_spec at the e1000's address", pid);
	if (pid > 0) {
		ve_kill(pid);
		ve_wait(pid, &ex);
	}
	sp.devs[0].device = 0x1000;
	check(ve_spawn_spec(&sp) == -VE_NOENT, "spawn_spec at an address, wrong IDs", 0);
}

static void spawn_errors(void)
{
	struct ve_spawn sp = { .name = "devx", .image = "devuser", .args = "check" };
	sp.devs[0] = (struct ve_devsel){ .vendor = 0x1234, .device = 0x5678 };
	check(ve_spawn_spec(&sp) == -VE_NOENT, "spawn_spec no such device", ve_spawn_spec(&sp));
	sp.devs[0] = (struct ve_devsel){ .vendor = 0x8086, .device = 0x100e, .index = 5 };
	check(ve_spawn_spec(&sp) == -VE_NOENT, "spawn_spec index 5", ve_spawn_spec(&sp));
	sp.devs[0] = (struct ve_devsel){ .vendor = 0x8086, .device = 0x100e, .flags = 0x80 };
	check(ve_spawn_spec(&sp) == -VE_INVAL, "spawn_spec bad flags", ve_spawn_spec(&sp));

	int holder = ve_spawn("devuser", "hold");
	check(holder > 0, "spawn holder", holder);
	sp.devs[0] = (struct ve_devsel){ .vendor = 0x8086, .device = 0x100e };
	check(ve_spawn_spec(&sp) == -VE_BUSY, "spawn_spec held device", ve_spawn_spec(&sp));
	check(ve_spawn("devuser", "check") == -VE_BUSY, "spawn held device", 0);
	struct ve_exit ex;
	ve_kill(holder);
	ve_wait(holder, &ex);
}

/* While a process holds the e1000's line by an `irqs` grant, a holder of
 * the e1000 does not get it, and the device must not assert it either:
 * granted with INTx disabled (devuser quiet). */
static void line_taken(const struct ve_pciinfo *f)
{
	struct ve_spawn hog = { .name = "irqhog", .image = "devuser", .args = "hold" };
	struct ve_spawn sp = { .name = "devquiet", .image = "devuser", .args = "quiet" };
	struct ve_exit ex;
	if (f->irq == VE_PCI_NOIRQ)
		return;
	hog.irqs = (uint16_t)(1u << f->irq);
	int pid = ve_spawn_spec(&hog);
	check(pid > 0, "spawn_spec irqhog", pid);
	sp.devs[0] = (struct ve_devsel){ .vendor = 0x8086, .device = 0x100e };
	int q = ve_spawn_spec(&sp);
	bool ok = q > 0 && ve_wait(q, &ex) == 0 && ex.reason == VE_R_EXIT && ex.code == 0;
	check(ok, "INTx off without the line", q > 0 ? (long)ex.code : q);
	if (pid > 0) {
		ve_kill(pid);
		ve_wait(pid, &ex);
	}
}

int main(const char *args)
{
	struct ve_pciinfo f;
	struct ve_exit ex;
	uint32_t n;
	char a[48];

	(void)args;
	int e = find_e1000(&f, &n);
	check(e >= 0 && f.holder == 0, "e1000 listed, free", e);
	check(ve_pci_info(n, &f) == -VE_NOENT, "pci_info past the end", 0);
	check(ve_pci_info(0, NULL) == -VE_FAULT, "pci_info null", 0);
	if (e < 0)
		goto out;
	ve_pci_info((uint32_t)e, &f);
	spawn_at(&f);
	spawn_errors();
	line_taken(&f);

	/* devshare holds the second virtio-net and waits for its line; when
	 * that is the e1000's line too, devuser's interrupt reaches both. */
	struct ve_pciinfo v;
	int share = find_second_virtio(&v), sharer = -1;
	if (share >= 0) {
		sharer = ve_spawn("devshare", "irqwait");
		check(sharer > 0, "spawn devshare", sharer);
	}
	check(run("devuser", "full", &ex) == 0 && ex.reason == VE_R_EXIT && ex.code == 0,
	      "devuser full", (long)ex.code);
	if (sharer > 0) {
		ve_wait(sharer, &ex);
		bool same = v.irq == f.irq && f.irq != VE_PCI_NOIRQ;
		ve_printf("devtest: e1000 irq %u, second virtio irq %u: %s\n", f.irq, v.irq,
			  same ? "shared" : "not shared");
		ve_event1("devtest_share", "shared", same);
		if (same)
			check(ex.reason == VE_R_EXIT && ex.code == 0, "shared line fired to both",
			      (long)ex.code);
	}
	uint64_t f1 = free_frames();
	check(run("devuser", "dma 64", &ex) == 0 && ex.reason == VE_R_PAGE_FAULT, "devuser dma",
	      (long)ex.reason);
	uint64_t f2 = free_frames();
	struct ve_pciinfo g;
	ve_pci_info((uint32_t)e, &g);
	check(g.holder == 0, "released at death", g.holder);
	check(f1 == f2, "frames back to the baseline", (long)(f1 - f2));
	check(run("devuser", "check", &ex) == 0 && ex.reason == VE_R_EXIT && ex.code == 0,
	      "bus master clear for the next incarnation", (long)ex.code);

	check(run("devrogue", "cfg", &ex) == 0 && ex.reason == VE_R_EXIT && ex.code == 0,
	      "rogue device calls", (long)ex.code);
	fmt_snprintf(a, sizeof(a), "io %llu", (unsigned long long)f.bar[1].base);
	check(run("devrogue", a, &ex) == 0 && ex.reason == VE_R_GP, "rogue port", ex.reason);
	check(run("devrogue", "cf8", &ex) == 0 && ex.reason == VE_R_GP, "rogue cf8", ex.reason);
	fmt_snprintf(a, sizeof(a), "mmio %llu", (unsigned long long)f.bar[0].base);
	check(run("devrogue", a, &ex) == 0 && ex.reason == VE_R_PAGE_FAULT, "rogue mmio",
	      ex.reason);
out:
	ve_printf("devtest: %d failed, frames %llu\n", bad, (unsigned long long)free_frames());
	ve_event1("devtest", "bad", bad);
	return bad;
}
