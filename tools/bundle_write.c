/*
 * Host-side bundle writer: payload layout and LZ4 HC packing. See
 * bundle_write.h for the contracts and kernel/bundle.h for the format.
 */
#include "bundle_write.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <lz4.h>
#include <lz4hc.h>

/* The tables are written in host order, which must be the file's. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "bundle_write.c writes little-endian tables in host order"
#endif

static size_t align_up(size_t n, size_t a)
{
	return (n + a - 1) / a * a;
}

/*
 * Sets offs[i] to where image i's data goes and *total to the payload size.
 * Returns -VE_RANGE if that would exceed BUNDLE_MAX_RAW.
 */
static int layout(size_t nprocs, const struct bundle_write_image *images, size_t nimages,
		  uint32_t *offs, size_t *total)
{
	size_t at = sizeof(struct bundle_payload) + nprocs * sizeof(struct bundle_proc) +
		    nimages * sizeof(struct bundle_image);

	for (size_t i = 0; i < nimages; i++) {
		at = align_up(at, BUNDLE_IMAGE_ALIGN);
		/* Both terms stay below 2 * BUNDLE_MAX_RAW: no wrap. */
		if (images[i].size > BUNDLE_MAX_RAW || at + images[i].size > BUNDLE_MAX_RAW)
			return -VE_RANGE;
		offs[i] = (uint32_t)at;
		at += images[i].size;
	}
	if (at > BUNDLE_MAX_RAW)
		return -VE_RANGE;
	*total = at;
	return 0;
}

/* Copies s into the fixed name field dst; -VE_INVAL if it does not fit. */
static int put_name(char dst[BUNDLE_NAME_MAX], const char *s)
{
	size_t n;

	if (!s)
		return -VE_INVAL;
	n = strlen(s);
	if (n >= BUNDLE_NAME_MAX)
		return -VE_INVAL;
	memcpy(dst, s, n);
	return 0;
}

int bundle_write_payload(const struct bundle_proc *procs, size_t nprocs,
			 const struct bundle_write_image *images, size_t nimages, uint8_t **out,
			 size_t *out_len)
{
	uint32_t offs[BUNDLE_MAX_IMAGES];
	struct bundle_payload head;
	struct bundle_image *tab;
	uint8_t *p;
	size_t total;
	int err;

	if ((nprocs && !procs) || (nimages && !images) || !out || !out_len)
		return -VE_INVAL;
	if (nprocs > BUNDLE_MAX_PROCS || nimages > BUNDLE_MAX_IMAGES)
		return -VE_RANGE;
	for (size_t i = 0; i < nimages; i++)
		if (images[i].size && !images[i].data)
			return -VE_INVAL;
	if ((err = layout(nprocs, images, nimages, offs, &total)) < 0)
		return err;
	if (!(p = calloc(1, total)))
		return -VE_NOMEM;

	head.nprocs = (uint32_t)nprocs;
	head.nimages = (uint32_t)nimages;
	memcpy(p, &head, sizeof(head));
	if (nprocs)
		memcpy(p + sizeof(head), procs, nprocs * sizeof(*procs));
	tab = (struct bundle_image *)(p + sizeof(head) + nprocs * sizeof(*procs));
	for (size_t i = 0; i < nimages; i++) {
		if (put_name(tab[i].name, images[i].name) < 0) {
			free(p);
			return -VE_INVAL;
		}
		tab[i].offset = offs[i];
		tab[i].size = (uint32_t)images[i].size;
		if (images[i].size)
			memcpy(p + offs[i], images[i].data, images[i].size);
	}
	*out = p;
	*out_len = total;
	return 0;
}

int bundle_write_pack(const void *payload, size_t len, uint8_t **out, size_t *out_len)
{
	struct bundle_header h;
	uint8_t *file;
	int bound, comp;

	if (!payload || !out || !out_len)
		return -VE_INVAL;
	if (len > BUNDLE_MAX_RAW)
		return -VE_RANGE;
	bound = LZ4_compressBound((int)len);
	if (bound <= 0)
		return -VE_INVAL;
	if (!(file = malloc(BUNDLE_HEADER_SIZE + (size_t)bound)))
		return -VE_NOMEM;
	comp = LZ4_compress_HC(payload, (char *)file + BUNDLE_HEADER_SIZE, (int)len, bound,
			       BUNDLE_WRITE_LZ4_LEVEL);
	if (comp <= 0) {
		free(file);
		return -VE_INVAL;
	}

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, BUNDLE_MAGIC, BUNDLE_MAGIC_LEN);
	h.version = BUNDLE_VERSION;
	h.comp_size = (uint32_t)comp;
	h.raw_size = (uint32_t)len;
	h.raw_fnv1a = bundle_fnv1a(payload, len);
	memcpy(file, &h, sizeof(h));
	*out = file;
	*out_len = BUNDLE_HEADER_SIZE + (size_t)comp;
	return 0;
}

int bundle_lz4_decompress(const void *src, size_t src_len, void *dst, size_t dst_cap)
{
	int n;

	if (src_len > INT_MAX || dst_cap > INT_MAX)
		return -1;
	n = LZ4_decompress_safe(src, dst, (int)src_len, (int)dst_cap);
	return n < 0 ? -1 : n;
}
