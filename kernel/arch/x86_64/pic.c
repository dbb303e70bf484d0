/*
 * The legacy 8259 PICs carry device IRQ lines 0..15 (the UART's IRQ 4, ...)
 * to vectors 0x20..0x2f. Every line starts masked; a line is unmasked only
 * for the process granted it, masked again when it fires (until that process
 * acks it) and when the process dies. The scheduler tick is the LAPIC timer,
 * not the PIT.
 */
#include "arch.h"
#include "x86.h"

#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xa0
#define PIC2_DATA 0xa1
#define PIC_EOI 0x20
#define PIC_READ_ISR 0x0b

static uint16_t mask = 0xffff; /* bit n set: line n masked */

static void write_mask(void)
{
	/* Line 2 cascades the second PIC: open it whenever a line there is. */
	uint16_t m = mask;
	if ((m & 0xff00) != 0xff00)
		m &= (uint16_t) ~(1u << 2);
	outb(PIC1_DATA, m & 0xff);
	outb(PIC2_DATA, m >> 8);
}

void arch_pic_init(void)
{
	outb(PIC1_CMD, 0x11); /* ICW1: init, ICW4 follows */
	outb(PIC2_CMD, 0x11);
	outb(PIC1_DATA, 0x20); /* ICW2: vector base */
	outb(PIC2_DATA, 0x28);
	outb(PIC1_DATA, 0x04); /* ICW3: slave on line 2 */
	outb(PIC2_DATA, 0x02);
	outb(PIC1_DATA, 0x01); /* ICW4: 8086 mode */
	outb(PIC2_DATA, 0x01);
	mask = 0xffff;
	write_mask();
}

void arch_irq_mask(unsigned irq)
{
	mask |= (uint16_t)(1u << irq);
	write_mask();
}

void arch_irq_unmask(unsigned irq)
{
	mask &= (uint16_t) ~(1u << irq);
	write_mask();
}

static uint8_t in_service(uint16_t cmd)
{
	outb(cmd, PIC_READ_ISR);
	return inb(cmd);
}

/* Called for vectors 0x20..0x2f. Returns false for a spurious IRQ 7 or 15
 * (nothing in service), which must not be acked; otherwise masks the line and
 * acks it at the PIC, so the owner's ack (arch_irq_unmask) re-arms it. */
bool arch_irq_begin(unsigned irq)
{
	if (irq == 7 && !(in_service(PIC1_CMD) & 0x80))
		return false;
	if (irq == 15 && !(in_service(PIC2_CMD) & 0x80)) {
		outb(PIC1_CMD, PIC_EOI); /* the master did see the cascade */
		return false;
	}
	arch_irq_mask(irq);
	if (irq >= 8)
		outb(PIC2_CMD, PIC_EOI);
	outb(PIC1_CMD, PIC_EOI);
	return true;
}

/* The edge/level control registers of PIIX and ICH chipsets (ports 0x4d0,
 * 0x4d1): bit n set, line n is level-triggered, as a PCI line is. The
 * firmware sets them for the lines it routed PCI interrupts to. */
uint16_t arch_irq_level_lines(void)
{
	return (uint16_t)(inb(0x4d0) | inb(0x4d1) << 8);
}

/* OVMF leaves them all edge-triggered: a PCI device that keeps its line
 * asserted across an ack would then never interrupt again. Lines 0, 1, 2,
 * 8 and 13 must stay edge (the chipset's own). */
void arch_irq_set_level(unsigned irq)
{
	if (irq >= 16 || ((1u << irq) & 0x2107))
		return;
	uint16_t port = irq < 8 ? 0x4d0 : 0x4d1;
	outb(port, (uint8_t)(inb(port) | 1u << (irq & 7)));
}
