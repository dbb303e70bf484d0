/*
 * Stashes: one memory region per service name that outlives the process.
 * stash(size) maps it at VE_STASH_BASE: the frames the previous process of
 * the same name left, or new zeroed ones. The page-table entries carry
 * PTE_STASH, so tearing an address space down leaves the frames alone; only
 * stash_drop() (the supervisor's, for `state discard` or a stash that keeps
 * crashing its service) frees them.
 *
 * A stash made with VE_STASH_WINDOWS has recovery windows (stashwin.h
 * keeps the books): it is mapped read-only, and the first write to a page
 * since the last commit faults into stash_write_fault, which copies the
 * page's committed bytes to its shadow frame and maps it writable. A
 * commit (stash_commit, at the start of the system calls abi.h lists)
 * maps the written pages read-only again; a death rolls them back
 * (stash_release), so the next incarnation maps the committed bytes.
 */
#include "stash.h"

#include "arch.h"
#include "bundle.h"
#include "inject.h"
#include "klog.h"
#include "lib/string.h"
#include "mem.h"
#include "share.h"
#include "stashwin.h"
#include "vm.h"

struct stash {
	char name[VE_NAME_MAX];
	uint64_t npages;
	uint64_t *frames;    /* npages physical frames (with windows: the current ones) */
	int owner;	     /* pid that has it mapped, 0 if none */
	unsigned flags;	     /* VE_STASH_* it was made with */
	struct stashwin win; /* VE_STASH_WINDOWS: its books, over the arrays below */
	uint64_t *shadow;
	uint8_t *saved;
	uint32_t *list;
	struct stash *next;
};

/* What a stash holds: its frames, and as many shadows with windows. */
static uint64_t stash_bytes(uint64_t npages, unsigned flags)
{
	return npages * PAGE_SIZE * (flags & VE_STASH_WINDOWS ? 2 : 1);
}

static struct stash *stashes;

