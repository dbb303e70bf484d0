/*
 * The bundle manifest: the text file a person writes to say which images go
 * into the boot bundle and which processes start at boot. tools/mkbundle
 * reads it; tools/BUNDLE.md describes the language. One directive a line:
 *
 *   image NAME PATH
 *   proc NAME IMAGE [prio=P] [ports=R,...] [irq=N,...] [grant=G,...]
 *        [serve=CHAN,...] [open=CHAN,...] [queue=N] [qbytes=SIZE]
 *        [redeliveries=N] [-- ARGS...]
 *
 * The parser checks everything the kernel's bundle_open() will check, so a
 * bad manifest fails at build time with "file:line:col: expected X, found Y"
 * instead of at boot. That includes the checks across processes: a channel
 * served twice, an opened channel nobody serves, an IRQ line or an I/O port
 * granted to two processes. It does not touch the file system: image paths are
 * resolved and read by mkbundle.
 */
#ifndef VESTA_TOOLS_MANIFEST_H
#define VESTA_TOOLS_MANIFEST_H

#include <stddef.h>

#include "../kernel/bundle.h"

#define MANIFEST_PATH_MAX 1024 /* image paths, including the NUL */
#define MANIFEST_ERR_MAX 256   /* a buffer this big holds any message */

/* An `image` directive. */
struct manifest_image {
	char name[BUNDLE_NAME_MAX];
	char path[MANIFEST_PATH_MAX]; /* as written, not yet resolved */
	unsigned line, col;	      /* where the path is, for messages */
};

/* Where a word of the manifest is, for messages about it. */
struct manifest_pos {
	unsigned line, col;
};

/* A parsed manifest, in the order the directives appear. */
struct manifest {
	struct manifest_image images[BUNDLE_MAX_IMAGES];
	size_t nimages;
	struct bundle_proc procs[BUNDLE_MAX_PROCS]; /* ready for the bundle */
	size_t nprocs;
	/*
	 * Where each name of procs[i].open[k] was written: whether some proc
	 * serves it is only known once every line has been read.
	 */
	struct manifest_pos open_pos[BUNDLE_MAX_PROCS][VE_SPAWN_CHANS];
};

/*
 * Parses the len bytes of manifest text at text into *m (file is only used
 * in messages). On an error, writes "file:line:col: expected X, found Y" (no
 * newline, truncated to err_cap) into err and returns -VE_INVAL; *m then
 * holds the directives before the bad one. Lines and columns count from 1;
 * a column counts bytes, a tab is one.
 * Errors: -VE_INVAL for any mistake in the text or a NULL argument.
 */
int manifest_parse(const char *file, const char *text, size_t len, struct manifest *m, char *err,
		   size_t err_cap);

#endif
