/*
 * Static ELF64 image checks. elf_parse validates an executable from the
 * boot image against everything the loader relies on and describes its
 * loadable segments; the loader in the kernel then only copies and maps,
 * and never has to re-check a size or an address.
 *
 * Only static x86-64 executables (ET_EXEC, no interpreter, no dynamic
 * section) are accepted: Vesta has no dynamic linker.
 */
#ifndef VESTA_ELF_H
#define VESTA_ELF_H

#include <stddef.h>
#include <stdint.h>

/* A static binary has 2-4 PT_LOADs (text, rodata, data/bss); 8 is slack. */
#define ELF_MAX_SEGS 8

struct elf_seg {
	uint64_t vaddr, memsz;	 /* memory [vaddr, vaddr+memsz), memsz > 0 */
	uint64_t offset, filesz; /* file bytes [offset, offset+filesz) go to
				    vaddr; the rest up to memsz is zero */
	uint32_t prot;		 /* VE_PROT_READ|WRITE|EXEC from p_flags */
};

struct elf_image {
	uint64_t entry; /* inside an executable segment */
	unsigned nsegs;
	struct elf_seg seg[ELF_MAX_SEGS]; /* in program header order */
};

/*
 * Check the ELF image img[0..len) and describe it in *out. Every segment
 * must lie within [user_lo, user_hi) and within the file, no two segments
 * may share a page, and the entry point must be in an executable segment.
 * A segment both writable and executable is allowed. On failure *why (if
 * why is not NULL) names the failed check and *out is zeroed.
 * Errors: -VE_INVAL for any failed check or NULL img/out, or an empty user
 * range; -VE_RANGE for more than ELF_MAX_SEGS loadable segments.
 */
int elf_parse(const void *img, size_t len, uint64_t user_lo, uint64_t user_hi,
	      struct elf_image *out, const char **why);

#endif
