/*
 * Fault injection: inject(pid, kind, arg, seed) makes a fault happen to a
 * running service, for recovery tests and campaigns. Each fault is the
 * real thing, not a simulation: a crash is the target's own instruction
 * faulting in ring 3 (its saved rip is pointed into a read-only page of
 * trampolines, arch/x86_64/inject.asm), a hang spins there, a corruption
 * flips bits in its own pages, a leak takes memory into its own address
 * space (it calls vm_alloc itself, from a trampoline, until refused, then
 * holds it all), garbage is malformed messages on the channels it serves, a stall
 * keeps it off the CPU, a step kills it a given number of user instructions
 * after a commit (single-stepped: RFLAGS.TF, one #DB per instruction), so
 * a test can land a death on every instruction of a request's path. Every random choice comes from `seed`, and each
 * injection is an `inject` event, so one fault can be replayed exactly (a
 * whole campaign cannot: when its faults land is host time).
 * The kernel is not preemptible, so what a call does in it is bounded: an
 * arg past its kind's maximum (VE_INJ_*_MAX in abi.h) is refused, and
 * whatever takes long (a hang, a leak) runs in the target, at its own
 * priority.
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
#include "vm.h"

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

/* Make p leave whatever it is blocked in (wait() too) and return to ring 3
 * soon: as if its deadline had passed (a call it was in is cancelled at
 * once, so the channel never counts it as anything but cancelled). */
static void kick(struct proc *p)
{
	if (proc_blocked(p))
		ipc_timeout(p);
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

/* The kinds that run in the target through the trampoline page. */
static bool via_trampoline(uint64_t kind)
{
	return (kind >= VE_INJ_CRASH_NULL && kind <= VE_INJ_BLOCK) || kind == VE_INJ_LEAK;
}

/* Point p's saved rip at the trampoline of kind (map_tramp mapped it). */
static void redirect(struct proc *p, enum ve_inject kind, uint64_t *rng, char *details, size_t n)
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
	struct trap_frame *f = proc_user_frame(p);
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
}

/*
 * corrupt: the bits are drawn first, in the order a seed has always drawn
 * them (a page, then a bit in it, one flip after another), and then flipped
 * in one pass over p's page tables in page order, which gives the same
 * memory since flips commute. So a call costs two walks of p's tables and a
 * sort of at most VE_INJ_CORRUPT_MAX draws, however large p is.
 */
#define FLIP_BIT_BITS 15 /* log2(PAGE_SIZE * 8): a bit in a page */
#define FLIP_BIT_MASK ((1ull << FLIP_BIT_BITS) - 1)
_Static_assert(PAGE_SIZE * 8 == 1ull << FLIP_BIT_BITS, "a bit of a page fits FLIP_BIT_BITS");

/* page << FLIP_BIT_BITS | bit, one per draw; static, as the kernel is not
 * preemptible. */
static uint64_t flips_drawn[VE_INJ_CORRUPT_MAX];

struct flip_walk {
	uint64_t pages; /* counted by count_page */
	uint64_t tramp; /* the trampolines' page number, or UINT64_MAX */
	size_t next, n; /* apply_flips: flips_drawn[next..n) are still to do */
	uint64_t first, first_va;
};

static bool count_page(void *ctx, uint64_t n, uint64_t va, uint64_t *pte)
{
	struct flip_walk *w = ctx;
	(void)pte;
	w->pages = n + 1;
	if (va == TRAMP_VA)
		w->tramp = n;
	return true;
}

static bool apply_flips(void *ctx, uint64_t n, uint64_t va, uint64_t *pte)
{
	struct flip_walk *w = ctx;
	for (; w->next < w->n && flips_drawn[w->next] >> FLIP_BIT_BITS == n; w->next++) {
		uint64_t bit = flips_drawn[w->next] & FLIP_BIT_MASK;
		if (*pte & PTE_PCD)
			continue; /* a device's registers (dev_map): not memory, and
				     maybe not in the direct map at all */
		uint8_t *byte = (uint8_t *)phys_to_virt(*pte & PTE_ADDR) + bit / 8;
		*byte ^= (uint8_t)(1u << (bit % 8));
	}
	if (n == w->first >> FLIP_BIT_BITS)
		w->first_va = va + (w->first & FLIP_BIT_MASK) / 8;
	return w->next < w->n;
}

