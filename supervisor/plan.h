/*
 * From a checked policy set to what the supervisor process runs: the
 * decision machine's tree spec (decide.h) and, for every service node, the
 * struct ve_spawn that starts it with exactly the grants its policy gives.
 *
 * Freestanding and host-testable like the parser and the machine: no libc,
 * no globals; the caller owns struct sup_plan (about 35 KiB: keep it
 * static).
 *
 * Nodes are numbered breadth first from the root, so every parent has a
 * smaller index than its children and each supervisor's children keep their
 * declared start order, as sup_init() wants.
 */
#ifndef VESTA_SUP_PLAN_H
#define VESTA_SUP_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vesta/abi.h>
#include "decide.h"
#include "policy.h"

/* The first byte of a heartbeat: a cast on POL_SUP_CHANNEL. */
#define SUP_HEARTBEAT_BYTE 'H'

/* Where one node of the tree comes from. */
struct sup_plan_node {
	char name[POL_NAME_MAX];
	bool is_supervisor;
	uint32_t index;	  /* into the set's services[] or supervisors[] */
	uint32_t nserves; /* services: channels it must serve to be ready */
};

struct sup_plan {
	struct sup_node_spec spec[SUP_NODES_MAX]; /* for sup_init */
	struct sup_plan_node node[SUP_NODES_MAX];
	struct ve_spawn spawn[SUP_NODES_MAX]; /* services only */
	size_t n;
};

/*
 * Fill *p from the checked set *s. A service with a heartbeat also gets
 * POL_SUP_CHANNEL among its opens, so it can beat. A service's served
 * channels share one set of queue limits in struct ve_spawn: those of its
 * first `serves` line.
 * Errors (message in *e if not NULL, "file:line:col: expected X, found Y"):
 * -VE_INVAL (s NULL or not checked), -VE_RANGE (more than SUP_NODES_MAX
 * services and supervisors, a tree deeper than SUP_DEPTH_MAX, an intensity
 * above SUP_INTENSITY_MAX, a service with a heartbeat and already 4 opens).
 */
int sup_plan_build(struct sup_plan *p, const struct pol_set *s, struct pol_error *e);

/*
 * Everything the supervisor checks before it runs a policy set, in the
 * order it does: the set as a whole (pol_check), that it holds no `process`
 * section (the kernel starts those, from a manifest), the plan (sup_plan_build)
 * and the decision machine's own validation of the planned tree (sup_init
 * on *t, due at now). tools/polcheck runs exactly this at build time, so a
 * set that passes the build boots. On success *p and *t are ready to run.
 * Errors (message in *e if not NULL): those of the three steps.
 */
int sup_plan_check(struct sup_plan *p, struct pol_set *s, struct sup_tree *t, uint64_t now,
		   struct pol_error *e);

/* The node named name, or SUP_NO_NODE. */
uint16_t sup_plan_find(const struct sup_plan *p, const char *name);

#endif
