/*
 * Unit tests for kernel/elf: static ELF64 image checks. Images are built
 * in memory from the test's own transcription of the gABI structures (the
 * host's <elf.h> is shadowed by kernel/elf.h under -Ikernel); each check is
 * broken on its own from a valid image. Set VESTA_TEST_STATIC_ELF to the path of a
 * real static x86-64 executable to also parse that (skipped otherwise).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "elf.h"
#include <vesta/abi.h>

/* ELF64 as the System V gABI and the x86-64 psABI define it. */
typedef struct {
	uint8_t e_ident[16];
	uint16_t e_type, e_machine;
	uint32_t e_version;
	uint64_t e_entry, e_phoff, e_shoff;
	uint32_t e_flags;
	uint16_t e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
} Elf64_Ehdr;

typedef struct {
	uint32_t p_type, p_flags;
	uint64_t p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align;
} Elf64_Phdr;

#define ELFMAG "\177ELF"
#define SELFMAG 4
enum { EI_MAG2 = 2, EI_CLASS = 4, EI_DATA = 5, EI_VERSION = 6 };
enum { ELFCLASS32 = 1, ELFCLASS64 = 2, ELFDATA2LSB = 1, ELFDATA2MSB = 2 };
enum { EV_CURRENT = 1, ET_EXEC = 2, ET_DYN = 3, EM_386 = 3, EM_X86_64 = 62 };
enum { PT_NULL = 0, PT_LOAD = 1, PT_DYNAMIC = 2, PT_INTERP = 3, PT_NOTE = 4 };
#define PT_GNU_STACK 0x6474e551u
enum { PF_X = 1, PF_W = 2, PF_R = 4 };

#define LO VE_USER_LO
#define HI VE_USER_HI
#define IMG_LEN 0x3000u
#define MAXPH 12

/* An executable under construction: header, program headers, contents. */
struct img {
	union {
		uint8_t bytes[IMG_LEN];
		Elf64_Ehdr eh;
	};
	size_t len;
};

static Elf64_Phdr *ph(struct img *m, unsigned i)
{
	return (Elf64_Phdr *)(m->bytes + m->eh.e_phoff) + i;
}

/*
 * The valid image: text R+X at 0x400000 (file 0..0x1000, headers
 * included), data R+W at 0x401000 (file 0x1000..0x1100, memsz 0x2000 with
 * bss) and a PT_GNU_STACK that loads nothing.
 */
static void build_valid(struct img *m)
{
	Elf64_Ehdr *eh = &m->eh;
	Elf64_Phdr *p;

	memset(m, 0, sizeof(*m));
	m->len = 0x1100;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = 0x400100;
	eh->e_phoff = sizeof(Elf64_Ehdr);
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 3;

	p = ph(m, 0);
	*p = (Elf64_Phdr){ .p_type = PT_LOAD,
			   .p_flags = PF_R | PF_X,
			   .p_offset = 0,
			   .p_vaddr = 0x400000,
			   .p_paddr = 0x400000,
			   .p_filesz = 0x1000,
			   .p_memsz = 0x1000,
			   .p_align = 0x1000 };
	p = ph(m, 1);
	*p = (Elf64_Phdr){ .p_type = PT_LOAD,
			   .p_flags = PF_R | PF_W,
			   .p_offset = 0x1000,
			   .p_vaddr = 0x401000,
			   .p_paddr = 0x401000,
			   .p_filesz = 0x100,
			   .p_memsz = 0x2000,
			   .p_align = 0x1000 };
	p = ph(m, 2);
	*p = (Elf64_Phdr){ .p_type = PT_GNU_STACK, .p_flags = PF_R | PF_W, .p_align = 0x10 };
	memset(m->bytes + 0x100, 0x90, 0x10); /* "code" at the entry */
}

/* Static, not on the heap: a failed assertion leaks nothing. */
static struct img img_a, img_b;

static struct img *new_img(void)
{
	build_valid(&img_a);
	return &img_a;
}

