/*
 * injector (grants spawn, inject): injects every fault kind into a victim
 * it starts, and checks what happened. Victims are tickers (args "N MS")
 * and, for garbage, echosrv. Posts {"ev":"injcheck","kind":K,"ok":1|0}
 * per kind and exits 0 only if all held. The exit events themselves show
 * the reasons (page_fault, ud, de, stack_overflow, killed, exit).
 */
#include "vesta.h"

static int failures;

static long inject(int pid, unsigned kind, uint64_t arg)
{
	return ve_syscall(SYS_INJECT, pid, kind, (long)arg, 12345, 0, 0);
}

static void report(const char *kind, bool ok)
{
	struct ve_kv kv[2] = { { .key = "kind", .str = kind }, { .key = "ok", .num = ok } };
	ve_event("injcheck", kv, 2);
	if (!ok) {
		ve_printf("injector: %s: FAILED\n", kind);
		failures++;
	}
}

/* Start a long-running ticker and give it time to be in its loop. */
static int victim(void)
{
	int pid = ve_spawn("ticker", "100000 2");
	ve_sleep_ms(20);
	return pid;
}

static uint32_t wait_reason(int pid, int64_t *code)
{
	struct ve_exit e;
	if (ve_wait(pid, &e) < 0)
		return 0xffff;
	if (code)
		*code = e.code;
	return e.reason;
}

static bool alive(int pid)
{
	int st = ve_ps_state(pid);
	return st >= 0 && st != VE_PS_DEAD;
}

static void crash(const char *name, unsigned kind, uint32_t want)
{
	int pid = victim();
	bool ok = pid > 0 && inject(pid, kind, 0) == 0 && wait_reason(pid, NULL) == want;
	report(name, ok);
}

/* hang and block: it must stay alive (no fault of its own) until killed. */
static void stuck(const char *name, unsigned kind)
{
	int pid = victim();
	bool ok = pid > 0 && inject(pid, kind, 0) == 0;
	ve_sleep_ms(50);
	ok = ok && alive(pid) && ve_kill(pid) == 0 && wait_reason(pid, NULL) == VE_R_KILLED;
	report(name, ok);
}

int main(const char *args)
{
	(void)args;
	struct ve_meminfo before, during, after;
	int64_t code = 0;
	int pid;

	crash("null", VE_INJ_CRASH_NULL, VE_R_PAGE_FAULT);
	crash("wild", VE_INJ_CRASH_WILD, VE_R_PAGE_FAULT);
	crash("ud2", VE_INJ_CRASH_UD, VE_R_UD);
	crash("div0", VE_INJ_CRASH_DIV, VE_R_DE);
	crash("stack", VE_INJ_CRASH_STACK, VE_R_STACK);
	crash("kill", VE_INJ_KILL, VE_R_KILLED);
	stuck("hang", VE_INJ_HANG);
	stuck("block", VE_INJ_BLOCK);

	pid = victim();
	report("exit", inject(pid, VE_INJ_EXIT, 7) == 0 && wait_reason(pid, &code) == VE_R_EXIT &&
			   code == 7);

	/* corrupt: whatever the flips do, the kernel stays up and the victim
	 * either dies of it or is killed now. */
	pid = victim();
	bool ok = inject(pid, VE_INJ_CORRUPT, 64) == 0;
	ve_sleep_ms(30);
	if (alive(pid))
		ve_kill(pid);
	report("corrupt", ok && wait_reason(pid, NULL) != 0xffff);

	/* leak: it takes its share of memory (a quarter) until refused, the
	 * rest stays free, and all comes back after. */
	ve_meminfo(&before);
	pid = victim();
	ok = inject(pid, VE_INJ_LEAK, 0) == 0;
	/* The victim takes the memory itself, a call at a time: wait for it,
	 * however long that takes here (the scenario's timeout bounds it).
	 * Its image, stack and page tables count in its share too, so it is
	 * refused with less than one 64 KiB call (16 pages) of it left. */
	uint64_t share = before.total_frames / 4, taken;
	for (;;) {
		ve_meminfo(&during);
		taken = before.free_frames - during.free_frames;
		if (taken + 16 >= share)
			break;
		ve_sleep_ms(10);
	}
	ve_sleep_ms(50); /* refused by now: it takes no more */
	ve_meminfo(&during);
	taken = before.free_frames - during.free_frames;
	ok = ok && ve_kill(pid) == 0 && wait_reason(pid, NULL) == VE_R_KILLED;
	ve_meminfo(&after);
	ve_printf("injector: leak took %llu frames (share %llu), %llu of %llu free after\n",
		  (unsigned long long)taken, (unsigned long long)share,
		  (unsigned long long)after.free_frames, (unsigned long long)before.free_frames);
	/* its page tables and kernel bookkeeping come on top of the share */
	report("leak",
	       ok && taken <= share + share / 64 && after.free_frames == before.free_frames);

	/* garbage: a well-written server rejects it and stays up. */
	pid = ve_spawn("echosrv", "crash=0");
	ve_sleep_ms(20);
	ok = pid > 0 && inject(pid, VE_INJ_GARBAGE, 32) == 0;
	ve_sleep_ms(100);
	ok = ok && alive(pid) && ve_kill(pid) == 0 && wait_reason(pid, NULL) == VE_R_KILLED;
	report("garbage", ok);

	/* slow: a 2-tick ticker takes at least the stall. */
	pid = ve_spawn("ticker", "2 1");
	uint64_t t0 = ve_clock_ns();
	ok = pid > 0 && inject(pid, VE_INJ_SLOW, 300000000ull) == 0 &&
	     wait_reason(pid, NULL) == VE_R_EXIT;
	report("slow", ok && ve_clock_ns() - t0 >= 250000000ull);

	/* itself: a process may fault itself; a stall takes it as it next
	 * runs (after this short sleep). */
	t0 = ve_clock_ns();
	ok = inject(ve_getpid(), VE_INJ_SLOW, 100000000ull) == 0;
	ve_sleep_ms(1);
	report("itself", ok && ve_clock_ns() - t0 >= 90000000ull);

	/* refused: unknown kind, no such process. */
	report("refused",
	       inject(pid, 99, 0) == -VE_INVAL && inject(pid, VE_INJ_KILL, 0) == -VE_NOENT);
	ve_printf("injector: %d failures\n", failures);
	return failures;
}
