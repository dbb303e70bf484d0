/*
 * memhog: takes all the memory the kernel will give it (its share of a
 * quarter, or less when others took the rest; with the arg "hold" it
 * then keeps it until killed), checks that every
 * page is real and its own, and exits with the number of 4 KiB pages it got
 * -- so a parent can run it twice and see the kernel took every page back.
 *
 * It maps 64 KiB chunks until refused, then single pages until refused,
 * writing every page as soon as it has it. The last refusal must be
 * -VE_NOMEM (anything else is a kernel bug): exit(-1) if not. Each page
 * holds a word derived from its address, checked again at the end, so two
 * mappings sharing a frame are caught: exit(-2) if one was overwritten.
 */
#include "vesta.h"

#define CHUNK_BYTES (64 * 1024)
#define PAGE_MAGIC 0x6d656d686f67ull /* "memhog" */

/* The first bytes of every mapped region: the regions form a list. */
struct region {
	struct region *next;
	uint64_t pages;
};

/* The word stored in the last 8 bytes of the page at addr. */
static uint64_t page_word(uint64_t addr)
{
	return addr ^ PAGE_MAGIC;
}

static uint64_t *page_slot(uint64_t addr)
{
	return (uint64_t *)(uintptr_t)(addr + VE_PAGE_SIZE - sizeof(uint64_t));
}

/*
 * Map len bytes anywhere, write every page and push the region on *list.
 * Returns 0 or vm_alloc's error.
 */
static long grab(struct region **list, uint64_t len)
{
	long r = ve_vm_alloc(0, len, VE_PROT_READ | VE_PROT_WRITE);
	struct region *reg;

	if (r < 0)
		return r;
	for (uint64_t a = (uint64_t)r; a < (uint64_t)r + len; a += VE_PAGE_SIZE)
		*page_slot(a) = page_word(a);
	reg = (struct region *)(uintptr_t)r;
	reg->next = *list;
	reg->pages = len / VE_PAGE_SIZE;
	*list = reg;
	return 0;
}

/* Check every page's word. Returns the number of pages that are wrong. */
static uint64_t verify(const struct region *list)
{
	uint64_t bad = 0;

	for (; list != NULL; list = list->next) {
		uint64_t base = (uint64_t)(uintptr_t)list;

		for (uint64_t i = 0; i < list->pages; i++) {
			uint64_t a = base + i * VE_PAGE_SIZE;

			if (*page_slot(a) != page_word(a)) {
				if (bad == 0)
					ve_printf("memhog: page %#llx was overwritten\n",
						  (unsigned long long)a);
				bad++;
			}
		}
	}
	return bad;
}

int main(const char *args)
{
	struct region *list = NULL;
	uint64_t chunks = 0, singles = 0, pages, bad;
	long chunk_err, page_err;

	bool hold = ve_args_have(args, "hold");

	while ((chunk_err = grab(&list, CHUNK_BYTES)) == 0)
		chunks++;
	while ((page_err = grab(&list, VE_PAGE_SIZE)) == 0)
		singles++;
	pages = chunks * (CHUNK_BYTES / VE_PAGE_SIZE) + singles;
	ve_printf("memhog: %llu pages (%llu KiB): %llu chunks (then %s), "
		  "%llu single pages (then %s)\n",
		  (unsigned long long)pages, (unsigned long long)pages * 4,
		  (unsigned long long)chunks, ve_strerror(chunk_err), (unsigned long long)singles,
		  ve_strerror(page_err));
	if (page_err != -VE_NOMEM) {
		ve_printf("memhog: FAIL: last refusal was %s, not VE_NOMEM\n",
			  ve_strerror(page_err));
		return -1;
	}
	bad = verify(list);
	if (bad != 0) {
		ve_printf("memhog: FAIL: %llu pages lost their contents\n",
			  (unsigned long long)bad);
		return -2;
	}
	while (hold) /* until its parent kills it */
		ve_sleep_ms(1000);
	return (int)pages;
}
