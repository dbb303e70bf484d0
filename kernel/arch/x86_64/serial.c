/*
 * Polled 16550 UART output on COM1 (human console) and COM2 (event log).
 * Polled, not interrupt-driven, so a panic can always print. Input on COM1
 * belongs to user space (the console process is granted its ports).
 */
#include "arch.h"
#include "x86.h"

static const uint16_t com_base[2] = { 0x3f8, 0x2f8 };
static bool com_present[2];

static bool uart_init(uint16_t base)
{
	outb(base + 1, 0x00); /* no interrupts */
	outb(base + 3, 0x80); /* DLAB */
	outb(base + 0, 0x01); /* 115200 baud */
	outb(base + 1, 0x00);
	outb(base + 3, 0x03); /* 8N1 */
	outb(base + 2, 0xC7); /* FIFO on, cleared, 14-byte threshold */
	outb(base + 4, 0x03); /* DTR, RTS */
	/* Scratch register round trip: is there a UART at all? */
	outb(base + 7, 0x5a);
	return inb(base + 7) == 0x5a;
}

void arch_serial_init(void)
{
	for (int i = 0; i < 2; i++)
		com_present[i] = uart_init(com_base[i]);
}

/* Bounded wait for an empty holding register: a wedged UART must not hang
 * the kernel. */
static void uart_wait(uint16_t base)
{
	for (int i = 0; i < 1000000 && !(inb(base + 5) & 0x20); i++)
		cpu_pause();
}

static void uart_putc(uint16_t base, char c)
{
	uart_wait(base);
	outb(base, (uint8_t)c);
}

void arch_serial_write(enum arch_com port, const char *s, size_t n)
{
	uint16_t base = com_base[port];
	if (!com_present[port])
		return;
	if (port == COM1) {
		for (size_t i = 0; i < n; i++) {
			if (s[i] == '\n')
				uart_putc(base, '\r');
			uart_putc(base, s[i]);
		}
		return;
	}
	/* COM2, the event log, is the kernel's alone (COM1's setup belongs to
	 * the console driver once it runs): an empty holding register means 16
	 * bytes of room when its FIFO is on, which the UART itself says (IIR
	 * bits 7:6) before each burst, so none is lost if a process granted
	 * the port turned it off. */
	for (size_t i = 0; i < n;) {
		uart_wait(base);
		size_t room = (inb(base + 2) & 0xc0) == 0xc0 ? 16 : 1;
		size_t k = n - i < room ? n - i : room;
		outsb(base, s + i, k);
		i += k;
	}
}
