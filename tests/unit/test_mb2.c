/*
 * Unit tests for kernel/mb2: the multiboot2 info parser and the memory map
 * cleanup. Info structures are built by hand in a buffer, as a loader would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mb2.h"
#include <vesta/abi.h>

/* A multiboot2 info structure under construction. */
struct blob {
	uint64_t words[2048]; /* 16 KiB, 8-aligned like a loader's */
	size_t len;
};

static uint8_t *bytes(struct blob *b)
{
	return (uint8_t *)b->words;
}

static void put32(struct blob *b, size_t off, uint32_t v)
{
	memcpy(bytes(b) + off, &v, 4);
}

static void put64(struct blob *b, size_t off, uint64_t v)
{
	memcpy(bytes(b) + off, &v, 8);
}

static void blob_begin(struct blob *b)
{
	memset(b, 0, sizeof(*b));
	b->len = 8;
}

/* Start a tag of the given type; returns its offset. Call tag_close after. */
static size_t tag_open(struct blob *b, uint32_t type)
{
	size_t off = b->len;

	put32(b, off, type);
	b->len += 8;
	return off;
}

static void tag_close(struct blob *b, size_t off)
{
	put32(b, off + 4, (uint32_t)(b->len - off));
	b->len = (b->len + 7) & ~(size_t)7;
}

static void add_raw(struct blob *b, const void *p, size_t n)
{
	memcpy(bytes(b) + b->len, p, n);
	b->len += n;
}

static void add_string_tag(struct blob *b, uint32_t type, const char *s)
{
	size_t t = tag_open(b, type);

	add_raw(b, s, strlen(s) + 1);
	tag_close(b, t);
}

static void add_module(struct blob *b, uint32_t start, uint32_t end, const char *s)
{
	size_t t = tag_open(b, 3);

	put32(b, b->len, start);
	put32(b, b->len + 4, end);
	b->len += 8;
	add_raw(b, s, strlen(s) + 1);
	tag_close(b, t);
}

static void add_mmap(struct blob *b, uint32_t esz, const struct mb2_region *r, unsigned n)
{
	size_t t = tag_open(b, 6);
	unsigned i;

	put32(b, b->len, esz);
	put32(b, b->len + 4, 0);
	b->len += 8;
	for (i = 0; i < n; i++) {
		memset(bytes(b) + b->len, 0xa5, esz); /* junk in the padding */
		put64(b, b->len, r[i].base);
		put64(b, b->len + 8, r[i].len);
		put32(b, b->len + 16, r[i].type);
		put32(b, b->len + 20, 0);
		b->len += esz;
	}
	tag_close(b, t);
}

static void add_rsdp(struct blob *b, uint32_t type, size_t n, uint8_t fill)
{
	size_t t = tag_open(b, type);

	memset(bytes(b) + b->len, fill, n);
	b->len += n;
	tag_close(b, t);
}

static void blob_end(struct blob *b)
{
	put32(b, b->len, 0);
	put32(b, b->len + 4, 8);
	b->len += 8;
	put32(b, 0, (uint32_t)b->len);
}

static const struct mb2_region sample_map[] = {
	{ 0x0, 0x9fc00, 1 },
	{ 0x9fc00, 0x400, 2 },
	{ 0x100000, 0x7ee0000, 1 },
	{ 0xfffc0000, 0x40000, 2 },
};

/* The info a typical BIOS boot through GRUB gives. */
static void build_normal(struct blob *b)
{
	size_t t;

	blob_begin(b);
	add_string_tag(b, 1, "console=com1 quiet");
	add_string_tag(b, 2, "GRUB 2.06");
	add_module(b, 0x200000, 0x280000, "vesta.img");
	add_module(b, 0x300000, 0x300000, "");
	t = tag_open(b, 8); /* framebuffer: ignored */
	add_raw(b, "\x01\x02\x03\x04\x05", 5);
	tag_close(b, t);
	add_mmap(b, 24, sample_map, 4);
	add_rsdp(b, 14, 20, 0x11);
	blob_end(b);
}

static struct mb2_info info;

