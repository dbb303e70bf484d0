/*
 * Writing boot bundles on the host: lays out the payload (tables, then each
 * image's data 16-byte aligned) and packs it behind a header as one LZ4 HC
 * block. Shared by tools/mkbundle and the unit tests, which build bundles in
 * memory. The format is in kernel/bundle.h and tools/BUNDLE.md.
 *
 * The writer copies the process table as given and does not judge it (the
 * tests rely on that to build malformed bundles); mkbundle checks what it
 * wrote with bundle_open() before it keeps the file.
 */
#ifndef VESTA_TOOLS_BUNDLE_WRITE_H
#define VESTA_TOOLS_BUNDLE_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "../kernel/bundle.h"

/* LZ4 HC's highest level: the bundle is written once and read at each boot. */
#define BUNDLE_WRITE_LZ4_LEVEL 12

/* One image to put in a bundle; data is not copied until the call. */
struct bundle_write_image {
	const char *name; /* at most BUNDLE_NAME_MAX - 1 bytes */
	const void *data;
	size_t size;
};

/*
 * Lays out a payload holding nprocs entries of procs (copied as they are)
 * and nimages images, in that order. On success *out is a malloc'd buffer of
 * *out_len bytes that the caller frees.
 * Errors: -VE_INVAL for a NULL argument or an image name that does not fit;
 * -VE_RANGE for more procs or images than the limits, or a payload larger
 * than BUNDLE_MAX_RAW; -VE_NOMEM if malloc fails.
 */
int bundle_write_payload(const struct bundle_proc *procs, size_t nprocs,
			 const struct bundle_write_image *images, size_t nimages, uint8_t **out,
			 size_t *out_len);

/*
 * Packs the len-byte payload into a bundle file image: header, then one LZ4
 * HC block. On success *out is a malloc'd buffer of *out_len bytes that the
 * caller frees.
 * Errors: -VE_INVAL for a NULL argument or if compression fails; -VE_RANGE
 * if len is above BUNDLE_MAX_RAW; -VE_NOMEM if malloc fails.
 */
int bundle_write_pack(const void *payload, size_t len, uint8_t **out, size_t *out_len);

/*
 * The decompress callback for bundle_open() on the host: LZ4_decompress_safe
 * with size_t lengths. Returns the bytes produced, or -1.
 */
int bundle_lz4_decompress(const void *src, size_t src_len, void *dst, size_t dst_cap);

#endif
