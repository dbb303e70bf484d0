/*
 * The process table: creation from an ELF image, death with a reason, and
 * wait(). Slots are reused; a pid carries the slot's generation, so a stale
 * pid names nobody rather than the slot's next occupant.
 */
#include "proc.h"

#include "arch.h"
#include "elf.h"
#include "ipc.h"
#include "stash.h"
#include "klog.h"
#include "lib/string.h"
#include "mem.h"
#include "pci.h"
#include "sched.h"
#include "vm.h"

static struct proc *slots[NPROC];
const struct bundle *proc_boot_bundle; /* set by kmain */
static uint32_t generation[NPROC];
static uint8_t fpu_initial[512] __attribute__((aligned(16)));
static bool fpu_initial_ready;

static const char *const reason_names[VE_NREASONS] = VE_REASON_NAMES;

const char *proc_reason_name(enum ve_reason r)
{
	return r < VE_NREASONS && reason_names[r] ? reason_names[r] : "?";
}

void proc_spec_from_bundle(const struct bundle *b, const struct bundle_proc *bp,
			   struct proc_spec *spec, struct proc_chans *pc)
{
	const struct bundle_image *im = bundle_image_find(b, bp->image);
	proc_chans_from_bundle(bp, pc);
	*spec = (struct proc_spec){
		.name = bp->name,
		.image = bundle_image_data(b, im),
		.image_len = im->size,
		.args = bp->args,
		.prio = (enum ve_prio)bp->prio,
		.ports = bp->ports,
		.nports = bp->nports,
		.grants = bp->grants,
		.irqs = bp->irqs,
		.chans = pc,
		.boot_entry = bp,
		.devs = bp->devs,
	};
}

void proc_chans_from_bundle(const struct bundle_proc *bp, struct proc_chans *pc)
{
	_Static_assert(sizeof(pc->serve) == sizeof(bp->serve), "same channel lists");
	_Static_assert(sizeof(pc->open) == sizeof(bp->open), "same channel lists");
	memcpy(pc->serve, bp->serve, sizeof(pc->serve));
	memcpy(pc->open, bp->open, sizeof(pc->open));
	pc->queue = bp->queue;
	pc->qbytes = bp->qbytes;
	pc->redeliveries = bp->redeliveries;
}

struct proc *proc_by_slot(int slot)
{
	return slot >= 0 && slot < NPROC ? slots[slot] : NULL;
}

struct proc *proc_by_pid(int pid)
{
	if (pid <= 0)
		return NULL;
	struct proc *p = slots[pid % NPROC]; /* pid > 0: the index is in range */
	return p && p->pid == pid ? p : NULL;
}

static int slot_take(struct proc *p)
{
	for (int i = 0; i < NPROC; i++) {
		if (slots[i])
			continue;
		/* Keep pids positive: the generation wraps long before
		 * generation * NPROC + slot could overflow an int. */
		generation[i] = generation[i] % (0x7fffffff / NPROC - 1) + 1;
		p->pid = (int)(generation[i] * NPROC + (uint32_t)i);
		p->slot = i;
		slots[i] = p;
		return 0;
	}
	return -VE_NOMEM;
}

/*
 * The lifecycle (lifecycle.h lists every edge). set_state is the one writer
 * of p->state: an edge the lifecycle lacks is a kernel bug, and what
 * follows from an edge is done here, so no caller keeps it by hand: a
 * RUNNABLE process is on its run queue, senders_blocked counts the SENDING
 * ones and a parent's nzombies its ZOMBIE children.
 */
static unsigned senders_blocked; /* lets ipc.c skip its scan for senders */

/* Inline: with `to` known at each call site, the edge's table lookup and
 * its consequences fold to a few instructions (two edges per IPC). */
static inline __attribute__((always_inline)) void set_state(struct proc *p, enum proc_state to)
{
	struct lifecycle_step step;
	if (!lifecycle_step(p->state, to, &step))
		panic("%s (pid %d): no lifecycle edge %s -> %s", p->name, p->pid,
		      lifecycle_name(p->state), lifecycle_name(to));
	if (step.dequeue)
		sched_remove(p); /* killed while waiting for the CPU */
	senders_blocked += (unsigned)step.senders;
	if (p->parent)
		p->parent->nzombies += (unsigned)step.zombies;
	p->state = to;
	if (step.enqueue)
		sched_add(p);
}

