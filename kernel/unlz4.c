/*
 * The kernel's LZ4 block decompressor: lz4's own lz4.c, compiled
 * freestanding from Debian's source package (fetched at build time into
 * build/deps, never committed), behind the signature bundle_open wants.
 */
#include "unlz4.h"

#include <limits.h>
#include <stddef.h>

#include "lz4.h" /* from build/deps/lz4/lib */

int lz4_decompress(const void *src, size_t src_len, void *dst, size_t dst_cap)
{
	if (src_len > INT_MAX || dst_cap > INT_MAX)
		return -1;
	return LZ4_decompress_safe(src, dst, (int)src_len, (int)dst_cap);
}
