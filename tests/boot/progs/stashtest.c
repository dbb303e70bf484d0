/*
 * stashtest (grant spawn): exercises the kernel primitives a supervisor
 * uses. It starts stashkid three times with spawn_spec (crashing twice),
 * learning of each death through wait_any's `exited` and reap(); the stash
 * must count 1, 2, 3. Then stash_drop() discards it and a fourth start
 * counts 1 again. Along the way: ps() lists stashtest, chan_info() reports
 * the channel stashkid serves, bundle_read() returns an ELF image.
 * Exit 0 if every check held, else the number of the failed check.
 */
#include "vesta.h"

static int start(const char *args)
{
	static struct ve_spawn sp;
	memset(&sp, 0, sizeof(sp));
	strlcpy(sp.name, "stashkid", sizeof(sp.name));
	strlcpy(sp.image, "stashkid", sizeof(sp.image));
	strlcpy(sp.args, args, sizeof(sp.args));
	sp.prio = 1;
	strlcpy(sp.serve[0], "kidchan", sizeof(sp.serve[0]));
	sp.queue = 8;
	return (int)ve_syscall(SYS_SPAWN_SPEC, (long)&sp, 0, 0, 0, 0, 0);
}

/* Block until a child died; reap it. Returns its exit reason or -1. */
static int await_death(int pid)
{
	struct ve_wait_result r;
	struct ve_exit e;
	for (;;) {
		long got = ve_syscall(SYS_REAP, (long)&e, 0, 0, 0, 0, 0);
		if (got == pid)
			return (int)e.reason;
		if (got != -VE_AGAIN)
			return -1;
		if (ve_wait_any(NULL, 0, 5000000000ull, &r) < 0 || !r.exited)
			return -1;
	}
}

int main(const char *args)
{
	(void)args;
	static const char *const runs[] = { "crash 1", "crash 2", "ok 3", "ok 4" };
	static struct ve_procinfo ps[16];
	struct ve_chaninfo ci;
	static char img[512 * 1024]; /* more than any image */

	for (int i = 0; i < 4; i++) {
		if (i == 3 && ve_syscall(SYS_STASH_DROP, (long)"stashkid", 0, 0, 0, 0, 0) != 0)
			return 10;
		int pid = start(runs[i]);
		if (pid <= 0)
			return 11;
		int why = await_death(pid);
		if (why != (runs[i][0] == 'c' ? VE_R_PAGE_FAULT : VE_R_EXIT))
			return 12;
	}
	long n = ve_syscall(SYS_PS, (long)ps, 16, 0, 0, 0, 0);
	bool me = false;
	for (long i = 0; i < n; i++)
		me |= ps[i].pid == ve_getpid() && strcmp(ps[i].name, "stashtest") == 0;
	if (n < 1 || !me)
		return 13;
	bool chan = false;
	for (long i = 0; ve_syscall(SYS_CHAN_INFO, i, (long)&ci, 0, 0, 0, 0) == 0; i++)
		chan |= strcmp(ci.name, "kidchan") == 0 && ci.max_msgs == 8;
	if (!chan)
		return 14;
	long size = ve_syscall(SYS_BUNDLE_READ, (long)"stashkid", (long)img, sizeof(img), 0, 0, 0);
	if (size < 64 || memcmp(img,
				"\x7f"
				"ELF",
				4) != 0)
		return 15;
	if (ve_syscall(SYS_BUNDLE_READ, (long)"nosuch", (long)img, sizeof(img), 0, 0, 0) !=
	    -VE_NOENT)
		return 16;
	ve_printf("stashtest: all checks held\n");
	return 0;
}
