/*
 * Trap dispatch: the scheduler tick, spurious interrupts, and CPU
 * exceptions. An exception in ring 0 is a kernel bug: panic with every
 * register and a frame-pointer stack trace. An exception in ring 3 is the
 * process's fault: it is classified into a death reason and only that
 * process dies.
 */
#include "arch.h"
#include "x86.h"

#include "inject.h"
#include "ipc.h"
#include "klog.h"
#include "proc.h"
#include "sched.h"
#include "stash.h"
#include "vm.h"
#include <vesta/abi.h>

#define TIMER_VECTOR 0x30
#define SPURIOUS_VECTOR 0xff

static const char *const exc_names[32] = {
	"#DE divide error",
	"#DB debug",
	"NMI",
	"#BP breakpoint",
	"#OF overflow",
	"#BR bound",
	"#UD invalid opcode",
	"#NM no FPU",
	"#DF double fault",
	"coprocessor overrun",
	"#TS invalid TSS",
	"#NP segment not present",
	"#SS stack fault",
	"#GP general protection",
	"#PF page fault",
	"reserved",
	"#MF x87 error",
	"#AC alignment",
	"#MC machine check",
	"#XM SIMD error",
	"#VE virtualization",
	"#CP control protection",
};

static bool in_kernel_stack_range(uint64_t a)
{
	return a >= DIRECT_MAP && (a & 7) == 0 && a < 0xffffffffffff0000ull;
}

/* Print the frame-pointer chain. Every rbp is range-checked first, and a
 * fault while printing is caught by the nested-panic guard in klog.c. */
void arch_stack_trace(uint64_t rbp, uint64_t rip)
{
	kprintf("stack trace:\n  %016llx\n", (unsigned long long)rip);
	for (int depth = 0; depth < 24 && in_kernel_stack_range(rbp); depth++) {
		const uint64_t *frame = (const uint64_t *)(uintptr_t)rbp;
		uint64_t ret = frame[1];
		if (ret < KERNEL_VMA)
			break;
		kprintf("  %016llx\n", (unsigned long long)ret);
		if (frame[0] <= rbp)
			break; /* frames grow upward; anything else is garbage */
		rbp = frame[0];
	}
}

static _Noreturn void panic_trap(struct trap_frame *f)
{
	const char *name = f->vector < 32 && exc_names[f->vector] ? exc_names[f->vector] : "?";
	panic_begin();
	kprintf("\nKERNEL PANIC: exception %llu (%s) in kernel mode, error code %#llx\n",
		(unsigned long long)f->vector, name, (unsigned long long)f->err);
	kprintf("rip %016llx  cs %04llx  rflags %016llx\n", (unsigned long long)f->rip,
		(unsigned long long)f->cs, (unsigned long long)f->rflags);
	kprintf("rsp %016llx  ss %04llx  cr2 %016llx  cr3 %016llx\n", (unsigned long long)f->rsp,
		(unsigned long long)f->ss, (unsigned long long)arch_read_cr2(),
		(unsigned long long)arch_read_cr3());
	kprintf("rax %016llx rbx %016llx rcx %016llx rdx %016llx\n", (unsigned long long)f->rax,
		(unsigned long long)f->rbx, (unsigned long long)f->rcx, (unsigned long long)f->rdx);
	kprintf("rsi %016llx rdi %016llx rbp %016llx r8  %016llx\n", (unsigned long long)f->rsi,
		(unsigned long long)f->rdi, (unsigned long long)f->rbp, (unsigned long long)f->r8);
	kprintf("r9  %016llx r10 %016llx r11 %016llx r12 %016llx\n", (unsigned long long)f->r9,
		(unsigned long long)f->r10, (unsigned long long)f->r11, (unsigned long long)f->r12);
	kprintf("r13 %016llx r14 %016llx r15 %016llx\n", (unsigned long long)f->r13,
		(unsigned long long)f->r14, (unsigned long long)f->r15);
	arch_stack_trace(f->rbp, f->rip);
	panic_end("exception", f->vector, f->rip, arch_read_cr2());
}

/* Skip legacy and REX prefixes; return the opcode bytes at the fault. */
static bool is_privileged_insn(const uint8_t *b, size_t n)
{
	size_t i = 0;
	while (i < n && (b[i] == 0x66 || b[i] == 0x67 || b[i] == 0xf0 || b[i] == 0xf2 ||
			 b[i] == 0xf3 || b[i] == 0x2e || b[i] == 0x36 || b[i] == 0x3e ||
			 b[i] == 0x26 || b[i] == 0x64 || b[i] == 0x65 || (b[i] & 0xf0) == 0x40))
		i++;
	if (i >= n)
		return false;
	switch (b[i]) {
	case 0xf4: /* hlt */
	case 0xfa: /* cli */
	case 0xfb: /* sti */
		return true;
	case 0x0f:
		if (i + 1 >= n)
			return false;
		switch (b[i + 1]) {
		case 0x00: /* lldt, ltr, ... */
		case 0x01: /* lgdt, lidt, lmsw, invlpg, ... */
		case 0x06: /* clts */
		case 0x08: /* invd */
		case 0x09: /* wbinvd */
		case 0x20:
		case 0x21:
		case 0x22:
		case 0x23: /* mov cr/dr */
		case 0x30: /* wrmsr */
		case 0x32: /* rdmsr */
		case 0x07: /* sysret */
		case 0x35: /* sysexit */
			return true;
		}
	}
	return false;
}

