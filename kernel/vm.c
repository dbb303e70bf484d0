/*
 * User address spaces and user memory access. A bad user pointer is an
 * error code, never a kernel fault. The kernel reads and writes only the
 * user memory of the process whose system call it runs, whose space is the
 * one loaded (a reply waits in the kernel until its caller copies it out):
 * with ordinary loads and stores, the MMU checking them, and usercopy.asm
 * turning a fault into -VE_FAULT. Only the loader (vm_load) and the fault
 * report (vm_peek_user) walk a space's page tables through the direct map.
 */
#include "vm.h"

#include "arch.h"
#include "klog.h"
#include "lib/string.h"
#include "mem.h"
#include "proc.h"
#include "sched.h"
#include "share.h"

#define PAGE_MASK (PAGE_SIZE - 1)
/* The stash window and, right above it, the fault-injection page. */
#define WINDOW_END (VE_STASH_BASE + VE_STASH_MAX + PAGE_SIZE)

static bool range_ok(uint64_t a, uint64_t len)
{
	return len <= VE_USER_HI && a >= VE_USER_LO && a <= VE_USER_HI - len;
}

int vm_create(struct proc *p)
{
	uint64_t mark = share_mark();
	p->vm_next = VM_ALLOC_BASE;
	int err = arch_new_space(&p->pml4);
	share_settle(p, mark);
	return err;
}

/* Free the address space; p's share gets every frame of it back (what
 * p->mem_held keeps after this is its messages). */
void vm_destroy(struct proc *p)
{
	if (!p->pml4)
		return;
	uint64_t mark = share_mark();
	arch_free_space(p->pml4, mem_frame_free);
	p->pml4 = 0;
	share_settle(p, mark);
}

static uint64_t *user_pte(struct proc *p, uint64_t va)
{
	uint64_t *pte = arch_pte(p->pml4, va, false);
	return pte && (*pte & PTE_P) ? pte : NULL;
}

/* Unmap what is mapped in [va, end) and the tables that leaves empty;
 * the caller settles p's share. */
static void unmap_range(struct proc *p, uint64_t va, uint64_t end)
{
	for (; va < end; va += PAGE_SIZE) {
		uint64_t frame = arch_unmap_user(p->pml4, va, mem_frame_free);
		if (frame)
			mem_frame_free(frame);
	}
}

/* Map zeroed frames at [va, va+len) (page-aligned, all unmapped, in the user
 * range), charged to p with the tables they take. All or nothing: on
 * -VE_NOMEM nothing stays mapped (an empty table may, charged to p). */
int vm_map_new(struct proc *p, uint64_t va, uint64_t len, uint32_t prot)
{
	uint64_t flags = arch_pte_flags(prot, true), mark = share_mark();
	for (uint64_t off = 0; off < len; off += PAGE_SIZE) {
		uint64_t frame, *pte = arch_pte(p->pml4, va + off, true);
		if (!pte || mem_frame_alloc_zero(&frame)) {
			unmap_range(p, va, va + off);
			share_settle(p, mark);
			return -VE_NOMEM;
		}
		*pte = frame | flags;
	}
	share_settle(p, mark);
	return 0;
}

int vm_map_borrowed(struct proc *p, uint64_t va, uint64_t frame, uint32_t prot)
{
	uint64_t mark = share_mark();
	uint64_t *pte = arch_pte(p->pml4, va, true);
	share_settle(p, mark);
	if (!pte)
		return -VE_NOMEM;
	if ((*pte & PTE_P) && (*pte & PTE_ADDR) != frame)
		return -VE_BUSY; /* a page of its own is there: never cover it */
	*pte = frame | arch_pte_flags(prot, true) | PTE_STASH;
	return 0;
}

/* 0 if [va, va+len) is all unmapped, else the first mapped page in it. */
static uint64_t first_mapped(struct proc *p, uint64_t va, uint64_t len)
{
	for (uint64_t off = 0; off < len; off += PAGE_SIZE)
		if (user_pte(p, va + off))
			return va + off;
	return 0;
}

