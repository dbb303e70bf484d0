/* The messages of wsweepsrv and wsweepcli (tests/boot/scenarios/wsweep.scn). */
#ifndef WSWEEP_H
#define WSWEEP_H

#include <stdint.h>

#define WSWEEP_COUNTERS 4 /* one per stash page */

enum wsweep_op {
	WSWEEP_READ = 1, /* change nothing */
	WSWEEP_ADD = 2,	 /* counter k += value * (k + 1), for every k */
};

struct wsweep_req {
	uint64_t op, value;
};

struct wsweep_rep {
	uint64_t pid;  /* the incarnation that answered */
	uint64_t adds; /* ADD requests handled */
	uint64_t count[WSWEEP_COUNTERS];
};

#endif
