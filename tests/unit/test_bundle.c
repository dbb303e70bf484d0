/*
 * Unit tests for the boot bundle: kernel/bundle.c (opening and validating),
 * tools/bundle_write.c (building) and tools/manifest.c (a manifest, in the
 * policy language, turned into the boot table; its messages).
 *
 * Bundles are built in memory with the writer, then one thing at a time is
 * broken (in the file, or in the payload before it is packed) and
 * bundle_open() must refuse it with the right error and reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bundle.h"
#include "../../tools/bundle_write.h"
#include "../../tools/manifest.h"

/*
 * ---- a standard bundle: three procs, two images ----
 * init serves "log" and opens "tty0"; uart0 serves "tty0" and "tty0.ctl"
 * with limits, opens "log" and has IRQ 4; uart1 serves "tty1", has IRQ 3.
 */

static uint8_t init_data[100];
static uint8_t uart_data[37];

static void std_procs(struct bundle_proc p[3])
{
	memset(p, 0, 3 * sizeof(*p));
	strcpy(p[0].name, "init");
	strcpy(p[0].image, "init");
	strcpy(p[0].args, "-v root");
	p[0].prio = VE_PRIO_SERVICE;
	p[0].grants = VE_GRANT_SPAWN | VE_GRANT_HALT | VE_GRANT_KILL;
	strcpy(p[0].serve[0], "log");
	strcpy(p[0].open[0], "tty0");

	strcpy(p[1].name, "uart0");
	strcpy(p[1].image, "uart");
	p[1].prio = VE_PRIO_DRIVER;
	p[1].nports = 2;
	p[1].ports[0].first = 0x3f8;
	p[1].ports[0].last = 0x3ff;
	p[1].ports[1].first = 0x2f8;
	p[1].ports[1].last = 0x2ff;
	strcpy(p[1].serve[0], "tty0");
	strcpy(p[1].serve[1], "tty0.ctl");
	strcpy(p[1].open[0], "log");
	p[1].irqs = 1u << 4;
	p[1].queue = 64;
	p[1].qbytes = 4096;
	p[1].redeliveries = 5;

	strcpy(p[2].name, "uart1");
	strcpy(p[2].image, "uart");
	p[2].prio = VE_PRIO_BESTEFFORT;
	strcpy(p[2].serve[0], "tty1");
	p[2].irqs = 1u << 3;
}

/* A malloc'd standard payload; *len gets its size. */
static uint8_t *std_payload(size_t *len)
{
	struct bundle_proc procs[3];
	struct bundle_write_image ims[2] = {
		{ "init", init_data, sizeof(init_data) },
		{ "uart", uart_data, sizeof(uart_data) },
	};
	uint8_t *p;

	for (size_t i = 0; i < sizeof(init_data); i++)
		init_data[i] = (uint8_t)(i * 7 + 1);
	for (size_t i = 0; i < sizeof(uart_data); i++)
		uart_data[i] = (uint8_t)(0xa0 ^ i);
	std_procs(procs);
	assert_int_equal(bundle_write_payload(procs, 3, ims, 2, &p, len), 0);
	return p;
}

static struct bundle_proc *procs_of(uint8_t *payload)
{
	return (struct bundle_proc *)(payload + sizeof(struct bundle_payload));
}

static struct bundle_image *images_of(uint8_t *payload)
{
	struct bundle_payload *h = (struct bundle_payload *)payload;

	return (struct bundle_image *)(payload + sizeof(*h) +
				       h->nprocs * sizeof(struct bundle_proc));
}

/* Packs a payload into a malloc'd bundle file. */
static uint8_t *pack(const uint8_t *payload, size_t len, size_t *flen)
{
	uint8_t *f;

	assert_int_equal(bundle_write_pack(payload, len, &f, flen), 0);
	return f;
}

/* A malloc'd standard bundle file. */
static uint8_t *std_file(size_t *flen)
{
	size_t len;
	uint8_t *p = std_payload(&len);
	uint8_t *f = pack(p, len, flen);

	free(p);
	return f;
}

/* Sets a 32-bit header field (byte offset off) of a bundle file. */
static void set_hdr(uint8_t *file, size_t off, uint32_t v)
{
	memcpy(file + off, &v, sizeof(v));
}

static uint32_t get_hdr(const uint8_t *file, size_t off)
{
	uint32_t v;

	memcpy(&v, file + off, sizeof(v));
	return v;
}

#define OFF_VERSION offsetof(struct bundle_header, version)
#define OFF_FLAGS offsetof(struct bundle_header, flags)
#define OFF_COMP offsetof(struct bundle_header, comp_size)
#define OFF_RAW offsetof(struct bundle_header, raw_size)
#define OFF_FNV offsetof(struct bundle_header, raw_fnv1a)
#define OFF_RESERVED offsetof(struct bundle_header, reserved)

/*
 * Opens a bundle file with a buffer of the size its header asks for (or 64
 * bytes if the header is bad, to still reach bundle_open's own checks).
 */
static int open_file(const uint8_t *f, size_t flen, struct bundle *b, const char **why, void **buf)
{
	size_t raw = 64;

	bundle_peek(f, flen, &raw, NULL);
	*buf = malloc(raw);
	assert_non_null(*buf);
	return bundle_open(f, flen, *buf, raw, bundle_lz4_decompress, b, why);
}

/* Opens f, expects err and reason, frees f. */
static void expect_file(uint8_t *f, size_t flen, int err, const char *reason)
{
	struct bundle b;
	const char *why = NULL;
	void *buf;

	assert_int_equal(open_file(f, flen, &b, &why, &buf), err);
	if (err) {
		assert_non_null(why);
		assert_string_equal(why, reason);
	}
	free(buf);
	free(f);
}

/* Packs payload p (then frees it), opens, expects err and reason. */
static void expect_payload(uint8_t *p, size_t len, int err, const char *reason)
{
	size_t flen;
	uint8_t *f = pack(p, len, &flen);

	free(p);
	expect_file(f, flen, err, reason);
}

/* ---- round trip ---- */

