/*
 * tcpecho: a TCP echo server on port 7 through the sockets protocol
 * (svc/lib/sock.h), the guest end of nettcp.scn and netkill.scn.
 *
 * It LISTENs (owner "tcpecho", events on the channel "tcpecho.ev", which
 * it serves) and echoes every connection with offset-addressed calls and
 * no buffer of its own: it RECVs from the offset up to which net has
 * taken its echo (so RECV consumes only what has been sent back), SENDs
 * those bytes at the same offset, and goes on from what SEND says it
 * took. A peer that stops reading thus stops tcpecho's SENDs, which stop
 * its RECVs, which keep net's window shut: the sender waits. At EOF it
 * CLOSEs (FIN after the echo), as soon as the RECV that says SOCK_EV_HUP
 * has had its bytes taken: without consuming them first, as a client that
 * answers a last request and closes would. It waits for events, and every 200 ms
 * polls every connection and the backlog anyway, so a lost event costs
 * latency, never a connection.
 *
 * When net restarts, its connections die (RECV answers -SOCK_ECONNRESET:
 * the cid is of an earlier epoch) and tcpecho forgets them; the listener
 * lives on in net's stash with the same lid, so ACCEPT goes on.
 * Writes {"ev":"tcpecho_ready","lid":L} and, every 2 s while it has
 * work, {"ev":"tcpecho_stats","accepted":..,"done":..,"reset":..,"bytes":..}.
 * Exit 1 if a channel cannot be had or LISTEN fails.
 */
#include "sock.h"
#include "vesta.h"

#define PORT 7
#define CONNS 160
#define POLL_NS 200000000ull
#define STATS_NS 2000000000ull

struct econn {
	uint64_t cid; /* 0: free */
	uint64_t taken;
};

static int tcp;
static uint64_t lid;
static struct econn conns[CONNS];
static uint64_t accepted, done, resets, bytes;
static uint8_t rep[VE_MSG_MAX], req[VE_MSG_MAX];

/* A call on tcp, retried if it died as a dead letter with net. */
static long call(const void *q, size_t len, void *r, size_t cap)
{
	long n;

	while ((n = ve_chan_call(tcp, q, len, r, cap, 0)) == -VE_POISON)
		;
	return n;
}

static void sock_close(struct econn *c, uint8_t how)
{
	struct sock_close q = { .op = SOCK_OP_CLOSE, .cid = c->cid, .how = how };
	struct sock_rep r;

	call(&q, sizeof(q), &r, sizeof(r));
	c->cid = 0;
}

/* Echo what can be echoed now. */
static void pump(struct econn *c)
{
	const struct sock_recv_rep *rr = (const struct sock_recv_rep *)rep;
	struct sock_send *sq = (struct sock_send *)req;

	for (;;) {
		struct sock_recv q = { .op = SOCK_OP_RECV,
				       .cid = c->cid,
				       .offset = c->taken,
				       .max = SOCK_DATA_MAX - 8 };
		long n = call(&q, sizeof(q), rep, sizeof(rep)), k;
		uint64_t taken;

		if (n < (long)sizeof(*rr) || rr->err == -SOCK_EAGAIN)
			return;
		if (rr->err < 0) {
			resets++;
			return sock_close(c, 1);
		}
		k = n - (long)sizeof(*rr);
		if (k == 0 && (rr->events & SOCK_EV_HUP)) {
			done++;
			return sock_close(c, 0);
		}
		*sq = (struct sock_send){ .op = SOCK_OP_SEND, .cid = c->cid, .offset = c->taken };
		memcpy(sq + 1, rr + 1, (size_t)k);
		if (call(sq, sizeof(*sq) + (size_t)k, rep, 12) < 12)
			return;
		memcpy(&taken, rep + 4, 8);
		if (((struct sock_rep *)rep)->err < 0 || taken == c->taken)
			return; /* reset (RECV will say), or no room: wait for SOCK_EV_OUT */
		bytes += taken - c->taken;
		c->taken = taken;
		if ((rr->events & SOCK_EV_HUP) && taken == q.offset + (uint64_t)k) {
			done++; /* the last bytes echoed: close without consuming them */
			return sock_close(c, 0);
		}
	}
}

/* Take every connection waiting in the backlog. */
static void accept_all(void)
{
	struct sock_accept q = { .op = SOCK_OP_ACCEPT, .lid = lid };
	struct sock_conninfo ci;

	while (call(&q, sizeof(q), rep, sizeof(rep)) >= (long)(4 + sizeof(ci)) &&
	       ((struct sock_rep *)rep)->err == 0) {
		memcpy(&ci, rep + 4, sizeof(ci));
		accepted++;
		for (unsigned i = 0; i < CONNS; i++)
			if (!conns[i].cid) {
				conns[i] = (struct econn){ .cid = ci.cid };
				pump(&conns[i]);
				break;
			}
	}
}

static void on_event(const struct sock_event *ev)
{
	if (ev->id == lid)
		return accept_all();
	for (unsigned i = 0; i < CONNS; i++)
		if (conns[i].cid == ev->id)
			pump(&conns[i]);
}

static void poll_all(void)
{
	accept_all();
	for (unsigned i = 0; i < CONNS; i++)
		if (conns[i].cid)
			pump(&conns[i]);
}

static void stats(void)
{
	static uint64_t at, last;
	uint64_t now = ve_clock_ns();

	if (now - at < STATS_NS || accepted + done + resets + bytes == last)
		return;
	at = now;
	last = accepted + done + resets + bytes;
	struct ve_kv kv[4] = { VE_KV_NUM("accepted", accepted), VE_KV_NUM("done", done),
			       VE_KV_NUM("reset", resets), VE_KV_NUM("bytes", bytes) };
	ve_event("tcpecho_stats", kv, 4);
}

static int start(void)
{
	struct sock_listen q = { .op = SOCK_OP_LISTEN,
				 .port = PORT,
				 .backlog = 16, /* a burst of 100 overflows it: SYNs wait */
				 .owner = "tcpecho",
				 .notify = "tcpecho.ev" };

	if ((tcp = ve_chan_open(SOCK_CHANNEL)) < 0)
		return tcp;
	if (call(&q, sizeof(q), rep, 12) < 12 || ((struct sock_rep *)rep)->err < 0) {
		ve_printf("tcpecho: LISTEN failed: %d\n", ((struct sock_rep *)rep)->err);
		return -VE_INVAL;
	}
	memcpy(&lid, rep + 4, 8);
	ve_event1("tcpecho_ready", "lid", (int64_t)lid);
	return 0;
}

int main(const char *args)
{
	static uint8_t buf[VE_MSG_MAX];
	int32_t ev;
	uint64_t last_poll = 0;

	(void)args;
	if ((ev = ve_chan_serve_wait("tcpecho.ev")) < 0 || start() < 0)
		return 1;
	for (;;) {
		struct ve_msg m;
		long n = ve_chan_reply_recv(ev, 0, buf, 0, sizeof(buf), POLL_NS, &m, NULL, NULL);

		if (n >= 0) {
			if (n == sizeof(struct sock_event) && buf[0] == SOCK_OP_EVENT)
				on_event((const struct sock_event *)buf);
			m.kind == VE_MSG_CALL ? ve_chan_reply(ev, m.id, NULL, 0)
					      : ve_chan_ack(ev, m.id);
		}
		if (ve_clock_ns() - last_poll >= POLL_NS) {
			poll_all();
			last_poll = ve_clock_ns();
		}
		stats();
	}
}
