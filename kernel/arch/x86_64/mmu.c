/*
 * Page tables. The kernel half (PML4 slots 256..511) is built once here and
 * shared by every address space: the direct map of physical memory at
 * DIRECT_MAP (2 MiB pages, no execute) and the kernel image at KERNEL_VMA
 * with text RX, rodata R, data RW. User halves are built by vm.c through
 * arch_pte() and torn down with arch_free_user_half().
 */
#include "arch.h"
#include "x86.h"

#include "lib/string.h"

extern char __text_start[], __rodata_start[], __data_start[], __kernel_end[];

static uint64_t kernel_pml4;
static uint64_t nx_bit;
static int (*frame_alloc)(uint64_t *phys);

uint64_t arch_kernel_pml4(void)
{
	return kernel_pml4;
}

static uint64_t *table(uint64_t entry)
{
	return phys_to_virt(entry & PTE_ADDR);
}

static int new_table(uint64_t *phys)
{
	int err = frame_alloc(phys);
	if (err)
		return err;
	memset(phys_to_virt(*phys), 0, PAGE_SIZE);
	return 0;
}

/* Walk to the entry for va at the given level (3 = PDPT entry's table is
 * PD... i.e. stop_level 1 returns a PTE, 2 a PDE). Creates missing tables
 * with `inter` flags when create is set. */
static uint64_t *walk(uint64_t pml4, uint64_t va, int stop_level, bool create, uint64_t inter)
{
	uint64_t *t = phys_to_virt(pml4);
	for (int level = 4; level > stop_level; level--) {
		unsigned idx = (va >> (12 + 9 * (level - 1))) & 511;
		if (!(t[idx] & PTE_P)) {
			uint64_t phys;
			if (!create || new_table(&phys))
				return NULL;
			t[idx] = phys | inter;
		} else if (t[idx] & PTE_PS) {
			return NULL; /* a large page where a table was expected */
		}
		t = table(t[idx]);
	}
	return &t[(va >> (12 + 9 * (stop_level - 1))) & 511];
}

uint64_t *arch_pte(uint64_t pml4, uint64_t va, bool create)
{
	return walk(pml4, va, 1, create, PTE_P | PTE_W | PTE_U);
}

uint64_t arch_pte_flags(uint32_t prot, bool user)
{
	uint64_t f = PTE_P;
	if (prot & 0x2)
		f |= PTE_W;
	if (!(prot & 0x4))
		f |= nx_bit;
	if (user)
		f |= PTE_U;
	return f;
}

static int map_kernel_range(uint64_t va, uint64_t end, uint64_t flags)
{
	for (; va < end; va += PAGE_SIZE) {
		uint64_t *pte = walk(kernel_pml4, va, 1, true, PTE_P | PTE_W);
		if (!pte)
			return -1;
		*pte = (va - KERNEL_VMA) | flags;
	}
	return 0;
}

int arch_mmu_init(uint64_t top_phys, int (*alloc)(uint64_t *phys))
{
	frame_alloc = alloc;
	nx_bit = arch_has_nx() ? PTE_NX : 0;
	if (new_table(&kernel_pml4))
		return -1;

	uint64_t top = top_phys < (4ull << 30) ? (4ull << 30) : top_phys;
	top = (top + (1ull << 30) - 1) & ~((1ull << 30) - 1);
	for (uint64_t pa = 0; pa < top; pa += 2ull << 20) {
		uint64_t *pde = walk(kernel_pml4, DIRECT_MAP + pa, 2, true, PTE_P | PTE_W);
		if (!pde)
			return -1;
		*pde = pa | PTE_P | PTE_W | PTE_PS | nx_bit;
	}
	uint64_t text = (uint64_t)(uintptr_t)__text_start;
	uint64_t ro = (uint64_t)(uintptr_t)__rodata_start;
	uint64_t data = (uint64_t)(uintptr_t)__data_start;
	uint64_t end = (uint64_t)(uintptr_t)__kernel_end;
	if (map_kernel_range(text, ro, PTE_P) || map_kernel_range(ro, data, PTE_P | nx_bit) ||
	    map_kernel_range(data, end, PTE_P | PTE_W | nx_bit))
		return -1;
	/* Pre-create every kernel-half PDPT so the 256 shared PML4 slots never
	 * change after this and copying them into a new space stays valid. */
	uint64_t *pml4 = phys_to_virt(kernel_pml4);
	for (int i = 256; i < 512; i++) {
		uint64_t phys;
		if (!(pml4[i] & PTE_P)) {
			if (new_table(&phys))
				return -1;
			pml4[i] = phys | PTE_P | PTE_W;
		}
	}
	arch_switch_pml4(kernel_pml4);
	return 0;
}

