/*
 * vmcycle: memory that is given back must come back, to the process and to
 * the machine.
 *
 * 1. vm_alloc then vm_free one page, ROUNDS times (at least half the
 *    machine's frames, so far more rounds than a quarter-of-RAM share holds
 *    if anything stays charged per round): once where the kernel chooses,
 *    once at a fixed address far from everything else (so each round takes
 *    and gives back its own page tables). No round may be refused, and the
 *    free frame count must be the same before and after.
 * 2. spawn_spec calls that fail in process creation (an image that is not
 *    an ELF file, and then with the process table full) must leave the
 *    free frame count as it was. These specs serve no channel: channels a
 *    failed spawn_spec creates are another matter (spawn_spec's own fix).
 * 3. With its stash (VE_STASH_MAX) mapped, vm_alloc gives it no more than
 *    its share less the stash: a mapped stash counts in the share.
 *
 * Needs the spawn grant, an image "notelf" that is not ELF and an image
 * "vmcycle" (itself, started as an idle child with the arg "idle").
 * Events: vmcycle_loop (fixed, rounds, refused_at, err, lost) per loop,
 * vmcycle_spawn (calls, lost), vmcycle_stash (pages, stash, share, over).
 * Exit 0 if all is well; 1 a loop was refused or lost frames; 2 failed
 * spawns lost frames; 3 setup failed; 4 the stash was not in the share.
 */
#include "vesta.h"

#define FAR_ADDR 0x0000300000000000ull /* no other mapping within 512 GiB */
#define BAD_SPAWNS 200		       /* failed spawn_spec calls of each kind */

static uint64_t free_frames(void)
{
	struct ve_meminfo mi;

	return ve_meminfo(&mi) == 0 ? mi.free_frames : 0;
}

static uint64_t total_frames(void)
{
	struct ve_meminfo mi;

	return ve_meminfo(&mi) == 0 ? mi.total_frames : 0;
}

/*
 * rounds of vm_alloc + vm_free of one page, at addr (0: the kernel
 * chooses). Reports an event; returns 0 if no round was refused and no
 * frame was lost.
 */
static int loop(uint64_t addr, uint64_t rounds)
{
	uint64_t before = free_frames(), i;
	long r = 0;

	for (i = 0; i < rounds; i++) {
		r = ve_vm_alloc(addr, VE_PAGE_SIZE, VE_PROT_READ | VE_PROT_WRITE);
		if (r < 0)
			break;
		*(volatile uint64_t *)(uintptr_t)r = i; /* really there */
		if ((r = ve_vm_free((uint64_t)r, VE_PAGE_SIZE)) < 0)
			break;
	}
	int64_t lost = (int64_t)before - (int64_t)free_frames();
	struct ve_kv kv[] = { VE_KV_NUM("fixed", addr != 0), VE_KV_NUM("rounds", rounds),
			      VE_KV_NUM("refused_at", i < rounds ? (int64_t)i : -1),
			      VE_KV_NUM("err", r < 0 ? r : 0), VE_KV_NUM("lost", lost) };
	ve_event("vmcycle_loop", kv, 5);
	ve_printf("vmcycle: %s address: %llu of %llu rounds (%s), %lld frames lost\n",
		  addr ? "fixed" : "any", (unsigned long long)i, (unsigned long long)rounds,
		  r < 0 ? ve_strerror((int)r) : "ok", (long long)lost);
	return i == rounds && lost == 0 ? 0 : 1;
}

static void spec_named(struct ve_spawn *sp, const char *name, const char *image, const char *args)
{
	memset(sp, 0, sizeof(*sp));
	strlcpy(sp->name, name, sizeof(sp->name));
	strlcpy(sp->image, image, sizeof(sp->image));
	strlcpy(sp->args, args, sizeof(sp->args));
	sp->prio = 1; /* service */
}

/* n spawn_spec calls of sp that must all fail with want. */
static int fail_spawns(const struct ve_spawn *sp, int n, int want)
{
	for (int i = 0; i < n; i++) {
		int r = ve_spawn_spec(sp);
		if (r != want) {
			ve_printf("vmcycle: spawn_spec %s gave %d, not %s\n", sp->image, r,
				  ve_strerror(want));
			return -1;
		}
	}
	return 0;
}