static void test_valid(void **state)
{
	struct img *m = new_img();
	struct elf_image out;
	const char *why = NULL;

	(void)state;
	assert_int_equal(elf_parse(m->bytes, m->len, LO, HI, &out, &why), 0);
	assert_null(why);
	assert_int_equal(out.entry, 0x400100);
	assert_int_equal(out.nsegs, 2);
	assert_int_equal(out.seg[0].vaddr, 0x400000);
	assert_int_equal(out.seg[0].memsz, 0x1000);
	assert_int_equal(out.seg[0].offset, 0);
	assert_int_equal(out.seg[0].filesz, 0x1000);
	assert_int_equal(out.seg[0].prot, VE_PROT_READ | VE_PROT_EXEC);
	assert_int_equal(out.seg[1].vaddr, 0x401000);
	assert_int_equal(out.seg[1].memsz, 0x2000);
	assert_int_equal(out.seg[1].offset, 0x1000);
	assert_int_equal(out.seg[1].filesz, 0x100);
	assert_int_equal(out.seg[1].prot, VE_PROT_READ | VE_PROT_WRITE);
	/* why may be NULL. */
	assert_int_equal(elf_parse(m->bytes, m->len, LO, HI, &out, NULL), 0);
}

static void test_allowed_variants(void **state)
{
	struct img *m = new_img();
	struct elf_image out;
	unsigned i;

	(void)state;
	/* W+X segment is accepted and reported as such. */
	ph(m, 0)->p_flags = PF_R | PF_W | PF_X;
	assert_int_equal(elf_parse(m->bytes, m->len, LO, HI, &out, NULL), 0);
	assert_int_equal(out.seg[0].prot, VE_PROT_READ | VE_PROT_WRITE | VE_PROT_EXEC);

	/* A PT_LOAD with memsz 0 is dropped, not counted. */
	build_valid(m);
	ph(m, 2)->p_type = PT_LOAD;
	assert_int_equal(elf_parse(m->bytes, m->len, LO, HI, &out, NULL), 0);
	assert_int_equal(out.nsegs, 2);

	/* p_align 0 and 2 MiB (congruent) are fine. */
	build_valid(m);
	ph(m, 0)->p_align = 0x200000;
	ph(m, 1)->p_align = 0;
	assert_int_equal(elf_parse(m->bytes, m->len, LO, HI, &out, NULL), 0);

	/* Entry in the last byte of the text segment; segments in the
	 * last user pages. */
	build_valid(m);
	m->eh.e_entry = 0x400fff;
	assert_int_equal(elf_parse(m->bytes, m->len, LO, HI, &out, NULL), 0);
	assert_int_equal(elf_parse(m->bytes, m->len, 0x400000, 0x403000, &out, NULL), 0);

	/* Exactly ELF_MAX_SEGS loads, one page each. */
	build_valid(m);
	m->eh.e_phnum = ELF_MAX_SEGS;
	for (i = 0; i < ELF_MAX_SEGS; i++)
		*ph(m, i) = (Elf64_Phdr){ .p_type = PT_LOAD,
					  .p_flags = PF_R | PF_X,
					  .p_vaddr = 0x400000 + i * 0x1000ull,
					  .p_filesz = 0x100,
					  .p_memsz = 0x1000,
					  .p_align = 0x1000 };
	assert_int_equal(elf_parse(m->bytes, m->len, LO, HI, &out, NULL), 0);
	assert_int_equal(out.nsegs, ELF_MAX_SEGS);
}

/* Parse m and expect err with a why containing `what`; out is zeroed. */
static void expect_fail(struct img *m, size_t len, uint64_t lo, uint64_t hi, int err,
			const char *what)
{
	struct elf_image out;
	const char *why = NULL;

	memset(&out, 0xee, sizeof(out));
	assert_int_equal(elf_parse(m->bytes, len, lo, hi, &out, &why), err);
	assert_non_null(why);
	if (!strstr(why, what))
		fail_msg("why \"%s\" does not name \"%s\"", why, what);
	assert_int_equal(out.nsegs, 0);
	assert_int_equal(out.entry, 0);
}