static void test_roundtrip(void **state)
{
	size_t flen, raw;
	uint8_t *f = std_file(&flen);
	const struct bundle_image *im;
	struct bundle b;
	const char *why = NULL;
	void *buf;

	(void)state;
	assert_int_equal(bundle_peek(f, flen, &raw, &why), 0);
	assert_int_equal(open_file(f, flen, &b, &why, &buf), 0);
	assert_int_equal(b.size, raw);
	assert_int_equal(b.nprocs, 3);
	assert_int_equal(b.nimages, 2);

	assert_string_equal(b.procs[0].name, "init");
	assert_string_equal(b.procs[0].args, "-v root");
	assert_int_equal(b.procs[0].grants, 7);
	assert_string_equal(b.procs[0].serve[0], "log");
	assert_string_equal(b.procs[0].serve[1], "");
	assert_string_equal(b.procs[0].open[0], "tty0");
	assert_string_equal(b.procs[1].image, "uart");
	assert_string_equal(b.procs[1].serve[1], "tty0.ctl");
	assert_string_equal(b.procs[1].open[0], "log");
	assert_int_equal(b.procs[1].irqs, 0x10);
	assert_int_equal(b.procs[1].queue, 64);
	assert_int_equal(b.procs[1].qbytes, 4096);
	assert_int_equal(b.procs[1].redeliveries, 5);
	assert_int_equal(b.procs[2].irqs, 0x08);
	assert_int_equal(b.procs[2].queue, 0);
	assert_int_equal(b.procs[1].prio, VE_PRIO_DRIVER);
	assert_int_equal(b.procs[1].nports, 2);
	assert_int_equal(b.procs[1].ports[1].first, 0x2f8);
	assert_int_equal(b.procs[2].prio, VE_PRIO_BESTEFFORT);

	im = bundle_image_find(&b, "uart");
	assert_non_null(im);
	assert_int_equal(im->size, sizeof(uart_data));
	assert_int_equal(im->offset % BUNDLE_IMAGE_ALIGN, 0);
	assert_memory_equal(bundle_image_data(&b, im), uart_data, sizeof(uart_data));
	im = bundle_image_find(&b, "init");
	assert_non_null(im);
	assert_memory_equal(bundle_image_data(&b, im), init_data, sizeof(init_data));

	assert_null(bundle_image_find(&b, "uar"));
	assert_null(bundle_image_find(&b, "uartx"));
	assert_null(bundle_image_find(&b, NULL));
	assert_null(bundle_image_data(&b, NULL));
	assert_null(bundle_image_data(&b, (const void *)b.procs));
	assert_null(bundle_image_data(&b, b.images + 2));
	free(buf);
	free(f);
}

static void test_empty_bundle(void **state)
{
	uint8_t *p, *f;
	size_t len, flen;
	struct bundle b;
	void *buf;

	(void)state;
	assert_int_equal(bundle_write_payload(NULL, 0, NULL, 0, &p, &len), 0);
	assert_int_equal(len, sizeof(struct bundle_payload));
	f = pack(p, len, &flen);
	assert_int_equal(open_file(f, flen, &b, NULL, &buf), 0);
	assert_int_equal(b.nprocs + b.nimages, 0);
	free(buf);
	free(f);
	free(p);
}

/* Trailing bytes after the LZ4 block (a padded module) are ignored. */
static void test_padded_module(void **state)
{
	size_t flen;
	uint8_t *f = std_file(&flen);
	uint8_t *g = calloc(1, flen + 4096);
	struct bundle b;
	void *buf;

	(void)state;
	memcpy(g, f, flen);
	assert_int_equal(open_file(g, flen + 4096, &b, NULL, &buf), 0);
	free(buf);
	free(g);
	free(f);
}

/* ---- header ---- */

static void test_bad_magic(void **state)
{
	size_t flen;
	uint8_t *f = std_file(&flen);

	(void)state;
	f[7] = '2';
	expect_file(f, flen, -VE_INVAL, "bad magic");
}

static void test_wrong_version(void **state)
{
	size_t flen;
	uint8_t *f = std_file(&flen);

	(void)state;
	set_hdr(f, OFF_VERSION, 1); /* v1 procs were 200 bytes: no longer read */
	expect_file(f, flen, -VE_INVAL, "unsupported version");
	f = std_file(&flen);
	set_hdr(f, OFF_VERSION, BUNDLE_VERSION + 1);
	expect_file(f, flen, -VE_INVAL, "unsupported version");
}

static void test_flags_and_reserved(void **state)
{
	size_t flen;
	uint8_t *f = std_file(&flen);

	(void)state;
	set_hdr(f, OFF_FLAGS, 1);
	expect_file(f, flen, -VE_INVAL, "unknown flags");
	f = std_file(&flen);
	set_hdr(f, OFF_RESERVED, 0x80000000u);
	expect_file(f, flen, -VE_INVAL, "reserved header field not zero");
}

static void test_truncated_header(void **state)
{
	size_t flen, raw = 0;
	uint8_t *f = std_file(&flen);
	const char *why = NULL;

	(void)state;
	assert_int_equal(bundle_peek(f, BUNDLE_HEADER_SIZE - 1, &raw, &why), -VE_INVAL);
	assert_string_equal(why, "truncated header");
	assert_int_equal(bundle_peek(f, 0, &raw, &why), -VE_INVAL);
	assert_int_equal(bundle_peek(NULL, flen, &raw, &why), -VE_INVAL);
	assert_string_equal(why, "no module");
	assert_int_equal(raw, 0);
	expect_file(f, BUNDLE_HEADER_SIZE - 1, -VE_INVAL, "truncated header");
}

static void test_comp_size_beyond_module(void **state)
{
	size_t flen;
	uint8_t *f = std_file(&flen);

	(void)state;
	expect_file(f, flen - 1, -VE_INVAL, "compressed block runs past the module");
	f = std_file(&flen);
	set_hdr(f, OFF_COMP, 0xffffffffu);
	expect_file(f, flen, -VE_INVAL, "compressed block runs past the module");
	f = std_file(&flen);
	set_hdr(f, OFF_COMP, 0);
	expect_file(f, flen, -VE_INVAL, "empty compressed block");
}

static void test_raw_size_over_max(void **state)
{
	size_t flen, raw = 0;
	uint8_t *f = std_file(&flen);
	const char *why = NULL;

	(void)state;
	set_hdr(f, OFF_RAW, BUNDLE_MAX_RAW + 1);
	assert_int_equal(bundle_peek(f, flen, &raw, &why), -VE_RANGE);
	assert_string_equal(why, "payload larger than the limit");
	expect_file(f, flen, -VE_RANGE, "payload larger than the limit");
	f = std_file(&flen);
	set_hdr(f, OFF_RAW, 4);
	expect_file(f, flen, -VE_INVAL, "payload smaller than its header");
}

static void test_corrupted_compressed_bytes(void **state)
{
	size_t flen;
	uint8_t *f = std_file(&flen);

	(void)state;
	/* 0xff tokens ask for ever longer literal runs than the input has. */
	memset(f + BUNDLE_HEADER_SIZE, 0xff, flen - BUNDLE_HEADER_SIZE);
	expect_file(f, flen, -VE_INVAL, "decompression failed");
}