static void test_normal(void **state)
{
	struct blob *b = malloc(sizeof(*b));
	const char *why = NULL;
	unsigned i;

	(void)state;
	build_normal(b);
	assert_int_equal(mb2_parse(b->words, b->len, &info, &why), 0);
	assert_null(why);
	assert_int_equal(info.total_size, b->len);
	assert_string_equal(info.cmdline, "console=com1 quiet");
	assert_string_equal(info.loader, "GRUB 2.06");
	assert_int_equal(info.nmods, 2);
	assert_int_equal(info.mod[0].start, 0x200000);
	assert_int_equal(info.mod[0].end, 0x280000);
	assert_string_equal(info.mod[0].cmdline, "vesta.img");
	assert_int_equal(info.mod[1].start, info.mod[1].end);
	assert_string_equal(info.mod[1].cmdline, "");
	assert_int_equal(info.nregions, 4);
	for (i = 0; i < 4; i++) {
		assert_int_equal(info.region[i].base, sample_map[i].base);
		assert_int_equal(info.region[i].len, sample_map[i].len);
		assert_int_equal(info.region[i].type, sample_map[i].type);
	}
	assert_non_null(info.rsdp);
	assert_int_equal(info.rsdp_len, 20);
	assert_int_equal(((const uint8_t *)info.rsdp)[0], 0x11);
	assert_false(info.efi);
	/* avail may be larger than total_size. */
	assert_int_equal(mb2_parse(b->words, sizeof(b->words), &info, NULL), 0);
	free(b);
}

static void test_optional_tags(void **state)
{
	struct blob *b = malloc(sizeof(*b));

	(void)state;
	/* Only an end tag: valid, and everything is absent. */
	blob_begin(b);
	blob_end(b);
	assert_int_equal(mb2_parse(b->words, b->len, &info, NULL), 0);
	assert_null(info.cmdline);
	assert_null(info.loader);
	assert_null(info.rsdp);
	assert_int_equal(info.nregions + info.nmods, 0);

	/* New RSDP wins over old, whichever comes first; EFI is seen. */
	blob_begin(b);
	add_rsdp(b, 15, 36, 0x22);
	add_rsdp(b, 14, 20, 0x11);
	add_rsdp(b, 12, 8, 0);
	blob_end(b);
	assert_int_equal(mb2_parse(b->words, b->len, &info, NULL), 0);
	assert_int_equal(info.rsdp_len, 36);
	assert_int_equal(((const uint8_t *)info.rsdp)[0], 0x22);
	assert_true(info.efi);

	blob_begin(b);
	add_rsdp(b, 14, 20, 0x11);
	add_rsdp(b, 15, 36, 0x22);
	add_rsdp(b, 17, 16, 0);
	blob_end(b);
	assert_int_equal(mb2_parse(b->words, b->len, &info, NULL), 0);
	assert_int_equal(((const uint8_t *)info.rsdp)[0], 0x22);
	assert_true(info.efi);
	free(b);
}

static void test_wide_mmap_entries(void **state)
{
	struct blob *b = malloc(sizeof(*b));

	(void)state;
	blob_begin(b);
	add_mmap(b, 40, sample_map, 4);
	blob_end(b);
	assert_int_equal(mb2_parse(b->words, b->len, &info, NULL), 0);
	assert_int_equal(info.nregions, 4);
	assert_int_equal(info.region[2].base, 0x100000);
	assert_int_equal(info.region[3].type, 2);
	free(b);
}

/* Expect mb2_parse to fail with err, naming a check, with *out zeroed. */
static void expect_fail(struct blob *b, size_t avail, int err)
{
	const char *why = NULL;

	info.nregions = 77;
	assert_int_equal(mb2_parse(b->words, avail, &info, &why), err);
	assert_non_null(why);
	assert_int_equal(info.nregions, 0);
	assert_null(info.cmdline);
	assert_int_equal(info.total_size, 0);
}

static void test_truncated(void **state)
{
	struct blob *b = malloc(sizeof(*b));

	(void)state;
	build_normal(b);
	expect_fail(b, b->len - 1, -VE_INVAL);
	expect_fail(b, 7, -VE_INVAL);
	expect_fail(b, 0, -VE_INVAL);
	/* total_size shorter than the tags: the end tag is outside. */
	put32(b, 0, (uint32_t)b->len - 8);
	expect_fail(b, b->len, -VE_INVAL);
	put32(b, 0, 8);
	expect_fail(b, b->len, -VE_INVAL);
	put32(b, 0, 0);
	expect_fail(b, b->len, -VE_INVAL);
	/* total_size cutting the memory map tag in half. */
	build_normal(b);
	put32(b, 0, 120);
	expect_fail(b, b->len, -VE_INVAL);
	assert_int_equal(mb2_parse(NULL, 16, &info, NULL), -VE_INVAL);
	assert_int_equal(mb2_parse(b->words, 16, NULL, NULL), -VE_INVAL);
	free(b);
}

