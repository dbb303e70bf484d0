/*
 * faulter: dies in the one way its argument names, so boot tests can check
 * that the kernel reports each kind of death with the right reason, vector,
 * rip and address -- and survives it.
 *
 * Kinds and the death the kernel should report:
 *   nullwrite  page fault, addr 0
 *   kwrite     page fault, addr 0xffffffff80100000 (kernel memory)
 *   kjump      page fault, rip = addr = 0xffffffff80100000
 *   ud2        invalid opcode
 *   div0       divide error
 *   hlt, cli   privileged instruction
 *   ioport     general protection (port 0x80 is not granted)
 *   stack      stack overflow into the guard page
 *   exit3      exit with code 3
 *   int80      general protection (vector 0x80 is not a user gate)
 *   trapflag   fault, vector 1: it sets RFLAGS.TF itself, and the single
 *              step (#DB) after its next instruction is its own doing,
 *              with no injected step armed
 *   trapsyscall the same, with TF set across a syscall (SFMASK clears it
 *              in the kernel): it dies after the syscall, the kernel lives
 *   topcall    page fault, rip = addr = 0x7ffffffff000: a syscall made
 *              from the last bytes of the highest user page returns to the
 *              first address above the user range, which must fault in
 *              user mode instead of tripping sysret's non-canonical case.
 * Exit codes that mean the test itself went wrong: 98 the fault did not
 * happen, 99 unknown kind, 10-11 topcall's setup failed.
 *
 * The faults are written in inline asm so the compiler can neither drop
 * them as undefined behaviour nor turn them into a different trap.
 */
#include "vesta.h"

#define KERNEL_ADDR 0xffffffff80100000ull
#define STACK_FRAME_BYTES 1024 /* below a page, so no frame skips the guard */

struct kind {
	const char *name;
	void (*run)(void);
};

static void store_to(uint64_t addr)
{
	__asm__ volatile("movq $0x5a5a, (%0)" : : "r"(addr) : "memory");
}

static void do_nullwrite(void)
{
	store_to(0);
}

static void do_kwrite(void)
{
	store_to(KERNEL_ADDR);
}

static void do_kjump(void)
{
	__asm__ volatile("call *%0" : : "r"(KERNEL_ADDR) : "memory");
}

static void do_ud2(void)
{
	__asm__ volatile("ud2");
}

static void do_div0(void)
{
	volatile uint32_t zero = 0;
	uint32_t divisor = zero;
	uint32_t lo = 1, hi = 0;

	__asm__ volatile("divl %2" : "+a"(lo), "+d"(hi) : "r"(divisor));
}

static void do_hlt(void)
{
	__asm__ volatile("hlt");
}

static void do_cli(void)
{
	__asm__ volatile("cli");
}

static void do_ioport(void)
{
	__asm__ volatile("outb %0, $0x80" : : "a"((uint8_t)0));
}

/*
 * Recurse until the stack runs into its guard page. Each frame writes both
 * ends of its array, and a frame is smaller than a page, so the first
 * fault lands in the guard page rather than below it. The depth bound is a
 * volatile the compiler cannot see through; it is never reached.
 */
static volatile uint64_t stack_depth_limit = UINT64_MAX;

static __attribute__((noinline)) uint64_t recurse(uint64_t depth)
{
	volatile char frame[STACK_FRAME_BYTES];

	frame[STACK_FRAME_BYTES - 1] = (char)depth;
	frame[0] = (char)depth;
	if (depth >= stack_depth_limit)
		return depth;
	/* Using the result after the call keeps it from being a tail call. */
	return recurse(depth + 1) + (uint64_t)frame[depth % STACK_FRAME_BYTES];
}

static void do_stack(void)
{
	ve_printf("faulter: stack recursion returned %llu\n", (unsigned long long)recurse(0));
}

static void do_exit3(void)
{
	ve_exit(3);
}

static void do_int80(void)
{
	__asm__ volatile("int $0x80" : : : "memory");
}

/* Set RFLAGS.TF: the instruction after popfq completes, then #DB. */
static void do_trapflag(void)
{
	__asm__ volatile("pushfq; orq $0x100, (%%rsp); popfq; nop" : : : "memory", "cc");
}

/* popfq sets TF, so the first instruction to trap after is the syscall. */
static void do_trapsyscall(void)
{
	__asm__ volatile("pushfq; orq $0x100, (%%rsp); popfq; syscall; nop"
			 :
			 : "a"((long)SYS_GETPID)
			 : "rcx", "r11", "memory", "cc");
}

/*
 * mov eax, SYS_GETPID ; syscall -- placed so syscall's last byte is the
 * last byte of the highest user page.
 */
static void do_topcall(void)
{
	const uint64_t top = VE_USER_HI - VE_PAGE_SIZE; /* 0x7fffffffe000 */
	const unsigned rwx = VE_PROT_READ | VE_PROT_WRITE | VE_PROT_EXEC;
	const uint8_t code[] = {
		0xb8, SYS_GETPID, 0x00, 0x00, 0x00, /* mov eax, imm32 */
		0x0f, 0x05,			    /* syscall */
	};
	long r;
	uint8_t *p;

	r = ve_vm_alloc(VE_USER_HI, VE_PAGE_SIZE, rwx);
	if (r >= 0) {
		ve_printf("faulter: vm_alloc above the user range gave %#lx\n", (unsigned long)r);
		ve_exit(10);
	}
	r = ve_vm_alloc(top, VE_PAGE_SIZE, rwx);
	if (r < 0 || (uint64_t)r != top) {
		ve_printf("faulter: vm_alloc(%#llx) gave %ld (%s)\n", (unsigned long long)top, r,
			  ve_strerror(r));
		ve_exit(11);
	}
	p = (uint8_t *)(uintptr_t)(top + VE_PAGE_SIZE - sizeof(code));
	memcpy(p, code, sizeof(code));
	__asm__ volatile("jmp *%0" : : "r"(p) : "memory");
}

/* Spin forever in ring 3: only preemption lets anyone else run. */
static void do_spin(void)
{
	for (volatile uint64_t n = 0;; n++)
		;
}

static const struct kind kinds[] = {
	{ "nullwrite", do_nullwrite },
	{ "kwrite", do_kwrite },
	{ "kjump", do_kjump },
	{ "ud2", do_ud2 },
	{ "div0", do_div0 },
	{ "hlt", do_hlt },
	{ "cli", do_cli },
	{ "ioport", do_ioport },
	{ "stack", do_stack },
	{ "exit3", do_exit3 },
	{ "int80", do_int80 },
	{ "trapflag", do_trapflag },
	{ "trapsyscall", do_trapsyscall },
	{ "topcall", do_topcall },
	{ "spin", do_spin },
};

int main(const char *args)
{
	const char *word = ve_skip_space(args);
	size_t n = ve_word_len(word);

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (ve_word_is(word, n, kinds[i].name)) {
			ve_printf("faulter: doing %s\n", kinds[i].name);
			kinds[i].run();
			ve_printf("faulter: %s did not fault\n", kinds[i].name);
			return 98;
		}
	}
	ve_printf("faulter: unknown kind '%.*s'\n", (int)n, word);
	return 99;
}