static void test_raw_size_mismatch(void **state)
{
	size_t flen;
	uint8_t *f = std_file(&flen);

	(void)state;
	set_hdr(f, OFF_RAW, get_hdr(f, OFF_RAW) + 8);
	expect_file(f, flen, -VE_INVAL, "decompressed size mismatch");
	/* One byte short: the block no longer fits the buffer. */
	f = std_file(&flen);
	set_hdr(f, OFF_RAW, get_hdr(f, OFF_RAW) - 1);
	expect_file(f, flen, -VE_INVAL, "decompression failed");
}

static void test_checksum_mismatch(void **state)
{
	size_t flen;
	uint8_t *f = std_file(&flen);

	(void)state;
	set_hdr(f, OFF_FNV, get_hdr(f, OFF_FNV) ^ 0x100);
	expect_file(f, flen, -VE_INVAL, "checksum mismatch");
}

static void test_fnv1a_vectors(void **state)
{
	(void)state;
	/* Published FNV-1a 32-bit test vectors. */
	assert_int_equal(bundle_fnv1a("", 0), 0x811c9dc5u);
	assert_int_equal(bundle_fnv1a("a", 1), 0xe40c292cu);
	assert_int_equal(bundle_fnv1a("foobar", 6), 0xbf9cf968u);
}

static void test_buffer_and_arguments(void **state)
{
	size_t flen, raw;
	uint8_t *f = std_file(&flen);
	uint64_t *buf;
	struct bundle b;
	const char *why = NULL;

	(void)state;
	assert_int_equal(bundle_peek(f, flen, &raw, NULL), 0);
	buf = malloc(raw + 8);
	assert_int_equal(bundle_open(f, flen, buf, raw - 1, bundle_lz4_decompress, &b, &why),
			 -VE_RANGE);
	assert_string_equal(why, "buffer too small");
	assert_int_equal(
	    bundle_open(f, flen, (uint8_t *)buf + 4, raw, bundle_lz4_decompress, &b, &why),
	    -VE_INVAL);
	assert_string_equal(why, "buffer not aligned");
	assert_int_equal(bundle_open(f, flen, buf, raw, NULL, &b, &why), -VE_INVAL);
	assert_int_equal(bundle_open(f, flen, NULL, raw, bundle_lz4_decompress, &b, &why),
			 -VE_INVAL);
	assert_int_equal(bundle_open(f, flen, buf, raw, bundle_lz4_decompress, NULL, &why),
			 -VE_INVAL);
	assert_int_equal(bundle_peek(f, flen, NULL, &why), -VE_INVAL);
	/* A bigger buffer is fine; why is optional. */
	assert_int_equal(bundle_open(f, flen, buf, raw + 8, bundle_lz4_decompress, &b, NULL), 0);
	free(buf);
	free(f);
}

/* ---- image table ---- */

static void test_image_offset_out_of_range(void **state)
{
	size_t len;
	uint8_t *p = std_payload(&len);

	(void)state;
	images_of(p)[1].offset = (uint32_t)(len + 15) / 16 * 16;
	expect_payload(p, len, -VE_INVAL, "image data out of range");

	p = std_payload(&len);
	images_of(p)[1].size += 1; /* one byte past the payload */
	expect_payload(p, len, -VE_INVAL, "image data out of range");

	p = std_payload(&len);
	images_of(p)[0].offset = 0; /* over the tables */
	expect_payload(p, len, -VE_INVAL, "image data out of range");

	p = std_payload(&len);
	images_of(p)[0].offset += 1;
	expect_payload(p, len, -VE_INVAL, "image data not aligned");

	p = std_payload(&len);
	images_of(p)[0].size = 0;
	expect_payload(p, len, -VE_INVAL, "empty image");
}

static void test_image_offset_size_overflow(void **state)
{
	size_t len;
	uint8_t *p = std_payload(&len);
	struct bundle_image *im = images_of(p);

	(void)state;
	/* offset + size wraps in 32 bits to a small, in-range number. */
	im[0].size = 0xffffffffu - im[0].offset + 1 + 16;
	expect_payload(p, len, -VE_INVAL, "image data out of range");

	p = std_payload(&len);
	images_of(p)[1].offset = 0xfffffff0u;
	images_of(p)[1].size = 0x20;
	expect_payload(p, len, -VE_INVAL, "image data out of range");
}

static void test_image_names(void **state)
{
	size_t len;
	uint8_t *p = std_payload(&len);

	(void)state;
	memset(images_of(p)[0].name, 'a', BUNDLE_NAME_MAX);
	expect_payload(p, len, -VE_INVAL, "image name unterminated");

	p = std_payload(&len);
	images_of(p)[1].name[0] = '\0';
	expect_payload(p, len, -VE_INVAL, "image name empty");

	p = std_payload(&len);
	images_of(p)[1].name[1] = '\n';
	expect_payload(p, len, -VE_INVAL, "image name has a bad character");

	p = std_payload(&len);
	strcpy(images_of(p)[1].name, "init");
	expect_payload(p, len, -VE_INVAL, "duplicate image name");
}

/* ---- process table ---- */

static void test_proc_names(void **state)
{
	size_t len;
	uint8_t *p = std_payload(&len);

	(void)state;
	memset(procs_of(p)[2].name, 'x', BUNDLE_NAME_MAX);
	expect_payload(p, len, -VE_INVAL, "process name unterminated");

	p = std_payload(&len);
	procs_of(p)[0].name[0] = '\0';
	expect_payload(p, len, -VE_INVAL, "process name empty");

	p = std_payload(&len);
	strcpy(procs_of(p)[0].name, "in it");
	expect_payload(p, len, -VE_INVAL, "process name has a bad character");

	p = std_payload(&len);
	strcpy(procs_of(p)[2].name, "uart0");
	expect_payload(p, len, -VE_INVAL, "duplicate process name");
}

static void test_proc_args_unterminated(void **state)
{
	size_t len;
	uint8_t *p = std_payload(&len);

	(void)state;
	memset(procs_of(p)[0].args, 'z', BUNDLE_ARGS_MAX);
	expect_payload(p, len, -VE_INVAL, "process args unterminated");
}

static void test_proc_bad_prio(void **state)
{
	size_t len;
	uint8_t *p = std_payload(&len);

	(void)state;
	procs_of(p)[1].prio = VE_NPRIO;
	expect_payload(p, len, -VE_INVAL, "bad priority");
}

static void test_proc_nports_9(void **state)
{
	size_t len;
	uint8_t *p = std_payload(&len);

	(void)state;
	procs_of(p)[1].nports = 9;
	expect_payload(p, len, -VE_INVAL, "too many port ranges");
}

