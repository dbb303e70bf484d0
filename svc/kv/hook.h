/*
 * kv's crash=N test hook. Only test images carry it: they boot
 * kvcrash.elf, which is kv built with KV_CRASH_HOOK and KV_TEST_FENCE
 * (table.c's fences then call the hook) and linked with
 * svc/kv/crashhook.c. The kv that ships is built without them: the
 * functions below are then empty, inline away, and it carries no test
 * code (a "crash=N" argument is a bad argument to it).
 *
 * crash=N: a request seen for the first time (not redelivered) crashes kv
 * with probability 1/N, at a death point picked at random: a put or a
 * delete right after any one store of its change in the table (each fence
 * of table.c) or just before the reply, any other request on receipt or
 * before the reply. A change that makes fewer stores than the point
 * picked (one answered "-full", or a replay) dies before its reply. Just
 * before it dies it posts {"ev":"kv_crash","at":P}, P one of receipt,
 * store1..store6, reply. crash=0: never.
 *
 * Every redelivered put or delete posts {"ev":"kv_replay","applied":A}:
 * A is 1 if the table already holds it as its last change (kv_replayed),
 * which only a commit between the change and the reply can cause (none
 * in kv.scn's image: no disk, no sockets), so kv.scn shows a change cut
 * short by a death anywhere is undone by the window and applied once.
 */
#ifndef VESTA_SVC_KV_HOOK_H
#define VESTA_SVC_KV_HOOK_H

#include "vesta.h"

struct kv_stash;

#ifdef KV_CRASH_HOOK
/* Take the argument word[0..n) if it is crash=N: 1 if taken, 0 if it is
 * not the hook's, -VE_INVAL if N is not a number. */
int kv_hook_arg(const char *word, size_t n);
/* Message m (buf[0..len)) has arrived at a kv whose table is st: pick
 * its death point; may die at once. */
void kv_hook_request(const struct ve_msg *m, const char *buf, size_t len,
		     const struct kv_stash *st);
/* The reply to the request is about to go: die if its point is not past. */
void kv_hook_reply(void);
#else
static inline int kv_hook_arg(const char *word, size_t n)
{
	(void)word;
	(void)n;
	return 0;
}
static inline void kv_hook_request(const struct ve_msg *m, const char *buf, size_t len,
				   const struct kv_stash *st)
{
	(void)m;
	(void)buf;
	(void)len;
	(void)st;
}
static inline void kv_hook_reply(void)
{
}
#endif

#endif
