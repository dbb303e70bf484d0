/*
 * nicfault: faults a supervised NIC driver again and again, by name, and
 * lets its supervisor restart it (supnic.scn). Args "NAME K MS SEED": K
 * times it waits MS ms, finds the live process NAME (ve_ps), injects a
 * fault into it (in turn: kill, a crash kind chosen by the seed, hang,
 * which only the heartbeat catches) and waits until another process of
 * that name is up. Then it writes {"ev":"nicfault","faults":K}.
 * Needs the inject grant. Exit 1 if the driver is not back within 10 s of
 * a fault, 2 for bad args.
 */
#include "vesta.h"

#define BACK_MS 10000 /* longest wait for the restarted driver */

/* The pid of the live process called name, or 0. */
static int pid_of(const char *name)
{
	static struct ve_procinfo ps[64];
	int n = ve_ps(ps, 64);

	for (int i = 0; i < n; i++)
		if (ps[i].state != VE_PS_DEAD && strcmp(ps[i].name, name) == 0)
			return ps[i].pid;
	return 0;
}

/* The fault of turn k. */
static unsigned kind_of(uint64_t k, uint64_t seed)
{
	if (k % 3 == 0)
		return VE_INJ_KILL;
	if (k % 3 == 1)
		return (unsigned)ve_inject_parse("crash", seed + k);
	return (unsigned)ve_inject_parse("hang", seed + k);
}

int main(const char *args)
{
	const char *p = ve_skip_space(args);
	size_t n = ve_word_len(p);
	char name[VE_NAME_MAX];
	uint64_t faults, ms, seed;
	int pid = 0, now;

	if (n == 0 || n >= sizeof(name))
		goto usage;
	memcpy(name, p, n);
	name[n] = 0;
	p += n;
	if (ve_parse_u64(&p, &faults) < 0 || ve_parse_u64(&p, &ms) < 0 ||
	    ve_parse_u64(&p, &seed) < 0 || *ve_skip_space(p))
		goto usage;
	for (uint64_t k = 0; k < faults; k++) {
		int waited = 0;

		ve_sleep_ms(ms);
		while ((now = pid_of(name)) == 0 || now == pid) {
			if ((waited += 10) > BACK_MS) {
				ve_printf("nicfault: %s is not back\n", name);
				return 1;
			}
			ve_sleep_ms(10);
		}
		pid = now;
		if (ve_inject(pid, kind_of(k, seed), 0, seed + k) < 0)
			k--; /* it died on its own meanwhile: fault the next one */
	}
	ve_event1("nicfault", "faults", (int64_t)faults);
	return 0;
usage:
	ve_printf("nicfault: bad args '%s' (want \"NAME FAULTS MS SEED\")\n", args);
	return 2;
}
