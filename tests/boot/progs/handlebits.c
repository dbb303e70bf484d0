/*
 * handlebits: a handle is a whole 64-bit argument. call, cast, recv, reply
 * and ack with handle h + 2^32 or h - 2^32 (h a real handle of the caller)
 * must return -VE_BADHANDLE and change nothing, not act on handle h.
 *
 * It serves and opens the channel "hb" itself, so it holds a server handle
 * s and a client handle c, and checks the channel's counters after every
 * refused call. A call with a wrong handle is given a timeout, so that a
 * kernel that took it for c returns instead of waiting for a reply that
 * nobody sends.
 *
 * Writes {"ev":"handlebits","checks":N,"bad":N}; each failure also prints a
 * line. Exit 0 iff bad is 0.
 */
#include "vesta.h"

#define WRAP (1ll << 32)
#define CALL_TIMEOUT_NS 50000000ull /* 50 ms: only matters on a broken kernel */

static unsigned checks, bad;

static struct ve_chaninfo info_of(const char *name)
{
	struct ve_chaninfo ci = { 0 };
	if (ve_chan_info_named(name, &ci) == 0)
		return ci;
	ve_printf("handlebits: no channel %s\n", name);
	bad++;
	return (struct ve_chaninfo){ 0 };
}

/* The call returned r; it had to be -VE_BADHANDLE and leave "hb" as before. */
static void expect_refused(const char *what, long long handle, long r,
			   const struct ve_chaninfo *before)
{
	struct ve_chaninfo now = info_of("hb");
	checks++;
	if (r == -VE_BADHANDLE && now.sent == before->sent && now.queued == before->queued &&
	    now.inflight == before->inflight && now.acked == before->acked &&
	    now.replied == before->replied && now.cancelled == before->cancelled)
		return;
	bad++;
	ve_printf("handlebits: %s with handle %lld returned %ld (%s); sent %llu->%llu, queued "
		  "%u->%u, in flight %u->%u\n",
		  what, handle, r, ve_strerror(r), (unsigned long long)before->sent,
		  (unsigned long long)now.sent, before->queued, now.queued, before->inflight,
		  now.inflight);
}

/* Each client-side call with the wrong handle w. */
static void client_calls(long long w)
{
	char rep[16];
	struct ve_chaninfo before = info_of("hb");
	long r = ve_syscall(SYS_CHAN_CAST, w, (long)"x", 1, VE_NONBLOCK, 0, 0);
	expect_refused("cast", w, r, &before);
	before = info_of("hb");
	r = ve_syscall(SYS_CHAN_CALL, w, (long)"y", 1, (long)rep, sizeof(rep), CALL_TIMEOUT_NS);
	expect_refused("call", w, r, &before);
}

/* Each server-side call with the wrong handle w; id is a cast in flight. */
static void server_calls(long long w, uint64_t id)
{
	struct ve_msg m;
	char buf[16];
	struct ve_chaninfo before = info_of("hb");
	long r = ve_syscall(SYS_CHAN_RECV, w, (long)&m, (long)buf, sizeof(buf), 0, 0);
	expect_refused("recv", w, r, &before);
	before = info_of("hb");
	r = ve_syscall(SYS_CHAN_ACK, w, (long)id, 0, 0, 0, 0);
	expect_refused("ack", w, r, &before);
	before = info_of("hb");
	r = ve_syscall(SYS_CHAN_REPLY, w, (long)id, (long)"z", 1, 0, 0);
	expect_refused("reply", w, r, &before);
}

int main(const char *args)
{
	struct ve_msg m;
	char buf[16];
	(void)args;
	int s = ve_chan_serve("hb"), c = ve_chan_open("hb");
	if (s < 0 || c < 0) {
		ve_printf("handlebits: serve/open hb: %d %d\n", s, c);
		return 4;
	}
	client_calls(WRAP + c);
	client_calls(-WRAP + c);
	/* One cast queued and one in flight, for recv, ack and reply to miss. */
	if (ve_chan_cast(c, "a", 1, VE_NONBLOCK) || ve_chan_cast(c, "b", 1, VE_NONBLOCK) ||
	    ve_chan_recv(s, &m, buf, sizeof(buf)) != 1) {
		ve_printf("handlebits: setting up casts failed\n");
		return 4;
	}
	server_calls(WRAP + s, m.id);
	server_calls(-WRAP + s, m.id);
	if (ve_chan_ack(s, m.id) != 0) {
		ve_printf("handlebits: the real ack failed\n");
		bad++;
	}

	struct ve_kv kv[] = { VE_KV_NUM("checks", checks), VE_KV_NUM("bad", bad) };
	ve_event("handlebits", kv, 2);
	return bad ? 1 : 0;
}
