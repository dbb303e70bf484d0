/*
 * dtcli: a caller whose timeout fires while the server is dying on its
 * request must get one answer, and the channel's counters must tell the
 * same story: -VE_TIMEOUT with the request counted cancelled (no dead
 * letter), or -VE_POISON with it counted poisoned (a dead letter) -- never
 * -VE_TIMEOUT for a request the channel says was poisoned.
 *
 * Two rounds on "dt" (max_redeliveries 1, so the first death poisons), each
 * with a fresh dtsrv:
 *   race    call "spin" with a 100 ms timeout: dtsrv holds it until the
 *           deadline has woken us, then dies before we run again;
 *   poison  call "crash" with no timeout: dtsrv dies on it while we wait,
 *           so we must get -VE_POISON.
 * After each it compares its result with the change in chan_info's
 * poisoned, cancelled and deadletters.
 *
 * Writes {"ev":"dtcli","race":NAME,"poison":NAME,"bad":N}. Exit 0 iff bad
 * is 0.
 */
#include "vesta.h"

#define RACE_TIMEOUT_NS 100000000ull /* 100 ms; dtsrv waits for it to fire */

static unsigned bad;

static struct ve_chaninfo dt_info(void)
{
	struct ve_chaninfo ci = { 0 };
	if (ve_chan_info_named("dt", &ci) == 0)
		return ci;
	bad++;
	return (struct ve_chaninfo){ 0 };
}

/* One round: a fresh dtsrv, one call; returns its result. */
static long round(int h, const char *req, uint64_t timeout_ns)
{
	struct ve_exit ex;
	char rep[16];
	int pid = ve_spawn("dtsrv", "");
	if (pid < 0) {
		ve_printf("dtcli: spawn dtsrv: %s\n", ve_strerror(pid));
		bad++;
		return pid;
	}
	struct ve_chaninfo before = dt_info();
	long r = ve_chan_call(h, req, strlen(req), rep, sizeof(rep), timeout_ns);
	ve_wait(pid, &ex); /* dtsrv is dead (or dying) by now */
	struct ve_chaninfo after = dt_info();
	uint64_t poisoned = after.poisoned - before.poisoned;
	uint64_t cancelled = after.cancelled - before.cancelled;
	uint32_t dead = after.deadletters - before.deadletters;
	bool agree = (r == -VE_TIMEOUT && poisoned == 0 && dead == 0 && cancelled == 1) ||
		     (r == -VE_POISON && poisoned == 1 && dead == 1 && cancelled == 0);
	ve_printf("dtcli: %s: %ld (%s), poisoned +%llu, cancelled +%llu, dead letters +%u\n", req,
		  r, ve_strerror(r), (unsigned long long)poisoned, (unsigned long long)cancelled,
		  dead);
	if (!agree)
		bad++;
	return r;
}

int main(const char *args)
{
	(void)args;
	int h = ve_chan_open("dt");
	if (h < 0) {
		ve_printf("dtcli: open dt: %s\n", ve_strerror(h));
		return 3;
	}
	long race = round(h, "spin", RACE_TIMEOUT_NS);
	long poison = round(h, "crash", VE_TIMEOUT_NONE);
	if (poison != -VE_POISON)
		bad++;
	struct ve_kv kv[] = {
		VE_KV_STR("race", ve_strerror(race)),
		VE_KV_STR("poison", ve_strerror(poison)),
		VE_KV_NUM("bad", bad),
	};
	ve_event("dtcli", kv, 3);
	return bad ? 1 : 0;
}