static void test_bad_tag_size(void **state)
{
	struct blob *b = malloc(sizeof(*b));

	(void)state;
	blob_begin(b);
	add_string_tag(b, 1, "x");
	blob_end(b);
	put32(b, 12, 7); /* size below the tag header */
	expect_fail(b, b->len, -VE_INVAL);
	put32(b, 12, 0);
	expect_fail(b, b->len, -VE_INVAL);
	put32(b, 12, (uint32_t)b->len); /* runs past total_size */
	expect_fail(b, b->len, -VE_INVAL);
	put32(b, 12, 0xfffffff9);
	expect_fail(b, b->len, -VE_INVAL);

	/* End tag with a size other than 8. */
	blob_begin(b);
	blob_end(b);
	put32(b, 12, 16);
	put32(b, 0, 24);
	expect_fail(b, 24, -VE_INVAL);
	free(b);
}

static void test_missing_end(void **state)
{
	struct blob *b = malloc(sizeof(*b));

	(void)state;
	blob_begin(b);
	add_string_tag(b, 1, "abc");
	put32(b, 0, (uint32_t)b->len); /* tags fill total_size exactly */
	expect_fail(b, b->len, -VE_INVAL);
	/* A few stray bytes after the last tag, not a whole tag. */
	put32(b, 0, (uint32_t)b->len + 4);
	expect_fail(b, b->len + 4, -VE_INVAL);
	/* The last tag's padding runs past total_size (size 9 -> next 24). */
	blob_begin(b);
	add_string_tag(b, 1, "");
	put32(b, 12, 9);
	put32(b, 0, 17);
	expect_fail(b, 17, -VE_INVAL);
	free(b);
}

static void test_unterminated_strings(void **state)
{
	struct blob *b = malloc(sizeof(*b));
	size_t t;

	(void)state;
	blob_begin(b);
	t = tag_open(b, 1);
	add_raw(b, "abcd", 4);
	tag_close(b, t);
	add_string_tag(b, 2, "zzz"); /* the NUL after the tag must not count */
	blob_end(b);
	expect_fail(b, b->len, -VE_INVAL);

	blob_begin(b);
	t = tag_open(b, 2);
	tag_close(b, t); /* empty: no NUL at all */
	blob_end(b);
	expect_fail(b, b->len, -VE_INVAL);

	blob_begin(b);
	t = tag_open(b, 3);
	put32(b, b->len, 0x1000);
	put32(b, b->len + 4, 0x2000);
	b->len += 8;
	add_raw(b, "mod", 3);
	tag_close(b, t);
	blob_end(b);
	expect_fail(b, b->len, -VE_INVAL);
	free(b);
}

static void test_bad_modules(void **state)
{
	struct blob *b = malloc(sizeof(*b));
	size_t t;
	unsigned i;

	(void)state;
	blob_begin(b);
	add_module(b, 0x2000, 0x1fff, "backwards");
	blob_end(b);
	expect_fail(b, b->len, -VE_INVAL);

	blob_begin(b);
	t = tag_open(b, 3);
	put32(b, b->len, 0x1000);
	b->len += 4;
	tag_close(b, t); /* too short for mod_end */
	blob_end(b);
	expect_fail(b, b->len, -VE_INVAL);

	blob_begin(b);
	for (i = 0; i < MB2_MAX_MODS; i++)
		add_module(b, i * 0x1000, i * 0x1000 + 10, "m");
	blob_end(b);
	assert_int_equal(mb2_parse(b->words, b->len, &info, NULL), 0);
	assert_int_equal(info.nmods, MB2_MAX_MODS);
	blob_begin(b);
	for (i = 0; i <= MB2_MAX_MODS; i++)
		add_module(b, i * 0x1000, i * 0x1000 + 10, "m");
	blob_end(b);
	expect_fail(b, b->len, -VE_RANGE);
	free(b);
}

