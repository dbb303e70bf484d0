/*
 * System calls: one table, indexed by number. Each handler validates every
 * argument before it changes anything, and returns >= 0 or -VE_*.
 */
#include "syscall.h"

#include "arch.h"
#include "bundle.h"
#include "inject.h"
#include "ipc.h"
#include "klog.h"
#include "lib/string.h"
#include "mem.h"
#include "pci.h"
#include "proc.h"
#include "sched.h"
#include "stash.h"
#include "uevent.h"
#include "vm.h"

typedef long (*sys_fn)(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
		       uint64_t a5);

static const struct bundle *boot_bundle;

void syscall_set_bundle(const struct bundle *b)
{
	boot_bundle = b;
}

static long sys_exit(uint64_t code, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	(void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	proc_exit(proc_current(), (int64_t)code);
}

static long sys_write(uint64_t buf, uint64_t len, uint64_t a2, uint64_t a3, uint64_t a4,
		      uint64_t a5)
{
	(void)a2, (void)a3, (void)a4, (void)a5;
	struct proc *p = proc_current();
	char chunk[256];

	if (len > VE_WRITE_MAX)
		return -VE_RANGE;
	if (vm_check(p, buf, len, false))
		return -VE_FAULT;
	for (uint64_t done = 0; done < len;) {
		uint64_t n = len - done < sizeof(chunk) ? len - done : sizeof(chunk);
		vm_copy_in(p, chunk, buf + done, n);
		kconsole_write(chunk, n);
		done += n;
	}
	return (long)len;
}

static long sys_sleep(uint64_t ns, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	(void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	struct proc *p = proc_current();
	uint64_t now = arch_now_ns();
	proc_block(p, PROC_SLEEPING, ns > UINT64_MAX - now ? UINT64_MAX : now + ns);
	return 0;
}

static long sys_yield(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	(void)a0, (void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	sched_yield();
	return 0;
}

static long sys_getpid(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	(void)a0, (void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	return proc_current()->pid;
}

static long sys_clock(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	(void)a0, (void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	return (long)arch_now_ns();
}

static long sys_vm_alloc(uint64_t addr, uint64_t len, uint64_t prot, uint64_t a3, uint64_t a4,
			 uint64_t a5)
{
	(void)a3, (void)a4, (void)a5;
	uint64_t out;
	if (prot > 0xffffffffu)
		return -VE_INVAL;
	int err = vm_alloc(proc_current(), addr, len, (uint32_t)prot, &out);
	return err ? err : (long)out;
}

static long sys_vm_free(uint64_t addr, uint64_t len, uint64_t a2, uint64_t a3, uint64_t a4,
			uint64_t a5)
{
	(void)a2, (void)a3, (void)a4, (void)a5;
	return vm_free(proc_current(), addr, len);
}

static long sys_meminfo(uint64_t uinfo, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
			uint64_t a5)
{
	(void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	struct ve_meminfo mi;
	mem_info(&mi);
	return vm_copy_out(proc_current(), uinfo, &mi, sizeof(mi));
}

/* What spawn(name) starts: the boot-table entry called name if there is one
 * (its image, priority and grants; args replace its argument string when
 * given), else the image called name with no grants. */
static int spec_for(const char *name, const char *args, struct proc_spec *spec,
		    struct proc_chans *pc)
{
	const struct bundle_proc *bp = NULL;
	for (uint32_t i = 0; boot_bundle && i < boot_bundle->nprocs && !bp; i++)
		if (strcmp(boot_bundle->procs[i].name, name) == 0)
			bp = &boot_bundle->procs[i];
	if (bp) {
		proc_spec_from_bundle(boot_bundle, bp, spec, pc);
		spec->name = name;
		if (args)
			spec->args = args;
		return 0;
	}
	const struct bundle_image *im = boot_bundle ? bundle_image_find(boot_bundle, name) : NULL;
	if (!im)
		return -VE_NOENT;
	*spec = (struct proc_spec){
		.name = name,
		.image = bundle_image_data(boot_bundle, im),
		.image_len = im->size,
		.args = args ? args : "",
		.prio = VE_PRIO_SERVICE,
	};
	return 0;
}

static long sys_spawn(uint64_t uimage, uint64_t uargs, uint64_t a2, uint64_t a3, uint64_t a4,
		      uint64_t a5)
{
	(void)a2, (void)a3, (void)a4, (void)a5;
	struct proc *p = proc_current();
	char image[VE_NAME_MAX], args[VE_ARGS_MAX] = "";
	const char *why;
	int err, pid;

	if (!(p->grants & VE_GRANT_SPAWN))
		return -VE_PERM;
	/* A string too long for its field is a bad argument (vesta.h). */
	if ((err = vm_copy_str_in(p, image, uimage, sizeof(image))))
		return err == -VE_RANGE ? -VE_INVAL : err;
	if (uargs && (err = vm_copy_str_in(p, args, uargs, sizeof(args))))
		return err == -VE_RANGE ? -VE_INVAL : err;
	struct proc_spec spec;
	struct proc_chans pc;
	if ((err = spec_for(image, uargs ? args : NULL, &spec, &pc)))
		return err;
	err = proc_create(&spec, p, &pid, &why);
	if (err) {
		klog("spawn %s for %s failed: %s", image, p->name, why);
		return err;
	}
	return pid;
}

static long sys_wait(uint64_t pid, uint64_t uexit, uint64_t a2, uint64_t a3, uint64_t a4,
		     uint64_t a5)
{
	(void)a2, (void)a3, (void)a4, (void)a5;
	if (pid > 0x7fffffff)
		return -VE_CHILD;
	return proc_wait(proc_current(), (int)pid, uexit);
}

static long sys_halt(uint64_t code, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	(void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	struct proc *p = proc_current();
	if (!(p->grants & VE_GRANT_HALT))
		return -VE_PERM;
	struct evlog_line l;
	ev_start(&l, "halt");
	ev_i64(&l, "code", (int64_t)code);
	ev_i64(&l, "by", p->pid);
	ev_send(&l);
	klog("halt requested by %s (pid %d), code %lld", p->name, p->pid, (long long)code);
	arch_halt_machine(code != 0);
}

/* kill(pid, reason): reason 0 (or VE_R_KILLED) kills; VE_R_HUNG is what a
 * supervisor says of a service that missed its heartbeat. Errors:
 * -VE_NOENT, -VE_PERM (not a child and no kill grant), -VE_INVAL (another
 * reason). */
static long sys_kill(uint64_t pid, uint64_t reason, uint64_t a2, uint64_t a3, uint64_t a4,
		     uint64_t a5)
{
	(void)a2, (void)a3, (void)a4, (void)a5;
	struct proc *p = proc_current();
	if (reason != 0 && reason != VE_R_KILLED && reason != VE_R_HUNG)
		return -VE_INVAL;
	struct proc *v = pid <= 0x7fffffff ? proc_by_pid((int)pid) : NULL;
	if (!v || v->state == PROC_ZOMBIE || v->state == PROC_DEAD)
		return -VE_NOENT;
	if (v->parent != p && v != p && !(p->grants & VE_GRANT_KILL))
		return -VE_PERM;
	proc_kill(v, reason == VE_R_HUNG ? VE_R_HUNG : VE_R_KILLED);
	return 0;
}

#define SYS_ARGS uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5

static long sys_chan_serve(SYS_ARGS)
{
	(void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	return ipc_serve(proc_current(), a0);
}

static long sys_chan_open(SYS_ARGS)
{
	(void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	return ipc_open(proc_current(), a0);
}

static long sys_chan_call(SYS_ARGS)
{
	return ipc_call(proc_current(), a0, a1, a2, a3, a4, a5);
}

static long sys_chan_cast(SYS_ARGS)
{
	(void)a4, (void)a5;
	return ipc_cast(proc_current(), a0, a1, a2, a3);
}

static long sys_chan_recv(SYS_ARGS)
{
	(void)a4, (void)a5;
	return ipc_recv(proc_current(), a0, a1, a2, a3);
}

static long sys_chan_reply(SYS_ARGS)
{
	(void)a4, (void)a5;
	return ipc_reply(proc_current(), a0, a1, a2, a3);
}

static long sys_chan_ack(SYS_ARGS)
{
	(void)a2, (void)a3, (void)a4, (void)a5;
	return ipc_ack(proc_current(), a0, a1);
}

static long sys_wait_any(SYS_ARGS)
{
	(void)a4, (void)a5;
	return ipc_wait_any(proc_current(), a0, a1, a2, a3);
}

static long sys_chan_next(SYS_ARGS)
{
	(void)a5;
	return ipc_next(proc_current(), a0, a1, a2, a3, a4);
}

/* The header goes back in the registers abi.h names, written into the
 * frame the return to ring 3 pops (rax is syscall_dispatch's); unless fault
 * injection pointed the process elsewhere while it waited: the registers
 * are then its trampoline's. */
static long sys_chan_reply_recv(SYS_ARGS)
{
	(void)a5;
	struct proc *p = proc_current();
	struct trap_frame *f = proc_user_frame(p);
	uint64_t rip = f->rip;
	struct ipc_rr rr;
	long ret = ipc_reply_recv(p, a0, a1, a2, a3, a4, &rr);
	if (f->rip != rip)
		return ret;
	f->rdx = rr.msg.id;
	f->rsi = (uint32_t)rr.msg.sender | (uint64_t)rr.msg.kind << 32;
	f->rdi = rr.msg.len | (uint64_t)rr.msg.redelivered << 32;
	f->r8 = rr.answered | (uint64_t)rr.waited << 32;
	return ret;
}

static long sys_chan_castv(SYS_ARGS)
{
	(void)a5;
	return ipc_castv(proc_current(), a0, a1, a2, a3, a4);
}

static long sys_chan_recvv(SYS_ARGS)
{
	(void)a2, (void)a3, (void)a4, (void)a5;
	return ipc_recvv(proc_current(), a0, a1);
}

static long sys_irq_ack(SYS_ARGS)
{
	(void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	return ipc_irq_ack(proc_current(), a0);
}

static long sys_event(SYS_ARGS)
{
	(void)a3, (void)a4, (void)a5;
	return uevent_post(proc_current(), a0, a1, a2);
}

static long sys_reap(SYS_ARGS)
{
	(void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	return proc_reap_any(proc_current(), a0);
}

static long sys_stash(SYS_ARGS)
{
	(void)a2, (void)a3, (void)a4, (void)a5;
	return stash_map(proc_current(), a0, (unsigned)a1);
}

static long sys_stash_drop(SYS_ARGS)
{
	(void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	return stash_drop(proc_current(), a0);
}

static long sys_ps(SYS_ARGS)
{
	(void)a2, (void)a3, (void)a4, (void)a5;
	return proc_list(proc_current(), a0, a1);
}

static long sys_chan_info(SYS_ARGS)
{
	(void)a2, (void)a3, (void)a4, (void)a5;
	return ipc_chan_info(proc_current(), a0, a1);
}

static bool terminated(const char *s, size_t n)
{
	return strnlen(s, n) < n;
}

/* Check a ve_spawn whole before anything is created. */
static int spawn_spec_check(const struct ve_spawn *sp)
{
	if (!terminated(sp->name, sizeof(sp->name)) || !sp->name[0] ||
	    !terminated(sp->image, sizeof(sp->image)) || !terminated(sp->args, sizeof(sp->args)))
		return -VE_INVAL;
	if (sp->prio >= VE_NPRIO || (sp->grants & ~(VE_GRANTS_KNOWN & ~VE_GRANT_SUPERVISOR)) ||
	    (sp->irqs & ~VE_IRQS_VALID) || sp->nports > VE_SPAWN_PORTS)
		return -VE_INVAL;
	for (unsigned i = 0; i < sp->nports; i++)
		if (sp->ports[i].first > sp->ports[i].last)
			return -VE_INVAL;
	for (unsigned k = 0; k < VE_SPAWN_CHANS; k++)
		if (!terminated(sp->serve[k], sizeof(sp->serve[k])) ||
		    !terminated(sp->open[k], sizeof(sp->open[k])))
			return -VE_INVAL;
	return pci_devsel_check(sp->devs);
}

/* spawn_spec(spec): what a supervisor starts from a policy. Needs the spawn
 * grant (which is the power to grant anything). The whole spec is checked
 * before the channels it serves are made, and they are removed again if the
 * process cannot be made: a failure leaves nothing behind. Errors:
 * -VE_PERM, -VE_FAULT, -VE_INVAL (a malformed spec, a bad channel name or
 * limit, an image that is not a valid ELF executable), -VE_NOENT (no such
 * image, or no PCI function matches a device grant), -VE_BUSY (a live
 * process holds a device it grants), -VE_NOMEM, -VE_RANGE (an image with
 * too many segments). As with ports and IRQs, the spawn grant is the power
 * to grant any device. */
static long sys_spawn_spec(SYS_ARGS)
{
	(void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	struct proc *p = proc_current();
	static struct ve_spawn sp; /* big; the kernel is not preemptible */
	struct bundle_ports ports[VE_SPAWN_PORTS];
	struct proc_chans pc;
	const char *why;
	unsigned created;
	int err, pid;

	if (!(p->grants & VE_GRANT_SPAWN))
		return -VE_PERM;
	if (vm_copy_in(p, &sp, a0, sizeof(sp)))
		return -VE_FAULT;
	if ((err = spawn_spec_check(&sp)))
		return err;
	const struct bundle_image *im =
	    boot_bundle ? bundle_image_find(boot_bundle, sp.image) : NULL;
	if (!im)
		return -VE_NOENT;
	memcpy(pc.serve, sp.serve, sizeof(pc.serve));
	memcpy(pc.open, sp.open, sizeof(pc.open));
	pc.queue = sp.queue;
	pc.qbytes = sp.qbytes;
	pc.redeliveries = sp.redeliveries;
	if ((err = ipc_chans_check(&pc)))
		return err;
	for (unsigned i = 0; i < sp.nports; i++)
		ports[i] = (struct bundle_ports){ sp.ports[i].first, sp.ports[i].last };
	if ((err = ipc_create_served(&pc, &created)))
		return err;
	struct proc_spec spec = {
		.name = sp.name,
		.image = bundle_image_data(boot_bundle, im),
		.image_len = im->size,
		.args = sp.args,
		.prio = (enum ve_prio)sp.prio,
		.ports = ports,
		.nports = sp.nports,
		.grants = (uint16_t)sp.grants,
		.irqs = sp.irqs,
		.chans = &pc,
		.devs = sp.devs,
	};
	if ((err = proc_create(&spec, p, &pid, &why))) {
		ipc_uncreate_served(&pc, created);
		klog("spawn_spec %s for %s failed: %s", sp.name, p->name, why);
		return err;
	}
	return pid;
}

/* bundle_read(name, buf, cap): a file carried in the boot bundle (program
 * images, policy files). Returns its size. Errors: -VE_NOENT, -VE_RANGE (cap
 * smaller than the file), -VE_FAULT, -VE_INVAL (bad name). */
static long sys_bundle_read(SYS_ARGS)
{
	(void)a3, (void)a4, (void)a5;
	struct proc *p = proc_current();
	char name[BUNDLE_NAME_MAX];
	int err = vm_copy_str_in(p, name, a0, sizeof(name));
	if (err)
		return err == -VE_RANGE ? -VE_INVAL : err;
	const struct bundle_image *im = boot_bundle ? bundle_image_find(boot_bundle, name) : NULL;
	if (!im)
		return -VE_NOENT;
	if (a2 < im->size)
		return -VE_RANGE;
	if ((err = vm_copy_out(p, a1, bundle_image_data(boot_bundle, im), im->size)))
		return err;
	return (long)im->size;
}

static long sys_inject(SYS_ARGS)
{
	(void)a4, (void)a5;
	if (a0 > 0x7fffffff)
		return -VE_NOENT;
	return inject_fault(proc_current(), (int)a0, a1, a2, a3);
}

static long sys_pci_info(SYS_ARGS)
{
	(void)a2, (void)a3, (void)a4, (void)a5;
	return pci_sys_info(proc_current(), a0, a1);
}

static long sys_dev_info(SYS_ARGS)
{
	(void)a2, (void)a3, (void)a4, (void)a5;
	return pci_sys_dev_info(proc_current(), a0, a1);
}

static long sys_dev_cfg_read(SYS_ARGS)
{
	(void)a3, (void)a4, (void)a5;
	return pci_sys_cfg_read(proc_current(), a0, a1, a2);
}

static long sys_dev_cfg_write(SYS_ARGS)
{
	(void)a4, (void)a5;
	return pci_sys_cfg_write(proc_current(), a0, a1, a2, a3);
}

static long sys_dev_map(SYS_ARGS)
{
	(void)a2, (void)a3, (void)a4, (void)a5;
	return pci_sys_map(proc_current(), a0, a1);
}

static long sys_dma_alloc(SYS_ARGS)
{
	(void)a2, (void)a3, (void)a4, (void)a5;
	return pci_sys_dma_alloc(proc_current(), a0, a1);
}

static const sys_fn sys_table[SYS_NCALLS] = {
	[SYS_EXIT] = sys_exit,
	[SYS_WRITE] = sys_write,
	[SYS_SLEEP] = sys_sleep,
	[SYS_YIELD] = sys_yield,
	[SYS_GETPID] = sys_getpid,
	[SYS_CLOCK] = sys_clock,
	[SYS_VM_ALLOC] = sys_vm_alloc,
	[SYS_VM_FREE] = sys_vm_free,
	[SYS_MEMINFO] = sys_meminfo,
	[SYS_SPAWN] = sys_spawn,
	[SYS_WAIT] = sys_wait,
	[SYS_HALT] = sys_halt,
	[SYS_KILL] = sys_kill,
	[SYS_CHAN_SERVE] = sys_chan_serve,
	[SYS_CHAN_OPEN] = sys_chan_open,
	[SYS_CHAN_CALL] = sys_chan_call,
	[SYS_CHAN_CAST] = sys_chan_cast,
	[SYS_CHAN_RECV] = sys_chan_recv,
	[SYS_CHAN_REPLY] = sys_chan_reply,
	[SYS_CHAN_ACK] = sys_chan_ack,
	[SYS_WAIT_ANY] = sys_wait_any,
	[SYS_IRQ_ACK] = sys_irq_ack,
	[SYS_EVENT] = sys_event,
	[SYS_REAP] = sys_reap,
	[SYS_STASH] = sys_stash,
	[SYS_STASH_DROP] = sys_stash_drop,
	[SYS_PS] = sys_ps,
	[SYS_CHAN_INFO] = sys_chan_info,
	[SYS_SPAWN_SPEC] = sys_spawn_spec,
	[SYS_BUNDLE_READ] = sys_bundle_read,
	[SYS_INJECT] = sys_inject,
	[SYS_CHAN_NEXT] = sys_chan_next,
	[SYS_PCI_INFO] = sys_pci_info,
	[SYS_DEV_INFO] = sys_dev_info,
	[SYS_DEV_CFG_READ] = sys_dev_cfg_read,
	[SYS_DEV_CFG_WRITE] = sys_dev_cfg_write,
	[SYS_DEV_MAP] = sys_dev_map,
	[SYS_DMA_ALLOC] = sys_dma_alloc,
	[SYS_CHAN_REPLY_RECV] = sys_chan_reply_recv,
	[SYS_CHAN_CASTV] = sys_chan_castv,
	[SYS_CHAN_RECVV] = sys_chan_recvv,
};

/* The system calls that commit a windowed stash (abi.h, VE_STASH_WINDOWS):
 * those by which something leaves the process for another one, or a
 * received message is finished. reply_recv and next commit when they
 * answer, recvv when it acks. */
static const bool sys_commits[SYS_NCALLS] = {
	[SYS_EXIT] = true,	 [SYS_CHAN_CALL] = true,  [SYS_CHAN_CAST] = true,
	[SYS_CHAN_CASTV] = true, [SYS_CHAN_REPLY] = true, [SYS_CHAN_ACK] = true,
	[SYS_SPAWN] = true,	 [SYS_SPAWN_SPEC] = true, [SYS_KILL] = true,
	[SYS_STASH_DROP] = true, [SYS_INJECT] = true,	  [SYS_HALT] = true,
};

/* p has a windowed stash, or an armed step fault (inject.c, which counts
 * from commits), and makes system call nr: commit first if nr commits.
 * Out of line, so the calls of a process without either pay one test in
 * syscall_dispatch and nothing else. */
static __attribute__((noinline, cold)) void windowed_call(struct proc *p, struct trap_frame *f,
							  uint64_t nr)
{
	uint32_t nacks;
	bool commits = nr < SYS_NCALLS && sys_commits[nr];
	if (nr == SYS_CHAN_REPLY_RECV || nr == SYS_CHAN_NEXT)
		commits = f->rsi != 0; /* its id: it answers */
	else if (nr == SYS_CHAN_RECVV)
		commits = !vm_copy_in(p, &nacks, f->rsi + offsetof(struct ve_batch, nacks),
				      sizeof(nacks)) &&
			  nacks; /* it acks */
	if (commits)
		stash_commit(p);
}

void syscall_dispatch(struct trap_frame *f)
{
	uint64_t nr = f->rax;
	struct proc *p = proc_current();
	/* One test for both: an or, not a second branch (the round trip). */
	if (__builtin_expect(((uintptr_t)p->stash_win | p->step_n) != 0, 0))
		windowed_call(p, f, nr);
	if (nr >= SYS_NCALLS || !sys_table[nr])
		f->rax = (uint64_t)-VE_BADCALL;
	else
		f->rax = (uint64_t)sys_table[nr](f->rdi, f->rsi, f->rdx, f->r10, f->r8, f->r9);
	/* sysret to a non-canonical rip would fault in ring 0 with the user's
	 * rsp: the classic trap. A user rip is always below the user top. */
	if (f->rip >= VE_USER_HI + PAGE_SIZE)
		proc_fault(proc_current(), VE_R_GP, 13, f->rip, 0);
}
