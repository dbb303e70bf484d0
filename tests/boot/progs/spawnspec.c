/*
 * spawnspec: spawn_spec checks the whole spec before it creates anything,
 * and a spec it refuses leaves no channel behind.
 *
 * Each bad spec below names a channel to serve that does not exist yet; it
 * must be refused with -VE_INVAL, and that channel must still not exist:
 * an image that is not ELF (refused only when the process is built), a
 * bad second channel name, a serve list with a gap, a bad opened name,
 * limits past the boot table's ranges (queue 1..4096, qbytes 1..16 MiB,
 * redeliveries 1..1000), and limits on a spec that serves nothing. Then a
 * spec at the top of every range must start, with its channel made with
 * exactly those limits.
 *
 * Run with args "child" it exits 0 at once (the process the good spec
 * starts). Writes {"ev":"spawnspec","checks":N,"bad":N}. Exit 0 iff bad
 * is 0.
 */
#include "vesta.h"

#define QUEUE_TOP 4096u
#define QBYTES_TOP (16u << 20)
#define REDELIVERIES_TOP 1000u

static unsigned checks, bad;

static bool find_chan(const char *name, struct ve_chaninfo *ci)
{
	return ve_chan_info_named(name, ci) == 0;
}

/* A spec that starts this program as "child", serving chan. */
static struct ve_spawn spec(const char *image, const char *chan)
{
	struct ve_spawn sp = { .prio = 1 };
	strlcpy(sp.name, "spawnspec_kid", sizeof(sp.name));
	strlcpy(sp.image, image, sizeof(sp.image));
	strlcpy(sp.args, "child", sizeof(sp.args));
	strlcpy(sp.serve[0], chan, sizeof(sp.serve[0]));
	return sp;
}

/* sp must be refused with -VE_INVAL, and leave no channel chan. */
static void refused(const char *what, const struct ve_spawn *sp, const char *chan)
{
	struct ve_chaninfo ci;
	int r = ve_spawn_spec(sp);
	bool left = find_chan(chan, &ci);
	checks++;
	if (r == -VE_INVAL && !left)
		return;
	bad++;
	ve_printf("spawnspec: %s: %d (%s)%s\n", what, r, ve_strerror(r),
		  left ? ", and its channel is left behind" : "");
	if (r > 0)
		ve_wait(r, NULL);
}

static void bad_specs(void)
{
	struct ve_spawn sp = spec("notelf", "ss_notelf");
	refused("an image that is not ELF", &sp, "ss_notelf");
	sp = spec("spawnspec", "ss_name");
	strlcpy(sp.serve[1], "bad name", sizeof(sp.serve[1]));
	refused("a bad second channel name", &sp, "ss_name");
	sp = spec("spawnspec", "");
	strlcpy(sp.serve[1], "ss_gap", sizeof(sp.serve[1]));
	refused("a gap in the serve list", &sp, "ss_gap");
	sp = spec("spawnspec", "ss_open");
	strlcpy(sp.open[0], "bad/open", sizeof(sp.open[0]));
	refused("a bad opened channel name", &sp, "ss_open");
	sp = spec("spawnspec", "ss_queue");
	sp.queue = QUEUE_TOP + 1;
	refused("queue past its range", &sp, "ss_queue");
	sp = spec("spawnspec", "ss_queue2");
	sp.queue = 1000000;
	refused("queue far past its range", &sp, "ss_queue2");
	sp = spec("spawnspec", "ss_qbytes");
	sp.qbytes = QBYTES_TOP + 1;
	refused("qbytes past its range", &sp, "ss_qbytes");
	sp = spec("spawnspec", "ss_redeliv");
	sp.redeliveries = REDELIVERIES_TOP + 1;
	refused("redeliveries past their range", &sp, "ss_redeliv");
	sp = spec("spawnspec", "");
	sp.queue = 8;
	refused("limits without a served channel", &sp, "");
}

/* The top of every range is accepted and the channel gets those limits. */
static void good_spec(void)
{
	struct ve_spawn sp = spec("spawnspec", "ss_top");
	struct ve_chaninfo ci;
	sp.queue = QUEUE_TOP;
	sp.qbytes = QBYTES_TOP;
	sp.redeliveries = REDELIVERIES_TOP;
	int pid = ve_spawn_spec(&sp);
	checks++;
	if (pid <= 0 || !find_chan("ss_top", &ci) || ci.max_msgs != QUEUE_TOP ||
	    ci.max_bytes != QBYTES_TOP || ci.max_redeliveries != REDELIVERIES_TOP) {
		bad++;
		ve_printf("spawnspec: the spec at the top of every range: %d (%s)\n", pid,
			  ve_strerror(pid));
	}
	if (pid > 0)
		ve_wait(pid, NULL);
}

int main(const char *args)
{
	if (ve_args_have(args, "child"))
		return 0;
	bad_specs();
	good_spec();
	struct ve_kv kv[] = { VE_KV_NUM("checks", checks), VE_KV_NUM("bad", bad) };
	ve_event("spawnspec", kv, 2);
	return bad ? 1 : 0;
}