static struct stash *find(const char *name)
{
	for (struct stash *s = stashes; s; s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

static void free_frames(uint64_t *frames, uint64_t n)
{
	for (uint64_t i = 0; frames && i < n; i++)
		if (frames[i])
			mem_frame_free(frames[i]);
	kfree(frames);
}

static void free_stash(struct stash *s)
{
	free_frames(s->frames, s->npages);
	free_frames(s->shadow, s->npages);
	kfree(s->saved);
	kfree(s->list);
	kfree(s);
}

/* n zeroed frames in a new array, or NULL. */
static uint64_t *alloc_frames(uint64_t n)
{
	uint64_t *frames = kmalloc(n * sizeof(uint64_t));
	if (!frames)
		return NULL;
	memset(frames, 0, n * sizeof(uint64_t));
	for (uint64_t i = 0; i < n; i++) {
		if (mem_frame_alloc_zero(&frames[i])) {
			frames[i] = 0;
			free_frames(frames, n);
			return NULL;
		}
	}
	return frames;
}

static struct stash *create(const char *name, uint64_t npages, unsigned flags)
{
	struct stash *s = kmalloc(sizeof(*s));
	if (!s)
		return NULL;
	*s = (struct stash){ .npages = npages, .flags = flags };
	strlcpy(s->name, name, sizeof(s->name));
	bool ok = (s->frames = alloc_frames(npages)) != NULL;
	if (ok && (flags & VE_STASH_WINDOWS)) {
		s->shadow = alloc_frames(npages);
		s->saved = kmalloc(npages);
		s->list = kmalloc(npages * sizeof(uint32_t));
		ok = s->shadow && s->saved && s->list;
		if (ok) {
			memset(s->saved, 0, npages);
			stashwin_init(&s->win, (uint32_t)npages, s->frames, s->shadow, s->saved,
				      s->list);
		}
	}
	if (!ok) {
		free_stash(s);
		return NULL;
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
		/* With windows, every page starts clean: read-only. */
		uint32_t prot =
		    s->flags & VE_STASH_WINDOWS ? VE_PROT_READ : VE_PROT_READ | VE_PROT_WRITE;
		if (vm_map_borrowed(p, VE_STASH_BASE + i * PAGE_SIZE, s->frames[i], prot)) {
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

/* stash_map, telling whether the stash was made anew. */
static long map_stash(struct proc *p, uint64_t size, unsigned flags, bool *made)
{
	if (flags & ~VE_STASH_WINDOWS)
		return -VE_INVAL;
	if (size == 0 || size > VE_STASH_MAX)
		return -VE_RANGE;
	uint64_t npages = (size + PAGE_SIZE - 1) / PAGE_SIZE;
	struct stash *s = find(p->name);
	if (s && (s->npages != npages || s->flags != flags))
		return -VE_INVAL; /* a stash keeps the size and flags it was made with */
	if (p->stash_mapped)
		return (long)VE_STASH_BASE;
	if (s && s->owner && proc_by_pid(s->owner))
		return -VE_BUSY; /* another live process of the same name has it */
	/* Mapped, its frames count in p's share (they stay with the stash when
	 * p dies: stash_release refunds them). */
	uint64_t bytes = stash_bytes(npages, flags);
	if (share_charge(p, bytes))
		return -VE_NOMEM;
	*made = !s;
	if (*made && !(s = create(p->name, npages, flags))) {
		share_refund(p, bytes);
		return -VE_NOMEM;
	}
	int err = map(p, s);
	if (err) {
		share_refund(p, bytes);
		if (*made) {
			stashes = s->next;
			free_stash(s);
		}
		return err;
	}
	s->owner = p->pid;
	p->stash_mapped = true;
	p->stash_win = flags & VE_STASH_WINDOWS ? s : NULL;
	return (long)VE_STASH_BASE;
}

long stash_map(struct proc *p, uint64_t size, unsigned flags)
{
	bool made;
	return map_stash(p, size, flags, &made);
}

long stash_map_image(struct proc *p, uint64_t size, bool *made)
{
	*made = false;
	return map_stash(p, size, VE_STASH_WINDOWS, made);
}

void stash_release(struct proc *p)
{
	struct stash *s = p->stash_mapped ? find(p->name) : NULL;
	if (s && s->owner == p->pid) {
		s->owner = 0;
		/* Dead: what it wrote since its last commit is undone. (An
		 * exit committed at its start: nothing is left to undo.) */
		if (s->flags & VE_STASH_WINDOWS)
			stashwin_rollback(&s->win);
		share_refund(p, stash_bytes(s->npages, s->flags));
	}
	p->stash_mapped = false;
	p->stash_win = NULL;
}

static void copy_frame(void *ctx, uint64_t dst, uint64_t src)
{
	(void)ctx;
	memcpy(phys_to_virt(dst), phys_to_virt(src), PAGE_SIZE);
}

/* A committed page goes back to read-only in the current process. */
static void protect_page(void *ctx, uint32_t page)
{
	struct proc *p = ctx;
	uint64_t va = VE_STASH_BASE + (uint64_t)page * PAGE_SIZE;
	uint64_t *pte = arch_pte(p->pml4, va, false);
	if (pte)
		*pte &= ~PTE_W;
	arch_invlpg(va);
}

void stash_commit(struct proc *p)
{
	inject_step_commit(p); /* every commit, windowed stash or not */
	struct stash *s = p->stash_win;
	if (!s || !s->win.nsaved)
		return;
	struct stashwin_env env = { .copy = copy_frame, .protect = protect_page, .ctx = p };
	stashwin_commit(&s->win, &env);
}

bool stash_write_fault(struct proc *p, uint64_t addr)
{
	struct stash *s = p->stash_win;
	if (!s || addr < VE_STASH_BASE || addr >= VE_STASH_BASE + s->npages * PAGE_SIZE)
		return false;
	uint32_t page = (uint32_t)((addr - VE_STASH_BASE) / PAGE_SIZE);
	uint64_t va = VE_STASH_BASE + (uint64_t)page * PAGE_SIZE;
	uint64_t *pte = arch_pte(p->pml4, va, false);
	if (!pte || !(*pte & PTE_P) || (*pte & PTE_W) || stashwin_is_saved(&s->win, page))
		return false; /* not a clean page of the window: a real fault */
	struct stashwin_env env = { .copy = copy_frame, .ctx = p };
	if (stashwin_save(&s->win, &env, page))
		return false;
	*pte |= PTE_W;
	arch_invlpg(va);
	return true;
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
