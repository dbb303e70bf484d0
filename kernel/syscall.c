/*
 * System calls: one table, indexed by number. Each handler validates every
 * argument before it changes anything, and returns >= 0 or -VE_*.
 */
#include "arch.h"
#include "bundle.h"
#include "ipc.h"
#include "klog.h"
#include "lib/string.h"
#include "mem.h"
#include "proc.h"
#include "sched.h"

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
	p->wake_ns = ns > UINT64_MAX - now ? UINT64_MAX : now + ns;
	p->state = PROC_SLEEPING;
	sched_block();
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
static int spec_for(const char *name, const char *args, struct proc_spec *spec)
{
	const struct bundle_proc *bp = NULL;
	for (uint32_t i = 0; boot_bundle && i < boot_bundle->nprocs && !bp; i++)
		if (strcmp(boot_bundle->procs[i].name, name) == 0)
			bp = &boot_bundle->procs[i];
	const struct bundle_image *im =
	    boot_bundle ? bundle_image_find(boot_bundle, bp ? bp->image : name) : NULL;
	if (!im)
		return -VE_NOENT;
	*spec = (struct proc_spec){
		.name = name,
		.image = bundle_image_data(boot_bundle, im),
		.image_len = im->size,
		.args = args ? args
			: bp ? bp->args
			     : "",
		.prio = bp ? (enum proc_prio)bp->prio : PRIO_SERVICE,
		.ports = bp ? bp->ports : NULL,
		.nports = bp ? bp->nports : 0,
		.grants = bp ? bp->grants : 0,
		.irqs = bp ? bp->irqs : 0,
		.entry = bp,
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

	if (!(p->grants & BUNDLE_GRANT_SPAWN))
		return -VE_PERM;
	if ((err = vm_copy_str_in(p, image, uimage, sizeof(image))))
		return err;
	if (uargs && (err = vm_copy_str_in(p, args, uargs, sizeof(args))))
		return err;
	struct proc_spec spec;
	if ((err = spec_for(image, uargs ? args : NULL, &spec)))
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
	if (!(p->grants & BUNDLE_GRANT_HALT))
		return -VE_PERM;
	struct evlog_line l;
	ev_start(&l, "halt");
	ev_i64(&l, "code", (int64_t)code);
	ev_i64(&l, "by", p->pid);
	ev_send(&l);
	klog("halt requested by %s (pid %d), code %lld", p->name, p->pid, (long long)code);
	arch_halt_machine(code != 0);
}

static long sys_kill(uint64_t pid, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	(void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	struct proc *p = proc_current();
	struct proc *v = pid <= 0x7fffffff ? proc_by_pid((int)pid) : NULL;
	if (!v || v->state == PROC_ZOMBIE || v->state == PROC_DEAD)
		return -VE_NOENT;
	if (v->parent != p && v != p && !(p->grants & BUNDLE_GRANT_KILL))
		return -VE_PERM;
	proc_kill(v);
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
	return ipc_call(proc_current(), (int)(int64_t)a0, a1, a2, a3, a4, a5);
}

static long sys_chan_cast(SYS_ARGS)
{
	(void)a4, (void)a5;
	return ipc_cast(proc_current(), (int)(int64_t)a0, a1, a2, a3);
}

static long sys_chan_recv(SYS_ARGS)
{
	(void)a4, (void)a5;
	return ipc_recv(proc_current(), (int)(int64_t)a0, a1, a2, a3);
}

static long sys_chan_reply(SYS_ARGS)
{
	(void)a4, (void)a5;
	return ipc_reply(proc_current(), (int)(int64_t)a0, a1, a2, a3);
}

static long sys_chan_ack(SYS_ARGS)
{
	(void)a2, (void)a3, (void)a4, (void)a5;
	return ipc_ack(proc_current(), (int)(int64_t)a0, a1);
}

static long sys_wait_any(SYS_ARGS)
{
	(void)a4, (void)a5;
	return ipc_wait_any(proc_current(), a0, a1, a2, a3);
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
};

void syscall_dispatch(struct trap_frame *f)
{
	uint64_t nr = f->rax;
	if (nr >= SYS_NCALLS || !sys_table[nr])
		f->rax = (uint64_t)-VE_BADCALL;
	else
		f->rax = (uint64_t)sys_table[nr](f->rdi, f->rsi, f->rdx, f->r10, f->r8, f->r9);
	/* sysret to a non-canonical rip would fault in ring 0 with the user's
	 * rsp: the classic trap. A user rip is always below the user top. */
	if (f->rip >= VE_USER_HI + PAGE_SIZE)
		proc_fault(proc_current(), VE_R_GP, 13, f->rip, 0);
}
