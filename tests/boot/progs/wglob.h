/* The messages of wglobsrv and wglobcli (tests/boot/scenarios/wglob.scn). */
#ifndef WGLOB_H
#define WGLOB_H

#include <stdint.h>

#define WGLOB_SLOTS 4
/* wglobsrv's initial values: slot k of .data starts at WGLOB_INIT(k). */
#define WGLOB_INIT(k) (1000u * ((k) + 1))

enum wglob_op {
	WGLOB_READ = 1, /* change nothing */
	WGLOB_ADD = 2,	/* adds++, sum += value, slot k += value * (k + 1) */
	WGLOB_QUIT = 3, /* exit(0): wkeeper drops the stash and starts it fresh */
};

struct wglob_req {
	uint64_t op, value;
};

struct wglob_rep {
	uint64_t pid;
	uint64_t starts;	    /* incarnations since the stash was new */
	uint64_t adds, sum;	    /* .bss */
	uint64_t slot[WGLOB_SLOTS]; /* .data */
};

#endif
