/*
 * The machine's PCI functions, found once at boot, and the processes that
 * hold them. A process is granted a function by its boot-table entry or
 * spawn_spec (a ve_devsel, resolved here at spawn); it then reaches that
 * function's configuration space only through the calls below, maps its
 * memory BARs uncached, and allocates DMA memory. When it dies the device
 * stops mastering the bus before any of its memory is freed, and the next
 * process can be granted it.
 */
#include "pci.h"

#include "arch.h"
#include "klog.h"
#include "lib/fmt.h"
#include "lib/string.h"
#include "mem.h"
#include "proc.h"
#include "vm.h"

static struct ve_pciinfo fns[PCI_MAX_FNS];
static uint8_t header_type[PCI_MAX_FNS]; /* for the write filter */
static unsigned nfns;

unsigned pci_count(void)
{
	return nfns;
}

const struct ve_pciinfo *pci_fn(unsigned i)
{
	return i < nfns ? &fns[i] : NULL;
}

static uint32_t cfg_read(const struct ve_pciinfo *f, uint16_t off, unsigned width)
{
	return arch_pci_cfg_read(f->bus, f->devfn, off, width);
}

static void cfg_write(const struct ve_pciinfo *f, uint16_t off, unsigned width, uint32_t v)
{
	arch_pci_cfg_write(f->bus, f->devfn, off, width, v);
}

/* Size the BARs the standard way: write all ones, read back, restore;
 * with decoding off meanwhile, so the device never answers at the
 * all-ones address it is briefly given. */
static void size_bars(struct ve_pciinfo *f, unsigned nbars)
{
	uint32_t orig[VE_PCI_BARS] = { 0 }, mask[VE_PCI_BARS] = { 0 };
	uint16_t cmd = (uint16_t)cfg_read(f, PCI_CFG_COMMAND, 2);
	cfg_write(f, PCI_CFG_COMMAND, 2, cmd & ~(PCI_CMD_IO | PCI_CMD_MEM));
	for (unsigned i = 0; i < nbars; i++) {
		uint16_t off = (uint16_t)(PCI_CFG_BAR0 + 4 * i);
		orig[i] = cfg_read(f, off, 4);
		cfg_write(f, off, 4, 0xffffffffu);
		mask[i] = cfg_read(f, off, 4);
		cfg_write(f, off, 4, orig[i]);
	}
	cfg_write(f, PCI_CFG_COMMAND, 2, cmd);
	pci_bars_decode(orig, mask, nbars, f->bar);
}

/* The firmware leaves functions mastering the bus (OVMF every one, SeaBIOS
 * q35's AHCI), maybe still pointed at memory the kernel now hands out:
 * stopped, so that a device masters only once its driver turns it on.
 * Bridges (class 6) keep theirs: it forwards the DMA of what is behind
 * them. */
static void stop_master(const struct ve_pciinfo *f)
{
	uint16_t cmd = (uint16_t)cfg_read(f, PCI_CFG_COMMAND, 2);
	if (f->class_code != 6 && (cmd & PCI_CMD_MASTER))
		cfg_write(f, PCI_CFG_COMMAND, 2, cmd & ~PCI_CMD_MASTER);
}

/* The fields every pci event carries: where the function is and what. */
static void ev_fn(struct evlog_line *l, const struct ve_pciinfo *f)
{
	char v[24];
	fmt_snprintf(v, sizeof(v), "%02x:%02x.%u", f->bus, f->devfn >> 3, f->devfn & 7);
	ev_str(l, "addr", v);
	fmt_snprintf(v, sizeof(v), "%#06x", f->vendor);
	ev_str(l, "vendor", v);
	fmt_snprintf(v, sizeof(v), "%#06x", f->device);
	ev_str(l, "device", v);
}

