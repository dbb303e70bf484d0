/*
 * CPU tables and modes: GDT with a TSS (whose I/O permission bitmap carries
 * each process's port grants), the IDT, the syscall MSRs, SSE, NX, and the
 * ways to stop the machine. One CPU for now: the per-CPU block is a single
 * static struct reached through GS.
 */
#include "arch.h"
#include "x86.h"

#include "lib/string.h"

struct __attribute__((packed)) tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
	uint8_t iomap[IOMAP_BYTES + 1]; /* +1: the CPU reads a trailing 0xff */
};

struct __attribute__((packed)) idt_gate {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, zero;
};

struct __attribute__((packed)) desc_ptr {
	uint16_t limit;
	uint64_t base;
};

/* The block GS points at in the kernel; entry.asm uses these offsets. */
struct cpu_local {
	uint64_t kstack_top; /* gs:0 */
	uint64_t user_rsp;   /* gs:8, scratch during syscall entry */
};

static struct cpu_local cpu0;
static struct tss tss0 __attribute__((aligned(16)));
static uint64_t gdt[7] __attribute__((aligned(16)));
static struct idt_gate idt[256] __attribute__((aligned(16)));
static uint8_t ist_stacks[3][8192] __attribute__((aligned(16)));
static const uint8_t *iomap_loaded; /* whose grants are in tss0.iomap now */

extern const uint64_t isr_table[256];
extern void syscall_entry(void);

static void gdt_init(void)
{
	uint64_t base = (uint64_t)(uintptr_t)&tss0;
	uint64_t limit = sizeof(tss0) - 1;

	gdt[0] = 0;
	gdt[1] = 0x00AF9A000000FFFFull; /* 0x08 kernel code, 64-bit */
	gdt[2] = 0x00CF92000000FFFFull; /* 0x10 kernel data */
	gdt[3] = 0x00CFF2000000FFFFull; /* 0x18 user data (sysret: STAR+8) */
	gdt[4] = 0x00AFFA000000FFFFull; /* 0x20 user code (sysret: STAR+16) */
	gdt[5] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
		 (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	gdt[6] = base >> 32;

	struct desc_ptr p = { sizeof(gdt) - 1, (uint64_t)(uintptr_t)gdt };
	__asm__ volatile("lgdt %0\n\t"
			 "mov $0x10, %%ax\n\t"
			 "mov %%ax, %%ds\n\t"
			 "mov %%ax, %%es\n\t"
			 "mov %%ax, %%ss\n\t"
			 "pushq $0x08\n\t"
			 "lea 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "mov $0x28, %%ax\n\t"
			 "ltr %%ax"
			 :
			 : "m"(p)
			 : "rax", "memory");
}

static void tss_init(void)
{
	tss0.iomap_base = (uint16_t) __builtin_offsetof(struct tss, iomap);
	memset(tss0.iomap, 0xff, sizeof(tss0.iomap));
	for (int i = 0; i < 3; i++)
		tss0.ist[i] = (uint64_t)(uintptr_t)&ist_stacks[i][sizeof(ist_stacks[i])];
}

static void idt_set(int vec, uint64_t handler, uint8_t ist)
{
	idt[vec].off_lo = handler & 0xffff;
	idt[vec].sel = SEL_KCODE;
	idt[vec].ist = ist;
	idt[vec].type = 0x8E; /* present, DPL 0, 64-bit interrupt gate */
	idt[vec].off_mid = (handler >> 16) & 0xffff;
	idt[vec].off_hi = handler >> 32;
	idt[vec].zero = 0;
}

static void idt_init(void)
{
	/* Every gate has DPL 0: `int n` from ring 3 is a #GP, never a way in. */
	for (int v = 0; v < 256; v++)
		idt_set(v, isr_table[v], 0);
	idt_set(2, isr_table[2], 2);   /* NMI */
	idt_set(8, isr_table[8], 1);   /* double fault */
	idt_set(18, isr_table[18], 3); /* machine check */
	struct desc_ptr p = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };
	__asm__ volatile("lidt %0" : : "m"(p));
}

