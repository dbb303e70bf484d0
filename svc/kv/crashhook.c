/*
 * kv's crash=N hook, for test images only (see hook.h): built into
 * kvcrash.elf, never into the kv that ships.
 */
#include "hook.h"

/* Death points of one request: receipt, after each store of kv_change()
 * (7 of the redo record, its arming, 7 of applying it: table.c), and
 * before the reply. */
#define CHANGE_STORES 15
#define POINTS (CHANGE_STORES + 2)
#define AT_NONE (-1)

static uint64_t every; /* crash=N */
static struct ve_rng rng;
static int at = AT_NONE; /* the current request's death point */
static int passed;	 /* points of the current request passed so far */

static _Noreturn void crash(void)
{
	*(volatile int *)0 = 1;
	__builtin_trap();
}

int kv_hook_arg(const char *word, size_t n)
{
	const char *p = word + 6;

	if (n <= 6 || strncmp(word, "crash=", 6) != 0)
		return 0;
	if (ve_parse_u64(&p, &every) < 0 || p != word + n)
		return -VE_INVAL;
	ve_rng_seed(&rng, (uint64_t)ve_getpid() * 0x100000001b3ull + ve_clock_ns());
	return 1;
}

/* Pass one death point of the current request; die if it is the one. */
static void pass(void)
{
	if (at != AT_NONE && passed++ == at)
		crash();
}

void kv_hook_request(const struct ve_msg *m)
{
	at = AT_NONE;
	if (every == 0 || m->redelivered > 0 || ve_rng_below(&rng, every) != 0)
		return;
	at = (int)ve_rng_below(&rng, POINTS);
	passed = 0;
	pass();
}

/* table.c's fence, after each store to the stash. */
void kv_test_fence(void);
void kv_test_fence(void)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	pass();
}

void kv_hook_reply(void)
{
	if (at != AT_NONE)
		crash();
}