static void emit_pci(const struct ve_pciinfo *f)
{
	static const char *const keys[VE_PCI_BARS] = { "bar0", "bar1", "bar2",
						       "bar3", "bar4", "bar5" };
	static const char *const kinds[] = { "", "io", "mem32", "mem64" };
	struct evlog_line l;
	ev_start(&l, "pci");
	ev_fn(&l, f);
	ev_u64(&l, "class", f->class_code);
	ev_u64(&l, "subclass", f->subclass);
	ev_u64(&l, "irq", f->irq);
	ev_bool(&l, "master", cfg_read(f, PCI_CFG_COMMAND, 2) & PCI_CMD_MASTER);
	for (unsigned i = 0; i < VE_PCI_BARS; i++) {
		char v[48];
		if (f->bar[i].kind == VE_BAR_NONE)
			continue;
		fmt_snprintf(v, sizeof(v), "%s:%#llx+%#llx", kinds[f->bar[i].kind],
			     (unsigned long long)f->bar[i].base,
			     (unsigned long long)f->bar[i].size);
		ev_str(&l, keys[i], v);
	}
	ev_send(&l);
}

/* Record the function at bus:devfn (its vendor is not 0xffff). */
static void add_fn(uint8_t bus, uint8_t devfn, uint32_t id, uint8_t header)
{
	if (nfns == PCI_MAX_FNS) {
		klog("pci: more than %d functions; %02x:%02x.%u left out", PCI_MAX_FNS, bus,
		     devfn >> 3, devfn & 7);
		return;
	}
	header_type[nfns] = header;
	struct ve_pciinfo *f = &fns[nfns++];
	memset(f, 0, sizeof(*f));
	f->bus = bus;
	f->devfn = devfn;
	f->vendor = (uint16_t)id;
	f->device = (uint16_t)(id >> 16);
	uint32_t cls = cfg_read(f, PCI_CFG_CLASS, 4);
	f->class_code = (uint8_t)(cls >> 24);
	f->subclass = (uint8_t)(cls >> 16);
	f->prog_if = (uint8_t)(cls >> 8);
	uint8_t line = (uint8_t)cfg_read(f, PCI_CFG_IRQ_LINE, 1);
	f->irq = line == 0 || line >= 16 ? VE_PCI_NOIRQ : line;
	unsigned type = header & 0x7f;
	size_bars(f, type == 0 ? 6 : type == 1 ? 2 : 0);
	stop_master(f);
	emit_pci(f);
}

/* Does a function answer at bus:devfn? Then its id (vendor, device) and
 * header type. */
static bool probe(uint8_t bus, uint8_t devfn, uint32_t *id, uint8_t *header)
{
	*id = arch_pci_cfg_read(bus, devfn, PCI_CFG_VENDOR, 4);
	if ((*id & 0xffff) == 0xffff)
		return false;
	*header = (uint8_t)arch_pci_cfg_read(bus, devfn, PCI_CFG_HEADER, 1);
	return true;
}

/* A slot's function 0, and 1-7 if function 0 says it is multi-function. */
static void scan_slot(uint8_t bus, uint8_t slot)
{
	uint8_t devfn = (uint8_t)(slot << 3), header;
	uint32_t id;
	if (!probe(bus, devfn, &id, &header))
		return;
	unsigned nfn = header & 0x80 ? 8 : 1;
	add_fn(bus, devfn, id, header);
	for (unsigned fn = 1; fn < nfn; fn++)
		if (probe(bus, (uint8_t)(devfn | fn), &id, &header))
			add_fn(bus, (uint8_t)(devfn | fn), id, header);
}

/* Every bus, slot and function: a brute-force scan, simple and enough for
 * the few buses a virtual or small machine has (32 * 256 probes). */
void pci_init(void)
{
	for (unsigned bus = 0; bus < 256; bus++)
		for (unsigned slot = 0; slot < 32; slot++)
			scan_slot((uint8_t)bus, (uint8_t)slot);
	klog("pci: %u function%s, level-triggered IRQ lines %#x", nfns, nfns == 1 ? "" : "s",
	     arch_irq_level_lines());
}

