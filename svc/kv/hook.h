/*
 * kv's crash=N test hook. Only test images carry it: they boot
 * kvcrash.elf, which is kv built with KV_CRASH_HOOK and KV_TEST_FENCE
 * (table.c's fences then call the hook) and linked with
 * svc/kv/crashhook.c. The kv that ships is built without them: the
 * functions below are then empty, inline away, and it carries no test
 * code (a "crash=N" argument is a bad argument to it).
 *
 * crash=N: a request seen for the first time (not redelivered) crashes kv
 * with probability 1/N, at a death point picked at random: on receipt,
 * right after any one store of a change (each fence of table.c), or just
 * before the reply. A request that makes fewer stores than the point
 * picked (a get, a count, a cast) dies before its reply. crash=0: never.
 */
#ifndef VESTA_SVC_KV_HOOK_H
#define VESTA_SVC_KV_HOOK_H

#include "vesta.h"

#ifdef KV_CRASH_HOOK
/* Take the argument word[0..n) if it is crash=N: 1 if taken, 0 if it is
 * not the hook's, -VE_INVAL if N is not a number. */
int kv_hook_arg(const char *word, size_t n);
/* Message m has arrived: pick its death point; may die at once. */
void kv_hook_request(const struct ve_msg *m);
/* The reply to the request is about to go: die if its point is not past. */
void kv_hook_reply(void);
#else
static inline int kv_hook_arg(const char *word, size_t n)
{
	(void)word;
	(void)n;
	return 0;
}
static inline void kv_hook_request(const struct ve_msg *m)
{
	(void)m;
}
static inline void kv_hook_reply(void)
{
}
#endif

#endif
