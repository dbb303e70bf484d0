/*
 * Processes: one ring-3 thread in its own address space, created from a
 * static ELF64 image. A process dies with a reason; the kernel then frees
 * everything it owned and reports the death (event log, and wait() for its
 * parent).
 */
#ifndef VESTA_PROC_H
#define VESTA_PROC_H

#include <stdbool.h>
#include <stdint.h>

#include "bundle.h"
#include "lifecycle.h"
#include <vesta/abi.h>

#define NPROC 64		 /* process slots; pids carry a generation */
#define KSTACK_PAGES 4		 /* 16 KiB kernel stack per process */
#define USTACK_SIZE (64u * 1024) /* user stack, all mapped at creation */
#define USTACK_TOP 0x00007ff000000000ull
#define USTACK_GUARD (1u << 20) /* unmapped, never allocatable: overflow */

struct chan;
struct stash;

/* The channel names a process may serve and open, and the limits of the
 * channels its serving creates. Copied into the process at creation. */
struct proc_chans {
	char serve[VE_SPAWN_CHANS][32]; /* "" = unused */
	char open[VE_SPAWN_CHANS][32];
	uint32_t queue, qbytes, redeliveries; /* 0 = the kernel's default */
};

/* A channel handle: a process's right to use one channel in one role. */
struct handle {
	struct chan *ch; /* NULL: free slot */
	bool server;	 /* served (recv/reply/ack) or opened (call/cast) */
};

/* A PCI function a process was granted: its k-th device (pci.c). */
struct proc_dev {
	int16_t fn;		      /* index among pci_fn(); -1: unused slot */
	uint64_t bar_va[VE_PCI_BARS]; /* where dev_map mapped each BAR; 0: not yet */
};

struct proc {
	uint8_t fpu[512] __attribute__((aligned(16))); /* user FPU/SSE state */
	int pid;				       /* generation * NPROC + slot, always > 0 */
	unsigned nzombies; /* children dead and not yet reaped (proc.c) */
	int slot;	   /* index in the process table */
	char name[VE_NAME_MAX];
	enum proc_state state;
	enum ve_prio prio;
	uint16_t grants;		      /* VE_GRANT_* */
	uint64_t pml4;			      /* physical; user half owned, kernel half shared */
	uint64_t kstack;		      /* physical base of KSTACK_PAGES frames */
	uint64_t ksp;			      /* saved kernel rsp while not running */
	uint8_t *iomap;			      /* IOMAP_BYTES of port grants, or NULL for none */
	struct proc *parent;		      /* NULL for boot processes */
	struct proc *next;		      /* run-queue link (sched.c) */
	unsigned quantum;		      /* ticks left before preemption (sched.c) */
	uint64_t wake_ns;		      /* blocked: its deadline (UINT64_MAX: none) */
	int wait_pid;			      /* WAITING: the child waited for */
	struct ve_exit wait_result;	      /* WAITING: filled in by the dying child */
	struct ve_exit exit;		      /* ZOMBIE/DEAD: how it died */
	struct proc_chans chans;	      /* channels it may serve and open, and their limits */
	const struct bundle_proc *boot_entry; /* the boot-table entry it was started from */
	bool stash_mapped;		      /* its stash is mapped at VE_STASH_BASE */
	struct stash *stash_win;	      /* that stash, if it has recovery windows */
	struct handle handles[VE_HANDLES_MAX];
	uint16_t irqs;			     /* granted IRQ lines (bit n = IRQ n) */
	uint16_t irq_pending;		     /* fired, not yet reported by wait_any */
	uint64_t stall_until;		     /* injected stall: not run before this (sched.c) */
	uint64_t step_n;		     /* injected step: its n (0: not armed; inject.c) */
	uint64_t step_left;		     /* ... user instructions left since the last commit */
	bool timed_out;			     /* a blocking call's deadline passed (sched.c) */
	struct chan *blocked_on;	     /* CALLING/SENDING: the channel */
	uint64_t call_id;		     /* CALLING: the request's message id */
	uint64_t call_cap;		     /* CALLING: its capacity */
	int64_t call_result;		     /* CALLING: reply length or -VE_*, set by the waker */
	uint64_t vm_next;		     /* where vm_alloc looks next */
	uint64_t mem_held;		     /* bytes the kernel holds on its behalf (share.c) */
	uint64_t stack_lo;		     /* user stack [stack_lo, USTACK_TOP) */
	struct proc_dev devs[VE_SPAWN_DEVS]; /* PCI functions granted */
};

