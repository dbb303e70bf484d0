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
extern void syscall_compat_entry(void);

static void gdt_init(void)
{
	uint64_t base = (uint64_t)(uintptr_t)&tss0;
	uint64_t limit = sizeof(tss0) - 1;

	/* No 16- or 32-bit code descriptor anywhere: ring 3 cannot leave
	 * 64-bit mode, so the compatibility-mode paths (CSTAR, call gates,
	 * 16-bit stacks) are unreachable as well as closed. */
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
			 "ltr %%ax\n\t"
			 /* LDTR null: the LDT left from reset (base 0, limit
			  * 0xffff: user memory) would let ring 3 write its own
			  * descriptors, 32-bit code and call gates included. */
			 "xor %%eax, %%eax\n\t"
			 "lldt %%ax"
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

/* What the CPU offers, from CPUID: leaf 1 edx, 0x80000001 edx, 7.0 ebx/ecx. */
static bool cpu_has(uint32_t leaf, int reg, unsigned bit)
{
	uint32_t r[4];
	cpuid(leaf & 0x80000000u, 0, r);
	if (r[0] < leaf)
		return false;
	cpuid(leaf, 0, r);
	return (r[reg] >> bit) & 1;
}

#define REG_EBX 1
#define REG_ECX 2
#define REG_EDX 3

/*
 * Control registers: written whole, never read-modify-written, so no bit
 * that firmware or the boot loader left set survives by accident (AM,
 * TSD, PCE, FSGSBASE, OSXSAVE, PKE, CET, PCIDE, VMXE among them). The
 * audit of every bit is in README.md beside this file.
 */
static void control_regs_init(void)
{
	write_cr0(CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG);
	uint64_t cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	if (cpu_has(1, REG_EDX, 7))
		cr4 |= CR4_MCE; /* a machine check panics with a report, not a reset */
	if (cpu_has(7, REG_EBX, 7))
		cr4 |= CR4_SMEP; /* ring 0 never executes a user page */
	if (cpu_has(7, REG_EBX, 20))
		cr4 |= CR4_SMAP; /* ring 0 touches a user page only in usercopy.asm */
	if (cpu_has(7, REG_ECX, 2))
		cr4 |= CR4_UMIP; /* sgdt, sidt, sldt, smsw, str are #GP in ring 3 */
	write_cr4(cr4);
	arch_smap_on = (cr4 & CR4_SMAP) != 0; /* usercopy.asm's stac/clac */
}

/* EFER: long mode, syscall and NX; everything else (FFXSR, whose fast
 * fxsave would skip the XMM registers on a context switch, SVME, LMSLE,
 * TCE) off. LMA is the CPU's own report and is written back as read. */
static void efer_init(void)
{
	uint64_t efer = (rdmsr(MSR_EFER) & EFER_LMA) | EFER_LME | EFER_SCE;
	if (cpu_has(0x80000001u, REG_EDX, 20))
		efer |= EFER_NXE;
	wrmsr(MSR_EFER, efer);
}

/*
 * The ways into ring 0 that an instruction offers, each set on purpose:
 * syscall from 64-bit code enters syscall_entry; syscall from 32-bit code
 * (which Vesta never runs: there is no 32-bit code descriptor and no LDT)
 * enters syscall_compat_entry, which kills the process; sysenter with
 * SYSENTER_CS 0 is a #GP in ring 3 (Intel), a #UD (AMD).
 */
static void syscall_msrs_init(void)
{
	/* syscall: CS=0x08/SS=0x10; sysret: SS=0x18|3, CS=0x20|3. */
	wrmsr(MSR_STAR, ((uint64_t)0x10 << 48) | ((uint64_t)SEL_KCODE << 32));
	wrmsr(MSR_LSTAR, (uint64_t)(uintptr_t)syscall_entry);
	wrmsr(MSR_CSTAR, (uint64_t)(uintptr_t)syscall_compat_entry);
	wrmsr(MSR_SFMASK, RFLAGS_IF | RFLAGS_TF | RFLAGS_DF | RFLAGS_NT | RFLAGS_AC);
	wrmsr(MSR_SYSENTER_CS, 0);
	wrmsr(MSR_SYSENTER_ESP, 0);
	wrmsr(MSR_SYSENTER_EIP, 0);
	wrmsr(MSR_FS_BASE, 0);
	wrmsr(MSR_GS_BASE, (uint64_t)(uintptr_t)&cpu0);
	wrmsr(MSR_KERNEL_GS_BASE, 0);
	/* rdtscp and rdpid show it to ring 3: nothing of firmware's. */
	if (cpu_has(0x80000001u, REG_EDX, 27) || cpu_has(7, REG_ECX, 22))
		wrmsr(MSR_TSC_AUX, 0);
}

/* No hardware breakpoint or branch trap that firmware armed stays armed:
 * a #DB in ring 0 would be a kernel panic. */
static void debug_init(void)
{
	write_dr7(0x400); /* the architectural reset value: every breakpoint off */
	wrmsr(MSR_DEBUGCTL, 0);
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
	return rdmsr(MSR_EFER) & EFER_NXE;
}

void arch_cpu_init(void)
{
	debug_init();
	tss_init();
	gdt_init();
	idt_init();
	control_regs_init();
	efer_init();
	syscall_msrs_init();
}

void arch_cpu_protections(struct arch_protections *out)
{
	uint64_t cr4 = read_cr4();
	out->smep = cr4 & CR4_SMEP;
	out->smap = cr4 & CR4_SMAP;
	out->umip = cr4 & CR4_UMIP;
	out->nx = rdmsr(MSR_EFER) & EFER_NXE;
	out->wp = read_cr0() & CR0_WP;
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