/* A new parent for c (NULL: none); a ZOMBIE c moves between the counts. */
static void set_parent(struct proc *c, struct proc *parent)
{
	if (c->state == PROC_ZOMBIE && c->parent)
		c->parent->nzombies--;
	c->parent = parent;
	if (c->state == PROC_ZOMBIE && parent)
		parent->nzombies++;
}

unsigned proc_senders_blocked(void)
{
	return senders_blocked;
}

bool proc_blocked(const struct proc *p)
{
	return lifecycle_blocked(p->state);
}

void proc_block(struct proc *p, enum proc_state state, uint64_t wake_ns)
{
	proc_block_to(p, state, wake_ns, NULL);
}

void proc_block_to(struct proc *p, enum proc_state state, uint64_t wake_ns, struct proc *to)
{
	p->wake_ns = wake_ns;
	p->timed_out = false;
	set_state(p, state);
	if (to)
		sched_handoff(to);
	else
		sched_block();
}

void proc_wake(struct proc *p)
{
	if (proc_blocked(p))
		set_state(p, PROC_RUNNABLE);
}

void proc_run(struct proc *p)
{
	set_state(p, PROC_RUNNING);
}

void proc_yield(struct proc *p)
{
	set_state(p, PROC_RUNNABLE);
}

void proc_stall(struct proc *p, uint64_t until)
{
	p->wake_ns = until;
	set_state(p, PROC_SLEEPING);
}

static void slot_free(struct proc *p)
{
	slots[p->slot] = NULL;
	kfree(p);
}

/* Reap: a ZOMBIE or DEAD process's slot is free again. */
static void slot_release(struct proc *p)
{
	set_state(p, PROC_FREE);
	slot_free(p);
}

/* Free what a process owns besides its slot and kernel stack. After
 * ipc_proc_dying (a death) or with nothing sent (a failed creation), that
 * leaves nothing charged to it: the accounting is exact, or a bug. */
static void release_resources(struct proc *p)
{
	pci_proc_dying(p); /* its devices stop mastering before its memory is freed */
	if (arch_read_cr3() == p->pml4)
		arch_switch_pml4(arch_kernel_pml4());
	stash_release(p);
	vm_destroy(p);
	if (p->iomap) {
		arch_iomap_forget(p->iomap);
		mem_frames_free(virt_to_phys(p->iomap), IOMAP_BYTES / PAGE_SIZE);
		p->iomap = NULL;
	}
	if (p->mem_held)
		panic("%s (pid %d) still holds %llu bytes once freed", p->name, p->pid,
		      (unsigned long long)p->mem_held);
}

/* A data segment in the stash window (svc/lib/user-stash.ld): p's
 * windowed stash, loaded with the segment's bytes only when it is new. */
static int load_stash_segment(struct proc *p, const struct proc_spec *s, const struct elf_seg *g,
			      const char **why)
{
	uint64_t end = g->vaddr + g->memsz;
	if (g->vaddr != VE_STASH_BASE || !(g->prot & VE_PROT_WRITE) || (g->prot & VE_PROT_EXEC) ||
	    end > VE_STASH_BASE + VE_STASH_MAX || p->stash_mapped) {
		*why = "a segment lies in the stash window";
		return -VE_INVAL;
	}
	bool made;
	long ret = stash_map_image(p, g->memsz, &made);
	if (ret < 0) {
		*why = ret == -VE_INVAL	 ? "the kept stash has another size or no windows"
		       : ret == -VE_BUSY ? "the stash is still held by a live process"
					 : "out of memory for the stash";
		return (int)ret;
	}
	if (made)
		vm_load(p, g->vaddr, (const uint8_t *)s->image + g->offset, g->filesz);
	return 0;
}