/* One mutation of the valid image and the check it must trip. */
struct breakage {
	const char *name;
	void (*mutate)(struct img *m);
	int err;
	const char *what;
};

static void m_magic(struct img *m)
{
	m->eh.e_ident[EI_MAG2] = 'l';
}
static void m_class(struct img *m)
{
	m->eh.e_ident[EI_CLASS] = ELFCLASS32;
}
static void m_data(struct img *m)
{
	m->eh.e_ident[EI_DATA] = ELFDATA2MSB;
}
static void m_idver(struct img *m)
{
	m->eh.e_ident[EI_VERSION] = 0;
}
static void m_ver(struct img *m)
{
	m->eh.e_version = 2;
}
static void m_type(struct img *m)
{
	m->eh.e_type = ET_DYN;
}
static void m_mach(struct img *m)
{
	m->eh.e_machine = EM_386;
}
static void m_phent(struct img *m)
{
	m->eh.e_phentsize = 55;
}
static void m_phoff(struct img *m)
{
	m->eh.e_phoff = m->len - 100;
}
static void m_phoff_wrap(struct img *m)
{
	m->eh.e_phoff = UINT64_MAX - 50;
}
static void m_phnum(struct img *m)
{
	m->eh.e_phnum = 0xffff;
}
static void m_interp(struct img *m)
{
	ph(m, 2)->p_type = PT_INTERP;
}
static void m_dynamic(struct img *m)
{
	ph(m, 2)->p_type = PT_DYNAMIC;
}
static void m_filesz(struct img *m)
{
	ph(m, 1)->p_filesz = 0x2001;
}
static void m_filesz0(struct img *m)
{
	ph(m, 2)->p_type = PT_LOAD;
	ph(m, 2)->p_filesz = 1; /* memsz 0 */
}
static void m_past_eof(struct img *m)
{
	ph(m, 1)->p_filesz = 0x101;
}
static void m_off_wrap(struct img *m)
{
	ph(m, 1)->p_offset = UINT64_MAX - 0xfff; /* same page offset */
}
static void m_below(struct img *m)
{
	ph(m, 0)->p_vaddr = 0;
	m->eh.e_entry = 0x100;
}
static void m_above(struct img *m)
{
	ph(m, 1)->p_memsz = HI;
}
static void m_vaddr_wrap(struct img *m)
{
	ph(m, 1)->p_vaddr = UINT64_MAX - 0xfff;
	ph(m, 1)->p_memsz = 0x2000;
}
static void m_congruent(struct img *m)
{
	ph(m, 1)->p_vaddr = 0x401800;
}
static void m_align_pow2(struct img *m)
{
	ph(m, 1)->p_align = 0x3000;
}
static void m_align_mod(struct img *m)
{
	ph(m, 1)->p_vaddr = 0x402000;
	ph(m, 1)->p_align = 0x10000;
}
static void m_overlap(struct img *m)
{
	/* Ends 0x10 bytes into the text segment's last page. */
	ph(m, 1)->p_vaddr = 0x3ff000;
	ph(m, 1)->p_memsz = 0x1010;
}
static void m_overlap_same(struct img *m)
{
	ph(m, 1)->p_vaddr = 0x400000;
}
static void m_noload(struct img *m)
{
	ph(m, 0)->p_type = PT_NOTE;
	ph(m, 1)->p_type = PT_NULL;
}
static void m_nophdr(struct img *m)
{
	m->eh.e_phnum = 0;
}
static void m_entry_data(struct img *m)
{
	m->eh.e_entry = 0x401000;
}
static void m_entry_end(struct img *m)
{
	m->eh.e_entry = 0x401000 + 0x2000;
}
static void m_entry_noexec(struct img *m)
{
	ph(m, 0)->p_flags = PF_R;
}
static void m_too_many(struct img *m)
{
	unsigned i;

	m->eh.e_phnum = ELF_MAX_SEGS + 1;
	for (i = 0; i < ELF_MAX_SEGS + 1; i++)
		*ph(m, i) = (Elf64_Phdr){ .p_type = PT_LOAD,
					  .p_flags = PF_R | PF_X,
					  .p_vaddr = 0x400000 + i * 0x1000ull,
					  .p_filesz = 0x100,
					  .p_memsz = 0x100 };
}