static void test_proc_port_range_reversed(void **state)
{
	size_t len;
	uint8_t *p = std_payload(&len);

	(void)state;
	procs_of(p)[1].ports[1].first = 0x300;
	expect_payload(p, len, -VE_INVAL, "port range reversed");

	/* A single port (first == last) is fine. */
	p = std_payload(&len);
	procs_of(p)[1].ports[1].first = 0x2ff;
	expect_payload(p, len, 0, "");
}

static void test_proc_unused_port_not_zero(void **state)
{
	size_t len;
	uint8_t *p = std_payload(&len);

	(void)state;
	procs_of(p)[1].ports[2].last = 1;
	expect_payload(p, len, -VE_INVAL, "unused port range not zero");
}

static void test_proc_unknown_grant(void **state)
{
	size_t len;
	uint8_t *p = std_payload(&len);

	(void)state;
	procs_of(p)[0].grants |= 0x20;
	expect_payload(p, len, -VE_INVAL, "unknown grant bits");
	p = std_payload(&len);
	procs_of(p)[2].grants = 0x8000;
	expect_payload(p, len, -VE_INVAL, "unknown grant bits");
}

static void test_proc_reserved(void **state)
{
	size_t len;
	uint8_t *p = std_payload(&len);

	(void)state;
	procs_of(p)[0].reserved = 1;
	expect_payload(p, len, -VE_INVAL, "reserved process field not zero");
	p = std_payload(&len);
	procs_of(p)[2].flags = 0x100;
	expect_payload(p, len, -VE_INVAL, "reserved process field not zero");
}

/* ---- channels, IRQs and limits ---- */

static void test_proc_served_names(void **state)
{
	size_t len;
	uint8_t *p = std_payload(&len);

	(void)state;
	memset(procs_of(p)[1].serve[1], 'c', BUNDLE_NAME_MAX);
	expect_payload(p, len, -VE_INVAL, "served channel name unterminated");

	p = std_payload(&len);
	strcpy(procs_of(p)[1].serve[1], "tty0/ctl");
	expect_payload(p, len, -VE_INVAL, "served channel name has a bad character");

	p = std_payload(&len);
	strcpy(procs_of(p)[1].serve[3], "late");
	expect_payload(p, len, -VE_INVAL, "served channel after an empty slot");

	p = std_payload(&len);
	procs_of(p)[1].serve[0][0] = '\0';
	expect_payload(p, len, -VE_INVAL, "served channel after an empty slot");

	/* All four slots used is fine. */
	p = std_payload(&len);
	strcpy(procs_of(p)[1].serve[2], "a");
	strcpy(procs_of(p)[1].serve[3], "b");
	expect_payload(p, len, 0, "");
}

static void test_proc_duplicate_served(void **state)
{
	size_t len;
	uint8_t *p = std_payload(&len);

	(void)state;
	strcpy(procs_of(p)[1].serve[1], "tty0");
	expect_payload(p, len, -VE_INVAL, "duplicate served channel");

	p = std_payload(&len);
	strcpy(procs_of(p)[2].serve[1], "log"); /* served by init */
	expect_payload(p, len, -VE_INVAL, "duplicate served channel");

	/* A prefix of another channel's name is another channel. */
	p = std_payload(&len);
	strcpy(procs_of(p)[2].serve[0], "tty0.c");
	expect_payload(p, len, 0, "");
}

static void test_proc_opened_names(void **state)
{
	size_t len;
	uint8_t *p = std_payload(&len);

	(void)state;
	memset(procs_of(p)[0].open[0], 'o', BUNDLE_NAME_MAX);
	expect_payload(p, len, -VE_INVAL, "opened channel name unterminated");

	p = std_payload(&len);
	strcpy(procs_of(p)[0].open[0], "tty 0");
	expect_payload(p, len, -VE_INVAL, "opened channel name has a bad character");

	p = std_payload(&len);
	strcpy(procs_of(p)[0].open[2], "tty1");
	expect_payload(p, len, -VE_INVAL, "opened channel after an empty slot");

	p = std_payload(&len);
	strcpy(procs_of(p)[0].open[1], "tty0");
	expect_payload(p, len, -VE_INVAL, "duplicate opened channel");

	p = std_payload(&len);
	strcpy(procs_of(p)[0].open[1], "tty2");
	expect_payload(p, len, -VE_INVAL, "process opens a channel no process serves");

	/* Opening a channel served later in the table, or one's own, is fine. */
	p = std_payload(&len);
	strcpy(procs_of(p)[0].open[1], "tty1");
	strcpy(procs_of(p)[0].open[2], "log");
	expect_payload(p, len, 0, "");
}

static void test_proc_irqs(void **state)
{
	size_t len;
	uint8_t *p = std_payload(&len);

	(void)state;
	procs_of(p)[1].irqs |= 1u << 2; /* the cascade */
	expect_payload(p, len, -VE_INVAL, "bad IRQ bits");

	p = std_payload(&len);
	procs_of(p)[1].irqs |= 1u << 0; /* the timer */
	expect_payload(p, len, -VE_INVAL, "bad IRQ bits");

	p = std_payload(&len);
	procs_of(p)[2].irqs |= 1u << 4;
	expect_payload(p, len, -VE_INVAL, "IRQ granted to two processes");

	p = std_payload(&len);
	procs_of(p)[0].irqs = (uint16_t)(VE_IRQS_VALID & ~0x18u);
	expect_payload(p, len, 0, "");
}

static void test_proc_limits(void **state)
{
	size_t len;
	uint8_t *p = std_payload(&len);

	(void)state;
	procs_of(p)[1].queue = VE_CHAN_QUEUE_MAX + 1;
	expect_payload(p, len, -VE_INVAL, "queue limit out of range");

	p = std_payload(&len);
	procs_of(p)[1].qbytes = VE_CHAN_QBYTES_MAX + 1;
	expect_payload(p, len, -VE_INVAL, "queue byte limit out of range");

	p = std_payload(&len);
	procs_of(p)[1].redeliveries = VE_CHAN_REDELIVERIES_MAX + 1;
	expect_payload(p, len, -VE_INVAL, "redelivery limit out of range");

	p = std_payload(&len);
	procs_of(p)[1].queue = VE_CHAN_QUEUE_MAX;
	procs_of(p)[1].qbytes = VE_CHAN_QBYTES_MAX;
	procs_of(p)[1].redeliveries = VE_CHAN_REDELIVERIES_MAX;
	expect_payload(p, len, 0, "");

	/* uart1 without its channel; init's open of tty1 is not there. */
	p = std_payload(&len);
	procs_of(p)[2].serve[0][0] = '\0';
	procs_of(p)[2].redeliveries = 1;
	expect_payload(p, len, -VE_INVAL, "channel limits on a process that serves none");
}

