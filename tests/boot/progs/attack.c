/*
 * attack: ring 3 against ring 0. Every way an ordinary process (no grants)
 * might reach the kernel's privilege through the CPU itself rather than
 * through a system call: its own LDT descriptors (32-bit code, a call gate,
 * data segments), segment loads of every kind of selector, far jumps,
 * calls and returns to kernel selectors, `int n` for every vector, system
 * calls with each rflags bit that matters set, and the privileged and
 * descriptor-table instructions. Each must end with the process dead of a
 * fault, or the operation done harmlessly; never with the kernel faulting.
 *
 * With the argument "referee" it is the referee (it needs the spawn grant):
 * it starts itself once per case as "attack CASE ARG", waits for the child
 * and checks that the child's end is one of those the case allows.
 * "referee tcg-smap" also allows a page fault where a far call, far return
 * or iretq touches the user stack: QEMU 7.2's TCG makes those stack
 * accesses as supervisor accesses, which SMAP refuses, so under `-cpu max`
 * the process dies of a page fault in ring 3 (the kernel is not involved).
 * Events:
 *   attack        case=NAME arg=N reason=R code=C vector=V  (cases marked
 *                 `report`, whose outcome depends on the CPU: UMIP)
 *   attack_bad    the same fields, for an outcome the case does not allow
 *   attack_done   cases=N bad=M
 * A child exits 0 when the operation was done and returned; 66 if code of
 * its own ran in ring 0 (the call gate); 67 if a system call gave a wrong
 * answer with a flag set. Referee exit codes: 0 all cases allowed, 1 some
 * were not, 4 it could not spawn or wait.
 */
#include "fmt.h"
#include "string.h"
#include "vesta.h"

#define LDT_INDEX 512		     /* the first LDT slot in a page a process can map */
#define LDT_PAGE 0x1000ull	     /* LDT_INDEX * 8: user memory if LDTR is not null */
#define LDT_SEL(i) (((i) << 3) | 7u) /* TI = 1 (LDT), RPL 3 */
#define CODE_RAN_IN_RING0 66
#define WRONG_ANSWER 67

/* What a case may end in; the child's death reason picks one bit. */
enum outcome {
	OK_EXIT = 1, /* exit(0): the operation was done and returned */
	OK_GP = 2,   /* #GP */
	OK_PRIV = 4, /* #GP on a privileged instruction */
	OK_UD = 8,   /* #UD */
	OK_DB = 16,  /* #DB (single step) */
	OK_PF = 32,  /* #PF */
};

struct attack {
	const char *name;
	unsigned nargs;			   /* args 0 .. nargs-1 */
	void (*run)(uint64_t arg);	   /* in the child */
	unsigned (*allowed)(uint64_t arg); /* enum outcome bits */
	bool report;			   /* post every outcome as an event */
};

/* A far pointer m16:32, for ljmp and lcall. */
struct __attribute__((packed)) far32 {
	uint32_t off;
	uint16_t sel;
};

/* ---- the LDT: descriptors written into user memory at LDT_PAGE ---- */

extern char code32_target[], gate_target[];

/* 32-bit code run after a far jump into the LDT: a syscall through CSTAR. */
__asm__(".text\n"
	".code32\n"
	"code32_target:\n"
	"	mov $4, %eax\n"
	"	syscall\n"
	"	ud2\n"
	".code64\n"
	/* Run through a call gate: in ring 0 if the gate works. Reads CR3
	 * (a ring-0-only instruction) and returns to ring 3 with code 66. */
	"gate_target:\n"
	"	mov %cr3, %rax\n"
	"	mov $66, %edi\n" /* CODE_RAN_IN_RING0 */
	"	lretq\n");

static uint64_t *ldt_page(void)
{
	long a = ve_vm_alloc(LDT_PAGE, VE_PAGE_SIZE, VE_PROT_READ | VE_PROT_WRITE);
	if (a < 0)
		ve_exit(90); /* the test could not set up: not an allowed outcome */
	return (uint64_t *)(uintptr_t)a;
}

