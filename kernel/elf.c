/*
 * Static ELF64 image checks (see elf.h).
 *
 * The image may sit at any alignment in a boot module, so headers are
 * copied out byte by byte into local structs before they are read. Both
 * the kernel and the test host are little-endian x86-64, which is also the
 * only byte order accepted, so a plain copy gives the right values.
 * All range checks are written so that they cannot wrap around 2^64.
 */
#include <stdbool.h>

#include "elf.h"
#include <vesta/abi.h>

/* The ELF64 file structures, as the System V gABI lays them out. */
struct elf64_ehdr {
	uint8_t ident[16];
	uint16_t type;
	uint16_t machine;
	uint32_t version;
	uint64_t entry;
	uint64_t phoff;
	uint64_t shoff;
	uint32_t flags;
	uint16_t ehsize;
	uint16_t phentsize;
	uint16_t phnum;
	uint16_t shentsize;
	uint16_t shnum;
	uint16_t shstrndx;
};

struct elf64_phdr {
	uint32_t type;
	uint32_t flags;
	uint64_t offset;
	uint64_t vaddr;
	uint64_t paddr;
	uint64_t filesz;
	uint64_t memsz;
	uint64_t align;
};

_Static_assert(sizeof(struct elf64_ehdr) == 64, "Elf64_Ehdr layout");
_Static_assert(sizeof(struct elf64_phdr) == 56, "Elf64_Phdr layout");

#define EI_CLASS 4
#define EI_DATA 5
#define EI_VERSION 6
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define EV_CURRENT 1
#define ET_EXEC 2
#define EM_X86_64 62

#define PT_LOAD 1
#define PT_DYNAMIC 2
#define PT_INTERP 3

#define PF_X 0x1u
#define PF_W 0x2u
#define PF_R 0x4u

#define PAGE 4096ull

static int fail(const char **why, const char *msg, int err)
{
	if (why)
		*why = msg;
	return err;
}

static void copy_in(void *dst, const uint8_t *src, size_t n)
{
	uint8_t *d = dst;
	size_t i;

	for (i = 0; i < n; i++)
		d[i] = src[i];
}

static void zero_image(struct elf_image *out)
{
	uint8_t *d = (uint8_t *)out;
	size_t i;

	for (i = 0; i < sizeof(*out); i++)
		d[i] = 0;
}

/* Is [off, off+n) inside a file of len bytes? */
static bool in_file(uint64_t off, uint64_t n, size_t len)
{
	return off <= len && n <= len - off;
}

static int check_ehdr(const struct elf64_ehdr *eh, size_t len, const char **why)
{
	const uint8_t *id = eh->ident;

	if (id[0] != 0x7f || id[1] != 'E' || id[2] != 'L' || id[3] != 'F')
		return fail(why, "bad ELF magic", -VE_INVAL);
	if (id[EI_CLASS] != ELFCLASS64)
		return fail(why, "not ELFCLASS64", -VE_INVAL);
	if (id[EI_DATA] != ELFDATA2LSB)
		return fail(why, "not little-endian", -VE_INVAL);
	if (id[EI_VERSION] != EV_CURRENT || eh->version != EV_CURRENT)
		return fail(why, "not EV_CURRENT", -VE_INVAL);
	if (eh->type != ET_EXEC)
		return fail(why, "not ET_EXEC (static executable)", -VE_INVAL);
	if (eh->machine != EM_X86_64)
		return fail(why, "not EM_X86_64", -VE_INVAL);
	if (eh->phentsize != sizeof(struct elf64_phdr))
		return fail(why, "e_phentsize is not 56", -VE_INVAL);
	if (!in_file(eh->phoff, (uint64_t)eh->phnum * eh->phentsize, len))
		return fail(why, "program headers outside the file", -VE_INVAL);
	return 0;
}

static uint32_t prot_of(uint32_t flags)
{
	return (flags & PF_R ? VE_PROT_READ : 0) | (flags & PF_W ? VE_PROT_WRITE : 0) |
	       (flags & PF_X ? VE_PROT_EXEC : 0);
}

