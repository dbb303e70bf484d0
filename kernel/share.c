/*
 * Memory shares. Everything the kernel holds on a process's behalf is
 * charged to its p->mem_held, in bytes: the frames of its address space
 * (its image, stack and vm_alloc pages, and every page table they take),
 * its stash while it has it mapped (stash.c; the frames stay with the
 * stash when it dies), and the heap that the messages it sent take while
 * they exist (ipc.c). One counter for all, so a process cannot dodge its
 * share by holding memory as queued messages or a stash instead of pages.
 * A process that leaks or floods is refused at its share, long before the
 * others (and a restart of the root supervisor) run out. What a dead one
 * leaves charged goes to its name (orphans, share.h). The kernel stack
 * and process slot are not charged: NPROC bounds them.
 */
#include "share.h"

#include "arch.h"
#include "klog.h"
#include "lib/string.h"
#include "mem.h"

/* Names whose dead processes left memory charged (share.h). A slot is free
 * when held is 0 (no message names it then). NPROC names: more at once
 * takes many short-lived names, which only a spawn grant can make. */
#define SHARE_ORPHANS NPROC
static struct orphans {
	char name[VE_NAME_MAX];
	uint64_t held;
} orphans[SHARE_ORPHANS];
static unsigned orphans_live; /* slots with held > 0: none, no search */

/* The one writer of a slot's held, which keeps orphans_live with it. */
static void orphans_set(int i, uint64_t held)
{
	orphans_live += (held != 0) - (orphans[i].held != 0);
	orphans[i].held = held;
}

/* The slot of name, or -1. Out of line: share_fits, on every message's
 * charge, then inlines its common case (no orphans) whole. */
static __attribute__((noinline)) int orphans_find(const char *name)
{
	for (int i = 0; i < SHARE_ORPHANS; i++)
		if (orphans[i].held && strcmp(orphans[i].name, name) == 0)
			return i;
	return -1;
}

static uint64_t orphans_of(const char *name)
{
	if (!orphans_live)
		return 0; /* every charge asks: the common answer without a search */
	int i = orphans_find(name);
	return i < 0 ? 0 : orphans[i].held;
}

/* Physical memory does not change after boot: computed once. */
static uint64_t limit_bytes(void)
{
	static uint64_t limit;
	if (!limit) {
		struct ve_meminfo mi;
		mem_info(&mi);
		limit = mi.total_frames / SHARE_DIVISOR * PAGE_SIZE;
	}
	return limit;
}

bool share_fits(const struct proc *p, uint64_t bytes)
{
	uint64_t limit = limit_bytes(), held = p->mem_held + orphans_of(p->name);
	return held <= limit && bytes <= limit - held;
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

uint64_t share_disown(struct proc *p, uint64_t bytes)
{
	int i = orphans_find(p->name);
	for (int k = 0; k < SHARE_ORPHANS && i < 0; k++)
		if (!orphans[k].held)
			i = k;
	share_refund(p, bytes);
	if (i < 0) {
		klog("no room to charge %s's orphaned messages to its name: %llu bytes are "
		     "nobody's",
		     p->name, (unsigned long long)bytes);
		return 0;
	}
	if (!orphans[i].held)
		strlcpy(orphans[i].name, p->name, sizeof(orphans[i].name));
	orphans_set(i, orphans[i].held + bytes);
	return SHARE_ORPHAN_BASE + (uint64_t)i;
}

void share_refund_orphan(uint64_t owner, uint64_t bytes)
{
	uint64_t i = owner - SHARE_ORPHAN_BASE;
	if (owner < SHARE_ORPHAN_BASE || i >= SHARE_ORPHANS || bytes > orphans[i].held)
		panic("orphan owner %#llx refunded %llu bytes", (unsigned long long)owner,
		      (unsigned long long)bytes);
	orphans_set((int)i, orphans[i].held - bytes); /* at 0 the slot is free */
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