static int load_image(struct proc *p, const struct proc_spec *s, uint64_t *entry, const char **why)
{
	struct elf_image img;
	int err = elf_parse(s->image, s->image_len, VE_USER_LO,
			    USTACK_TOP - USTACK_SIZE - USTACK_GUARD, &img, why);
	if (err)
		return err;
	for (unsigned i = 0; i < img.nsegs; i++) {
		const struct elf_seg *g = &img.seg[i];
		uint64_t lo = g->vaddr & ~(PAGE_SIZE - 1);
		uint64_t hi = (g->vaddr + g->memsz + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
		/* The stash window and the injection page above it are the
		 * kernel's to map there. An image may put one writable segment
		 * at the window's start: its data segment, kept in the stash. */
		if (lo < VE_STASH_BASE + VE_STASH_MAX + PAGE_SIZE && VE_STASH_BASE < hi) {
			if ((err = load_stash_segment(p, s, g, why)))
				return err;
			continue;
		}
		if ((err = vm_map_new(p, lo, hi - lo, g->prot | VE_PROT_READ))) {
			*why = "out of memory loading the image";
			return err;
		}
		vm_load(p, g->vaddr, (const uint8_t *)s->image + g->offset, g->filesz);
	}
	*entry = img.entry;
	return 0;
}

/* User stack with the argument string at its top; returns the initial rsp
 * and the args pointer. */
static int setup_stack(struct proc *p, const char *args, uint64_t *rsp, uint64_t *uargs)
{
	p->stack_lo = USTACK_TOP - USTACK_SIZE;
	int err = vm_map_new(p, p->stack_lo, USTACK_SIZE, VE_PROT_READ | VE_PROT_WRITE);
	if (err)
		return err;
	uint64_t len = strlen(args) + 1;
	*uargs = (USTACK_TOP - len) & ~15ull;
	vm_load(p, *uargs, args, len);
	*rsp = *uargs - 16;
	return 0;
}

/* The I/O BARs of p's devices that give ports (pci_bar_ports): allowed if
 * map, else counted. */
static unsigned device_ports(struct proc *p, uint8_t *map)
{
	unsigned n = 0;
	for (unsigned k = 0; k < VE_SPAWN_DEVS; k++) {
		const struct ve_pciinfo *f =
		    p->devs[k].fn >= 0 ? pci_fn((unsigned)p->devs[k].fn) : 0;
		for (unsigned b = 0; f && b < VE_PCI_BARS; b++) {
			uint16_t first, last;
			if (!pci_bar_ports(&f->bar[b], &first, &last))
				continue;
			if (map)
				arch_iomap_allow(map, first, last);
			n++;
		}
	}
	return n;
}

/* Its port grants and its devices' I/O BARs, in its own TSS bitmap. */
static int setup_iomap(struct proc *p, const struct proc_spec *s)
{
	uint64_t phys;
	if (s->nports == 0 && device_ports(p, NULL) == 0)
		return 0;
	if (mem_frames_alloc(IOMAP_BYTES / PAGE_SIZE, &phys))
		return -VE_NOMEM;
	p->iomap = phys_to_virt(phys);
	memset(p->iomap, 0xff, IOMAP_BYTES);
	for (unsigned i = 0; i < s->nports; i++)
		arch_iomap_allow(p->iomap, s->ports[i].first, s->ports[i].last);
	device_ports(p, p->iomap);
	return 0;
}

/* Resolve the device grants of s into p (claimed only once p exists): the
 * functions, and their interrupt lines among p's IRQs. */
static int setup_devs(struct proc *p, const struct proc_spec *s, const char **why)
{
	int16_t fn[VE_SPAWN_DEVS];
	for (unsigned k = 0; k < VE_SPAWN_DEVS; k++)
		p->devs[k].fn = -1;
	if (!s->devs)
		return 0;
	int err = pci_resolve(s->devs, fn);
	if (err) {
		*why = err == -VE_BUSY ? "a PCI device it is granted is held by another process"
				       : "no PCI device matches a device grant";
		return err;
	}
	for (unsigned k = 0; k < VE_SPAWN_DEVS; k++)
		p->devs[k].fn = fn[k];
	p->irqs |= pci_lines(p);
	return 0;
}

struct trap_frame *proc_user_frame(struct proc *p)
{
	uint64_t top = (uint64_t)(uintptr_t)phys_to_virt(p->kstack) + KSTACK_PAGES * PAGE_SIZE;
	return (struct trap_frame *)(uintptr_t)(top - sizeof(struct trap_frame));
}

/* The kernel stack of a new process: a trap frame that "returns" to the
 * entry point in ring 3, under a switch frame that returns into it. */
static void setup_kstack(struct proc *p, uint64_t entry, uint64_t rsp, uint64_t uargs)
{
	struct trap_frame *f = proc_user_frame(p);
	memset(f, 0, sizeof(*f));
	f->rip = entry;
	f->cs = SEL_UCODE;
	f->rflags = 0x202; /* IF */
	f->rsp = rsp;
	f->ss = SEL_UDATA;
	f->rdi = uargs;
	f->rsi = (uint64_t)p->pid;
	uint64_t *sw = (uint64_t *)f - 7;
	memset(sw, 0, 6 * sizeof(uint64_t)); /* r15 r14 r13 r12 rbx rbp */
	sw[6] = (uint64_t)(uintptr_t)arch_first_entry;
	p->ksp = (uint64_t)(uintptr_t)sw;
}

static void emit_spawn(const struct proc *p)
{
	static const char *const prio_names[VE_NPRIO] = VE_PRIO_NAMES;
	struct evlog_line l;
	ev_start(&l, "spawn");
	ev_i64(&l, "pid", p->pid);
	ev_str(&l, "name", p->name);
	ev_str(&l, "prio", prio_names[p->prio]);
	ev_i64(&l, "parent", p->parent ? p->parent->pid : 0);
	ev_send(&l);
}

static void destroy_new(struct proc *p)
{
	release_resources(p);
	if (p->kstack)
		mem_frames_free(p->kstack, KSTACK_PAGES);
	slot_free(p); /* never left FREE */
}

int proc_create(const struct proc_spec *s, struct proc *parent, int *pid_out, const char **why)
{
	uint64_t entry, rsp, uargs;
	int err;

	*why = "out of memory";
	if (strnlen(s->name, VE_NAME_MAX) >= VE_NAME_MAX || s->name[0] == '\0' ||
	    strnlen(s->args, VE_ARGS_MAX) >= VE_ARGS_MAX || s->prio >= VE_NPRIO) {
		*why = "bad name, args or priority";
		return -VE_RANGE;
	}
	if (!fpu_initial_ready) {
		arch_fpu_init_area(fpu_initial);
		fpu_initial_ready = true;
	}
	struct proc *p = kmalloc(sizeof(*p));
	if (!p)
		return -VE_NOMEM;
	memset(p, 0, sizeof(*p));
	if (slot_take(p)) {
		kfree(p);
		*why = "process table full";
		return -VE_NOMEM;
	}
	strlcpy(p->name, s->name, sizeof(p->name));
	p->prio = s->prio;
	p->grants = s->grants;
	p->irqs = s->irqs;
	if (s->chans)
		p->chans = *s->chans;
	p->boot_entry = s->boot_entry;
	p->parent = parent;
	memcpy(p->fpu, fpu_initial, sizeof(p->fpu));
	if ((err = setup_devs(p, s, why)))
		goto fail;
	if ((err = mem_frames_alloc(KSTACK_PAGES, &p->kstack))) {
		p->kstack = 0;
		goto fail;
	}
	if ((err = vm_create(p)) || (err = load_image(p, s, &entry, why)))
		goto fail;
	*why = "out of memory";
	if ((err = setup_stack(p, s->args, &rsp, &uargs)) || (err = setup_iomap(p, s)))
		goto fail;
	setup_kstack(p, entry, rsp, uargs);
	*pid_out = p->pid;
	emit_spawn(p);
	ipc_proc_created(p);
	pci_claim(p); /* after: whether p got its devices' lines */
	set_state(p, PROC_RUNNABLE);
	return 0;
fail:
	destroy_new(p);
	return err;
}

static void emit_exit(const struct proc *p)
{
	struct evlog_line l;
	ev_start(&l, "exit");
	ev_i64(&l, "pid", p->pid);
	ev_str(&l, "name", p->name);
	ev_str(&l, "reason", proc_reason_name((enum ve_reason)p->exit.reason));
	if (p->exit.reason == VE_R_EXIT)
		ev_i64(&l, "code", p->exit.code);
	else if (p->exit.reason != VE_R_KILLED || p->exit.vector)
		ev_u64(&l, "vector", p->exit.vector); /* killed with 1: an injected step */
	ev_hex(&l, "rip", p->exit.rip);
	ev_hex(&l, "addr", p->exit.addr);
	ev_send(&l);
}

/* Orphan p's children: a dead child nobody can wait for is freed now. */
static void orphan_children(struct proc *p)
{
	for (int i = 0; i < NPROC; i++) {
		struct proc *c = slots[i];
		if (!c || c->parent != p)
			continue;
		set_parent(c, NULL);
		if (c->state == PROC_ZOMBIE)
			slot_release(c);
	}
}

/* The root supervisor died: start it again from its boot-table entry and
 * give it the children (alive or dead, not yet reaped) of the one that
 * died, so it can take the tree over instead of restarting it. More than
 * SUP_RESTART_MAX deaths within SUP_RESTART_WINDOW_NS is a supervisor that
 * cannot run at all: the machine halts with failure, the one thing left to
 * do. Returns false if it could not start one (the children are orphaned). */
#define SUP_RESTART_MAX 5
#define SUP_RESTART_WINDOW_NS 10000000000ull
static bool reincarnate(struct proc *p)
{
	static uint64_t deaths[SUP_RESTART_MAX];
	static unsigned ndeaths;
	const struct bundle_proc *bp = p->boot_entry;
	uint64_t now = arch_now_ns();

	if (!bp)
		return false;
	if (ndeaths == SUP_RESTART_MAX && now - deaths[0] < SUP_RESTART_WINDOW_NS) {
		struct evlog_line l;
		ev_start(&l, "halt");
		ev_i64(&l, "code", 1);
		ev_i64(&l, "by", 0);
		ev_str(&l, "why", "the root supervisor keeps dying");
		ev_send(&l);
		klog("the root supervisor died %u times in 10 s: halting", SUP_RESTART_MAX + 1);
		arch_halt_machine(1);
	}
	if (ndeaths == SUP_RESTART_MAX) {
		memmove(deaths, deaths + 1, sizeof(deaths) - sizeof(deaths[0]));
		ndeaths--;
	}
	deaths[ndeaths++] = now;

	struct proc_chans pc;
	struct proc_spec spec;
	proc_spec_from_bundle(proc_boot_bundle, bp, &spec, &pc);
	const char *why;
	int pid;
	if (proc_create(&spec, NULL, &pid, &why)) {
		klog("cannot restart the root supervisor: %s", why);
		return false;
	}
	struct proc *np = proc_by_pid(pid);
	unsigned adopted = 0;
	for (int i = 0; i < NPROC; i++) {
		if (slots[i] && slots[i]->parent == p) {
			set_parent(slots[i], np);
			adopted++;
		}
	}
	struct evlog_line l;
	ev_start(&l, "sup_restart");
	ev_i64(&l, "old", p->pid);
	ev_i64(&l, "pid", pid);
	ev_u64(&l, "adopted", adopted);
	ev_send(&l);
	klog("root supervisor restarted as pid %d, %u children handed over", pid, adopted);
	return true;
}

/* Everything a death does, for any process p: afterwards p holds nothing
 * but its slot (ZOMBIE, for its parent's wait) and, if it was running, its
 * kernel stack (freed by the scheduler once off it). */
static void finish(struct proc *p, const struct ve_exit *how)
{
	p->exit = *how;
	p->exit.pid = p->pid;
	ipc_proc_dying(p);
	release_resources(p);
	emit_exit(p);
	klog("%s (pid %d) %s", p->name, p->pid, proc_reason_name((enum ve_reason)how->reason));
	if (!(p->grants & VE_GRANT_SUPERVISOR) || !reincarnate(p))
		orphan_children(p);

	struct proc *parent = p->parent;
	if (parent && parent->state == PROC_WAITING && parent->wait_pid == p->pid) {
		parent->wait_result = p->exit;
		set_parent(p, NULL);
		proc_wake(parent);
	}
	set_state(p, p->parent ? PROC_ZOMBIE : PROC_DEAD);
	if (p->parent && p->parent->state == PROC_POLLING)
		proc_wake(p->parent); /* its wait_any reports the death */
}

/* The current process p dies. */
static _Noreturn void die(struct proc *p, const struct ve_exit *how)
{
	finish(p, how);
	sched_block();
	panic("dead process %d was scheduled", p->pid);
}

static void terminate(struct proc *p, const struct ve_exit *how)
{
	if (p == proc_current())
		die(p, how);
	/* Not running: whatever it was blocked in simply never resumes, and
	 * its kernel stack is not in use, so it goes now. */
	finish(p, how);
	proc_reap(p);
}

void proc_kill(struct proc *p, enum ve_reason why)
{
	struct ve_exit how = { .reason = why };
	terminate(p, &how);
}

void proc_force_exit(struct proc *p, int64_t code)
{
	struct ve_exit how = { .reason = VE_R_EXIT, .code = code };
	terminate(p, &how);
}

_Noreturn void proc_exit(struct proc *p, int64_t code)
{
	struct ve_exit how = { .reason = VE_R_EXIT, .code = code };
	die(p, &how);
}

_Noreturn void proc_fault(struct proc *p, enum ve_reason why, uint32_t vector, uint64_t rip,
			  uint64_t addr)
{
	/* A page fault just below the stack is an overflow into the guard. */
	if (why == VE_R_PAGE_FAULT && addr < p->stack_lo && addr >= p->stack_lo - USTACK_GUARD)
		why = VE_R_STACK;
	struct ve_exit how = { .reason = why, .vector = vector, .rip = rip, .addr = addr };
	die(p, &how);
}

void proc_reap(struct proc *p)
{
	mem_frames_free(p->kstack, KSTACK_PAGES);
	p->kstack = 0;
	if (p->state == PROC_DEAD)
		slot_release(p);
}

bool proc_has_dead_child(const struct proc *p)
{
	return p->nzombies > 0; /* wait_any asks on every call: no table scan */
}

int proc_reap_any(struct proc *p, uint64_t uexit)
{
	bool children = false;
	if (uexit && vm_check(p, uexit, sizeof(struct ve_exit), true))
		return -VE_FAULT;
	for (int i = 0; i < NPROC; i++) {
		struct proc *c = slots[i];
		if (!c || c->parent != p)
			continue;
		children = true;
		if (c->state != PROC_ZOMBIE)
			continue;
		int pid = c->pid;
		if (uexit)
			vm_copy_out(p, uexit, &c->exit, sizeof(c->exit));
		slot_release(c);
		return pid;
	}
	return children ? -VE_AGAIN : -VE_CHILD;
}

/* What ps() shows of a slot's state. */
static enum ve_ps_state ps_state(enum proc_state s)
{
	if (s == PROC_RUNNING || s == PROC_RUNNABLE)
		return VE_PS_RUNNING;
	return s == PROC_ZOMBIE ? VE_PS_DEAD : VE_PS_BLOCKED;
}

int proc_list(struct proc *p, uint64_t ubuf, uint64_t n)
{
	struct ve_procinfo pi;
	uint64_t k = 0;
	if (n > NPROC)
		n = NPROC;
	if (vm_check(p, ubuf, n * sizeof(pi), true))
		return -VE_FAULT;
	for (int i = 0; i < NPROC && k < n; i++) {
		struct proc *q = slots[i];
		if (!q)
			continue;
		memset(&pi, 0, sizeof(pi));
		pi.pid = q->pid;
		pi.parent = q->parent ? q->parent->pid : 0;
		pi.state = ps_state(q->state);
		pi.prio = q->prio;
		strlcpy(pi.name, q->name, sizeof(pi.name));
		pi.frames = q->pml4 ? arch_count_user_frames(q->pml4) : 0;
		vm_copy_out(p, ubuf + k * sizeof(pi), &pi, sizeof(pi));
		k++;
	}
	return (int)k;
}

int proc_wait(struct proc *p, int pid, uint64_t uexit)
{
	struct proc *c = proc_by_pid(pid);
	if (!c || c->parent != p)
		return -VE_CHILD;
	if (uexit && vm_check(p, uexit, sizeof(struct ve_exit), true))
		return -VE_FAULT;
	if (c->state == PROC_ZOMBIE) {
		p->wait_result = c->exit;
		slot_release(c);
	} else {
		p->wait_pid = pid;
		proc_block(p, PROC_WAITING, UINT64_MAX);
	}
	/* The address space cannot have changed while we were blocked. */
	return uexit ? vm_copy_out(p, uexit, &p->wait_result, sizeof(p->wait_result)) : 0;
}
