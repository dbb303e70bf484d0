/*
 * Multiboot2 boot information parser and memory map cleanup.
 *
 * The info structure is a u32 total_size, a u32 reserved word, then tags,
 * each {u32 type, u32 size, payload} starting on an 8-byte boundary, ending
 * with a tag of type 0 and size 8. All reads go through byte-wise helpers, so
 * a misaligned or hostile structure cannot cause a misaligned access, and
 * every offset is checked against total_size before it is read.
 */
#include "mb2.h"
#include <vesta/abi.h>

/* Tag types from the multiboot2 specification. */
enum {
	TAG_END = 0,
	TAG_CMDLINE = 1,
	TAG_LOADER = 2,
	TAG_MODULE = 3,
	TAG_MMAP = 6,
	TAG_EFI32_ST = 11,
	TAG_EFI64_ST = 12,
	TAG_ACPI_OLD = 14,
	TAG_ACPI_NEW = 15,
	TAG_EFI_MMAP = 17,
	TAG_EFI_BS = 18,
	TAG_EFI32_IH = 19,
	TAG_EFI64_IH = 20,
};

#define TAG_HDR 8u	   /* type + size */
#define MODULE_HDR 16u	   /* tag header + mod_start + mod_end */
#define MMAP_HDR 16u	   /* tag header + entry_size + entry_version */
#define MMAP_ENTRY_MIN 24u /* base, len, type, reserved */
#define RSDP_V1_LEN 20u	   /* ACPI 1.0 RSDP */
#define RSDP_V2_LEN 36u	   /* ACPI 2.0+ XSDP */

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static int fail(const char **why, const char *msg, int err)
{
	if (why)
		*why = msg;
	return err;
}

static void zero_info(struct mb2_info *out)
{
	unsigned char *b = (unsigned char *)out;
	size_t i;

	for (i = 0; i < sizeof(*out); i++)
		b[i] = 0;
}

/* Does s[0..n) hold a NUL? */
static bool has_nul(const uint8_t *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] == 0)
			return true;
	return false;
}

static int parse_module(const uint8_t *tag, uint32_t size, struct mb2_info *out, const char **why)
{
	struct mb2_module *m;

	if (size < MODULE_HDR)
		return fail(why, "module tag too short", -VE_INVAL);
	if (!has_nul(tag + MODULE_HDR, size - MODULE_HDR))
		return fail(why, "module cmdline not NUL-terminated", -VE_INVAL);
	if (rd32(tag + 8) > rd32(tag + 12))
		return fail(why, "module ends before it starts", -VE_INVAL);
	if (out->nmods == MB2_MAX_MODS)
		return fail(why, "too many modules", -VE_RANGE);
	m = &out->mod[out->nmods++];
	m->start = rd32(tag + 8);
	m->end = rd32(tag + 12);
	m->cmdline = (const char *)(tag + MODULE_HDR);
	return 0;
}

static int parse_mmap(const uint8_t *tag, uint32_t size, struct mb2_info *out, const char **why)
{
	uint32_t esz, off;

	if (size < MMAP_HDR)
		return fail(why, "memory map tag too short", -VE_INVAL);
	esz = rd32(tag + 8);
	if (esz < MMAP_ENTRY_MIN)
		return fail(why, "memory map entry_size below 24", -VE_INVAL);
	if ((size - MMAP_HDR) % esz)
		return fail(why, "memory map not a whole number of entries", -VE_INVAL);
	for (off = MMAP_HDR; off < size; off += esz) {
		struct mb2_region *r;

		if (out->nregions == MB2_MAX_REGIONS)
			return fail(why, "too many memory map entries", -VE_RANGE);
		r = &out->region[out->nregions++];
		r->base = rd64(tag + off);
		r->len = rd64(tag + off + 8);
		r->type = rd32(tag + off + 16);
	}
	return 0;
}

/* Tags 14 and 15 carry a copy of the RSDP; prefer the ACPI 2.0+ one. */
static int parse_rsdp(const uint8_t *tag, uint32_t type, uint32_t size, struct mb2_info *out,
		      const char **why)
{
	uint32_t len = size - TAG_HDR;

	if (type == TAG_ACPI_NEW) {
		if (len < RSDP_V2_LEN)
			return fail(why, "ACPI new RSDP tag too short", -VE_INVAL);
	} else {
		if (len < RSDP_V1_LEN)
			return fail(why, "ACPI old RSDP tag too short", -VE_INVAL);
		if (out->rsdp)
			return 0;
	}
	out->rsdp = tag + TAG_HDR;
	out->rsdp_len = len;
	return 0;
}

static int parse_string(const uint8_t *tag, uint32_t size, const char **dst, const char *what,
			const char **why)
{
	if (!has_nul(tag + TAG_HDR, size - TAG_HDR))
		return fail(why, what, -VE_INVAL);
	*dst = (const char *)(tag + TAG_HDR);
	return 0;
}

/* One tag whose size is already known to be >= 8 and inside the info. */
static int parse_tag(const uint8_t *tag, uint32_t type, uint32_t size, struct mb2_info *out,
		     const char **why)
{
	switch (type) {
	case TAG_CMDLINE:
		return parse_string(tag, size, &out->cmdline, "cmdline not NUL-terminated", why);
	case TAG_LOADER:
		return parse_string(tag, size, &out->loader, "boot loader name not NUL-terminated",
				    why);
	case TAG_MODULE:
		return parse_module(tag, size, out, why);
	case TAG_MMAP:
		return parse_mmap(tag, size, out, why);
	case TAG_ACPI_OLD:
	case TAG_ACPI_NEW:
		return parse_rsdp(tag, type, size, out, why);
	case TAG_EFI32_ST:
	case TAG_EFI64_ST:
	case TAG_EFI_MMAP:
	case TAG_EFI_BS:
	case TAG_EFI32_IH:
	case TAG_EFI64_IH:
		out->efi = true;
		return 0;
	default:
		return 0; /* a tag we do not use */
	}
}

