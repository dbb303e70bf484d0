/*
 * Unit tests for kernel/pcicore.c: BAR decoding from sizing reads, device
 * grant checks and matching, and the configuration-write filter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pci.h"

static void test_bar_io_and_mem32(void **state)
{
	/* e1000 on QEMU's pc: BAR0 128 KiB MMIO, BAR1 64 ports at 0xc000. */
	uint32_t orig[6] = { 0xfebc0000u, 0xc001u, 0, 0, 0, 0 };
	uint32_t mask[6] = { 0xfffe0000u, 0xffffffc1u, 0, 0, 0, 0 };
	struct ve_bar b[6];

	(void)state;
	pci_bars_decode(orig, mask, 6, b);
	assert_int_equal(b[0].kind, VE_BAR_MEM32);
	assert_int_equal(b[0].base, 0xfebc0000u);
	assert_int_equal(b[0].size, 0x20000);
	assert_int_equal(b[0].prefetchable, 0);
	assert_int_equal(b[1].kind, VE_BAR_IO);
	assert_int_equal(b[1].base, 0xc000);
	assert_int_equal(b[1].size, 64);
	for (int i = 2; i < 6; i++)
		assert_int_equal(b[i].kind, VE_BAR_NONE);
}

static void test_bar_io_16bit_decoder(void **state)
{
	/* A decoder of 16 address bits reads its upper half back as 0. */
	uint32_t orig[6] = { 0x1001u }, mask[6] = { 0x0000fff1u };
	struct ve_bar b[6];

	(void)state;
	pci_bars_decode(orig, mask, 6, b);
	assert_int_equal(b[0].kind, VE_BAR_IO);
	assert_int_equal(b[0].base, 0x1000);
	assert_int_equal(b[0].size, 16);
}

static void test_bar_mem64(void **state)
{
	/* virtio-net: BAR4 a 16 KiB prefetchable 64-bit BAR above 4 GiB. */
	uint32_t orig[6] = { 0, 0, 0, 0, 0x0000000cu, 0x00000008u };
	uint32_t mask[6] = { 0, 0, 0, 0, 0xffffc00cu, 0xffffffffu };
	struct ve_bar b[6];

	(void)state;
	pci_bars_decode(orig, mask, 6, b);
	assert_int_equal(b[4].kind, VE_BAR_MEM64);
	assert_int_equal(b[4].base, 0x800000000ull);
	assert_int_equal(b[4].size, 0x4000);
	assert_int_equal(b[4].prefetchable, 1);
	assert_int_equal(b[5].kind, VE_BAR_NONE); /* its upper half */
	assert_int_equal(b[0].kind, VE_BAR_NONE);
}

static void test_bar_mem64_in_last_register(void **state)
{
	uint32_t orig[6] = { 0, 0, 0, 0, 0, 0x4u }, mask[6] = { 0, 0, 0, 0, 0, 0xfff00004u };
	struct ve_bar b[6];

	(void)state;
	pci_bars_decode(orig, mask, 6, b);
	assert_int_equal(b[5].kind, VE_BAR_NONE);
	/* A bridge has two BARs: registers past nbars are never decoded. */
	uint32_t o2[6] = { 0xfe000000u, 0, 0xfd000000u }, m2[6] = { 0xfff00000u, 0, 0xfff00000u };
	pci_bars_decode(o2, m2, 2, b);
	assert_int_equal(b[0].kind, VE_BAR_MEM32);
	assert_int_equal(b[0].size, 1 << 20);
	assert_int_equal(b[2].kind, VE_BAR_NONE);
}

