/*
 * wintest (grant spawn): recovery windows on a data segment kept in the
 * stash (winkid, linked with svc/lib/user-stash.ld). It starts winkid run
 * after run and checks each run's end against what windows promise: a
 * crash undoes every write since the last commit (the process's own and a
 * kernel copy's), an exit or a cast commits, and a dropped stash starts
 * from the image's initial data again. Posts {"ev":"wintest","step":N,
 * "code":C} per run; exits 0 if every check held, else the failed step.
 */
#include "vesta.h"

static int start(const char *args)
{
	static struct ve_spawn sp;
	memset(&sp, 0, sizeof(sp));
	strlcpy(sp.name, "winkid", sizeof(sp.name));
	strlcpy(sp.image, "winkid", sizeof(sp.image));
	strlcpy(sp.args, args, sizeof(sp.args));
	sp.prio = 1;
	return (int)ve_syscall(SYS_SPAWN_SPEC, (long)&sp, 0, 0, 0, 0, 0);
}

/* Block until child pid died; reap it into *e. */
static bool await_death(int pid, struct ve_exit *e)
{
	struct ve_wait_result r;
	for (;;) {
		long got = ve_syscall(SYS_REAP, (long)e, 0, 0, 0, 0, 0);
		if (got == pid)
			return true;
		if (got != -VE_AGAIN)
			return false;
		if (ve_wait_any(NULL, 0, 5000000000ull, &r) < 0 || !r.exited)
			return false;
	}
}

static const struct {
	const char *args;
	int reason;   /* how it must end */
	int64_t code; /* and its exit code, if by exit */
} steps[] = {
	{ "report", VE_R_EXIT, 1000 }, { "bump-crash", VE_R_PAGE_FAULT, 0 },
	{ "report", VE_R_EXIT, 1000 }, { "bump-exit", VE_R_EXIT, 0 },
	{ "report", VE_R_EXIT, 1010 }, { "bump-commit", VE_R_PAGE_FAULT, 0 },
	{ "report", VE_R_EXIT, 1020 }, { "meminfo", VE_R_PAGE_FAULT, 0 },
	{ "report", VE_R_EXIT, 1020 }, { "drop", 0, 0 },
	{ "report", VE_R_EXIT, 1000 },
};

int main(const char *args)
{
	(void)args;
	for (unsigned i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct ve_exit e = { 0 };
		if (strcmp(steps[i].args, "drop") == 0) {
			if (ve_stash_drop("winkid") != 0)
				return (int)i + 1;
			continue;
		}
		int pid = start(steps[i].args);
		if (pid <= 0 || !await_death(pid, &e))
			return (int)i + 1;
		struct ve_kv kv[3] = { { .key = "step", .num = i + 1 },
				       { .key = "reason", .num = e.reason },
				       { .key = "code", .num = e.code } };
		ve_event("wintest", kv, 3);
		if ((int)e.reason != steps[i].reason ||
		    (steps[i].reason == VE_R_EXIT && e.code != steps[i].code))
			return (int)i + 1;
	}
	ve_printf("wintest: all checks held\n");
	return 0;
}