/* The stack with its guard, and the stash window: never for vm_alloc. */
static bool hits_stack(const struct proc *p, uint64_t va, uint64_t len)
{
	uint64_t lo = p->stack_lo - USTACK_GUARD;
	return (va < USTACK_TOP && lo < va + len) || (va < WINDOW_END && VE_STASH_BASE < va + len);
}

/* The lowest free range of len bytes at or above from, or 0. */
static uint64_t find_free(struct proc *p, uint64_t from, uint64_t len)
{
	uint64_t addr = from, taken;
	while (range_ok(addr, len)) {
		if (hits_stack(p, addr, len))
			addr = addr + len > VE_STASH_BASE && addr < WINDOW_END ? WINDOW_END
									       : USTACK_TOP;
		else if ((taken = first_mapped(p, addr, len)))
			addr = taken + PAGE_SIZE;
		else
			return addr;
	}
	return 0;
}

/* Mark [va, va+len), just mapped, as vm_alloc memory: what vm_free may
 * unmap (never the image, the stack, the stash or the injection page). */
static void mark_alloc(struct proc *p, uint64_t va, uint64_t len)
{
	for (uint64_t off = 0; off < len; off += PAGE_SIZE)
		*user_pte(p, va + off) |= PTE_ALLOC;
}

/* Whether vm_free may unmap [va, va+len): 0 if every page is vm_alloc
 * memory; else -VE_INVAL if a page is not mapped, or -VE_PERM if one is
 * mapped but not by vm_alloc. */
static int freeable(struct proc *p, uint64_t va, uint64_t len)
{
	int err = 0;
	for (uint64_t off = 0; off < len; off += PAGE_SIZE) {
		uint64_t *pte = user_pte(p, va + off);
		if (!pte)
			return -VE_INVAL;
		if (!(*pte & PTE_ALLOC))
			err = -VE_PERM;
	}
	return err;
}

/* vm_alloc(addr, len, prot): zeroed anonymous memory, len rounded up to
 * pages, charged to p's share (share.c) with the page tables it takes.
 * addr 0 lets the kernel choose. Errors (as svc/lib/vesta.h lists them):
 * -VE_INVAL (len 0, unaligned or taken addr, unknown prot bits, no read
 * permission, or outside the user range), -VE_NOMEM (not that much free,
 * no free range that large, or past the process's share). */
int vm_alloc(struct proc *p, uint64_t addr, uint64_t len, uint32_t prot, uint64_t *out)
{
	if (len == 0 || (prot & ~(VE_PROT_READ | VE_PROT_WRITE | VE_PROT_EXEC)) ||
	    !(prot & VE_PROT_READ) || (addr & PAGE_MASK))
		return -VE_INVAL;
	if (len > VE_USER_HI)
		return -VE_INVAL;
	len = (len + PAGE_MASK) & ~PAGE_MASK;
	/* More than there is free: refuse before walking or taking anything. */
	struct ve_meminfo mi;
	mem_info(&mi);
	if (len / PAGE_SIZE > mi.free_frames || !share_fits(p, len))
		return -VE_NOMEM;
	if (addr) {
		if (!range_ok(addr, len))
			return -VE_INVAL;
		if (hits_stack(p, addr, len) || first_mapped(p, addr, len))
			return -VE_INVAL;
	} else {
		/* From the hint up, then once more from the bottom. */
		addr = find_free(p, p->vm_next, len);
		if (!addr && p->vm_next != VM_ALLOC_BASE)
			addr = find_free(p, VM_ALLOC_BASE, len);
		if (!addr)
			return -VE_NOMEM;
	}
	int err = vm_map_new(p, addr, len, prot);
	if (err)
		return err;
	mark_alloc(p, addr, len);
	if (addr + len > p->vm_next && addr >= p->vm_next)
		p->vm_next = addr + len;
	*out = addr;
	return 0;
}

