/*
 * Fault injection: inject(pid, kind, arg, seed) makes a fault happen to a
 * running service, for recovery tests and campaigns. Each fault is the
 * real thing, not a simulation: a crash is the target's own instruction
 * faulting in ring 3 (its saved rip is pointed into a read-only page of
 * trampolines, arch/x86_64/inject.asm), a hang spins there, a corruption
 * flips bits in its own pages, a leak takes memory into its own address
 * space (it calls vm_alloc itself, from a trampoline, until refused, then
 * holds it all), garbage is malformed messages on the channels it serves, a stall
 * keeps it off the CPU. Every random choice comes from `seed`, and each
 * injection is an `inject` event, so a campaign can be replayed exactly.
 */
#include "inject.h"

#include "arch.h"
#include "bundle.h"
#include "ipc.h"
#include "klog.h"
#include "lib/fmt.h"
#include "lib/string.h"
#include "mem.h"
#include "sched.h"

/* The trampoline page sits just above the stash window; vm.c keeps it out
 * of vm_alloc's reach. */
#define TRAMP_VA (VE_STASH_BASE + VE_STASH_MAX)

extern char inject_tramp[], inject_tramp_end[];
extern char inject_off_null[], inject_off_wild[], inject_off_ud[], inject_off_div[];
extern char inject_off_stack[], inject_off_hang[], inject_off_block[], inject_off_leak[];

static uint64_t tramp_frame; /* physical frame holding the trampolines */

static const char *const kind_names[VE_NINJECT] = VE_INJECT_NAMES;

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

int inject_init(void)
{
	int err = mem_frame_alloc_zero(&tramp_frame);
	if (err)
		return err;
	memcpy(phys_to_virt(tramp_frame), inject_tramp, (size_t)(inject_tramp_end - inject_tramp));
	return 0;
}

/* Map the trampolines into p (read + execute, not owned by p's space; the
 * tables are p's, charged to its share). */
static int map_tramp(struct proc *p)
{
	return vm_map_borrowed(p, TRAMP_VA, tramp_frame, VE_PROT_READ | VE_PROT_EXEC);
}

/* The saved user context of a process that is not running. */
static struct trap_frame *user_frame(struct proc *p)
{
	uint64_t top = (uint64_t)(uintptr_t)phys_to_virt(p->kstack) + KSTACK_PAGES * PAGE_SIZE;
	return (struct trap_frame *)(uintptr_t)(top - sizeof(struct trap_frame));
}

/* Make p leave whatever it is blocked in and return to ring 3 soon. */
static void kick(struct proc *p)
{
	switch (p->state) {
	case PROC_SLEEPING:
	case PROC_CALLING:
	case PROC_SENDING:
	case PROC_POLLING:
		p->timed_out = true;
		proc_wake(p);
		break;
	case PROC_WAITING:
		sched_add(p);
		break;
	default:
		break;
	}
}

/* An address in p's user range that nothing maps. */
static uint64_t unmapped_addr(struct proc *p, uint64_t *rng)
{
	for (int tries = 0; tries < 64; tries++) {
		uint64_t a = (0x100000000000ull + (rng_next(rng) % 0x100000000000ull)) & ~7ull;
		uint64_t *pte = arch_pte(p->pml4, a, false);
		if (!pte || !(*pte & PTE_P))
			return a;
	}
	return 8; /* page 0 is never mapped */
}

static int redirect(struct proc *p, enum ve_inject kind, uint64_t *rng, char *details, size_t n)
{
	static const struct {
		enum ve_inject kind;
		const char *off;
	} stubs[] = {
		{ VE_INJ_CRASH_NULL, inject_off_null },	  { VE_INJ_CRASH_WILD, inject_off_wild },
		{ VE_INJ_CRASH_UD, inject_off_ud },	  { VE_INJ_CRASH_DIV, inject_off_div },
		{ VE_INJ_CRASH_STACK, inject_off_stack }, { VE_INJ_HANG, inject_off_hang },
		{ VE_INJ_BLOCK, inject_off_block },	  { VE_INJ_LEAK, inject_off_leak },
	};
	int err = map_tramp(p);
	if (err)
		return err;
	struct trap_frame *f = user_frame(p);
	for (unsigned i = 0; i < sizeof(stubs) / sizeof(stubs[0]); i++) {
		if (stubs[i].kind != kind)
			continue;
		fmt_snprintf(details, n, "was at rip %#llx", (unsigned long long)f->rip);
		f->rip = TRAMP_VA + (uint64_t)(uintptr_t)stubs[i].off;
		if (kind == VE_INJ_CRASH_WILD) {
			f->rdi = unmapped_addr(p, rng);
			fmt_snprintf(details, n, "write to %#llx", (unsigned long long)f->rdi);
		}
	}
	kick(p);
	return 0;
}

