/*
 * The bundle manifest: the file a person writes to say which files go into
 * a boot image and which processes the kernel starts from it. It is written
 * in the policy language (supervisor/policy.h, policies/README.md): `image
 * NAME PATH` lines, then one `process` section per entry of the boot
 * table. tools/mkbundle reads it; tools/BUNDLE.md describes it.
 *
 * manifest_parse() parses it with the policy parser (so a mistake reads
 * "file:line:col: expected X, found Y" as in any policy file), checks the
 * processes as pol_check() checks them -- everything the kernel's
 * bundle_open() will check of the table: a channel served twice, an opened
 * channel no process serves, an IRQ line or an I/O port granted to two
 * processes -- and turns them into the bundle's process table. It does not
 * touch the file system: image paths are resolved and read by mkbundle.
 */
#ifndef VESTA_TOOLS_MANIFEST_H
#define VESTA_TOOLS_MANIFEST_H

#include <stddef.h>

#include "../kernel/bundle.h"
#include "../supervisor/policy.h"

#define MANIFEST_ERR_MAX POL_ERR_MAX /* a buffer this big holds any message */

/* A parsed manifest: its image lines and its boot table, in file order. */
struct manifest {
	struct pol_images images;		    /* image[i].path as written */
	struct bundle_proc procs[BUNDLE_MAX_PROCS]; /* ready for the bundle */
	size_t nprocs;
	struct pol_set set; /* the processes as parsed */
};

/*
 * Parses the len bytes of manifest text at text into *m (file is only used
 * in messages). On an error, writes "file:line:col: expected X, found Y" (no
 * newline, truncated to err_cap) into err and returns -VE_INVAL. Lines and
 * columns count from 1; a column counts bytes, a tab is one.
 * Errors: -VE_INVAL for any mistake in the text or a NULL argument.
 */
int manifest_parse(const char *file, const char *text, size_t len, struct manifest *m, char *err,
		   size_t err_cap);

#endif