static void modes_init(void)
{
	uint32_t r[4];

	/* SSE for user code; the kernel itself is built without it. */
	uint64_t cr0 = read_cr0();
	cr0 &= ~(1ull << 2); /* EM */
	cr0 |= (1ull << 1);  /* MP */
	cr0 |= (1ull << 5);  /* NE: x87 errors raise #MF, which kills the process */
	write_cr0(cr0);
	write_cr4(read_cr4() | (1ull << 9) | (1ull << 10)); /* OSFXSR, OSXMMEXCPT */

	uint64_t efer = rdmsr(MSR_EFER) | 1ull; /* SCE */
	cpuid(0x80000001u, 0, r);
	if (r[3] & (1u << 20))
		efer |= 1ull << 11; /* NXE */
	wrmsr(MSR_EFER, efer);

	/* syscall: CS=0x08/SS=0x10; sysret: SS=0x18|3, CS=0x20|3. */
	wrmsr(MSR_STAR, ((uint64_t)0x10 << 48) | ((uint64_t)SEL_KCODE << 32));
	wrmsr(MSR_LSTAR, (uint64_t)(uintptr_t)syscall_entry);
	wrmsr(MSR_SFMASK, 0x47700); /* IF TF DF NT AC */
	wrmsr(MSR_GS_BASE, (uint64_t)(uintptr_t)&cpu0);
	wrmsr(MSR_KERNEL_GS_BASE, 0);
}

/* The FXSAVE image of the FPU/SSE reset state, written out rather than
 * captured with fninit/ldmxcsr/fxsave: same result, no dependence on the
 * CPU state at boot. */
void arch_fpu_init_area(void *area)
{
	uint8_t *a = area;
	memset(a, 0, 512);
	a[0] = 0x7f; /* FCW 0x037f: all x87 exceptions masked, 64-bit precision */
	a[1] = 0x03;
	a[24] = 0x80; /* MXCSR 0x1f80: all SSE exceptions masked */
	a[25] = 0x1f;
}

bool arch_has_nx(void)
{
	return (rdmsr(MSR_EFER) >> 11) & 1;
}

void arch_cpu_init(void)
{
	tss_init();
	gdt_init();
	idt_init();
	modes_init();
}

void arch_set_kernel_stack(uint64_t top)
{
	tss0.rsp[0] = top;
	cpu0.kstack_top = top;
}

void arch_load_iomap(const uint8_t *map)
{
	if (map == iomap_loaded)
		return;
	if (map)
		memcpy(tss0.iomap, map, IOMAP_BYTES);
	else
		memset(tss0.iomap, 0xff, IOMAP_BYTES);
	iomap_loaded = map;
}

void arch_iomap_forget(const uint8_t *map)
{
	if (iomap_loaded == map)
		arch_load_iomap(NULL);
}

void arch_iomap_allow(uint8_t *map, uint16_t first, uint16_t last)
{
	for (uint32_t p = first; p <= last; p++)
		map[p / 8] &= (uint8_t) ~(1u << (p % 8));
}

static void reset_machine(void)
{
	/* PCI reset control register, then the keyboard controller. */
	outb(0xcf9, 0x02);
	outb(0xcf9, 0x06);
	for (int i = 0; i < 100000 && (inb(0x64) & 0x02); i++)
		cpu_pause();
	outb(0x64, 0xfe);
	/* Last resort: a triple fault. */
	struct desc_ptr none = { 0, 0 };
	__asm__ volatile("lidt %0\n\tint3" : : "m"(none));
}

_Noreturn void arch_halt_machine(int failed)
{
	__asm__ volatile("cli");
	/* QEMU's isa-debug-exit (iobase 0xf4): exit status (v << 1) | 1. */
	outl(0xf4, failed ? 1 : 0);
	reset_machine();
	for (;;)
		__asm__ volatile("hlt");
}

_Noreturn void arch_idle_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}
