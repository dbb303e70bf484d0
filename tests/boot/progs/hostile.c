/*
 * hostile: a bounded system-call fuzzer. Whatever it does, the kernel must
 * stay up and answer every call with a success or a real error code.
 *
 * Args "SEED COUNT" (default "1 20000"). It makes COUNT calls, cycling
 * through every call number 1..SYS_NCALLS+16 and the huge numbers -1,
 * 1<<63 and 2^32+1, each with six arguments drawn from edge values: null,
 * kernel and non-canonical addresses, the top of the user range, a
 * misaligned stack address, an unmapped page, read-only text, a buffer that
 * runs into an unmapped page, huge and page-sized lengths and small random
 * numbers.
 * Around the fuzzing it runs fixed checks with known answers, and makes
 * syscalls from a garbage rsp and with the direction flag set.
 *
 * So that the fuzzer only ever tests the kernel, never hurts itself, some
 * arguments are tamed (see tame()): exit is called only at the end, sleeps
 * and waits (wait_any, call, next, reply_recv, recvv) last at most 1 ms, writes from its own memory are at most 64 bytes of
 * dots, and vm_alloc/vm_free never get an address that could cover its own
 * image, stack or buffers -- such addresses are moved to the unmapped page,
 * keeping their low bits. Anything vm_alloc hands out is freed at once.
 *
 * Exit codes: 0 all well; 2 a result that is neither a success nor a
 * valid -VE_* (or a nonsensical success); 3 a fixed check gave the wrong
 * answer; 4 bad arguments or setup failed; 77 the kernel ran call number
 * 1<<63 as exit (it looked only at the low bits).
 */
#include "vesta.h"

#define DEFAULT_SEED 1
#define DEFAULT_COUNT 20000
#define EXTRA_NUMBERS 16	/* unknown numbers tried past SYS_NCALLS */
#define SLEEP_MAX_NS 1000000ull /* 1 ms, so COUNT calls stay quick */
#define WRITE_MAX_OWN 64	/* don't flood the console */
#define SCRATCH 256		/* bytes in each of our buffers */
#define FILL '.'		/* what our buffers hold, printable */
#define EDGE_MAPPED 8		/* bytes of the edge buffer that are mapped */
#define EXIT_ALIAS_CODE 77	/* if 1<<63 is ever taken as exit */
#define PROGRESS_EVERY 5000
#define KERNEL_TEXT 0xffffffff80100000ull

/* Memory we point the kernel at. */
struct targets {
	char *own;	/* SCRATCH bytes of our bss */
	char *stack;	/* SCRATCH bytes of main's stack */
	char *edge;	/* EDGE_MAPPED bytes ending a mapped page */
	uint64_t hole;	/* the page after edge: unmapped */
	uint64_t text;	/* main: mapped, read-only, executable */
	const char *ro; /* WRITE_MAX_OWN dots in rodata */
	int pid;	/* as crt0 was given it */
};

struct fuzz {
	const struct targets *t;
	uint64_t rng;	/* xorshift64* state, never 0 */
	uint64_t calls; /* system calls made, of every kind */
	uint64_t leaks; /* fuzz allocations that would not free */
};

/* One system call: its number and its six arguments. */
struct call {
	long nr;
	uint64_t a[6];
};

static char own_buf[SCRATCH];
static const char ro_dots[] = "................................................................";
_Static_assert(sizeof(ro_dots) == WRITE_MAX_OWN + 1, "ro_dots length");

static uint64_t rng_next(struct fuzz *f)
{
	uint64_t x = f->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	f->rng = x;
	return x * 0x2545f4914f6cdd1dull;
}

static long do_call(struct fuzz *f, const struct call *c)
{
	f->calls++;
	return ve_syscall(c->nr, (long)c->a[0], (long)c->a[1], (long)c->a[2], (long)c->a[3],
			  (long)c->a[4], (long)c->a[5]);
}

