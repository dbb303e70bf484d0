/*
 * splitmix64 for the host tools: a small seeded generator, the same
 * sequence on every host, so a seed names a campaign's faults or a crash
 * run's disk states (tools/campaign.c, tools/crashstates.c).
 */
#ifndef VESTA_TOOLS_SPLITMIX_H
#define VESTA_TOOLS_SPLITMIX_H

#include <stdint.h>

static inline uint64_t splitmix_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A number in [0, n), or 0 when n is 0. */
static inline uint64_t splitmix_below(uint64_t *s, uint64_t n)
{
	return n ? splitmix_next(s) % n : 0;
}

#endif