static const struct breakage breakages[] = {
	{ "magic", m_magic, -VE_INVAL, "magic" },
	{ "class", m_class, -VE_INVAL, "ELFCLASS64" },
	{ "data", m_data, -VE_INVAL, "little-endian" },
	{ "ident version", m_idver, -VE_INVAL, "EV_CURRENT" },
	{ "e_version", m_ver, -VE_INVAL, "EV_CURRENT" },
	{ "type", m_type, -VE_INVAL, "ET_EXEC" },
	{ "machine", m_mach, -VE_INVAL, "EM_X86_64" },
	{ "phentsize", m_phent, -VE_INVAL, "e_phentsize" },
	{ "phoff", m_phoff, -VE_INVAL, "program headers" },
	{ "phoff wrap", m_phoff_wrap, -VE_INVAL, "program headers" },
	{ "phnum", m_phnum, -VE_INVAL, "program headers" },
	{ "interp", m_interp, -VE_INVAL, "PT_INTERP" },
	{ "dynamic", m_dynamic, -VE_INVAL, "PT_DYNAMIC" },
	{ "filesz", m_filesz, -VE_INVAL, "filesz > memsz" },
	{ "filesz memsz0", m_filesz0, -VE_INVAL, "filesz > memsz" },
	{ "past eof", m_past_eof, -VE_INVAL, "outside the file" },
	{ "offset wrap", m_off_wrap, -VE_INVAL, "outside the file" },
	{ "below user", m_below, -VE_INVAL, "user range" },
	{ "above user", m_above, -VE_INVAL, "user range" },
	{ "vaddr wrap", m_vaddr_wrap, -VE_INVAL, "user range" },
	{ "congruence", m_congruent, -VE_INVAL, "mod 4096" },
	{ "align pow2", m_align_pow2, -VE_INVAL, "p_align" },
	{ "align mod", m_align_mod, -VE_INVAL, "p_align" },
	{ "overlap", m_overlap, -VE_INVAL, "share a page" },
	{ "overlap same", m_overlap_same, -VE_INVAL, "share a page" },
	{ "no load", m_noload, -VE_INVAL, "no PT_LOAD" },
	{ "no phdrs", m_nophdr, -VE_INVAL, "no PT_LOAD" },
	{ "entry in data", m_entry_data, -VE_INVAL, "entry" },
	{ "entry past end", m_entry_end, -VE_INVAL, "entry" },
	{ "entry not exec", m_entry_noexec, -VE_INVAL, "entry" },
	{ "too many", m_too_many, -VE_RANGE, "too many" },
};

static void test_each_check(void **state)
{
	struct img *m = &img_b;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(breakages) / sizeof(breakages[0]); i++) {
		build_valid(m);
		breakages[i].mutate(m);
		print_message("  breaking: %s\n", breakages[i].name);
		expect_fail(m, m->len, LO, HI, breakages[i].err, breakages[i].what);
	}
}