static int parse_tags(const uint8_t *b, size_t avail, struct mb2_info *out, const char **why)
{
	uint32_t total;
	size_t off;

	if (avail < TAG_HDR)
		return fail(why, "shorter than the info header", -VE_INVAL);
	total = rd32(b);
	if (total > avail)
		return fail(why, "total_size beyond the available bytes", -VE_INVAL);
	out->total_size = total;
	off = TAG_HDR;
	for (;;) {
		uint32_t type, size;
		int rc;

		if (off > total || total - off < TAG_HDR)
			return fail(why, "missing end tag", -VE_INVAL);
		type = rd32(b + off);
		size = rd32(b + off + 4);
		if (size < TAG_HDR || size > total - off)
			return fail(why, "tag size out of bounds", -VE_INVAL);
		if (type == TAG_END && size != TAG_HDR)
			return fail(why, "end tag size is not 8", -VE_INVAL);
		if (type == TAG_END)
			return 0;
		rc = parse_tag(b + off, type, size, out, why);
		if (rc)
			return rc;
		/* size <= total - off, so this cannot wrap. */
		off += ((size_t)size + 7) & ~(size_t)7;
	}
}

int mb2_parse(const void *info, size_t avail, struct mb2_info *out, const char **why)
{
	int rc;

	if (!info || !out)
		return fail(why, "no info or no output", -VE_INVAL);
	zero_info(out);
	rc = parse_tags(info, avail, out, why);
	if (rc)
		zero_info(out);
	return rc;
}

/*
 * Memory map cleanup. out[0..*cnt) is kept sorted by base, non-overlapping
 * and non-adjacent, as [base, end) ranges with end clipped at 2^64 - 1.
 */

static uint64_t end_of(const struct mb2_region *r)
{
	return r->len > UINT64_MAX - r->base ? UINT64_MAX : r->base + r->len;
}

static void set_range(struct mb2_region *r, uint64_t b, uint64_t e)
{
	r->base = b;
	r->len = e - b;
	r->type = MB2_MEM_AVAILABLE;
}

static int insert_at(struct mb2_region *out, unsigned *cnt, unsigned cap, unsigned i, uint64_t b,
		     uint64_t e)
{
	unsigned k;

	if (*cnt == cap)
		return -VE_RANGE;
	for (k = *cnt; k > i; k--)
		out[k] = out[k - 1];
	set_range(&out[i], b, e);
	(*cnt)++;
	return 0;
}

static void remove_at(struct mb2_region *out, unsigned *cnt, unsigned i, unsigned nrm)
{
	unsigned k;

	for (k = i; k + nrm < *cnt; k++)
		out[k] = out[k + nrm];
	*cnt -= nrm;
}

/* Union [b, e) into the set, merging what it overlaps or touches. */
static int add_range(struct mb2_region *out, unsigned *cnt, unsigned cap, uint64_t b, uint64_t e)
{
	unsigned i = 0, j;

	while (i < *cnt && end_of(&out[i]) < b)
		i++;
	for (j = i; j < *cnt && out[j].base <= e; j++) {
		if (out[j].base < b)
			b = out[j].base;
		if (end_of(&out[j]) > e)
			e = end_of(&out[j]);
	}
	if (j == i)
		return insert_at(out, cnt, cap, i, b, e);
	set_range(&out[i], b, e);
	remove_at(out, cnt, i + 1, j - (i + 1));
	return 0;
}

/* Remove [b, e) from the set; a range it falls inside splits in two. */
static int cut_range(struct mb2_region *out, unsigned *cnt, unsigned cap, uint64_t b, uint64_t e)
{
	unsigned i = 0;

	while (i < *cnt) {
		uint64_t s = out[i].base, t = end_of(&out[i]);

		if (t <= b || s >= e) {
			i++;
		} else if (s < b && t > e) {
			set_range(&out[i], s, b);
			return insert_at(out, cnt, cap, i + 1, e, t);
		} else if (s < b) {
			set_range(&out[i++], s, b);
		} else if (t > e) {
			set_range(&out[i++], e, t);
		} else {
			remove_at(out, cnt, i, 1);
		}
	}
	return 0;
}

int mb2_sanitize_regions(const struct mb2_region *r, unsigned n, struct mb2_region *out,
			 unsigned cap, unsigned *nout)
{
	unsigned i, cnt = 0;
	int rc = 0;

	if (!nout || (!r && n) || (!out && cap))
		return -VE_INVAL;
	*nout = 0;
	for (i = 0; i < n && rc == 0; i++)
		if (r[i].type == MB2_MEM_AVAILABLE && r[i].len)
			rc = add_range(out, &cnt, cap, r[i].base, end_of(&r[i]));
	for (i = 0; i < n && rc == 0; i++)
		if (r[i].type != MB2_MEM_AVAILABLE && r[i].len)
			rc = cut_range(out, &cnt, cap, r[i].base, end_of(&r[i]));
	if (rc)
		return rc;
	*nout = cnt;
	return 0;
}
