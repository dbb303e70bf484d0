/*
 * The scheduler. The next process is always the head of the highest-priority
 * non-empty run queue. A process that blocks switches straight to it
 * (sched_block), or, when its call woke a waiting server (or its answer in
 * reply_recv a waiting caller), straight to that one (sched_handoff), so the
 * switch from client to server and back costs no detour. Everything else
 * goes through
 * the scheduler loop, which runs on the boot stack: a process that yields,
 * is preempted (sched_tick) or dies switches back to it, and the loop saves
 * its FPU state or reaps it, starts an injected stall, picks the next, and
 * with nothing to run halts until the next interrupt.
 */
#include "sched.h"

#include "arch.h"
#include "ipc.h"
#include "klog.h"

struct runq {
	struct proc *head, *tail;
};

static struct runq runq[VE_NPRIO];
struct proc *sched_current;    /* the process on the CPU, NULL in the loop */
static uint64_t scheduler_ksp; /* the loop's saved rsp while a process runs */

void sched_add(struct proc *p)
{
	struct runq *q = &runq[p->prio];
	p->next = NULL;
	if (q->tail)
		q->tail->next = p;
	else
		q->head = p;
	q->tail = p;
}

void sched_remove(struct proc *p)
{
	struct runq *q = &runq[p->prio];
	struct proc **pp = &q->head, *prev = NULL;
	for (; *pp; prev = *pp, pp = &(*pp)->next) {
		if (*pp != p)
			continue;
		*pp = p->next;
		if (q->tail == p)
			q->tail = prev;
		p->next = NULL;
		return;
	}
}

/* The head of the highest-priority non-empty queue, left there. */
static struct proc *peek(void)
{
	for (int i = 0; i < VE_NPRIO; i++)
		if (runq[i].head)
			return runq[i].head;
	return NULL;
}

/* Take p, the head of its queue, off it. */
static void dequeue_head(struct proc *p)
{
	struct runq *q = &runq[p->prio];
	q->head = p->next;
	if (!q->head)
		q->tail = NULL;
	p->next = NULL;
}

static struct proc *pick(void)
{
	struct proc *p = peek();
	if (p)
		dequeue_head(p);
	return p;
}

/* Back to the scheduler loop; returns when this process is picked again. */
static void switch_to_scheduler(void)
{
	struct proc *p = sched_current;
	arch_switch(&p->ksp, scheduler_ksp);
}

/* Make p the process on the CPU, for quantum ticks: its state, stack,
 * ports, space and FPU. */
static void load(struct proc *p, unsigned quantum)
{
	sched_current = p;
	proc_run(p);
	p->quantum = quantum;
	arch_set_kernel_stack((uint64_t)(uintptr_t)phys_to_virt(p->kstack) +
			      KSTACK_PAGES * PAGE_SIZE);
	arch_load_iomap(p->iomap);
	arch_switch_pml4(p->pml4);
	arch_fpu_restore(p->fpu);
}

/* From the blocked current process p straight to next, off every queue. */
static void switch_direct(struct proc *p, struct proc *next, unsigned quantum)
{
	arch_fpu_save(p->fpu);
	load(next, quantum);
	arch_switch(&p->ksp, next->ksp);
}

/* The current process has blocked (a dying one has not: the loop must
 * reap it off its stack). Switch straight to the next, unless there is none
 * or it has an injected stall to serve: those take the loop. */
void sched_block(void)
{
	struct proc *p = sched_current, *next = peek();
	if (!next || next->stall_until || !proc_blocked(p)) {
		switch_to_scheduler();
		return;
	}
	dequeue_head(next);
	switch_direct(p, next, SCHED_QUANTUM_TICKS);
}

/* The current process has blocked (proc_block_to), and its call woke to, a
 * POLLING server, or its answer to, a CALLING caller (ipc.c's reply_recv,
 * which leaves it blocked for this): switch straight to it, without the
 * run queues, when it
 * may run now (nothing of a higher class is runnable, and it has no
 * injected stall to serve). It runs on the rest of the caller's quantum, so
 * a pair that calls back and forth cannot keep the CPU from a runnable
 * process of its class past one quantum. Else it is woken onto its queue,
 * and this is sched_block. */
void sched_handoff(struct proc *to)
{
	struct proc *head = peek();
	if (to->stall_until || (head && head->prio < to->prio)) {
		proc_wake(to);
		sched_block();
		return;
	}
	switch_direct(sched_current, to, sched_current->quantum);
}

void sched_yield(void)
{
	proc_yield(sched_current);
	switch_to_scheduler();
}

static void wake_sleepers(uint64_t now);

static bool higher_waiting(const struct proc *p)
{
	struct proc *next = peek();
	return next && next->prio < p->prio;
}

void sched_tick(bool from_user)
{
	wake_sleepers(arch_now_ns());
	struct proc *p = sched_current;
	if (!p || !from_user)
		return;
	if (p->quantum > 0)
		p->quantum--;
	if (p->quantum == 0 || higher_waiting(p))
		sched_yield();
}

void sched_preempt_check(bool from_user)
{
	if (sched_current && from_user && higher_waiting(sched_current))
		sched_yield();
}

/* Sleepers are found by scanning the table: NPROC is small, and a sorted
 * timer list can come when something needs it. */
static void wake_sleepers(uint64_t now)
{
	for (int slot = 0; slot < NPROC; slot++) {
		struct proc *p = proc_by_slot(slot);
		if (p && p->wake_ns <= now && proc_blocked(p))
			ipc_timeout(p); /* WAITING has no deadline */
	}
}

static void run(struct proc *p)
{
	uint64_t stall = p->stall_until;
	p->stall_until = 0; /* once, served or expired: later switches may be direct */
	if (stall > arch_now_ns()) {
		/* An injected stall: sleep it off first, then go on. */
		proc_stall(p, stall);
		return;
	}
	load(p, SCHED_QUANTUM_TICKS);
	arch_switch(&scheduler_ksp, p->ksp);
	/* Back from whichever process switched to the loop: p, or one that
	 * p's blocking switched to (sched_block), or one after that. */
	struct proc *q = sched_current;
	sched_current = NULL;
	if (q->state == PROC_ZOMBIE || q->state == PROC_DEAD) {
		arch_switch_pml4(arch_kernel_pml4());
		proc_reap(q);
	} else {
		arch_fpu_save(q->fpu);
	}
}

_Noreturn void sched_run(void)
{
	for (;;) {
		struct proc *p = pick();
		if (p)
			run(p);
		else
			arch_irq_enable_and_wait();
	}
}