static void test_bad_arguments(void **state)
{
	struct img *m = new_img();
	struct elf_image out;

	(void)state;
	expect_fail(m, 63, LO, HI, -VE_INVAL, "ELF header");
	expect_fail(m, 0, LO, HI, -VE_INVAL, "ELF header");
	/* Cut inside the program headers, then inside a segment. */
	expect_fail(m, 64 + 56 * 2, LO, HI, -VE_INVAL, "program headers");
	expect_fail(m, 0x10ff, LO, HI, -VE_INVAL, "outside the file");
	/* A user range that excludes the data segment. */
	expect_fail(m, m->len, LO, 0x402000, -VE_INVAL, "user range");
	expect_fail(m, m->len, 0x401000, HI, -VE_INVAL, "user range");
	expect_fail(m, m->len, HI, LO, -VE_INVAL, "user range");
	expect_fail(m, m->len, LO, LO, -VE_INVAL, "user range");
	assert_int_equal(elf_parse(NULL, 100, LO, HI, &out, NULL), -VE_INVAL);
	assert_int_equal(elf_parse(m->bytes, m->len, LO, HI, NULL, NULL), -VE_INVAL);
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* Whatever parses must satisfy every promise elf.h makes. */
static void check_promises(const struct elf_image *out, size_t len)
{
	bool entry_ok = false;
	unsigned i, j;

	assert_true(out->nsegs >= 1 && out->nsegs <= ELF_MAX_SEGS);
	for (i = 0; i < out->nsegs; i++) {
		const struct elf_seg *s = &out->seg[i];

		assert_true(s->memsz > 0 && s->filesz <= s->memsz);
		assert_true(s->offset <= len && s->filesz <= len - s->offset);
		assert_true(s->vaddr >= LO && s->vaddr < HI && s->memsz <= HI - s->vaddr);
		assert_int_equal(s->vaddr % 4096, s->offset % 4096);
		for (j = 0; j < i; j++) {
			const struct elf_seg *t = &out->seg[j];

			assert_true((s->vaddr + s->memsz - 1) / 4096 < t->vaddr / 4096 ||
				    (t->vaddr + t->memsz - 1) / 4096 < s->vaddr / 4096);
		}
		if ((s->prot & VE_PROT_EXEC) && out->entry >= s->vaddr &&
		    out->entry - s->vaddr < s->memsz)
			entry_ok = true;
	}
	assert_true(entry_ok);
}

/* 10k random corruptions: ASan/UBSan must stay quiet, results must hold. */
static void test_fuzz(void **state)
{
	struct img *good = new_img();
	uint64_t seed = 0xb7e151628aed2a6bull;
	unsigned it, k, ok = 0;

	(void)state;
	for (it = 0; it < 10000; it++) {
		size_t len = good->len;
		uint8_t *exact;
		struct elf_image out;
		const char *why = NULL;
		int rc;

		/* Exactly len bytes on the heap, so reading past is caught. */
		if (it % 5 == 0)
			len = rng_next(&seed) % (good->len + 1);
		exact = malloc(len ? len : 1);
		memcpy(exact, good->bytes, len);
		for (k = 0; len && k < 1 + it % 6; k++) {
			uint64_t r = rng_next(&seed);
			/* Mostly hit the headers, where the checks are. */
			size_t at = r % 4 ? (r >> 8) % (64 + 3 * 56) : (r >> 8) % len;

			if (at >= len)
				at %= len;
			if (r >> 62)
				exact[at] ^= (uint8_t)(1u << (r >> 32 & 7));
			else
				exact[at] = (uint8_t)(r >> 40);
		}
		rc = elf_parse(exact, len, LO, HI, &out, &why);
		if (rc == 0) {
			check_promises(&out, len);
			ok++;
		} else {
			assert_true(rc == -VE_INVAL || rc == -VE_RANGE);
			assert_non_null(why);
		}
		free(exact);
	}
	print_message("  %u of 10000 corrupted images still valid\n", ok);
}

/* Optional: a real static executable from the host toolchain. */
static void test_real_binary(void **state)
{
	const char *path = getenv("VESTA_TEST_STATIC_ELF");
	struct elf_image out;
	const char *why = "";
	uint8_t *buf;
	long n;
	FILE *f;

	(void)state;
	if (!path || !*path) {
		print_message("  VESTA_TEST_STATIC_ELF not set\n");
		skip();
	}
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	if (elf_parse(buf, (size_t)n, LO, HI, &out, &why) != 0)
		fail_msg("%s: %s", path, why);
	check_promises(&out, (size_t)n);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),	   cmocka_unit_test(test_allowed_variants),
		cmocka_unit_test(test_each_check), cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_fuzz),	   cmocka_unit_test(test_real_binary),
	};

	return cmocka_run_group_tests_name("elf", tests, NULL, NULL);
}
