/*
 * The campaign's pace: a fault waits while the supervisor that would
 * restart its target is close to its intensity limit. A campaign measures
 * recovery; a burst of random faults that pushes a supervisor over its
 * limit tests escalation instead, which has its own boot tests
 * (supesc.scn). The limits come from the policy the image was built with.
 */
#ifndef VESTA_TOOLS_CAMPAIGN_PACE_H
#define VESTA_TOOLS_CAMPAIGN_PACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

/* Restarts a supervisor may have done within its period before a fault
 * into its subtree waits: this share of its intensity (rounded down, at
 * least 1), leaving room for a hang caught late and a corruption that
 * bites later. */
#define CAMP_PACE_SHARE_PCT 70

struct camp_pace {
	struct pol_set set;
	bool loaded;
	struct {
		uint64_t t[64]; /* a ring of its latest restart times (ns) */
		unsigned n;
	} win[POL_MAX_SUPERVISORS];
};

/* Read and check the policy set in dir: the files its policies.list
 * names (the set the supervisor boots), or without a list every *.policy
 * there. 0, or -1 with a message in err. */
int camp_pace_load(struct camp_pace *p, const char *dir, char *err, size_t n);

/* The supervisor restarted child (a service or supervisor) at guest time t. */
void camp_pace_restart(struct camp_pace *p, const char *child, uint64_t t_ns);

/* Must a fault into target wait, at guest time now? false for a target the
 * policy does not know (the root supervisor: the kernel restarts it). */
bool camp_pace_wait(const struct camp_pace *p, const char *target, uint64_t now_ns);

#endif