/* Map [phys, phys+len) at a free range of p's with PTE flags; the frames
 * are not p's (PTE_STASH: the space does not free them) unless owned. All
 * or nothing. */
static int map_frames(struct proc *p, uint64_t phys, uint64_t len, uint64_t flags, bool owned,
		      uint64_t *out)
{
	uint64_t va = find_free(p, VM_DEVICE_BASE, len), mark = share_mark();
	if (!va)
		return -VE_NOMEM;
	for (uint64_t off = 0; off < len; off += PAGE_SIZE) {
		uint64_t *pte = arch_pte(p->pml4, va + off, true);
		if (!pte) {
			for (uint64_t o = 0; o < off; o += PAGE_SIZE)
				arch_unmap_user(p->pml4, va + o, mem_frame_free);
			share_settle(p, mark);
			return -VE_NOMEM;
		}
		*pte = (phys + off) | flags | (owned ? 0 : PTE_STASH);
	}
	share_settle(p, mark);
	*out = va;
	return 0;
}

int vm_map_device(struct proc *p, uint64_t phys, uint64_t len, uint64_t *out)
{
	/* The tables it may take: one per 2 MiB, and the ones above. */
	if (!share_fits(p, (len / (512 * PAGE_SIZE) + 3) * PAGE_SIZE))
		return -VE_NOMEM;
	uint64_t flags = arch_pte_flags(VE_PROT_READ | VE_PROT_WRITE, true) | PTE_PCD | PTE_PWT;
	return map_frames(p, phys, len, flags, false, out);
}

int vm_map_dma(struct proc *p, uint64_t len, uint64_t *va, uint64_t *phys)
{
	len = (len + PAGE_MASK) & ~PAGE_MASK;
	if (!share_fits(p, len))
		return -VE_NOMEM;
	uint64_t mark = share_mark();
	if (dma_pages_alloc(len / PAGE_SIZE, phys))
		return -VE_NOMEM; /* more than is free, or no run that long */
	share_settle(p, mark);
	/* Owned by the space: freed frame by frame with it, after the
	 * device was stopped (pci_proc_dying comes first). */
	uint64_t flags = arch_pte_flags(VE_PROT_READ | VE_PROT_WRITE, true) | PTE_DMA;
	int err = map_frames(p, *phys, len, flags, true, va);
	if (err) {
		mark = share_mark();
		mem_frames_free(*phys, len / PAGE_SIZE);
		share_settle(p, mark);
	}
	return err;
}

/* vm_free(addr, len): unmap [addr, addr+len), len rounded up to pages,
 * which must all be memory vm_alloc gave (any part of it: a range may be
 * freed piece by piece). Errors (as svc/lib/vesta.h lists them), with
 * nothing unmapped: -VE_INVAL (len 0, addr unaligned, outside the user
 * range, or a page not mapped), -VE_PERM (a page mapped but not by
 * vm_alloc: the process's image, its stack, its stash, the injection
 * page, a device's registers or DMA memory; unmapping them would free what
 * the kernel keeps, leave the process to fault, or free memory a device
 * may still write). */
int vm_free(struct proc *p, uint64_t addr, uint64_t len)
{
	if (len == 0 || (addr & PAGE_MASK))
		return -VE_INVAL;
	if (len > VE_USER_HI)
		return -VE_INVAL;
	len = (len + PAGE_MASK) & ~PAGE_MASK;
	if (!range_ok(addr, len))
		return -VE_INVAL;
	int err = freeable(p, addr, len);
	if (err)
		return err;
	/* Refunded what it gave back, the tables left empty included: so
	 * mapping and unmapping forever costs nothing. */
	uint64_t mark = share_mark();
	unmap_range(p, addr, addr + len);
	share_settle(p, mark);
	if (addr < p->vm_next && addr >= VM_ALLOC_BASE)
		p->vm_next = addr;
	return 0;
}

