/*
 * benchstash: the server of `make bench`'s stash round trips. Args "MODE
 * CHANNEL": MODE "windows" maps a stash with recovery windows
 * (VE_STASH_WINDOWS), "plain" a plain kept one, both BENCH_STASH_PAGES
 * pages; it serves CHANNEL. A call's payload is a page count P
 * (uint32_t, at most BENCH_STASH_PAGES): it writes one word in each of
 * the stash's first P pages, as a server's request dirties its state, and
 * answers with the same bytes. With windows, each of those pages is copied
 * at its first write after a commit (the reply is one): what
 * tests/boot/progs/bench.c measures against the plain stash.
 * Exit 1 if the stash or a channel call fails, 2 for bad args.
 */
#include "vesta.h"

#define BENCH_STASH_PAGES 16 /* tests/boot/progs/bench.c has the same */

int main(const char *args)
{
	static char buf[VE_MSG_MAX];
	const char *p = ve_skip_space(args);
	size_t n = ve_word_len(p);
	bool windows = ve_word_is(p, n, "windows");
	char chan[VE_NAME_MAX];
	struct ve_msg m;
	uint64_t id = 0;
	long len = 0;

	if (!windows && !ve_word_is(p, n, "plain")) {
		ve_printf("benchstash: bad args '%s' (want \"windows|plain CHANNEL\")\n", args);
		return 2;
	}
	p = ve_skip_space(p + n);
	n = ve_word_len(p);
	if (n == 0 || n >= sizeof(chan)) {
		ve_printf("benchstash: bad args '%s' (want \"windows|plain CHANNEL\")\n", args);
		return 2;
	}
	memcpy(chan, p, n);
	chan[n] = '\0';
	long base =
	    ve_stash_open_wait(BENCH_STASH_PAGES * VE_PAGE_SIZE, windows ? VE_STASH_WINDOWS : 0);
	int32_t h = base < 0 ? (int32_t)base : ve_chan_serve_wait(chan);
	if (h < 0) {
		ve_printf("benchstash: stash or serve %s: %s\n", chan, ve_strerror(h));
		return 1;
	}
	for (;;) {
		len = ve_chan_reply_recv(h, id, buf, (size_t)len, sizeof(buf), VE_TIMEOUT_NONE, &m,
					 NULL, NULL);
		if (len < 0) {
			ve_printf("benchstash: %s\n", ve_strerror(len));
			return 1;
		}
		id = m.id;
		uint32_t pages = 0;
		if (len == sizeof(pages))
			memcpy(&pages, buf, sizeof(pages));
		for (uint32_t i = 0; i < pages && i < BENCH_STASH_PAGES; i++)
			((volatile uint64_t *)(uintptr_t)(base + i * VE_PAGE_SIZE))[i]++;
	}
}