/* A 32-bit ring-3 code descriptor at LDT_INDEX, then a far jump to it. */
static void ldt_code32(uint64_t arg)
{
	(void)arg;
	uint64_t *ldt = ldt_page();
	ldt[0] = 0x00CFFA000000FFFFull; /* base 0, 4 GiB, DPL 3, 32-bit code */
	struct far32 far = { (uint32_t)(uintptr_t)code32_target, LDT_SEL(LDT_INDEX) };
	__asm__ volatile("ljmpl *%0" : : "m"(far) : "memory");
}

/* A ring-3 data descriptor at LDT_INDEX, loaded into gs. */
static void ldt_data(uint64_t arg)
{
	(void)arg;
	uint64_t *ldt = ldt_page();
	ldt[0] = 0x00CFF2000000FFFFull; /* base 0, 4 GiB, DPL 3, data */
	uint16_t sel = LDT_SEL(LDT_INDEX);
	__asm__ volatile("mov %0, %%gs" : : "r"(sel));
}

/* A 64-bit call gate (DPL 3) to our own code with the kernel's code
 * selector, at LDT_INDEX and LDT_INDEX+1, then a far call through it. */
static void ldt_callgate(uint64_t arg)
{
	(void)arg;
	uint64_t *ldt = ldt_page();
	uint64_t t = (uint64_t)(uintptr_t)gate_target;
	ldt[0] = (t & 0xffff) | (0x08ull << 16) | (0xECull << 40) | ((t >> 16 & 0xffff) << 48);
	ldt[1] = t >> 32;
	struct far32 far = { 0, LDT_SEL(LDT_INDEX) };
	uint64_t code = 0;
	__asm__ volatile("xor %%edi, %%edi\n\t"
			 "lcalll *%1\n\t"
			 "mov %%rdi, %0"
			 : "=r"(code)
			 : "m"(far)
			 : "rax", "rdi", "memory");
	if (code)
		ve_exit((int)code);
}

/* ---- segment loads ---- */

/* Null, kernel code and data (both RPLs), user data and code, the TSS and
 * its upper half, past the GDT's end, LDT selectors, junk. */
static const uint16_t selectors[] = {
	0x00, 0x03, 0x08, 0x0b, 0x10, 0x13, 0x18, 0x1b, 0x20,	0x23,
	0x28, 0x2b, 0x30, 0x33, 0x38, 0x3b, 0x04, 0x07, 0x1007, 0xfffb
};
#define NSEL (sizeof(selectors) / sizeof(selectors[0]))

/* A selector that names one of the kernel's own descriptors, the TSS, a
 * slot past the GDT or the LDT: loading it into anything must fault. Null
 * and the user data and code descriptors (DPL 3, any RPL) load. */
static bool must_fault(uint16_t sel)
{
	return sel > 0x03 && (sel & ~3u) != 0x18 && (sel & ~3u) != 0x20;
}