static void test_bar_ports(void **state)
{
	struct ve_bar b = { .base = 0xc000, .size = 64, .kind = VE_BAR_IO };
	uint16_t first = 0, last = 0;

	(void)state;
	assert_true(pci_bar_ports(&b, &first, &last));
	assert_int_equal(first, 0xc000);
	assert_int_equal(last, 0xc03f);
	b = (struct ve_bar){ .base = 0xffc0, .size = 64, .kind = VE_BAR_IO };
	assert_true(pci_bar_ports(&b, &first, &last));
	assert_int_equal(last, 0xffff);
	/* Unassigned (the firmware found no room): ports from 0 are the
	 * DMA controller's, never a driver's. */
	b = (struct ve_bar){ .base = 0, .size = 32, .kind = VE_BAR_IO };
	assert_false(pci_bar_ports(&b, &first, &last));
	/* Over the configuration ports: every function's config space. */
	b = (struct ve_bar){ .base = 0xcc0, .size = 64, .kind = VE_BAR_IO };
	assert_false(pci_bar_ports(&b, &first, &last));
	b = (struct ve_bar){ .base = 0xcfc, .size = 4, .kind = VE_BAR_IO };
	assert_false(pci_bar_ports(&b, &first, &last));
	b = (struct ve_bar){ .base = 0xd00, .size = 4, .kind = VE_BAR_IO };
	assert_true(pci_bar_ports(&b, &first, &last));
	b = (struct ve_bar){ .base = 0xfff0, .size = 32, .kind = VE_BAR_IO };
	assert_false(pci_bar_ports(&b, &first, &last)); /* past 0xffff */
	b = (struct ve_bar){ .base = 0xc000, .size = 0, .kind = VE_BAR_IO };
	assert_false(pci_bar_ports(&b, &first, &last));
	b = (struct ve_bar){ .base = 0xc000, .size = 64, .kind = VE_BAR_MEM32 };
	assert_false(pci_bar_ports(&b, &first, &last));
	/* All the port space, as a 16-bit decoder sized 0 reads. */
	b = (struct ve_bar){ .base = 0, .size = 0x10000, .kind = VE_BAR_IO };
	assert_false(pci_bar_ports(&b, &first, &last));
}

static const struct ve_pciinfo fns[] = {
	{ .bus = 0, .devfn = 0x00, .vendor = 0x8086, .device = 0x1237 },
	{ .bus = 0, .devfn = 0x18, .vendor = 0x8086, .device = 0x100e },
	{ .bus = 0, .devfn = 0x20, .vendor = 0x8086, .device = 0x100e },
	{ .bus = 1, .devfn = 0x09, .vendor = 0x1af4, .device = 0x1000 },
};

static void test_match(void **state)
{
	struct ve_devsel s = { .vendor = 0x8086, .device = 0x100e };

	(void)state;
	assert_int_equal(pci_devsel_match(fns, 4, &s), 1);
	s.index = 1;
	assert_int_equal(pci_devsel_match(fns, 4, &s), 2);
	s.index = 2;
	assert_int_equal(pci_devsel_match(fns, 4, &s), -VE_NOENT);
	s = (struct ve_devsel){
		.vendor = 0x1af4, .device = 0x1000, .bus = 1, .devfn = 0x09, .flags = VE_DEVSEL_AT
	};
	assert_int_equal(pci_devsel_match(fns, 4, &s), 3);
	s.devfn = 0x08; /* nothing there */
	assert_int_equal(pci_devsel_match(fns, 4, &s), -VE_NOENT);
	/* The address must hold that vendor:device too. */
	s = (struct ve_devsel){
		.vendor = 0x1af4, .device = 0x1000, .devfn = 0x18, .flags = VE_DEVSEL_AT
	};
	assert_int_equal(pci_devsel_match(fns, 4, &s), -VE_NOENT);
	assert_int_equal(pci_devsel_match(fns, 0, &s), -VE_NOENT);
}