static bool valid_error(long r)
{
	return r <= -1 && r >= -(long)(VE_NERR - 1);
}

static _Noreturn void fail(int code, const char *what, const struct call *c, long r)
{
	ve_printf("\nhostile: FAIL: %s: call %#lx(%#llx, %#llx, %#llx, %#llx, "
		  "%#llx, %#llx) returned %ld (%s)\n",
		  what, (unsigned long)c->nr, (unsigned long long)c->a[0],
		  (unsigned long long)c->a[1], (unsigned long long)c->a[2],
		  (unsigned long long)c->a[3], (unsigned long long)c->a[4],
		  (unsigned long long)c->a[5], r, ve_strerror(r));
	ve_exit(code);
}

/* --- Fixed checks --- */

enum want_kind { WANT_EQ, WANT_NEG };

struct fixed {
	const char *what;
	struct call c;
	enum want_kind kind;
	long want; /* for WANT_EQ */
};

static void run_fixed(struct fuzz *f, const struct fixed *x)
{
	long r = do_call(f, &x->c);
	bool ok = x->kind == WANT_EQ ? r == x->want : valid_error(r);

	if (!ok)
		fail(3, x->what, &x->c, r);
}

/* Calls whose answer the ABI fixes. Run before and after the fuzzing. */
static void check_fixed(struct fuzz *f)
{
	const struct targets *t = f->t;
	static struct ve_exit ex;
	const uint64_t rw = VE_PROT_READ | VE_PROT_WRITE;
	const struct fixed checks[] = {
		{ "meminfo(NULL)", { SYS_MEMINFO, { 0 } }, WANT_EQ, -VE_FAULT },
		{ "meminfo(kernel)",
		  { SYS_MEMINFO, { 0xffff800000000000ull } },
		  WANT_EQ,
		  -VE_FAULT },
		{ "meminfo(read-only text)", { SYS_MEMINFO, { t->text } }, WANT_EQ, -VE_FAULT },
		{ "meminfo(straddling unmapped)",
		  { SYS_MEMINFO, { (uint64_t)(uintptr_t)t->edge } },
		  WANT_EQ,
		  -VE_FAULT },
		{ "write(kernel text)", { SYS_WRITE, { KERNEL_TEXT, 8 } }, WANT_EQ, -VE_FAULT },
		{ "write(straddling unmapped)",
		  { SYS_WRITE, { (uint64_t)(uintptr_t)t->edge, 2 * EDGE_MAPPED } },
		  WANT_EQ,
		  -VE_FAULT },
		{ "write(unmapped)", { SYS_WRITE, { t->hole, 1 } }, WANT_EQ, -VE_FAULT },
		{ "vm_alloc(kernel half)",
		  { SYS_VM_ALLOC, { 0xffff800000000000ull, VE_PAGE_SIZE, rw } },
		  WANT_NEG,
		  0 },
		{ "vm_alloc(excluded top page)",
		  { SYS_VM_ALLOC, { VE_USER_HI, VE_PAGE_SIZE, rw } },
		  WANT_NEG,
		  0 },
		{ "unknown call 9999", { 9999, { 0 } }, WANT_EQ, -VE_BADCALL },
		{ "wait(not a child)",
		  { SYS_WAIT, { 12345, (uint64_t)(uintptr_t)&ex } },
		  WANT_EQ,
		  -VE_CHILD },
		{ "spawn without the grant",
		  { SYS_SPAWN, { (uint64_t)(uintptr_t) "hello", (uint64_t)(uintptr_t) "" } },
		  WANT_EQ,
		  -VE_PERM },
		{ "halt without the grant", { SYS_HALT, { 0 } }, WANT_EQ, -VE_PERM },
		{ "getpid", { SYS_GETPID, { 0 } }, WANT_EQ, t->pid },
	};

	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		run_fixed(f, &checks[i]);
}

/* --- Register-level abuse --- */