struct proc_spec {
	const char *name;
	const void *image;
	uint64_t image_len;
	const char *args;
	enum ve_prio prio;
	const struct bundle_ports *ports;
	unsigned nports;
	uint16_t grants;
	uint16_t irqs;
	const struct proc_chans *chans;	      /* NULL: none */
	const struct bundle_proc *boot_entry; /* started from this boot-table entry */
	const struct ve_devsel *devs;	      /* VE_SPAWN_DEVS grants, or NULL: none */
};

/* Create a process and make it runnable. Errors: -VE_NOMEM (no slot,
 * frames or heap), -VE_INVAL (bad ELF image; *why says which check),
 * -VE_RANGE (name or args too long), -VE_NOENT (no PCI function matches a
 * device grant), -VE_BUSY (a live process holds one). Nothing is left
 * behind on failure. */
int proc_create(const struct proc_spec *spec, struct proc *parent, int *pid_out, const char **why);

/* A boot-table entry as a process spec (bundle_open checked its image). */
void proc_spec_from_bundle(const struct bundle *b, const struct bundle_proc *bp,
			   struct proc_spec *spec, struct proc_chans *pc);
/* A boot-table entry's channel grants, as a process holds them. */
void proc_chans_from_bundle(const struct bundle_proc *bp, struct proc_chans *pc);

/* The boot bundle, for restarting the root supervisor (set by kmain). */
extern const struct bundle *proc_boot_bundle;

struct proc *proc_by_pid(int pid);
/* p's saved user registers: the trap frame at the top of its kernel stack,
 * which its entry from ring 3 pushed and its return to ring 3 pops. */
struct trap_frame *proc_user_frame(struct proc *p);
struct proc *proc_by_slot(int slot); /* NULL if free */

/* Kill p (any state but dead) with reason why (killed or hung). If p is
 * the current process this does not return. */
void proc_kill(struct proc *p, enum ve_reason why);
/* p ends as if it had called exit(code) (fault injection). */
void proc_force_exit(struct proc *p, int64_t code);

/* The current process ends. Neither returns. */
_Noreturn void proc_exit(struct proc *p, int64_t code);
_Noreturn void proc_fault(struct proc *p, enum ve_reason why, uint32_t vector, uint64_t rip,
			  uint64_t addr);

/* Block until child `pid` dies; its ve_exit goes to uexit (if nonzero).
 * Errors: -VE_CHILD (not a child of p), -VE_FAULT (uexit not writable). */
int proc_wait(struct proc *p, int pid, uint64_t uexit);

const char *proc_reason_name(enum ve_reason r);

/* reap(): a dead child's ve_exit without blocking. Returns its pid;
 * -VE_AGAIN (children, none dead), -VE_CHILD (no children), -VE_FAULT. */
int proc_reap_any(struct proc *p, uint64_t uexit);
bool proc_has_dead_child(const struct proc *p);
/* ps(): up to n struct ve_procinfo at ubuf. Returns how many. */
int proc_list(struct proc *p, uint64_t ubuf, uint64_t n);

/* The lifecycle's transitions (the edges are listed above). */
/* The current process p blocks in `state` (SLEEPING, WAITING, CALLING,
 * SENDING or POLLING) until woken; a deadline at wake_ns (UINT64_MAX:
 * none; WAITING has none) wakes it with p->timed_out set (sched.c). */
void proc_block(struct proc *p, enum proc_state state, uint64_t wake_ns);
/* proc_block, waking `to` (a POLLING server or an answered CALLING
 * caller, or NULL for none) and switching
 * straight to it when it may run now (sched_handoff). */
void proc_block_to(struct proc *p, enum proc_state state, uint64_t wake_ns, struct proc *to);
/* In a blocking call: SLEEPING, WAITING, CALLING, SENDING or POLLING. */
bool proc_blocked(const struct proc *p);
/* Make a blocked process runnable; no effect in any other state. */
void proc_wake(struct proc *p);
void proc_run(struct proc *p);	 /* the scheduler puts p on the CPU */
void proc_yield(struct proc *p); /* the running p goes back to its run queue */
/* A runnable p, just picked, sleeps until `until` instead (injected stall). */
void proc_stall(struct proc *p, uint64_t until);
/* How many processes are SENDING (blocked for room in a full queue). */
unsigned proc_senders_blocked(void);

/* sched.c frees a dead process's last resources once off its stack. */
void proc_reap(struct proc *p);

#endif