static void test_devsel_check(void **state)
{
	struct ve_devsel s[VE_SPAWN_DEVS];

	(void)state;
	memset(s, 0, sizeof(s));
	assert_int_equal(pci_devsel_check(s), 0);
	s[0] = (struct ve_devsel){ .vendor = 0x8086, .device = 0x100e };
	s[1] = (struct ve_devsel){ .vendor = 0x8086, .device = 0x100e, .index = 1 };
	assert_int_equal(pci_devsel_check(s), 0);
	s[1].index = 0; /* the same device twice */
	assert_int_equal(pci_devsel_check(s), -VE_INVAL);
	s[1] = (struct ve_devsel){
		.vendor = 0x8086, .device = 0x100e, .devfn = 0x18, .flags = VE_DEVSEL_AT
	};
	assert_int_equal(pci_devsel_check(s), 0);
	s[1].index = 1; /* index with an address */
	assert_int_equal(pci_devsel_check(s), -VE_INVAL);
	s[1].index = 0;
	s[1].flags = 0x2; /* unknown flag */
	assert_int_equal(pci_devsel_check(s), -VE_INVAL);
	s[1].flags = 0; /* an address without the flag */
	assert_int_equal(pci_devsel_check(s), -VE_INVAL);
	memset(s, 0, sizeof(s));
	s[1].vendor = 0x8086; /* a used slot after an unused one */
	assert_int_equal(pci_devsel_check(s), -VE_INVAL);
	memset(s, 0, sizeof(s));
	s[0].device = 1; /* an unused slot not zero */
	assert_int_equal(pci_devsel_check(s), -VE_INVAL);
	s[0].vendor = 0xffff; /* no such vendor */
	assert_int_equal(pci_devsel_check(s), -VE_INVAL);
}

static void test_devsel_same(void **state)
{
	struct ve_devsel a = { .vendor = 0x8086, .device = 0x100e };
	struct ve_devsel b = a;

	(void)state;
	assert_true(ve_devsel_same(&a, &b));
	b.index = 1;
	assert_false(ve_devsel_same(&a, &b));
	a = (struct ve_devsel){
		.vendor = 0x8086, .device = 0x100e, .devfn = 0x18, .flags = VE_DEVSEL_AT
	};
	b = a;
	b.vendor = 0x1af4; /* the same address, whatever it is said to hold */
	assert_true(ve_devsel_same(&a, &b));
	b = (struct ve_devsel){ .vendor = 0x8086, .device = 0x100e };
	assert_false(ve_devsel_same(&a, &b)); /* depends on the machine */
}

static void test_cfg_filter(void **state)
{
	(void)state;
	assert_int_equal(pci_cfg_access_check(0, 4, false, 0), 0);
	assert_int_equal(pci_cfg_access_check(0xfc, 4, false, 0), 0);
	assert_int_equal(pci_cfg_access_check(0xff, 1, false, 0), 0);
	assert_int_equal(pci_cfg_access_check(0x100, 1, false, 0), -VE_INVAL);
	assert_int_equal(pci_cfg_access_check(2, 4, false, 0), -VE_INVAL);
	assert_int_equal(pci_cfg_access_check(1, 2, false, 0), -VE_INVAL);
	assert_int_equal(pci_cfg_access_check(0, 3, false, 0), -VE_INVAL);
	assert_int_equal(pci_cfg_access_check(0, 8, false, 0), -VE_INVAL);
	assert_int_equal(pci_cfg_access_check(0, 0, false, 0), -VE_INVAL);
	assert_int_equal(pci_cfg_access_check(UINT64_MAX - 3, 4, false, 0), -VE_INVAL);
	/* Reads of BARs are fine; writes are not, in any width. */
	assert_int_equal(pci_cfg_access_check(0x10, 4, false, 0), 0);
	assert_int_equal(pci_cfg_access_check(0x04, 2, true, 0), 0); /* command */
	assert_int_equal(pci_cfg_access_check(0x0c, 4, true, 0), 0); /* up to 0x0f */
	assert_int_equal(pci_cfg_access_check(0x10, 4, true, 0), -VE_PERM);
	assert_int_equal(pci_cfg_access_check(0x27, 1, true, 0), -VE_PERM);
	assert_int_equal(pci_cfg_access_check(0x26, 2, true, 0), -VE_PERM);
	assert_int_equal(pci_cfg_access_check(0x28, 4, true, 0), 0); /* cardbus CIS */
	assert_int_equal(pci_cfg_access_check(0x30, 4, true, 0), -VE_PERM);
	assert_int_equal(pci_cfg_access_check(0x33, 1, true, 0), -VE_PERM);
	assert_int_equal(pci_cfg_access_check(0x34, 1, true, 0), 0);
	assert_int_equal(pci_cfg_access_check(0x3c, 1, true, 0), 0);
	assert_int_equal(pci_cfg_access_check(0x100, 4, true, 0), -VE_INVAL);
}