/* p's space must be the one loaded: then the MMU checks user accesses
 * (every page of the user half is a user page, so it allows exactly what
 * the process itself may do). Anything else is a kernel bug. */
static void must_be_loaded(const struct proc *p)
{
	if (p != proc_current())
		panic("user memory of %s (pid %d) reached from another space", p->name, p->pid);
}

int vm_check(struct proc *p, uint64_t uaddr, uint64_t len, bool write)
{
	must_be_loaded(p);
	if (len == 0)
		return 0;
	if (!range_ok(uaddr, len))
		return -VE_FAULT;
	uint64_t end = uaddr + len;
	for (uint64_t va = uaddr & ~PAGE_MASK; va < end; va += PAGE_SIZE)
		if (arch_user_touch(va < uaddr ? uaddr : va, write)) /* a byte of each page */
			return -VE_FAULT;
	return 0;
}

/* Copy n bytes between kernel memory and the user range at uaddr. */
static int copy_user(struct proc *p, void *dst, const void *src, uint64_t uaddr, uint64_t n)
{
	must_be_loaded(p);
	if (n && !range_ok(uaddr, n))
		return -VE_FAULT;
	return (int)arch_user_copy(dst, src, n);
}

int vm_copy_in(struct proc *p, void *dst, uint64_t uaddr, uint64_t len)
{
	return copy_user(p, dst, (const void *)(uintptr_t)uaddr, uaddr, len);
}

int vm_copy_out(struct proc *p, uint64_t uaddr, const void *src, uint64_t len)
{
	return copy_user(p, (void *)(uintptr_t)uaddr, src, uaddr, len);
}

/* A NUL-terminated string of at most max bytes including the NUL.
 * -VE_FAULT on an unreadable byte, -VE_RANGE if no NUL within max. */
int vm_copy_str_in(struct proc *p, char *dst, uint64_t uaddr, uint64_t max)
{
	must_be_loaded(p);
	if (!range_ok(uaddr, 1))
		return -VE_FAULT;
	uint64_t room = VE_USER_HI - uaddr; /* bytes left in the user half */
	long n = arch_user_strcpy(dst, (const char *)(uintptr_t)uaddr, max < room ? max : room);
	if (n == -1) /* no NUL: within max, or the user half ended first */
		return max <= room ? -VE_RANGE : -VE_FAULT;
	return n < 0 ? (int)n : 0;
}

/* Best effort: as many bytes as are readable from uaddr, up to max, by a
 * walk of p's tables (the fault report reads the faulting instruction). */
uint64_t vm_peek_user(struct proc *p, uint64_t uaddr, void *dst, uint64_t max)
{
	uint64_t i;
	if (!range_ok(uaddr, 1))
		return 0;
	for (i = 0; i < max && range_ok(uaddr + i, 1); i++) {
		uint64_t *pte = user_pte(p, (uaddr + i) & ~PAGE_MASK);
		if (!pte || !(*pte & PTE_U) || (*pte & PTE_PCD))
			break; /* device registers are never read for a report */
		((uint8_t *)dst)[i] =
		    *((uint8_t *)phys_to_virt(*pte & PTE_ADDR) + ((uaddr + i) & PAGE_MASK));
	}
	return i;
}

/* The loader's write: into mapped user pages regardless of their W bit. */
int vm_load(struct proc *p, uint64_t va, const void *src, uint64_t len)
{
	const uint8_t *s = src;
	while (len) {
		uint64_t chunk = PAGE_SIZE - (va & PAGE_MASK);
		if (chunk > len)
			chunk = len;
		uint64_t *pte = user_pte(p, va & ~PAGE_MASK);
		if (!pte)
			return -VE_FAULT;
		memcpy((uint8_t *)phys_to_virt(*pte & PTE_ADDR) + (va & PAGE_MASK), s, chunk);
		va += chunk;
		s += chunk;
		len -= chunk;
	}
	return 0;
}