static _Noreturn void user_fault(struct trap_frame *f)
{
	struct proc *p = proc_current();
	uint64_t addr = 0;
	enum ve_reason why;

	switch (f->vector) {
	case 0:
		why = VE_R_DE;
		break;
	case 6:
		why = VE_R_UD;
		break;
	case 13: {
		uint8_t insn[15];
		size_t got = vm_peek_user(p, f->rip, insn, sizeof(insn));
		why = is_privileged_insn(insn, got) ? VE_R_PRIV : VE_R_GP;
		break;
	}
	case 14:
		addr = arch_read_cr2();
		why = VE_R_PAGE_FAULT;
		break;
	default:
		why = VE_R_FAULT;
		break;
	}
	proc_fault(p, why, (uint32_t)f->vector, f->rip, addr);
}

/* A syscall from 32-bit code (entry.asm, through MSR_CSTAR): the process
 * left 64-bit mode, which nothing in Vesta lets it do. It dies as a #GP
 * at the instruction after its syscall. */
_Noreturn void syscall_compat_dispatch(struct trap_frame *f);
_Noreturn void syscall_compat_dispatch(struct trap_frame *f)
{
	proc_fault(proc_current(), VE_R_GP, 13, f->rip, 0);
}

/* usercopy.asm's (faulting rip, resume rip) pairs. */
extern const uint64_t user_fixups[], user_fixups_end[];

bool arch_user_fixup(struct trap_frame *f)
{
	/* Only a page fault on a user address: a fault on the kernel side of
	 * a copy is a kernel bug, and must panic like any other. */
	if (f->vector == 14 && arch_read_cr2() >= VE_USER_HI)
		return false;
	for (const uint64_t *e = user_fixups; e < user_fixups_end; e += 2)
		if (f->rip == e[0]) {
			f->rip = e[1];
			return true;
		}
	return false;
}

void arch_user_single_step(struct trap_frame *f, bool on)
{
	if (on)
		f->rflags |= RFLAGS_TF;
	else
		f->rflags &= ~RFLAGS_TF;
}

#define DR6_BS (1ull << 14)	/* single step */
#define DR6_CLEAR 0xffff0ff0ull /* DR6's value with no condition recorded */

/* A #DB: the CPU records its cause in DR6 and never clears it. Whether it
 * was a single step, and DR6 made ready for the next one. */
static bool single_stepped(void)
{
	uint64_t dr6;
	__asm__ volatile("mov %%dr6, %0" : "=r"(dr6));
	__asm__ volatile("mov %0, %%dr6" : : "r"(DR6_CLEAR));
	return dr6 & DR6_BS;
}

/* A #DB from ring 3: one instruction of an injected step fault (inject.c),
 * or the process's own doing (it set TF itself, or int1), which kills it
 * as any other exception. */
static void user_debug(struct trap_frame *f)
{
	if (single_stepped() && inject_step_trap(proc_current(), f->rip))
		return;
	user_fault(f);
}

void trap_dispatch(struct trap_frame *f)
{
	if (f->vector == TIMER_VECTOR) {
		arch_timer_eoi();
		sched_tick((f->cs & 3) == 3);
		return;
	}
	if (f->vector == SPURIOUS_VECTOR)
		return; /* LAPIC spurious: no EOI */
	if (f->vector >= 0x20 && f->vector < 0x30) {
		unsigned irq = (unsigned)f->vector - 0x20;
		if (arch_irq_begin(irq)) {
			ipc_irq(irq);
			sched_preempt_check((f->cs & 3) == 3);
		}
		return;
	}
	if (f->vector == 2) {
		klog("NMI received, ignored");
		return;
	}
	if (f->vector < 32) {
		/* A first write to a page of a windowed stash since its last
		 * commit, by the process or by a kernel copy into it: saved,
		 * now writable, retried. */
		if (f->vector == 14 && (f->err & 3) == 3 && proc_current() &&
		    stash_write_fault(proc_current(), arch_read_cr2()))
			return;
		if ((f->cs & 3) == 0 && (f->vector == 14 || f->vector == 13) && arch_user_fixup(f))
			return; /* a bad user address in usercopy.asm: -VE_FAULT */
		if ((f->cs & 3) == 0 || f->vector == 8 || f->vector == 18)
			panic_trap(f);
		if (f->vector == 1) {
			user_debug(f);
			return;
		}
		user_fault(f);
	}
	klog("unexpected interrupt vector %llu, ignored", (unsigned long long)f->vector);
}
