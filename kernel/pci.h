/*
 * PCI functions and the processes granted them. pci.c enumerates every
 * function at boot (configuration mechanism #1), records which process
 * holds each, serves the device system calls and stops a dead holder's
 * device from mastering the bus. pcicore.c is the part that needs no
 * hardware (BAR decoding, matching a grant against the functions, the
 * configuration-write filter): freestanding and host-tested (test_pci).
 */
#ifndef VESTA_PCI_H
#define VESTA_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include <vesta/abi.h>

#define PCI_MAX_FNS 64 /* functions the kernel keeps; more are logged and left out */

/* Configuration-space registers the kernel uses. */
#define PCI_CFG_VENDOR 0x00
#define PCI_CFG_COMMAND 0x04
#define PCI_CFG_CLASS 0x08 /* revision, prog_if, subclass, class */
#define PCI_CFG_HEADER 0x0e
#define PCI_CFG_BAR0 0x10
#define PCI_CFG_ROM 0x30
#define PCI_CFG_IRQ_LINE 0x3c
#define PCI_CMD_IO 0x1u
#define PCI_CMD_MEM 0x2u
#define PCI_CMD_MASTER 0x4u
#define PCI_CMD_INTX_OFF 0x400u /* interrupt disable: the function asserts no INTx */

/* ---- pcicore.c: no hardware ---- */

/*
 * The BARs of a function from what sizing read: orig[i] the register as
 * the firmware left it, mask[i] what it read back after all ones were
 * written. nbars registers (6 for an endpoint, 2 for a bridge, at most
 * VE_PCI_BARS); the rest of out is VE_BAR_NONE. A 64-bit BAR takes two
 * registers: the first gets the 64-bit base and size, the second NONE. A
 * register that reads back 0 is unimplemented; a 64-bit BAR in the last
 * register is malformed and left NONE.
 */
void pci_bars_decode(const uint32_t orig[VE_PCI_BARS], const uint32_t mask[VE_PCI_BARS],
		     unsigned nbars, struct ve_bar out[VE_PCI_BARS]);

/* The ports [*first, *last] I/O BAR b gives its holder; false for none:
 * not I/O, empty, past 0xffff, unassigned (base 0: the firmware found no
 * room, and ports from 0 are the DMA controller's), or over the
 * configuration ports 0xcf8-0xcff (every function's config space). */
bool pci_bar_ports(const struct ve_bar *b, uint16_t *first, uint16_t *last);

/* A BAR larger than this is not mapped (-VE_RANGE): it would take many
 * page tables of the driver's share for nothing a NIC or disk needs. */
#define PCI_MAP_MAX (256ull << 20)

/* The pages [*lo, *lo + *len) that map memory BAR bar of fns[i] (of n).
 * -VE_INVAL: bar >= VE_PCI_BARS, not a memory BAR, or unassigned (base or
 * size 0). -VE_RANGE: over PCI_MAP_MAX, or past the 52 address bits of a
 * page table entry. -VE_PERM: a page of it holds another function's
 * memory BAR, whose registers its holder would reach too. */
int pci_bar_pages(const struct ve_pciinfo *fns, unsigned n, unsigned i, uint64_t bar, uint64_t *lo,
		  uint64_t *len);

/* A grant list (ve_spawn.devs, bundle_proc.devs) is well formed: known
 * flags, index 0 with VE_DEVSEL_AT, unused slots (vendor 0) zero and after
 * the used ones, vendor not 0xffff, and no function named twice (same
 * vendor:device and index, or same bus address). -VE_INVAL if not. */
int pci_devsel_check(const struct ve_devsel sel[VE_SPAWN_DEVS]);

/* The index in fns[0..n) (bus order) of the function sel names, or
 * -VE_NOENT: the index-th with sel's vendor:device, or (VE_DEVSEL_AT) the
 * one at sel's bus address if it has that vendor:device. */
int pci_devsel_match(const struct ve_pciinfo *fns, unsigned n, const struct ve_devsel *sel);

/* May a driver read (write false) or write this part of its function's
 * configuration space? width 1, 2 or 4, off aligned to it and below
 * VE_PCI_CFG_SIZE (else -VE_INVAL). A write that touches a BAR
 * (0x10-0x27) or the expansion ROM (0x30-0x33) is -VE_PERM; for any other
 * header type (a bridge, a CardBus bridge, one not known) so is one that
 * touches 0x10-0x3b, where a bridge's BARs, bus numbers, address windows
 * and ROM are, or 0x3e-0x3f, its bridge control (secondary bus reset). */
int pci_cfg_access_check(uint64_t off, uint64_t width, bool write, uint8_t header_type);

/* ---- pci.c: the machine's functions ---- */

struct proc;

/* Enumerate every function, size its BARs, stop it mastering the bus
 * (but a bridge) and log a `pci` event each. */
void pci_init(void);
unsigned pci_count(void);
/* The i-th function found (i < pci_count()). */
const struct ve_pciinfo *pci_fn(unsigned i);

/* Resolve p's grants (spawn): fn[k] is the index of sel[k]'s function, -1
 * for an unused slot. -VE_NOENT: none matches; -VE_BUSY: a live process
 * holds it. Claims nothing. */
int pci_resolve(const struct ve_devsel sel[VE_SPAWN_DEVS], int16_t fn[VE_SPAWN_DEVS]);
/* p, now created (its IRQ lines joined), holds the functions pci_resolve
 * gave. A function whose line p got has INTx enabled again (a holder's
 * death disabled it) and its line made level-triggered at the PIC (as PCI
 * lines are; OVMF leaves them edge-triggered); one whose line another
 * process holds by `irqs` keeps INTx disabled. */
void pci_claim(struct proc *p);
/* The IRQ lines of p's devices (those VE_IRQS_VALID allows): p gets them
 * at creation, and may share them with other devices' holders. */
uint16_t pci_lines(const struct proc *p);
/* p is dying: before its memory is freed, each device it holds stops
 * mastering the bus (command bit 2 cleared) and asserting its interrupt
 * line (bit 10 set: a line another holder may share stays quiet), and is
 * released (a `dev_release` event each). */
void pci_proc_dying(struct proc *p);

/* The system calls (contracts in svc/lib/vesta.h). */
long pci_sys_info(struct proc *p, uint64_t index, uint64_t uinfo);
long pci_sys_dev_info(struct proc *p, uint64_t dev, uint64_t uinfo);
long pci_sys_cfg_read(struct proc *p, uint64_t dev, uint64_t off, uint64_t width);
long pci_sys_cfg_write(struct proc *p, uint64_t dev, uint64_t off, uint64_t width, uint64_t v);
long pci_sys_map(struct proc *p, uint64_t dev, uint64_t bar);
long pci_sys_dma_alloc(struct proc *p, uint64_t len, uint64_t uphys);

#endif