/* The same check on its own, as spawn_spec uses it. */
static void test_chan_limits_check(void **state)
{
	const char *why = "";

	(void)state;
	assert_int_equal(bundle_chan_limits_check(0, 0, 0, false, &why), 0);
	assert_int_equal(bundle_chan_limits_check(VE_CHAN_QUEUE_MAX, VE_CHAN_QBYTES_MAX,
						  VE_CHAN_REDELIVERIES_MAX, true, &why),
			 0);
	assert_int_equal(bundle_chan_limits_check(VE_CHAN_QUEUE_MAX + 1, 0, 0, true, &why),
			 -VE_INVAL);
	assert_string_equal(why, "queue limit out of range");
	assert_int_equal(bundle_chan_limits_check(1000000, 0, 0, true, NULL), -VE_INVAL);
	assert_int_equal(bundle_chan_limits_check(0, VE_CHAN_QBYTES_MAX + 1, 0, true, &why),
			 -VE_INVAL);
	assert_string_equal(why, "queue byte limit out of range");
	assert_int_equal(bundle_chan_limits_check(0, 0, VE_CHAN_REDELIVERIES_MAX + 1, true, &why),
			 -VE_INVAL);
	assert_string_equal(why, "redelivery limit out of range");
	assert_int_equal(bundle_chan_limits_check(8, 0, 0, false, &why), -VE_INVAL);
	assert_string_equal(why, "channel limits on a process that serves none");
}

static void test_proc_ports_overlap(void **state)
{
	size_t len;
	uint8_t *p = std_payload(&len);

	(void)state;
	procs_of(p)[2].nports = 1;
	procs_of(p)[2].ports[0].first = 0x3ff;
	procs_of(p)[2].ports[0].last = 0x400;
	expect_payload(p, len, -VE_INVAL, "port ranges of two processes overlap");

	p = std_payload(&len);
	procs_of(p)[2].nports = 1;
	procs_of(p)[2].ports[0].first = 0x200;
	procs_of(p)[2].ports[0].last = 0x2f8;
	expect_payload(p, len, -VE_INVAL, "port ranges of two processes overlap");

	/* Adjacent is fine, and so is an overlap within one process. */
	p = std_payload(&len);
	procs_of(p)[2].nports = 1;
	procs_of(p)[2].ports[0].first = 0x300;
	procs_of(p)[2].ports[0].last = 0x3f7;
	procs_of(p)[1].nports = 3;
	procs_of(p)[1].ports[2].first = 0x3fa;
	procs_of(p)[1].ports[2].last = 0x3fa;
	expect_payload(p, len, 0, "");
}

static void test_proc_devices(void **state)
{
	size_t len;
	uint8_t *p = std_payload(&len);
	const struct ve_devsel e1000 = { .vendor = 0x8086, .device = 0x100e };

	(void)state;
	procs_of(p)[1].devs[0] = e1000;
	procs_of(p)[2].devs[0] = e1000;
	expect_payload(p, len, -VE_INVAL, "device granted to two processes");

	/* The second e1000 is another device. */
	p = std_payload(&len);
	procs_of(p)[1].devs[0] = e1000;
	procs_of(p)[2].devs[0] = e1000;
	procs_of(p)[2].devs[0].index = 1;
	expect_payload(p, len, 0, "");

	p = std_payload(&len);
	procs_of(p)[1].devs[1] = e1000; /* after an unused slot */
	expect_payload(p, len, -VE_INVAL, "malformed device grants");

	p = std_payload(&len);
	procs_of(p)[1].devs[0] = e1000;
	procs_of(p)[1].devs[0].flags = 0x80;
	expect_payload(p, len, -VE_INVAL, "malformed device grants");
}

static void test_proc_missing_image(void **state)
{
	size_t len;
	uint8_t *p = std_payload(&len);

	(void)state;
	strcpy(procs_of(p)[2].image, "uart2");
	expect_payload(p, len, -VE_INVAL, "process names a missing image");

	p = std_payload(&len);
	memset(procs_of(p)[2].image, 'u', BUNDLE_NAME_MAX);
	expect_payload(p, len, -VE_INVAL, "process names a missing image");
}

/* ---- counts ---- */

static void test_counts(void **state)
{
	size_t len;
	uint8_t *p = std_payload(&len);

	(void)state;
	((struct bundle_payload *)p)->nprocs = BUNDLE_MAX_PROCS + 1;
	expect_payload(p, len, -VE_RANGE, "too many processes");

	p = std_payload(&len);
	((struct bundle_payload *)p)->nimages = BUNDLE_MAX_IMAGES + 1;
	expect_payload(p, len, -VE_RANGE, "too many images");

	p = std_payload(&len);
	((struct bundle_payload *)p)->nprocs = BUNDLE_MAX_PROCS;
	expect_payload(p, len, -VE_INVAL, "tables run past the payload");
}

static void test_writer_limits(void **state)
{
	struct bundle_proc procs[BUNDLE_MAX_PROCS + 1] = { 0 };
	struct bundle_write_image im = { "a-name-that-is-32-bytes-long-xxx", init_data, 1 };
	uint8_t *p = NULL;
	size_t len;

	(void)state;
	assert_int_equal(bundle_write_payload(procs, BUNDLE_MAX_PROCS + 1, NULL, 0, &p, &len),
			 -VE_RANGE);
	assert_int_equal(bundle_write_payload(NULL, 0, &im, 1, &p, &len), -VE_INVAL);
	im.name = "ok";
	im.size = BUNDLE_MAX_RAW;
	assert_int_equal(bundle_write_payload(NULL, 0, &im, 1, &p, &len), -VE_RANGE);
	assert_null(p);
}

/* ---- manifest ---- */

#define FILE_NAME "m.txt"

static struct manifest *parse(const char *text, int want, char *msg)
{
	static struct manifest m;

	assert_int_equal(manifest_parse(FILE_NAME, text, strlen(text), &m, msg, MANIFEST_ERR_MAX),
			 want);
	return &m;
}

