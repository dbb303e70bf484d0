/*
 * stashkid: maps its stash, counts one more start in it, posts
 * {"ev":"stashkid","run":RUN,"value":N}, then dies by a null write (args
 * "crash RUN") or exits 0 (args "ok RUN"). Its stash must outlive it: the
 * next stashkid sees N+1.
 */
#include "vesta.h"

int main(const char *args)
{
	long base = ve_syscall(SYS_STASH, 8192, 0, 0, 0, 0, 0);
	if (base < 0) {
		ve_printf("stashkid: stash: %s\n", ve_strerror(base));
		return 1;
	}
	volatile uint64_t *count = (volatile uint64_t *)(uintptr_t)base;
	count[0]++;
	count[1023] = count[0]; /* the second page too */
	const char *p = ve_skip_space(args);
	bool crash = ve_word_is(p, ve_word_len(p), "crash");
	uint64_t run = 0;
	p = ve_skip_space(p + ve_word_len(p));
	ve_parse_u64(&p, &run);
	struct ve_kv kv[2] = { { .key = "run", .num = (int64_t)run },
			       { .key = "value", .num = (int64_t)count[0] } };
	ve_event("stashkid", kv, 2);
	if (crash)
		*(volatile int *)0 = 1;
	return 0;
}
