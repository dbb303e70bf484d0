/*
 * winkid: a program whose data segment lives in its stash, with recovery
 * windows (linked with svc/lib/user-stash.ld). wintest starts it again and
 * again; its args say what one run does, and its exit code (exit commits)
 * reports what it found:
 *   report       exit(gen * 10 + m): gen, its initialised global, and m = 1
 *                if the meminfo it once read is still there. First checks
 *                that its bss pages agree with gen (else exit 1) and that
 *                ve_stash cannot remap its stash otherwise (else exit 2).
 *   bump-crash   gen + 1 and its bss pages, then a null write: no commit,
 *                so all of it must be rolled back.
 *   bump-exit    gen + 1, then exit(0): exit commits.
 *   bump-commit  gen + 1, a cast on a bad handle (a commit, whatever it
 *                returns), then a null write: the bump stays.
 *   meminfo      a cast (commit), then meminfo() writes into a clean stash
 *                page from the kernel (must succeed: exit 3 if not), then
 *                a null write: rolled back.
 */
#include "vesta.h"

static uint64_t gen = 100;     /* .data: loaded when the stash is new */
static uint64_t pages[3][512]; /* .bss: three pages, [i][0] == gen - 100 */
static struct ve_meminfo mi;

static void bump(void)
{
	gen++;
	for (int i = 0; i < 3; i++)
		pages[i][0] = gen - 100;
}

static void commit(void)
{
	(void)ve_chan_cast(VE_HANDLES_MAX + 1, "x", 1, 0); /* -VE_BADHANDLE, but a commit */
}

int main(const char *args)
{
	const char *w = ve_skip_space(args);
	size_t n = ve_word_len(w);

	if (ve_word_is(w, n, "report")) {
		for (int i = 0; i < 3; i++)
			if (pages[i][0] != gen - 100)
				return 1;
		if (ve_stash(4096) != -VE_INVAL || ve_stash_open(4096, 2) != -VE_INVAL)
			return 2;
		return (int)(gen * 10 + (mi.total_frames != 0));
	}
	if (ve_word_is(w, n, "meminfo")) {
		commit();
		if (ve_syscall(SYS_MEMINFO, (long)&mi, 0, 0, 0, 0, 0) != 0 || mi.total_frames == 0)
			return 3;
		*(volatile int *)0 = 1;
	}
	bump();
	if (ve_word_is(w, n, "bump-exit"))
		return 0;
	if (ve_word_is(w, n, "bump-commit"))
		commit();
	*(volatile int *)0 = 1;
	return 4;
}
