/*
 * Memory shares. Everything the kernel holds on a process's behalf is
 * charged to its p->mem_held, in bytes: the frames of its address space
 * (its image, stack and vm_alloc pages, and every page table they take),
 * its stash while it has it mapped (stash.c; the frames stay with the
 * stash when it dies), and the heap that the messages it sent take while
 * they exist (ipc.c). One counter for all, so a process cannot dodge its
 * share by holding memory as queued messages or a stash instead of pages.
 * A process that leaks or floods is refused at its share, long before the
 * others (and a restart of the root supervisor) run out. The kernel stack
 * and process slot are not charged: NPROC bounds them.
 */
#include "share.h"

#include "arch.h"
#include "klog.h"
#include "mem.h"

static uint64_t limit_bytes(void)
{
	struct ve_meminfo mi;
	mem_info(&mi);
	return mi.total_frames / SHARE_DIVISOR * PAGE_SIZE;
}

bool share_fits(const struct proc *p, uint64_t bytes)
{
	uint64_t limit = limit_bytes();
	return p->mem_held <= limit && bytes <= limit - p->mem_held;
}

int share_charge(struct proc *p, uint64_t bytes)
{
	if (!share_fits(p, bytes))
		return -VE_NOMEM;
	p->mem_held += bytes;
	return 0;
}

void share_refund(struct proc *p, uint64_t bytes)
{
	if (bytes > p->mem_held)
		panic("%s (pid %d) refunded %llu bytes, holds %llu", p->name, p->pid,
		      (unsigned long long)bytes, (unsigned long long)p->mem_held);
	p->mem_held -= bytes;
}

uint64_t share_mark(void)
{
	struct ve_meminfo mi;
	mem_info(&mi);
	return mi.free_frames;
}

void share_settle(struct proc *p, uint64_t mark)
{
	uint64_t now = share_mark();
	if (now < mark)
		p->mem_held += (mark - now) * PAGE_SIZE;
	else
		share_refund(p, (now - mark) * PAGE_SIZE);
}
