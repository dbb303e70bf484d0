/*
 * The part of PCI support that needs no hardware: decoding sized BARs,
 * matching a device grant against the functions found, and the filter on
 * a driver's configuration writes. Freestanding; test_pci runs it on the
 * host.
 */
#include "pci.h"

#include <stddef.h>

void pci_bars_decode(const uint32_t orig[VE_PCI_BARS], const uint32_t mask[VE_PCI_BARS],
		     unsigned nbars, struct ve_bar out[VE_PCI_BARS])
{
	for (unsigned i = 0; i < VE_PCI_BARS; i++)
		out[i] = (struct ve_bar){ .kind = VE_BAR_NONE };
	if (nbars > VE_PCI_BARS)
		nbars = VE_PCI_BARS;
	for (unsigned i = 0; i < nbars; i++) {
		uint32_t o = orig[i], m = mask[i];
		if (m == 0)
			continue; /* unimplemented */
		if (o & 1) {
			/* I/O: bits 31..2 address; a 16-bit decoder reads its
			 * upper half back as 0. */
			uint32_t am = m & ~3u;
			if (!(am & 0xffff0000u))
				am |= 0xffff0000u;
			out[i] = (struct ve_bar){ .base = o & ~3u,
						  .size = (uint32_t)(~am + 1),
						  .kind = VE_BAR_IO };
			continue;
		}
		unsigned type = (o >> 1) & 3;
		uint64_t base = o & ~0xfu, am = m & ~0xfu;
		uint32_t kind = VE_BAR_MEM32;
		if (type == 2) {
			if (i + 1 >= nbars)
				continue; /* a 64-bit BAR needs the next register */
			base |= (uint64_t)orig[i + 1] << 32;
			am |= (uint64_t)mask[i + 1] << 32;
			kind = VE_BAR_MEM64;
		} else {
			am |= 0xffffffff00000000ull;
		}
		if ((am & ~0xfull) == 0)
			continue;
		out[i] = (struct ve_bar){
			.base = base, .size = ~am + 1, .kind = kind, .prefetchable = (o >> 3) & 1
		};
		if (kind == VE_BAR_MEM64)
			i++; /* its upper half stays NONE */
	}
}

/* Does [off, off+width) meet [lo, hi)? */
static bool meets(uint64_t off, uint64_t width, uint64_t lo, uint64_t hi)
{
	return off < hi && lo < off + width;
}

bool pci_bar_ports(const struct ve_bar *b, uint16_t *first, uint16_t *last)
{
	if (b->kind != VE_BAR_IO || b->base == 0 || b->size == 0 || b->size > 0x10000 ||
	    b->base > 0x10000 - b->size || meets(b->base, b->size, 0xcf8, 0xd00))
		return false;
	*first = (uint16_t)b->base;
	*last = (uint16_t)(b->base + b->size - 1);
	return true;
}

#define PAGE 4096ull
#define PHYS_LIMIT (1ull << 52) /* what a page table entry can address */

/* A memory BAR that decodes somewhere. */
static bool mem_bar(const struct ve_bar *b)
{
	return (b->kind == VE_BAR_MEM32 || b->kind == VE_BAR_MEM64) && b->base && b->size;
}

int pci_bar_pages(const struct ve_pciinfo *fns, unsigned n, unsigned i, uint64_t bar, uint64_t *lo,
		  uint64_t *len)
{
	if (bar >= VE_PCI_BARS || !mem_bar(&fns[i].bar[bar]))
		return -VE_INVAL;
	const struct ve_bar *b = &fns[i].bar[bar];
	if (b->size > PCI_MAP_MAX || b->base >= PHYS_LIMIT || b->size > PHYS_LIMIT - b->base)
		return -VE_RANGE;
	uint64_t start = b->base & ~(PAGE - 1);
	uint64_t end = (b->base + b->size + PAGE - 1) & ~(PAGE - 1);
	for (unsigned j = 0; j < n; j++)
		for (unsigned k = 0; j != i && k < VE_PCI_BARS; k++)
			if (mem_bar(&fns[j].bar[k]) &&
			    meets(fns[j].bar[k].base, fns[j].bar[k].size, start, end))
				return -VE_PERM;
	*lo = start;
	*len = end - start;
	return 0;
}

int pci_devsel_check(const struct ve_devsel sel[VE_SPAWN_DEVS])
{
	bool ended = false;
	for (unsigned k = 0; k < VE_SPAWN_DEVS; k++) {
		const struct ve_devsel *s = &sel[k];
		if (s->vendor == 0) {
			if (s->device || s->index || s->bus || s->devfn || s->flags)
				return -VE_INVAL;
			ended = true;
			continue;
		}
		if (ended || s->vendor == 0xffff || (s->flags & ~VE_DEVSEL_AT))
			return -VE_INVAL;
		if (!(s->flags & VE_DEVSEL_AT) && (s->bus || s->devfn))
			return -VE_INVAL;
		if ((s->flags & VE_DEVSEL_AT) && s->index)
			return -VE_INVAL;
		for (unsigned j = 0; j < k; j++)
			if (ve_devsel_same(&sel[j], s))
				return -VE_INVAL;
	}
	return 0;
}

int pci_devsel_match(const struct ve_pciinfo *fns, unsigned n, const struct ve_devsel *sel)
{
	unsigned seen = 0;
	for (unsigned i = 0; i < n; i++) {
		const struct ve_pciinfo *f = &fns[i];
		if (f->vendor != sel->vendor || f->device != sel->device)
			continue;
		if (sel->flags & VE_DEVSEL_AT) {
			if (f->bus == sel->bus && f->devfn == sel->devfn)
				return (int)i;
		} else if (seen++ == sel->index) {
			return (int)i;
		}
	}
	return -VE_NOENT;
}

int pci_cfg_access_check(uint64_t off, uint64_t width, bool write, uint8_t header_type)
{
	if ((width != 1 && width != 2 && width != 4) || off >= VE_PCI_CFG_SIZE ||
	    (off & (width - 1)))
		return -VE_INVAL;
	if (!write)
		return 0;
	/* Moving a BAR or the ROM would let the device decode over memory
	 * the driver was never given. A bridge's bus numbers and windows
	 * would move every function behind it, and its bridge control's
	 * secondary bus reset would reset them (their BARs too); a CardBus
	 * bridge keeps the same there, and a header type not known gets the
	 * same strict rule. */
	if ((header_type & 0x7f) != 0)
		return meets(off, width, 0x10, 0x3c) || meets(off, width, 0x3e, 0x40) ? -VE_PERM
										      : 0;
	if (meets(off, width, 0x10, 0x28) || meets(off, width, 0x30, 0x34))
		return -VE_PERM;
	return 0;
}
