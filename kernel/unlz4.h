/*
 * The kernel's LZ4 block decompressor (unlz4.c), in the shape bundle_open()
 * takes as its decompress argument.
 */
#ifndef VESTA_UNLZ4_H
#define VESTA_UNLZ4_H

#include <stddef.h>

/* Decompress the LZ4 block of src_len bytes at src into dst (dst_cap bytes).
 * Returns the bytes produced, or < 0 for a malformed block, one that does
 * not fit, or a size past INT_MAX. */
int lz4_decompress(const void *src, size_t src_len, void *dst, size_t dst_cap);

#endif