static void test_manifest_ok(void **state)
{
	char msg[MANIFEST_ERR_MAX], text[200];
	struct manifest *m;

	(void)state;
	m = parse("# a comment\n"
		  "\n"
		  "image init   bin/init.elf   # trailing comment\n"
		  "\timage uart /abs/uart.elf\r\n"
		  "process init\n"
		  "\tgrants spawn halt\n"
		  "\targs -v  root\n"
		  "process uart0\n"
		  "\timage uart\n"
		  "\tpriority driver\n"
		  "\tports 0x3f8-0x3FF 0x2e8\n"
		  "\tports 96-100\n"
		  "process idle.1\n"
		  "\timage init\n"
		  "\tpriority besteffort\n"
		  "process svc_2\n"
		  "\timage uart\n"
		  "\tports 0x1000-0xffff\n"
		  "\targs a#b\n",
		  0, msg);
	assert_int_equal(m->images.n, 2);
	assert_string_equal(m->images.image[0].name, "init");
	assert_string_equal(m->images.image[0].path, "bin/init.elf");
	assert_int_equal(m->images.image[0].pos.line, 3);
	assert_int_equal(m->images.image[0].pos.col, 14);
	assert_string_equal(m->images.image[1].path, "/abs/uart.elf");

	assert_int_equal(m->nprocs, 4);
	assert_string_equal(m->procs[0].name, "init");
	assert_string_equal(m->procs[0].image, "init"); /* the name by default */
	assert_string_equal(m->procs[0].args, "-v root");
	assert_int_equal(m->procs[0].prio, VE_PRIO_SERVICE);
	assert_int_equal(m->procs[0].grants, 3);
	assert_string_equal(m->procs[1].image, "uart");
	assert_int_equal(m->procs[1].prio, VE_PRIO_DRIVER);
	assert_int_equal(m->procs[1].nports, 3);
	assert_int_equal(m->procs[1].ports[0].first, 0x3f8);
	assert_int_equal(m->procs[1].ports[0].last, 0x3ff);
	assert_int_equal(m->procs[1].ports[1].first, 0x2e8);
	assert_int_equal(m->procs[1].ports[1].last, 0x2e8);
	assert_int_equal(m->procs[1].ports[2].first, 96);
	assert_int_equal(m->procs[1].ports[2].last, 100);
	assert_string_equal(m->procs[1].args, "");
	assert_int_equal(m->procs[2].prio, VE_PRIO_BESTEFFORT);
	assert_string_equal(m->procs[2].args, "");
	assert_int_equal(m->procs[3].ports[0].first, 0x1000);
	assert_int_equal(m->procs[3].ports[0].last, 0xffff);
	/* '#' starts a comment only where a word would start */
	assert_string_equal(m->procs[3].args, "a#b");

	for (size_t i = 0; i < m->nprocs; i++) {
		assert_string_equal(m->procs[i].serve[0], "");
		assert_string_equal(m->procs[i].open[0], "");
		assert_int_equal(m->procs[i].irqs, 0);
		assert_int_equal(m->procs[i].queue + m->procs[i].qbytes, 0);
		assert_int_equal(m->procs[i].redeliveries, 0);
		assert_int_equal(m->procs[i].flags, 0);
	}

	/* Exactly 95 bytes of arguments fit. */
	snprintf(text, sizeof(text), "image p a\nprocess p\n\targs %095d\n", 7);
	m = parse(text, 0, msg);
	assert_int_equal(strlen(m->procs[0].args), 95);

	/* Images alone: a bundle whose table is empty. */
	m = parse("image a a.elf\n", 0, msg);
	assert_int_equal(m->images.n, 1);
	assert_int_equal(m->nprocs, 0);
}

/* An entry's bytes after each string's NUL are 0: a bundle depends only
 * on what its manifest says (a name overwritten by a shorter image). */
static void test_manifest_zero_padding(void **state)
{
	char msg[MANIFEST_ERR_MAX];
	struct manifest *m;

	(void)state;
	m = parse("image a a.elf\nprocess longername\n\timage a\n", 0, msg);
	assert_string_equal(m->procs[0].image, "a");
	for (size_t i = 1; i < sizeof(m->procs[0].image); i++)
		assert_int_equal(m->procs[0].image[i], 0);
}

/* Channels, IRQs, limits and the grants only a process may hold. */
static void test_manifest_v2_keys(void **state)
{
	char msg[MANIFEST_ERR_MAX];
	struct manifest *m;

	(void)state;
	m = parse("image a a.elf\n"
		  "process init\n\timage a\n\tgrants spawn kill halt supervisor\n"
		  "\topens tty0 log.1\n\tserves log.1\n"
		  "process com1\n\timage a\n\tpriority driver\n\tirqs 4 3\n\tports 0x3f8-0x3ff\n"
		  "\tserves tty0 max_messages 4096 max_bytes 16MiB max_redeliveries 1000\n"
		  "\tserves tty0-ctl max_messages 4096 max_bytes 16MiB max_redeliveries 1000\n"
		  "\topens log.1\n"
		  "process kbd\n\timage a\n\tirqs 1 15 12\n\tports 0x60 0x64\n"
		  "\tserves kbd max_bytes 64KiB\n"
		  "process net\n\timage a\n\tports 0x3f0-0x3f7 0x400\n\topens kbd\n"
		  "\tserves net max_bytes 1 max_messages 1 max_redeliveries 1\n\targs x\n"
		  "process big\n\timage a\n\tserves big max_bytes 16384KiB\n"
		  "process max\n\timage a\n\tserves max max_bytes 16777216\n\tgrants inject\n",
		  0, msg);
	assert_int_equal(m->nprocs, 6);
	assert_int_equal(m->procs[0].grants,
			 VE_GRANT_SPAWN | VE_GRANT_HALT | VE_GRANT_KILL | VE_GRANT_SUPERVISOR);
	assert_string_equal(m->procs[0].open[0], "tty0"); /* served in a later section */
	assert_string_equal(m->procs[0].open[1], "log.1");
	assert_string_equal(m->procs[0].open[2], "");
	assert_string_equal(m->procs[0].serve[0], "log.1");
	assert_int_equal(m->procs[0].queue, 0);
	assert_int_equal(m->procs[0].redeliveries, 0);

	assert_int_equal(m->procs[1].irqs, (1u << 4) | (1u << 3));
	assert_string_equal(m->procs[1].serve[1], "tty0-ctl");
	assert_string_equal(m->procs[1].serve[2], "");
	assert_int_equal(m->procs[1].queue, 4096);
	assert_int_equal(m->procs[1].qbytes, 16u << 20);
	assert_int_equal(m->procs[1].redeliveries, 1000);
	assert_string_equal(m->procs[1].open[0], "log.1");

	assert_int_equal(m->procs[2].irqs, 0x9002);
	assert_int_equal(m->procs[2].qbytes, 64 * 1024);
	assert_int_equal(m->procs[2].queue, 0);
	assert_int_equal(m->procs[3].qbytes, 1);
	assert_int_equal(m->procs[3].queue, 1);
	assert_int_equal(m->procs[3].redeliveries, 1);
	assert_string_equal(m->procs[3].args, "x");
	assert_int_equal(m->procs[4].qbytes, 16u << 20);
	assert_int_equal(m->procs[5].qbytes, 16u << 20);
	assert_int_equal(m->procs[5].grants, VE_GRANT_INJECT);
}

