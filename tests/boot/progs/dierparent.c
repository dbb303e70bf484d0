/*
 * dierparent: starts dier, lets it block in a call for DELAY_MS, kills it
 * and collects it. Needs the spawn grant. Writes
 *   {"ev":"dierparent","reason":"killed","reason_num":1}
 * and exits 0 iff dier died with reason killed.
 */
#include "vesta.h"

#define DELAY_MS 100 /* long enough for dier to be blocked in its call */

int main(const char *args)
{
	struct ve_exit ex;
	int pid, r;

	(void)args;
	pid = ve_spawn("dier", "");
	if (pid < 0) {
		ve_printf("dierparent: spawn dier: %s\n", ve_strerror(pid));
		return 1;
	}
	ve_sleep_ms(DELAY_MS);
	r = ve_kill(pid);
	if (r < 0) {
		ve_printf("dierparent: kill %d: %s\n", pid, ve_strerror(r));
		return 1;
	}
	r = ve_wait(pid, &ex);
	if (r < 0) {
		ve_printf("dierparent: wait %d: %s\n", pid, ve_strerror(r));
		return 1;
	}

	struct ve_kv kv[] = {
		VE_KV_STR("reason", ve_reason_name(ex.reason)),
		VE_KV_NUM("reason_num", ex.reason),
	};
	ve_event("dierparent", kv, sizeof(kv) / sizeof(kv[0]));
	ve_printf("dierparent: dier (pid %d) died: %s\n", pid, ve_reason_name(ex.reason));
	return ex.reason == VE_R_KILLED ? 0 : 1;
}