static void test_cfg_filter_bridge(void **state)
{
	(void)state;
	/* Header type 1 (0x81: multi-function): bus numbers, windows, ROM. */
	assert_int_equal(pci_cfg_access_check(0x18, 4, true, 0x81), -VE_PERM); /* bus numbers */
	assert_int_equal(pci_cfg_access_check(0x1c, 2, true, 1), -VE_PERM);    /* I/O window */
	assert_int_equal(pci_cfg_access_check(0x28, 4, true, 1), -VE_PERM);    /* prefetch upper */
	assert_int_equal(pci_cfg_access_check(0x30, 4, true, 1), -VE_PERM);    /* I/O upper */
	assert_int_equal(pci_cfg_access_check(0x38, 4, true, 1), -VE_PERM);    /* its ROM */
	assert_int_equal(pci_cfg_access_check(0x3b, 1, true, 1), -VE_PERM);
	assert_int_equal(pci_cfg_access_check(0x3c, 2, true, 1), 0); /* irq line, pin */
	/* Bridge control: its secondary bus reset would reset (and clear
	 * the BARs of) every function behind it, held by others. */
	assert_int_equal(pci_cfg_access_check(0x3e, 2, true, 1), -VE_PERM);
	assert_int_equal(pci_cfg_access_check(0x3f, 1, true, 0x81), -VE_PERM);
	assert_int_equal(pci_cfg_access_check(0x3c, 4, true, 1), -VE_PERM);
	assert_int_equal(pci_cfg_access_check(0x04, 2, true, 1), 0);
	assert_int_equal(pci_cfg_access_check(0x18, 4, false, 1), 0); /* reads are fine */
	/* The same offsets of an endpoint are its own registers. */
	assert_int_equal(pci_cfg_access_check(0x28, 4, true, 0), 0);
	assert_int_equal(pci_cfg_access_check(0x38, 4, true, 0x80), 0);
}

static void test_cfg_filter_other_headers(void **state)
{
	(void)state;
	/* A CardBus bridge (type 2): its windows run to 0x3b, its bridge
	 * control is at 0x3e, as a PCI bridge's. */
	assert_int_equal(pci_cfg_access_check(0x28, 4, true, 2), -VE_PERM); /* I/O base 0 */
	assert_int_equal(pci_cfg_access_check(0x34, 4, true, 2), -VE_PERM); /* I/O base 1 */
	assert_int_equal(pci_cfg_access_check(0x3e, 2, true, 2), -VE_PERM);
	assert_int_equal(pci_cfg_access_check(0x04, 2, true, 2), 0);
	/* A type the kernel does not know gets the strictest rule. */
	assert_int_equal(pci_cfg_access_check(0x28, 4, true, 0x7f), -VE_PERM);
	assert_int_equal(pci_cfg_access_check(0x3e, 1, true, 3), -VE_PERM);
	assert_int_equal(pci_cfg_access_check(0x3c, 1, true, 3), 0);
}

/* Functions with memory BARs: e1000-like, two small BARs packed in one
 * page, one alone in its page, 64-bit ones high, too high, too large. */