/* A holder is recorded by pid and released at its death; a pid that names
 * nobody alive is a bug guarded against all the same. */
static bool held(const struct ve_pciinfo *f)
{
	const struct proc *h = f->holder ? proc_by_pid(f->holder) : NULL;
	return h && h->state != PROC_ZOMBIE && h->state != PROC_DEAD;
}

int pci_resolve(const struct ve_devsel sel[VE_SPAWN_DEVS], int16_t fn[VE_SPAWN_DEVS])
{
	for (unsigned k = 0; k < VE_SPAWN_DEVS; k++) {
		fn[k] = -1;
		if (!sel[k].vendor)
			continue;
		int i = pci_devsel_match(fns, nfns, &sel[k]);
		if (i < 0)
			return i;
		if (held(&fns[i]))
			return -VE_BUSY;
		for (unsigned j = 0; j < k; j++)
			if (fn[j] == i)
				return -VE_BUSY; /* two grants, one function */
		fn[k] = (int16_t)i;
	}
	return 0;
}

/* A device whose line p did not get (another process holds it by `irqs`)
 * keeps INTx disabled: asserting a line whose owner cannot clear the cause
 * would have it fire for that owner without end. */
static void set_intx(const struct ve_pciinfo *f, bool on)
{
	uint16_t cmd = (uint16_t)cfg_read(f, PCI_CFG_COMMAND, 2);
	uint16_t want = on ? cmd & ~PCI_CMD_INTX_OFF : cmd | PCI_CMD_INTX_OFF;
	if (want != cmd)
		cfg_write(f, PCI_CFG_COMMAND, 2, want);
}

void pci_claim(struct proc *p)
{
	for (unsigned k = 0; k < VE_SPAWN_DEVS; k++) {
		if (p->devs[k].fn < 0)
			continue;
		struct ve_pciinfo *f = &fns[p->devs[k].fn];
		bool line = f->irq != VE_PCI_NOIRQ && (p->irqs & (1u << f->irq));
		f->holder = p->pid;
		set_intx(f, line || f->irq == VE_PCI_NOIRQ);
		if (line)
			arch_irq_set_level(f->irq); /* PCI INTx is level-triggered */
		struct evlog_line l;
		ev_start(&l, "dev_grant");
		ev_i64(&l, "pid", p->pid);
		ev_str(&l, "name", p->name);
		ev_u64(&l, "dev", k);
		ev_fn(&l, f);
		ev_u64(&l, "irq", f->irq);
		ev_bool(&l, "master", cfg_read(f, PCI_CFG_COMMAND, 2) & PCI_CMD_MASTER);
		if (f->irq != VE_PCI_NOIRQ)
			ev_bool(&l, "line", line);
		if (line)
			ev_bool(&l, "level", arch_irq_level_lines() & (1u << f->irq));
		ev_send(&l);
	}
}

uint16_t pci_lines(const struct proc *p)
{
	uint16_t lines = 0;
	for (unsigned k = 0; k < VE_SPAWN_DEVS; k++) {
		uint8_t irq = p->devs[k].fn >= 0 ? fns[p->devs[k].fn].irq : VE_PCI_NOIRQ;
		if (irq < 16 && (VE_IRQS_VALID & (1u << irq)))
			lines |= (uint16_t)(1u << irq);
	}
	return lines;
}

void pci_proc_dying(struct proc *p)
{
	for (unsigned k = 0; k < VE_SPAWN_DEVS; k++) {
		int i = p->devs[k].fn;
		p->devs[k].fn = -1;
		if (i < 0 || fns[i].holder != p->pid)
			continue; /* a failed creation claims nothing */
		struct ve_pciinfo *f = &fns[i];
		uint16_t cmd = (uint16_t)cfg_read(f, PCI_CFG_COMMAND, 2);
		cfg_write(f, PCI_CFG_COMMAND, 2, (cmd & ~PCI_CMD_MASTER) | PCI_CMD_INTX_OFF);
		uint16_t now = (uint16_t)cfg_read(f, PCI_CFG_COMMAND, 2);
		f->holder = 0;
		struct evlog_line l;
		ev_start(&l, "dev_release");
		ev_i64(&l, "pid", p->pid);
		ev_str(&l, "name", p->name);
		ev_fn(&l, f);
		ev_u64(&l, "command", now);
		ev_bool(&l, "master", now & PCI_CMD_MASTER);
		ev_send(&l);
	}
}

