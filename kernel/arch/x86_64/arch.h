/*
 * The architecture interface: everything the portable kernel needs from
 * x86-64, reached through arch_* functions. Only files under
 * kernel/arch/x86_64/ contain assembly.
 */
#ifndef VESTA_ARCH_H
#define VESTA_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KERNEL_VMA 0xffffffff80000000ull
#define DIRECT_MAP 0xffff800000000000ull
#define PAGE_SIZE 4096ull

/* Physical <-> direct-map virtual. Every physical address the kernel manages
 * is mapped at DIRECT_MAP + phys. */
static inline void *phys_to_virt(uint64_t phys)
{
	return (void *)(uintptr_t)(DIRECT_MAP + phys);
}
static inline uint64_t virt_to_phys(const void *v)
{
	uint64_t a = (uint64_t)(uintptr_t)v;
	return a >= KERNEL_VMA ? a - KERNEL_VMA : a - DIRECT_MAP;
}

/* The register frame pushed by every trap, interrupt and syscall entry
 * (entry.asm builds it; the order is the reverse of the pushes). */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, err;
	uint64_t rip, cs, rflags, rsp, ss;
};

#define TRAP_SYSCALL 0x100 /* vector value marking a syscall frame */
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UDATA 0x1b
#define SEL_UCODE 0x23

/* cpu.c */
void arch_cpu_init(void);		    /* GDT, TSS, IDT, syscall MSRs, SSE */
void arch_set_kernel_stack(uint64_t top);   /* rsp0 for traps and syscalls */
#define IOMAP_BYTES 8192		    /* one bit per port, 1 = denied */
void arch_load_iomap(const uint8_t *map);   /* NULL = deny every port */
void arch_iomap_forget(const uint8_t *map); /* map is being freed */
void arch_iomap_allow(uint8_t *map, uint16_t first, uint16_t last);
bool arch_has_nx(void);
/* What arch_cpu_init turned on, read back from the CPU (boot event). */
struct arch_protections {
	bool smep, smap, umip, nx, wp;
};
void arch_cpu_protections(struct arch_protections *out);
_Noreturn void arch_halt_machine(int failed); /* isa-debug-exit, then reset */
_Noreturn void arch_idle_forever(void);

/* serial.c: polled 16550 output */
enum arch_com { COM1 = 0, COM2 = 1 };
void arch_serial_init(void);
void arch_serial_write(enum arch_com port, const char *s, size_t n);

/* tsc.c and apic.c: time */
void arch_time_init(void);  /* calibrate TSC, start the LAPIC tick */
uint64_t arch_now_ns(void); /* monotonic ns since the first instruction */
uint64_t arch_tsc_hz(void);
uint64_t arch_rdtsc(void);
#define ARCH_TICK_HZ 1000
void arch_timer_eoi(void);

/* mmu.c: page tables */
#define PTE_P 0x1ull
#define PTE_W 0x2ull
#define PTE_U 0x4ull
#define PTE_PS 0x80ull
#define PTE_STASH 0x200ull /* software bit: a stash frame, not owned by the space */
#define PTE_ALLOC 0x400ull /* software bit: a vm_alloc page, the process's to vm_free */
#define PTE_DMA 0x800ull   /* software bit: a dma_alloc page (pinned until death) */
#define PTE_PWT 0x8ull	   /* write-through */
#define PTE_PCD 0x10ull	   /* cache disabled: device registers */
#define PTE_NX (1ull << 63)
#define PTE_ADDR 0x000ffffffffff000ull
/* Build and load the kernel's tables; alloc gives zeroable frames. */
int arch_mmu_init(uint64_t top_phys, int (*alloc)(uint64_t *phys));
uint64_t arch_kernel_pml4(void);
int arch_new_space(uint64_t *pml4_out); /* kernel half shared, user half empty */
/* Free every user-half frame and table, then the PML4 itself. */
void arch_free_space(uint64_t pml4, void (*free_frame)(uint64_t phys));
/* The leaf entry for a user va; creates missing tables if asked. NULL when
 * absent (or out of frames while creating). */
uint64_t *arch_pte(uint64_t pml4, uint64_t va, bool create);
/* Pages mapped in the user half. */
uint64_t arch_count_user_frames(uint64_t pml4);
/* Call fn(ctx, n, va, pte) for each mapped user page in address order, n
 * counting them from 0, for as long as fn returns true: one pass over the
 * tables, whatever fn wants from it. */
typedef bool (*arch_page_fn)(void *ctx, uint64_t n, uint64_t va, uint64_t *pte);
void arch_walk_user_pages(uint64_t pml4, arch_page_fn fn, void *ctx);
uint64_t arch_pte_flags(uint32_t prot, bool user); /* VE_PROT_* -> PTE bits */
/* Unmap one user page and free the tables it leaves empty; returns the
 * frame it mapped, or 0 if it was not mapped. */
uint64_t arch_unmap_user(uint64_t pml4, uint64_t va, void (*free_frame)(uint64_t phys));
/* 8259 PIC lines (device IRQs 0..15 at vectors 0x20..0x2f). */
void arch_pic_init(void);
bool arch_irq_begin(unsigned irq); /* false: spurious */
void arch_irq_mask(unsigned irq);
void arch_irq_unmask(unsigned irq);
uint16_t arch_irq_level_lines(void);   /* bit n: line n level-triggered (ELCR) */
void arch_irq_set_level(unsigned irq); /* a PCI line: level-triggered */
void arch_switch_pml4(uint64_t pml4_phys);

/* pcicfg.c: PCI configuration space through mechanism #1 (ports 0xcf8 and
 * 0xcfc). off is aligned to width (1, 2 or 4) and below 256; the caller
 * checks. A function that is not there reads as all ones. */
uint32_t arch_pci_cfg_read(uint8_t bus, uint8_t devfn, uint16_t off, unsigned width);
void arch_pci_cfg_write(uint8_t bus, uint8_t devfn, uint16_t off, unsigned width, uint32_t v);
void arch_invlpg(uint64_t va);

/* entry.asm / switch */
void arch_switch(uint64_t *save_rsp, uint64_t load_rsp);
void arch_first_entry(void); /* a new process's first "return" to user */
void arch_fpu_save(void *area);
void arch_fpu_restore(const void *area);
void arch_fpu_init_area(void *area);

/* control registers and misc */
uint64_t arch_read_cr2(void);

/* User memory through the MMU (usercopy.asm), for the current address space
 * only, on a range the caller has checked lies in the user half. A page
 * fault (or #GP) there returns -VE_FAULT instead of panicking
 * (arch_user_fixup). */
extern uint8_t arch_smap_on;
long arch_user_copy(void *dst, const void *src, uint64_t n);
long arch_user_touch(uint64_t uaddr, int write); /* one byte; write: rewritten as is */
long arch_user_strcpy(char *dst, const char *usrc, uint64_t max); /* length, -1: no NUL */
struct trap_frame;
bool arch_user_fixup(struct trap_frame *f); /* a kernel fault in those: resume at -VE_FAULT */
/* Make the user code that f returns to trap (#DB) after every instruction,
 * or stop that (RFLAGS.TF; trap.c). */
void arch_user_single_step(struct trap_frame *f, bool on);
uint64_t arch_read_cr3(void);
void arch_irq_enable_and_wait(void); /* sti; hlt; cli */
void arch_irq_disable(void);
/* Print the frame-pointer chain from rbp to COM1 (range-checked). */
void arch_stack_trace(uint64_t rbp, uint64_t rip);

#endif
