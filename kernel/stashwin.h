/*
 * Recovery windows: the commit and rollback bookkeeping of a windowed stash
 * (VE_STASH_WINDOWS in abi.h), kept free of the kernel so it is tested on
 * the host (tests/unit/test_stashwin.c).
 *
 * A windowed stash of n pages owns 2n frames: n *current* frames, the ones
 * mapped into its process, and n *shadow* frames. Between commits each
 * page is in one of two states:
 *
 *   clean  mapped read-only; its current frame holds the committed bytes;
 *          its shadow frame holds nothing of value.
 *   saved  mapped writable; its shadow frame holds the committed bytes
 *          (copied there by the write fault that made it saved), its
 *          current frame the bytes written since.
 *
 * One transition pair moves a page, and two operations move every saved
 * page at once:
 *
 *   stashwin_save(page)   clean -> saved: the first write since the last
 *                         commit faulted; copy current to shadow, and the
 *                         kernel maps the page writable.
 *   stashwin_commit()     every saved -> clean: what was written is the
 *                         committed state now; the kernel maps each page
 *                         read-only again (the protect hook).
 *   stashwin_rollback()   every saved -> clean: the process died; swap the
 *                         page's current and shadow frames, so the
 *                         committed bytes are current again, with no copy.
 *
 * So at every moment, for every page: the committed bytes are in the
 * shadow frame if the page is saved, else in the current frame; and the
 * 2n frames are distinct. stashwin_check verifies that, and that the saved
 * list and the saved flags agree.
 *
 * Nothing here allocates after stashwin_init: a write fault never needs
 * memory (abi.h: no fault does), at the price of a stash's size twice.
 */
#ifndef VESTA_STASHWIN_H
#define VESTA_STASHWIN_H

#include <stdbool.h>
#include <stdint.h>

/* Frames are the kernel's physical addresses (any distinct nonzero values
 * on the host); the hooks act on them. */
struct stashwin_env {
	/* Copy one page's bytes from frame src to frame dst. */
	void (*copy)(void *ctx, uint64_t dst, uint64_t src);
	/* A committed page goes back to read-only in the process (page index;
	 * NULL when the stash is not mapped, as on the host). */
	void (*protect)(void *ctx, uint32_t page);
	void *ctx;
};

struct stashwin {
	uint32_t npages;
	uint64_t *cur;	  /* npages: the frames mapped into the process */
	uint64_t *shadow; /* npages: the committed bytes of a saved page */
	uint8_t *saved;	  /* npages: 1 if the page is saved */
	uint32_t *list;	  /* the saved pages, nsaved of them, in save order */
	uint32_t nsaved;
	/* Outcome counters. */
	uint64_t commits;    /* commits that found at least one saved page */
	uint64_t saves;	     /* pages saved (write faults served) */
	uint64_t rollbacks;  /* rollbacks that undid at least one page */
	uint64_t rolledback; /* pages undone */
};

/* Set w up over the caller's arrays (each npages long; cur and shadow
 * filled with 2n distinct frames, saved zeroed): every page clean. */
void stashwin_init(struct stashwin *w, uint32_t npages, uint64_t *cur, uint64_t *shadow,
		   uint8_t *saved, uint32_t *list);

/* page was written for the first time since the last commit: make it
 * saved. 0, or -1 if page is out of range or already saved (a kernel bug
 * on the kernel's side: the page was writable). */
int stashwin_save(struct stashwin *w, const struct stashwin_env *e, uint32_t page);

/* Commit: every saved page clean, its bytes the committed ones. Returns
 * how many pages were saved. */
uint32_t stashwin_commit(struct stashwin *w, const struct stashwin_env *e);

/* Roll back: every saved page clean with its committed bytes current
 * again. The stash must not be mapped writable anywhere (its process is
 * gone). Returns how many pages were undone. */
uint32_t stashwin_rollback(struct stashwin *w);

static inline bool stashwin_is_saved(const struct stashwin *w, uint32_t page)
{
	return page < w->npages && w->saved[page];
}

/* The frame holding page's committed bytes. */
static inline uint64_t stashwin_committed(const struct stashwin *w, uint32_t page)
{
	return w->saved[page] ? w->shadow[page] : w->cur[page];
}

/* 0 if w's invariants hold, else a negative number naming the first that
 * does not (for tests and the kernel's debug checks). */
int stashwin_check(const struct stashwin *w);

#endif