static void test_bad_mmap(void **state)
{
	struct blob *b = malloc(sizeof(*b));
	static struct mb2_region many[MB2_MAX_REGIONS + 1];
	unsigned i;

	(void)state;
	blob_begin(b);
	add_mmap(b, 16, sample_map, 2);
	blob_end(b);
	expect_fail(b, b->len, -VE_INVAL);

	blob_begin(b);
	add_mmap(b, 0, sample_map, 0);
	blob_end(b);
	expect_fail(b, b->len, -VE_INVAL);

	/* A trailing partial entry. */
	blob_begin(b);
	add_mmap(b, 24, sample_map, 2);
	put32(b, 12, 16 + 24 + 8);
	blob_end(b);
	expect_fail(b, b->len, -VE_INVAL);

	/* Tag too short for entry_size/entry_version. */
	blob_begin(b);
	add_rsdp(b, 6, 4, 0);
	blob_end(b);
	expect_fail(b, b->len, -VE_INVAL);

	/* Exactly the maximum, then one more (split over two tags). */
	for (i = 0; i <= MB2_MAX_REGIONS; i++)
		many[i] = (struct mb2_region){ i * 0x10000ull, 0x8000, 1 };
	blob_begin(b);
	add_mmap(b, 24, many, MB2_MAX_REGIONS);
	blob_end(b);
	assert_int_equal(mb2_parse(b->words, b->len, &info, NULL), 0);
	assert_int_equal(info.nregions, MB2_MAX_REGIONS);
	blob_begin(b);
	add_mmap(b, 24, many, 100);
	add_mmap(b, 24, many + 100, MB2_MAX_REGIONS + 1 - 100);
	blob_end(b);
	expect_fail(b, b->len, -VE_RANGE);
	free(b);
}

static void test_bad_rsdp(void **state)
{
	struct blob *b = malloc(sizeof(*b));

	(void)state;
	blob_begin(b);
	add_rsdp(b, 14, 19, 0);
	blob_end(b);
	expect_fail(b, b->len, -VE_INVAL);
	blob_begin(b);
	add_rsdp(b, 15, 35, 0);
	blob_end(b);
	expect_fail(b, b->len, -VE_INVAL);
	free(b);
}

/* Random corruption of a valid blob: never crash, never point outside. */
static void test_fuzz_parse(void **state)
{
	struct blob *good = malloc(sizeof(*good));
	struct blob *b = malloc(sizeof(*b));
	uint64_t seed = 0x243f6a8885a308d3ull;
	unsigned it, k;

	(void)state;
	build_normal(good);
	for (it = 0; it < 10000; it++) {
		size_t avail = good->len;
		uint8_t *exact;
		int rc;

		memcpy(b, good, sizeof(*b));
		for (k = 0; k < 1 + it % 4; k++) {
			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			bytes(b)[seed % good->len] ^= (uint8_t)(1u << (seed >> 60 & 7));
		}
		if (it % 7 == 0)
			avail = (seed >> 20) % (good->len + 1);
		/* Copy to a heap block of exactly avail bytes so ASan sees
		 * any read past it. */
		exact = malloc(avail ? avail : 1);
		memcpy(exact, bytes(b), avail);
		rc = mb2_parse(exact, avail, &info, NULL);
		if (rc == 0) {
			assert_true(info.total_size <= avail);
			if (info.cmdline)
				assert_true((const uint8_t *)info.cmdline >= exact &&
					    (const uint8_t *)info.cmdline < exact + avail);
			if (info.rsdp)
				assert_true((const uint8_t *)info.rsdp + info.rsdp_len <=
					    exact + avail);
			for (k = 0; k < info.nmods; k++)
				assert_true(info.mod[k].start <= info.mod[k].end);
		} else {
			assert_true(rc == -VE_INVAL || rc == -VE_RANGE);
		}
		free(exact);
	}
	free(good);
	free(b);
}

/* ---- mb2_sanitize_regions ---- */

static void check_sorted(const struct mb2_region *o, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		assert_int_equal(o[i].type, MB2_MEM_AVAILABLE);
		assert_true(o[i].len > 0);
		if (i > 0)
			assert_true(o[i - 1].base + o[i - 1].len < o[i].base);
	}
}

