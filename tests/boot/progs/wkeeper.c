/*
 * wkeeper: the supervisor of the recovery-window tests (wsweep.scn,
 * wglob.scn). Args "IMAGE [ARGS...]": it starts IMAGE with ARGS and starts
 * it again each time it dies, for ever, so that a call in flight at a
 * death is replayed to the next incarnation. A death that is a clean
 * exit(0) is the server asking for a fresh start: its stash is dropped
 * first (the next incarnation starts from its initial state), and
 *   {"ev":"wkeeper_drop","deaths":N,"r":R}   (R: stash_drop's answer)
 * is posted. Every 100th death posts {"ev":"wkeeper","deaths":N}.
 * Needs the spawn grant. Exit 1 if spawn or wait fails, 2 for bad args.
 */
#include "vesta.h"

#define REPORT_EVERY 100

int main(const char *args)
{
	char image[VE_NAME_MAX];
	const char *p = ve_skip_space(args);
	size_t n = ve_word_len(p);
	uint64_t deaths = 0;
	struct ve_exit ex;

	if (n == 0 || n >= sizeof(image)) {
		ve_printf("wkeeper: bad args '%s' (want \"IMAGE [ARGS...]\")\n", args);
		return 2;
	}
	memcpy(image, p, n);
	image[n] = '\0';
	const char *child_args = ve_skip_space(p + n);
	for (;;) {
		int pid = ve_spawn(image, child_args);
		if (pid < 0) {
			ve_printf("wkeeper: spawn %s: %s\n", image, ve_strerror(pid));
			return 1;
		}
		int r = ve_wait(pid, &ex);
		if (r < 0) {
			ve_printf("wkeeper: wait %d: %s\n", pid, ve_strerror(r));
			return 1;
		}
		deaths++;
		if (ex.reason == VE_R_EXIT && ex.code == 0) {
			struct ve_kv kv[] = { VE_KV_NUM("deaths", deaths),
					      VE_KV_NUM("r", ve_stash_drop(image)) };
			ve_event("wkeeper_drop", kv, 2);
		}
		if (deaths % REPORT_EVERY == 0)
			ve_event1("wkeeper", "deaths", (int64_t)deaths);
	}
}