struct bad_case {
	const char *text;
	const char *msg;
};

#define IMG "image a a.elf\n"
#define NAME_RULE "a name of 1-31 characters from [A-Za-z0-9_.-]"

static const struct bad_case bad_cases[] = {
	/* the file's lines */
	{ "imgae init init.elf\n", FILE_NAME ":1:1: expected 'image' or 'process', found 'imgae'" },
	{ "# c\n\n  proc p a\n", FILE_NAME ":3:3: expected 'image' or 'process', found 'proc'" },
	{ IMG "service s\n",
	  FILE_NAME ":2:1: expected 'image' or 'process' (a manifest holds what the kernel "
		    "starts; a supervisor's tree is in policy files), found 'service'" },
	{ IMG "process p\n\timage a\nsupervisor root\n",
	  FILE_NAME ":4:1: expected 'image' or 'process' (a manifest holds what the kernel "
		    "starts; a supervisor's tree is in policy files), found 'supervisor'" },
	/* image lines */
	{ "image a a.elf\nimage a b.elf\n",
	  FILE_NAME ":2:7: expected a unique image name, found 'a'" },
	{ "image bad/name x\n", FILE_NAME ":1:7: expected " NAME_RULE ", found 'bad/name'" },
	{ "image abcdefghijabcdefghijabcdefghijab x\n",
	  FILE_NAME ":1:7: expected " NAME_RULE ", found 'abcdefghijabcdefghijabcdefghijab'" },
	{ "image a\n", FILE_NAME ":1:8: expected a path, found end of line" },
	{ "image\n", FILE_NAME ":1:6: expected " NAME_RULE ", found end of line" },
	{ "image a a.elf extra\n", FILE_NAME ":1:15: expected end of line, found 'extra'" },
	{ "image a a\x01 b\n", FILE_NAME ":1:9: expected a path, found 'a?'" },
	{ IMG "process p\n\timage a\nimage b b.elf\n",
	  FILE_NAME ":4:9: expected end of line (a manifest's image lines come before its "
		    "first process), found 'b.elf'" },
	/* process sections */
	{ IMG "process p\n\timage b\n", FILE_NAME ":3:8: expected the name of an image line, "
						  "found 'b'" },
	{ IMG "process p\n", FILE_NAME ":2:9: expected the name of an image line, found 'p'" },
	{ IMG "process a\nprocess a\n",
	  FILE_NAME ":3:9: expected a name not yet defined, found 'a', already defined at "
		    "m.txt:2:9" },
	{ IMG "process a\n\tpriority fast\n",
	  FILE_NAME ":3:11: expected 'driver', 'service' or 'besteffort', found 'fast'" },
	{ IMG "process a\n\tpriority driver\n\tpriority service\n",
	  FILE_NAME ":4:2: expected each key at most once in a section, found 'priority' again "
		    "(first on line 3)" },
	{ IMG "process a\n\tfoo 1\n", FILE_NAME ":3:2: expected a process key, found 'foo'" },
	{ IMG "process a\n\trestart permanent\n",
	  FILE_NAME ":3:2: expected a process key (the kernel neither restarts, stops nor "
		    "watches a process), found 'restart'" },
	{ IMG "process a\n\theartbeat 1s\n",
	  FILE_NAME ":3:2: expected a process key (the kernel neither restarts, stops nor "
		    "watches a process), found 'heartbeat'" },
	{ IMG "process a\n\tstrategy one_for_one\n",
	  FILE_NAME ":3:2: expected a process key, found 'strategy'" },
	{ IMG "process a\n\tgrants spawn reboot\n",
	  FILE_NAME ":3:15: expected 'spawn', 'halt', 'kill', 'supervisor' or 'inject', "
		    "found 'reboot'" },
	{ IMG "process a\n\tstart later\n", FILE_NAME ":3:8: expected 'boot' or 'spawn', "
						      "found 'later'" },
	{ IMG "process a\n\tports 1 2 3 4 5 6 7 8 9\n",
	  FILE_NAME ":3:24: expected at most 8 port ranges per process, found '9'" },
	{ IMG "process a\n\targs "
	      "0123456789012345678901234567890123456789012345678901234567890123456789"
	      " 01234567890123456789012345678\n",
	  FILE_NAME ":3:7: expected arguments of at most 95 bytes, found 100 bytes" },
	{ IMG "process a\n\tserves a\n\tserves b\n\tserves c\n\tserves d\n\tserves e\n",
	  FILE_NAME ":7:9: expected at most 4 served channels per process, found 'e'" },
	/* across processes */
	{ IMG "process a\n\tserves log\nprocess b\n\timage a\n\tserves x\n\tserves log\n",
	  FILE_NAME ":7:9: expected a channel no other process serves, found 'log', served "
		    "by 'a'" },
	{ IMG "process a\n\topens log\n", FILE_NAME ":3:8: expected a channel some process "
						    "serves, found 'log'" },
	{ IMG "process a\n\topens x log\nprocess b\n\timage a\n\tserves x\n# end\n",
	  FILE_NAME ":3:10: expected a channel some process serves, found 'log'" },
	{ IMG "process a\n\tirqs 4\nprocess b\n\timage a\n\tirqs 3 4\n",
	  FILE_NAME ":6:9: expected an IRQ line no other process has, found '4', granted to "
		    "'a'" },
	{ IMG "process a\n\tports 0x3f8-0x3ff\nprocess b\n\timage a\n\tports 0x2f8 0x3f0-0x3f8\n",
	  FILE_NAME ":6:14: expected ports no other process has, found '0x3f0-0x3f8', "
		    "overlapping 0x3f8-0x3ff of 'a'" },
	/* one set of limits per process */
	{ IMG "process a\n\tserves x max_messages 8\n\tserves y max_messages 9\n",
	  FILE_NAME ":4:9: expected the limits of 'x' (a process serves every channel with "
		    "the same limits), found 'y' with others" },
	{ IMG "process a\n\tserves x max_messages 8\n\tserves y\n",
	  FILE_NAME ":4:9: expected the limits of 'x' (a process serves every channel with "
		    "the same limits), found 'y' with others" },
	{ IMG "process a\n\tserves x max_messages 0\n",
	  FILE_NAME ":3:24: expected a number of messages from 1 to 4096, found '0'" },
	{ IMG "process a\n\tserves x max_bytes 17MiB\n",
	  FILE_NAME ":3:21: expected a size from 1 to 16MiB (like 4096, 64KiB or 1MiB), found "
		    "'17MiB'" },
};