static const struct ve_pciinfo mapfns[] = {
	{ .bar = { { .base = 0xfebc0000u, .size = 0x20000, .kind = VE_BAR_MEM32 },
		   { .base = 0xc000, .size = 64, .kind = VE_BAR_IO } } },
	{ .bar = { { .base = 0xfebe1000u, .size = 0x100, .kind = VE_BAR_MEM32 } } },
	{ .bar = { { .base = 0xfebe1100u, .size = 0x100, .kind = VE_BAR_MEM32 } } },
	{ .bar = { { .base = 0xfebe3000u, .size = 0x100, .kind = VE_BAR_MEM32 },
		   { .base = 0, .size = 0x1000, .kind = VE_BAR_MEM32 } } },
	{ .bar = { [4] = { .base = 0xe000000000ull, .size = 0x4000, .kind = VE_BAR_MEM64 } } },
	{ .bar = { { .base = 0xfffffffffffff000ull, .size = 0x1000, .kind = VE_BAR_MEM64 },
		   [2] = { .base = 0xfffff000000000ull, .size = 0x2000, .kind = VE_BAR_MEM64 } } },
	{ .bar = { { .base = 0x8000000000ull, .size = 512ull << 20, .kind = VE_BAR_MEM64 } } },
};

static void test_bar_pages(void **state)
{
	uint64_t lo = 0, len = 0;
	const unsigned n = sizeof(mapfns) / sizeof(mapfns[0]);

	(void)state;
	assert_int_equal(pci_bar_pages(mapfns, n, 0, 0, &lo, &len), 0);
	assert_int_equal(lo, 0xfebc0000u);
	assert_int_equal(len, 0x20000);
	assert_int_equal(pci_bar_pages(mapfns, n, 3, 0, &lo, &len), 0);
	assert_int_equal(lo, 0xfebe3000u);
	assert_int_equal(len, 0x1000);
	assert_int_equal(pci_bar_pages(mapfns, n, 4, 4, &lo, &len), 0);
	assert_int_equal(lo, 0xe000000000ull);
	assert_int_equal(len, 0x4000);
	/* Its page holds another function's registers: never mapped. */
	assert_int_equal(pci_bar_pages(mapfns, n, 1, 0, &lo, &len), -VE_PERM);
	assert_int_equal(pci_bar_pages(mapfns, n, 2, 0, &lo, &len), -VE_PERM);
	/* Wrapping past 2^64, or past the 52 bits a page table entry holds
	 * (the rest would land in its flag bits). */
	assert_int_equal(pci_bar_pages(mapfns, n, 5, 0, &lo, &len), -VE_RANGE);
	assert_int_equal(pci_bar_pages(mapfns, n, 5, 2, &lo, &len), -VE_RANGE);
	assert_int_equal(pci_bar_pages(mapfns, n, 6, 0, &lo, &len), -VE_RANGE);
	/* Not a memory BAR, unassigned, or no such BAR. */
	assert_int_equal(pci_bar_pages(mapfns, n, 0, 1, &lo, &len), -VE_INVAL);
	assert_int_equal(pci_bar_pages(mapfns, n, 3, 1, &lo, &len), -VE_INVAL);
	assert_int_equal(pci_bar_pages(mapfns, n, 0, 2, &lo, &len), -VE_INVAL);
	assert_int_equal(pci_bar_pages(mapfns, n, 0, 6, &lo, &len), -VE_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bar_io_and_mem32),
		cmocka_unit_test(test_bar_io_16bit_decoder),
		cmocka_unit_test(test_bar_mem64),
		cmocka_unit_test(test_bar_mem64_in_last_register),
		cmocka_unit_test(test_bar_ports),
		cmocka_unit_test(test_bar_pages),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_devsel_check),
		cmocka_unit_test(test_devsel_same),
		cmocka_unit_test(test_cfg_filter),
		cmocka_unit_test(test_cfg_filter_bridge),
		cmocka_unit_test(test_cfg_filter_other_headers),
	};

	return cmocka_run_group_tests_name("pci", tests, NULL, NULL);
}
