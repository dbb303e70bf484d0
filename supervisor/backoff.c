/*
 * Restart backoff: how long a service that went down waits before its
 * next incarnation, so a crash loop does not eat the CPU.
 *
 * The k-th quick failure in a row waits initial * 2^(k-1), at most max. A
 * failure is quick unless the incarnation had been serving (ready) for at
 * least the reset time: one that served that long is not part of a crash
 * loop, and its next failure waits `initial` again. The reset time
 * defaults to the larger of max and the supervisor's period: by then the
 * intensity window has forgotten the earlier failures too, and a service
 * is never forgiven sooner than the longest wait it can be given.
 */
#include "decide_impl.h"

uint64_t sup_backoff_next(struct sup_node *c, uint64_t period, uint64_t now)
{
	const struct sup_svc_spec *sp = &c->spec.svc;
	uint64_t reset = sp->backoff_reset_ns;
	uint64_t delay = sp->backoff_initial_ns;

	if (delay == 0)
		return 0;
	if (reset == 0)
		reset = sp->backoff_max_ns > period ? sp->backoff_max_ns : period;
	if (c->ready_at != SUP_NO_DEADLINE && now - c->ready_at >= reset)
		c->backoff_lvl = 0;

	for (uint32_t i = 0; i < c->backoff_lvl && delay < sp->backoff_max_ns; i++)
		delay = delay > UINT64_MAX / 2 ? UINT64_MAX : delay * 2;
	if (delay > sp->backoff_max_ns)
		delay = sp->backoff_max_ns;
	if (c->backoff_lvl < 64)
		c->backoff_lvl++;
	return delay;
}
