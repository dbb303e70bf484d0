/*
 * Stashes: one memory region per service name that outlives the process.
 * stash(size) maps it at VE_STASH_BASE: the frames the previous process of
 * the same name left, or new zeroed ones. The page-table entries carry
 * PTE_STASH, so tearing an address space down leaves the frames alone; only
 * stash_drop() (the supervisor's, for `state discard` or a stash that keeps
 * crashing its service) frees them.
 */
#include "stash.h"

#include "arch.h"
#include "bundle.h"
#include "inject.h"
#include "klog.h"
#include "lib/string.h"
#include "mem.h"
#include "share.h"
#include "vm.h"

struct stash {
	char name[VE_NAME_MAX];
	uint64_t npages;
	uint64_t *frames; /* npages physical frames */
	int owner;	  /* pid that has it mapped, 0 if none */
	struct stash *next;
};

static struct stash *stashes;

static struct stash *find(const char *name)
{
	for (struct stash *s = stashes; s; s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

static void free_stash(struct stash *s)
{
	for (uint64_t i = 0; i < s->npages; i++)
		if (s->frames[i])
			mem_frame_free(s->frames[i]);
	kfree(s->frames);
	kfree(s);
}

static struct stash *create(const char *name, uint64_t npages)
{
	struct stash *s = kmalloc(sizeof(*s));
	uint64_t *frames = kmalloc(npages * sizeof(uint64_t));
	if (!s || !frames) {
		kfree(s);
		kfree(frames);
		return NULL;
	}
	*s = (struct stash){ .npages = npages, .frames = frames };
	memset(frames, 0, npages * sizeof(uint64_t));
	strlcpy(s->name, name, sizeof(s->name));
	for (uint64_t i = 0; i < npages; i++) {
		if (mem_frame_alloc_zero(&frames[i])) {
			frames[i] = 0;
			free_stash(s);
			return NULL;
		}
	}
	s->next = stashes;
	stashes = s;
	return s;
}

/* Map s into p; all or nothing (the tables stay, charged to p, until its
 * space goes). */
static int map(struct proc *p, struct stash *s)
{
	for (uint64_t i = 0; i < s->npages; i++) {
		if (vm_map_borrowed(p, VE_STASH_BASE + i * PAGE_SIZE, s->frames[i],
				    VE_PROT_READ | VE_PROT_WRITE)) {
			while (i-- > 0) {
				uint64_t *q =
				    arch_pte(p->pml4, VE_STASH_BASE + i * PAGE_SIZE, false);
				*q = 0;
				arch_invlpg(VE_STASH_BASE + i * PAGE_SIZE);
			}
			return -VE_NOMEM;
		}
	}
	return 0;
}

long stash_map(struct proc *p, uint64_t size, unsigned flags)
{
	if (flags) /* VE_STASH_WINDOWS: next commit */
		return -VE_INVAL;
	if (size == 0 || size > VE_STASH_MAX)
		return -VE_RANGE;
	uint64_t npages = (size + PAGE_SIZE - 1) / PAGE_SIZE;
	struct stash *s = find(p->name);
	if (s && s->npages != npages)
		return -VE_INVAL; /* a stash keeps the size it was made with */
	if (p->stash_mapped)
		return (long)VE_STASH_BASE;
	if (s && s->owner && proc_by_pid(s->owner))
		return -VE_BUSY; /* another live process of the same name has it */
	/* Mapped, its frames count in p's share (they stay with the stash when
	 * p dies: stash_release refunds them). */
	if (share_charge(p, npages * PAGE_SIZE))
		return -VE_NOMEM;
	bool made = !s;
	if (made && !(s = create(p->name, npages))) {
		share_refund(p, npages * PAGE_SIZE);
		return -VE_NOMEM;
	}
	int err = map(p, s);
	if (err) {
		share_refund(p, npages * PAGE_SIZE);
		if (made) {
			stashes = s->next;
			free_stash(s);
		}
		return err;
	}
	s->owner = p->pid;
	p->stash_mapped = true;
	return (long)VE_STASH_BASE;
}

void stash_release(struct proc *p)
{
	struct stash *s = p->stash_mapped ? find(p->name) : NULL;
	if (s && s->owner == p->pid) {
		s->owner = 0;
		share_refund(p, s->npages * PAGE_SIZE);
	}
	p->stash_mapped = false;
}

long stash_drop(struct proc *p, uint64_t uname)
{
	char name[VE_NAME_MAX];
	if (!(p->grants & VE_GRANT_SPAWN))
		return -VE_PERM;
	int err = vm_copy_str_in(p, name, uname, sizeof(name));
	if (err)
		return err == -VE_RANGE ? -VE_INVAL : err;
	struct stash *s = find(name), **pp = &stashes;
	if (!s)
		return -VE_NOENT;
	if (s->owner && proc_by_pid(s->owner))
		return -VE_BUSY;
	while (*pp != s)
		pp = &(*pp)->next;
	*pp = s->next;
	klog("stash of %s discarded (%llu KiB)", s->name, (unsigned long long)(s->npages * 4));
	free_stash(s);
	return 0;
}

void stash_commit(struct proc *p)
{
	inject_step_commit(p); /* every commit, windowed stash or not */
}

bool stash_write_fault(struct proc *p, uint64_t addr)
{
	(void)p, (void)addr;
	return false;
}