int arch_new_space(uint64_t *pml4_out)
{
	uint64_t phys;
	int err = new_table(&phys);
	if (err)
		return err;
	uint64_t *dst = phys_to_virt(phys), *src = phys_to_virt(kernel_pml4);
	for (int i = 256; i < 512; i++)
		dst[i] = src[i];
	*pml4_out = phys;
	return 0;
}

/* The index of the first nonzero entry of t at or after i, or 512: one
 * repe scasq over the empty run (unmapped entries are 0), since a freed
 * space's tables are mostly empty. */
static int next_used(const uint64_t *t, int i)
{
	const uint64_t *p = t + i;
	uint64_t n = (uint64_t)(512 - i);
	bool found;
	if (!n)
		return 512;
	__asm__ volatile("repe scasq" : "+D"(p), "+c"(n), "=@ccnz"(found) : "a"(0ull) : "memory");
	return found ? (int)(p - t) - 1 : 512;
}

static void free_level(uint64_t tphys, int level, void (*free_frame)(uint64_t phys))
{
	uint64_t *t = phys_to_virt(tphys);
	for (int i = next_used(t, 0); i < 512; i = next_used(t, i + 1)) {
		if (!(t[i] & PTE_P))
			continue;
		if (level > 1)
			free_level(t[i] & PTE_ADDR, level - 1, free_frame);
		else if (!(t[i] & PTE_STASH))
			free_frame(t[i] & PTE_ADDR); /* a stash frame outlives the space */
		t[i] = 0;
	}
	free_frame(tphys);
}

/* Clear the user PTE for va and free every page table on its path that this
 * leaves empty, so a long-lived process that maps and unmaps does not
 * accumulate empty tables. Returns the frame the PTE mapped (0 if none). */
uint64_t arch_unmap_user(uint64_t pml4, uint64_t va, void (*free_frame)(uint64_t phys))
{
	uint64_t *path[4];
	uint64_t *t = phys_to_virt(pml4);
	for (int level = 4; level >= 1; level--) {
		unsigned idx = (va >> (12 + 9 * (level - 1))) & 511;
		path[level - 1] = &t[idx];
		if (!(t[idx] & PTE_P))
			return 0;
		if (level > 1)
			t = table(t[idx]);
	}
	uint64_t frame = *path[0] & PTE_ADDR;
	*path[0] = 0;
	arch_invlpg(va);
	for (int level = 1; level <= 3; level++) {
		uint64_t *tbl = (uint64_t *)((uintptr_t)path[level - 1] & ~(PAGE_SIZE - 1));
		for (int i = 0; i < 512; i++)
			if (tbl[i] & PTE_P)
				return frame;
		free_frame(*path[level] & PTE_ADDR);
		*path[level] = 0;
	}
	return frame;
}

static uint64_t count_level(uint64_t tphys, int level)
{
	uint64_t *t = phys_to_virt(tphys), n = 0;
	for (int i = 0; i < 512; i++)
		if (t[i] & PTE_P)
			n += level > 1 ? count_level(t[i] & PTE_ADDR, level - 1) : 1;
	return n;
}

/* arch_walk_user_pages below table tphys; false once fn has had enough. */
static bool walk_level(uint64_t tphys, int level, uint64_t base, uint64_t *n, arch_page_fn fn,
		       void *ctx)
{
	uint64_t *t = phys_to_virt(tphys);
	for (int i = 0; i < 512; i++) {
		if (!(t[i] & PTE_P))
			continue;
		uint64_t a = base | ((uint64_t)i << (12 + 9 * (level - 1)));
		if (level > 1 ? !walk_level(t[i] & PTE_ADDR, level - 1, a, n, fn, ctx)
			      : !fn(ctx, (*n)++, a, &t[i]))
			return false;
	}
	return true;
}

void arch_walk_user_pages(uint64_t pml4, arch_page_fn fn, void *ctx)
{
	uint64_t *t = phys_to_virt(pml4), n = 0;
	for (int i = 0; i < 256; i++)
		if ((t[i] & PTE_P) &&
		    !walk_level(t[i] & PTE_ADDR, 3, (uint64_t)i << 39, &n, fn, ctx))
			return;
}

uint64_t arch_count_user_frames(uint64_t pml4)
{
	uint64_t *t = phys_to_virt(pml4), n = 0;
	for (int i = 0; i < 256; i++)
		if (t[i] & PTE_P)
			n += count_level(t[i] & PTE_ADDR, 3);
	return n;
}

void arch_free_space(uint64_t pml4, void (*free_frame)(uint64_t phys))
{
	uint64_t *t = phys_to_virt(pml4);
	for (int i = 0; i < 256; i++) {
		if (t[i] & PTE_P)
			free_level(t[i] & PTE_ADDR, 3, free_frame);
		t[i] = 0;
	}
	free_frame(pml4);
}
