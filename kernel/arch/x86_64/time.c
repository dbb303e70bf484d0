/*
 * Time: the TSC, calibrated against the PIT, is the monotonic clock; the
 * LAPIC timer, calibrated against the TSC, gives the periodic scheduler tick
 * (ARCH_TICK_HZ).
 */
#include "arch.h"
#include "x86.h"

#define PIT_HZ 1193182u
#define CAL_MS 20u /* long enough for <0.1% error, short enough for boot */
#define TIMER_VECTOR 0x30
#define SPURIOUS_VECTOR 0xff

#define LAPIC_TPR 0x080
#define LAPIC_EOI 0x0b0
#define LAPIC_SVR 0x0f0
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3e0

extern uint64_t boot_tsc0; /* boot.asm: TSC at the first instruction */

static uint64_t tsc_hz;
static uint64_t ns_mult; /* ns = (ticks * ns_mult) >> 32 */
static volatile uint32_t *lapic;

uint64_t arch_tsc_hz(void)
{
	return tsc_hz;
}

uint64_t arch_now_ns(void)
{
	uint64_t t = arch_rdtsc() - boot_tsc0;
	return (uint64_t)(((unsigned __int128)t * ns_mult) >> 32);
}

/* TSC ticks in CAL_MS, measured with PIT channel 2 in one-shot mode. */
static uint64_t tsc_calibrate(void)
{
	uint32_t count = PIT_HZ * CAL_MS / 1000;
	uint8_t gate = inb(0x61);

	outb(0x61, (gate & ~0x02) | 0x01); /* speaker off, gate on */
	outb(0x43, 0xb0);		   /* ch2, lo/hi, mode 0 */
	outb(0x42, count & 0xff);
	outb(0x42, count >> 8);
	gate = inb(0x61);
	outb(0x61, gate & ~0x01); /* restart the count */
	outb(0x61, gate | 0x01);
	uint64_t t0 = arch_rdtsc();
	for (uint64_t spin = 0; !(inb(0x61) & 0x20); spin++)
		if (spin > 100000000ull)
			break; /* no PIT: fall back below */
	uint64_t t1 = arch_rdtsc();
	return t1 - t0;
}

static inline void lapic_write(uint32_t reg, uint32_t v)
{
	lapic[reg / 4] = v;
}
static inline uint32_t lapic_read(uint32_t reg)
{
	return lapic[reg / 4];
}

void arch_timer_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

static void lapic_timer_start(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE);
	/* Firmware may hand over the LAPIC in x2APIC mode (EXTD), where its
	 * MMIO page is dead and the tick would never come: the way back to
	 * xAPIC mode is through disabled (the SDM forbids x2APIC -> xAPIC). */
	if (base & APIC_BASE_EXTD) {
		base &= ~(APIC_BASE_EXTD | APIC_BASE_EN);
		wrmsr(MSR_APIC_BASE, base);
	}
	wrmsr(MSR_APIC_BASE, base | APIC_BASE_EN); /* global enable, xAPIC mode */
	lapic = phys_to_virt(base & 0xffffff000ull);
	lapic_write(LAPIC_SVR, 0x100 | SPURIOUS_VECTOR);
	lapic_write(LAPIC_TPR, 0);
	/* Virtual wire: the 8259's output reaches the CPU through LINT0. */
	lapic_write(LAPIC_LVT_LINT0, 0x700); /* ExtINT */
	lapic_write(LAPIC_LVT_LINT1, 0x400); /* NMI */

	/* Count LAPIC ticks over a TSC-timed millisecond window (x10). */
	lapic_write(LAPIC_TIMER_DIV, 0x3);	/* divide by 16 */
	lapic_write(LAPIC_LVT_TIMER, 1u << 16); /* masked */
	lapic_write(LAPIC_TIMER_INIT, 0xffffffffu);
	uint64_t end = arch_rdtsc() + tsc_hz / 100;
	while (arch_rdtsc() < end)
		cpu_pause();
	uint32_t elapsed = 0xffffffffu - lapic_read(LAPIC_TIMER_CUR);
	uint32_t per_tick = (uint32_t)((uint64_t)elapsed * 100 / ARCH_TICK_HZ);
	if (per_tick == 0)
		per_tick = 1;

	lapic_write(LAPIC_LVT_TIMER, TIMER_VECTOR | (1u << 17)); /* periodic */
	lapic_write(LAPIC_TIMER_INIT, per_tick);
}

void arch_time_init(void)
{
	arch_pic_init();
	uint64_t ticks = tsc_calibrate();
	tsc_hz = ticks * 1000 / CAL_MS;
	if (tsc_hz < 100000000ull) /* implausible (<100 MHz): assume 1 GHz */
		tsc_hz = 1000000000ull;
	ns_mult = (1000000000ull << 32) / tsc_hz; /* 1e9 << 32 fits in 64 bits */
	lapic_timer_start();
}
