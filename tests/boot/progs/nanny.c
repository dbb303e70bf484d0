/*
 * nanny: a crude supervisor for channel tests. Args "IMAGE DEATHS
 * [ARGS...]": it starts IMAGE with ARGS, waits for it to die and starts it
 * again, until it has seen DEATHS deaths. In one round out of four it does
 * not wait for the server to crash but kills it itself, after a random
 * 0..5 ms, so deaths also land at moments the server did not choose.
 * Needs the spawn grant (kill too, by the test manifests' convention,
 * though killing its own child needs none).
 *
 * After the last death it starts IMAGE once more with the args "crash=0"
 * (echosrv's "do not crash"; "crash=0 window" if ARGS end in echosrv's
 * "window"), writes
 *   {"ev":"nanny","deaths":N,"kills":K}
 * and exits 0, leaving that last incarnation running.
 * Exit 1 if spawn, kill or wait fails, 2 for bad args.
 */
#include "vesta.h"

#define KILL_ONE_IN 4		 /* rounds that end in our own kill */
#define KILL_DELAY_NS 5000000ull /* at most 5 ms before that kill */
#define REPORT_EVERY 100	 /* a console line every that many deaths */

/* Run one incarnation of image to its death. Returns 0 or an error. */
static int one_round(const char *image, const char *args, struct ve_rng *rng, uint64_t *kills)
{
	struct ve_exit ex;
	int pid, r;

	pid = ve_spawn(image, args);
	if (pid < 0) {
		ve_printf("nanny: spawn %s: %s\n", image, ve_strerror(pid));
		return pid;
	}
	if (ve_rng_below(rng, KILL_ONE_IN) == 0) {
		ve_sleep_ns(ve_rng_below(rng, KILL_DELAY_NS + 1));
		r = ve_kill(pid);
		/* It may have crashed by itself meanwhile. */
		if (r < 0 && r != -VE_NOENT) {
			ve_printf("nanny: kill %d: %s\n", pid, ve_strerror(r));
			return r;
		}
		if (r == 0)
			(*kills)++;
	}
	r = ve_wait(pid, &ex);
	if (r < 0) {
		ve_printf("nanny: wait %d: %s\n", pid, ve_strerror(r));
		return r;
	}
	return 0;
}

int main(const char *args)
{
	const char *p = args, *image, *rest;
	char name[VE_NAME_MAX];
	uint64_t deaths, kills = 0;
	struct ve_rng rng;
	size_t n;
	int pid;

	image = ve_skip_space(p);
	n = ve_word_len(image);
	p = image + n;
	if (n == 0 || n >= sizeof(name) || ve_parse_u64(&p, &deaths) < 0) {
		ve_printf("nanny: bad args '%s' (want \"IMAGE DEATHS [ARGS...]\")\n", args);
		return 2;
	}
	memcpy(name, image, n);
	name[n] = '\0';
	rest = ve_skip_space(p);
	ve_rng_seed(&rng, (uint64_t)ve_getpid() ^ ve_clock_ns());

	for (uint64_t d = 1; d <= deaths; d++) {
		if (one_round(name, rest, &rng, &kills) < 0)
			return 1;
		if (d % REPORT_EVERY == 0)
			ve_printf("nanny: %llu deaths of %s (%llu killed)\n", (unsigned long long)d,
				  name, (unsigned long long)kills);
	}
	size_t len = strlen(rest);
	bool window = len >= 6 && strcmp(rest + len - 6, "window") == 0;
	pid = ve_spawn(name, window ? "crash=0 window" : "crash=0");
	if (pid < 0) {
		ve_printf("nanny: last spawn of %s: %s\n", name, ve_strerror(pid));
		return 1;
	}

	struct ve_kv kv[] = {
		VE_KV_NUM("deaths", deaths),
		VE_KV_NUM("kills", kills),
	};
	ve_event("nanny", kv, sizeof(kv) / sizeof(kv[0]));
	ve_printf("nanny: %llu deaths of %s (%llu killed); pid %d runs on\n",
		  (unsigned long long)deaths, name, (unsigned long long)kills, pid);
	return 0;
}
