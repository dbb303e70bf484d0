/*
 * kv's crash=N hook, for test images only (see hook.h): built into
 * kvcrash.elf, never into the kv that ships.
 */
#include "hook.h"
#include "table.h"

/* Death points of one request: receipt, after each store of kv_change()
 * (table.c), and before the reply. */
#define AT_RECEIPT 0
#define AT_REPLY (KV_CHANGE_STORES + 1)
#define POINTS (KV_CHANGE_STORES + 2)
#define AT_NONE (-1)
#define WRAP_LEN 33 /* '@' GEN TAG (kv.c) */

static uint64_t every; /* crash=N */
static struct ve_rng rng;
static int at = AT_NONE; /* the current request's death point */
static int passed;	 /* points of the current request passed so far */

/* Post kv_crash for death point p, then die (no commit: a fault). */
static _Noreturn void crash(int p)
{
	static const char *const names[POINTS] = { "receipt", "store1", "store2", "store3",
						   "store4",  "store5", "store6", "reply" };
	_Static_assert(POINTS == 8, "name every death point");

	ve_event_str("kv_crash", "at", names[p]);
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
		crash(at);
}

/* Whether message buf[0..len) is a put or a delete, plain or wrapped. */
static bool is_change(const char *buf, size_t len)
{
	size_t op = len > WRAP_LEN && buf[0] == '@' ? WRAP_LEN : 0;

	return len > op && (buf[op] == 'P' || buf[op] == 'D');
}

void kv_hook_request(const struct ve_msg *m, const char *buf, size_t len, const struct kv_stash *st)
{
	bool change = m->kind == VE_MSG_CALL && is_change(buf, len);

	at = AT_NONE;
	if (m->redelivered > 0 && change)
		ve_event1("kv_replay", "applied", kv_replayed(st, m->id));
	if (every == 0 || m->redelivered > 0 || ve_rng_below(&rng, every) != 0)
		return;
	/* A change dies after one of its stores or before its reply, so that
	 * each store point sees deaths; anything else on receipt or before
	 * its reply. */
	if (change)
		at = 1 + (int)ve_rng_below(&rng, KV_CHANGE_STORES + 1);
	else
		at = ve_rng_below(&rng, 2) ? AT_REPLY : AT_RECEIPT;
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
		crash(AT_REPLY);
}