/* ---- system calls ---- */

long pci_sys_info(struct proc *p, uint64_t index, uint64_t uinfo)
{
	if (index >= nfns)
		return -VE_NOENT;
	return vm_copy_out(p, uinfo, &fns[index], sizeof(fns[index]));
}

/* The function p's grant number dev names, or NULL. */
static struct ve_pciinfo *granted(struct proc *p, uint64_t dev)
{
	if (dev >= VE_SPAWN_DEVS || p->devs[dev].fn < 0)
		return NULL;
	return &fns[p->devs[dev].fn];
}

long pci_sys_dev_info(struct proc *p, uint64_t dev, uint64_t uinfo)
{
	struct ve_pciinfo *f = granted(p, dev);
	return f ? vm_copy_out(p, uinfo, f, sizeof(*f)) : -VE_PERM;
}

long pci_sys_cfg_read(struct proc *p, uint64_t dev, uint64_t off, uint64_t width)
{
	struct ve_pciinfo *f = granted(p, dev);
	int err;
	if (!f)
		return -VE_PERM;
	if ((err = pci_cfg_access_check(off, width, false, header_type[f - fns])))
		return err;
	return (long)cfg_read(f, (uint16_t)off, (unsigned)width);
}

long pci_sys_cfg_write(struct proc *p, uint64_t dev, uint64_t off, uint64_t width, uint64_t v)
{
	struct ve_pciinfo *f = granted(p, dev);
	int err;
	if (!f)
		return -VE_PERM;
	if ((err = pci_cfg_access_check(off, width, true, header_type[f - fns])))
		return err;
	if (v >> (8 * width))
		return -VE_INVAL; /* wider than the write (width is 1, 2 or 4 here) */
	cfg_write(f, (uint16_t)off, (unsigned)width, (uint32_t)v);
	return 0;
}

long pci_sys_map(struct proc *p, uint64_t dev, uint64_t bar)
{
	struct ve_pciinfo *f = granted(p, dev);
	uint64_t lo, len, at;
	if (!f)
		return -VE_PERM;
	if (bar >= VE_PCI_BARS)
		return -VE_INVAL;
	uint64_t *va = &p->devs[dev].bar_va[bar];
	if (*va)
		return (long)*va;
	int err = pci_bar_pages(fns, nfns, (unsigned)(f - fns), bar, &lo, &len);
	if (err || (err = vm_map_device(p, lo, len, &at)))
		return err;
	*va = at + (f->bar[bar].base - lo);
	return (long)*va;
}

/* DMA memory comes with a device grant (issue 12): a process that holds
 * none has no use for it, and learning physical addresses or pinning
 * contiguous runs should not be open to every process. */
static bool holds_device(const struct proc *p)
{
	for (unsigned k = 0; k < VE_SPAWN_DEVS; k++)
		if (p->devs[k].fn >= 0)
			return true;
	return false;
}

long pci_sys_dma_alloc(struct proc *p, uint64_t len, uint64_t uphys)
{
	uint64_t va, phys;
	if (!holds_device(p))
		return -VE_PERM;
	if (len == 0 || len > VE_USER_HI)
		return -VE_INVAL;
	if (vm_check(p, uphys, sizeof(phys), true))
		return -VE_FAULT;
	int err = vm_map_dma(p, len, &va, &phys);
	if (err)
		return err;
	vm_copy_out(p, uphys, &phys, sizeof(phys)); /* checked writable above */
	return (long)va;
}