static void test_manifest_start(void **state)
{
	char msg[MANIFEST_ERR_MAX];
	(void)state;
	struct manifest *m = parse("image a a.elf\n"
				   "process p\n\timage a\n\tstart spawn\n"
				   "process q\n\timage a\n\tstart boot\n"
				   "process r\n\timage a\n",
				   0, msg);
	assert_int_equal(m->procs[0].flags, BUNDLE_PROC_SPAWN_ONLY);
	assert_int_equal(m->procs[1].flags, 0);
	assert_int_equal(m->procs[2].flags, 0);
}

static void test_manifest_errors(void **state)
{
	char msg[MANIFEST_ERR_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		parse(bad_cases[i].text, -VE_INVAL, msg);
		assert_string_equal(msg, bad_cases[i].msg);
	}
}

static void test_manifest_limits(void **state)
{
	char msg[MANIFEST_ERR_MAX];
	char *text = malloc(70 * 32);
	size_t n = 0;

	(void)state;
	for (int i = 0; i < 65; i++)
		n += (size_t)sprintf(text + n, "image i%d x\n", i);
	parse(text, -VE_INVAL, msg);
	assert_string_equal(msg, FILE_NAME ":65:7: expected at most 64 images, found 'i64'");

	n = (size_t)sprintf(text, "image a x\n");
	for (int i = 0; i < 65; i++)
		n += (size_t)sprintf(text + n, "process p%d\n\timage a\n", i);
	parse(text, -VE_INVAL, msg);
	assert_string_equal(msg, FILE_NAME ":130:9: expected at most 64 processes, found 'p64'");
	free(text);
}

/* Reads a whole file into a malloc'd buffer, or skips the test. */
static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n > 0 ? (size_t)n : 1);
	*len = fread(buf, 1, (size_t)n, f);
	fclose(f);
	return buf;
}

/*
 * The path mkbundle takes, in memory: parse a manifest naming two real
 * files, write and pack the bundle, open it with the kernel's code and find
 * each file's bytes and each process as written.
 */
static void test_manifest_to_bundle(void **state)
{
	static const char text[] =
	    "image true /bin/true\n"
	    "image false /bin/false\n"
	    "process init\n\timage true\n\tpriority service\n\tgrants spawn kill\n"
	    "\topens tty\n\targs --root\n"
	    "process com1\n\timage false\n\tpriority driver\n\tports 0x3f8-0x3ff\n\tirqs 4\n"
	    "\tserves tty max_messages 32 max_bytes 8KiB max_redeliveries 2\n";
	char msg[MANIFEST_ERR_MAX];
	struct bundle_write_image ims[2];
	uint8_t *data[2], *payload, *file;
	size_t size[2], plen, flen;
	struct manifest *m = parse(text, 0, msg);
	const struct bundle_image *im;
	struct bundle b;
	void *buf;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		data[i] = slurp(m->images.image[i].path, &size[i]);
		if (!data[i])
			skip();
		ims[i] = (struct bundle_write_image){ m->images.image[i].name, data[i], size[i] };
	}
	assert_int_equal(bundle_write_payload(m->procs, m->nprocs, ims, 2, &payload, &plen), 0);
	file = pack(payload, plen, &flen);
	assert_true(flen < plen); /* ELF files compress */
	assert_int_equal(open_file(file, flen, &b, NULL, &buf), 0);
	assert_int_equal(b.nprocs, 2);
	assert_string_equal(b.procs[0].args, "--root");
	assert_int_equal(b.procs[0].grants, VE_GRANT_SPAWN | VE_GRANT_KILL);
	assert_string_equal(b.procs[0].open[0], "tty");
	assert_int_equal(b.procs[1].ports[0].last, 0x3ff);
	assert_string_equal(b.procs[1].serve[0], "tty");
	assert_int_equal(b.procs[1].irqs, 1u << 4);
	assert_int_equal(b.procs[1].queue, 32);
	assert_int_equal(b.procs[1].qbytes, 8192);
	assert_int_equal(b.procs[1].redeliveries, 2);
	for (size_t i = 0; i < 2; i++) {
		im = bundle_image_find(&b, m->images.image[i].name);
		assert_non_null(im);
		assert_int_equal(im->size, size[i]);
		assert_memory_equal(bundle_image_data(&b, im), data[i], size[i]);
		free(data[i]);
	}
	free(buf);
	free(file);
	free(payload);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_empty_bundle),
		cmocka_unit_test(test_padded_module),
		cmocka_unit_test(test_bad_magic),
		cmocka_unit_test(test_wrong_version),
		cmocka_unit_test(test_flags_and_reserved),
		cmocka_unit_test(test_truncated_header),
		cmocka_unit_test(test_comp_size_beyond_module),
		cmocka_unit_test(test_raw_size_over_max),
		cmocka_unit_test(test_corrupted_compressed_bytes),
		cmocka_unit_test(test_raw_size_mismatch),
		cmocka_unit_test(test_checksum_mismatch),
		cmocka_unit_test(test_fnv1a_vectors),
		cmocka_unit_test(test_buffer_and_arguments),
		cmocka_unit_test(test_image_offset_out_of_range),
		cmocka_unit_test(test_image_offset_size_overflow),
		cmocka_unit_test(test_image_names),
		cmocka_unit_test(test_proc_names),
		cmocka_unit_test(test_proc_args_unterminated),
		cmocka_unit_test(test_proc_bad_prio),
		cmocka_unit_test(test_proc_nports_9),
		cmocka_unit_test(test_proc_port_range_reversed),
		cmocka_unit_test(test_proc_unused_port_not_zero),
		cmocka_unit_test(test_proc_unknown_grant),
		cmocka_unit_test(test_proc_reserved),
		cmocka_unit_test(test_proc_served_names),
		cmocka_unit_test(test_proc_duplicate_served),
		cmocka_unit_test(test_proc_opened_names),
		cmocka_unit_test(test_proc_irqs),
		cmocka_unit_test(test_proc_limits),
		cmocka_unit_test(test_chan_limits_check),
		cmocka_unit_test(test_proc_ports_overlap),
		cmocka_unit_test(test_proc_devices),
		cmocka_unit_test(test_proc_missing_image),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_writer_limits),
		cmocka_unit_test(test_manifest_ok),
		cmocka_unit_test(test_manifest_zero_padding),
		cmocka_unit_test(test_manifest_v2_keys),
		cmocka_unit_test(test_manifest_errors),
		cmocka_unit_test(test_manifest_start),
		cmocka_unit_test(test_manifest_limits),
		cmocka_unit_test(test_manifest_to_bundle),
	};

	return cmocka_run_group_tests_name("bundle", tests, NULL, NULL);
}
