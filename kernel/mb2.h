/*
 * Multiboot2 boot information: the parser that turns the loader's tag list
 * into a plain struct, and the memory-map cleanup that turns a firmware map
 * into the ranges the frame allocator may use.
 *
 * Nothing here trusts the loader: every size and string is checked against
 * the bytes actually there. Strings and the RSDP pointer in struct mb2_info
 * point into the info structure, so it must stay mapped while they are used.
 */
#ifndef VESTA_MB2_H
#define VESTA_MB2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 128 covers the largest BIOS/UEFI maps seen in practice (~100 entries). */
#define MB2_MAX_REGIONS 128
/* One module per boot image part; the boot image is one or two files. */
#define MB2_MAX_MODS 16

/* Memory map entry types, as the multiboot2 spec numbers them. */
#define MB2_MEM_AVAILABLE 1
#define MB2_MEM_RESERVED 2
#define MB2_MEM_ACPI_RECLAIMABLE 3
#define MB2_MEM_NVS 4
#define MB2_MEM_BAD 5

struct mb2_region {
	uint64_t base, len;
	uint32_t type; /* MB2_MEM_*; any other value means reserved */
};

struct mb2_module {
	uint64_t start, end; /* physical, [start, end) */
	const char *cmdline; /* "" when the loader gave none */
};

struct mb2_info {
	uint32_t total_size; /* bytes of the info structure */
	const char *cmdline; /* kernel command line, or NULL if no tag */
	const char *loader;  /* boot loader name, or NULL if no tag */
	unsigned nregions;   /* memory map entries, as the firmware gave them */
	struct mb2_region region[MB2_MAX_REGIONS];
	unsigned nmods;
	struct mb2_module mod[MB2_MAX_MODS];
	const void *rsdp;  /* the RSDP copy inside the info, or NULL;
				 the ACPI 2.0+ one when both are given */
	uint32_t rsdp_len; /* bytes at rsdp */
	bool efi;	   /* booted through UEFI (an EFI tag was seen) */
};

/*
 * Parse the multiboot2 information at info, of which avail bytes may be
 * read. On success fills *out and returns 0. On failure returns an error,
 * sets *why (if why is not NULL) to a static string naming the broken
 * check, and leaves *out zeroed.
 * Errors: -VE_INVAL for a malformed structure (size beyond avail, bad tag
 * size, unterminated string, module end before start, missing end tag, ...)
 * or a NULL info/out; -VE_RANGE for more than MB2_MAX_REGIONS memory map
 * entries or more than MB2_MAX_MODS modules.
 */
int mb2_parse(const void *info, size_t avail, struct mb2_info *out, const char **why);

/*
 * From the n regions in r, compute the memory that is certainly usable:
 * the union of the available regions minus every region of any other type
 * (firmware maps do overlap). Writes the result to out as sorted,
 * non-overlapping, non-adjacent ranges of type MB2_MEM_AVAILABLE and their
 * count to *nout. Ranges that would run past 2^64 are clipped. out must not
 * overlap r. The result never has more than n entries, so cap >= n always
 * suffices (out also serves as the work area, so a smaller cap may fail
 * even when the final result would fit).
 * Errors: -VE_INVAL for NULL pointers; -VE_RANGE if the result needs more
 * than cap entries (then *nout is 0).
 */
int mb2_sanitize_regions(const struct mb2_region *r, unsigned n, struct mb2_region *out,
			 unsigned cap, unsigned *nout);

#endif