static void sift_down(uint64_t *a, size_t root, size_t n)
{
	for (size_t child; (child = 2 * root + 1) < n; root = child) {
		if (child + 1 < n && a[child + 1] > a[child])
			child++;
		if (a[root] >= a[child])
			return;
		uint64_t t = a[root];
		a[root] = a[child];
		a[child] = t;
	}
}

/* Heapsort: no recursion, no allocation, n log n at worst. */
static void sort_u64(uint64_t *a, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(a, i, n);
	for (size_t end = n; end-- > 1;) {
		uint64_t t = a[0];
		a[0] = a[end];
		a[end] = t;
		sift_down(a, 0, end);
	}
}

/* Flip `flips` (1..VE_INJ_CORRUPT_MAX) random bits in p's mapped user
 * pages (code, data, heap, stack, stash, DMA memory alike: whatever they
 * hit is the effect, including none); the shared trampolines are not p's,
 * and a draw that lands on them, or on a device's mapped registers, flips
 * nothing. */
static void corrupt(struct proc *p, uint64_t flips, uint64_t *rng, char *details, size_t n)
{
	struct flip_walk w = { .tramp = UINT64_MAX };
	arch_walk_user_pages(p->pml4, count_page, &w);
	for (uint64_t i = 0; i < flips && w.pages; i++) {
		uint64_t page = rng_next(rng) % w.pages;
		if (page == w.tramp)
			continue;
		flips_drawn[w.n++] = page << FLIP_BIT_BITS | rng_next(rng) % (PAGE_SIZE * 8);
	}
	if (w.n) {
		w.first = flips_drawn[0];
		sort_u64(flips_drawn, w.n);
		arch_walk_user_pages(p->pml4, apply_flips, &w);
	}
	fmt_snprintf(details, n, "%llu bits, first at %#llx", (unsigned long long)flips,
		     (unsigned long long)w.first_va);
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

/*
 * step: the count starts at a commit (stash_commit calls inject_step_commit),
 * not at the injection, so that it is measured from a point the target's
 * own code defines: "n instructions into the request after a reply", the
 * same on every run. Until then p runs at full speed; from then on every
 * user instruction traps (#DB), and each commit starts the count again.
 * The kernel itself never runs with TF (SFMASK and the interrupt gates
 * clear it), so only user instructions count; a system call counts as one
 * only if it does not commit (a commit resets the count).
 */
static void arm_step(struct proc *p, uint64_t n)
{
	p->step_n = n;
	p->step_left = 0; /* not counting until the next commit */
	arch_user_single_step(proc_user_frame(p), false);
}

void inject_step_commit(struct proc *p)
{
	if (!p->step_n)
		return;
	p->step_left = p->step_n;
	arch_user_single_step(proc_user_frame(p), true);
}

bool inject_step_trap(struct proc *p, uint64_t rip)
{
	if (!p->step_n || !p->step_left)
		return false;
	if (--p->step_left)
		return true;
	/* An injected kill, told apart from kill's by the vector and where. */
	proc_fault(p, VE_R_KILLED, 1, rip, 0);
}

/* The caller may be its own target (the shell asked to fault itself): a
 * crash kind then takes effect as the system call returns, and kill or
 * exit end it inside the call. */
int inject_fault(struct proc *caller, int pid, uint64_t kind, uint64_t arg, uint64_t seed)
{
	char details[96] = "";

	if (!(caller->grants & VE_GRANT_INJECT))
		return -VE_PERM;
	if (kind == 0 || kind >= VE_NINJECT)
		return -VE_INVAL;
	struct proc *p = proc_by_pid(pid);
	if (!p || p->state == PROC_ZOMBIE || p->state == PROC_DEAD)
		return -VE_NOENT;
	if ((p->grants & VE_GRANT_SUPERVISOR) && !kills_or_passes(kind))
		return -VE_BUSY;
	/* The work one call does in the kernel, which nothing preempts, is
	 * bounded by these maxima, and a stall's end cannot wrap around. */
	if (arg > ve_inject_arg_max(kind) || (kind == VE_INJ_STEP && arg == 0))
		return -VE_INVAL;
	int err = via_trampoline(kind) ? map_tramp(p) : 0;
	if (err)
		return err; /* refused before any event, like the checks above */
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
	case VE_INJ_STEP:
		arm_step(p, arg);
		fmt_snprintf(details, sizeof(details), "%llu instructions after its next commit",
			     (unsigned long long)arg);
		break;
	default:
		redirect(p, (enum ve_inject)kind, &rng, details, sizeof(details));
		break;
	}
	ev_str(&l, "details", details);
	ev_send(&l);
	return 0;
}