/*
 * getpid with rsp set to bad_rsp. The kernel must not touch the user stack
 * on syscall entry; sysret puts bad_rsp back and we restore our own.
 */
static long getpid_on_stack(uint64_t bad_rsp)
{
	long r;

	__asm__ volatile("mov %%rsp, %%r12\n\t"
			 "mov %[sp], %%rsp\n\t"
			 "syscall\n\t"
			 "mov %%r12, %%rsp"
			 : "=a"(r)
			 : "a"((long)SYS_GETPID), [sp] "r"(bad_rsp)
			 : "rcx", "r11", "r12", "memory");
	return r;
}

/* A two-argument syscall made with the direction flag set. */
static long call_with_df(long nr, uint64_t a0, uint64_t a1)
{
	long r;

	__asm__ volatile("std\n\t"
			 "syscall\n\t"
			 "cld"
			 : "=a"(r)
			 : "a"(nr), "D"(a0), "S"(a1)
			 : "rcx", "r11", "memory");
	return r;
}

static void check_registers(struct fuzz *f)
{
	const uint64_t bad_rsp[] = { 0, KERNEL_TEXT, 0x8000000000000000ull,
				     1, VE_USER_HI,  f->t->hole };
	static const char df_line[] = "hostile: a write made with DF set\n";
	struct ve_meminfo plain, with_df;
	struct call c = { SYS_GETPID, { 0 } };
	long r;

	for (size_t i = 0; i < sizeof(bad_rsp) / sizeof(bad_rsp[0]); i++) {
		f->calls++;
		r = getpid_on_stack(bad_rsp[i]);
		if (r != f->t->pid) {
			c.a[0] = bad_rsp[i]; /* shown as the "argument" */
			fail(3, "getpid with a bad rsp (shown as arg 0)", &c, r);
		}
	}

	f->calls += 4;
	c.nr = SYS_GETPID;
	if ((r = call_with_df(SYS_GETPID, 0, 0)) != f->t->pid)
		fail(3, "getpid with DF set", &c, r);
	c.nr = SYS_WRITE;
	r = call_with_df(SYS_WRITE, (uint64_t)(uintptr_t)df_line, sizeof(df_line) - 1);
	if (r != (long)sizeof(df_line) - 1)
		fail(3, "write with DF set", &c, r);
	c.nr = SYS_MEMINFO;
	memset(&with_df, 0, sizeof(with_df));
	if ((r = ve_meminfo(&plain)) != 0)
		fail(3, "meminfo", &c, r);
	r = call_with_df(SYS_MEMINFO, (uint64_t)(uintptr_t)&with_df, 0);
	if (r != 0 || with_df.total_frames != plain.total_frames)
		fail(3, "meminfo with DF set (or total_frames changed)", &c, r);
}

/* --- Fuzzing --- */

/* A random argument from the edge values. */
static uint64_t pick_arg(struct fuzz *f)
{
	const struct targets *t = f->t;
	uint64_t rnd = rng_next(f);

	switch (rng_next(f) % 20) {
	case 0:
		return 0;
	case 1:
		return 1;
	case 2:
		return UINT64_MAX;
	case 3:
		return 0x7fffffffffffull;
	case 4:
		return 0x800000000000ull;
	case 5:
		return VE_USER_HI;
	case 6:
		return 0xffff800000000000ull;
	case 7:
		return 0xffffffff80000000ull;
	case 8:
		return KERNEL_TEXT;
	case 9:
		return 0x8000000000000000ull;
	case 10:
		return (uint64_t)(uintptr_t)(t->stack + 1);
	case 11:
		return t->hole;
	case 12:
		return t->text;
	case 13:
		return (uint64_t)(uintptr_t)t->edge;
	case 14:
		return 1ull << 40;
	case 15:
		return (uint64_t)(uintptr_t)t->own;
	case 16:
		return rnd;
	case 17:
		return VE_PAGE_SIZE * (1 + rnd % 4); /* a valid length */
	case 18:
		return rnd % 8; /* a prot, a small pid */
	default:
		return rnd % 4096;
	}
}