/* Flip `flips` random bits in p's mapped user pages (code, data, heap,
 * stack, stash alike: whatever they hit is the effect, including none). */
static void corrupt(struct proc *p, uint64_t flips, uint64_t *rng, char *details, size_t n)
{
	uint64_t pages = arch_count_user_frames(p->pml4), first = 0;
	for (uint64_t i = 0; i < flips && pages; i++) {
		uint64_t va, *pte = arch_nth_user_page(p->pml4, rng_next(rng) % pages, &va);
		if (!pte || va == TRAMP_VA)
			continue; /* the shared trampolines are not the target's */
		uint64_t bit = rng_next(rng) % (PAGE_SIZE * 8);
		uint8_t *byte = (uint8_t *)phys_to_virt(*pte & PTE_ADDR) + bit / 8;
		*byte ^= (uint8_t)(1u << (bit % 8));
		if (!first)
			first = va + bit / 8;
	}
	fmt_snprintf(details, n, "%llu bits, first at %#llx", (unsigned long long)flips,
		     (unsigned long long)first);
}

/* Up to n malformed messages on each channel p serves: mostly short, now and
 * then as long as a message gets, random bytes, a quarter of them calls. */
static unsigned garbage(struct proc *p, uint64_t n, uint64_t *rng)
{
	static uint8_t buf[VE_MSG_MAX]; /* the kernel is not preemptible */
	unsigned sent = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t r = rng_next(rng);
		uint32_t len = (uint32_t)(r % 8 == 0 ? r % (VE_MSG_MAX + 1) : r % 64);
		for (uint32_t b = 0; b < len; b += 8) {
			uint64_t w = rng_next(rng);
			memcpy(buf + b, &w, len - b < 8 ? len - b : 8);
		}
		sent += ipc_send_to_served(p, (r >> 32) % 4 ? VE_MSG_CAST : VE_MSG_CALL, buf, len);
	}
	return sent;
}

/*
 * Whether a fault of this kind either ends its target (and the kernel
 * restarts a root supervisor that dies) or passes. Only those may go into
 * the root supervisor: nothing watches it for a hang, so a hang, a block,
 * a leak (which spins once refused) or bit flips (which may do either)
 * would stop supervision for good.
 */
static bool kills_or_passes(uint64_t kind)
{
	return kind != VE_INJ_HANG && kind != VE_INJ_BLOCK && kind != VE_INJ_LEAK &&
	       kind != VE_INJ_CORRUPT;
}

/* The caller may be its own target (the shell asked to fault itself): a
 * crash kind then takes effect as the system call returns, and kill or
 * exit end it inside the call. */
int inject_fault(struct proc *caller, int pid, uint64_t kind, uint64_t arg, uint64_t seed)
{
	char details[96] = "";
	int err = 0;

	if (!(caller->grants & BUNDLE_GRANT_INJECT))
		return -VE_PERM;
	if (kind == 0 || kind >= VE_NINJECT)
		return -VE_INVAL;
	struct proc *p = proc_by_pid(pid);
	if (!p || p->state == PROC_ZOMBIE || p->state == PROC_DEAD)
		return -VE_NOENT;
	if ((p->grants & BUNDLE_GRANT_SUPERVISOR) && !kills_or_passes(kind))
		return -VE_BUSY;
	if (seed == 0)
		seed = arch_rdtsc() | 1;
	uint64_t rng = seed;

	/* The event first: the fault may end the target at once. */
	struct evlog_line l;
	ev_start(&l, "inject");
	ev_str(&l, "target", p->name);
	ev_i64(&l, "pid", p->pid);
	ev_str(&l, "kind", kind_names[kind]);
	ev_u64(&l, "arg", arg);
	ev_u64(&l, "seed", seed);

	switch ((enum ve_inject)kind) {
	case VE_INJ_KILL:
		ev_send(&l);
		proc_kill(p, VE_R_KILLED);
		return 0;
	case VE_INJ_EXIT:
		ev_send(&l);
		proc_force_exit(p, (int64_t)arg);
		return 0;
	case VE_INJ_CORRUPT:
		corrupt(p, arg ? arg : 1, &rng, details, sizeof(details));
		break;
	case VE_INJ_GARBAGE:
		fmt_snprintf(details, sizeof(details), "%u messages",
			     garbage(p, arg ? arg : 16, &rng));
		break;
	case VE_INJ_SLOW:
		p->stall_until = arch_now_ns() + (arg ? arg : 100000000ull);
		fmt_snprintf(details, sizeof(details), "stalled %llu ms",
			     (unsigned long long)((arg ? arg : 100000000ull) / 1000000));
		break;
	default:
		err = redirect(p, (enum ve_inject)kind, &rng, details, sizeof(details));
		break;
	}
	ev_str(&l, "details", details);
	ev_send(&l);
	return err;
}
