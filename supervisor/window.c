/*
 * A sliding window of timestamps: how the restart intensity of a
 * supervisor and the crash count behind a service's stash are kept.
 *
 * Like OTP's add_restart, a timestamp still counts while it is at most
 * `period` old (now - at <= period), and the new one is counted before the
 * caller compares: "more than N within the period" is a count above N.
 */
#include "decide_impl.h"

uint32_t sup_window_add(struct sup_window *w, uint64_t now, uint64_t period)
{
	uint32_t keep = 0;

	/* Oldest first, so the stale ones are a prefix. */
	while (keep < w->n && now - w->at[keep] > period)
		keep++;
	for (uint32_t i = keep; i < w->n; i++)
		w->at[i - keep] = w->at[i];
	w->n -= keep;

	if (w->n == SUP_WINDOW_MAX) {
		/* Full: more than any limit already; forget the oldest. */
		for (uint32_t i = 1; i < w->n; i++)
			w->at[i - 1] = w->at[i];
		w->n--;
	}
	w->at[w->n++] = now;
	return w->n;
}

void sup_window_clear(struct sup_window *w)
{
	w->n = 0;
}