/* The call number for the i-th fuzz call: all of them, in turn. */
static long pick_nr(uint64_t i)
{
	static const long huge[] = { -1, (long)(1ull << 63), (long)0x100000001ull };
	const uint64_t nsmall = SYS_NCALLS + EXTRA_NUMBERS; /* 1..that */
	uint64_t k = i % (nsmall + sizeof(huge) / sizeof(huge[0]));

	return k < nsmall ? (long)(k + 1) : huge[k - nsmall];
}

static bool in_range(uint64_t v, const void *base, size_t len)
{
	uint64_t b = (uint64_t)(uintptr_t)base;

	return v >= b && v - b < len;
}

static bool in_user_range(uint64_t v)
{
	return v >= VE_USER_LO && v < VE_USER_HI;
}

/* next and recvv wait for the timeout in their struct (at is its address):
 * where that struct can be read and written (our buffers, and the page
 * that ends in the edge bytes, which pick_arg's 1 << 40 names; anything
 * else faults), bound the timeout there, like wait_any's. */
static void tame_timeout_at(const struct targets *t, uint64_t at)
{
	uint64_t v;
	const char *edge_page = (const char *)(uintptr_t)(t->hole - VE_PAGE_SIZE);

	if (!in_range(at, t->own, SCRATCH - sizeof(v) + 1) &&
	    !in_range(at, t->stack, SCRATCH - sizeof(v) + 1) &&
	    !in_range(at, edge_page, VE_PAGE_SIZE - sizeof(v) + 1))
		return;
	memcpy(&v, (const void *)(uintptr_t)at, sizeof(v));
	v = 1 + v % SLEEP_MAX_NS;
	memcpy((void *)(uintptr_t)at, &v, sizeof(v));
}

/*
 * Make c harmless to us (see the file comment). Tamed by the low 32 bits of
 * the number too, in case a kernel truncates it.
 */
static void tame(const struct targets *t, struct call *c)
{
	uint64_t *a = c->a;

	switch ((uint32_t)c->nr) {
	case SYS_EXIT:
		a[0] = EXIT_ALIAS_CODE;
		break;
	case SYS_WRITE:
		if (a[0] == t->text)
			a[0] = (uint64_t)(uintptr_t)t->ro;
		if (in_range(a[0], t->own, SCRATCH) || in_range(a[0], t->stack, SCRATCH) ||
		    in_range(a[0], t->ro, WRITE_MAX_OWN) || in_range(a[0], t->edge, EDGE_MAPPED))
			a[1] %= WRITE_MAX_OWN + 1;
		break;
	case SYS_SLEEP:
		if (a[0] > SLEEP_MAX_NS)
			a[0] %= SLEEP_MAX_NS + 1;
		break;
	case SYS_WAIT_ANY: /* timeout 0 means forever: bound it like sleep */
		a[2] = 1 + a[2] % SLEEP_MAX_NS;
		break;
	case SYS_CHAN_CALL:
		a[5] = 1 + a[5] % SLEEP_MAX_NS;
		break;
	case SYS_CHAN_REPLY_RECV: /* on one of our own server handles, it waits */
		a[4] = 1 + a[4] % SLEEP_MAX_NS;
		break;
	case SYS_CHAN_NEXT: /* with no handles, it still waits */
		tame_timeout_at(t, a[4] + offsetof(struct ve_next, timeout_ns));
		break;
	case SYS_CHAN_RECVV: /* on a server handle, it waits */
		tame_timeout_at(t, a[1] + offsetof(struct ve_batch, timeout_ns));
		break;
	case SYS_KILL:
		if (a[0] == (uint64_t)t->pid)
			a[0] = 0; /* not ourselves */
		break;
	case SYS_PS: /* at most what fits in one of our buffers */
		a[1] %= (SCRATCH - 1) / sizeof(struct ve_procinfo) + 1;
		break;
	case SYS_BUNDLE_READ:
		a[2] %= SCRATCH; /* smaller than any image: only the checks run */
		break;
	case SYS_VM_ALLOC:
	case SYS_VM_FREE:
		if (in_user_range(a[0])) {
			/* Keep [a0, a0 + a1) inside the hole. */
			a[0] = t->hole + (a[0] % VE_PAGE_SIZE);
			a[1] %= t->hole + VE_PAGE_SIZE - a[0] + 1;
		}
		break;
	default:
		break;
	}
}

