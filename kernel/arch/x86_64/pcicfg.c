/*
 * PCI configuration space through configuration mechanism #1: an address
 * written to port 0xcf8 selects a dword of one function's space, read or
 * written at 0xcfc..0xcff. Present on every PC chipset QEMU emulates (pc
 * and q35); ECAM would reach the extended space, which no driver here needs.
 * The kernel is not preemptible, so the address/data pair needs no lock.
 */
#include "arch.h"
#include "x86.h"

#define PCI_CONFIG_ADDRESS 0xcf8
#define PCI_CONFIG_DATA 0xcfc

static void select(uint8_t bus, uint8_t devfn, uint16_t off)
{
	outl(PCI_CONFIG_ADDRESS,
	     0x80000000u | (uint32_t)bus << 16 | (uint32_t)devfn << 8 | (off & 0xfcu));
}

uint32_t arch_pci_cfg_read(uint8_t bus, uint8_t devfn, uint16_t off, unsigned width)
{
	select(bus, devfn, off);
	uint16_t port = (uint16_t)(PCI_CONFIG_DATA + (off & 3));
	if (width == 1)
		return inb(port);
	if (width == 2)
		return inw(port);
	return inl(PCI_CONFIG_DATA);
}

void arch_pci_cfg_write(uint8_t bus, uint8_t devfn, uint16_t off, unsigned width, uint32_t v)
{
	select(bus, devfn, off);
	uint16_t port = (uint16_t)(PCI_CONFIG_DATA + (off & 3));
	if (width == 1)
		outb(port, (uint8_t)v);
	else if (width == 2)
		outw(port, (uint16_t)v);
	else
		outl(PCI_CONFIG_DATA, v);
}
