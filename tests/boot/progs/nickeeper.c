/*
 * nickeeper: kills or crashes a NIC driver again and again while frames
 * flow, and checks that each death gives its DMA memory back.
 * Args "IMAGE K MS SEED [CHAN]": it starts IMAGE (a `start spawn`
 * template), then K times sleeps MS ms, faults it (even turns: kill; odd
 * turns: a crash kind chosen by the seed: null, wild, ud2, div0 or stack),
 * waits for its death and starts it again; the last incarnation is left
 * running. With CHAN, each fault waits (a bounded while) until the driver
 * has a message of CHAN in flight, so that the death has one to replay.
 *
 * DMA memory: just before each fault it reads the driver's frames (ve_ps:
 * its DMA memory is among them) and the free frames; after the death the
 * free frames must have grown by at least the driver's frames, less
 * SLACK for what others allocated meanwhile (a channel message or two).
 * A death that kept its DMA memory (over a hundred frames for either
 * driver) falls short. Each death writes
 *   {"ev":"nic_death","n":K,"held":F,"freed":G,"ok":1}
 * and at the end {"ev":"nickeeper","kills":K,"dma_bad":B} (B deaths short).
 * Needs the spawn and inject grants. Exit 1 if spawn, inject or wait
 * fails, 2 for bad args.
 */
#include "vesta.h"

#define SLACK 32	      /* frames others may take between the two readings */
#define INFLIGHT_TRIES 100000 /* looks for a message in flight before faulting anyway */

static char chan[VE_NAME_MAX]; /* CHAN, or "" */

/* With CHAN, wait until a message of it is in flight (or give up). */
static void await_inflight(void)
{
	struct ve_chaninfo ci;

	for (int i = 0; chan[0] && i < INFLIGHT_TRIES; i++)
		if (ve_chan_info_named(chan, &ci) == 0 && ci.inflight > 0)
			return;
}

/* Frames held by pid, or 0 if it is not found. */
static uint64_t frames_of(int pid)
{
	static struct ve_procinfo ps[64];
	int n = ve_ps(ps, 64);

	for (int i = 0; i < n; i++)
		if (ps[i].pid == pid)
			return ps[i].frames;
	return 0;
}

static uint64_t free_frames(void)
{
	struct ve_meminfo mi;

	ve_meminfo(&mi);
	return mi.free_frames;
}

/* Fault pid (turn k), collect it, check what came back. Returns 1 if the
 * memory came back, 0 if not, or an error. */
static int end_driver(int pid, uint64_t k, uint64_t seed)
{
	unsigned kind = k % 2 == 0 ? VE_INJ_KILL : (unsigned)ve_inject_parse("crash", seed + k);
	uint64_t held, before, after;
	struct ve_exit ex;
	struct ve_kv kv[4];
	int r;

	held = frames_of(pid);
	before = free_frames();
	await_inflight(); /* last: the driver may answer it any moment */
	r = ve_inject(pid, kind, 0, seed + k);

	if (r < 0 || (r = ve_wait(pid, &ex)) < 0) {
		ve_printf("nickeeper: inject/wait %d: %s\n", pid, ve_strerror(r));
		return r;
	}
	after = free_frames();
	r = after + SLACK >= before + held;
	kv[0] = VE_KV_NUM("n", k);
	kv[1] = VE_KV_NUM("held", held);
	kv[2] = VE_KV_NUM("freed", (int64_t)(after - before));
	kv[3] = VE_KV_NUM("ok", r);
	ve_event("nic_death", kv, 4);
	return r;
}

int main(const char *args)
{
	const char *p = ve_skip_space(args);
	size_t n = ve_word_len(p);
	char image[VE_NAME_MAX];
	uint64_t kills, ms, seed, bad = 0;
	struct ve_kv kv[2];
	int pid, r;

	if (n == 0 || n >= sizeof(image))
		goto usage;
	memcpy(image, p, n);
	image[n] = 0;
	p += n;
	if (ve_parse_u64(&p, &kills) < 0 || ve_parse_u64(&p, &ms) < 0 ||
	    ve_parse_u64(&p, &seed) < 0)
		goto usage;
	p = ve_skip_space(p);
	n = ve_word_len(p);
	if (n >= sizeof(chan) || *ve_skip_space(p + n))
		goto usage;
	memcpy(chan, p, n);
	chan[n] = 0;
	pid = ve_spawn(image, NULL);
	for (uint64_t k = 0; k < kills && pid >= 0; k++) {
		ve_sleep_ms(ms);
		if ((r = end_driver(pid, k, seed)) < 0)
			return 1;
		bad += r == 0;
		pid = ve_spawn(image, NULL);
	}
	if (pid < 0) {
		ve_printf("nickeeper: spawn %s: %s\n", image, ve_strerror(pid));
		return 1;
	}
	kv[0] = VE_KV_NUM("kills", kills);
	kv[1] = VE_KV_NUM("dma_bad", bad);
	ve_event("nickeeper", kv, 2);
	return 0;
usage:
	ve_printf("nickeeper: bad args '%s' (want \"IMAGE KILLS MS SEED [CHAN]\")\n", args);
	return 2;
}