/* Checks on one non-empty PT_LOAD, on its own. */
static int check_load(const struct elf64_phdr *ph, size_t len, uint64_t user_lo, uint64_t user_hi,
		      const char **why)
{
	if (ph->filesz > ph->memsz)
		return fail(why, "PT_LOAD filesz > memsz", -VE_INVAL);
	if (!in_file(ph->offset, ph->filesz, len))
		return fail(why, "PT_LOAD file bytes outside the file", -VE_INVAL);
	if (ph->vaddr < user_lo || ph->vaddr >= user_hi || ph->memsz > user_hi - ph->vaddr)
		return fail(why, "PT_LOAD outside the user range", -VE_INVAL);
	if (ph->vaddr % PAGE != ph->offset % PAGE)
		return fail(why, "PT_LOAD vaddr and offset differ mod 4096", -VE_INVAL);
	if (ph->align > 1 &&
	    ((ph->align & (ph->align - 1)) || ph->vaddr % ph->align != ph->offset % ph->align))
		return fail(why, "PT_LOAD bad p_align", -VE_INVAL);
	return 0;
}

/* Do two segments (already inside the user range) share a page? */
static bool share_page(const struct elf_seg *a, const struct elf_seg *b)
{
	uint64_t a0 = a->vaddr / PAGE, a1 = (a->vaddr + a->memsz - 1) / PAGE;
	uint64_t b0 = b->vaddr / PAGE, b1 = (b->vaddr + b->memsz - 1) / PAGE;

	return a0 <= b1 && b0 <= a1;
}

static int add_load(const struct elf64_phdr *ph, struct elf_image *out, const char **why)
{
	struct elf_seg s = {
		.vaddr = ph->vaddr,
		.memsz = ph->memsz,
		.offset = ph->offset,
		.filesz = ph->filesz,
		.prot = prot_of(ph->flags),
	};
	unsigned i;

	for (i = 0; i < out->nsegs; i++)
		if (share_page(&out->seg[i], &s))
			return fail(why, "PT_LOAD segments share a page", -VE_INVAL);
	if (out->nsegs == ELF_MAX_SEGS)
		return fail(why, "too many PT_LOAD segments", -VE_RANGE);
	out->seg[out->nsegs++] = s;
	return 0;
}

static int check_entry(const struct elf_image *out, const char **why)
{
	unsigned i;

	if (out->nsegs == 0)
		return fail(why, "no PT_LOAD segment", -VE_INVAL);
	for (i = 0; i < out->nsegs; i++) {
		const struct elf_seg *s = &out->seg[i];

		if ((s->prot & VE_PROT_EXEC) && out->entry >= s->vaddr &&
		    out->entry - s->vaddr < s->memsz)
			return 0;
	}
	return fail(why, "entry not in an executable segment", -VE_INVAL);
}

static int parse(const uint8_t *img, size_t len, uint64_t user_lo, uint64_t user_hi,
		 struct elf_image *out, const char **why)
{
	struct elf64_ehdr eh;
	unsigned i;
	int rc;

	if (len < sizeof(eh))
		return fail(why, "smaller than the ELF header", -VE_INVAL);
	copy_in(&eh, img, sizeof(eh));
	rc = check_ehdr(&eh, len, why);
	if (rc)
		return rc;
	out->entry = eh.entry;
	for (i = 0; i < eh.phnum; i++) {
		struct elf64_phdr ph;

		copy_in(&ph, img + eh.phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
		if (ph.type == PT_INTERP)
			return fail(why, "PT_INTERP: not a static executable", -VE_INVAL);
		if (ph.type == PT_DYNAMIC)
			return fail(why, "PT_DYNAMIC: not a static executable", -VE_INVAL);
		if (ph.type != PT_LOAD)
			continue; /* notes, GNU_STACK, ...: nothing to load */
		if (ph.memsz == 0 && ph.filesz == 0)
			continue; /* occupies nothing */
		rc = check_load(&ph, len, user_lo, user_hi, why);
		if (rc == 0)
			rc = add_load(&ph, out, why);
		if (rc)
			return rc;
	}
	return check_entry(out, why);
}

int elf_parse(const void *img, size_t len, uint64_t user_lo, uint64_t user_hi,
	      struct elf_image *out, const char **why)
{
	int rc;

	if (!img || !out)
		return fail(why, "no image or no output", -VE_INVAL);
	zero_image(out);
	if (user_lo >= user_hi)
		return fail(why, "empty user range", -VE_INVAL);
	rc = parse(img, len, user_lo, user_hi, out, why);
	if (rc)
		zero_image(out);
	return rc;
}