#define SEG_LOAD(reg)                                                                              \
	static void seg_##reg(uint64_t arg)                                                        \
	{                                                                                          \
		uint16_t sel = selectors[arg % NSEL];                                              \
		__asm__ volatile("mov %0, %%" #reg : : "r"(sel));                                  \
	}
SEG_LOAD(ds)
SEG_LOAD(es)
SEG_LOAD(fs)
SEG_LOAD(gs)

static void seg_ss(uint64_t arg)
{
	uint16_t sel = selectors[arg % NSEL];
	/* ss back to ours right after, before anything uses the stack. */
	__asm__ volatile("mov %0, %%ss\n\tmov %1, %%ss" : : "r"(sel), "r"((uint16_t)0x1b));
}

/* ds, es, fs, gs take null, user data and readable user code. */
static unsigned seg_data_allowed(uint64_t arg)
{
	return must_fault(selectors[arg % NSEL]) ? OK_GP : OK_EXIT;
}

/* ss takes only user data with RPL 3 at CPL 3. */
static unsigned seg_ss_allowed(uint64_t arg)
{
	return selectors[arg % NSEL] == 0x1b ? OK_EXIT : OK_GP;
}

/* ---- far transfers to other selectors ---- */

static const uint16_t far_sels[] = { 0x00, 0x08, 0x0b, 0x10, 0x18, 0x1b,
				     0x23, 0x28, 0x2b, 0x30, 0x07 };
#define NFAR (sizeof(far_sels) / sizeof(far_sels[0]))

extern char far_landing[];
__asm__(".text\nfar_landing:\n\txor %edi, %edi\n\tmov $0, %eax\n\tsyscall\n\tud2\n");

/* Only our own code selector (0x23) lands; the landing exits 0. */
static unsigned far_allowed(uint64_t arg)
{
	return far_sels[arg % NFAR] == 0x23 ? OK_EXIT : OK_GP;
}

static void far_jmp(uint64_t arg)
{
	struct far32 far = { (uint32_t)(uintptr_t)far_landing, far_sels[arg % NFAR] };
	__asm__ volatile("ljmpl *%0" : : "m"(far) : "memory");
}

/* m16:64 (REX.W): with m16:32, QEMU's TCG pushes at a 32-bit stack
 * address in 64-bit mode, a quirk of the emulator, not of the kernel. */
static void far_call(uint64_t arg)
{
	struct __attribute__((packed)) {
		uint64_t off;
		uint16_t sel;
	} far = { (uint64_t)(uintptr_t)far_landing, far_sels[arg % NFAR] };
	__asm__ volatile("rex.W lcall *%0" : : "m"(far) : "memory");
}

static void far_ret(uint64_t arg)
{
	__asm__ volatile("pushq %0\n\tpushq %1\n\tlretq"
			 :
			 : "r"((uint64_t)far_sels[arg % NFAR]),
			   "r"((uint64_t)(uintptr_t)far_landing)
			 : "memory");
}

/* iretq to far_landing with these code and stack selectors. */
static void iret_to(uint64_t cs, uint64_t ss)
{
	__asm__ volatile("mov %%rsp, %%rax\n\t"
			 "pushq %0\n\t"
			 "pushq %%rax\n\t"
			 "pushfq\n\t"
			 "pushq %1\n\t"
			 "pushq %2\n\t"
			 "iretq"
			 :
			 : "r"(ss), "r"(cs), "r"((uint64_t)(uintptr_t)far_landing)
			 : "rax", "memory");
}

static void far_iret(uint64_t arg)
{
	iret_to(far_sels[arg % NFAR], 0x1b);
}

/* iretq to our own code with each stack selector: only 0x1b is a stack. */
static void iret_ss(uint64_t arg)
{
	iret_to(0x23, far_sels[arg % NFAR]);
}

static unsigned iret_ss_allowed(uint64_t arg)
{
	return far_sels[arg % NFAR] == 0x1b ? OK_EXIT : OK_GP;
}

/* ---- int n, for every vector ---- */

/* 256 entries of 4 bytes: int $n; ud2 (an int that returns is a failure). */
extern char int_table[];
__asm__(".text\nint_table:\n"
	".set vec, 0\n"
	".rept 256\n"
	".byte 0xcd, vec, 0x0f, 0x0b\n"
	".set vec, vec + 1\n"
	".endr\n");

static void int_n(uint64_t arg)
{
	__asm__ volatile("call *%0" : : "r"(int_table + 4 * (arg & 0xff)) : "memory");
}

/* Every gate is DPL 0: int n from ring 3 is a #GP, whatever n is. */
static unsigned only_gp(uint64_t arg)
{
	(void)arg;
	return OK_GP;
}

/* ---- system calls with a flag set ---- */

static const uint64_t flag_bits[] = { 1u << 8, 1u << 18, 1u << 14, 1u << 10, 1u << 9 };
static const char *const flag_names[] = { "TF", "AC", "NT", "DF", "IF" };
#define NFLAGS (sizeof(flag_bits) / sizeof(flag_bits[0]))

/* System call nr(a0) with the flag set right at the syscall instruction
 * (popfq's single-step trap comes after the next instruction), then the
 * flag cleared. Returns the call's result. */
static long syscall_with_flag(uint64_t bit, long nr, uint64_t a0)
{
	long ret;
	__asm__ volatile("pushfq\n\t"
			 "orq %1, (%%rsp)\n\t"
			 "popfq\n\t"
			 "syscall\n\t"
			 "pushfq\n\t"
			 "notq %1\n\t"
			 "andq %1, (%%rsp)\n\t"
			 "popfq\n\t"
			 "cld"
			 : "=a"(ret), "+r"(bit), "+D"(a0)
			 : "a"(nr)
			 : "rcx", "r11", "memory", "cc");
	return ret;
}

/* getpid with the flag set: the answer must be our pid. */
static void flags_syscall(uint64_t arg)
{
	if (syscall_with_flag(flag_bits[arg % NFLAGS], SYS_GETPID, 0) != ve_getpid())
		ve_exit(WRONG_ANSWER);
}

/* A 1 ms sleep with the flag set: the kernel blocks us and switches away. */
static void flags_sleep(uint64_t arg)
{
	if (syscall_with_flag(flag_bits[arg % NFLAGS], SYS_SLEEP, 1000000) != 0)
		ve_exit(WRONG_ANSWER);
}

/* TF traps in ring 3 after the syscall returns; the rest change nothing. */
static unsigned flags_allowed(uint64_t arg)
{
	return flag_bits[arg % NFLAGS] == (1u << 8) ? OK_EXIT | OK_DB : OK_EXIT;
}

/* ---- single instructions ---- */

struct insn {
	const char *name;
	void (*run)(void);
	unsigned allowed;
};

#define INSN(fn, text)                                                                             \
	static void fn(void)                                                                       \
	{                                                                                          \
		__asm__ volatile(text ::: "rax", "rcx", "rdx", "memory");                          \
	}
INSN(i_sgdt, "sub $16, %%rsp\n\tsgdt (%%rsp)\n\tadd $16, %%rsp")
INSN(i_sidt, "sub $16, %%rsp\n\tsidt (%%rsp)\n\tadd $16, %%rsp")
INSN(i_sldt, "sldt %%ax")
INSN(i_str, "str %%ax")
INSN(i_smsw, "smsw %%ax")
INSN(i_lldt, "xor %%eax, %%eax\n\tlldt %%ax")
INSN(i_ltr, "mov $0x28, %%eax\n\tltr %%ax")
INSN(i_lgdt, "sub $16, %%rsp\n\tlgdt (%%rsp)\n\tadd $16, %%rsp")
INSN(i_movcr3, "mov %%cr3, %%rax")
INSN(i_movdr7, "mov %%dr7, %%rax")
INSN(i_rdmsr, "mov $0xc0000082, %%ecx\n\trdmsr")
INSN(i_wrmsr, "mov $0xc0000082, %%ecx\n\txor %%eax, %%eax\n\txor %%edx, %%edx\n\twrmsr")
INSN(i_swapgs, "swapgs")
INSN(i_sysret, "sysretq")
INSN(i_sysenter, "sysenter")
INSN(i_invlpg, "invlpg (%%rsp)")
INSN(i_clts, "clts")
INSN(i_rdpmc, "xor %%ecx, %%ecx\n\trdpmc")
INSN(i_rdtsc, "rdtsc")
INSN(i_cpuid, "xor %%eax, %%eax\n\txor %%ecx, %%ecx\n\tcpuid")
INSN(i_xgetbv, "xor %%ecx, %%ecx\n\txgetbv")
INSN(i_rdfsbase, "rdfsbase %%rax")
INSN(i_wrgsbase, "xor %%eax, %%eax\n\twrgsbase %%rax")
INSN(i_vzeroupper, "vzeroupper")
INSN(i_int3, "int3")
INSN(i_int1, ".byte 0xf1")
INSN(i_into, ".byte 0xce")
INSN(i_outb, "mov $0x80, %%dx\n\tout %%al, %%dx")

static const struct insn insns[] = {
	/* Without UMIP these only read; with it they are #GP (priv). */
	{ "sgdt", i_sgdt, OK_EXIT | OK_PRIV },
	{ "sidt", i_sidt, OK_EXIT | OK_PRIV },
	{ "sldt", i_sldt, OK_EXIT | OK_PRIV },
	{ "str", i_str, OK_EXIT | OK_PRIV },
	{ "smsw", i_smsw, OK_EXIT | OK_PRIV },
	{ "lldt", i_lldt, OK_PRIV },
	{ "ltr", i_ltr, OK_PRIV },
	{ "lgdt", i_lgdt, OK_PRIV },
	{ "mov_cr3", i_movcr3, OK_PRIV },
	{ "mov_dr7", i_movdr7, OK_PRIV },
	{ "rdmsr", i_rdmsr, OK_PRIV },
	{ "wrmsr", i_wrmsr, OK_PRIV },
	{ "swapgs", i_swapgs, OK_PRIV },
	{ "sysret", i_sysret, OK_PRIV },
	{ "sysenter", i_sysenter, OK_GP | OK_UD }, /* SYSENTER_CS is 0 */
	{ "invlpg", i_invlpg, OK_PRIV },
	{ "clts", i_clts, OK_PRIV },
	{ "rdpmc", i_rdpmc, OK_GP },   /* CR4.PCE is clear */
	{ "rdtsc", i_rdtsc, OK_EXIT }, /* allowed on purpose: benchmarks */
	{ "cpuid", i_cpuid, OK_EXIT },
	{ "xgetbv", i_xgetbv, OK_UD },	   /* CR4.OSXSAVE is clear */
	{ "rdfsbase", i_rdfsbase, OK_UD }, /* CR4.FSGSBASE is clear */
	{ "wrgsbase", i_wrgsbase, OK_UD },
	{ "vzeroupper", i_vzeroupper, OK_UD }, /* no AVX state: fxsave cannot keep it */
	{ "int3", i_int3, OK_GP },
	{ "int1", i_int1, OK_DB | OK_UD }, /* icebp: #DB with no gate check (#UD in TCG) */
	{ "into", i_into, OK_UD },	   /* invalid in 64-bit mode */
	{ "outb", i_outb, OK_GP },	   /* port 0x80 not granted */
};
#define NINSNS (sizeof(insns) / sizeof(insns[0]))

static void insn_run(uint64_t arg)
{
	insns[arg % NINSNS].run();
}

static unsigned insn_allowed(uint64_t arg)
{
	return insns[arg % NINSNS].allowed;
}

/* ---- the cases ---- */

static const struct attack attacks[] = {
	{ "ldt_code32", 1, ldt_code32, only_gp, false },
	{ "ldt_data", 1, ldt_data, only_gp, false },
	{ "ldt_callgate", 1, ldt_callgate, only_gp, false },
	{ "seg_ds", NSEL, seg_ds, seg_data_allowed, false },
	{ "seg_es", NSEL, seg_es, seg_data_allowed, false },
	{ "seg_fs", NSEL, seg_fs, seg_data_allowed, false },
	{ "seg_gs", NSEL, seg_gs, seg_data_allowed, false },
	{ "seg_ss", NSEL, seg_ss, seg_ss_allowed, false },
	{ "far_jmp", NFAR, far_jmp, far_allowed, false },
	{ "far_call", NFAR, far_call, far_allowed, false },
	{ "far_ret", NFAR, far_ret, far_allowed, false },
	{ "far_iret", NFAR, far_iret, far_allowed, false },
	{ "iret_ss", NFAR, iret_ss, iret_ss_allowed, false },
	{ "int", 256, int_n, only_gp, false },
	{ "flags_syscall", NFLAGS, flags_syscall, flags_allowed, false },
	{ "flags_sleep", NFLAGS, flags_sleep, flags_allowed, false },
	{ "insn", NINSNS, insn_run, insn_allowed, true },
};
#define NATTACKS (sizeof(attacks) / sizeof(attacks[0]))

static const struct attack *attack_named(const char *name, size_t len)
{
	for (unsigned i = 0; i < NATTACKS; i++)
		if (strlen(attacks[i].name) == len && memcmp(attacks[i].name, name, len) == 0)
			return &attacks[i];
	return NULL;
}

/* ---- the referee ---- */

static unsigned outcome_of(const struct ve_exit *ex)
{
	switch (ex->reason) {
	case VE_R_EXIT:
		return ex->code == 0 ? OK_EXIT : 0;
	case VE_R_GP:
		return OK_GP;
	case VE_R_PRIV:
		return OK_PRIV;
	case VE_R_UD:
		return OK_UD;
	case VE_R_FAULT:
		return ex->vector == 1 ? OK_DB : 0;
	case VE_R_PAGE_FAULT:
		return OK_PF;
	default:
		return 0;
	}
}

static const char *case_label(const struct attack *a, uint64_t arg)
{
	if (a->run == insn_run)
		return insns[arg % NINSNS].name;
	if (a->run == flags_syscall || a->run == flags_sleep)
		return flag_names[arg % NFLAGS];
	return "";
}

static void post(const char *ev, const struct attack *a, uint64_t arg, const struct ve_exit *ex)
{
	struct ve_kv kv[] = {
		VE_KV_STR("case", a->name),
		VE_KV_NUM("arg", arg),
		VE_KV_STR("what", case_label(a, arg)),
		VE_KV_STR("reason", ve_reason_name(ex->reason)),
		VE_KV_NUM("code", ex->code),
		VE_KV_NUM("vector", ex->vector),
	};
	ve_event(ev, kv, sizeof(kv) / sizeof(kv[0]));
}

/* The far transfers that touch the user stack (see tcg-smap above). */
static bool touches_stack(const struct attack *a)
{
	return a->run == far_call || a->run == far_ret || a->run == far_iret || a->run == iret_ss;
}

static bool tcg_smap;

/* One case in a child of its own; returns 1 if its end was not allowed. */
static int referee_one(const struct attack *a, uint64_t arg)
{
	char args[64];
	struct ve_exit ex;
	fmt_snprintf(args, sizeof(args), "%s %llu", a->name, (unsigned long long)arg);
	int pid = ve_spawn("attack", args);
	if (pid < 0 || ve_wait(pid, &ex) < 0)
		ve_exit(4);
	unsigned allowed = a->allowed(arg) | (tcg_smap && touches_stack(a) ? OK_PF : 0);
	bool ok = (outcome_of(&ex) & allowed) != 0;
	if (a->report)
		post("attack", a, arg, &ex);
	if (!ok)
		post("attack_bad", a, arg, &ex);
	return ok ? 0 : 1;
}

static int referee(void)
{
	unsigned cases = 0, bad = 0;
	for (unsigned i = 0; i < NATTACKS; i++)
		for (uint64_t arg = 0; arg < attacks[i].nargs; arg++, cases++)
			bad += referee_one(&attacks[i], arg);
	struct ve_kv kv[] = { VE_KV_NUM("cases", cases), VE_KV_NUM("bad", bad) };
	ve_event("attack_done", kv, 2);
	return bad ? 1 : 0;
}

int main(const char *args)
{
	while (*args == ' ')
		args++;
	if (strncmp(args, "referee", 7) == 0) {
		tcg_smap = strcmp(args, "referee tcg-smap") == 0;
		return referee();
	}
	const char *sp = args;
	while (*sp && *sp != ' ')
		sp++;
	const struct attack *a = attack_named(args, (size_t)(sp - args));
	uint64_t arg = 0;
	while (*sp == ' ')
		sp++;
	if (!a || ve_parse_u64(&sp, &arg) || arg >= a->nargs)
		return 99;
	a->run(arg);
	return 0;
}