static void test_sanitize_basic(void **state)
{
	/* Unsorted, overlapping, adjacent, with reserved holes. */
	const struct mb2_region in[] = {
		{ 0x100000, 0x100000, 1 },			      /* 1M..2M */
		{ 0x0, 0xa0000, 1 },				      /* 0..640K */
		{ 0x180000, 0x100000, 1 },			      /* 1.5M..2.5M overlaps */
		{ 0x280000, 0x80000, 1 },			      /* 2.5M..3M adjacent */
		{ 0x9f000, 0x1000, 2 },				      /* clips the top of low mem */
		{ 0x200000, 0x1000, 3 },			      /* ACPI inside: splits */
		{ 0x2ff000, 0x2000, 4 },			      /* NVS across the top end */
		{ 0x10000000, 0x1000, 1 }, { 0x10000000, 0x1000, 5 }, /* bad RAM over it all */
		{ 0x20000000, 0, 1 },				      /* empty */
	};
	struct mb2_region out[16];
	unsigned n = 99;

	(void)state;
	assert_int_equal(mb2_sanitize_regions(in, 10, out, 16, &n), 0);
	assert_int_equal(n, 3);
	check_sorted(out, n);
	assert_int_equal(out[0].base, 0);
	assert_int_equal(out[0].len, 0x9f000);
	assert_int_equal(out[1].base, 0x100000);
	assert_int_equal(out[1].len, 0x100000);
	assert_int_equal(out[2].base, 0x201000);
	assert_int_equal(out[2].len, 0x2ff000 - 0x201000);

	/* Result needs 3 slots. */
	assert_int_equal(mb2_sanitize_regions(in, 10, out, 2, &n), -VE_RANGE);
	assert_int_equal(n, 0);
	assert_int_equal(mb2_sanitize_regions(in, 10, out, 16, NULL), -VE_INVAL);
	assert_int_equal(mb2_sanitize_regions(NULL, 1, out, 16, &n), -VE_INVAL);
	assert_int_equal(mb2_sanitize_regions(NULL, 0, out, 16, &n), 0);
	assert_int_equal(n, 0);
}

static void test_sanitize_wrap(void **state)
{
	const struct mb2_region in[] = {
		{ UINT64_MAX - 0xfff, 0x10000, 1 }, /* wraps: clipped */
		{ 0x1000, UINT64_MAX, 1 },	    /* wraps: clipped */
		{ 0x5000, 0x1000, 2 },
	};
	struct mb2_region out[4];
	unsigned n;

	(void)state;
	assert_int_equal(mb2_sanitize_regions(in, 3, out, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].base, 0x1000);
	assert_int_equal(out[0].len, 0x4000);
	assert_int_equal(out[1].base, 0x6000);
	assert_int_equal(out[1].base + out[1].len, UINT64_MAX);
}

/* Against a brute-force model over a small address space. */
static void test_sanitize_random(void **state)
{
	enum { SPACE = 512, NREG = 24 };
	uint64_t seed = 0x13198a2e03707344ull;
	unsigned it;

	(void)state;
	for (it = 0; it < 3000; it++) {
		struct mb2_region in[NREG], out[NREG];
		uint8_t avail[SPACE] = { 0 }, bad[SPACE] = { 0 };
		unsigned i, n, nin = 1 + it % NREG;
		uint64_t a;

		for (i = 0; i < nin; i++) {
			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			in[i].base = seed % SPACE;
			in[i].len = (seed >> 16) % (SPACE - in[i].base) % (1 + (seed >> 40) % 128);
			in[i].type = (seed >> 32) % 3 ? 1 : 1 + (seed >> 34) % 5;
			for (a = in[i].base; a < in[i].base + in[i].len; a++) {
				if (in[i].type == 1)
					avail[a] = 1;
				else
					bad[a] = 1;
			}
		}
		assert_int_equal(mb2_sanitize_regions(in, nin, out, nin, &n), 0);
		check_sorted(out, n);
		for (i = 0; i < n; i++)
			for (a = out[i].base; a < out[i].base + out[i].len; a++)
				avail[a] |= 2; /* mark "in the output" */
		for (a = 0; a < SPACE; a++) {
			bool want = (avail[a] & 1) && !bad[a];

			assert_int_equal(want, (avail[a] & 2) != 0);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normal),
		cmocka_unit_test(test_optional_tags),
		cmocka_unit_test(test_wide_mmap_entries),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bad_tag_size),
		cmocka_unit_test(test_missing_end),
		cmocka_unit_test(test_unterminated_strings),
		cmocka_unit_test(test_bad_modules),
		cmocka_unit_test(test_bad_mmap),
		cmocka_unit_test(test_bad_rsdp),
		cmocka_unit_test(test_fuzz_parse),
		cmocka_unit_test(test_sanitize_basic),
		cmocka_unit_test(test_sanitize_wrap),
		cmocka_unit_test(test_sanitize_random),
	};

	return cmocka_run_group_tests_name("mb2", tests, NULL, NULL);
}