/*
 * Failed spawns: BAD_SPAWNS of a non-ELF image, then, with the process
 * table filled by idle children, BAD_SPAWNS of a good one. Returns 0 if the
 * free frame count did not move (children killed and reaped), 2 if it
 * did, 3 if the test could not run.
 */
static int spawns(void)
{
	static struct ve_spawn sp;
	static int kids[64];
	int nkids = 0, bad = 0;
	uint64_t before = free_frames();

	spec_named(&sp, "notelf", "notelf", "");
	if (fail_spawns(&sp, BAD_SPAWNS, -VE_INVAL) < 0)
		return 3;
	spec_named(&sp, "idlekid", "vmcycle", "idle");
	int r;
	while (nkids < 64 && (r = ve_spawn_spec(&sp)) > 0)
		kids[nkids++] = r;
	if (nkids == 64 || r != -VE_NOMEM) {
		ve_printf("vmcycle: filling the process table: %d children, then %d\n", nkids, r);
		bad = 3;
	} else if (fail_spawns(&sp, BAD_SPAWNS, -VE_NOMEM) < 0) {
		bad = 3;
	}
	for (int i = 0; i < nkids; i++) {
		struct ve_exit ex;
		if (ve_kill(kids[i]) < 0 || ve_wait(kids[i], &ex) < 0)
			bad = 3;
	}
	int64_t lost = (int64_t)before - (int64_t)free_frames();
	struct ve_kv kv[] = { VE_KV_NUM("calls", 2 * BAD_SPAWNS), VE_KV_NUM("kids", nkids),
			      VE_KV_NUM("lost", lost) };
	ve_event("vmcycle_spawn", kv, 3);
	ve_printf("vmcycle: %d failed spawn_spec calls, %lld frames lost\n", 2 * BAD_SPAWNS,
		  (long long)lost);
	return bad ? bad : lost == 0 ? 0 : 2;
}

#define CHUNK (16 * VE_PAGE_SIZE)
#define MAX_CHUNKS 4096

/*
 * Map the stash, then 64 KiB chunks until refused, and free them. Returns
 * 0 if the pages it got and the stash's fit in its share, 4 if not, 3 if
 * the test could not run.
 */
static int stash_in_share(void)
{
	static uint64_t chunk[MAX_CHUNKS];
	uint64_t n = 0, share = total_frames() / 4, stash = VE_STASH_MAX / VE_PAGE_SIZE;
	long r;

	if (ve_stash(VE_STASH_MAX) < 0)
		return 3;
	while (n < MAX_CHUNKS && (r = ve_vm_alloc(0, CHUNK, VE_PROT_READ | VE_PROT_WRITE)) > 0)
		chunk[n++] = (uint64_t)r;
	uint64_t pages = n * (CHUNK / VE_PAGE_SIZE);
	for (uint64_t i = 0; i < n; i++)
		ve_vm_free(chunk[i], CHUNK);
	int64_t over = (int64_t)(pages + stash) - (int64_t)share;
	struct ve_kv kv[] = { VE_KV_NUM("pages", pages), VE_KV_NUM("stash", stash),
			      VE_KV_NUM("share", share), VE_KV_NUM("over", over),
			      VE_KV_NUM("err", r) };
	ve_event("vmcycle_stash", kv, 5);
	ve_printf("vmcycle: with a stash of %llu pages, vm_alloc gave %llu (share %llu), then %s\n",
		  (unsigned long long)stash, (unsigned long long)pages, (unsigned long long)share,
		  ve_strerror((int)r));
	return n == MAX_CHUNKS || r != -VE_NOMEM ? 3 : over <= 0 ? 0 : 4;
}

int main(const char *args)
{
	if (strcmp(args, "idle") == 0) {
		for (;;)
			ve_sleep_ms(1000);
	}
	uint64_t rounds = total_frames() / 2;
	if (rounds == 0)
		return 3;
	int a = loop(0, rounds);
	int b = loop(FAR_ADDR, rounds);
	int c = spawns();
	int d = stash_in_share();
	return a || b ? 1 : c ? c : d;
}