/* Give back what a fuzz vm_alloc of len bytes returned at addr. */
static void undo_alloc(struct fuzz *f, uint64_t addr, uint64_t len)
{
	uint64_t pages = len / VE_PAGE_SIZE + (len % VE_PAGE_SIZE != 0);
	int r;

	if (pages == 0)
		return; /* a zero-length "allocation" holds nothing */
	f->calls++;
	r = ve_vm_free(addr, pages * VE_PAGE_SIZE);
	if (r < 0) {
		f->leaks++;
		ve_printf("\nhostile: warning: vm_free(%#llx, %llu pages) of a "
			  "fuzz allocation: %s\n",
			  (unsigned long long)addr, (unsigned long long)pages, ve_strerror(r));
	}
}

/* Check the result of fuzz call c; exit if it is wrong. */
static void judge(struct fuzz *f, const struct call *c, long r)
{
	if (c->nr < 0 || c->nr >= SYS_NCALLS) {
		if (r != -VE_BADCALL)
			fail(3, "an unknown call number", c, r);
		return;
	}
	if (r < 0) {
		if (!valid_error(r))
			fail(2, "not a valid error", c, r);
		return;
	}
	switch (c->nr) {
	case SYS_WRITE:
		if ((uint64_t)r > c->a[1])
			fail(2, "wrote more than asked", c, r);
		break;
	case SYS_VM_ALLOC:
		if (r % VE_PAGE_SIZE != 0 || !in_user_range((uint64_t)r))
			fail(2, "vm_alloc gave a bad address", c, r);
		undo_alloc(f, (uint64_t)r, c->a[1]);
		break;
	case SYS_GETPID:
		if (r != f->t->pid)
			fail(2, "getpid changed", c, r);
		break;
	case SYS_SPAWN:
	case SYS_WAIT:
	case SYS_HALT:
	case SYS_KILL:
	case SYS_CHAN_SERVE:
	case SYS_CHAN_OPEN:
	case SYS_CHAN_CALL:
	case SYS_CHAN_CAST:
	case SYS_CHAN_RECV:
	case SYS_CHAN_REPLY:
	case SYS_CHAN_ACK:
	case SYS_IRQ_ACK:
	case SYS_REAP:
	case SYS_STASH_DROP:
	case SYS_SPAWN_SPEC:
		fail(3, "succeeded without grant, child or handle", c, r);
	default:
		break;
	}
}

/* Put our buffers back to dots, in case a call wrote into them. */
static void refill(const struct targets *t)
{
	memset(t->own, FILL, SCRATCH);
	memset(t->stack, FILL, SCRATCH);
	memset(t->edge, FILL, EDGE_MAPPED);
}

/*
 * Random edge values almost never make a valid vm_alloc, so half the
 * vm_alloc calls get a plausible address, length and prot instead: the
 * kernel's mapping paths get exercised, not only its argument checks.
 */
static void make_plausible(struct fuzz *f, struct call *c)
{
	uint64_t rnd = rng_next(f);

	c->a[0] = rnd % 2 ? 0 : f->t->hole;
	c->a[1] = VE_PAGE_SIZE * (1 + (rnd >> 8) % 4);
	c->a[2] = (rnd >> 16) % 8;
}

