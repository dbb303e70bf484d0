/*
 * supkiller (grant kill): kills the root supervisor once its tree is up,
 * for the boot test of a supervisor's restart (supkill.scn). Args: the
 * names of the services to wait for. It polls ps() every 10 ms until each
 * name is a live child of the process named "supervisor", then kills that
 * process once and posts {"ev":"supkiller","killed":PID}.
 * Exit codes: 1 the services did not all appear within 10 s or the kill
 * failed, 2 bad args.
 */
#include "vesta.h"

#define POLL_MS 10
#define GIVE_UP_MS 10000
#define NAMES_MAX 8

static struct ve_procinfo ps[128];

/* The supervisor's pid if every name is a live child of it, else 0. */
static int32_t tree_up(char names[][VE_NAME_MAX], int nnames)
{
	int n = ve_ps(ps, sizeof(ps) / sizeof(ps[0]));
	int32_t sup = 0;
	int seen = 0;

	for (int i = 0; i < n; i++)
		if (ps[i].state != VE_PS_DEAD && strcmp(ps[i].name, "supervisor") == 0)
			sup = ps[i].pid;
	if (sup == 0)
		return 0;
	for (int k = 0; k < nnames; k++) {
		for (int i = 0; i < n; i++) {
			if (ps[i].parent == sup && ps[i].state != VE_PS_DEAD &&
			    strcmp(ps[i].name, names[k]) == 0) {
				seen++;
				break;
			}
		}
	}
	return seen == nnames ? sup : 0;
}

int main(const char *args)
{
	static char names[NAMES_MAX][VE_NAME_MAX];
	const char *p = ve_skip_space(args);
	int nnames = 0, r;
	int32_t sup = 0;

	while (*p) {
		size_t n = ve_word_len(p);

		if (nnames == NAMES_MAX || n >= VE_NAME_MAX)
			return 2;
		memcpy(names[nnames++], p, n);
		p = ve_skip_space(p + n);
	}
	if (nnames == 0)
		return 2;
	for (int waited = 0; waited < GIVE_UP_MS && !sup; waited += POLL_MS) {
		sup = tree_up(names, nnames);
		if (!sup)
			ve_sleep_ms(POLL_MS);
	}
	if (!sup) {
		ve_printf("supkiller: the tree never came up\n");
		return 1;
	}
	r = ve_kill(sup);
	if (r < 0) {
		ve_printf("supkiller: cannot kill the supervisor (pid %d): %s\n", (int)sup,
			  ve_strerror(r));
		return 1;
	}
	ve_event1("supkiller", "killed", sup);
	return 0;
}
