/*
 * memtest: checks that the kernel takes back every frame a dead process
 * held. It runs memhog (which takes all the memory it can: its share, a
 * quarter of the machine) twice and compares: both runs must get the same
 * number of pages, and the free frame count after each must be the same.
 * Then it runs HOGS memhogs at once, holding what they get, which together
 * want more than there is: it waits until the machine has run out for real
 * (each refusal must be VE_NOMEM, no panic), kills them, and every frame
 * must be back again.
 * Needs the spawn grant. Exits 0 if all is well, 1 if not.
 */
#include "vesta.h"

/* Read the free frame count into *free. Returns 0 or meminfo's error. */
static int free_frames(uint64_t *free)
{
	struct ve_meminfo mi;
	int r = ve_meminfo(&mi);

	if (r < 0) {
		ve_printf("memtest: meminfo: %s\n", ve_strerror(r));
		return r;
	}
	*free = mi.free_frames;
	return 0;
}

#define HOGS 5	     /* memhogs at once: 5 quarters are more than there is */
#define OUT_SHARE 64 /* "out": less than 1/OUT_SHARE of the machine free */

/* Start a memhog with args. Returns its pid or a negative error. */
static int start_memhog(const char *args)
{
	int pid = ve_spawn("memhog", args);

	if (pid < 0)
		ve_printf("memtest: spawn memhog: %s\n", ve_strerror(pid));
	return pid;
}

/*
 * Wait for memhog pid to end. Returns the number of pages it got (> 0), or
 * a negative error if it did not exit normally.
 */
static long wait_memhog(int pid)
{
	struct ve_exit ex;
	int r;

	r = ve_wait(pid, &ex);
	if (r < 0) {
		ve_printf("memtest: wait %d: %s\n", pid, ve_strerror(r));
		return r;
	}
	if (ex.pid != pid || ex.reason != VE_R_EXIT || ex.code <= 0) {
		ve_printf("memtest: memhog pid %d died badly: pid %d reason %u "
			  "code %lld vector %u rip %#llx addr %#llx\n",
			  pid, (int)ex.pid, (unsigned)ex.reason, (long long)ex.code,
			  (unsigned)ex.vector, (unsigned long long)ex.rip,
			  (unsigned long long)ex.addr);
		return -VE_INVAL;
	}
	return (long)ex.code;
}

/* Run memhog to its end: wait_memhog's result. */
static long run_memhog(void)
{
	int pid = start_memhog("");

	return pid < 0 ? pid : wait_memhog(pid);
}

/*
 * HOGS memhogs at once, each holding what it got until killed: wait until
 * less than 1/OUT_SHARE of the machine is free (it ran out: whatever the
 * speed, since none lets go), then kill them. Returns 0, or -1 if one could
 * not be run or ended before it was killed (a refusal that was not
 * VE_NOMEM, or lost contents).
 */
static int run_hogs(void)
{
	struct ve_meminfo mi;
	struct ve_exit ex;
	int pids[HOGS], bad = 0;

	for (int i = 0; i < HOGS; i++)
		if ((pids[i] = start_memhog("hold")) < 0)
			return -1;
	while (ve_meminfo(&mi) == 0 && mi.free_frames > mi.total_frames / OUT_SHARE)
		ve_sleep_ms(10);
	for (int i = 0; i < HOGS; i++) {
		bad |= ve_kill(pids[i]) < 0;
		bad |= ve_wait(pids[i], &ex) < 0 || ex.reason != VE_R_KILLED;
	}
	return bad ? -1 : 0;
}

int main(const char *args)
{
	uint64_t f0, f1, f2, f3;
	long n1, n2;
	bool ok;

	(void)args;
	if (free_frames(&f0) < 0)
		return 1;
	ve_printf("memtest: %llu frames free before\n", (unsigned long long)f0);
	n1 = run_memhog();
	if (n1 < 0 || free_frames(&f1) < 0)
		return 1;
	ve_printf("memtest: run 1: memhog got %ld pages, %llu frames free "
		  "after\n",
		  n1, (unsigned long long)f1);
	n2 = run_memhog();
	if (n2 < 0 || free_frames(&f2) < 0)
		return 1;
	ve_printf("memtest: run 2: memhog got %ld pages, %llu frames free "
		  "after\n",
		  n2, (unsigned long long)f2);

	ok = n1 == n2 && f1 == f2;
	ve_printf("memtest: %s (pages %ld vs %ld, free %llu vs %llu)\n",
		  ok ? "ok" : "FAIL: memory was not all returned", n1, n2, (unsigned long long)f1,
		  (unsigned long long)f2);
	if (!ok)
		return 1;

	if (run_hogs() < 0 || free_frames(&f3) < 0)
		return 1;
	ok = f3 == f2;
	ve_printf("memtest: %d at once ran the machine out: %s (free %llu vs %llu after)\n", HOGS,
		  ok ? "ok" : "FAIL", (unsigned long long)f3, (unsigned long long)f2);
	return ok ? 0 : 1;
}