static void fuzz(struct fuzz *f, uint64_t count)
{
	for (uint64_t i = 0; i < count; i++) {
		struct call c;
		long r;

		c.nr = pick_nr(i);
		for (int k = 0; k < 6; k++)
			c.a[k] = pick_arg(f);
		if (c.nr == SYS_VM_ALLOC && rng_next(f) % 2 == 0)
			make_plausible(f, &c);
		tame(f->t, &c);
		r = do_call(f, &c);
		refill(f->t);
		judge(f, &c, r);
		if ((i + 1) % PROGRESS_EVERY == 0)
			ve_printf("\nhostile: %llu/%llu fuzz calls\n", (unsigned long long)(i + 1),
				  (unsigned long long)count);
	}
}

/* --- Setup --- */

/*
 * Map one page with the next page unmapped: edge is the last EDGE_MAPPED
 * bytes of the first, hole the second. Maps two pages and frees the upper
 * one; if the kernel won't split a mapping, maps the lower one alone at
 * the address it gave. Returns 0 or an error.
 */
static long setup_edge(struct targets *t)
{
	const unsigned rw = VE_PROT_READ | VE_PROT_WRITE;
	long base = ve_vm_alloc(0, 2 * VE_PAGE_SIZE, rw);
	long r;

	if (base < 0)
		return base;
	if (ve_vm_free((uint64_t)base + VE_PAGE_SIZE, VE_PAGE_SIZE) < 0) {
		r = ve_vm_free((uint64_t)base, 2 * VE_PAGE_SIZE);
		if (r < 0)
			return r;
		r = ve_vm_alloc((uint64_t)base, VE_PAGE_SIZE, rw);
		if (r < 0)
			return r;
		if (r != base)
			return -VE_INVAL;
	}
	t->hole = (uint64_t)base + VE_PAGE_SIZE;
	t->edge = (char *)(uintptr_t)(t->hole - EDGE_MAPPED);
	return 0;
}

/* Read "SEED COUNT"; either may be left out. Returns 0 or -VE_INVAL. */
static int parse_args(const char *args, uint64_t *seed, uint64_t *count)
{
	const char *p = ve_skip_space(args);

	*seed = DEFAULT_SEED;
	*count = DEFAULT_COUNT;
	if (*p != '\0' && ve_parse_u64(&p, seed) < 0)
		return -VE_INVAL;
	p = ve_skip_space(p);
	if (*p != '\0' && ve_parse_u64(&p, count) < 0)
		return -VE_INVAL;
	return *ve_skip_space(p) == '\0' ? 0 : -VE_INVAL;
}

int main(const char *args)
{
	char stack_buf[SCRATCH];
	struct targets t = {
		.own = own_buf,
		.stack = stack_buf,
		.text = (uint64_t)(uintptr_t)main,
		.ro = ro_dots,
		.pid = ve_start_pid, /* the fixed checks compare getpid */
	};
	struct fuzz f = { .t = &t };
	uint64_t seed, count;
	long r;

	if (parse_args(args, &seed, &count) < 0) {
		ve_printf("hostile: bad args '%s' (want \"SEED COUNT\")\n", args);
		return 4;
	}
	r = setup_edge(&t);
	if (r < 0) {
		ve_printf("hostile: setup: %s\n", ve_strerror(r));
		return 4;
	}
	f.rng = seed != 0 ? seed : 0x9e3779b97f4a7c15ull;
	refill(&t);
	ve_printf("hostile: pid %d, seed %llu, %llu calls, hole %#llx\n", t.pid,
		  (unsigned long long)seed, (unsigned long long)count, (unsigned long long)t.hole);

	check_fixed(&f);
	check_registers(&f);
	fuzz(&f, count);
	check_fixed(&f);
	check_registers(&f);

	ve_printf("\nhostile: %llu calls, all errors valid (%llu leaked "
		  "allocations)\n",
		  (unsigned long long)f.calls, (unsigned long long)f.leaks);
	ve_exit(0);
}
