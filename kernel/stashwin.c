/*
 * Recovery windows' bookkeeping (stashwin.h): which pages of a windowed
 * stash were written since the last commit, and where their committed
 * bytes are. One transition pair per page (clean -> saved by a write
 * fault; saved -> clean by a commit or a rollback) and an invariant
 * checker, in the manner of channels/chan.c.
 */
#include "stashwin.h"

#include <stddef.h>

void stashwin_init(struct stashwin *w, uint32_t npages, uint64_t *cur, uint64_t *shadow,
		   uint8_t *saved, uint32_t *list)
{
	*w = (struct stashwin){
		.npages = npages, .cur = cur, .shadow = shadow, .saved = saved, .list = list
	};
}

int stashwin_save(struct stashwin *w, const struct stashwin_env *e, uint32_t page)
{
	if (page >= w->npages || w->saved[page])
		return -1;
	e->copy(e->ctx, w->shadow[page], w->cur[page]);
	w->saved[page] = 1;
	w->list[w->nsaved++] = page;
	w->saves++;
	return 0;
}

uint32_t stashwin_commit(struct stashwin *w, const struct stashwin_env *e)
{
	uint32_t n = w->nsaved;
	for (uint32_t k = 0; k < n; k++) {
		uint32_t page = w->list[k];
		w->saved[page] = 0;
		if (e->protect)
			e->protect(e->ctx, page);
	}
	w->nsaved = 0;
	w->commits += n != 0;
	return n;
}

uint32_t stashwin_rollback(struct stashwin *w)
{
	uint32_t n = w->nsaved;
	for (uint32_t k = 0; k < n; k++) {
		uint32_t page = w->list[k];
		uint64_t written = w->cur[page];
		w->cur[page] = w->shadow[page];
		w->shadow[page] = written;
		w->saved[page] = 0;
	}
	w->nsaved = 0;
	w->rollbacks += n != 0;
	w->rolledback += n;
	return n;
}

int stashwin_check(const struct stashwin *w)
{
	if (w->nsaved > w->npages)
		return -1;
	uint32_t flagged = 0;
	for (uint32_t i = 0; i < w->npages; i++) {
		if (w->saved[i] > 1)
			return -2;
		flagged += w->saved[i];
		if (!w->cur[i] || !w->shadow[i] || w->cur[i] == w->shadow[i])
			return -3;
	}
	if (flagged != w->nsaved)
		return -4; /* the list and the flags disagree */
	for (uint32_t k = 0; k < w->nsaved; k++) {
		if (w->list[k] >= w->npages || !w->saved[w->list[k]])
			return -5;
		for (uint32_t j = 0; j < k; j++)
			if (w->list[j] == w->list[k])
				return -6; /* saved twice */
	}
	/* 2n distinct frames: quadratic, for tests and debugging. */
	for (uint32_t i = 0; i < w->npages; i++)
		for (uint32_t j = 0; j < i; j++)
			if (w->cur[i] == w->cur[j] || w->cur[i] == w->shadow[j] ||
			    w->shadow[i] == w->cur[j] || w->shadow[i] == w->shadow[j])
				return -7;
	return 0;
}
