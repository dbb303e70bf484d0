/*
 * prioipc: the processes of a test that the switch a blocking call makes
 * keeps strict priority (tests/boot/scenarios/prioipc.scn). Each step waits
 * for the one before it by looking at the channels, never by the clock:
 *
 *   "spin"      once "echo" has a server, serve "spinning" (the sign that
 *               it spins from now on) and spin forever;
 *   "call"      once "spinning" has a server, write {"ev":"prioipc_call"},
 *               call "echo" once, and write {"ev":"prioipc_reply"} if the
 *               reply ever comes;
 *   "watch MS"  once "echo" has been sent a message, sleep MS milliseconds
 *               (time for a wrongly woken server to answer), then write
 *               {"ev":"prioipc_watch"} and exit 0.
 *
 * With a service-priority spinner runnable, a service-priority caller of a
 * best-effort server must never get its reply: the call wakes the server,
 * but the caller's blocking has to switch to the spinner (the higher
 * priority), not to the process it just woke.
 *
 * The other direction (prioreply.scn), a server's answer in reply_recv:
 *   "kicked"    serve "kick", wait for a message on it, then spin forever;
 *   "answer"    serve "echo"; answer each call with its own bytes through
 *               reply_recv, after casting to "kick" (which makes "kicked"
 *               runnable);
 *   "replycall" "call" once "kick" has a server.
 * The answered caller is best effort and "kicked" a service: the answer
 * wakes the caller, but the server's blocking has to switch to the
 * spinner, not to the caller it just answered.
 * Exit 2 for bad args, 1 if a channel call fails.
 */
#include "vesta.h"

/* Sleep a millisecond at a time until the channel name satisfies ok. */
static void wait_for(const char *name, bool (*ok)(const struct ve_chaninfo *))
{
	struct ve_chaninfo ci;
	while (ve_chan_info_named(name, &ci) < 0 || !ok(&ci))
		ve_sleep_ms(1);
}

static bool served(const struct ve_chaninfo *ci)
{
	return ci->server != 0;
}

static bool was_sent(const struct ve_chaninfo *ci)
{
	return ci->sent > 0;
}

static int spin(void)
{
	wait_for("echo", served);
	if (ve_chan_serve("spinning") < 0)
		return 1;
	for (;;)
		__asm__ volatile("" ::: "memory");
}

/* Serve "kick"; once a message came, spin forever. */
static int kicked(void)
{
	static char buf[16];
	struct ve_msg m;
	int h = ve_chan_serve("kick");
	if (h < 0)
		return 1;
	if (ve_chan_reply_recv(h, 0, buf, 0, sizeof(buf), VE_TIMEOUT_NONE, &m, NULL, NULL) < 0)
		return 1;
	for (;;)
		__asm__ volatile("" ::: "memory");
}

/* Serve "echo": before each answer, cast to "kick". */
static int answer(void)
{
	static char buf[64];
	struct ve_msg m;
	uint64_t id = 0;
	long len = 0;
	int h = ve_chan_serve("echo");
	int k = h < 0 ? h : ve_chan_open("kick");
	if (k < 0)
		return 1;
	for (;;) {
		len = ve_chan_reply_recv(h, id, buf, (size_t)len, sizeof(buf), VE_TIMEOUT_NONE, &m,
					 NULL, NULL);
		if (len < 0 || ve_chan_cast(k, "go", 2, VE_NONBLOCK) < 0)
			return 1;
		id = m.id;
	}
}

/* The channel whose server means the test is set up: "spinning" or "kick". */
static const char *ready_channel = "spinning";

static int call(void)
{
	char rep[8];
	wait_for(ready_channel, served);
	int h = ve_chan_open("echo");
	if (h < 0)
		return 1;
	ve_event1("prioipc_call", "h", h);
	long r = ve_chan_call(h, "ping", 4, rep, sizeof(rep), VE_TIMEOUT_NONE);
	if (r < 0) {
		ve_printf("prioipc: call echo: %s\n", ve_strerror(r));
		return 1;
	}
	ve_event1("prioipc_reply", "len", r);
	return 0;
}

static int watch(uint64_t ms)
{
	wait_for("echo", was_sent);
	ve_sleep_ms(ms);
	ve_event1("prioipc_watch", "ms", (int64_t)ms);
	return 0;
}

int main(const char *args)
{
	const char *p = ve_skip_space(args);
	size_t n = ve_word_len(p);
	const char *rest = p + n;
	uint64_t ms = 0;

	if (ve_word_is(p, n, "spin") && *ve_skip_space(rest) == '\0')
		return spin();
	if (ve_word_is(p, n, "call") && *ve_skip_space(rest) == '\0')
		return call();
	if (ve_word_is(p, n, "kicked") && *ve_skip_space(rest) == '\0')
		return kicked();
	if (ve_word_is(p, n, "answer") && *ve_skip_space(rest) == '\0')
		return answer();
	if (ve_word_is(p, n, "replycall") && *ve_skip_space(rest) == '\0') {
		ready_channel = "kick";
		return call();
	}
	if (ve_word_is(p, n, "watch") && ve_parse_u64(&rest, &ms) == 0 &&
	    *ve_skip_space(rest) == '\0')
		return watch(ms);
	ve_printf("prioipc: bad args '%s' (want \"spin\", \"call\", \"kicked\", \"answer\", "
		  "\"replycall\" or \"watch MS\")\n",
		  args);
	return 2;
}
